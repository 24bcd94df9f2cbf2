/* gguf.h - bounds-checked reader for GGUF metadata and tensor-info tables.
 *
 * GGUF (llama.cpp/ggml, versions 2 and 3, little-endian) is a header, a list of
 * typed key/value pairs, a tensor-info table and an aligned tensor-data section
 * (layout in docs/TOKENIZER.md, "GGUF"). The tokenizer reads its vocabulary from
 * the tokenizer.ggml.* keys; the model loader reuses the same reader for
 * weights. Every length, count and offset in the file is checked against the
 * bytes present before it is used, so a truncated or corrupt file gives an
 * AS_ERR_FORMAT naming the file, the key or tensor and the byte offset, never
 * an out-of-bounds read.
 *
 * Ownership: struct as_gguf owns its key/tensor tables and, when opened with
 * as_gguf_load, the read-only file mapping. String and array values point into
 * the parsed bytes (not NUL-terminated, possibly unaligned: use the accessors),
 * so they live as long as the as_gguf (or the caller's buffer, for
 * as_gguf_load_mem). */
#ifndef ATTNSWEEP_GGUF_H
#define ATTNSWEEP_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/fileio.h"
#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Value types, numbered as in the GGUF specification. */
enum as_gguf_type {
    AS_GGUF_TYPE_UINT8 = 0,
    AS_GGUF_TYPE_INT8 = 1,
    AS_GGUF_TYPE_UINT16 = 2,
    AS_GGUF_TYPE_INT16 = 3,
    AS_GGUF_TYPE_UINT32 = 4,
    AS_GGUF_TYPE_INT32 = 5,
    AS_GGUF_TYPE_FLOAT32 = 6,
    AS_GGUF_TYPE_BOOL = 7,
    AS_GGUF_TYPE_STRING = 8,
    AS_GGUF_TYPE_ARRAY = 9,
    AS_GGUF_TYPE_UINT64 = 10,
    AS_GGUF_TYPE_INT64 = 11,
    AS_GGUF_TYPE_FLOAT64 = 12
};

#define AS_GGUF_MAX_DIMS          4
#define AS_GGUF_DEFAULT_ALIGNMENT 32

/* A string inside the parsed bytes: len bytes at p, not NUL-terminated. */
struct as_gguf_str {
    const char *p;
    uint64_t len;
};

struct as_gguf_kv {
    char *key;              /* NUL-terminated copy of the key */
    enum as_gguf_type type; /* value type; ARRAY for arrays */
    size_t value_offset;    /* byte offset of the value in the file (for messages) */
    /* scalars: the value widened to one of these, by type */
    union {
        uint64_t u; /* UINT8/16/32/64 */
        int64_t i;  /* INT8/16/32/64 */
        double f;   /* FLOAT32/64 */
        int b;      /* BOOL (0/1) */
        struct as_gguf_str s;
    } v;
    /* arrays (type == ARRAY) */
    enum as_gguf_type arr_type; /* element type (never ARRAY: nested arrays are rejected) */
    uint64_t arr_n;             /* element count */
    const uint8_t *arr_data;    /* (arr_n * element size) raw little-endian elements; for
                                   STRING arrays, the first element's length field */
    uint64_t *arr_str_off;      /* (arr_n) STRING arrays only: offset of element i's
                                   length field, relative to arr_data */
};

struct as_gguf_tensor_info {
    char *name;                   /* NUL-terminated copy */
    uint32_t n_dims;              /* 1..AS_GGUF_MAX_DIMS */
    int64_t ne[AS_GGUF_MAX_DIMS]; /* ggml order: ne[0] is the fastest-varying (row length);
                                     unused dims are 1. PyTorch shape = reverse(ne[0..n_dims)) */
    uint32_t ggml_type;           /* enum ggml_type value (0 = F32, 1 = F16, 30 = BF16, ...) */
    uint64_t offset;              /* relative to the tensor-data section, as stored */
    size_t nbytes;                /* data size, or 0 when ggml_type is unknown to this reader */
    const uint8_t *data;          /* (nbytes) into the parsed bytes, NULL when nbytes is unknown */
};

