/*
 * pegasus-master — the supervisor (Postfix's master(8) is the model).
 *
 *   pegasus-master [-c CONFIG] [-n]
 *
 * Starts, for every [service.<name>] section of the config with processes
 * >= 1, that many processes of pegasus-<name> from the directory holding
 * this executable (argv: -c CONFIG -i INSTANCE; environment inherited;
 * stdout and stderr appended to $PEGASUS_HOME/log/<name>.log), restarts any
 * that exits (with back-off for those that die soon after starting), and
 * answers pegasusctl on ipc://$PEGASUS_HOME/master.sock. -n checks the
 * config and the executables, then exits. SIGTERM or SIGINT: the edge gets
 * SIGTERM first and finishes the requests it took while the workers still
 * serve them; once it has exited every worker gets SIGTERM and finishes
 * what it holds; a process still running 10 s after its SIGTERM gets
 * SIGKILL. All are reaped, the socket is removed, exit 0 (a second signal,
 * a second later, kills them at once). Redis is not ours: scripts/run.sh
 * stops it after us, so the edge's last usage events reach it.
 *
 * The master holds no database and no Redis connection. Its ZeroMQ context
 * never reaches a child: children are forked and exec'd at once
 * (master_spawn). Signals arrive through a signalfd polled next to the
 * control socket, so the loop never blocks and never runs code in a
 * signal handler.
 */
#include "master_ctl.h"
#include "master_proc.h"
#include "master_spawn.h"
#include "pgs_conf.h"
#include "pgs_log.h"
#include "pgs_time.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_POLL_MS 100

typedef struct {
    master_proc_t *procs;
    const pgs_config_t *cfg;
    int edge_pass; /* 1: declare only the edge; 0: everything else */
    int failed;
    char err[512];
} s_load_t;

static int
s_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-c CONFIG] [-n]\n", argv0);
    return 2;
}

static void
s_add_service(const char *section, const char *suffix, void *arg)
{
    s_load_t *ld = arg;
    if (ld->failed)
        return;
    int is_edge = strcmp(suffix, "edge") == 0;
    if (is_edge != ld->edge_pass)
        return;
    (void)section;
    /* pgs_conf_check has refused a count out of range ([service.edge]
     * processes: auto, one per CPU, or 1..16). */
    long long count = pgs_conf_int_in(ld->cfg, PGS_KEY_SERVICE_PROCESSES, suffix);
    if (master_proc_add(ld->procs, suffix, (int)count, !is_edge, ld->err, sizeof ld->err) < 0 ||
        master_proc_wrap(ld->procs, suffix, pgs_conf_str_in(ld->cfg, PGS_KEY_SERVICE_WRAPPER, suffix),
                         ld->err, sizeof ld->err) < 0)
        ld->failed = 1;
}

/* Declares the services in config order, the edge first (workers connect
 * to it, so it should be up before them). */
