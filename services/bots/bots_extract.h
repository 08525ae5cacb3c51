/*
 * bots_extract — the plain text of a document, which is what gets chunked
 * and indexed: HTML through libxml2's HTML parser (scripts, styles and other
 * non-content elements dropped, entities decoded, block elements become
 * paragraph breaks), Markdown through cmark (the text of the document, not
 * its markup: emphasis, links and headings become their text; code keeps its
 * lines; raw HTML blocks go through the HTML extractor), plain text as it
 * is with line ends normalised.
 *
 * Output: valid UTF-8 when the input is; paragraphs separated by one blank
 * line ("\n\n"); runs of spaces collapsed outside preformatted text; no
 * leading or trailing white space. Input is never trusted: any bytes, any
 * nesting depth (the walks are iterative).
 */
#ifndef BOTS_EXTRACT_H
#define BOTS_EXTRACT_H

#include <stddef.h>

/* The plain text of src (len bytes) of the given media type ("text/plain",
 * "text/markdown" or "text/html"; anything else is treated as plain text).
 * Returns owned, NUL-terminated text with its length in *out_len, or NULL
 * when out of memory. */
char *bots_extract_text(const char *content_type, const char *src, size_t len, size_t *out_len);

/* The same, for one media type each. */
char *bots_extract_plain(const char *src, size_t len, size_t *out_len);
char *bots_extract_html(const char *src, size_t len, size_t *out_len);
char *bots_extract_markdown(const char *src, size_t len, size_t *out_len);

#endif
