/*
 * bots_extract — see bots_extract.h.
 */
#include "bots_extract.h"

#include <cmark.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the text builder ----
 * Text is appended with white space collapsed; breaks (1 = line, 2 =
 * paragraph) are pending until the next text, so that nested blocks never
 * pile up blank lines and nothing trails. */
typedef struct {
    char *buf;
    size_t len, cap;
    int pending_break; /* 0, 1 or 2 */
    int pending_space;
    int failed;
} s_text_t;

static void
s_put(s_text_t *t, const char *s, size_t n)
{
    if (t->failed || n == 0)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *nb = realloc(t->buf, cap);
        if (!nb) {
            t->failed = 1;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void
s_break(s_text_t *t, int level)
{
    if (level > t->pending_break)
        t->pending_break = level;
    t->pending_space = 0;
}

static void
s_flush_pending(s_text_t *t)
{
    if (t->len > 0) {
        if (t->pending_break == 2)
            s_put(t, "\n\n", 2);
        else if (t->pending_break == 1)
            s_put(t, "\n", 1);
        else if (t->pending_space)
            s_put(t, " ", 1);
    }
    t->pending_break = 0;
    t->pending_space = 0;
}

static int
s_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Appends flowing text: white space runs become one space. */
static void
s_flow(s_text_t *t, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s_is_ws((unsigned char)s[i])) {
            if (t->len > 0 && !t->pending_break)
                t->pending_space = 1;
            while (i < n && s_is_ws((unsigned char)s[i]))
                i++;
            continue;
        }
        size_t j = i;
        while (j < n && !s_is_ws((unsigned char)s[j]))
            j++;
        s_flush_pending(t);
        s_put(t, s + i, j - i);
        i = j;
    }
}

/* Appends preformatted text: lines kept (a blank line becomes a paragraph
 * break), trailing spaces and carriage returns of lines dropped. */
static void
s_pre(s_text_t *t, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '\n')
            j++;
        size_t e = j;
        if (j < n)
            while (e > i && s_is_ws((unsigned char)s[e - 1]))
                e--;
        if (e > i) {
            s_flush_pending(t);
            s_put(t, s + i, e - i);
            if (j < n)
                s_break(t, 1);
        } else if (j < n && t->len > 0) {
            s_break(t, 2);
        }
        i = j < n ? j + 1 : j;
    }
}

static char *
s_finish(s_text_t *t, size_t *out_len)
{
    if (t->failed) {
        free(t->buf);
        return NULL;
    }
    if (!t->buf) {
        t->buf = malloc(1);
        if (!t->buf)
            return NULL;
        t->buf[0] = '\0';
    }
    *out_len = t->len;
    return t->buf;
}

/* ---- plain text ---- */

char *
bots_extract_plain(const char *src, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            out[o++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n')
                i++;
        } else {
            out[o++] = src[i];
        }
    }
    size_t start = 0;
    while (start < o && s_is_ws((unsigned char)out[start]))
        start++;
    while (o > start && s_is_ws((unsigned char)out[o - 1]))
        o--;
    memmove(out, out + start, o - start);
    o -= start;
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* ---- HTML ---- */

static int
s_name_in(const char *name, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcasecmp(name, list[i]) == 0)
            return 1;
    return 0;
}

static const char *const S_SKIP[] = {"script", "style",  "noscript", "template", "head",
                                     "iframe", "object", "embed",    "svg",      "math",
                                     "canvas", "select", "button",   NULL};
static const char *const S_BLOCK[] = {
    "p",       "div",     "h1",     "h2",     "h3",         "h4",      "h5",   "h6",
    "section", "article", "table",  "ul",     "ol",         "dl",      "pre",  "blockquote",
    "header",  "footer",  "nav",    "aside",  "main",       "figure",  "hr",   "form",
    "address", "details", "summary", "body",  "figcaption", "caption", "html", "fieldset",
    NULL};
static const char *const S_LINE[] = {"br", "li", "tr", "dt", "dd", "option", NULL};
static const char *const S_CELL[] = {"td", "th", NULL};

/* Called when the walk enters an element; 1 when its children are wanted. */
static int
s_html_enter(s_text_t *t, xmlNodePtr n, int *pre)
{
    const char *name = (const char *)n->name;
    if (s_name_in(name, S_SKIP))
        return 0;
    if (s_name_in(name, S_BLOCK))
        s_break(t, 2);
    else if (s_name_in(name, S_LINE))
        s_break(t, 1);
    else if (s_name_in(name, S_CELL) && t->len > 0 && !t->pending_break)
        t->pending_space = 1;
    if (strcasecmp(name, "pre") == 0)
        (*pre)++;
    return 1;
}

