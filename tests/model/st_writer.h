/* st_writer.h - writes (possibly deliberately broken) safetensors files for tests.
 *
 * Tensors are laid out in insertion order; their data_offsets are computed
 * unless a test overrides them. Knobs for corruption: override data_offsets,
 * lie about the header length, append trailing bytes, misalign the data
 * section, drop a tensor, write a dtype string as-is. */
#ifndef ATTNSWEEP_TEST_ST_WRITER_H
#define ATTNSWEEP_TEST_ST_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct stw_tensor {
    char name[128];
    char dtype[16]; /* written verbatim, e.g. "F32", "I8", "Q7" */
    int ndim;
    int64_t shape[4];
    unsigned char *data; /* (nbytes) owned; NULL: a hole of nbytes (sparse file) */
    size_t nbytes;
    int skip;             /* leave out of header and data */
    int override_offsets; /* write [begin, end] instead of the computed offsets */
    int64_t begin, end;
};

struct stw_file {
    struct stw_tensor *t; /* [n] */
    int n, cap;
    int64_t header_len_delta; /* added to the 8-byte length field (the header bytes stay) */
    size_t trailing_bytes;    /* zero bytes appended after the data */
    int misalign;             /* pad the header so that 8 + N is 2 mod 4 (F32 then needs a copy) */
};

void stw_init(struct stw_file *f);
void stw_free(struct stw_file *f);
/* Adds a tensor with a copy of nbytes of data; returns it (NULL on failure). */
struct stw_tensor *stw_add(struct stw_file *f, const char *name, const char *dtype, int ndim,
                           const int64_t *shape, const void *data, size_t nbytes);
/* Adds a tensor whose nbytes of data are left as a hole in a sparse file, so that a
 * full-size (e.g. TinyLlama) layout costs no disk space or memory. */
struct stw_tensor *stw_add_sparse(struct stw_file *f, const char *name, const char *dtype, int ndim,
                                  const int64_t *shape, size_t nbytes);
struct stw_tensor *stw_find(struct stw_file *f, const char *name);
/* Writes the file; returns 0 on success. */
int stw_write(const struct stw_file *f, const char *path);

#endif
