/* test_model_load.c - loads the reference models and checks config and weights.
 *
 *  - hf-tiny-gqa model-fp32 / model-sharded / model-bf16 and stories260K.bin: config values;
 *  - fp32 and sharded give bit-identical weights (zero-copy mapped, both);
 *  - a handful of weights equal values read independently with numpy (literals below);
 *  - every bf16 weight equals round-to-nearest-even(fp32 weight) to bf16, which is how
 *    the reference bf16 folder was made (checked with numpy: 0 differences);
 *  - load_into() + attach() give the same floats as load();
 *  - synthetic F16 / BF16 / misaligned-F32 / sharded / tied models (fixtures.c) load exactly. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attnsweep/model.h"
#include "fixtures.h"
#include "testutil.h"

#define HF_FP32    "reference/hf-tiny-gqa/model-fp32"
#define HF_SHARDED "reference/hf-tiny-gqa/model-sharded"
#define HF_BF16    "reference/hf-tiny-gqa/model-bf16"
#define STORIES    "models/stories260K/stories260K.bin"

/* All weight pointers of a loaded model in canonical order, with element counts. */
static int weight_list(const struct as_model *m, const float **p, size_t *n, const char **names) {
    const struct as_config *c = &m->cfg;
    size_t D = c->dim, F = c->hidden_dim, V = c->vocab_size;
    size_t Q = (size_t)c->n_heads * c->head_dim, KV = (size_t)c->n_kv_heads * c->head_dim;
    int k = 0;
#define W(ptr, cnt, nm) (p[k] = (ptr), n[k] = (cnt), names[k] = (nm), k++)
    W(m->w.tok_embeddings, V * D, "tok_embeddings");
    for (int l = 0; l < c->n_layers; l++) {
        const struct as_layer_weights *w = &m->w.layers[l];
        W(w->attn_norm, D, "attn_norm");
        W(w->wq, Q * D, "wq");
        W(w->wk, KV * D, "wk");
        W(w->wv, KV * D, "wv");
        W(w->wo, D * Q, "wo");
        W(w->ffn_norm, D, "ffn_norm");
        W(w->w_gate, F * D, "w_gate");
        W(w->w_up, F * D, "w_up");
        W(w->w_down, D * F, "w_down");
    }
    W(m->w.final_norm, D, "final_norm");
    W(m->w.lm_head, V * D, "lm_head");
#undef W
    return k;
}

static int open_load(struct as_model *m, const char *path) {
    struct as_err err = {0};
    as_status st = as_model_init(m, path, &err);
    TU_CHECK(st == AS_OK, "as_model_init(%s): %s: %s", path, as_status_str(st), err.msg);
    return st == AS_OK;
}

static void check_hf_config(const struct as_model *m, const char *dtype) {
    const struct as_config *c = &m->cfg;
    TU_CHECK(m->format == AS_MODEL_FORMAT_HF, "format %d", (int)m->format);
    TU_CHECK(c->n_layers == 3 && c->n_heads == 4 && c->n_kv_heads == 2 && c->head_dim == 4,
             "L %d H %d Hkv %d hd %d", c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim);
    TU_CHECK(c->dim == 16 && c->hidden_dim == 44 && c->vocab_size == 32000, "D %d F %d V %d",
             c->dim, c->hidden_dim, c->vocab_size);
    TU_CHECK(c->max_position == 256, "max_position %d", c->max_position);
    TU_CHECK(c->rope_theta == 10000.0f && c->rms_eps == 1e-5f, "theta %g eps %g",
             (double)c->rope_theta, (double)c->rms_eps);
    TU_CHECK(c->rope == AS_ROPE_HALF, "rope %d", (int)c->rope);
    TU_CHECK(c->tied_embeddings == 0, "tied %d", c->tied_embeddings);
    TU_CHECK(c->bos_id == 1 && c->eos_id == 2, "bos %d eos %d", c->bos_id, c->eos_id);
    TU_CHECK(strcmp(c->source_dtype, dtype) == 0, "source_dtype %s want %s", c->source_dtype,
             dtype);
    TU_CHECK(strcmp(c->architecture, "LlamaForCausalLM") == 0, "architecture %s", c->architecture);
    TU_CHECK(m->n_tensors == 1 + 9 * 3 + 2, "n_tensors %d", m->n_tensors);
    TU_CHECK(m->weights_floats == as_config_n_params(c), "weights_floats %zu n_params %zu",
             m->weights_floats, as_config_n_params(c));
    TU_CHECK(m->weights_floats ==
                 32000 * 16 * 2 + 16 + 3 * (2 * 16 + 2 * 16 * 16 + 2 * 8 * 16 + 3 * 44 * 16),
             "weights_floats %zu", m->weights_floats);
    TU_CHECK(m->w.lm_head != m->w.tok_embeddings, "untied lm_head must be its own tensor");
}

