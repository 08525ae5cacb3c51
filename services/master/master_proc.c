/*
 * master_proc — see master_proc.h.
 *
 * Each slot is one instance number of one service. A slot is "used" while
 * it is wanted or still has a process; its process is either live (pid > 0)
 * or waiting for its start time (pid 0, due_ms). Why a process is being
 * stopped is kept in the slot (stop), because that decides what happens
 * when it exits: nothing (shutdown), start it again at once (operator
 * restart), or free the slot (scale down).
 */
#include "master_proc.h"

#include "master_spawn.h"
#include "pgs_log.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef enum {
    S_STOP_NONE = 0, /* running as wanted; an exit is a crash */
    S_STOP_REPLACE,  /* operator restart: start again at once, not a crash */
    S_STOP_REMOVE,   /* scaled down: free the slot on exit */
    S_STOP_SHUTDOWN, /* the supervisor is stopping */
} s_stop_t;

typedef struct {
    int used;
    pid_t pid;          /* 0: not running */
    int64_t started_ms; /* when pid was started */
    int64_t due_ms;     /* pid 0: when to start */
    int backoff_ms;     /* the delay after the next early death */
    unsigned restarts;  /* crashes followed by a restart */
    s_stop_t stop;
    int64_t term_ms; /* when SIGTERM was sent */
    int killed;      /* SIGKILL sent */
    int roll;        /* waiting for its turn in a rolling restart */
} s_slot_t;

typedef struct {
    char name[33];
    char path[PATH_MAX];
    char log_path[PATH_MAX];
    char wrapper[1024];    /* its words, NUL-separated ("" none) */
    char *wrap_argv[17];   /* into wrapper */
    int wrap_argc;
    int count; /* wanted processes */
    int scalable;
    int stop_first;  /* stopped alone, before every other service */
    int roll_active; /* slot index being replaced, or -1 */
    s_slot_t slots[MASTER_PROC_MAX_SLOTS];
} s_service_t;

struct master_proc {
    char bindir[PATH_MAX];
    char config_path[PATH_MAX];
    char home[PATH_MAX];
    s_service_t services[MASTER_PROC_MAX_SERVICES];
    int nservices;
    int shutting_down;
    int held; /* shutting down: the others wait for the stop_first ones */
};

master_proc_t *
master_proc_new(const char *bindir, const char *config_path, const char *home)
{
    master_proc_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->bindir, sizeof p->bindir, "%s", bindir);
    snprintf(p->config_path, sizeof p->config_path, "%s", config_path);
    snprintf(p->home, sizeof p->home, "%s", home);
    return p;
}

void
master_proc_destroy(master_proc_t **p)
{
    if (!p || !*p)
        return;
    free(*p);
    *p = NULL;
}

static s_service_t *
s_find(master_proc_t *p, const char *name)
{
    for (int i = 0; i < p->nservices; i++)
        if (strcmp(p->services[i].name, name) == 0)
            return &p->services[i];
    return NULL;
}

static int
s_valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void
s_slot_wanted(s_slot_t *s, int64_t now)
{
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->due_ms = now;
    s->backoff_ms = MASTER_PROC_BACKOFF_MIN_MS;
}

int
master_proc_add(master_proc_t *p, const char *name, int count, int scalable, char *err,
                size_t errlen)
{
    if (!s_valid_name(name)) {
        snprintf(err, errlen, "service name \"%s\" is not 1-32 characters of [a-z0-9_-]", name);
        return -1;
    }
    if (s_find(p, name)) {
        snprintf(err, errlen, "service %s is declared twice", name);
        return -1;
    }
    if (p->nservices == MASTER_PROC_MAX_SERVICES) {
        snprintf(err, errlen, "more than %d services", MASTER_PROC_MAX_SERVICES);
        return -1;
    }
    if (count < 0 || count > MASTER_PROC_MAX_SLOTS) {
        snprintf(err, errlen, "service %s: processes must be 0-%d", name, MASTER_PROC_MAX_SLOTS);
        return -1;
    }
    s_service_t *svc = &p->services[p->nservices];
    memset(svc, 0, sizeof *svc);
    snprintf(svc->name, sizeof svc->name, "%s", name);
    char path[PATH_MAX], log_path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/pegasus-%s", p->bindir, name);
    int m = snprintf(log_path, sizeof log_path, "%s/log/%s.log", p->home, name);
    if (n < 0 || (size_t)n >= sizeof path || m < 0 || (size_t)m >= sizeof log_path) {
        snprintf(err, errlen, "service %s: path too long", name);
        return -1;
    }
    memcpy(svc->path, path, (size_t)n + 1);
    memcpy(svc->log_path, log_path, (size_t)m + 1);
    if (count > 0 && access(svc->path, X_OK) < 0) {
        snprintf(err, errlen, "service %s: %s is not an executable (%s)", name, svc->path,
                 strerror(errno));
        return -1;
    }
    svc->count = count;
    svc->scalable = scalable;
    svc->roll_active = -1;
    for (int i = 0; i < count; i++)
        s_slot_wanted(&svc->slots[i], 0);
    p->nservices++;
    return 0;
}

