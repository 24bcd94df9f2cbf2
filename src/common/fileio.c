/* fileio.c - read-only mappings and bounds-checked cursors (see attnsweep/fileio.h). */
#define _POSIX_C_SOURCE 200809L
#include "attnsweep/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

as_status as_file_map(struct as_mapped_file *f, const char *path, struct as_err *err) {
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return as_err_set(err, AS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return as_err_set(err, AS_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return as_err_set(err, AS_ERR_IO, "%s: not a regular file", path);
    }
    f->size = (size_t)st.st_size;
    if (f->size > 0) {
        void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return as_err_set(err, AS_ERR_IO, "%s: cannot mmap %zu bytes: %s", path, f->size,
                              strerror(e));
        }
        f->data = p;
    }
    close(fd);
    return AS_OK;
}

void as_file_unmap(struct as_mapped_file *f) {
    if (f->data && f->size) munmap((void *)f->data, f->size);
    f->data = NULL;
    f->size = 0;
}

as_status as_file_read_all(const char *path, char **out, size_t *len, struct as_err *err) {
    as_status ret = AS_OK;
    char *buf = NULL;
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return as_err_set(err, AS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0) {
        ret = as_err_set(err, AS_ERR_IO, "%s: cannot seek", path);
        goto done;
    }
    long sz = ftell(fp);
    if (sz < 0) {
        ret = as_err_set(err, AS_ERR_IO, "%s: cannot determine size", path);
        goto done;
    }
    rewind(fp);
    buf = malloc((size_t)sz + 1);
    if (!buf) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate %ld bytes", path, sz);
        goto done;
    }
    if (fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
        ret = as_err_set(err, AS_ERR_IO, "%s: short read", path);
        goto done;
    }
    buf[sz] = '\0';
    if (len) *len = (size_t)sz;
    *out = buf;
    buf = NULL;
done:
    free(buf);
    fclose(fp);
    return ret;
}

int as_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int as_dir_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

as_status as_path_join(char *out, size_t cap, const char *dir, const char *name,
                       struct as_err *err) {
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] != '/';
    int n = snprintf(out, cap, "%s%s%s", dir, slash ? "/" : "", name);
    if (n < 0 || (size_t)n >= cap)
        return as_err_set(err, AS_ERR_INVALID, "path too long: %s/%s", dir, name);
    return AS_OK;
}

void as_cursor_init(struct as_cursor *c, const void *p, size_t n, const char *what) {
    c->p = p;
    c->n = n;
    c->off = 0;
    c->what = what ? what : "input";
}

size_t as_cursor_left(const struct as_cursor *c) {
    return c->n - c->off;
}

as_status as_cursor_take(struct as_cursor *c, size_t len, const void **out, const char *field,
                         struct as_err *err) {
    if (len > c->n - c->off)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: truncated at byte %zu while reading %s: need %zu bytes, %zu left",
                          c->what, c->off, field, len, c->n - c->off);
    *out = c->p + c->off;
    c->off += len;
    return AS_OK;
}

#define AS_CURSOR_SCALAR(fn, T)                                                                    \
    as_status fn(struct as_cursor *c, T *v, const char *field, struct as_err *err) {               \
        const void *p = NULL;                                                                      \
        as_status s = as_cursor_take(c, sizeof(T), &p, field, err);                                \
        if (s == AS_OK) memcpy(v, p, sizeof(T));                                                   \
        return s;                                                                                  \
    }
AS_CURSOR_SCALAR(as_cursor_u32, uint32_t)
AS_CURSOR_SCALAR(as_cursor_i32, int32_t)
AS_CURSOR_SCALAR(as_cursor_u64, uint64_t)
AS_CURSOR_SCALAR(as_cursor_f32, float)

int as_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
