/*
 * Fuzz target: token and identifier parsing — pgs_token_check on the raw
 * input, and on a NUL-terminated copy pgs_scope_parse (with a format/parse
 * round trip), pgs_id_valid and pgs_id_request_id_valid.
 *
 * Properties: an accepted token is 42 bytes, "pgs_" + base62, and its last 6
 * characters are the CRC32 (zlib) of the 32 before them in base62, computed
 * here independently; an accepted scope list formats and re-parses to the
 * same mask.
 */
#include "pgs_id.h"
#include "pgs_scope.h"
#include "pgs_token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char s_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *tok = malloc(size ? size : 1);
    if (!tok)
        abort();
    memcpy(tok, data, size);
    if (pgs_token_check(tok, size)) {
        if (size != PGS_TOKEN_LEN || memcmp(tok, "pgs_", 4) != 0)
            abort();
        for (size_t i = 4; i < size; i++)
            if (!memchr(s_alphabet, tok[i], 62))
                abort();
        unsigned long crc = crc32(0L, (const unsigned char *)tok + 4, 32);
        for (int i = 5; i >= 0; i--) {
            if (tok[36 + i] != s_alphabet[crc % 62])
                abort();
            crc /= 62;
        }
        unsigned char pepper[PGS_TOKEN_PEPPER_LEN] = {1, 2, 3};
        char hex[PGS_TOKEN_HASH_HEX_LEN + 1];
        pgs_token_hash_hex(pepper, tok, size, hex);
        if (strlen(hex) != PGS_TOKEN_HASH_HEX_LEN)
            abort();
    }
    char sum[7];
    pgs_token_checksum(tok, size, sum);
    if (strlen(sum) != 6)
        abort();
    free(tok);

    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    pgs_scope_mask_t m = 0;
    if (pgs_scope_parse(s, &m) == 0) {
        char buf[256];
        size_t n = pgs_scope_format(m, buf, sizeof buf);
        pgs_scope_mask_t back = 0;
        if (n != strlen(buf) || pgs_scope_parse(buf, &back) != 0 || back != m)
            abort();
        /* A short buffer holds whole ids only. */
        char small[16];
        n = pgs_scope_format(m, small, sizeof small);
        if (n != strlen(small) || pgs_scope_parse(small, &back) != 0 || (back & ~m))
            abort();
    }
    (void)pgs_scope_preset(s);
    if (pgs_id_request_id_valid(s)) {
        size_t len = strlen(s);
        if (len < 1 || len > 64 ||
            strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789._:-") != len)
            abort();
    }
    (void)pgs_id_valid(s, "tok");
    free(s);
    return 0;
}