int
master_proc_wrap(master_proc_t *p, const char *name, const char *wrapper, char *err,
                 size_t errlen)
{
    s_service_t *svc = s_find(p, name);
    if (!svc) {
        snprintf(err, errlen, "service %s is not declared", name);
        return -1;
    }
    svc->wrap_argc = 0;
    if (!wrapper || !*wrapper)
        return 0;
    if (wrapper[0] != '/' || strlen(wrapper) >= sizeof svc->wrapper) {
        snprintf(err, errlen, "service %s: wrapper must be an absolute path and its arguments",
                 name);
        return -1;
    }
    memcpy(svc->wrapper, wrapper, strlen(wrapper) + 1);
    for (char *w = strtok(svc->wrapper, " \t"); w; w = strtok(NULL, " \t")) {
        if (svc->wrap_argc == 16) {
            snprintf(err, errlen, "service %s: wrapper has more than 16 words", name);
            svc->wrap_argc = 0;
            return -1;
        }
        svc->wrap_argv[svc->wrap_argc++] = w;
    }
    return 0;
}

static void
s_start(master_proc_t *p, s_service_t *svc, int idx, int64_t now)
{
    s_slot_t *s = &svc->slots[idx];
    char instance[16];
    snprintf(instance, sizeof instance, "%d", idx + 1);
    char *argv[24];
    int n = 0;
    for (int i = 0; i < svc->wrap_argc; i++)
        argv[n++] = svc->wrap_argv[i];
    char *own[] = {svc->path, "-c", p->config_path, "-i", instance, NULL};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        argv[n++] = own[i];
    pid_t pid = master_spawn_start(argv[0], argv, svc->log_path);
    if (pid < 0) {
        /* Treated like a death at start: the back-off keeps us from
         * retrying a full disk or a process limit in a tight loop. */
        pgs_error("cannot start %s[%s]: %s; retrying in %d ms", svc->name, instance,
                  strerror(errno), s->backoff_ms);
        s->due_ms = now + s->backoff_ms;
        s->backoff_ms = s->backoff_ms * 2 > MASTER_PROC_BACKOFF_MAX_MS ? MASTER_PROC_BACKOFF_MAX_MS
                                                                       : s->backoff_ms * 2;
        return;
    }
    s->pid = pid;
    s->started_ms = now;
    s->stop = S_STOP_NONE;
    s->killed = 0;
    s->term_ms = 0;
    pgs_info("started %s[%s] pid=%d", svc->name, instance, (int)pid);
}

static void
s_signal(s_service_t *svc, int idx, int sig, int64_t now)
{
    s_slot_t *s = &svc->slots[idx];
    if (s->pid <= 0)
        return;
    if (kill(s->pid, sig) < 0 && errno != ESRCH)
        pgs_warn("kill %s[%d] pid=%d: %s", svc->name, idx + 1, (int)s->pid, strerror(errno));
    if (sig == SIGKILL)
        s->killed = 1;
    else if (!s->term_ms)
        s->term_ms = now;
}

/* Asks the process in slot idx to stop for reason. */
static void
s_stop(s_service_t *svc, int idx, s_stop_t reason, int64_t now)
{
    s_slot_t *s = &svc->slots[idx];
    s->stop = reason;
    s_signal(svc, idx, SIGTERM, now);
}

