/*
 * Unit tests of common/pgs_token: format, checksum, hashing, pepper loading.
 * No test prints a token or a pepper: secrets are compared with memcmp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgs_test.h"
#include "pgs_token.h"

#include <dirent.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* The base62 alphabet of SPEC §2, spelled out independently of the module. */
static const char s_alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int
s_is_base62(char c)
{
    return c != '\0' && strchr(s_alphabet, c) != NULL;
}

/* CRC32 (zlib) as 6 base62 digits, most significant first. */
static void
s_expected_checksum(const char *data, size_t len, char out[7])
{
    uint64_t crc = crc32(0L, (const Bytef *)data, (uInt)len);
    for (int i = 5; i >= 0; i--) {
        out[i] = s_alphabet[crc % 62];
        crc /= 62;
    }
    out[6] = '\0';
}

/* Builds "pgs_" + body (32) + its correct checksum into out. */
static void
s_make_token(const char *prefix4, const char *body32, char out[PGS_TOKEN_LEN + 1])
{
    memcpy(out, prefix4, 4);
    memcpy(out + 4, body32, 32);
    s_expected_checksum(body32, 32, out + 36);
    out[PGS_TOKEN_LEN] = '\0';
}

static int
s_cmp_tokens(const void *a, const void *b)
{
    return memcmp(a, b, PGS_TOKEN_LEN + 1);
}

static int
s_setup(void **state)
{
    (void)state;
    unsetenv("PEGASUS_AUTH_PEPPER");
    return sodium_init() < 0 ? -1 : 0;
}

static void
test_generate_format(void **state)
{
    (void)state;
    enum { N = 2000 };
    char(*toks)[PGS_TOKEN_LEN + 1] = calloc(N, sizeof *toks);
    assert_non_null(toks);
    for (int i = 0; i < N; i++) {
        char *t = toks[i];
        memset(t, 'x', PGS_TOKEN_LEN + 1);
        pgs_token_generate(t);
        PGS_EXPECT_INT("strlen(generated token)", strlen(t), 42);
        if (memcmp(t, "pgs_", 4) != 0)
            fail_msg("generated token %d: prefix is not pgs_", i);
        for (int k = 4; k < PGS_TOKEN_LEN; k++)
            if (!s_is_base62(t[k]))
                fail_msg("generated token %d: character %d (0x%02x) is not base62", i, k,
                         (unsigned char)t[k]);
        char want[7];
        s_expected_checksum(t + 4, 32, want);
        if (memcmp(t + 36, want, 6) != 0)
            fail_msg("generated token %d: checksum is not CRC32 of the 32 random characters", i);
        PGS_EXPECT_INT("pgs_token_check(generated token)", pgs_token_check(t, strlen(t)), 1);
    }
    qsort(toks, N, sizeof *toks, s_cmp_tokens);
    for (int i = 1; i < N; i++)
        if (memcmp(toks[i - 1], toks[i], PGS_TOKEN_LEN) == 0)
            fail_msg("two of %d generated tokens are equal", N);
    /* The randomness part must use the whole alphabet (62 symbols): with
     * 64000 draws, a missing symbol means a biased generator. */
    int seen[256] = {0};
    for (int i = 0; i < N; i++)
        for (int k = 4; k < 36; k++)
            seen[(unsigned char)toks[i][k]]++;
    for (const char *a = s_alphabet; *a; a++)
        if (seen[(unsigned char)*a] == 0)
            fail_msg("base62 character '%c' never generated in %d tokens", *a, N);
    sodium_memzero(toks, N * sizeof *toks);
    free(toks);
}