/* Expected values, computed with /usr/bin/python3 + numpy directly from the
 * safetensors bytes (8-byte LE header length, JSON header, raw data at
 * 8 + N + data_offsets[0]; BF16 widened as uint32(u16) << 16), printed with %.9g:
 *   fp32 = np.frombuffer(raw, '<f4').reshape(shape)[idx]   (model-fp32/model.safetensors)
 *   bf16 = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view(np.float32)[idx]
 *                                                           (model-bf16/model.safetensors) */
static const struct {
    const char *tensor;
    int i, j; /* j = -1 for 1-D */
    float fp32, bf16;
} hf_expect[] = {
    {"model.embed_tokens.weight", 0, 0, -0.0805641189f, -0.0805664062f},
    {"model.embed_tokens.weight", 31999, 15, 0.895856559f, 0.89453125f},
    {"model.embed_tokens.weight", 1234, 7, 0.932156146f, 0.93359375f},
    {"model.layers.1.self_attn.q_proj.weight", 3, 5, 0.739887893f, 0.73828125f},
    {"model.layers.2.self_attn.k_proj.weight", 7, 15, 0.529020369f, 0.52734375f},
    {"model.layers.0.self_attn.v_proj.weight", 2, 9, 0.0191836953f, 0.0191650391f},
    {"model.layers.1.self_attn.o_proj.weight", 15, 0, 0.774908602f, 0.7734375f},
    {"model.layers.1.mlp.down_proj.weight", 10, 43, 0.236523494f, 0.236328125f},
    {"model.layers.2.mlp.gate_proj.weight", 43, 1, 0.199850038f, 0.200195312f},
    {"model.layers.0.mlp.up_proj.weight", 20, 11, -0.230866626f, -0.23046875f},
    {"model.layers.2.input_layernorm.weight", 5, -1, 0.914698005f, 0.9140625f},
    {"model.layers.0.post_attention_layernorm.weight", 15, -1, 0.956498623f, 0.95703125f},
    {"model.norm.weight", 7, -1, 1.10238171f, 1.1015625f},
    {"lm_head.weight", 31999, 15, -0.190501139f, -0.190429688f},
    {"lm_head.weight", 42, 3, 0.0909407437f, 0.0908203125f},
};

/* Resolves an HF name to a weight pointer and its row length. */
static const float *hf_lookup(const struct as_model *m, const char *name, int *cols) {
    const struct as_config *c = &m->cfg;
    int l;
    char rest[96];
    *cols = c->dim;
    if (strcmp(name, "model.embed_tokens.weight") == 0) return m->w.tok_embeddings;
    if (strcmp(name, "lm_head.weight") == 0) return m->w.lm_head;
    if (strcmp(name, "model.norm.weight") == 0) return m->w.final_norm;
    if (sscanf(name, "model.layers.%d.%95s", &l, rest) != 2 || l < 0 || l >= c->n_layers)
        return NULL;
    const struct as_layer_weights *w = &m->w.layers[l];
    if (strcmp(rest, "self_attn.q_proj.weight") == 0) return w->wq;
    if (strcmp(rest, "self_attn.k_proj.weight") == 0) return w->wk;
    if (strcmp(rest, "self_attn.v_proj.weight") == 0) return w->wv;
    if (strcmp(rest, "mlp.gate_proj.weight") == 0) return w->w_gate;
    if (strcmp(rest, "mlp.up_proj.weight") == 0) return w->w_up;
    if (strcmp(rest, "input_layernorm.weight") == 0) return w->attn_norm;
    if (strcmp(rest, "post_attention_layernorm.weight") == 0) return w->ffn_norm;
    *cols = c->n_heads * c->head_dim;
    if (strcmp(rest, "self_attn.o_proj.weight") == 0) return w->wo;
    *cols = c->hidden_dim;
    if (strcmp(rest, "mlp.down_proj.weight") == 0) return w->w_down;
    return NULL;
}

