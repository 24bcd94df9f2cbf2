/* gguf.c - bounds-checked GGUF v2/v3 metadata and tensor-info reader (see
 * attnsweep/gguf.h and docs/TOKENIZER.md). All reads go through as_cursor, and
 * every count is checked against the bytes left before anything is allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/gguf.h"

#define GGUF_MAX_KEY  65535
#define GGUF_MAX_NAME 4096

const char *as_gguf_type_name(enum as_gguf_type t) {
    switch (t) {
    case AS_GGUF_TYPE_UINT8: return "uint8";
    case AS_GGUF_TYPE_INT8: return "int8";
    case AS_GGUF_TYPE_UINT16: return "uint16";
    case AS_GGUF_TYPE_INT16: return "int16";
    case AS_GGUF_TYPE_UINT32: return "uint32";
    case AS_GGUF_TYPE_INT32: return "int32";
    case AS_GGUF_TYPE_FLOAT32: return "float32";
    case AS_GGUF_TYPE_BOOL: return "bool";
    case AS_GGUF_TYPE_STRING: return "string";
    case AS_GGUF_TYPE_ARRAY: return "array";
    case AS_GGUF_TYPE_UINT64: return "uint64";
    case AS_GGUF_TYPE_INT64: return "int64";
    case AS_GGUF_TYPE_FLOAT64: return "float64";
    }
    return "unknown";
}

size_t as_gguf_type_size(enum as_gguf_type t) {
    switch (t) {
    case AS_GGUF_TYPE_UINT8:
    case AS_GGUF_TYPE_INT8:
    case AS_GGUF_TYPE_BOOL: return 1;
    case AS_GGUF_TYPE_UINT16:
    case AS_GGUF_TYPE_INT16: return 2;
    case AS_GGUF_TYPE_UINT32:
    case AS_GGUF_TYPE_INT32:
    case AS_GGUF_TYPE_FLOAT32: return 4;
    case AS_GGUF_TYPE_UINT64:
    case AS_GGUF_TYPE_INT64:
    case AS_GGUF_TYPE_FLOAT64: return 8;
    case AS_GGUF_TYPE_STRING:
    case AS_GGUF_TYPE_ARRAY: return 0;
    }
    return 0;
}

static int is_int_type(enum as_gguf_type t) {
    return t == AS_GGUF_TYPE_UINT8 || t == AS_GGUF_TYPE_INT8 || t == AS_GGUF_TYPE_UINT16 ||
           t == AS_GGUF_TYPE_INT16 || t == AS_GGUF_TYPE_UINT32 || t == AS_GGUF_TYPE_INT32 ||
           t == AS_GGUF_TYPE_UINT64 || t == AS_GGUF_TYPE_INT64;
}
static int is_signed_type(enum as_gguf_type t) {
    return t == AS_GGUF_TYPE_INT8 || t == AS_GGUF_TYPE_INT16 || t == AS_GGUF_TYPE_INT32 ||
           t == AS_GGUF_TYPE_INT64;
}

/* ggml tensor types: block size (elements) and bytes per block */
struct ggml_type_info {
    uint32_t id;
    const char *name;
    int64_t block;
    size_t bytes;
};
static const struct ggml_type_info GGML_TYPES[] = {
    {0, "f32", 1, 4},       {1, "f16", 1, 2},       {2, "q4_0", 32, 18},    {3, "q4_1", 32, 20},
    {6, "q5_0", 32, 22},    {7, "q5_1", 32, 24},    {8, "q8_0", 32, 34},    {9, "q8_1", 32, 36},
    {10, "q2_K", 256, 84},  {11, "q3_K", 256, 110}, {12, "q4_K", 256, 144}, {13, "q5_K", 256, 176},
    {14, "q6_K", 256, 210}, {15, "q8_K", 256, 292}, {20, "iq4_nl", 32, 18}, {24, "i8", 1, 1},
    {25, "i16", 1, 2},      {26, "i32", 1, 4},      {27, "i64", 1, 8},      {28, "f64", 1, 8},
    {30, "bf16", 1, 2},
};

