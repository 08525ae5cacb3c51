/*
 * edge_openai — see edge_openai.h.
 */
#include "edge_openai.h"
#include "pgs_json.h"
#include "pgs_openai.h"

#include <jansson.h>
#include <string.h>

int
edge_openai_path(const char *path)
{
    return path && strncmp(path, "/openai/", 8) == 0;
}

char *
edge_openai_error_body(int status, const char *body, size_t len)
{
    json_t *o = body ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *e = json_object_get(o, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *message = json_string_value(json_object_get(e, "message"));
    if (!code || !message) {
        json_decref(o);
        return NULL;
    }
    json_t *param = json_object_get(e, "param");
    json_t *out = pgs_openai_error(status, code, message, json_string_value(param),
                                   json_string_value(json_object_get(e, "request_id")));
    char *text = out ? pgs_json_dump(out) : NULL;
    json_decref(out);
    json_decref(o);
    return text;
}
