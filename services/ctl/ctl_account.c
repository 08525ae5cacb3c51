/*
 * ctl_account — see ctl_account.h.
 *
 * The values are checked here only as far as it makes the operator's error
 * message clearer (an unknown plan, a seat count that is not a number);
 * the auth service is the authority on everything else and its error
 * message is printed as it comes.
 */
#include "ctl_account.h"

#include "ctl_broker.h"
#include "ctl_out.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_PASSWORD 1024

static const char *const s_plans[] = {"free", "pro", "ultra", NULL};
static const char *const s_roles[] = {"owner", "admin", "member", "viewer", NULL};

static int
s_admin(const ctl_t *c, const char *route, json_t *body, json_t **reply_out)
{
    return ctl_broker_request(c, "auth", route, body, reply_out);
}

/* Reads one line from stdin into buf (the newline dropped). Returns its
 * length, or -1 when empty, too long or unreadable. */
static long
s_read_password(char *buf, size_t cap)
{
    size_t n = 0;
    int ch;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (n + 1 >= cap)
            return -1;
        buf[n++] = (char)ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return n ? (long)n : -1;
}

static void
s_generate_password(char *buf, size_t len)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (size_t i = 0; i < len; i++)
        buf[i] = alphabet[randombytes_uniform(62)];
    buf[len] = '\0';
}

int
ctl_account_user_add(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_VALUE("email"), CTL_OPT_VALUE("name"),
                        CTL_OPT_FLAG("password-stdin"), CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0 ||
        (rc = ctl_args_require(c, opts, "email")) != 0 ||
        (rc = ctl_args_require(c, opts, "name")) != 0)
        return rc;
    char *password = sodium_malloc(S_MAX_PASSWORD);
    if (!password)
        return ctl_out_fail("out of memory");
    int generated = !ctl_args_has(opts, "password-stdin");
    if (generated) {
        s_generate_password(password, CTL_ACCOUNT_PASSWORD_LEN);
    } else if (s_read_password(password, S_MAX_PASSWORD) < 0) {
        sodium_free(password);
        return ctl_out_fail("user add: --password-stdin needs one non-empty line of at most %d "
                            "bytes on stdin",
                            S_MAX_PASSWORD - 1);
    }
    json_t *reply = NULL;
    json_t *body = json_pack("{s:s, s:s, s:s}", "email", ctl_args_get(opts, "email"), "name",
                             ctl_args_get(opts, "name"), "password", password);
    int json = c->json;
    ctl_t quiet = *c;
    quiet.json = 0; /* printed below, with the generated password added */
    rc = s_admin(&quiet, "admin.user.add", body, &reply);
    if (rc != 0) {
        sodium_free(password);
        return rc;
    }
    json_t *user = json_object_get(reply, "user");
    if (!user)
        user = reply;
    if (json) {
        json_t *out = reply ? json_incref(reply) : json_object();
        if (generated && out)
            json_object_set_new(out, "password", json_string(password));
        ctl_out_json(out);
        json_decref(out);
    } else {
        char b1[64], b2[64];
        const char *id = ctl_out_field(user, "id", b1, sizeof b1);
        const char *ws = ctl_out_field(user, "workspace_id", b2, sizeof b2);
        printf("created user %s <%s>%s%s\n", id ? id : "", ctl_args_get(opts, "email"),
               ws ? " with workspace " : "", ws ? ws : "");
        if (generated)
            printf("password: %s\n", password);
    }
    sodium_free(password);
    json_decref(reply);
    return 0;
}

int
ctl_account_user_list(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0)
        return rc;
    json_t *reply = NULL;
    if ((rc = s_admin(c, "admin.user.list", json_object(), &reply)) != 0 || c->json) {
        json_decref(reply);
        return rc;
    }
    static const char *const headers[] = {"ID", "EMAIL", "NAME", "PLAN", "WORKSPACE", NULL};
    static const char *const fields[] = {"id", "email", "name", "plan", "workspace_id", NULL};
    rc = ctl_out_list(json_object_get(reply, "data"), headers, fields);
    json_decref(reply);
    return rc;
}

int
ctl_account_plan_set(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_VALUE("workspace"), CTL_OPT_VALUE("email"), CTL_OPT_VALUE("plan"),
                        CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0 ||
        (rc = ctl_args_require(c, opts, "plan")) != 0)
        return rc;
    const char *ws = ctl_args_get(opts, "workspace");
    const char *email = ctl_args_get(opts, "email");
    const char *plan = ctl_args_get(opts, "plan");
    if (!ws == !email)
        return ctl_args_usage_error(c, "give exactly one of --workspace and --email");
    if (!ctl_args_oneof(c, "--plan", plan, s_plans))
        return 2;
    json_t *body =
        json_pack("{s:s, s:s}", ws ? "workspace_id" : "email", ws ? ws : email, "plan", plan);
    if ((rc = s_admin(c, "admin.plan.set", body, NULL)) == 0 && !c->json)
        printf("plan of %s%s is now %s\n", ws ? ws : email, ws ? "" : "'s personal workspace",
               plan);
    return rc;
}

