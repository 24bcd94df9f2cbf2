/* test_gguf.c - the GGUF metadata reader on a synthetic file built here (every
 * value type, two tensors, custom alignment), on every truncation and on
 * targeted corruptions of it, and on the real vocab-only GGUF of the vectors
 * folder (with random byte corruptions: errors, never crashes). */
#include <stdint.h>

#include "attnsweep/gguf.h"
#include "tok_test_common.h"

struct wbuf {
    uint8_t b[4096];
    size_t n;
};
static void put(struct wbuf *w, const void *p, size_t n) {
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void u32(struct wbuf *w, uint32_t v) {
    put(w, &v, 4);
}
static void u64(struct wbuf *w, uint64_t v) {
    put(w, &v, 8);
}
static void str(struct wbuf *w, const char *s) {
    u64(w, strlen(s));
    put(w, s, strlen(s));
}
static void key(struct wbuf *w, const char *k, uint32_t type) {
    str(w, k);
    u32(w, type);
}

/* offsets of a few fields, for targeted corruption */
static size_t OFF_VERSION = 4, OFF_NKV = 16, OFF_TENSOR0_NDIMS, OFF_TENSOR1_OFFSET, OFF_STRARR_LEN;

static size_t build(uint8_t *out) {
    struct wbuf w = {{0}, 0};
    put(&w, "GGUF", 4);
    u32(&w, 3);
    u64(&w, 2);  /* tensors */
    u64(&w, 15); /* KVs */
    key(&w, "general.architecture", AS_GGUF_TYPE_STRING);
    str(&w, "llama");
    key(&w, "general.alignment", AS_GGUF_TYPE_UINT32);
    u32(&w, 64);
    key(&w, "t.u8", AS_GGUF_TYPE_UINT8);
    put(&w, "\xC8", 1); /* 200 */
    key(&w, "t.i8", AS_GGUF_TYPE_INT8);
    put(&w, "\xF6", 1); /* -10 */
    key(&w, "t.u16", AS_GGUF_TYPE_UINT16);
    put(&w, "\x34\x12", 2);
    key(&w, "t.i16", AS_GGUF_TYPE_INT16);
    put(&w, "\x00\x80", 2); /* -32768 */
    key(&w, "t.i32", AS_GGUF_TYPE_INT32);
    u32(&w, (uint32_t)-7);
    key(&w, "t.f32", AS_GGUF_TYPE_FLOAT32);
    float f = 1.5f;
    put(&w, &f, 4);
    key(&w, "t.bool", AS_GGUF_TYPE_BOOL);
    put(&w, "\x01", 1);
    key(&w, "t.u64", AS_GGUF_TYPE_UINT64);
    u64(&w, 1ull << 40);
    key(&w, "t.i64", AS_GGUF_TYPE_INT64);
    u64(&w, (uint64_t)-5);
    key(&w, "t.f64", AS_GGUF_TYPE_FLOAT64);
    double d = -2.25;
    put(&w, &d, 8);
    key(&w, "t.strs", AS_GGUF_TYPE_ARRAY);
    u32(&w, AS_GGUF_TYPE_STRING);
    u64(&w, 3);
    OFF_STRARR_LEN = w.n;
    str(&w, "a");
    str(&w, "");
    str(&w, "▁hé");
    key(&w, "t.f32s", AS_GGUF_TYPE_ARRAY);
    u32(&w, AS_GGUF_TYPE_FLOAT32);
    u64(&w, 2);
    float fs[2] = {0.25f, -1e9f};
    put(&w, fs, 8);
    key(&w, "t.i32s", AS_GGUF_TYPE_ARRAY);
    u32(&w, AS_GGUF_TYPE_INT32);
    u64(&w, 3);
    int32_t is[3] = {1, 3, 6};
    put(&w, is, 12);
    /* tensor infos */
    str(&w, "tok_embd");
    OFF_TENSOR0_NDIMS = w.n;
    u32(&w, 2);
    u64(&w, 4);
    u64(&w, 3);
    u32(&w, 0); /* f32 */
    u64(&w, 0);
    str(&w, "w");
    u32(&w, 1);
    u64(&w, 8);
    u32(&w, 1); /* f16 */
    OFF_TENSOR1_OFFSET = w.n;
    u64(&w, 64);
    while (w.n % 64)
        put(&w, "", 1);
    for (int i = 0; i < 12; i++) {
        float v = (float)i;
        put(&w, &v, 4);
    }
    while (w.n % 64)
        put(&w, "", 1);
    for (int i = 0; i < 8; i++)
        put(&w, "\x00\x3C", 2); /* f16 1.0 */
    memcpy(out, w.b, w.n);
    return w.n;
}

static void check_values(const struct as_gguf *g) {
    struct as_err err = {0};
    int64_t i;
    uint32_t u;
    double dv;
    int b;
    struct as_gguf_str s;
    TU_CHECK(g->version == 3 && g->n_kv == 15 && g->n_tensors == 2 && g->alignment == 64,
             "header: version %u, %lld KVs, %lld tensors, alignment %llu", g->version,
             (long long)g->n_kv, (long long)g->n_tensors, (unsigned long long)g->alignment);
    TU_CHECK(as_gguf_get_str(g, "general.architecture", &s, &err) == AS_OK && s.len == 5 &&
                 memcmp(s.p, "llama", 5) == 0,
             "architecture: %s", err.msg);
    TU_CHECK(as_gguf_get_i64(g, "t.u8", &i, &err) == AS_OK && i == 200, "u8 %lld %s", (long long)i,
             err.msg);
    TU_CHECK(as_gguf_get_i64(g, "t.i8", &i, &err) == AS_OK && i == -10, "i8 %lld", (long long)i);
    TU_CHECK(as_gguf_get_u32(g, "t.u16", &u, &err) == AS_OK && u == 0x1234, "u16 %u", u);
    TU_CHECK(as_gguf_get_i64(g, "t.i16", &i, &err) == AS_OK && i == -32768, "i16 %lld",
             (long long)i);
    TU_CHECK(as_gguf_get_i64(g, "t.i32", &i, &err) == AS_OK && i == -7, "i32 %lld", (long long)i);
    TU_CHECK(as_gguf_get_f64(g, "t.f32", &dv, &err) == AS_OK && dv == 1.5, "f32 %g", dv);
    TU_CHECK(as_gguf_get_bool(g, "t.bool", &b, &err) == AS_OK && b == 1, "bool %d", b);
    TU_CHECK(as_gguf_get_i64(g, "t.u64", &i, &err) == AS_OK && i == (1ll << 40), "u64 %lld",
             (long long)i);
    TU_CHECK(as_gguf_get_i64(g, "t.i64", &i, &err) == AS_OK && i == -5, "i64 %lld", (long long)i);
    TU_CHECK(as_gguf_get_f64(g, "t.f64", &dv, &err) == AS_OK && dv == -2.25, "f64 %g", dv);
    /* range and type errors name the key and both types */
    as_status st = as_gguf_get_u32(g, "t.i32", &u, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "t.i32"), "u32 of -7: %d %s", (int)st,
             err.msg);
    st = as_gguf_get_str(g, "t.u8", &s, &err);
    TU_CHECK(st == AS_ERR_FORMAT && strstr(err.msg, "t.u8") && strstr(err.msg, "uint8") &&
                 strstr(err.msg, "string"),
             "type error message: %s", err.msg);
    st = as_gguf_get_bool(g, "no.such.key", &b, &err);
    TU_CHECK(st == AS_ERR_FORMAT && strstr(err.msg, "no.such.key") && strstr(err.msg, "missing"),
             "missing key message: %s", err.msg);
    const struct as_gguf_kv *kv;
    TU_CHECK(as_gguf_get_arr(g, "t.strs", AS_GGUF_TYPE_STRING, &kv, &err) == AS_OK &&
                 kv->arr_n == 3,
             "string array: %s", err.msg);
    if (kv && kv->arr_n == 3) {
        struct as_gguf_str a = as_gguf_arr_str(kv, 0), e = as_gguf_arr_str(kv, 1),
                           c = as_gguf_arr_str(kv, 2);
        TU_CHECK(a.len == 1 && a.p[0] == 'a' && e.len == 0 && c.len == 6 &&
                     memcmp(c.p, "▁hé", 6) == 0,
                 "string array elements");
        TU_CHECK(as_gguf_arr_str(kv, 3).len == 0, "out-of-range element is empty");
    }
    st = as_gguf_get_arr(g, "t.strs", AS_GGUF_TYPE_FLOAT32, &kv, &err);
    TU_CHECK(st == AS_ERR_FORMAT && strstr(err.msg, "array of string"), "array type error: %s",
             err.msg);
    TU_CHECK(as_gguf_get_arr(g, "t.f32s", AS_GGUF_TYPE_FLOAT32, &kv, &err) == AS_OK &&
                 as_gguf_arr_f64(kv, 0) == 0.25 && as_gguf_arr_f64(kv, 1) == -1e9,
             "f32 array");
    TU_CHECK(as_gguf_get_arr(g, "t.i32s", AS_GGUF_TYPE_INT32, &kv, &err) == AS_OK &&
                 as_gguf_arr_i64(kv, 2) == 6,
             "i32 array");
    const struct as_gguf_tensor_info *t0 = as_gguf_tensor_find(g, "tok_embd"),
                                     *t1 = as_gguf_tensor_find(g, "w");
    TU_CHECK(t0 && t0->n_dims == 2 && t0->ne[0] == 4 && t0->ne[1] == 3 && t0->ne[2] == 1 &&
                 t0->ggml_type == 0 && t0->nbytes == 48 && t0->data,
             "tensor tok_embd");
    if (t0 && t0->data) {
        float v;
        memcpy(&v, t0->data + 4 * 11, 4);
        TU_CHECK(v == 11.0f, "tok_embd[2][3] = %g", v);
    }
    TU_CHECK(t1 && t1->ggml_type == 1 && t1->nbytes == 16 && t1->data &&
                 t1->data == g->data + g->data_offset + 64 && t1->data[1] == 0x3C,
             "tensor w");
    TU_CHECK(!as_gguf_tensor_find(g, "nope"), "unknown tensor");
    TU_CHECK(strcmp(as_gguf_ggml_type_name(30), "bf16") == 0 &&
                 strcmp(as_gguf_ggml_type_name(8), "q8_0") == 0,
             "ggml type names");
}