static void
test_checksum_vectors(void **state)
{
    (void)state;
    /* Fixed vectors, computed outside this code base (Python zlib.crc32 and
     * a base62 conversion), plus the same computed here with zlib. */
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"123456789", "3jZRME"}, /* CRC32 check value 0xCBF43926 */
        {"", "000000"},
        {"0123456789abcdefghijABCDEFGHIJxy", "0PImn9"}, /* 0x16490BA7 */
        {"00000000000000000000000000000000", "2wjyrI"}, /* 0xA0F292D0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[8] = "zzzzzzz", indep[7];
        pgs_token_checksum(cases[i].in, strlen(cases[i].in), got);
        s_expected_checksum(cases[i].in, strlen(cases[i].in), indep);
        char what[96];
        snprintf(what, sizeof what, "pgs_token_checksum(\"%s\")", cases[i].in);
        PGS_EXPECT_STR(what, got, cases[i].want);
        PGS_EXPECT_STR(what, got, indep);
    }
    /* A full token with a known checksum passes. */
    char tok[PGS_TOKEN_LEN + 1] = "pgs_0123456789abcdefghijABCDEFGHIJxy0PImn9";
    PGS_EXPECT_INT("pgs_token_check(fixed token)", pgs_token_check(tok, strlen(tok)), 1);
}

static void
test_check_rejects(void **state)
{
    (void)state;
    char good[PGS_TOKEN_LEN + 1];
    pgs_token_generate(good);
    assert_int_equal(pgs_token_check(good, PGS_TOKEN_LEN), 1);

    /* Single-character flips at several positions: CRC32 catches every
     * single-byte change, and 62^6 > 2^32 keeps the digits injective. */
    static const int flips[] = {0, 3, 4, 5, 19, 35, 36, 38, 41};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        char t[PGS_TOKEN_LEN + 1];
        memcpy(t, good, sizeof t);
        int p = flips[i];
        t[p] = t[p] == 'a' ? 'b' : 'a';
        char what[64];
        snprintf(what, sizeof what, "check(token with position %d flipped)", p);
        PGS_EXPECT_INT(what, pgs_token_check(t, PGS_TOKEN_LEN), 0);
    }
    /* Case flip only (base62 is case-sensitive). */
    {
        char t[PGS_TOKEN_LEN + 1];
        s_make_token("pgs_", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", t);
        PGS_EXPECT_INT("check(all-a token)", pgs_token_check(t, PGS_TOKEN_LEN), 1);
        t[10] = 'A';
        PGS_EXPECT_INT("check(token with one letter upper-cased)",
                       pgs_token_check(t, PGS_TOKEN_LEN), 0);
    }

    /* Tokens whose checksum is right but whose shape is wrong. */
    static const struct {
        const char *name;
        const char *prefix;
        const char *body;
    } shapes[] = {
        {"prefix pgt_", "pgt_", "0123456789abcdefghijABCDEFGHIJxy"},
        {"prefix PGS_", "PGS_", "0123456789abcdefghijABCDEFGHIJxy"},
        {"prefix pgs-", "pgs-", "0123456789abcdefghijABCDEFGHIJxy"},
        {"'-' in body", "pgs_", "0123456789abcdefghij-BCDEFGHIJxy"},
        {"'_' in body", "pgs_", "0123456789abcdefghij_BCDEFGHIJxy"},
        {"space in body", "pgs_", "0123456789 bcdefghijABCDEFGHIJxy"},
        {"'+' in body", "pgs_", "+123456789abcdefghijABCDEFGHIJxy"},
        {"0x80 in body", "pgs_", "0123456789abcdefghijABCDEFGHIJx\x80"},
        {"0xff in body", "pgs_",
         "\xff"
         "123456789abcdefghijABCDEFGHIJxy"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char t[PGS_TOKEN_LEN + 1];
        s_make_token(shapes[i].prefix, shapes[i].body, t);
        char what[64];
        snprintf(what, sizeof what, "check(%s)", shapes[i].name);
        PGS_EXPECT_INT(what, pgs_token_check(t, PGS_TOKEN_LEN), 0);
    }
    /* A NUL in the body with a matching checksum. */
    {
        char body[32];
        memcpy(body, "0123456789abcdefghijABCDEFGHIJxy", 32);
        body[7] = '\0';
        char t[PGS_TOKEN_LEN + 1];
        s_make_token("pgs_", body, t);
        PGS_EXPECT_INT("check(NUL in body)", pgs_token_check(t, PGS_TOKEN_LEN), 0);
    }
    /* A non-base62 character in the checksum. */
    {
        char t[PGS_TOKEN_LEN + 1];
        memcpy(t, good, sizeof t);
        t[40] = '=';
        PGS_EXPECT_INT("check('=' in checksum)", pgs_token_check(t, PGS_TOKEN_LEN), 0);
    }

    /* Lengths. */
    char longer[PGS_TOKEN_LEN + 2];
    memcpy(longer, good, PGS_TOKEN_LEN);
    longer[PGS_TOKEN_LEN] = 'a';
    longer[PGS_TOKEN_LEN + 1] = '\0';
    static const size_t lens[] = {0, 1, 4, 12, 36, 40, 41};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "check(truncated to %zu)", lens[i]);
        PGS_EXPECT_INT(what, pgs_token_check(good, lens[i]), 0);
    }
    PGS_EXPECT_INT("check(43 characters)", pgs_token_check(longer, PGS_TOKEN_LEN + 1), 0);
    PGS_EXPECT_INT("check(\"\")", pgs_token_check("", 0), 0);
    PGS_EXPECT_INT("check(NULL, 0)", pgs_token_check(NULL, 0), 0);
    PGS_EXPECT_INT("check(NULL, 42)", pgs_token_check(NULL, PGS_TOKEN_LEN), 0);
    /* The token with the "Bearer " prefix or surrounding space is not a token. */
    char spaced[PGS_TOKEN_LEN + 2];
    spaced[0] = ' ';
    memcpy(spaced + 1, good, PGS_TOKEN_LEN + 1);
    PGS_EXPECT_INT("check(leading space, 42 bytes)", pgs_token_check(spaced, PGS_TOKEN_LEN), 0);
    sodium_memzero(good, sizeof good);
}