static void
s_describe_exit(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "status=%d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "signal=%d%s", WTERMSIG(status), WCOREDUMP(status) ? " core" : "");
    else
        snprintf(buf, len, "wait=%d", status);
}

static void
s_exited(master_proc_t *p, s_service_t *svc, int idx, int status, int64_t now)
{
    s_slot_t *s = &svc->slots[idx];
    char how[48];
    s_describe_exit(status, how, sizeof how);
    int64_t up = now - s->started_ms;
    pid_t pid = s->pid;
    s->pid = 0;
    s->term_ms = 0;
    s->killed = 0;
    s_stop_t why = s->stop;
    s->stop = S_STOP_NONE;
    if (p->shutting_down || why == S_STOP_SHUTDOWN) {
        pgs_info("%s[%d] pid=%d stopped %s", svc->name, idx + 1, (int)pid, how);
        s->used = 0;
        return;
    }
    if (idx >= svc->count || why == S_STOP_REMOVE) {
        pgs_info("%s[%d] pid=%d stopped %s (scaled down)", svc->name, idx + 1, (int)pid, how);
        /* Scaled down, then up again before it exited: start it afresh. */
        if (idx < svc->count)
            s_slot_wanted(s, now);
        else
            s->used = 0;
        return;
    }
    if (why == S_STOP_REPLACE) {
        pgs_info("%s[%d] pid=%d stopped %s; starting its replacement", svc->name, idx + 1, (int)pid,
                 how);
        s->due_ms = now;
        return;
    }
    s->restarts++;
    if (up >= MASTER_PROC_STABLE_MS) {
        /* It ran for a while: whatever killed it was not its start. */
        s->backoff_ms = MASTER_PROC_BACKOFF_MIN_MS;
        s->due_ms = now;
        pgs_warn("%s[%d] pid=%d exited %s after %lld s; restarting now", svc->name, idx + 1,
                 (int)pid, how, (long long)(up / 1000));
        return;
    }
    s->due_ms = now + s->backoff_ms;
    pgs_warn("%s[%d] pid=%d exited %s after %lld ms; restarting in %d ms", svc->name, idx + 1,
             (int)pid, how, (long long)up, s->backoff_ms);
    s->backoff_ms = s->backoff_ms * 2 > MASTER_PROC_BACKOFF_MAX_MS ? MASTER_PROC_BACKOFF_MAX_MS
                                                                   : s->backoff_ms * 2;
}

void
master_proc_reap(master_proc_t *p, int64_t now)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        int found = 0;
        for (int i = 0; i < p->nservices && !found; i++) {
            s_service_t *svc = &p->services[i];
            for (int j = 0; j < MASTER_PROC_MAX_SLOTS; j++) {
                if (svc->slots[j].used && svc->slots[j].pid == pid) {
                    s_exited(p, svc, j, status, now);
                    found = 1;
                    break;
                }
            }
        }
        if (!found)
            pgs_warn("reaped unknown child pid=%d", (int)pid);
    }
}

/* Moves the rolling restart of svc on by at most one process. */
static void
s_roll(s_service_t *svc, int64_t now)
{
    if (svc->roll_active >= 0) {
        int a = svc->roll_active;
        s_slot_t *s = &svc->slots[a];
        if (!s->used || a >= svc->count)
            svc->roll_active = -1;
        else if (s->pid > 0 && s->stop == S_STOP_NONE &&
                 now - s->started_ms >= MASTER_PROC_SETTLE_MS)
            svc->roll_active = -1; /* its replacement is up: next one */
        else
            return;
    }
    for (int i = 0; i < svc->count; i++) {
        s_slot_t *s = &svc->slots[i];
        if (!s->roll)
            continue;
        s->roll = 0;
        if (!s->used)
            continue;
        svc->roll_active = i;
        if (s->pid > 0 && s->stop == S_STOP_NONE) {
            s_stop(svc, i, S_STOP_REPLACE, now);
        } else if (s->pid == 0) {
            /* Waiting out a back-off: the operator asked for a start now. */
            s->due_ms = now;
            s->backoff_ms = MASTER_PROC_BACKOFF_MIN_MS;
        }
        return;
    }
}

