/* st_writer.c - see st_writer.h. The JSON header is built with jansson. */
#define _POSIX_C_SOURCE 200809L /* fileno, ftruncate, fseeko */
#include "st_writer.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

void stw_init(struct stw_file *f) {
    memset(f, 0, sizeof *f);
}

void stw_free(struct stw_file *f) {
    for (int i = 0; i < f->n; i++)
        free(f->t[i].data);
    free(f->t);
    memset(f, 0, sizeof *f);
}

struct stw_tensor *stw_add(struct stw_file *f, const char *name, const char *dtype, int ndim,
                           const int64_t *shape, const void *data, size_t nbytes) {
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 16;
        struct stw_tensor *t = realloc(f->t, (size_t)cap * sizeof *t);
        if (!t) return NULL;
        f->t = t;
        f->cap = cap;
    }
    struct stw_tensor *t = &f->t[f->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->dtype, sizeof t->dtype, "%s", dtype);
    t->ndim = ndim;
    for (int d = 0; d < ndim && d < 4; d++)
        t->shape[d] = shape[d];
    t->data = malloc(nbytes ? nbytes : 1);
    if (!t->data) return NULL;
    if (nbytes) memcpy(t->data, data, nbytes);
    t->nbytes = nbytes;
    f->n++;
    return t;
}

struct stw_tensor *stw_add_sparse(struct stw_file *f, const char *name, const char *dtype, int ndim,
                                  const int64_t *shape, size_t nbytes) {
    struct stw_tensor *t = stw_add(f, name, dtype, ndim, shape, NULL, 0);
    if (!t) return NULL;
    free(t->data);
    t->data = NULL;
    t->nbytes = nbytes;
    return t;
}

struct stw_tensor *stw_find(struct stw_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

int stw_write(const struct stw_file *f, const char *path) {
    int rc = -1;
    char *hdr = NULL;
    FILE *fp = NULL;
    json_t *root = json_object();
    json_t *meta = json_object();
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(root, "__metadata__", meta); /* as HF writes it; loaders must ignore it */
    int64_t pos = 0;
    for (int i = 0; i < f->n; i++) {
        const struct stw_tensor *t = &f->t[i];
        if (t->skip) continue;
        json_t *e = json_object(), *shape = json_array(), *off = json_array();
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer(t->shape[d]));
        int64_t b = t->override_offsets ? t->begin : pos;
        int64_t en = t->override_offsets ? t->end : pos + (int64_t)t->nbytes;
        json_array_append_new(off, json_integer(b));
        json_array_append_new(off, json_integer(en));
        json_object_set_new(e, "dtype", json_string(t->dtype));
        json_object_set_new(e, "shape", shape);
        json_object_set_new(e, "data_offsets", off);
        /* json_object_set_new would replace a duplicate name; a test that wants a
         * duplicate key gets it through the textual header below instead */
        json_object_set_new(root, t->name, e);
        pos += (int64_t)t->nbytes;
    }
    hdr = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!hdr) goto out;
    size_t n = strlen(hdr);
    /* pad with spaces, as the reference writer does: to 8 bytes, or to 2 mod 4 when misaligned */
    size_t pad = (8 - n % 8) % 8;
    if (f->misalign) pad = (4 + 2 - (8 + n) % 4) % 4;
    uint64_t len = (uint64_t)(n + pad) + (uint64_t)f->header_len_delta;
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(len >> (8 * i));
    fp = fopen(path, "wb");
    if (!fp) goto out;
    if (fwrite(le, 1, 8, fp) != 8 || fwrite(hdr, 1, n, fp) != n) goto out;
    for (size_t i = 0; i < pad; i++)
        if (fputc(' ', fp) == EOF) goto out;
    for (int i = 0; i < f->n; i++) {
        const struct stw_tensor *t = &f->t[i];
        if (t->skip || !t->nbytes) continue;
        if (!t->data) { /* leave a hole */
            if (fseeko(fp, (off_t)t->nbytes, SEEK_CUR) != 0) goto out;
        } else if (fwrite(t->data, 1, t->nbytes, fp) != t->nbytes) {
            goto out;
        }
    }
    for (size_t i = 0; i < f->trailing_bytes; i++)
        if (fputc(0, fp) == EOF) goto out;
    /* a trailing hole is only materialised by setting the size */
    off_t end = ftello(fp);
    if (end < 0 || fflush(fp) != 0 || ftruncate(fileno(fp), end) != 0) goto out;
    rc = 0;
out:
    if (fp && fclose(fp) != 0) rc = -1;
    free(hdr);
    json_decref(root);
    return rc;
}
