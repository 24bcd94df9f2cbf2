/* gen_journal.c - the generation journal (docs/SWEEP.md "Generation", docs/FORMAT.md
 * "Generation journal"): while a sweep generates, before the output file exists, every rank
 * appends the ids of each decode group it finished to its own journal
 * <output>.gen-<run>-r<rank>, durable (fdatasync) before the next group. A run killed, stopped
 * or out of time during generation therefore loses at most one decode group per rank: the next
 * run reads every journal of the output whose key matches its job and generates only the rest.
 * Rank 0 removes the journals once the file is created (the file then holds the generated ids).
 *
 * On disk: "ASGENJ1\n", the job key (uint64 LE), then records: n (uint32), n int32 words,
 * FNV-1a 32 of those n words' bytes (uint32). Reading stops at the first short or bad record
 * (a torn tail after a kill); a journal with another key (another sweep, model or tokenizer)
 * is ignored. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attnsweep/fileio.h"
#include "run_internal.h"

static const char MAGIC[8] = {'A', 'S', 'G', 'E', 'N', 'J', '1', '\n'};
#define JOURNAL_MAX_WORDS (1u << 28) /* a record of more words is corrupt */

static uint32_t fnv32(const void *p, size_t n) {
    const unsigned char *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

uint64_t as_gen_journal_hash(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    if (h == 0) h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* dir and base name prefix "<base>.gen-" of the output's journals */
static as_status split(const char *out, char *dir, size_t dcap, char *pre, size_t pcap,
                       struct as_err *err) {
    const char *slash = strrchr(out, '/');
    const char *base = slash ? slash + 1 : out;
    int nd =
        slash ? snprintf(dir, dcap, "%.*s", (int)(slash - out), out) : snprintf(dir, dcap, ".");
    if (slash && slash == out) nd = snprintf(dir, dcap, "/");
    int np = snprintf(pre, pcap, "%s.gen-", base);
    if (nd < 0 || (size_t)nd >= dcap || np < 0 || (size_t)np >= pcap)
        return as_err_set(err, AS_ERR_INVALID, "%s: output path too long for its journal", out);
    return AS_OK;
}

static as_status write_all(int fd, const void *p, size_t n, const char *path, struct as_err *err) {
    const char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0)
            return as_err_set(err, AS_ERR_IO, "%s: cannot write the generation journal: %s%s", path,
                              strerror(errno),
                              errno == ENOSPC ? " (HINT: free space, then rerun with --resume)"
                                              : "");
        b += w, n -= (size_t)w;
    }
    return AS_OK;
}

