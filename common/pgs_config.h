/*
 * pgs_config — the one INI configuration file, with environment overrides.
 *
 * File format: `[section]` lines, `key = value` lines, `#` or `;` comments,
 * blank lines. A value may not span lines. Any key can be overridden by the
 * environment: PEGASUS_ + section + _ + key, upper-cased, with '.' and '-'
 * turned into '_' ([plan.pro] messages_per_month → PEGASUS_PLAN_PRO_MESSAGES_PER_MONTH).
 * The environment is read at lookup time, so a value set before the process
 * starts always wins over the file.
 *
 * This module knows no keys: pgs_conf holds the table of every key (type,
 * default, range) and its typed getters.
 */
#ifndef PGS_CONFIG_H
#define PGS_CONFIG_H

#include <stddef.h>

typedef struct pgs_config pgs_config_t;

/* Parses the file at path. Returns an owned config or NULL; on NULL, err
 * (errlen bytes) holds a message naming the file and line. */
pgs_config_t *pgs_config_load(const char *path, char *err, size_t errlen);

/* Parses text held in memory (for tests). Same contract as pgs_config_load. */
pgs_config_t *pgs_config_parse(const char *text, char *err, size_t errlen);

/* Frees the config and sets *cfg to NULL; no-op on NULL. */
void pgs_config_destroy(pgs_config_t **cfg);

/* The value of section/key: the environment override if set, else the file's,
 * else NULL. Borrowed; valid until the config is destroyed (environment
 * values until the environment changes). */
const char *pgs_config_get(const pgs_config_t *cfg, const char *section, const char *key);

/* Calls fn for every section of the file whose name starts with prefix
 * (e.g. "plan." or "model."), in file order, with the part after the prefix. */
void pgs_config_each_section(const pgs_config_t *cfg, const char *prefix,
                             void (*fn)(const char *section, const char *suffix, void *arg),
                             void *arg);

/* Calls fn for every key the file sets, in file order (a key set twice
 * once, with its last value; environment overrides are not seen here). */
void pgs_config_each_key(const pgs_config_t *cfg,
                         void (*fn)(const char *section, const char *key, const char *value,
                                    void *arg),
                         void *arg);

/* Writes the environment variable name for section/key into buf. */
void pgs_config_env_name(const char *section, const char *key, char *buf, size_t len);

#endif
