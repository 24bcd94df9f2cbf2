/* test_model_errors.c - malformed models give the right status and a message that
 * names the file and the tensor or key; never a crash (run it under ASan too).
 *
 * Every case starts from a valid synthetic model (fixtures.c), which is first
 * shown to load, applies exactly one defect, writes it into a fresh temp dir,
 * and checks: the status code, the full path of the offending file, and the
 * tensor/key. A few cases corrupt copies of the real reference files. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attnsweep/fileio.h"
#include "attnsweep/model.h"
#include "fixtures.h"
#include "testutil.h"

/* Opens path, expects status `want` and every non-NULL needle in the message. */
static void expect(const char *what, const char *path, as_status want, const char *n1,
                   const char *n2, const char *n3) {
    struct as_model m;
    struct as_err err;
    memset(&err, 0, sizeof err);
    as_status st = as_model_open(&m, path, &err);
    printf("  %-40s -> %s: %s\n", what, as_status_str(st), err.msg);
    TU_CHECK(st == want, "%s: status %s, expected %s", what, as_status_str(st),
             as_status_str(want));
    const char *needles[3] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        if (needles[i])
            TU_CHECK(strstr(err.msg, needles[i]) != NULL, "%s: message lacks \"%s\": %s", what,
                     needles[i], err.msg);
    if (st != AS_OK)
        TU_CHECK(m.tensors == NULL && m.files == NULL && m.w.layers == NULL,
                 "%s: a failed open must leave the model empty", what);
    as_model_free(&m);
}

/* ---------------------------------------------------------------- HF cases */

typedef void (*mutate_fn)(struct synth_hf *s, const char *dir);
enum { BEFORE = 0, AFTER = 1 }; /* mutation applied before or after writing */

static struct stw_tensor *T(struct synth_hf *s, const char *name) {
    struct stw_tensor *t = stw_find(&s->st, name);
    if (!t) {
        fprintf(stderr, "fixture has no tensor %s\n", name);
        abort(); /* a broken test fixture, not a library failure */
    }
    return t;
}

/* begin offset (relative to the data section) of tensor `name` as the writer lays it out */
static int64_t begin_of(struct synth_hf *s, const char *name) {
    int64_t pos = 0;
    for (int i = 0; i < s->st.n; i++) {
        if (strcmp(s->st.t[i].name, name) == 0) return pos;
        if (!s->st.t[i].skip) pos += (int64_t)s->st.t[i].nbytes;
    }
    return -1;
}