static const struct ggml_type_info *ggml_info(uint32_t id) {
    for (size_t i = 0; i < sizeof GGML_TYPES / sizeof GGML_TYPES[0]; i++)
        if (GGML_TYPES[i].id == id) return &GGML_TYPES[i];
    return NULL;
}

const char *as_gguf_ggml_type_name(uint32_t ggml_type) {
    const struct ggml_type_info *i = ggml_info(ggml_type);
    return i ? i->name : "unknown";
}

int as_gguf_ggml_type_size(uint32_t ggml_type, int64_t *block, size_t *block_bytes) {
    const struct ggml_type_info *i = ggml_info(ggml_type);
    if (!i) return 0;
    if (block) *block = i->block;
    if (block_bytes) *block_bytes = i->bytes;
    return 1;
}

void as_gguf_free(struct as_gguf *g) {
    if (!g) return;
    for (int64_t i = 0; g->kv && i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].arr_str_off);
    }
    free(g->kv);
    for (int64_t i = 0; g->tensors && i < g->n_tensors; i++)
        free(g->tensors[i].name);
    free(g->tensors);
    as_file_unmap(&g->file);
    memset(g, 0, sizeof *g);
}

/* A GGUF string: u64 length + bytes. */
static as_status read_str(struct as_cursor *c, struct as_gguf_str *s, const char *field,
                          struct as_err *err) {
    uint64_t len;
    as_status ret = as_cursor_u64(c, &len, field, err);
    if (ret != AS_OK) return ret;
    if (len > as_cursor_left(c))
        return as_err_set(
            err, AS_ERR_FORMAT,
            "%s: truncated at byte %zu while reading %s: string length %llu, %zu bytes left",
            c->what, c->off, field, (unsigned long long)len, as_cursor_left(c));
    const void *p;
    ret = as_cursor_take(c, (size_t)len, &p, field, err);
    s->p = p;
    s->len = len;
    return ret;
}

static as_status copy_name(const struct as_gguf_str *s, size_t max, char **out, const char *what,
                           const char *field, size_t off, struct as_err *err) {
    if (s->len == 0 || s->len > max || memchr(s->p, '\0', (size_t)s->len))
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: %s at byte %zu is empty, longer than %zu bytes or contains NUL",
                          what, field, off, max);
    *out = malloc((size_t)s->len + 1);
    if (!*out) return as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate %s", what, field);
    memcpy(*out, s->p, (size_t)s->len);
    (*out)[s->len] = '\0';
    return AS_OK;
}

static uint64_t load_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Widens a fixed-size scalar at p into kv->v. */
static void set_scalar(struct as_gguf_kv *kv, enum as_gguf_type t, const uint8_t *p) {
    size_t n = as_gguf_type_size(t);
    uint64_t raw = load_le(p, n);
    switch (t) {
    case AS_GGUF_TYPE_INT8: kv->v.i = (int8_t)raw; break;
    case AS_GGUF_TYPE_INT16: kv->v.i = (int16_t)raw; break;
    case AS_GGUF_TYPE_INT32: kv->v.i = (int32_t)raw; break;
    case AS_GGUF_TYPE_INT64: kv->v.i = (int64_t)raw; break;
    case AS_GGUF_TYPE_FLOAT32: {
        uint32_t r = (uint32_t)raw;
        float f;
        memcpy(&f, &r, 4);
        kv->v.f = f;
        break;
    }
    case AS_GGUF_TYPE_FLOAT64: memcpy(&kv->v.f, &raw, 8); break;
    case AS_GGUF_TYPE_BOOL: kv->v.b = raw != 0; break;
    default: kv->v.u = raw; break;
    }
}