struct as_gguf {
    struct as_mapped_file file; /* mapping owned by as_gguf_load (unused by load_mem) */
    const uint8_t *data;        /* (size) the bytes parsed */
    size_t size;
    char name[4096]; /* file path or caller-given name, used in messages */
    uint32_t version;
    int64_t n_kv;
    struct as_gguf_kv *kv; /* (n_kv) in file order */
    int64_t n_tensors;
    struct as_gguf_tensor_info *tensors; /* (n_tensors) in file order */
    uint64_t alignment;                  /* general.alignment, default 32 */
    size_t data_offset;                  /* start of the tensor-data section in the file */
};

/* Maps path read-only and parses it. On failure g is left freed (safe to free again). */
as_status as_gguf_load(struct as_gguf *g, const char *path, struct as_err *err);
/* Parses size bytes at data (borrowed: must outlive g). name is used in messages. */
as_status as_gguf_load_mem(struct as_gguf *g, const void *data, size_t size, const char *name,
                           struct as_err *err);
void as_gguf_free(struct as_gguf *g);

/* "uint32", "string", "array", ... */
const char *as_gguf_type_name(enum as_gguf_type t);
/* Size in bytes of one element of a fixed-size type; 0 for STRING/ARRAY/unknown. */
size_t as_gguf_type_size(enum as_gguf_type t);

/* The KV with this key, or NULL. */
const struct as_gguf_kv *as_gguf_kv_find(const struct as_gguf *g, const char *key);

/* Typed getters. Each fails with AS_ERR_FORMAT naming the file and key when the
 * key is missing or has an incompatible type (found vs expected), and with
 * AS_ERR_INVALID when an integer does not fit. Integer getters accept any
 * integer type; the float getter accepts FLOAT32 and FLOAT64. */
as_status as_gguf_get_i64(const struct as_gguf *g, const char *key, int64_t *out,
                          struct as_err *err);
as_status as_gguf_get_u32(const struct as_gguf *g, const char *key, uint32_t *out,
                          struct as_err *err);
as_status as_gguf_get_f64(const struct as_gguf *g, const char *key, double *out,
                          struct as_err *err);
as_status as_gguf_get_bool(const struct as_gguf *g, const char *key, int *out, struct as_err *err);
as_status as_gguf_get_str(const struct as_gguf *g, const char *key, struct as_gguf_str *out,
                          struct as_err *err);
/* An ARRAY whose elements have type elem (AS_GGUF_TYPE_ARRAY = any element type). */
as_status as_gguf_get_arr(const struct as_gguf *g, const char *key, enum as_gguf_type elem,
                          const struct as_gguf_kv **out, struct as_err *err);

/* Array element accessors; i must be < kv->arr_n (checked: out-of-range gives 0 / empty). */
struct as_gguf_str as_gguf_arr_str(const struct as_gguf_kv *kv, uint64_t i);
double as_gguf_arr_f64(const struct as_gguf_kv *kv, uint64_t i);  /* FLOAT32/64 (and ints) */
int64_t as_gguf_arr_i64(const struct as_gguf_kv *kv, uint64_t i); /* any integer/bool type */

/* Tensor-info table. */
const struct as_gguf_tensor_info *as_gguf_tensor_find(const struct as_gguf *g, const char *name);
/* ggml type name ("f32", "q8_0", ...) or "unknown". */
const char *as_gguf_ggml_type_name(uint32_t ggml_type);
/* Block size (elements) and bytes per block of a ggml type; returns 0 if unknown. */
int as_gguf_ggml_type_size(uint32_t ggml_type, int64_t *block, size_t *block_bytes);

#ifdef __cplusplus
}
#endif
#endif