/* The id of the object in a reply: reply.<key>.id, reply.workspace.id or
 * reply.id. */
static const char *
s_reply_id(const json_t *reply, const char *key)
{
    const char *id = json_string_value(json_object_get(json_object_get(reply, key), "id"));
    if (!id)
        id = json_string_value(json_object_get(json_object_get(reply, "workspace"), "id"));
    return id ? id : json_string_value(json_object_get(reply, "id"));
}

int
ctl_account_team_add(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_VALUE("name"), CTL_OPT_VALUE("owner"), CTL_OPT_VALUE("plan"),
                        CTL_OPT_VALUE("seats"), CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    long long seats;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0 ||
        (rc = ctl_args_require(c, opts, "name")) != 0 ||
        (rc = ctl_args_require(c, opts, "owner")) != 0 ||
        (rc = ctl_args_require(c, opts, "plan")) != 0 ||
        (rc = ctl_args_require(c, opts, "seats")) != 0 ||
        (rc = ctl_args_int(c, "--seats", ctl_args_get(opts, "seats"), 1, 100000, &seats)) != 0)
        return rc;
    if (!ctl_args_oneof(c, "--plan", ctl_args_get(opts, "plan"), s_plans))
        return 2;
    json_t *body = json_pack("{s:s, s:s, s:s, s:I}", "name", ctl_args_get(opts, "name"),
                             "owner_email", ctl_args_get(opts, "owner"), "plan",
                             ctl_args_get(opts, "plan"), "seats", (json_int_t)seats);
    json_t *reply = NULL;
    if ((rc = s_admin(c, "admin.team.add", body, &reply)) == 0 && !c->json) {
        const char *id = s_reply_id(reply, "team");
        printf("created team %s%s%s (%s plan, %lld seats, owner %s)\n", ctl_args_get(opts, "name"),
               id ? " " : "", id ? id : "", ctl_args_get(opts, "plan"), seats,
               ctl_args_get(opts, "owner"));
    }
    json_decref(reply);
    return rc;
}

int
ctl_account_team_seats(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_VALUE("team"), CTL_OPT_VALUE("seats"), CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    long long seats;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0 ||
        (rc = ctl_args_require(c, opts, "team")) != 0 ||
        (rc = ctl_args_require(c, opts, "seats")) != 0 ||
        (rc = ctl_args_int(c, "--seats", ctl_args_get(opts, "seats"), 1, 100000, &seats)) != 0)
        return rc;
    json_t *body =
        json_pack("{s:s, s:I}", "team", ctl_args_get(opts, "team"), "seats", (json_int_t)seats);
    if ((rc = s_admin(c, "admin.team.seats", body, NULL)) == 0 && !c->json)
        printf("team %s now has %lld seats\n", ctl_args_get(opts, "team"), seats);
    return rc;
}

int
ctl_account_team_member(const ctl_t *c, const char *verb, int argc, char **argv)
{
    int remove = strcmp(verb, "remove") == 0;
    ctl_opt_t opts[] = {CTL_OPT_VALUE("team"), CTL_OPT_VALUE("email"),  CTL_OPT_VALUE("role"),
                        CTL_OPT_FLAG("seat"),  CTL_OPT_FLAG("no-seat"), CTL_OPT_END};
    if (remove)
        opts[2].name = NULL; /* remove takes --team and --email only */
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0 ||
        (rc = ctl_args_require(c, opts, "team")) != 0 ||
        (rc = ctl_args_require(c, opts, "email")) != 0)
        return rc;
    json_t *body = json_pack("{s:s, s:s}", "team", ctl_args_get(opts, "team"), "email",
                             ctl_args_get(opts, "email"));
    if (!body)
        return ctl_out_fail("out of memory");
    if (!remove) {
        const char *role = ctl_args_get(opts, "role");
        int seat = ctl_args_has(opts, "seat"), noseat = ctl_args_has(opts, "no-seat");
        if (seat && noseat) {
            json_decref(body);
            return ctl_args_usage_error(c, "give --seat or --no-seat, not both");
        }
        if (role && !ctl_args_oneof(c, "--role", role, s_roles)) {
            json_decref(body);
            return 2;
        }
        if (strcmp(verb, "set") == 0 && !role && !seat && !noseat) {
            json_decref(body);
            return ctl_args_usage_error(c, "nothing to change: give --role, --seat or --no-seat");
        }
        if (role)
            json_object_set_new(body, "role", json_string(role));
        if (seat || noseat)
            json_object_set_new(body, "seat", json_boolean(seat));
    }
    char route[64];
    snprintf(route, sizeof route, "admin.team.member.%s", verb);
    if ((rc = s_admin(c, route, body, NULL)) == 0 && !c->json) {
        const char *done = remove                     ? "removed from"
                           : strcmp(verb, "add") == 0 ? "added to"
                                                      : "updated in";
        printf("%s %s team %s\n", ctl_args_get(opts, "email"), done, ctl_args_get(opts, "team"));
    }
    return rc;
}

