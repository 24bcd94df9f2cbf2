/* fileio.h - read-only file mapping and bounds-checked byte cursors.
 *
 * Every binary format attnsweep reads (safetensors, llama2.c .bin, tokenizer.bin,
 * GGUF, .npy) goes through as_mapped_file + as_cursor, so that no parser can
 * read past the end of its input: each take/read checks the remaining length
 * first and reports a format error naming the file and the field instead. */
#ifndef ATTNSWEEP_FILEIO_H
#define ATTNSWEEP_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct as_mapped_file {
    const uint8_t *data; /* (size) read-only mapping, or NULL for an empty file */
    size_t size;
    char path[4096];
};

/* Maps path read-only (PROT_READ, MAP_PRIVATE). Missing/unreadable files give AS_ERR_IO. */
as_status as_file_map(struct as_mapped_file *f, const char *path, struct as_err *err);
void as_file_unmap(struct as_mapped_file *f);

/* Reads a whole (text) file into a NUL-terminated malloc'd buffer. */
as_status as_file_read_all(const char *path, char **out, size_t *len, struct as_err *err);

int as_file_exists(const char *path);
int as_dir_exists(const char *path);

/* path_join(dir, name) into out (size cap); returns AS_ERR_INVALID if too long. */
as_status as_path_join(char *out, size_t cap, const char *dir, const char *name,
                       struct as_err *err);

/* A cursor over [p, p+n) that never reads out of bounds. `what` names the
 * source (usually the file path) for error messages. */
struct as_cursor {
    const uint8_t *p;
    size_t n;   /* total bytes */
    size_t off; /* current offset */
    const char *what;
};

void as_cursor_init(struct as_cursor *c, const void *p, size_t n, const char *what);
/* Returns a pointer to the next `len` bytes and advances, or fails with a
 * message "<what>: truncated at byte <off> reading <field>: need <len> bytes, <left> left". */
as_status as_cursor_take(struct as_cursor *c, size_t len, const void **out, const char *field,
                         struct as_err *err);
as_status as_cursor_u32(struct as_cursor *c, uint32_t *v, const char *field, struct as_err *err);
as_status as_cursor_i32(struct as_cursor *c, int32_t *v, const char *field, struct as_err *err);
as_status as_cursor_u64(struct as_cursor *c, uint64_t *v, const char *field, struct as_err *err);
as_status as_cursor_f32(struct as_cursor *c, float *v, const char *field, struct as_err *err);
size_t as_cursor_left(const struct as_cursor *c);

/* Overflow-checked size arithmetic: returns 0 on overflow. */
int as_mul_size(size_t a, size_t b, size_t *out);

#ifdef __cplusplus
}
#endif
#endif
