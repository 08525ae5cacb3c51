/*
 * pgs_token — see pgs_token.h. CRC32 comes from zlib; randomness, hashing and
 * hex from libsodium.
 */
#include "pgs_token.h"
#include "pgs_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char s_base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int
s_is_base62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void
pgs_token_checksum(const char *data, size_t len, char out[7])
{
    unsigned long crc = crc32(0L, (const unsigned char *)data, (uInt)len);
    for (int i = 5; i >= 0; i--) {
        out[i] = s_base62[crc % 62];
        crc /= 62;
    }
    out[6] = '\0';
}

void
pgs_token_generate(char out[PGS_TOKEN_LEN + 1])
{
    memcpy(out, "pgs_", 4);
    for (int i = 0; i < 32; i++)
        out[4 + i] = s_base62[randombytes_uniform(62)];
    pgs_token_checksum(out + 4, 32, out + 36);
    out[PGS_TOKEN_LEN] = '\0';
}

int
pgs_token_check(const char *s, size_t len)
{
    if (!s || len != PGS_TOKEN_LEN || memcmp(s, "pgs_", 4) != 0)
        return 0;
    for (size_t i = 4; i < len; i++)
        if (!s_is_base62(s[i]))
            return 0;
    char sum[7];
    pgs_token_checksum(s + 4, 32, sum);
    return memcmp(sum, s + 36, 6) == 0;
}

void
pgs_token_hash_hex(const unsigned char pepper[PGS_TOKEN_PEPPER_LEN], const char *tok, size_t len,
                   char out[PGS_TOKEN_HASH_HEX_LEN + 1])
{
    unsigned char h[PGS_TOKEN_HASH_LEN];
    crypto_generichash(h, sizeof h, (const unsigned char *)tok, len, pepper, PGS_TOKEN_PEPPER_LEN);
    sodium_bin2hex(out, PGS_TOKEN_HASH_HEX_LEN + 1, h, sizeof h);
}

static int
s_pepper_from_hex(const char *hex, unsigned char pepper[PGS_TOKEN_PEPPER_LEN])
{
    size_t got = 0;
    if (sodium_hex2bin(pepper, PGS_TOKEN_PEPPER_LEN, hex, strlen(hex), NULL, &got, NULL) != 0 ||
        got != PGS_TOKEN_PEPPER_LEN)
        return -1;
    return 0;
}

/* First start: writes a fresh pepper to a private file, then links it into
 * place. link() fails on an existing name, so of two processes racing here
 * one wins and the other reads the winner's file; and since the file is
 * complete before it has its name, no reader ever sees it half written. */
static int
s_pepper_create(const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        pgs_error("cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    unsigned char fresh[PGS_TOKEN_PEPPER_LEN];
    char hex[PGS_TOKEN_PEPPER_LEN * 2 + 2];
    randombytes_buf(fresh, sizeof fresh);
    sodium_bin2hex(hex, sizeof hex - 1, fresh, sizeof fresh);
    size_t n = strlen(hex);
    hex[n++] = '\n';
    int ok = write(fd, hex, n) == (ssize_t)n && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    sodium_memzero(fresh, sizeof fresh);
    sodium_memzero(hex, sizeof hex);
    if (ok && link(tmp, path) < 0 && errno != EEXIST) {
        saved = errno;
        ok = 0;
    }
    unlink(tmp);
    if (!ok) {
        pgs_error("cannot write %s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

int
pgs_token_pepper_load(const char *home, unsigned char pepper[PGS_TOKEN_PEPPER_LEN])
{
    const char *env = getenv("PEGASUS_AUTH_PEPPER");
    if (env && *env) {
        if (s_pepper_from_hex(env, pepper) < 0) {
            pgs_error("PEGASUS_AUTH_PEPPER must be %d hex characters", PGS_TOKEN_PEPPER_LEN * 2);
            return -1;
        }
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/pepper", home);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (s_pepper_create(path) < 0)
            return -1;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        pgs_error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || (st.st_mode & 077) != 0) {
        pgs_error("%s must have mode 0600 (chmod 600 it)", path);
        close(fd);
        return -1;
    }
    char hex[PGS_TOKEN_PEPPER_LEN * 2 + 8] = {0};
    ssize_t n = pread(fd, hex, sizeof hex - 1, 0);
    close(fd);
    if (n < PGS_TOKEN_PEPPER_LEN * 2) {
        pgs_error("%s is empty or short", path);
        return -1;
    }
    hex[PGS_TOKEN_PEPPER_LEN * 2] = '\0';
    int rc = s_pepper_from_hex(hex, pepper);
    sodium_memzero(hex, sizeof hex);
    if (rc < 0)
        pgs_error("%s does not hold %d hex characters", path, PGS_TOKEN_PEPPER_LEN * 2);
    return rc;
}