static int
s_is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[n] == '\0';
}

static void
test_hash(void **state)
{
    (void)state;
    unsigned char p1[PGS_TOKEN_PEPPER_LEN], p2[PGS_TOKEN_PEPPER_LEN];
    for (int i = 0; i < PGS_TOKEN_PEPPER_LEN; i++) {
        p1[i] = (unsigned char)i;
        p2[i] = (unsigned char)i;
    }
    p2[31] ^= 1;
    const char *tok = "pgs_0123456789abcdefghijABCDEFGHIJxy0PImn9";
    const char *tok2 = "pgs_0123456789abcdefghijABCDEFGHIJxz0PImn9";
    char a[PGS_TOKEN_HASH_HEX_LEN + 1], b[PGS_TOKEN_HASH_HEX_LEN + 1];
    char c[PGS_TOKEN_HASH_HEX_LEN + 1], d[PGS_TOKEN_HASH_HEX_LEN + 1];
    pgs_token_hash_hex(p1, tok, strlen(tok), a);
    pgs_token_hash_hex(p1, tok, strlen(tok), b);
    pgs_token_hash_hex(p2, tok, strlen(tok), c);
    pgs_token_hash_hex(p1, tok2, strlen(tok2), d);
    PGS_EXPECT_INT("strlen(hash)", strlen(a), 64);
    if (!s_is_lower_hex(a, 64))
        fail_msg("hash is not 64 lowercase hex characters: got \"%s\"", a);
    PGS_EXPECT_STR("hash twice with one pepper", b, a);
    if (strcmp(a, c) == 0)
        fail_msg("hash with another pepper: got the same hash \"%s\"", c);
    if (strcmp(a, d) == 0)
        fail_msg("hash of another token: got the same hash \"%s\"", d);

    /* Independently: keyed BLAKE2b-256 (libsodium generichash). */
    unsigned char h[32];
    char want[65];
    crypto_generichash(h, sizeof h, (const unsigned char *)tok, strlen(tok), p1, sizeof p1);
    sodium_bin2hex(want, sizeof want, h, sizeof h);
    PGS_EXPECT_STR("hash vs keyed BLAKE2b-256", a, want);
    /* Only the given length is hashed. */
    char e[PGS_TOKEN_HASH_HEX_LEN + 1];
    pgs_token_hash_hex(p1, "pgs_0123456789abcdefghijABCDEFGHIJxy0PImn9TRAILING", 42, e);
    PGS_EXPECT_STR("hash of the first 42 bytes", e, a);
}