int
ctl_account_team_state(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_VALUE("team"), CTL_OPT_VALUE("pending-cancellation"),
                        CTL_OPT_VALUE("quota-disabled"), CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0 ||
        (rc = ctl_args_require(c, opts, "team")) != 0)
        return rc;
    const char *pc = ctl_args_get(opts, "pending-cancellation");
    const char *qd = ctl_args_get(opts, "quota-disabled");
    if (!pc && !qd)
        return ctl_args_usage_error(c, "nothing to change: give --pending-cancellation and/or "
                                       "--quota-disabled");
    int pcv = 0, qdv = 0;
    if ((pc && (rc = ctl_args_onoff(c, "--pending-cancellation", pc, &pcv)) != 0) ||
        (qd && (rc = ctl_args_onoff(c, "--quota-disabled", qd, &qdv)) != 0))
        return rc;
    json_t *body = json_pack("{s:s}", "team", ctl_args_get(opts, "team"));
    if (!body)
        return ctl_out_fail("out of memory");
    if (pc)
        json_object_set_new(body, "pending_cancellation", json_boolean(pcv));
    if (qd)
        json_object_set_new(body, "quota_disabled", json_boolean(qdv));
    if ((rc = s_admin(c, "admin.team.state", body, NULL)) == 0 && !c->json) {
        printf("team %s:", ctl_args_get(opts, "team"));
        if (pc)
            printf(" pending cancellation %s", pc);
        if (qd)
            printf("%s quota disabled %s", pc ? "," : "", qd);
        printf("\n");
    }
    return rc;
}

/* The token's status as auth gives it, else "revoked", "expired" or
 * "active" from its times. */
static const char *
s_token_state(const json_t *tok)
{
    const char *status = json_string_value(json_object_get(tok, "status"));
    if (status && *status)
        return status;
    const json_t *revoked = json_object_get(tok, "revoked_at");
    if ((revoked && !json_is_null(revoked)) || json_is_true(json_object_get(tok, "revoked")))
        return "revoked";
    const char *exp = json_string_value(json_object_get(tok, "expires_at"));
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (exp && strptime(exp, "%Y-%m-%dT%H:%M:%S", &tm) && timegm(&tm) <= time(NULL))
        return "expired";
    return "active";
}

/* A field of a token that may be a string or an object with an id/email. */
static const char *
s_ref(const json_t *tok, const char *key, const char *alt_key, char *buf, size_t len)
{
    const json_t *v = json_object_get(tok, key);
    if (json_is_object(v)) {
        const char *s = json_string_value(json_object_get(v, "email"));
        return s ? s : json_string_value(json_object_get(v, "id"));
    }
    const char *s = ctl_out_field(tok, key, buf, len);
    return s ? s : ctl_out_field(tok, alt_key, buf, len);
}

int
ctl_account_token_list(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_VALUE("workspace"), CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 0, &npos)) != 0)
        return rc;
    const char *ws = ctl_args_get(opts, "workspace");
    json_t *body = ws ? json_pack("{s:s}", "workspace_id", ws) : json_object();
    json_t *reply = NULL;
    if ((rc = s_admin(c, "admin.token.list", body, &reply)) != 0 || c->json) {
        json_decref(reply);
        return rc;
    }
    static const char *const headers[] = {"ID",    "PREFIX",  "NAME",  "WORKSPACE",
                                          "OWNER", "EXPIRES", "STATE", NULL};
    ctl_table_t *t = ctl_table_new(headers);
    size_t i;
    json_t *tok;
    json_array_foreach(json_object_get(reply, "data"), i, tok)
    {
        char b[6][128];
        const char *cells[] = {ctl_out_field(tok, "id", b[0], sizeof b[0]),
                               ctl_out_field(tok, "prefix", b[1], sizeof b[1]),
                               ctl_out_field(tok, "name", b[2], sizeof b[2]),
                               s_ref(tok, "workspace", "workspace_id", b[3], sizeof b[3]),
                               s_ref(tok, "owner", "user_id", b[4], sizeof b[4]),
                               ctl_out_field(tok, "expires_at", b[5], sizeof b[5]),
                               s_token_state(tok)};
        if (t && ctl_table_row(t, cells) < 0)
            ctl_table_destroy(&t);
    }
    json_decref(reply);
    if (!t)
        return ctl_out_fail("out of memory");
    ctl_table_print(&t);
    return 0;
}

int
ctl_account_token_revoke(const ctl_t *c, int argc, char **argv)
{
    ctl_opt_t opts[] = {CTL_OPT_END};
    const char *pos[1];
    int npos, rc;
    if ((rc = ctl_args_parse(c, argc, argv, opts, pos, 1, &npos)) != 0)
        return rc;
    if (npos != 1)
        return ctl_args_usage_error(c, "give the id of the token to revoke");
    json_t *body = json_pack("{s:s}", "token_id", pos[0]);
    if ((rc = s_admin(c, "admin.token.revoke", body, NULL)) == 0 && !c->json)
        printf("revoked %s\n", pos[0]);
    return rc;
}