static void m_bad_json(struct synth_hf *s, const char *dir) {
    (void)s;
    const char *txt = "{\n  \"hidden_size\": 8,\n  oops\n}\n";
    tu_write_file(pjoin(dir, "config.json"), txt, strlen(txt));
}
static void m_rope_scaling(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "rope_scaling",
                        json_pack("{s:s, s:f}", "type", "linear", "factor", 2.0));
}
static void m_attn_bias(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "attention_bias", json_true());
}
static void m_mlp_bias(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "mlp_bias", json_true());
}
static void m_gelu(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "hidden_act", json_string("gelu"));
}
static void m_mistral(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "model_type", json_string("mistral"));
}
static void m_arch(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "architectures", json_pack("[s]", "MistralForCausalLM"));
}
static void m_no_hidden(struct synth_hf *s, const char *dir) {
    json_object_del(s->config, "hidden_size");
}
static void m_hidden_str(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "hidden_size", json_string("8"));
}
static void m_kv3(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "num_key_value_heads", json_integer(3));
}
static void m_more_layers(struct synth_hf *s, const char *dir) {
    json_object_set_new(s->config, "num_hidden_layers", json_integer(3));
}
static void m_no_config(struct synth_hf *s, const char *dir) {
    unlink(pjoin(dir, "config.json"));
}
static void m_no_weights(struct synth_hf *s, const char *dir) {
    unlink(pjoin(dir, "model.safetensors"));
}
static void m_truncate(struct synth_hf *s, const char *dir) {
    const char *p = pjoin(dir, "model.safetensors");
    char *buf = NULL;
    size_t n = 0;
    if (as_file_read_all(p, &buf, &n, NULL) == AS_OK) tu_write_file(p, buf, n - 10);
    free(buf);
}
static void m_tiny_file(struct synth_hf *s, const char *dir) {
    tu_write_file(pjoin(dir, "model.safetensors"), "\x10\0\0\0\0", 5);
}
static void m_hlen_huge(struct synth_hf *s, const char *dir) {
    s->st.header_len_delta = (int64_t)1 << 40;
}
/* -12 cuts into the JSON whatever the padding (0..7 spaces) */
static void m_hlen_short(struct synth_hf *s, const char *dir) {
    s->st.header_len_delta = -12;
}
static void m_offsets_oob(struct synth_hf *s, const char *dir) {
    struct stw_tensor *t = T(s, "model.layers.1.self_attn.q_proj.weight");
    t->override_offsets = 1, t->begin = 100000, t->end = 100000 + (int64_t)t->nbytes;
}
static void m_offsets_size(struct synth_hf *s, const char *dir) {
    struct stw_tensor *t = T(s, "model.layers.0.self_attn.k_proj.weight");
    int64_t b = begin_of(s, t->name);
    t->override_offsets = 1, t->begin = b, t->end = b + (int64_t)t->nbytes / 2;
}
static void m_overlap(struct synth_hf *s, const char *dir) {
    struct stw_tensor *t = T(s, "model.layers.0.self_attn.v_proj.weight");
    int64_t b = begin_of(s, "model.layers.0.self_attn.k_proj.weight");
    t->override_offsets = 1, t->begin = b, t->end = b + (int64_t)t->nbytes;
}
static void m_hole(struct synth_hf *s, const char *dir) {
    struct stw_tensor *t = T(s, "lm_head.weight");
    int64_t b = begin_of(s, t->name);
    t->override_offsets = 1, t->begin = b + 4, t->end = b + 4 + (int64_t)t->nbytes;
    s->st.trailing_bytes = 4;
}
static void m_trailing(struct synth_hf *s, const char *dir) {
    s->st.trailing_bytes = 4;
}
static void m_i8(struct synth_hf *s, const char *dir) {
    struct stw_tensor *t = T(s, "model.layers.0.self_attn.q_proj.weight");
    snprintf(t->dtype, sizeof t->dtype, "I8");
    t->nbytes /= 4; /* one byte per element, offsets consistent */
}
static void m_f64(struct synth_hf *s, const char *dir) {
    struct stw_tensor *t = T(s, "model.layers.1.mlp.up_proj.weight");
    unsigned char *d = realloc(t->data, t->nbytes * 2);
    if (!d) abort();
    memset(d + t->nbytes, 0, t->nbytes);
    t->data = d;
    t->nbytes *= 2;
    snprintf(t->dtype, sizeof t->dtype, "F64");
}
static void m_q7(struct synth_hf *s, const char *dir) {
    snprintf(T(s, "model.norm.weight")->dtype, 16, "Q7");
}
static void m_shape(struct synth_hf *s, const char *dir) {
    struct stw_tensor *t = T(s, "model.layers.1.self_attn.k_proj.weight");
    t->shape[0] = SYN_D, t->shape[1] = SYN_KV * SYN_HD; /* transposed: same byte count */
}
static void m_missing(struct synth_hf *s, const char *dir) {
    T(s, "model.layers.1.mlp.up_proj.weight")->skip = 1;
}
static void m_bias(struct synth_hf *s, const char *dir) {
    float z[8] = {0};
    int64_t shape[1] = {8};
    stw_add(&s->st, "model.layers.0.self_attn.q_proj.bias", "F32", 1, shape, z, sizeof z);
}
static void m_extra_layer(struct synth_hf *s, const char *dir) {
    float z[8] = {0};
    int64_t shape[1] = {8};
    stw_add(&s->st, "model.layers.2.input_layernorm.weight", "F32", 1, shape, z, sizeof z);
}
static void m_duplicate(struct synth_hf *s, const char *dir) {
    /* jansson objects cannot hold a duplicate key, so write this header by hand */
    const char *h =
        "{\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
    size_t n = strlen(h);
    unsigned char *buf = calloc(1, 8 + n + 8);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, h, n);
    tu_write_file(pjoin(dir, "model.safetensors"), buf, 8 + n + 8);
    free(buf);
}
static void m_shard_missing(struct synth_hf *s, const char *dir) {
    unlink(pjoin(dir, "model-00002-of-00002.safetensors"));
}
static void m_index_json(struct synth_hf *s, const char *dir) {
    tu_write_file(pjoin(dir, "model.safetensors.index.json"), "{\"weight_map\": [", 16);
}
static void m_index_wrong_shard(struct synth_hf *s, const char *dir) {
    const char *p = pjoin(dir, "model.safetensors.index.json");
    json_t *ix = json_load_file(p, 0, NULL);
    json_object_set_new(json_object_get(ix, "weight_map"), "model.norm.weight",
                        json_string("model-00001-of-00002.safetensors"));
    json_dump_file(ix, p, 0);
    json_decref(ix);
}