/* Live processes of the services that stop first. */
static int
s_first_live(const master_proc_t *p)
{
    int n = 0;
    for (int i = 0; i < p->nservices; i++)
        for (int j = 0; p->services[i].stop_first && j < MASTER_PROC_MAX_SLOTS; j++)
            if (p->services[i].slots[j].used && p->services[i].slots[j].pid > 0)
                n++;
    return n;
}

/* SIGTERM (or, when force, SIGKILL) to every live process of the services
 * that stop first (first) or of all of them. */
static void
s_shutdown_pass(master_proc_t *p, int64_t now, int force, int first)
{
    for (int i = 0; i < p->nservices; i++) {
        s_service_t *svc = &p->services[i];
        svc->roll_active = -1;
        for (int j = 0; j < MASTER_PROC_MAX_SLOTS; j++) {
            s_slot_t *s = &svc->slots[j];
            if (!s->used)
                continue;
            s->roll = 0;
            if (s->pid <= 0) {
                s->used = 0;
                continue;
            }
            s->stop = S_STOP_SHUTDOWN;
            if (force && !s->killed)
                s_signal(svc, j, SIGKILL, now);
            else if (!s->term_ms && (!first || svc->stop_first))
                s_signal(svc, j, SIGTERM, now);
        }
    }
}

void
master_proc_tick(master_proc_t *p, int64_t now)
{
    if (p->held && s_first_live(p) == 0) {
        /* What stops first is gone (its requests answered): the rest. */
        p->held = 0;
        pgs_info("stopping: SIGTERM to %d more process%s", master_proc_live(p),
                 master_proc_live(p) == 1 ? "" : "es");
        s_shutdown_pass(p, now, 0, 0);
    }
    for (int i = 0; i < p->nservices; i++) {
        s_service_t *svc = &p->services[i];
        if (!p->shutting_down)
            s_roll(svc, now);
        for (int j = 0; j < MASTER_PROC_MAX_SLOTS; j++) {
            s_slot_t *s = &svc->slots[j];
            if (!s->used)
                continue;
            if (s->pid > 0) {
                if (s->term_ms && !s->killed && now - s->term_ms >= MASTER_PROC_GRACE_MS) {
                    pgs_warn("%s[%d] pid=%d did not stop within %d ms; killing it", svc->name,
                             j + 1, (int)s->pid, MASTER_PROC_GRACE_MS);
                    s_signal(svc, j, SIGKILL, now);
                }
                if (s->stop == S_STOP_NONE && now - s->started_ms >= MASTER_PROC_STABLE_MS)
                    s->backoff_ms = MASTER_PROC_BACKOFF_MIN_MS;
            } else if (p->shutting_down || j >= svc->count) {
                s->used = 0;
            } else if (now >= s->due_ms) {
                s_start(p, svc, j, now);
            }
        }
    }
}

void
master_proc_shutdown(master_proc_t *p, int64_t now, int force)
{
    if (!p->shutting_down)
        p->held = !force && s_first_live(p) > 0;
    p->shutting_down = 1;
    if (force)
        p->held = 0;
    s_shutdown_pass(p, now, force, p->held);
}

int
master_proc_stop_first(master_proc_t *p, const char *service)
{
    s_service_t *svc = s_find(p, service);
    if (!svc)
        return -1;
    svc->stop_first = 1;
    return 0;
}

int
master_proc_live(const master_proc_t *p)
{
    int n = 0;
    for (int i = 0; i < p->nservices; i++)
        for (int j = 0; j < MASTER_PROC_MAX_SLOTS; j++)
            if (p->services[i].slots[j].used && p->services[i].slots[j].pid > 0)
                n++;
    return n;
}

int
master_proc_done(const master_proc_t *p)
{
    return p->shutting_down && master_proc_live(p) == 0;
}

static const char *
s_state(const s_slot_t *s, int64_t now)
{
    if (s->pid <= 0)
        return "backoff";
    if (s->stop != S_STOP_NONE)
        return "stopping";
    if (now - s->started_ms < MASTER_PROC_SETTLE_MS)
        return "starting";
    return "running";
}

/* What a running edge says about itself in home/run/edge-<n>.json: its
 * usage events waiting for Redis (edge_usage), copied into its status. */