static void expect_fail(const char *what, const uint8_t *data, size_t n, const char *needle) {
    struct as_gguf g;
    struct as_err err = {0};
    as_status st = as_gguf_load_mem(&g, data, n, "synthetic.gguf", &err);
    TU_CHECK(st != AS_OK && strstr(err.msg, "synthetic.gguf") &&
                 (!needle || strstr(err.msg, needle)),
             "%s: status %d, message \"%s\" (expected an error containing \"%s\")", what, (int)st,
             err.msg, needle ? needle : "");
    as_gguf_free(&g);
}

int main(void) {
    static uint8_t file[4096], bad[4096];
    size_t n = build(file);
    struct as_gguf g;
    struct as_err err = {0};
    TU_CHECK(as_gguf_load_mem(&g, file, n, "synthetic.gguf", &err) == AS_OK, "synthetic: %s",
             err.msg);
    check_values(&g);
    as_gguf_free(&g);

    /* every truncation is an error naming the file, never an out-of-bounds read */
    int trunc_ok = 1;
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1); /* exact-size copy: ASan sees any overread */
        memcpy(copy, file, k);
        as_status st = as_gguf_load_mem(&g, copy, k, "synthetic.gguf", &err);
        if (st == AS_OK || !strstr(err.msg, "synthetic.gguf")) {
            trunc_ok = 0;
            fprintf(stderr, "  truncation at %zu: status %d, \"%s\"\n", k, (int)st, err.msg);
        }
        as_gguf_free(&g);
        free(copy);
    }
    TU_CHECK(trunc_ok, "all %zu truncations of the synthetic file must fail cleanly", n);