static const struct hf_case {
    const char *what;
    mutate_fn fn;
    int when;
    int shards;
    as_status want;
    const char *file; /* joined with the temp dir: the message must name this path */
    const char *n1, *n2;
} hf_cases[] = {
    {"config.json not JSON", m_bad_json, AFTER, 0, AS_ERR_FORMAT, "config.json",
     "config.json:3:", "not valid JSON"},
    {"config.json missing", m_no_config, AFTER, 0, AS_ERR_IO, "config.json", "not found", NULL},
    {"rope_scaling non-null", m_rope_scaling, BEFORE, 0, AS_ERR_UNSUPPORTED, "config.json",
     "\"rope_scaling\"", "linear"},
    {"attention_bias true", m_attn_bias, BEFORE, 0, AS_ERR_UNSUPPORTED, "config.json",
     "\"attention_bias\"", NULL},
    {"mlp_bias true", m_mlp_bias, BEFORE, 0, AS_ERR_UNSUPPORTED, "config.json", "\"mlp_bias\"",
     NULL},
    {"hidden_act gelu", m_gelu, BEFORE, 0, AS_ERR_UNSUPPORTED, "config.json", "\"hidden_act\"",
     "gelu"},
    {"model_type mistral", m_mistral, BEFORE, 0, AS_ERR_UNSUPPORTED, "config.json",
     "\"model_type\"", "mistral"},
    {"architectures Mistral", m_arch, BEFORE, 0, AS_ERR_UNSUPPORTED, "config.json",
     "\"architectures\"", "MistralForCausalLM"},
    {"hidden_size missing", m_no_hidden, BEFORE, 0, AS_ERR_FORMAT, "config.json", "\"hidden_size\"",
     NULL},
    {"hidden_size is a string", m_hidden_str, BEFORE, 0, AS_ERR_INVALID, "config.json",
     "\"hidden_size\"", "integer"},
    {"num_key_value_heads 3", m_kv3, BEFORE, 0, AS_ERR_INVALID, "config.json", "n_kv_heads = 3",
     NULL},
    {"config has 3 layers, file 2", m_more_layers, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "model.layers.2.input_layernorm.weight", "missing"},
    {"no weights file", m_no_weights, AFTER, 0, AS_ERR_IO, "", "model.safetensors", "HINT"},
    {"truncated by 10 bytes", m_truncate, AFTER, 0, AS_ERR_FORMAT, "model.safetensors",
     "\"lm_head.weight\"", "truncated"},
    {"5-byte file", m_tiny_file, AFTER, 0, AS_ERR_FORMAT, "model.safetensors", "header length",
     NULL},
    {"header length > file", m_hlen_huge, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "header length 10995116", "larger than"},
    {"header length 12 short", m_hlen_short, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "not valid JSON", NULL},
    {"offsets out of range", m_offsets_oob, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "\"model.layers.1.self_attn.q_proj.weight\"", "beyond"},
    {"offsets != dtype x shape", m_offsets_size, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "\"model.layers.0.self_attn.k_proj.weight\"", "needs 128 bytes"},
    {"overlapping tensors", m_overlap, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "\"model.layers.0.self_attn.v_proj.weight\"", "\"model.layers.0.self_attn.k_proj.weight\""},
    {"hole before a tensor", m_hole, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "\"lm_head.weight\"", "hole of 4 bytes"},
    {"trailing bytes", m_trailing, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "4 trailing bytes", NULL},
    {"dtype I8", m_i8, BEFORE, 0, AS_ERR_UNSUPPORTED, "model.safetensors",
     "\"model.layers.0.self_attn.q_proj.weight\"", "I8"},
    {"dtype F64", m_f64, BEFORE, 0, AS_ERR_UNSUPPORTED, "model.safetensors",
     "\"model.layers.1.mlp.up_proj.weight\"", "F64"},
    {"unknown dtype Q7", m_q7, BEFORE, 0, AS_ERR_UNSUPPORTED, "model.safetensors",
     "\"model.norm.weight\"", "Q7"},
    {"shape mismatch", m_shape, BEFORE, 0, AS_ERR_INVALID, "model.safetensors",
     "\"model.layers.1.self_attn.k_proj.weight\" has shape [8, 4]", "expected [4, 8]"},
    {"missing tensor", m_missing, BEFORE, 0, AS_ERR_FORMAT, "model.safetensors",
     "\"model.layers.1.mlp.up_proj.weight\"", "missing"},
    {"unexpected bias tensor", m_bias, BEFORE, 0, AS_ERR_INVALID, "model.safetensors",
     "\"model.layers.0.self_attn.q_proj.bias\"", "unexpected"},
    {"tensor of a 3rd layer", m_extra_layer, BEFORE, 0, AS_ERR_INVALID, "model.safetensors",
     "\"model.layers.2.input_layernorm.weight\"", "num_hidden_layers = 2"},
    {"duplicate tensor name", m_duplicate, AFTER, 0, AS_ERR_FORMAT, "model.safetensors",
     "model.norm.weight", "duplicate"},
    {"index names a missing shard", m_shard_missing, AFTER, 2, AS_ERR_IO,
     "model.safetensors.index.json", "\"model-00002-of-00002.safetensors\"", "does not exist"},
    {"index.json not JSON", m_index_json, AFTER, 2, AS_ERR_FORMAT, "model.safetensors.index.json",
     "index.json:1:", "not valid JSON"},
    {"index maps to the wrong shard", m_index_wrong_shard, AFTER, 2, AS_ERR_FORMAT,
     "model.safetensors.index.json", "\"model.norm.weight\"", "no such tensor"},
};

