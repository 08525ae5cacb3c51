/*
 * pgs_space — see pgs_space.h.
 *
 * The VFS is SQLite's documented shim pattern: our sqlite3_file is followed
 * in memory by the real VFS's file (szOsFile is the sum), xOpen opens the
 * real one there, and every io method forwards to it. Only xOpen differs at
 * the VFS level; the other VFS methods are the real VFS's own (the unix VFS
 * does not look at its sqlite3_vfs argument beyond mxPathname, which is
 * copied).
 */
#include "pgs_space.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* right after this struct */
} s_file_t;

static sqlite3_vfs *s_real;
static sqlite3_vfs s_vfs;
static sqlite3_io_methods s_io[4]; /* by the real file's iVersion (1-3) */
static uint64_t s_refusals;

int
pgs_space_note(int err)
{
    if (err != ENOSPC && err != EDQUOT)
        return 0;
    s_refusals++;
    return 1;
}

uint64_t
pgs_space_refusals(void)
{
    return s_refusals;
}

/* A write-side result: counted when it says the disk is full. */
static int
s_check(int rc)
{
    if (rc == SQLITE_FULL)
        s_refusals++;
    else if ((rc & 0xff) == SQLITE_IOERR)
        pgs_space_note(errno);
    return rc;
}

#define S_REAL(f) (((s_file_t *)(void *)(f))->real)

static int
s_close(sqlite3_file *f)
{
    return S_REAL(f)->pMethods->xClose(S_REAL(f));
}

static int
s_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return S_REAL(f)->pMethods->xRead(S_REAL(f), buf, n, off);
}

static int
s_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    return s_check(S_REAL(f)->pMethods->xWrite(S_REAL(f), buf, n, off));
}

static int
s_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return s_check(S_REAL(f)->pMethods->xTruncate(S_REAL(f), size));
}

static int
s_sync(sqlite3_file *f, int flags)
{
    return s_check(S_REAL(f)->pMethods->xSync(S_REAL(f), flags));
}

static int
s_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return S_REAL(f)->pMethods->xFileSize(S_REAL(f), size);
}

static int
s_lock(sqlite3_file *f, int level)
{
    return S_REAL(f)->pMethods->xLock(S_REAL(f), level);
}

static int
s_unlock(sqlite3_file *f, int level)
{
    return S_REAL(f)->pMethods->xUnlock(S_REAL(f), level);
}

static int
s_check_reserved(sqlite3_file *f, int *out)
{
    return S_REAL(f)->pMethods->xCheckReservedLock(S_REAL(f), out);
}

static int
s_file_control(sqlite3_file *f, int op, void *arg)
{
    return s_check(S_REAL(f)->pMethods->xFileControl(S_REAL(f), op, arg));
}

static int
s_sector_size(sqlite3_file *f)
{
    return S_REAL(f)->pMethods->xSectorSize(S_REAL(f));
}

static int
s_device(sqlite3_file *f)
{
    return S_REAL(f)->pMethods->xDeviceCharacteristics(S_REAL(f));
}

static int
s_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **p)
{
    return s_check(S_REAL(f)->pMethods->xShmMap(S_REAL(f), region, size, extend, p));
}

static int
s_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return S_REAL(f)->pMethods->xShmLock(S_REAL(f), off, n, flags);
}

static void
s_shm_barrier(sqlite3_file *f)
{
    S_REAL(f)->pMethods->xShmBarrier(S_REAL(f));
}

static int
s_shm_unmap(sqlite3_file *f, int del)
{
    return S_REAL(f)->pMethods->xShmUnmap(S_REAL(f), del);
}

static int
s_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
    return S_REAL(f)->pMethods->xFetch(S_REAL(f), off, n, p);
}

static int
s_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return S_REAL(f)->pMethods->xUnfetch(S_REAL(f), off, p);
}

static int
s_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    (void)vfs;
    s_file_t *sf = (s_file_t *)(void *)f;
    sf->real = (sqlite3_file *)(void *)(sf + 1);
    int rc = s_real->xOpen(s_real, name, sf->real, flags, out_flags);
    /* The methods are ours only when the real file is open (SQLite calls
     * xClose exactly when pMethods is set). */
    const sqlite3_io_methods *m = sf->real->pMethods;
    f->pMethods = m ? &s_io[m->iVersion >= 3 ? 3 : m->iVersion < 1 ? 1 : m->iVersion] : NULL;
    return s_check(rc);
}

int
pgs_space_install(void)
{
    if (s_real)
        return 0;
    sqlite3_vfs *real = sqlite3_vfs_find(NULL);
    if (!real || real->iVersion < 1)
        return -1;
    s_io[3] = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = s_close,
        .xRead = s_read,
        .xWrite = s_write,
        .xTruncate = s_truncate,
        .xSync = s_sync,
        .xFileSize = s_file_size,
        .xLock = s_lock,
        .xUnlock = s_unlock,
        .xCheckReservedLock = s_check_reserved,
        .xFileControl = s_file_control,
        .xSectorSize = s_sector_size,
        .xDeviceCharacteristics = s_device,
        .xShmMap = s_shm_map,
        .xShmLock = s_shm_lock,
        .xShmBarrier = s_shm_barrier,
        .xShmUnmap = s_shm_unmap,
        .xFetch = s_fetch,
        .xUnfetch = s_unfetch,
    };
    /* A file whose methods are of an older version gets ours of the same
     * version: SQLite then never calls what the real one lacks. */
    for (int v = 1; v < 3; v++) {
        s_io[v] = s_io[3];
        s_io[v].iVersion = v;
    }
    memcpy(&s_vfs, real, sizeof s_vfs);
    s_vfs.szOsFile = (int)sizeof(s_file_t) + real->szOsFile;
    s_vfs.zName = "pgs-space";
    s_vfs.pNext = NULL;
    s_vfs.xOpen = s_open;
    s_real = real;
    if (sqlite3_vfs_register(&s_vfs, 1) != SQLITE_OK) {
        s_real = NULL;
        return -1;
    }
    return 0;
}