#define CORRUPT(what, off, val, width, needle)                                                     \
    do {                                                                                           \
        memcpy(bad, file, n);                                                                      \
        uint64_t v_ = (val);                                                                       \
        memcpy(bad + (off), &v_, (width));                                                         \
        expect_fail(what, bad, n, needle);                                                         \
    } while (0)
    CORRUPT("bad magic", 0, 0x46554746, 4, "not a GGUF");
    CORRUPT("version 1", OFF_VERSION, 1, 4, "version 1");
    CORRUPT("version 99", OFF_VERSION, 99, 4, "version 99");
    CORRUPT("huge KV count", OFF_NKV, 1ull << 60, 8, "cannot fit");
    CORRUPT("huge string length", OFF_STRARR_LEN, 1ull << 62, 8, "string length");
    CORRUPT("5 dims", OFF_TENSOR0_NDIMS, 5, 4, "dims");
    CORRUPT("misaligned tensor", OFF_TENSOR1_OFFSET, 65, 8, "alignment");
    CORRUPT("tensor beyond EOF", OFF_TENSOR1_OFFSET, 1 << 20, 8, "beyond the end");
    {
        /* the first KV's type field sits after its key: 8-byte length + 20 bytes */
        memcpy(bad, file, n);
        uint32_t ty = 42;
        memcpy(bad + 24 + 8 + 20, &ty, 4);
        expect_fail("unknown value type", bad, n, "unknown value type");
        memcpy(bad, file, n);
        ty = AS_GGUF_TYPE_ARRAY;
        memcpy(bad + 24 + 8 + 20, &ty, 4); /* the string "llama" read as an array header */
        expect_fail("string read as array", bad, n, NULL);
    }
    {
        /* duplicate key: rename t.i8 to t.u8 */
        memcpy(bad, file, n);
        uint8_t *p = NULL;
        for (size_t k = 0; k + 4 <= n && !p; k++)
            if (memcmp(bad + k, "t.i8", 4) == 0) p = bad + k;
        TU_CHECK(p != NULL, "key t.i8 not found in the synthetic file");
        if (p) {
            memcpy(p, "t.u8", 4);
            expect_fail("duplicate key", bad, n, "appears twice");
        }
    }

    /* the real vocab-only GGUF */
    const char *rel = "tokenizers/vectors/ggml-vocab-llama-spm.gguf";
    tu_require_data(rel);
    TU_CHECK(as_gguf_load(&g, tu_data_path(rel), &err) == AS_OK, "%s: %s", rel, err.msg);
    TU_CHECK(g.n_kv == 22 && g.n_tensors == 0 && g.version == 3,
             "real file: %lld KVs, %lld tensors", (long long)g.n_kv, (long long)g.n_tensors);
    const struct as_gguf_kv *tok = as_gguf_kv_find(&g, "tokenizer.ggml.tokens");
    TU_CHECK(tok && tok->arr_n == 32000 && as_gguf_arr_str(tok, 29871).len == 3, "tokens array");
    uint32_t u = 0;
    TU_CHECK(as_gguf_get_u32(&g, "tokenizer.ggml.bos_token_id", &u, &err) == AS_OK && u == 1,
             "bos id");
    size_t real_n = g.size;
    uint8_t *real = malloc(real_n);
    memcpy(real, g.data, real_n);
    as_gguf_free(&g);
    /* random byte corruptions in the header and the first arrays: OK or a clean error */
    uint64_t r = 12345;
    int crashes_avoided = 0;
    for (int k = 0; k < 3000; k++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        size_t pos = (size_t)(r % 2048);
        uint8_t old = real[pos];
        real[pos] = (uint8_t)(r >> 32);
        as_status st = as_gguf_load_mem(&g, real, real_n, "corrupt.gguf", &err);
        crashes_avoided += st == AS_OK || strstr(err.msg, "corrupt.gguf") != NULL;
        as_gguf_free(&g);
        real[pos] = old;
    }
    TU_CHECK(crashes_avoided == 3000, "random corruptions: %d/3000 gave OK or a named error",
             crashes_avoided);
    free(real);
    return tu_finish("test_gguf");
}