static as_status read_value(struct as_cursor *c, struct as_gguf_kv *kv, struct as_err *err) {
    char field[320];
    snprintf(field, sizeof field, "value of key '%.200s'", kv->key);
    kv->value_offset = c->off;
    enum as_gguf_type t = kv->type;
    as_status ret = AS_OK;
    const void *p;
    if (t == AS_GGUF_TYPE_STRING) return read_str(c, &kv->v.s, field, err);
    if (t != AS_GGUF_TYPE_ARRAY) {
        size_t n = as_gguf_type_size(t);
        if (n == 0)
            return as_err_set(err, AS_ERR_FORMAT,
                              "%s: key '%s' at byte %zu has unknown value type %u", c->what,
                              kv->key, c->off, (unsigned)t);
        ret = as_cursor_take(c, n, &p, field, err);
        if (ret == AS_OK) set_scalar(kv, t, p);
        return ret;
    }
    uint32_t et;
    uint64_t count;
    ret = as_cursor_u32(c, &et, field, err);
    if (ret == AS_OK) ret = as_cursor_u64(c, &count, field, err);
    if (ret != AS_OK) return ret;
    kv->arr_type = (enum as_gguf_type)et;
    kv->arr_n = count;
    if (et == AS_GGUF_TYPE_ARRAY)
        return as_err_set(err, AS_ERR_UNSUPPORTED, "%s: key '%s': nested arrays are not supported",
                          c->what, kv->key);
    if (et == AS_GGUF_TYPE_STRING) {
        /* every element needs at least its 8-byte length */
        if (count > as_cursor_left(c) / 8)
            return as_err_set(
                err, AS_ERR_FORMAT,
                "%s: key '%s' at byte %zu: string array of %llu elements cannot fit in "
                "the %zu bytes left",
                c->what, kv->key, kv->value_offset, (unsigned long long)count, as_cursor_left(c));
        kv->arr_data = c->p + c->off;
        kv->arr_str_off = malloc((size_t)(count ? count : 1) * sizeof *kv->arr_str_off);
        if (!kv->arr_str_off)
            return as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate offsets of key '%s'", c->what,
                              kv->key);
        size_t base = c->off;
        for (uint64_t i = 0; i < count; i++) {
            kv->arr_str_off[i] = c->off - base;
            uint64_t len = as_cursor_left(c) >= 8 ? load_le(c->p + c->off, 8) : UINT64_MAX;
            if (len > as_cursor_left(c) - 8 || as_cursor_left(c) < 8) {
                /* slow path only to produce the message */
                struct as_gguf_str s;
                snprintf(field, sizeof field, "element %llu of key '%.200s'", (unsigned long long)i,
                         kv->key);
                ret = read_str(c, &s, field, err);
                return ret != AS_OK ? ret : as_err_set(err, AS_ERR_INTERNAL, "gguf: string bounds");
            }
            c->off += 8 + (size_t)len;
        }
        return AS_OK;
    }
    size_t es = as_gguf_type_size((enum as_gguf_type)et), bytes;
    if (es == 0)
        return as_err_set(err, AS_ERR_FORMAT, "%s: key '%s' at byte %zu: array of unknown type %u",
                          c->what, kv->key, kv->value_offset, (unsigned)et);
    if (count > SIZE_MAX || !as_mul_size((size_t)count, es, &bytes) || bytes > as_cursor_left(c))
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: truncated at byte %zu while reading %s: %llu elements of %zu bytes, "
                          "%zu bytes left",
                          c->what, c->off, field, (unsigned long long)count, es, as_cursor_left(c));
    ret = as_cursor_take(c, bytes, &p, field, err);
    kv->arr_data = p;
    return ret;
}