as_status as_gen_journal_create(struct as_gen_journal *jn, const char *out, uint64_t run, int rank,
                                uint64_t key, struct as_err *err) {
    memset(jn, 0, sizeof *jn);
    jn->fd = -1;
    int k = snprintf(jn->path, sizeof jn->path, "%s.gen-%016llx-r%d", out, (unsigned long long)run,
                     rank);
    if (k < 0 || (size_t)k >= sizeof jn->path)
        return as_err_set(err, AS_ERR_INVALID, "%s: output path too long for its journal", out);
    jn->fd = open(jn->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (jn->fd < 0)
        return as_err_set(err, AS_ERR_IO, "%s: cannot create the generation journal: %s", jn->path,
                          strerror(errno));
    unsigned char hdr[16];
    memcpy(hdr, MAGIC, 8);
    for (int i = 0; i < 8; i++)
        hdr[8 + i] = (unsigned char)(key >> (8 * i));
    return write_all(jn->fd, hdr, sizeof hdr, jn->path, err);
}

as_status as_gen_journal_append(struct as_gen_journal *jn, const int32_t *w, size_t n,
                                struct as_err *err) {
    if (jn->fd < 0 || n == 0) return AS_OK;
    if (n > JOURNAL_MAX_WORDS)
        return as_err_set(err, AS_ERR_INVALID, "%s: a journal record of %zu words is too large",
                          jn->path, n);
    uint32_t len = (uint32_t)n, sum = fnv32(w, n * sizeof *w);
    as_status st = write_all(jn->fd, &len, sizeof len, jn->path, err);
    if (st == AS_OK) st = write_all(jn->fd, w, n * sizeof *w, jn->path, err);
    if (st == AS_OK) st = write_all(jn->fd, &sum, sizeof sum, jn->path, err);
    if (st != AS_OK) return st;
    if (fdatasync(jn->fd) != 0)
        return as_err_set(err, AS_ERR_IO, "%s: cannot sync the generation journal: %s", jn->path,
                          strerror(errno));
    return AS_OK;
}

void as_gen_journal_close(struct as_gen_journal *jn) {
    if (jn->fd >= 0) close(jn->fd);
    jn->fd = -1;
}

/* appends the valid records of one journal to *w (words back to back) */
static as_status load_one(const char *path, uint64_t key, int32_t **w, size_t *n, size_t *cap,
                          int *used, struct as_err *err) {
    struct as_mapped_file mf;
    struct as_err ignore;
    if (as_file_map(&mf, path, &ignore) != AS_OK) return AS_OK; /* vanished: nothing to reuse */
    as_status ret = AS_OK;
    struct as_cursor c;
    as_cursor_init(&c, mf.data, mf.size, path);
    const void *hdr;
    uint64_t k;
    if (as_cursor_take(&c, 8, &hdr, "magic", &ignore) != AS_OK || memcmp(hdr, MAGIC, 8) != 0 ||
        as_cursor_u64(&c, &k, "key", &ignore) != AS_OK || k != key)
        goto done; /* not a journal of this job */
    *used = 1;
    for (;;) {
        uint32_t len, sum;
        const void *p;
        if (as_cursor_u32(&c, &len, "length", &ignore) != AS_OK || len == 0 ||
            len > JOURNAL_MAX_WORDS || as_cursor_left(&c) < (size_t)len * 4 + 4)
            break;
        as_cursor_take(&c, (size_t)len * 4, &p, "record", &ignore);
        as_cursor_u32(&c, &sum, "checksum", &ignore);
        if (sum != fnv32(p, (size_t)len * 4)) break; /* a torn or corrupt tail */
        if (*n + len > *cap) {
            size_t nc = (*cap ? *cap * 2 : 4096);
            while (nc < *n + len)
                nc *= 2;
            int32_t *np = realloc(*w, nc * sizeof *np);
            if (!np) {
                ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory reading the journal", path);
                goto done;
            }
            *w = np, *cap = nc;
        }
        memcpy(*w + *n, p, (size_t)len * 4);
        *n += len;
    }
done:
    as_file_unmap(&mf);
    return ret;
}

as_status as_gen_journal_load(const char *out, uint64_t key, int32_t **words, size_t *n_words,
                              int *n_files, struct as_err *err) {
    char dir[4096], pre[1024], path[8192];
    *words = NULL, *n_words = 0, *n_files = 0;
    as_status ret = split(out, dir, sizeof dir, pre, sizeof pre, err);
    if (ret != AS_OK) return ret;
    DIR *d = opendir(dir);
    if (!d) return AS_OK; /* the folder is checked (and named) by the file's creation */
    size_t cap = 0;
    struct dirent *e;
    while (ret == AS_OK && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, pre, strlen(pre)) != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int used = 0;
        ret = load_one(path, key, words, n_words, &cap, &used, err);
        *n_files += used;
    }
    closedir(d);
    if (ret != AS_OK) free(*words), *words = NULL, *n_words = 0;
    return ret;
}

void as_gen_journal_remove(const char *out) {
    char dir[4096], pre[1024], path[8192];
    struct as_err ignore;
    if (split(out, dir, sizeof dir, pre, sizeof pre, &ignore) != AS_OK) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, pre, strlen(pre)) != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}
