/* h5lock.c - one writer per output file: an exclusive flock on <output>.lock,
 * held by rank 0 of `run`, `run --resume` and `reduce` for as long as they
 * write. The lock file says who holds it (host, pid, start time), so a
 * second writer is refused with a message that names the holder. Readers
 * (h5py, xarray) never look at it. The kernel drops the lock when its holder
 * dies, even by SIGKILL, so a killed run never blocks its --resume. The
 * descriptor is close-on-exec: nothing the process starts inherits it. */
#define _DEFAULT_SOURCE /* flock, gethostname */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "attnsweep/h5out.h"

as_status as_h5_lock_acquire(struct as_h5_lock *l, const char *output, struct as_err *err) {
    memset(l, 0, sizeof *l);
    l->fd = -1;
    if (snprintf(l->path, sizeof l->path, "%s.lock", output) >= (int)sizeof l->path)
        return as_err_set(err, AS_ERR_INVALID, "%s: path too long for its lock file", output);
    int fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return as_err_set(err, AS_ERR_IO,
                          "%s: cannot create the lock file %s: %s. HINT: the output's folder must "
                          "be writable",
                          output, l->path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char who[256] = "";
        ssize_t n = pread(fd, who, sizeof who - 1, 0);
        who[n > 0 ? n : 0] = '\0';
        who[strcspn(who, "\n")] = '\0';
        close(fd);
        if (e == EWOULDBLOCK)
            return as_err_set(err, AS_ERR_EXISTS,
                              "%s is being written by another attnsweep process (%s); one writer "
                              "at a time. HINT: wait for it to finish, or stop it (its --resume "
                              "continues where it stopped)",
                              output, who[0] ? who : "holder unknown");
        return as_err_set(err, AS_ERR_IO, "%s: cannot lock %s: %s", output, l->path, strerror(e));
    }
    char host[128] = "?", line[256];
    gethostname(host, sizeof host - 1);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int k = snprintf(line, sizeof line, "host %s, pid %ld, since %s\n", host, (long)getpid(), when);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)k, 0) != k) {
        /* the lock is held; only the note about the holder is missing */
    }
    l->fd = fd;
    return AS_OK;
}

void as_h5_lock_release(struct as_h5_lock *l) {
    if (l->fd >= 0) {
        if (ftruncate(l->fd, 0) != 0) { /* stale text would name a finished process */
        }
        flock(l->fd, LOCK_UN);
        close(l->fd);
    }
    l->fd = -1;
}
