/*
 * Unit tests of services/bots/bots_extract: the plain text of HTML,
 * Markdown and plain text documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bots/bots_extract.h"
#include "pgs_test.h"

typedef struct {
    const char *name;
    const char *type;
    const char *in;
    const char *want;
} s_case_t;

static void
s_run(const s_case_t *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *got = bots_extract_text(c[i].type, c[i].in, strlen(c[i].in), &len);
        PGS_EXPECT_STR(c[i].name, got, c[i].want);
        PGS_EXPECT_INT(c[i].name, len, strlen(c[i].want));
        free(got);
    }
}

static void
test_plain(void **state)
{
    (void)state;
    static const s_case_t cases[] = {
        {"empty", "text/plain", "", ""},
        {"as is", "text/plain", "a  b\n\nc", "a  b\n\nc"},
        {"crlf", "text/plain", "a\r\nb\rc", "a\nb\nc"},
        {"trimmed", "text/plain", " \n x \n ", "x"},
        {"unknown type is plain", "application/x", "<b>x</b>", "<b>x</b>"},
    };
    s_run(cases, sizeof cases / sizeof cases[0]);
}

static void
test_html(void **state)
{
    (void)state;
    static const s_case_t cases[] = {
        {"empty", "text/html", "", ""},
        {"entities", "text/html", "<p>Caf&eacute; &amp; &lt;tea&gt; &#8364;5</p>", "Café & <tea> €5"},
        {"script style dropped", "text/html",
         "<html><head><title>T</title><style>p{}</style></head><body><script>var x=1;</script>"
         "<p>Hello</p><noscript>no</noscript><template>tpl</template></body></html>",
         "Hello"},
        {"blocks", "text/html", "<h1>Title</h1><p>One   two\nthree</p><div>Four</div>",
         "Title\n\nOne two three\n\nFour"},
        {"inline", "text/html", "<p>a<b>b</b> <i>c</i>d</p>", "ab cd"},
        {"lists and breaks", "text/html", "<ul><li>x</li><li>y</li></ul>a<br>b",
         "x\ny\n\na\nb"},
        {"table cells", "text/html", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
         "a b\nc"},
        {"pre keeps lines", "text/html", "<pre>line 1\n  indented\n\nafter</pre>",
         "line 1\n  indented\n\nafter"},
        {"comments dropped", "text/html", "x<!-- hidden -->y", "xy"},
        {"broken markup", "text/html", "<p>open <b>bold <i>both</p>after", "open bold both\n\nafter"},
        {"not html at all", "text/html", "just text", "just text"},
    };
    s_run(cases, sizeof cases / sizeof cases[0]);
}

static void
test_html_deep_nesting(void **state)
{
    (void)state;
    size_t depth = 20000;
    char *in = malloc(depth * 5 + 16);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++) {
        memcpy(in + n, "<div>", 5);
        n += 5;
    }
    memcpy(in + n, "deep", 4);
    n += 4;
    in[n] = '\0';
    size_t len = 0;
    char *got = bots_extract_html(in, n, &len);
    if (!got)
        fail_msg("deep nesting: got NULL");
    free(got);
    free(in);
}

static void
test_markdown(void **state)
{
    (void)state;
    static const s_case_t cases[] = {
        {"empty", "text/markdown", "", ""},
        {"heading and emphasis", "text/markdown", "# Hello *world*\n\nSome **bold** _text_.",
         "Hello world\n\nSome bold text."},
        {"links and images", "text/markdown", "See [the docs](http://x.example/a) ![alt text](i.png).",
         "See the docs alt text."},
        {"code", "text/markdown", "Use `x = 1`.\n\n```c\nint main;\n\nreturn 0;\n```\n",
         "Use x = 1.\n\nint main;\n\nreturn 0;"},
        {"lists", "text/markdown", "- one\n- two\n\n1. three", "one\ntwo\n\nthree"},
        {"soft and hard breaks", "text/markdown", "a\nb  \nc", "a b\nc"},
        {"inline html dropped", "text/markdown", "a <span>b</span> c", "a b c"},
        {"html block extracted", "text/markdown", "<div>\n<p>in &amp; out</p>\n</div>\n\ntail",
         "in & out\n\ntail"},
        {"blockquote", "text/markdown", "> quoted\n> text", "quoted text"},
        {"escapes", "text/markdown", "\\*not emphasis\\*", "*not emphasis*"},
    };
    s_run(cases, sizeof cases / sizeof cases[0]);
}

static void
test_markdown_hostile(void **state)
{
    (void)state;
    /* deep block quotes and unbalanced brackets: must finish */
    size_t n = 50000;
    char *in = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        in[i] = i % 2 ? '[' : '>';
    in[n] = '\0';
    size_t len = 0;
    char *got = bots_extract_markdown(in, n, &len);
    if (!got)
        fail_msg("hostile markdown: got NULL");
    free(got);
    free(in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),           cmocka_unit_test(test_html),
        cmocka_unit_test(test_html_deep_nesting), cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_markdown_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
