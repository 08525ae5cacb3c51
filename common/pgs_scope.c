/*
 * pgs_scope — see pgs_scope.h. Bit i of a mask is pgs_scope_table[i].
 */
#include "pgs_scope.h"

#include <stdio.h>
#include <string.h>

const pgs_scope_def_t pgs_scope_table[PGS_SCOPE_COUNT] = {
    {"profile:read", "Read your profile", "Read basic user profile data.", 0},
    {"subscription:read", "Read your subscription", "Inspect plan/quota information.", 0},
    {"models:read", "Read available models", "List models the workspace can use.", 0},
    {"bots:read", "Read bots & documents", "List/read bots and document metadata.", 0},
    {"bots:write", "Create, update, delete bots", "Manage bots and documents.", 1},
    {"conversations:read", "Read API conversations", "Read conversations created for API usage.",
     0},
    {"conversations:write", "Create, delete API conversations",
     "Create or remove API conversations.", 1},
    {"chat:send", "Send chat messages", "Send messages to bots.", 1},
    {"usage:read", "Read usage analytics", "Read usage reports.", 0},
};

#define S_BIT(i) ((pgs_scope_mask_t)1u << (i))

const pgs_scope_preset_t pgs_scope_presets[PGS_SCOPE_PRESET_COUNT] = {
    {"chat", "Chat API only", "Good for sending messages.", S_BIT(5) | S_BIT(6) | S_BIT(7)},
    {"read_only", "Read-only", "Good for reporting or monitoring.",
     S_BIT(0) | S_BIT(1) | S_BIT(2) | S_BIT(3) | S_BIT(8)},
    {"bot_management", "Bot management", "Broader access for trusted automation.",
     S_BIT(3) | S_BIT(4) | S_BIT(2) | S_BIT(0)},
};

pgs_scope_mask_t
pgs_scope_write_mask(void)
{
    pgs_scope_mask_t m = 0;
    for (int i = 0; i < PGS_SCOPE_COUNT; i++)
        if (pgs_scope_table[i].write)
            m |= S_BIT(i);
    return m;
}

pgs_scope_mask_t
pgs_scope_bit(const char *id, size_t len)
{
    for (int i = 0; i < PGS_SCOPE_COUNT; i++)
        if (strlen(pgs_scope_table[i].id) == len && memcmp(pgs_scope_table[i].id, id, len) == 0)
            return S_BIT(i);
    return 0;
}

const pgs_scope_preset_t *
pgs_scope_preset(const char *id)
{
    for (int i = 0; id && i < PGS_SCOPE_PRESET_COUNT; i++)
        if (strcmp(pgs_scope_presets[i].id, id) == 0)
            return &pgs_scope_presets[i];
    return NULL;
}

int
pgs_scope_parse(const char *list, pgs_scope_mask_t *out)
{
    pgs_scope_mask_t m = 0;
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        if (p > start) {
            pgs_scope_mask_t b = pgs_scope_bit(start, (size_t)(p - start));
            if (!b)
                return -1;
            m |= b;
        }
    }
    *out = m;
    return 0;
}

size_t
pgs_scope_format(pgs_scope_mask_t mask, char *buf, size_t len)
{
    size_t n = 0;
    if (len)
        buf[0] = '\0';
    for (int i = 0; i < PGS_SCOPE_COUNT; i++) {
        if (!(mask & S_BIT(i)))
            continue;
        /* On every request's path (the context): memcpy, not snprintf. */
        const char *id = pgs_scope_table[i].id;
        size_t w = strlen(id) + (n ? 1 : 0);
        if (n + w >= len)
            return n; /* whole ids only: buf holds those before this one */
        if (n)
            buf[n] = ' ';
        memcpy(buf + n + (n ? 1 : 0), id, strlen(id));
        n += w;
        buf[n] = '\0';
    }
    return n;
}