static void check_hf_values(const struct as_model *m, int bf16) {
    for (size_t k = 0; k < sizeof hf_expect / sizeof hf_expect[0]; k++) {
        int cols;
        const float *p = hf_lookup(m, hf_expect[k].tensor, &cols);
        TU_CHECK(p != NULL, "no pointer for %s", hf_expect[k].tensor);
        if (!p) continue;
        size_t idx = hf_expect[k].j < 0 ? (size_t)hf_expect[k].i
                                        : (size_t)hf_expect[k].i * cols + hf_expect[k].j;
        float want = bf16 ? hf_expect[k].bf16 : hf_expect[k].fp32;
        TU_CHECK(p[idx] == want, "%s %s[%d,%d] = %.9g, numpy says %.9g", bf16 ? "bf16" : "fp32",
                 hf_expect[k].tensor, hf_expect[k].i, hf_expect[k].j, p[idx], want);
    }
}

/* fp32 -> bf16 -> fp32, round to nearest even (finite inputs). */
static float round_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

static int ptr_in_file(const struct as_model *m, const void *p) {
    for (int f = 0; f < m->n_files; f++) {
        const unsigned char *b = m->files[f].data;
        if ((const unsigned char *)p >= b && (const unsigned char *)p < b + m->files[f].size)
            return 1;
    }
    return 0;
}

static void test_hf_reference(void) {
    struct as_model fp32, sh, bf;
    memset(&fp32, 0, sizeof fp32);
    memset(&sh, 0, sizeof sh);
    memset(&bf, 0, sizeof bf);
    if (!open_load(&fp32, tu_data_path(HF_FP32))) return;
    if (!open_load(&sh, tu_data_path(HF_SHARDED))) goto out;
    if (!open_load(&bf, tu_data_path(HF_BF16))) goto out;
    printf("model-fp32:\n");
    as_config_print(&fp32.cfg, stdout);
    check_hf_config(&fp32, "F32");
    check_hf_config(&sh, "F32");
    check_hf_config(&bf, "BF16");

    /* all-F32 sources are mapped, not copied; bf16 is converted into an owned buffer */
    TU_CHECK(fp32.zero_copy == 1 && fp32.owned == NULL && fp32.n_files == 1,
             "fp32: zero_copy %d owned %p n_files %d", fp32.zero_copy, (void *)fp32.owned,
             fp32.n_files);
    TU_CHECK(ptr_in_file(&fp32, fp32.w.layers[2].wq), "fp32 wq should point into the mapping");
    TU_CHECK(sh.zero_copy == 1 && sh.n_files == 2, "sharded: zero_copy %d n_files %d", sh.zero_copy,
             sh.n_files);
    TU_CHECK(bf.zero_copy == 0 && bf.owned != NULL, "bf16: zero_copy %d owned %p", bf.zero_copy,
             (void *)bf.owned);

    const float *pa[64], *pb[64], *pc[64];
    size_t na[64], nb[64], nc[64];
    const char *names[64];
    int n = weight_list(&fp32, pa, na, names);
    weight_list(&sh, pb, nb, names);
    weight_list(&bf, pc, nc, names);
    int identical = 1, bf_ok = 1;
    for (int k = 0; k < n; k++) {
        if (memcmp(pa[k], pb[k], na[k] * sizeof(float)) != 0) {
            fprintf(stderr, "  sharded %s (#%d) differs from fp32\n", names[k], k);
            identical = 0;
        }
        for (size_t i = 0; i < na[k]; i++)
            if (pc[k][i] != round_bf16(pa[k][i])) {
                if (bf_ok)
                    fprintf(stderr, "  bf16 %s (#%d)[%zu] = %.9g, round_bf16(fp32) = %.9g\n",
                            names[k], k, i, pc[k][i], round_bf16(pa[k][i]));
                bf_ok = 0;
            }
    }
    TU_CHECK(identical, "fp32 and sharded weights must be bit-identical");
    TU_CHECK(bf_ok, "bf16 weights must equal bf16-rounded fp32 weights");
    check_hf_values(&fp32, 0);
    check_hf_values(&sh, 0);
    check_hf_values(&bf, 1);

    /* load_into a caller buffer, attach a second model to it: same floats, same layout */
    {
        struct as_model a, b;
        struct as_err err = {0};
        as_status st = as_model_open(&a, tu_data_path(HF_FP32), &err);
        TU_CHECK(st == AS_OK, "open: %s", err.msg);
        float *buf = st == AS_OK ? malloc(a.weights_floats * sizeof(float)) : NULL;
        if (buf) {
            st = as_model_load_into(&a, buf, &err);
            TU_CHECK(st == AS_OK && a.owned == NULL && a.zero_copy == 0, "load_into: %s", err.msg);
            st = as_model_load(&a, &err);
            TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "already loaded"),
                     "second load must fail: %s", err.msg);
            st = as_model_open(&b, tu_data_path(HF_FP32), &err);
            TU_CHECK(st == AS_OK, "open b: %s", err.msg);
            st = as_model_attach(&b, buf, &err);
            TU_CHECK(st == AS_OK, "attach: %s", err.msg);
            const float *pd[64];
            size_t nd[64];
            weight_list(&b, pd, nd, names);
            int same = 1;
            for (int k = 0; k < n; k++) {
                same &= memcmp(pd[k], pa[k], na[k] * sizeof(float)) == 0;
                same &= pd[k] >= buf && pd[k] + nd[k] <= buf + b.weights_floats;
            }
            TU_CHECK(same, "attached weights must equal the mapped fp32 weights and lie in buf");
            TU_CHECK(b.w.layers[0].attn_norm == buf + b.tensors[1].dst, "layout");
            as_model_free(&b);
        }
        as_model_free(&a);
        free(buf);
    }
