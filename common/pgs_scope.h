/*
 * pgs_scope — the scope and preset tables of SPEC §2, as bit masks.
 *
 * The tables are the single source of the identifiers and the labels shown
 * in the app (exactly as the SPEC words them).
 */
#ifndef PGS_SCOPE_H
#define PGS_SCOPE_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t pgs_scope_mask_t;

typedef struct {
    const char *id;
    const char *label;
    const char *description; /* the seed guide's "Use" column */
    int write;               /* a write scope */
} pgs_scope_def_t;

typedef struct {
    const char *id;
    const char *label;
    const char *description;
    pgs_scope_mask_t scopes;
} pgs_scope_preset_t;

#define PGS_SCOPE_COUNT 9
#define PGS_SCOPE_PRESET_COUNT 3

extern const pgs_scope_def_t pgs_scope_table[PGS_SCOPE_COUNT];
extern const pgs_scope_preset_t pgs_scope_presets[PGS_SCOPE_PRESET_COUNT];

/* Mask of all write scopes. */
pgs_scope_mask_t pgs_scope_write_mask(void);

/* The bit of one scope id (len bytes), or 0 when unknown. */
pgs_scope_mask_t pgs_scope_bit(const char *id, size_t len);

/* The preset with this id, or NULL. */
const pgs_scope_preset_t *pgs_scope_preset(const char *id);

/* Parses a space-separated list of scope ids. Returns 0 and the mask, or -1
 * when any id is unknown. Duplicates merge. */
int pgs_scope_parse(const char *list, pgs_scope_mask_t *out);

/* Writes the mask as space-separated ids in table order into buf.
 * Returns the length written (truncates safely). */
size_t pgs_scope_format(pgs_scope_mask_t mask, char *buf, size_t len);

#endif