static as_status parse(struct as_gguf *g, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_cursor c;
    as_cursor_init(&c, g->data, g->size, g->name);
    const void *p;
    AS_TRY(as_cursor_take(&c, 4, &p, "magic", err));
    if (memcmp(p, "GGUF", 4) != 0) {
        ret =
            as_err_set(err, AS_ERR_FORMAT, "%s: not a GGUF file (magic is not \"GGUF\")", g->name);
        goto done;
    }
    AS_TRY(as_cursor_u32(&c, &g->version, "version", err));
    if (g->version == 1) {
        ret =
            as_err_set(err, AS_ERR_UNSUPPORTED,
                       "%s: GGUF version 1 is not supported (expected 2 or 3; HINT: re-convert the "
                       "file with a current llama.cpp)",
                       g->name);
        goto done;
    }
    if (g->version != 2 && g->version != 3) {
        ret =
            as_err_set(err, AS_ERR_FORMAT,
                       "%s: GGUF version %u, expected 2 or 3 (a big-endian file is not supported)",
                       g->name, (unsigned)g->version);
        goto done;
    }
    uint64_t nt, nkv;
    AS_TRY(as_cursor_u64(&c, &nt, "tensor count", err));
    AS_TRY(as_cursor_u64(&c, &nkv, "KV count", err));
    /* a KV is at least 8 (key length) + 1 (key) + 4 (type) + 1 (value) bytes;
     * a tensor info at least 8 + 1 + 4 + 8 + 4 + 8 */
    if (nkv > as_cursor_left(&c) / 14 || nt > as_cursor_left(&c) / 33) {
        ret = as_err_set(
            err, AS_ERR_FORMAT,
            "%s: %llu KV pairs and %llu tensors cannot fit in the %zu bytes after the header",
            g->name, (unsigned long long)nkv, (unsigned long long)nt, as_cursor_left(&c));
        goto done;
    }
    g->kv = calloc((size_t)(nkv ? nkv : 1), sizeof *g->kv);
    g->tensors = calloc((size_t)(nt ? nt : 1), sizeof *g->tensors);
    if (!g->kv || !g->tensors) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate the KV/tensor tables", g->name);
        goto done;
    }
    for (uint64_t i = 0; i < nkv; i++) {
        struct as_gguf_kv *kv = &g->kv[i];
        struct as_gguf_str key;
        char field[64];
        snprintf(field, sizeof field, "key of KV pair %llu", (unsigned long long)i);
        size_t at = c.off;
        AS_TRY(read_str(&c, &key, field, err));
        AS_TRY(copy_name(&key, GGUF_MAX_KEY, &kv->key, g->name, field, at, err));
        g->n_kv = (int64_t)i + 1;
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(g->kv[j].key, kv->key) == 0) {
                ret =
                    as_err_set(err, AS_ERR_FORMAT, "%s: key '%s' appears twice (KV %llu and %llu)",
                               g->name, kv->key, (unsigned long long)j, (unsigned long long)i);
                goto done;
            }
        uint32_t type;
        snprintf(field, sizeof field, "type of key '%.40s'", kv->key);
        AS_TRY(as_cursor_u32(&c, &type, field, err));
        kv->type = (enum as_gguf_type)type;
        AS_TRY(read_value(&c, kv, err));
    }

    g->alignment = AS_GGUF_DEFAULT_ALIGNMENT;
    if (as_gguf_kv_find(g, "general.alignment")) {
        int64_t a;
        AS_TRY(as_gguf_get_i64(g, "general.alignment", &a, err));
        if (a <= 0 || (a & (a - 1)) != 0 || a > (1 << 30)) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: key general.alignment: %lld, expected a power of two", g->name,
                             (long long)a);
            goto done;
        }
        g->alignment = (uint64_t)a;
    }

    for (uint64_t i = 0; i < nt; i++) {
        struct as_gguf_tensor_info *ti = &g->tensors[i];
        struct as_gguf_str name;
        char field[GGUF_MAX_NAME + 64];
        snprintf(field, sizeof field, "name of tensor %llu", (unsigned long long)i);
        size_t at = c.off;
        AS_TRY(read_str(&c, &name, field, err));
        AS_TRY(copy_name(&name, GGUF_MAX_NAME, &ti->name, g->name, field, at, err));
        g->n_tensors = (int64_t)i + 1;
        snprintf(field, sizeof field, "n_dims of tensor '%s'", ti->name);
        AS_TRY(as_cursor_u32(&c, &ti->n_dims, field, err));
        if (ti->n_dims < 1 || ti->n_dims > AS_GGUF_MAX_DIMS) {
            ret = as_err_set(err, AS_ERR_FORMAT, "%s: tensor '%s' has %u dims, expected 1..%d",
                             g->name, ti->name, (unsigned)ti->n_dims, AS_GGUF_MAX_DIMS);
            goto done;
        }
        int64_t nelem = 1;
        for (int d = 0; d < AS_GGUF_MAX_DIMS; d++)
            ti->ne[d] = 1;
        for (uint32_t d = 0; d < ti->n_dims; d++) {
            uint64_t v;
            snprintf(field, sizeof field, "dim %u of tensor '%s'", (unsigned)d, ti->name);
            AS_TRY(as_cursor_u64(&c, &v, field, err));
            if (v > (uint64_t)INT64_MAX || (v > 0 && nelem > INT64_MAX / (int64_t)v)) {
                ret = as_err_set(err, AS_ERR_FORMAT, "%s: tensor '%s': dim %u = %llu overflows",
                                 g->name, ti->name, (unsigned)d, (unsigned long long)v);
                goto done;
            }
            ti->ne[d] = (int64_t)v;
            nelem *= (int64_t)v;
        }
        snprintf(field, sizeof field, "type of tensor '%s'", ti->name);
        AS_TRY(as_cursor_u32(&c, &ti->ggml_type, field, err));
        snprintf(field, sizeof field, "offset of tensor '%s'", ti->name);
        AS_TRY(as_cursor_u64(&c, &ti->offset, field, err));
        for (uint64_t j = 0; j < i; j++)
            if (strcmp(g->tensors[j].name, ti->name) == 0) {
                ret = as_err_set(err, AS_ERR_FORMAT, "%s: tensor '%s' appears twice", g->name,
                                 ti->name);
                goto done;
            }
        int64_t blk;
        size_t bb;
        if (as_gguf_ggml_type_size(ti->ggml_type, &blk, &bb)) {
            if (ti->ne[0] % blk != 0) {
                ret =
                    as_err_set(err, AS_ERR_FORMAT,
                               "%s: tensor '%s': row length %lld is not a multiple of the %s block "
                               "size %lld",
                               g->name, ti->name, (long long)ti->ne[0],
                               as_gguf_ggml_type_name(ti->ggml_type), (long long)blk);
                goto done;
            }
            if (!as_mul_size((size_t)(nelem / blk), bb, &ti->nbytes)) {
                ret = as_err_set(err, AS_ERR_FORMAT, "%s: tensor '%s': size overflows", g->name,
                                 ti->name);
                goto done;
            }
        }
    }
    /* tensor data starts at the next multiple of the alignment */
    uint64_t a = g->alignment;
    uint64_t start = ((uint64_t)c.off + a - 1) / a * a;
    g->data_offset = (size_t)start;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        struct as_gguf_tensor_info *ti = &g->tensors[i];
        if (ti->offset % a != 0) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: tensor '%s': offset %llu is not a multiple of the alignment %llu",
                             g->name, ti->name, (unsigned long long)ti->offset,
                             (unsigned long long)a);
            goto done;
        }
        if (start > g->size || ti->offset > g->size - start ||
            ti->nbytes > g->size - start - ti->offset) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: tensor '%s': data [%llu, %llu) lies beyond the end of the file "
                             "(%zu bytes; truncated?)",
                             g->name, ti->name, (unsigned long long)(start + ti->offset),
                             (unsigned long long)(start + ti->offset + ti->nbytes), g->size);
            goto done;
        }
        ti->data = ti->nbytes ? g->data + start + ti->offset : NULL;
    }