out:
    as_model_free(&fp32);
    as_model_free(&sh);
    as_model_free(&bf);
}

/* Expected values computed with numpy from stories260K.bin: w = np.frombuffer(raw[28:], '<f4'),
 * split in the order of models/stories260K/README.md, then reshaped as (L, rows, cols). */
static void test_stories(void) {
    struct as_model m;
    memset(&m, 0, sizeof m);
    if (!open_load(&m, tu_data_path(STORIES))) return;
    const struct as_config *c = &m.cfg;
    printf("stories260K:\n");
    as_config_print(c, stdout);
    TU_CHECK(m.format == AS_MODEL_FORMAT_LLAMA2C, "format %d", (int)m.format);
    TU_CHECK(c->dim == 64 && c->hidden_dim == 172 && c->n_layers == 5 && c->n_heads == 8 &&
                 c->n_kv_heads == 4 && c->vocab_size == 512 && c->max_position == 512,
             "header D %d F %d L %d H %d Hkv %d V %d S %d", c->dim, c->hidden_dim, c->n_layers,
             c->n_heads, c->n_kv_heads, c->vocab_size, c->max_position);
    TU_CHECK(c->head_dim == 8 && c->rope == AS_ROPE_INTERLEAVED && c->tied_embeddings == 1,
             "hd %d rope %d tied %d", c->head_dim, (int)c->rope, c->tied_embeddings);
    TU_CHECK(c->rope_theta == 10000.0f && c->rms_eps == 1e-5f, "theta %g eps %g",
             (double)c->rope_theta, (double)c->rms_eps);
    TU_CHECK(m.w.lm_head == m.w.tok_embeddings, "tied classifier");
    TU_CHECK(m.zero_copy == 1, "stories260K is F32 and 4-byte aligned: should be mapped");
    TU_CHECK(as_config_n_params(c) == 260032, "n_params %zu, README says 260032",
             as_config_n_params(c));
    const struct as_layer_weights *w = m.w.layers;
    struct {
        const char *what;
        float got, want;
    } v[] = {
        {"emb[0,0]", m.w.tok_embeddings[0], -0.294748783f},
        {"emb[511,63]", m.w.tok_embeddings[511 * 64 + 63], -0.424032599f},
        {"rms_att[4][10]", w[4].attn_norm[10], 1.1024791f},
        {"wq[2][5,7]", w[2].wq[5 * 64 + 7], -0.0686883852f},
        {"wk[3][31,63]", w[3].wk[31 * 64 + 63], -0.351718724f},
        {"wv[0][1,2]", w[0].wv[1 * 64 + 2], 0.0308812596f},
        {"wo[4][63,0]", w[4].wo[63 * 64 + 0], -0.145393297f},
        {"rms_ffn[1][2]", w[1].ffn_norm[2], 0.908283472f},
        {"w1(gate)[2][171,63]", w[2].w_gate[171 * 64 + 63], -0.151634842f},
        {"w2(down)[3][63,171]", w[3].w_down[63 * 172 + 171], -0.0631706715f},
        {"w3(up)[4][100,20]", w[4].w_up[100 * 64 + 20], 0.0458371714f},
        {"rms_final[63]", m.w.final_norm[63], 1.7077769f},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        TU_CHECK(v[k].got == v[k].want, "stories %s = %.9g, numpy says %.9g", v[k].what, v[k].got,
                 v[k].want);
    as_model_free(&m);
    as_model_free(&m); /* free twice is harmless */
}

/* ---- synthetic models (no reference data needed) */

static void check_synth_values(const struct as_model *m, const char *what) {
    const float *p[64];
    size_t n[64];
    const char *names[64];
    int k = weight_list(m, p, n, names);
    int bad = 0;
    for (int t = 0; t < k; t++) {
        int src = t;
        if (t == k - 1 && m->cfg.tied_embeddings) src = 0; /* lm_head is embed_tokens */
        for (size_t i = 0; i < n[t]; i++)
            if (p[t][i] != synth_value(src, i)) {
                if (!bad)
                    fprintf(stderr, "  %s: %s (#%d)[%zu] = %g, want %g\n", what, names[t], t, i,
                            p[t][i], synth_value(src, i));
                bad++;
            }
    }
    TU_CHECK(bad == 0, "%s: %d wrong weights", what, bad);
}

static void test_synthetic(void) {
    static const struct {
        const char *dtype;
        int tied, shards, misalign, zero_copy;
    } cases[] = {{"F32", 0, 0, 0, 1}, {"F16", 0, 0, 0, 0}, {"BF16", 0, 0, 0, 0},
                 {"F32", 1, 0, 0, 1}, {"F32", 0, 2, 0, 1}, {"F32", 0, 0, 1, 0},
                 {"BF16", 1, 2, 0, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char what[128];
        snprintf(what, sizeof what, "synthetic %s tied=%d shards=%d misalign=%d", cases[c].dtype,
                 cases[c].tied, cases[c].shards, cases[c].misalign);
        struct synth_hf s;
        const char *dir = tu_tmpdir("model-synth");
        TU_CHECK(dir && synth_hf_init(&s, cases[c].dtype, cases[c].tied) == 0, "%s: init", what);
        s.shards = cases[c].shards;
        s.st.misalign = cases[c].misalign;
        TU_CHECK(synth_hf_write(&s, dir) == 0, "%s: write", what);
        struct as_model m;
        struct as_err err = {0};
        as_status st = as_model_init(&m, dir, &err);
        TU_CHECK(st == AS_OK, "%s: %s", what, err.msg);
        if (st == AS_OK) {
            TU_CHECK(m.zero_copy == cases[c].zero_copy && (m.owned != NULL) == !cases[c].zero_copy,
                     "%s: zero_copy %d owned %p", what, m.zero_copy, (void *)m.owned);
            TU_CHECK(m.cfg.tied_embeddings == cases[c].tied, "%s: tied %d", what,
                     m.cfg.tied_embeddings);
            TU_CHECK(strcmp(m.cfg.source_dtype, cases[c].dtype) == 0, "%s: source_dtype %s", what,
                     m.cfg.source_dtype);
            check_synth_values(&m, what);
        }
        as_model_free(&m);
        synth_hf_free(&s);
        rm_tmpdir(dir);
    }

    /* no lm_head.weight although tie_word_embeddings is false: tied, as HF does */
    {
        struct synth_hf s;
        const char *dir = tu_tmpdir("model-synth");
        synth_hf_init(&s, "F32", 0);
        stw_find(&s.st, "lm_head.weight")->skip = 1;
        synth_hf_write(&s, dir);
        struct as_model m;
        struct as_err err = {0};
        as_status st = as_model_init(&m, dir, &err);
        TU_CHECK(st == AS_OK && m.cfg.tied_embeddings == 1 && m.w.lm_head == m.w.tok_embeddings,
                 "missing lm_head -> tied: %s", err.msg);
        as_model_free(&m);
        /* tie_word_embeddings true wins over a stored lm_head.weight */
        stw_find(&s.st, "lm_head.weight")->skip = 0;
        json_object_set_new(s.config, "tie_word_embeddings", json_true());
        synth_hf_write(&s, dir);
        st = as_model_init(&m, dir, &err);
        TU_CHECK(st == AS_OK && m.cfg.tied_embeddings == 1 && m.w.lm_head == m.w.tok_embeddings,
                 "tie_word_embeddings true -> tied: %s", err.msg);
        as_model_free(&m);
        synth_hf_free(&s);
        rm_tmpdir(dir);
    }

    /* llama2.c, shared and unshared classifier */
    for (int unshared = 0; unshared < 2; unshared++) {
        const char *dir = tu_tmpdir("model-l2c");
        const char *path = pjoin(dir, "m.bin");
        TU_CHECK(synth_l2c_write(path, unshared, 0, NULL) == 0, "write l2c");
        struct as_model m;
        struct as_err err = {0};
        as_status st = as_model_init(&m, path, &err);
        TU_CHECK(st == AS_OK, "l2c unshared=%d: %s", unshared, err.msg);
        if (st == AS_OK) {
            TU_CHECK(m.cfg.tied_embeddings == !unshared && m.cfg.vocab_size == SYN_V,
                     "l2c tied %d V %d", m.cfg.tied_embeddings, m.cfg.vocab_size);
            /* block b of the file holds synth_value(b, i); layer l of a stacked block is the
             * slice starting at l * per_layer */
            const struct as_layer_weights *w = m.w.layers;
            size_t D = SYN_D, F = SYN_F, KV = SYN_KV * SYN_HD;
            int bad = 0;
            for (int l = 0; l < SYN_L; l++) {
                bad += w[l].attn_norm[3] != synth_value(1, l * D + 3);
                bad += w[l].wq[D * D - 1] != synth_value(2, l * D * D + D * D - 1);
                bad += w[l].wk[5] != synth_value(3, l * KV * D + 5);
                bad += w[l].wv[KV * D - 1] != synth_value(4, l * KV * D + KV * D - 1);
                bad += w[l].wo[9] != synth_value(5, l * D * D + 9);
                bad += w[l].ffn_norm[7] != synth_value(6, l * D + 7);
                bad += w[l].w_gate[11] != synth_value(7, l * F * D + 11);
                bad += w[l].w_down[13] != synth_value(8, l * D * F + 13);
                bad += w[l].w_up[F * D - 1] != synth_value(9, l * F * D + F * D - 1);
            }
            bad += m.w.tok_embeddings[17] != synth_value(0, 17);
            bad += m.w.final_norm[2] != synth_value(10, 2);
            if (unshared)
                bad += m.w.lm_head[21] != synth_value(13, 21);
            else
                bad += m.w.lm_head != m.w.tok_embeddings;
            TU_CHECK(bad == 0, "l2c unshared=%d: %d wrong values", unshared, bad);
        }
        as_model_free(&m);
        rm_tmpdir(dir);
    }
}

/* TinyLlama-1.1B-Chat-v1.0's real config.json with a full-size BF16 safetensors layout whose
 * 2.2 GB of data is a hole in a sparse file: open() must accept the target model's exact
 * config and tensor table (201 tensors) without reading any weight. */
#define TINYLLAMA_CONFIG "tokenizers/llama2/config.json"
static void test_tinyllama_layout(void) {
    char *cfg = NULL;
    size_t cfg_len = 0;
    struct as_err err = {0};
    if (as_file_read_all(tu_data_path(TINYLLAMA_CONFIG), &cfg, &cfg_len, &err) != AS_OK) {
        TU_CHECK(0, "%s", err.msg);
        return;
    }
    const char *dir = tu_tmpdir("model-tinyllama");
    tu_write_file(pjoin(dir, "config.json"), cfg, cfg_len);
    free(cfg);
    const int64_t L = 22, D = 2048, F = 5632, V = 32000, Q = 32 * 64, KV = 4 * 64;
    struct stw_file st;
    stw_init(&st);
    char nm[128];
    int64_t sh[2];
#define ADD2(name, r, c)                                                                           \
    (sh[0] = (r), sh[1] = (c),                                                                     \
     stw_add_sparse(&st, name, "BF16", 2, sh, (size_t)(r) * (size_t)(c)*2))
#define ADD1(name, r) (sh[0] = (r), stw_add_sparse(&st, name, "BF16", 1, sh, (size_t)(r)*2))
    ADD2("lm_head.weight", V, D);
    ADD2("model.embed_tokens.weight", V, D);
    for (int l = 0; l < L; l++) {
#define LN(suffix) (snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix), nm)
        ADD1(LN("input_layernorm.weight"), D);
        ADD2(LN("mlp.down_proj.weight"), D, F);
        ADD2(LN("mlp.gate_proj.weight"), F, D);
        ADD2(LN("mlp.up_proj.weight"), F, D);
        ADD1(LN("post_attention_layernorm.weight"), D);
        ADD2(LN("self_attn.k_proj.weight"), KV, D);
        ADD2(LN("self_attn.o_proj.weight"), D, Q);
        ADD2(LN("self_attn.q_proj.weight"), Q, D);
        ADD2(LN("self_attn.v_proj.weight"), KV, D);
#undef LN
    }
    ADD1("model.norm.weight", D);
#undef ADD1
#undef ADD2
    TU_CHECK(stw_write(&st, pjoin(dir, "model.safetensors")) == 0, "writing the sparse layout");
    stw_free(&st);

    struct as_model m;
    as_status s = as_model_open(&m, dir, &err);
    TU_CHECK(s == AS_OK, "open TinyLlama layout: %s", err.msg);
    if (s == AS_OK) {
        const struct as_config *c = &m.cfg;
        printf("TinyLlama-1.1B-Chat-v1.0 config.json + sparse BF16 layout:\n");
        as_config_print(c, stdout);
        TU_CHECK(c->n_layers == 22 && c->n_heads == 32 && c->n_kv_heads == 4 && c->head_dim == 64 &&
                     c->dim == 2048 && c->hidden_dim == 5632 && c->vocab_size == 32000 &&
                     c->max_position == 2048,
                 "TinyLlama dims");
        TU_CHECK(c->rope_theta == 10000.0f && c->rms_eps == 1e-5f && c->rope == AS_ROPE_HALF &&
                     !c->tied_embeddings && c->bos_id == 1 && c->eos_id == 2 &&
                     strcmp(c->source_dtype, "BF16") == 0,
                 "TinyLlama scalars");
        TU_CHECK(m.n_tensors == 201, "n_tensors %d", m.n_tensors);
        /* 1,100,048,384 parameters: the number on the TinyLlama model card */
        TU_CHECK(m.weights_floats == 1100048384u, "weights_floats %zu", m.weights_floats);
    }
    as_model_free(&m);
    unlink(pjoin(dir, "config.json"));
    rm_tmpdir(dir);
}

int main(void) {
    test_synthetic();
    if (tu_failures) return tu_finish("test_model_load"); /* never hide a failure behind a skip */
    tu_require_data(HF_FP32);
    tu_require_data(HF_SHARDED);
    tu_require_data(HF_BF16);
    tu_require_data(STORIES);
    tu_require_data(TINYLLAMA_CONFIG);
    test_hf_reference();
    test_stories();
    test_tinyllama_layout();
    return tu_finish("test_model_load");
}
