/*
 * pgs_token — Personal Access Token format, checksum, hashing and the pepper.
 *
 * Format: "pgs_" + 32 base62 characters of randomness (≈190.5 bits) + 6 base62
 * characters encoding the CRC32 of those 32 (big-endian digits, zero-padded).
 * A string whose checksum does not match is rejected without any lookup.
 * Only the keyed BLAKE2b hash (key = the server pepper) is ever stored.
 */
#ifndef PGS_TOKEN_H
#define PGS_TOKEN_H

#include <stddef.h>

#define PGS_TOKEN_LEN 42        /* "pgs_" + 32 + 6 */
#define PGS_TOKEN_PREFIX_LEN 12 /* "pgs_" + 8: the display prefix */
#define PGS_TOKEN_HASH_LEN 32
#define PGS_TOKEN_HASH_HEX_LEN 64
#define PGS_TOKEN_PEPPER_LEN 32

/* Writes a new random token and its terminating NUL into out. Needs
 * sodium_init() to have succeeded. */
void pgs_token_generate(char out[PGS_TOKEN_LEN + 1]);

/* 1 when s (len bytes) has the token format and a matching checksum, else 0. */
int pgs_token_check(const char *s, size_t len);

/* Keyed BLAKE2b-256 of the token's bytes, as lowercase hex plus NUL. */
void pgs_token_hash_hex(const unsigned char pepper[PGS_TOKEN_PEPPER_LEN], const char *tok,
                        size_t len, char out[PGS_TOKEN_HASH_HEX_LEN + 1]);

/* Loads the pepper: PEGASUS_AUTH_PEPPER (64 hex characters) when set, else the
 * file <home>/pepper, created with mode 0600 when missing. A file readable or
 * writable by group or others is refused. Returns 0, or -1 with a logged
 * reason (never the pepper). */
int pgs_token_pepper_load(const char *home, unsigned char pepper[PGS_TOKEN_PEPPER_LEN]);

/* Writes the 6-character base62 CRC32 checksum of data into out (+ NUL). */
void pgs_token_checksum(const char *data, size_t len, char out[7]);

#endif