static int
s_load_services(master_proc_t *procs, const pgs_config_t *cfg, char *err, size_t errlen)
{
    s_load_t ld = {.procs = procs, .cfg = cfg, .edge_pass = 1};
    pgs_config_each_section(cfg, "service.", s_add_service, &ld);
    ld.edge_pass = 0;
    pgs_config_each_section(cfg, "service.", s_add_service, &ld);
    if (ld.failed) {
        snprintf(err, errlen, "%s", ld.err);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *config_arg = NULL;
    int check_only = 0;
    int opt;
    while ((opt = getopt(argc, argv, "c:n")) != -1) {
        switch (opt) {
        case 'c':
            config_arg = optarg;
            break;
        case 'n':
            check_only = 1;
            break;
        default:
            return s_usage(argv[0]);
        }
    }
    if (optind != argc)
        return s_usage(argv[0]);
    config_arg = pgs_conf_path(config_arg);
    pgs_log_init("master", "0");

    char config_path[PATH_MAX];
    if (!realpath(config_arg, config_path)) {
        pgs_error("config %s: %s", config_arg, strerror(errno));
        return 1;
    }
    char err[512];
    /* The whole file is checked, as every binary does (one verdict). */
    pgs_config_t *cfg = pgs_conf_open(config_path);
    if (!cfg)
        return 1;

    /* Children come from the directory holding this executable. */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        pgs_error("readlink /proc/self/exe: %s", strerror(errno));
        pgs_config_destroy(&cfg);
        return 1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';

    /* One absolute PEGASUS_HOME for us and, through the environment, for
     * every child, whatever directory it ends up in. */
    const char *home_env = getenv("PEGASUS_HOME");
    const char *home_arg = home_env && *home_env ? home_env : "./var";
    if (!check_only && master_spawn_mkdirs(home_arg) < 0) {
        pgs_error("PEGASUS_HOME %s: %s", home_arg, strerror(errno));
        pgs_config_destroy(&cfg);
        return 1;
    }
    char home[PATH_MAX];
    if (!realpath(home_arg, home))
        snprintf(home, sizeof home, "%s", home_arg);

    master_proc_t *procs = master_proc_new(self, config_path, home);
    if (!procs || s_load_services(procs, cfg, err, sizeof err) < 0) {
        pgs_error("config %s: %s", config_path, procs ? err : "out of memory");
        master_proc_destroy(&procs);
        pgs_config_destroy(&cfg);
        return 1;
    }
    master_proc_stop_first(procs, "edge");

    char endpoint[PATH_MAX + 32];
    char sock_path[PATH_MAX + 16];
    snprintf(sock_path, sizeof sock_path, "%s/master.sock", home);
    snprintf(endpoint, sizeof endpoint, "ipc://%s", sock_path);
    if (strlen(sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        pgs_error("PEGASUS_HOME %s is too long for a unix socket path", home);
        master_proc_destroy(&procs);
        pgs_config_destroy(&cfg);
        return 1;
    }
    if (check_only) {
        pgs_info("config %s is valid", config_path);
        master_proc_destroy(&procs);
        pgs_config_destroy(&cfg);
        return 0;
    }
    /* Before ZeroMQ's threads and the children exist: all inherit it. */
    if (strcmp(pgs_conf_str(cfg, PGS_KEY_MASTER_SCHEDULER), "batch") == 0) {
        struct sched_param sp = {.sched_priority = 0};
        if (sched_setscheduler(0, SCHED_BATCH, &sp) < 0)
            pgs_warn("cannot set SCHED_BATCH: %s (the default policy stays)", strerror(errno));
    }
    pgs_config_destroy(&cfg);
    if (setenv("PEGASUS_HOME", home, 1) < 0 || setenv("PEGASUS_CONFIG", config_path, 1) < 0) {
        pgs_error("setenv: %s", strerror(errno));
        master_proc_destroy(&procs);
        return 1;
    }
    char logdir[PATH_MAX + 8];
    snprintf(logdir, sizeof logdir, "%s/log", home);
    if (master_spawn_mkdirs(logdir) < 0)
        pgs_warn("cannot create %s: %s", logdir, strerror(errno));

    /* Block the signals before ZeroMQ starts its threads, so that they
     * inherit the mask and every signal reaches the signalfd. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGPIPE);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        pgs_error("signalfd: %s", strerror(errno));
        master_proc_destroy(&procs);
        return 1;
    }

    void *zctx = zmq_ctx_new();
    void *ctl = zctx ? master_ctl_bind(zctx, endpoint, err, sizeof err) : NULL;
    if (!ctl) {
        pgs_error("%s", zctx ? err : "zmq_ctx_new failed");
        if (zctx)
            zmq_ctx_term(zctx);
        close(sfd);
        master_proc_destroy(&procs);
        return 1;
    }
    pgs_info("supervising from %s; control at %s", self, endpoint);

    master_proc_tick(procs, pgs_time_mono_ms());
    zmq_pollitem_t items[2] = {{ctl, 0, ZMQ_POLLIN, 0}, {NULL, sfd, ZMQ_POLLIN, 0}};
    int64_t first_stop_ms = 0;
    while (!master_proc_done(procs)) {
        if (zmq_poll(items, 2, S_POLL_MS) < 0 && zmq_errno() != EINTR) {
            /* Cannot happen with valid items; if it does, stop in order
             * rather than leave the children unsupervised. */
            pgs_error("zmq_poll: %s; stopping", zmq_strerror(zmq_errno()));
            if (!first_stop_ms)
                first_stop_ms = pgs_time_mono_ms();
            master_proc_shutdown(procs, pgs_time_mono_ms(), 0);
            struct timespec ts = {0, S_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        /* Read every pending signal before acting, so a child that stopped
         * on the same Ctrl-C as we did is not restarted. */
        int got_stop = 0;
        struct signalfd_siginfo si;
        while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
            if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
                got_stop++;
            else if (si.ssi_signo == SIGHUP)
                pgs_info("SIGHUP ignored (restart a service with pegasusctl restart)");
        }
        int64_t now = pgs_time_mono_ms();
        if (got_stop) {
            /* A second request to stop, a second or more after the first,
             * means "now": the children are killed. Signals of one burst
             * (a terminal's SIGINT and a script's SIGTERM) count once. */
            int force = first_stop_ms && now - first_stop_ms >= 1000;
            if (!first_stop_ms) {
                first_stop_ms = now;
                pgs_info("stopping: %d process%s, the edge first", master_proc_live(procs),
                         master_proc_live(procs) == 1 ? "" : "es");
            } else if (force) {
                pgs_warn("stop signal repeated: killing %d process%s", master_proc_live(procs),
                         master_proc_live(procs) == 1 ? "" : "es");
            }
            master_proc_shutdown(procs, now, force);
        }
        /* SIGCHLD only wakes us: reaping (WNOHANG) is cheap, done every pass. */
        master_proc_reap(procs, now);
        master_ctl_serve(ctl, procs, now);
        master_proc_tick(procs, now);
    }

    zmq_close(ctl);
    zmq_ctx_term(zctx);
    unlink(sock_path);
    close(sfd);
    master_proc_destroy(&procs);
    pgs_info("stopped");
    return 0;
}