done:
    return ret;
}

as_status as_gguf_load_mem(struct as_gguf *g, const void *data, size_t size, const char *name,
                           struct as_err *err) {
    memset(g, 0, sizeof *g);
    g->data = data;
    g->size = size;
    snprintf(g->name, sizeof g->name, "%s", name ? name : "GGUF buffer");
    as_status ret = parse(g, err);
    if (ret != AS_OK) as_gguf_free(g);
    return ret;
}

as_status as_gguf_load(struct as_gguf *g, const char *path, struct as_err *err) {
    memset(g, 0, sizeof *g);
    as_status ret = as_file_map(&g->file, path, err);
    if (ret != AS_OK) return ret;
    g->data = g->file.data;
    g->size = g->file.size;
    snprintf(g->name, sizeof g->name, "%s", path);
    ret = parse(g, err);
    if (ret != AS_OK) as_gguf_free(g);
    return ret;
}

const struct as_gguf_kv *as_gguf_kv_find(const struct as_gguf *g, const char *key) {
    for (int64_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

const struct as_gguf_tensor_info *as_gguf_tensor_find(const struct as_gguf *g, const char *name) {
    for (int64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

static as_status find_typed(const struct as_gguf *g, const char *key, const char *expected,
                            int ok_int, int ok_float, enum as_gguf_type exact,
                            const struct as_gguf_kv **out, struct as_err *err) {
    const struct as_gguf_kv *kv = as_gguf_kv_find(g, key);
    if (!kv)
        return as_err_set(err, AS_ERR_FORMAT, "%s: key %s is missing (expected %s)", g->name, key,
                          expected);
    int ok = kv->type == exact || (ok_int && is_int_type(kv->type)) ||
             (ok_float && (kv->type == AS_GGUF_TYPE_FLOAT32 || kv->type == AS_GGUF_TYPE_FLOAT64));
    if (!ok)
        return as_err_set(err, AS_ERR_FORMAT, "%s: key %s has type %s, expected %s", g->name, key,
                          as_gguf_type_name(kv->type), expected);
    *out = kv;
    return AS_OK;
}

as_status as_gguf_get_i64(const struct as_gguf *g, const char *key, int64_t *out,
                          struct as_err *err) {
    const struct as_gguf_kv *kv = NULL;
    as_status ret = find_typed(g, key, "an integer", 1, 0, AS_GGUF_TYPE_INT64, &kv, err);
    if (ret != AS_OK) return ret;
    if (!is_signed_type(kv->type) && kv->v.u > (uint64_t)INT64_MAX)
        return as_err_set(err, AS_ERR_INVALID, "%s: key %s = %llu does not fit in int64", g->name,
                          key, (unsigned long long)kv->v.u);
    *out = is_signed_type(kv->type) ? kv->v.i : (int64_t)kv->v.u;
    return AS_OK;
}

as_status as_gguf_get_u32(const struct as_gguf *g, const char *key, uint32_t *out,
                          struct as_err *err) {
    int64_t v = 0;
    as_status ret = as_gguf_get_i64(g, key, &v, err);
    if (ret != AS_OK) return ret;
    if (v < 0 || v > (int64_t)UINT32_MAX)
        return as_err_set(err, AS_ERR_INVALID, "%s: key %s = %lld does not fit in uint32", g->name,
                          key, (long long)v);
    *out = (uint32_t)v;
    return AS_OK;
}

as_status as_gguf_get_f64(const struct as_gguf *g, const char *key, double *out,
                          struct as_err *err) {
    const struct as_gguf_kv *kv = NULL;
    as_status ret =
        find_typed(g, key, "a float32 or float64", 0, 1, AS_GGUF_TYPE_FLOAT32, &kv, err);
    if (ret == AS_OK) *out = kv->v.f;
    return ret;
}

as_status as_gguf_get_bool(const struct as_gguf *g, const char *key, int *out, struct as_err *err) {
    const struct as_gguf_kv *kv = NULL;
    as_status ret = find_typed(g, key, "a bool", 0, 0, AS_GGUF_TYPE_BOOL, &kv, err);
    if (ret == AS_OK) *out = kv->v.b;
    return ret;
}

as_status as_gguf_get_str(const struct as_gguf *g, const char *key, struct as_gguf_str *out,
                          struct as_err *err) {
    const struct as_gguf_kv *kv = NULL;
    as_status ret = find_typed(g, key, "a string", 0, 0, AS_GGUF_TYPE_STRING, &kv, err);
    if (ret == AS_OK) *out = kv->v.s;
    return ret;
}

as_status as_gguf_get_arr(const struct as_gguf *g, const char *key, enum as_gguf_type elem,
                          const struct as_gguf_kv **out, struct as_err *err) {
    char expected[64];
    if (elem == AS_GGUF_TYPE_ARRAY)
        snprintf(expected, sizeof expected, "an array");
    else
        snprintf(expected, sizeof expected, "an array of %s", as_gguf_type_name(elem));
    const struct as_gguf_kv *kv = NULL;
    as_status ret = find_typed(g, key, expected, 0, 0, AS_GGUF_TYPE_ARRAY, &kv, err);
    if (ret != AS_OK) return ret;
    if (elem != AS_GGUF_TYPE_ARRAY && kv->arr_type != elem)
        return as_err_set(err, AS_ERR_FORMAT, "%s: key %s is an array of %s, expected %s", g->name,
                          key, as_gguf_type_name(kv->arr_type), expected);
    *out = kv;
    return AS_OK;
}

struct as_gguf_str as_gguf_arr_str(const struct as_gguf_kv *kv, uint64_t i) {
    struct as_gguf_str s = {"", 0};
    if (kv->type != AS_GGUF_TYPE_ARRAY || kv->arr_type != AS_GGUF_TYPE_STRING || i >= kv->arr_n)
        return s;
    const uint8_t *p = kv->arr_data + kv->arr_str_off[i];
    s.len = load_le(p, 8); /* validated when parsed */
    s.p = (const char *)p + 8;
    return s;
}

double as_gguf_arr_f64(const struct as_gguf_kv *kv, uint64_t i) {
    if (kv->type != AS_GGUF_TYPE_ARRAY || i >= kv->arr_n) return 0.0;
    size_t es = as_gguf_type_size(kv->arr_type);
    if (es == 0) return 0.0;
    struct as_gguf_kv tmp;
    memset(&tmp, 0, sizeof tmp);
    set_scalar(&tmp, kv->arr_type, kv->arr_data + i * es);
    if (kv->arr_type == AS_GGUF_TYPE_FLOAT32 || kv->arr_type == AS_GGUF_TYPE_FLOAT64)
        return tmp.v.f;
    if (kv->arr_type == AS_GGUF_TYPE_BOOL) return tmp.v.b;
    return is_signed_type(kv->arr_type) ? (double)tmp.v.i : (double)tmp.v.u;
}

int64_t as_gguf_arr_i64(const struct as_gguf_kv *kv, uint64_t i) {
    if (kv->type != AS_GGUF_TYPE_ARRAY || i >= kv->arr_n) return 0;
    size_t es = as_gguf_type_size(kv->arr_type);
    if (es == 0 || kv->arr_type == AS_GGUF_TYPE_FLOAT32 || kv->arr_type == AS_GGUF_TYPE_FLOAT64)
        return 0;
    struct as_gguf_kv tmp;
    memset(&tmp, 0, sizeof tmp);
    set_scalar(&tmp, kv->arr_type, kv->arr_data + i * es);
    if (kv->arr_type == AS_GGUF_TYPE_BOOL) return tmp.v.b;
    return is_signed_type(kv->arr_type) ? tmp.v.i : (int64_t)tmp.v.u;
}