static void test_hf_cases(void) {
    /* control: the unmodified fixture loads, in both layouts */
    for (int shards = 0; shards <= 2; shards += 2) {
        struct synth_hf s;
        const char *dir = tu_tmpdir("model-err");
        synth_hf_init(&s, "F32", 0);
        s.shards = shards;
        synth_hf_write(&s, dir);
        expect(shards ? "control (sharded)" : "control", dir, AS_OK, NULL, NULL, NULL);
        synth_hf_free(&s);
        rm_tmpdir(dir);
    }
    for (size_t c = 0; c < sizeof hf_cases / sizeof hf_cases[0]; c++) {
        const struct hf_case *k = &hf_cases[c];
        struct synth_hf s;
        char dir[4096];
        const char *d = tu_tmpdir("model-err");
        TU_CHECK(d != NULL, "tu_tmpdir");
        if (!d) return;
        snprintf(dir, sizeof dir, "%s", d);
        TU_CHECK(synth_hf_init(&s, "F32", 0) == 0, "fixture");
        s.shards = k->shards;
        if (k->when == BEFORE) k->fn(&s, dir);
        TU_CHECK(synth_hf_write(&s, dir) == 0, "%s: writing the fixture", k->what);
        if (k->when == AFTER) k->fn(&s, dir);
        expect(k->what, dir, k->want, k->file[0] ? pjoin(dir, k->file) : dir, k->n1, k->n2);
        synth_hf_free(&s);
        rm_tmpdir(dir);
    }
    expect("path does not exist", "/nonexistent/attnsweep/model", AS_ERR_IO,
           "/nonexistent/attnsweep/model", "no such file", NULL);
}

/* ---------------------------------------------------------------- llama2.c cases */

