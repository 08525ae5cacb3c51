/*
 * master_spawn — see master_spawn.h. fork + exec rather than posix_spawn
 * because the child needs PR_SET_PDEATHSIG, which posix_spawn cannot set.
 */
#include "master_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

int
master_spawn_mkdirs(const char *dir)
{
    char buf[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, dir, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Writes s to fd; only async-signal-safe calls (used in the child). */
static void
s_write_str(int fd, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    ssize_t w = write(fd, s, n);
    (void)w;
}

/* The child's half: everything here must be async-signal-safe, because the
 * parent has threads (ZeroMQ's) whose locks may be held at fork time. */
static void
s_child(const char *path, char *const argv[], pid_t parent, int nullfd, int logfd)
{
    /* If the supervisor dies, however it dies, its children are told to
     * stop rather than left running unsupervised. The getppid check closes
     * the race where it died before the prctl. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1);
    if (dup2(nullfd, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0)
        _exit(126);
    close_range(3, ~0u, 0);
    /* The supervisor changes no signal disposition, so what the child
     * inherits is what whoever started the supervisor chose (a shell makes
     * SIGINT ignored for background jobs: then Ctrl-C reaches the script,
     * which stops the supervisor, which stops the children in order). Only
     * the mask, blocked for the signalfd, is the supervisor's own. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(path, argv);
    s_write_str(STDERR_FILENO, "pegasus-master: cannot execute ");
    s_write_str(STDERR_FILENO, path);
    s_write_str(STDERR_FILENO, "\n");
    _exit(127);
}

pid_t
master_spawn_start(const char *path, char *const argv[], const char *log_path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", log_path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (master_spawn_mkdirs(dir) < 0)
            return -1;
    }
    int logfd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (logfd < 0)
        return -1;
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) {
        int e = errno;
        close(logfd);
        errno = e;
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        s_child(path, argv, parent, nullfd, logfd);
    int e = errno;
    close(nullfd);
    close(logfd);
    errno = e;
    return pid;
}