static void
s_html_leave(s_text_t *t, xmlNodePtr n, int *pre)
{
    if (n->type != XML_ELEMENT_NODE || !n->name)
        return;
    const char *name = (const char *)n->name;
    if (s_name_in(name, S_SKIP))
        return;
    if (s_name_in(name, S_BLOCK))
        s_break(t, 2);
    else if (s_name_in(name, S_LINE) && strcasecmp(name, "br") != 0)
        s_break(t, 1);
    if (strcasecmp(name, "pre") == 0 && *pre > 0)
        (*pre)--;
}

static void
s_html_into(s_text_t *t, const char *src, size_t len)
{
    if (len == 0 || len > 0x7fffffff)
        return;
    htmlDocPtr doc = htmlReadMemory(src, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (!doc)
        return;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr n = root;
    int pre = 0; /* depth of <pre> elements the walk is in */
    /* Iterative pre-order walk: parent pointers instead of a stack, so that
     * no nesting depth can exhaust ours. */
    while (n) {
        int descend = 0;
        if (n->type == XML_ELEMENT_NODE && n->name) {
            descend = s_html_enter(t, n, &pre);
        } else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
                   n->content) {
            const char *s = (const char *)n->content;
            if (pre)
                s_pre(t, s, strlen(s));
            else
                s_flow(t, s, strlen(s));
        }
        if (descend && n->children) {
            n = n->children;
            continue;
        }
        for (;;) {
            s_html_leave(t, n, &pre);
            if (n == root) {
                n = NULL;
                break;
            }
            if (n->next) {
                n = n->next;
                break;
            }
            n = n->parent;
            if (!n || n == (xmlNodePtr)doc) {
                n = NULL;
                break;
            }
        }
    }
    xmlFreeDoc(doc);
}

char *
bots_extract_html(const char *src, size_t len, size_t *out_len)
{
    s_text_t t = {0};
    s_html_into(&t, src, len);
    return s_finish(&t, out_len);
}

/* ---- Markdown ---- */

char *
bots_extract_markdown(const char *src, size_t len, size_t *out_len)
{
    s_text_t t = {0};
    cmark_node *doc = cmark_parse_document(src, len, CMARK_OPT_DEFAULT);
    if (!doc)
        return NULL;
    cmark_iter *it = cmark_iter_new(doc);
    if (!it) {
        cmark_node_free(doc);
        return NULL;
    }
    cmark_event_type ev;
    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *node = cmark_iter_get_node(it);
        const char *lit = NULL;
        switch (cmark_node_get_type(node)) {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_CODE:
            lit = cmark_node_get_literal(node);
            if (lit)
                s_flow(&t, lit, strlen(lit));
            break;
        case CMARK_NODE_SOFTBREAK:
            if (t.len > 0 && !t.pending_break)
                t.pending_space = 1;
            break;
        case CMARK_NODE_LINEBREAK:
            s_break(&t, 1);
            break;
        case CMARK_NODE_CODE_BLOCK:
            s_break(&t, 2);
            lit = cmark_node_get_literal(node);
            if (lit)
                s_pre(&t, lit, strlen(lit));
            s_break(&t, 2);
            break;
        case CMARK_NODE_HTML_BLOCK:
            s_break(&t, 2);
            lit = cmark_node_get_literal(node);
            if (lit)
                s_html_into(&t, lit, strlen(lit));
            s_break(&t, 2);
            break;
        case CMARK_NODE_HTML_INLINE:
            break; /* a tag: markup, not text */
        case CMARK_NODE_ITEM:
            s_break(&t, 1);
            break;
        case CMARK_NODE_PARAGRAPH: {
            /* the items of a tight list are lines, not paragraphs */
            cmark_node *item = cmark_node_parent(node);
            cmark_node *list = item ? cmark_node_parent(item) : NULL;
            int tight = item && list && cmark_node_get_type(item) == CMARK_NODE_ITEM &&
                        cmark_node_get_list_tight(list);
            s_break(&t, tight ? 1 : 2);
            break;
        }
        case CMARK_NODE_HEADING:
        case CMARK_NODE_BLOCK_QUOTE:
        case CMARK_NODE_LIST:
        case CMARK_NODE_THEMATIC_BREAK:
            s_break(&t, 2);
            break;
        default:
            break;
        }
        (void)ev;
    }
    cmark_iter_free(it);
    cmark_node_free(doc);
    return s_finish(&t, out_len);
}

char *
bots_extract_text(const char *content_type, const char *src, size_t len, size_t *out_len)
{
    if (content_type && strcmp(content_type, "text/html") == 0)
        return bots_extract_html(src, len, out_len);
    if (content_type && strcmp(content_type, "text/markdown") == 0)
        return bots_extract_markdown(src, len, out_len);
    return bots_extract_plain(src, len, out_len);
}