static void test_l2c_cases(void) {
    char dir[4096];
    const char *d = tu_tmpdir("model-l2c-err");
    TU_CHECK(d != NULL, "tu_tmpdir");
    if (!d) return;
    snprintf(dir, sizeof dir, "%s", d);
    char path[4200];
    snprintf(path, sizeof path, "%s/m.bin", dir);
    /* the fixture is 28 + 4 * 1160 = 4668 bytes: V*D 128, L*D 16, wq 128, wk 64, wv 64,
     * wo 128, L*D 16, w1 192, w2 192, w3 192, D 8, freq_cis 2 * 16 (+ wcls 128 if unshared) */
    synth_l2c_write(path, 0, 0, NULL);
    expect("l2c control", path, AS_OK, NULL, NULL, NULL);

    synth_l2c_write(path, 0, -4, NULL);
    expect("l2c truncated by 4 bytes", path, AS_ERR_FORMAT, path, "expected 4668 bytes",
           "file has 4664 bytes");
    synth_l2c_write(path, 0, +4, NULL);
    expect("l2c 4 bytes too long", path, AS_ERR_FORMAT, path, "expected 4668 bytes",
           "file has 4672 bytes");
    synth_l2c_write(path, 1, -4, NULL); /* unshared: wcls adds V*D floats */
    expect("l2c unshared truncated", path, AS_ERR_FORMAT, path, "expected 5180 bytes",
           "vocab_size=-16");
    tu_write_file(path, "\x08\0\0\0\x0c\0\0\0\x02\0\0\0", 12);
    expect("l2c 12-byte file", path, AS_ERR_FORMAT, path, "header field n_heads", "truncated");
    {
        int32_t h[7] = {-8, 12, 2, 2, 1, 16, 8};
        synth_l2c_write(path, 0, 0, h);
        expect("l2c negative dim", path, AS_ERR_FORMAT, path, "dim = -8", NULL);
    }
    {
        int32_t h[7] = {8, 12, 2, 3, 1, 16, 8};
        synth_l2c_write(path, 0, 0, h);
        expect("l2c dim % n_heads", path, AS_ERR_FORMAT, path, "not divisible by n_heads = 3",
               NULL);
    }
    {
        int32_t h[7] = {8, 12, 2, 2, 3, 16, 8};
        synth_l2c_write(path, 0, 0, h);
        expect("l2c n_heads % n_kv_heads", path, AS_ERR_INVALID, path, "n_kv_heads = 3", NULL);
    }
    {
        int32_t h[7] = {1 << 30, 1 << 30, 4000, 2, 2, 1 << 30, 1 << 30};
        synth_l2c_write(path, 0, 0, h);
        expect("l2c absurd sizes", path, AS_ERR_INVALID, path, "overflow", NULL);
    }
    {
        int32_t h[7] = {0x616b3432, 1, 8, 12, 2, 2, 1};
        synth_l2c_write(path, 0, 0, h);
        expect("l2c versioned export", path, AS_ERR_UNSUPPORTED, path, "ak42", "--version 0");
    }
    unlink(path);
    rm_tmpdir(dir);
}

/* ---------------------------------------------------------------- corrupted copies of real files
 */

static int copy_prefix(const char *src, const char *dst, long delta, uint64_t hlen_delta) {
    char *buf = NULL;
    size_t n = 0;
    if (as_file_read_all(src, &buf, &n, NULL) != AS_OK) return -1;
    if (hlen_delta) {
        uint64_t h = 0;
        for (int i = 0; i < 8; i++)
            h |= (uint64_t)(unsigned char)buf[i] << (8 * i);
        h += hlen_delta;
        for (int i = 0; i < 8; i++)
            buf[i] = (char)(h >> (8 * i));
    }
    int rc = tu_write_file(dst, buf, (size_t)((long)n + delta));
    free(buf);
    return rc;
}