static const char s_hex64[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void
test_pepper_env(void **state)
{
    (void)state;
    unsigned char want[PGS_TOKEN_PEPPER_LEN];
    for (int i = 0; i < PGS_TOKEN_PEPPER_LEN; i++)
        want[i] = (unsigned char)i;

    static const struct {
        const char *name;
        const char *env;
        int rc;
    } cases[] = {
        {"64 lowercase hex", s_hex64, 0},
        {"64 uppercase hex", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F", 0},
        {"62 hex", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e", -1},
        {"66 hex", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", -1},
        {"63 hex", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1", -1},
        {"non-hex", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", -1},
        {"trailing garbage", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fzz",
         -1},
        {"short", "abcd", -1},
    };
    /* The home directory does not exist: the environment must be enough. */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("PEGASUS_AUTH_PEPPER", cases[i].env, 1);
        unsigned char got[PGS_TOKEN_PEPPER_LEN];
        memset(got, 0xAA, sizeof got);
        char what[96];
        snprintf(what, sizeof what, "pepper_load(PEGASUS_AUTH_PEPPER = %s)", cases[i].name);
        PGS_EXPECT_INT(what, pgs_token_pepper_load("/nonexistent/pegasus-home", got), cases[i].rc);
        if (cases[i].rc == 0 && memcmp(got, want, sizeof want) != 0)
            fail_msg("%s: loaded pepper differs from the hex value", what);
    }
    unsetenv("PEGASUS_AUTH_PEPPER");
}

static void
test_pepper_file(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_non_null(pgs_test_tmpdir(dir));
    snprintf(path, sizeof path, "%s/pepper", dir);
    unsetenv("PEGASUS_AUTH_PEPPER");

    unsigned char p1[PGS_TOKEN_PEPPER_LEN], p2[PGS_TOKEN_PEPPER_LEN];
    unsigned char zero[PGS_TOKEN_PEPPER_LEN] = {0};
    PGS_EXPECT_INT("pepper_load(missing file)", pgs_token_pepper_load(dir, p1), 0);
    struct stat st;
    PGS_EXPECT_INT("stat(pepper)", stat(path, &st), 0);
    PGS_EXPECT_INT("pepper file mode", st.st_mode & 07777, 0600);
    PGS_EXPECT_INT("pepper file size (64 hex + newline)", st.st_size, 65);
    if (memcmp(p1, zero, sizeof zero) == 0)
        fail_msg("created pepper is all zero bytes");

    PGS_EXPECT_INT("pepper_load(second time)", pgs_token_pepper_load(dir, p2), 0);
    if (memcmp(p1, p2, sizeof p1) != 0)
        fail_msg("second pepper_load: got another pepper, want the same");

    /* Another home gets another pepper. */
    char dir2[64];
    assert_non_null(pgs_test_tmpdir(dir2));
    PGS_EXPECT_INT("pepper_load(second home)", pgs_token_pepper_load(dir2, p2), 0);
    if (memcmp(p1, p2, sizeof p1) == 0)
        fail_msg("two fresh homes: got the same pepper, want different ones");
    assert_int_equal(pgs_test_rmtree(dir2), 0);

    /* Group or other permission bits make it refuse the file. */
    static const struct {
        mode_t mode;
        int rc;
    } modes[] = {{0644, -1}, {0640, -1}, {0604, -1}, {0660, -1}, {0400, 0}, {0600, 0}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(path, modes[i].mode), 0);
        char what[64];
        snprintf(what, sizeof what, "pepper_load(file mode %04o)", (unsigned)modes[i].mode);
        memset(p2, 0, sizeof p2);
        PGS_EXPECT_INT(what, pgs_token_pepper_load(dir, p2), modes[i].rc);
        if (modes[i].rc == 0 && memcmp(p1, p2, sizeof p1) != 0)
            fail_msg("%s: got another pepper, want the stored one", what);
    }

    /* The environment wins over the file. */
    setenv("PEGASUS_AUTH_PEPPER", s_hex64, 1);
    PGS_EXPECT_INT("pepper_load(env and file)", pgs_token_pepper_load(dir, p2), 0);
    PGS_EXPECT_INT("pepper from env, not file", p2[1] == 1 && p2[31] == 0x1f, 1);
    unsetenv("PEGASUS_AUTH_PEPPER");

    /* Broken files are refused. */
    static const struct {
        const char *name;
        const char *content;
    } bad[] = {
        {"empty file", ""},
        {"short file", "0011223344\n"},
        {"non-hex file", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(unlink(path), 0);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(bad[i].content, f);
        fclose(f);
        assert_int_equal(chmod(path, 0600), 0);
        char what[64];
        snprintf(what, sizeof what, "pepper_load(%s)", bad[i].name);
        PGS_EXPECT_INT(what, pgs_token_pepper_load(dir, p2), -1);
    }

    /* A home that does not exist cannot get a pepper file. */
    char missing[128];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    PGS_EXPECT_INT("pepper_load(missing home)", pgs_token_pepper_load(missing, p2), -1);

    /* A symlink named pepper is not followed. */
    assert_int_equal(unlink(path), 0);
    char target[128];
    snprintf(target, sizeof target, "%s/real", dir);
    FILE *f = fopen(target, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", s_hex64);
    fclose(f);
    assert_int_equal(chmod(target, 0600), 0);
    assert_int_equal(symlink(target, path), 0);
    PGS_EXPECT_INT("pepper_load(symlink)", pgs_token_pepper_load(dir, p2), -1);

    sodium_memzero(p1, sizeof p1);
    sodium_memzero(p2, sizeof p2);
    assert_int_equal(pgs_test_rmtree(dir), 0);
}

/* Processes starting together in a fresh home (the auth workers do) all get
 * the one pepper that ends up in the file, and none fails. */
static void
test_pepper_race(void **state)
{
    (void)state;
    enum { N = 8, ROUNDS = 20 };
    unsetenv("PEGASUS_AUTH_PEPPER");
    for (int round = 0; round < ROUNDS; round++) {
        char dir[64];
        assert_non_null(pgs_test_tmpdir(dir));
        int fds[N][2];
        pid_t kids[N];
        for (int i = 0; i < N; i++) {
            assert_int_equal(pipe(fds[i]), 0);
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0) {
                unsigned char p[PGS_TOKEN_PEPPER_LEN];
                int rc = pgs_token_pepper_load(dir, p);
                ssize_t w = rc == 0 ? write(fds[i][1], p, sizeof p) : 0;
                _exit(rc == 0 && w == (ssize_t)sizeof p ? 0 : 1);
            }
            close(fds[i][1]);
        }
        unsigned char got[N][PGS_TOKEN_PEPPER_LEN];
        for (int i = 0; i < N; i++) {
            int status = 0;
            assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
            PGS_EXPECT_INT("racing pepper_load exit status",
                           WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
            PGS_EXPECT_INT("pepper bytes read from the racer",
                           read(fds[i][0], got[i], sizeof got[i]), PGS_TOKEN_PEPPER_LEN);
            close(fds[i][0]);
        }
        unsigned char stored[PGS_TOKEN_PEPPER_LEN];
        PGS_EXPECT_INT("pepper_load after the race", pgs_token_pepper_load(dir, stored), 0);
        for (int i = 0; i < N; i++)
            if (memcmp(got[i], stored, sizeof stored) != 0)
                fail_msg("round %d: racer %d got another pepper than the stored one", round, i);
        DIR *d = opendir(dir);
        assert_non_null(d);
        int files = 0;
        for (struct dirent *e; (e = readdir(d));)
            files += e->d_name[0] != '.';
        closedir(d);
        PGS_EXPECT_INT("files in the home after the race (the pepper, no temporary one)", files, 1);
        assert_int_equal(pgs_test_rmtree(dir), 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_format), cmocka_unit_test(test_checksum_vectors),
        cmocka_unit_test(test_check_rejects),   cmocka_unit_test(test_hash),
        cmocka_unit_test(test_pepper_env),      cmocka_unit_test(test_pepper_file),
        cmocka_unit_test(test_pepper_race),
    };
    return cmocka_run_group_tests_name("pgs_token", tests, s_setup, NULL);
}
