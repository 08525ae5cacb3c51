/*
 * chat_text — see chat_text.h.
 */
#include "chat_text.h"

#include <stdlib.h>
#include <string.h>

static int
s_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int
s_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

long
chat_text_tokens(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    long n = 0;
    size_t i = 0;
    while (i < len) {
        if (s_word_byte(s[i])) {
            n++;
            while (i < len && s_word_byte(s[i]))
                i++;
        } else {
            if (!s_space(s[i]))
                n++;
            i++;
        }
    }
    return n;
}

/* Question words, function words and the like: they say nothing about which
 * passage holds the answer. Sorted for bsearch. */
static const char *const s_stop[] = {
    "a",     "about", "above",   "after", "again", "all",    "also",    "am",    "an",     "and",
    "any",   "are",   "as",      "at",    "be",    "been",   "before",  "being", "both",   "but",
    "by",    "can",   "could",   "did",   "do",    "does",   "doing",   "each",  "either", "else",
    "ever",  "every", "explain", "few",   "for",   "from",   "get",     "gets",  "give",   "had",
    "has",   "have",  "having",  "he",    "her",   "here",   "hers",    "him",   "his",    "how",
    "i",     "if",    "in",      "into",  "is",    "it",     "its",     "just",  "know",   "let",
    "like",  "me",    "mine",    "more",  "most",  "much",   "must",    "my",    "no",     "nor",
    "not",   "now",   "of",      "off",   "on",    "once",   "one",     "only",  "or",     "other",
    "our",   "ours",  "out",     "over",  "own",   "please", "same",    "say",   "she",    "should",
    "so",    "some",  "such",    "tell",  "than",  "that",   "the",     "their", "theirs", "them",
    "then",  "there", "these",   "they",  "this",  "those",  "through", "to",    "too",    "under",
    "until", "up",    "us",      "very",  "was",   "we",     "were",    "what",  "whats",  "when",
    "where", "which", "while",   "who",   "whom",  "whose",  "why",     "will",  "with",   "would",
    "you",   "your",  "yours",
};

/* Words that point back to an earlier turn. */
static const char *const s_anaphora[] = {
    "he",   "her",   "him",  "his",   "it",    "its",  "one",  "she",
    "that", "their", "them", "there", "these", "they", "this", "those",
};

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
s_in(const char *w, const char *const *list, size_t n)
{
    return bsearch(&w, list, n, sizeof *list, s_cmp) != NULL;
}

static int
s_ends(const char *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(w + n - k, suffix, k) == 0;
}

/* A light stemmer: enough for plurals and the common verb forms. */
static void
s_stem(char *w)
{
    size_t n = strlen(w);
    if (n > 4 && s_ends(w, n, "ies")) {
        strcpy(w + n - 3, "y");
        n -= 2;
    } else if (n > 4 && s_ends(w, n, "sses")) {
        w[n - 2] = '\0';
        n -= 2;
    } else if (n > 4 && (s_ends(w, n, "xes") || s_ends(w, n, "ches") || s_ends(w, n, "shes") ||
                         s_ends(w, n, "zes"))) {
        w[n - 2] = '\0';
        n -= 2;
    } else if (n > 3 && w[n - 1] == 's' && !s_ends(w, n, "ss") && !s_ends(w, n, "us") &&
               !s_ends(w, n, "is")) {
        w[--n] = '\0';
    }
    if (n > 5 && s_ends(w, n, "ing")) {
        n -= 3;
        w[n] = '\0';
    } else if (n > 4 && s_ends(w, n, "ed")) {
        n -= 2;
        w[n] = '\0';
    }
    if (n > 3 && w[n - 1] == 'e')
        w[--n] = '\0';
}

int
chat_text_terms_has(const chat_terms_t *t, const char *term)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->term[i], term) == 0)
            return 1;
    return 0;
}

void
chat_text_terms(const char *str, size_t len, chat_terms_t *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        if (!s_word_byte(s[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && s_word_byte(s[i]))
            i++;
        size_t wl = i - start;
        char w[CHAT_TEXT_TERM_LEN];
        size_t k = wl < sizeof w - 1 ? wl : sizeof w - 1;
        int digits = 1;
        for (size_t j = 0; j < k; j++) {
            unsigned char c = s[start + j];
            if (c >= 'A' && c <= 'Z')
                c = (unsigned char)(c - 'A' + 'a');
            if (c < '0' || c > '9')
                digits = 0;
            w[j] = (char)c;
        }
        w[k] = '\0';
        if (s_in(w, s_anaphora, sizeof s_anaphora / sizeof *s_anaphora))
            out->anaphora = 1;
        if ((wl < 2 && !digits) || s_in(w, s_stop, sizeof s_stop / sizeof *s_stop))
            continue;
        if (!digits)
            s_stem(w);
        if (out->n < CHAT_TEXT_MAX_TERMS && !chat_text_terms_has(out, w))
            memcpy(out->term[out->n++], w, sizeof w);
    }
}

size_t
chat_text_sentences(const char *s, size_t len, chat_span_t *out, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        size_t start = i;
        while (i < len) {
            char c = s[i];
            if (c == '\n' || c == '\r')
                break;
            if ((c == '.' || c == '!' || c == '?') &&
                (i + 1 == len || s_space((unsigned char)s[i + 1]))) {
                i++;
                break;
            }
            i++;
        }
        size_t end = i;
        while (start < end && (s_space((unsigned char)s[start]) || s[start] == '#' ||
                               s[start] == '>' || s[start] == '|' ||
                               ((s[start] == '-' || s[start] == '*' || s[start] == '+') &&
                                start + 1 < end && s[start + 1] == ' ')))
            start++;
        while (end > start && s_space((unsigned char)s[end - 1]))
            end--;
        if (end - start >= 2)
            out[n++] = (chat_span_t){s + start, end - start};
        while (i < len && s_space((unsigned char)s[i]))
            i++;
    }
    return n;
}

size_t
chat_text_utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

char *
chat_text_clip(const char *s, size_t len, size_t max_bytes)
{
    size_t n = len;
    int cut = 0;
    if (len > max_bytes) {
        cut = 1;
        n = chat_text_utf8_prefix(s, len, max_bytes);
        size_t w = n;
        while (w > max_bytes / 2 && !s_space((unsigned char)s[w]))
            w--;
        if (w > max_bytes / 2)
            n = w;
        while (n > 0 && s_space((unsigned char)s[n - 1]))
            n--;
    }
    char *out = malloc(n + 4);
    if (!out)
        return NULL;
    memcpy(out, s, n);
    if (cut)
        memcpy(out + n, "\xE2\x80\xA6", 3), n += 3;
    out[n] = '\0';
    return out;
}