static void test_real_copies(void) {
    const char *fp32 = tu_data_path("reference/hf-tiny-gqa/model-fp32");
    const char *stories = tu_data_path("models/stories260K/stories260K.bin");
    if (!as_dir_exists(fp32) || !as_file_exists(stories)) {
        printf("  (reference data absent: corrupted-copy cases not run)\n");
        return;
    }
    char dir[4096], src[4200];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("model-real-err"));
    snprintf(src, sizeof src, "%s/config.json", fp32);
    copy_prefix(src, pjoin(dir, "config.json"), 0, 0);
    snprintf(src, sizeof src, "%s/model.safetensors", fp32);

    /* -50 cuts only into the last tensor by offset, model.norm.weight (64 bytes) */
    copy_prefix(src, pjoin(dir, "model.safetensors"), -50, 0);
    expect("real fp32 truncated by 50 bytes", dir, AS_ERR_FORMAT, pjoin(dir, "model.safetensors"),
           "\"model.norm.weight\"", "beyond");
    copy_prefix(src, pjoin(dir, "model.safetensors"), 0, 8);
    expect("real fp32 header length + 8", dir, AS_ERR_FORMAT, pjoin(dir, "model.safetensors"),
           "not valid JSON", NULL);
    copy_prefix(src, pjoin(dir, "model.safetensors"), 0, 1ull << 32);
    expect("real fp32 header length + 2^32", dir, AS_ERR_FORMAT, pjoin(dir, "model.safetensors"),
           "larger than the rest of the file", NULL);

    copy_prefix(stories, pjoin(dir, "s.bin"), -100, 0);
    expect("real stories260K truncated", pjoin(dir, "s.bin"), AS_ERR_FORMAT, pjoin(dir, "s.bin"),
           "expected 1056540 bytes", "file has 1056440 bytes");
    rm_tmpdir(dir);
}

/* ---------------------------------------------------------------- random corruption */

/* Flips random bytes of a valid safetensors file / llama2.c file (mostly in the header)
 * and truncates at random lengths. Whatever happens must be a clean status with a
 * message, never a crash or an out-of-bounds read (the ASan build checks the latter). */
static void test_fuzz(void) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir("model-fuzz"));
    struct synth_hf s;
    synth_hf_init(&s, "BF16", 0);
    synth_hf_write(&s, dir);
    const char *stp = pjoin(dir, "model.safetensors");
    char l2c[4200];
    snprintf(l2c, sizeof l2c, "%s/m.bin", dir);
    synth_l2c_write(l2c, 1, 0, NULL);
    char *orig[2] = {NULL, NULL};
    size_t n[2] = {0, 0};
    as_file_read_all(stp, &orig[0], &n[0], NULL);
    as_file_read_all(l2c, &orig[1], &n[1], NULL);
    TU_CHECK(orig[0] && orig[1], "fuzz: reading the fixtures");
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int ok = 0, failed = 0, silent = 0;
    const char *env = getenv("AS_MODEL_FUZZ_ITERS"); /* longer runs by hand */
    int iters = env && atoi(env) > 0 ? atoi(env) : 400;
    for (int it = 0; it < iters && orig[0] && orig[1]; it++) {
        int which = it % 2;
        const char *path = which ? l2c : stp;
        char *buf = malloc(n[which]);
        memcpy(buf, orig[which], n[which]);
        size_t len = n[which];
        int flips = 1 + (int)((rng >> 60) & 3);
        for (int f = 0; f < flips; f++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            /* 3 in 4 flips land in the first 2 KiB: the header and its JSON */
            size_t span = ((rng >> 33) & 3) ? (len < 2048 ? len : 2048) : len;
            size_t pos = (size_t)(rng >> 17) % span;
            buf[pos] = (char)(rng >> 40);
        }
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        if (((rng >> 35) & 7) == 0) len = (size_t)(rng >> 13) % len; /* sometimes truncate */
        tu_write_file(path, buf, len);
        free(buf);
        struct as_model m;
        struct as_err err;
        memset(&err, 0, sizeof err);
        as_status st = as_model_open(&m, which ? l2c : dir, &err);
        if (st == AS_OK) st = as_model_load(&m, &err);
        if (st == AS_OK)
            ok++;
        else {
            failed++;
            if (err.msg[0] == '\0') silent++;
        }
        as_model_free(&m);
    }
    printf("  fuzz: %d corrupted files: %d still loadable, %d rejected\n", iters, ok, failed);
    TU_CHECK(silent == 0, "fuzz: %d errors without a message", silent);
    TU_CHECK(failed > 0, "fuzz: no corruption was detected at all");
    free(orig[0]);
    free(orig[1]);
    synth_hf_free(&s);
    rm_tmpdir(dir);
}

int main(void) {
    test_hf_cases();
    test_l2c_cases();
    test_real_copies();
    test_fuzz();
    return tu_finish("test_model_errors");
}