static void
s_edge_extra(const master_proc_t *p, int instance, json_t *o)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/run/edge-%d.json", p->home, instance);
    json_t *j = json_load_file(path, 0, NULL);
    static const char *const keys[] = {"usage_waiting", "usage_dropped"};
    for (size_t i = 0; j && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(j, keys[i]);
        if (json_is_integer(v) && json_integer_value(v) >= 0)
            json_object_set(o, keys[i], v);
    }
    json_decref(j);
}

json_t *
master_proc_status(const master_proc_t *p, int64_t now)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    for (int i = 0; i < p->nservices; i++) {
        const s_service_t *svc = &p->services[i];
        for (int j = 0; j < MASTER_PROC_MAX_SLOTS; j++) {
            const s_slot_t *s = &svc->slots[j];
            if (!s->used)
                continue;
            json_t *o =
                json_pack("{s:s, s:i, s:i, s:s, s:I, s:i}", "service", svc->name, "instance", j + 1,
                          "pid", (int)(s->pid > 0 ? s->pid : 0), "state", s_state(s, now),
                          "uptime_s", (json_int_t)(s->pid > 0 ? (now - s->started_ms) / 1000 : 0),
                          "restarts", (int)s->restarts);
            if (o && s->pid > 0 && strcmp(svc->name, "edge") == 0)
                s_edge_extra(p, j + 1, o);
            if (!o || json_array_append_new(list, o) < 0) {
                json_decref(list);
                return NULL;
            }
        }
    }
    return json_pack("{s:o}", "processes", list);
}

int
master_proc_restart(master_proc_t *p, const char *service, int64_t now, char *err, size_t errlen)
{
    (void)now;
    if (p->shutting_down) {
        snprintf(err, errlen, "the supervisor is shutting down");
        return -1;
    }
    s_service_t *svc = s_find(p, service);
    if (!svc) {
        snprintf(err, errlen, "unknown service: %s", service);
        return -1;
    }
    if (svc->count == 0) {
        snprintf(err, errlen, "service %s has no processes (scale it up instead)", service);
        return -1;
    }
    for (int i = 0; i < svc->count; i++)
        if (svc->slots[i].used)
            svc->slots[i].roll = 1;
    pgs_info("restarting %s (%d process%s, one at a time)", svc->name, svc->count,
             svc->count == 1 ? "" : "es");
    return 0;
}

int
master_proc_scale(master_proc_t *p, const char *service, long long count, int64_t now, char *err,
                  size_t errlen)
{
    if (p->shutting_down) {
        snprintf(err, errlen, "the supervisor is shutting down");
        return -1;
    }
    s_service_t *svc = s_find(p, service);
    if (!svc) {
        snprintf(err, errlen, "unknown service: %s", service);
        return -1;
    }
    if (!svc->scalable) {
        snprintf(err, errlen, "service %s cannot be scaled: exactly one runs per host", service);
        return -1;
    }
    if (count < 1 || count > MASTER_PROC_MAX_SLOTS) {
        snprintf(err, errlen, "count must be 1-%d", MASTER_PROC_MAX_SLOTS);
        return -1;
    }
    if (access(svc->path, X_OK) < 0) {
        snprintf(err, errlen, "%s is not an executable (%s)", svc->path, strerror(errno));
        return -1;
    }
    int n = (int)count;
    int old = svc->count;
    svc->count = n;
    for (int i = 0; i < n; i++) {
        s_slot_t *s = &svc->slots[i];
        if (!s->used)
            s_slot_wanted(s, now);
        else if (s->stop == S_STOP_REMOVE)
            s->stop = S_STOP_REPLACE; /* scaled back up while it was stopping */
    }
    for (int i = MASTER_PROC_MAX_SLOTS - 1; i >= n; i--) {
        s_slot_t *s = &svc->slots[i];
        if (!s->used)
            continue;
        s->roll = 0;
        if (s->pid > 0) {
            if (s->stop != S_STOP_REMOVE)
                s_stop(svc, i, S_STOP_REMOVE, now);
        } else {
            s->used = 0;
        }
    }
    pgs_info("scaling %s from %d to %d process%s", svc->name, old, n, n == 1 ? "" : "es");
    return 0;
}
