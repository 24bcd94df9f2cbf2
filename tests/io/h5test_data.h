/* h5test_data.h - synthetic prompts and a deterministic attention pattern
 * shared by the io tests (format 2: one store mode and dtype per file). */
#ifndef ATTNSWEEP_TESTS_H5TEST_DATA_H
#define ATTNSWEEP_TESTS_H5TEST_DATA_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/dtype.h"
#include "attnsweep/h5out.h"
#include "testutil.h"

#define H5T_L  3
#define H5T_H  4
#define H5T_NP 5

/* Causal, row-normalised: w(k) = 1 + ((7p + 5l + 3h + 2q + k) mod 11) for k <= q, else 0. */
static inline void h5t_fill_layer(int p, int l, int H, int T, float *out /* (H, T, T) */) {
    for (int h = 0; h < H; h++)
        for (int q = 0; q < T; q++) {
            float *row = out + ((size_t)h * T + q) * T;
            double sum = 0;
            for (int k = 0; k < T; k++) {
                row[k] = k <= q ? (float)(1 + (7 * p + 5 * l + 3 * h + 2 * q + k) % 11) : 0.0f;
                sum += row[k];
            }
            for (int k = 0; k < T; k++)
                row[k] = (float)(row[k] / sum);
        }
}

static const char *const h5t_tok0[] = {"<s>", "Hello", " w", "\xc3\xb6r", "ld"};
static const int32_t h5t_off0[] = {0, 0, 0, 5, 5, 7, 7, 10, 10, 12};
static const char *const h5t_tok1[] = {"<s>",           "na",          "\xc3\xafve", " caf\xc3\xa9",
                                       " \xe6\x97\xa5", "\xe6\x9c\xac"};
static const int32_t h5t_off1[] = {0, 0, 0, 2, 2, 6, 6, 12, 12, 16, 16, 19};
static const char *const h5t_tok2[] = {"<s>", "The", " quick", " brown", " fox"};
static const int32_t h5t_off2[] = {0, 0, 0, 3, 3, 9, 9, 15, 15, 19};
static const char *const h5t_tok3[] = {"<s>", "ab", "c", "d"};
static const int32_t h5t_off3[] = {0, 0, 0, 2, 2, 3, 3, 4};
static const char *const h5t_tok4[] = {"<s>", "x", "yz"};
static const int32_t h5t_off4[] = {0, 0, 0, 1, 1, 3};

struct h5t_set {
    struct as_h5_prompt_spec specs[H5T_NP];
    int32_t ids[H5T_NP][8];
    struct as_config cfg;
    struct as_h5_provenance prov;
    struct as_h5_create_spec cs;
};

static inline struct as_config h5t_config(void) {
    struct as_config c;
    memset(&c, 0, sizeof c);
    c.n_layers = H5T_L, c.n_heads = H5T_H, c.n_kv_heads = 2, c.head_dim = 8, c.dim = 32;
    c.hidden_dim = 64, c.vocab_size = 512, c.max_position = 128, c.rope_theta = 10000.0f;
    c.rms_eps = 1e-5f, c.rope = AS_ROPE_HALF, c.tied_embeddings = 0, c.bos_id = 1, c.eos_id = 2;
    strcpy(c.source_dtype, "BF16");
    strcpy(c.architecture, "LlamaForCausalLM");
    return c;
}

/* Token ids are 100p + t + 1. */
static inline void h5t_set_init(struct h5t_set *s, enum as_store store, enum as_out_dtype dtype) {
    memset(s, 0, sizeof *s);
    static const char *ids[H5T_NP] = {"g/alpha", "g/beta caf\xc3\xa9", "h/gamma", "h/delta",
                                      "epsilon"};
    static const char *texts[H5T_NP] = {"Hello w\xc3\xb6rld",
                                        "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
                                        "The quick brown fox", "abcd", "xyz"};
    static const int T[H5T_NP] = {5, 6, 5, 4, 3};
    static const char *const *toks[H5T_NP] = {h5t_tok0, h5t_tok1, h5t_tok2, h5t_tok3, h5t_tok4};
    static const int32_t *offs[H5T_NP] = {h5t_off0, h5t_off1, h5t_off2, h5t_off3, h5t_off4};
    for (int p = 0; p < H5T_NP; p++) {
        struct as_h5_prompt_spec *sp = &s->specs[p];
        for (int t = 0; t < T[p]; t++)
            s->ids[p][t] = 100 * p + t + 1;
        sp->id = ids[p];
        sp->text = texts[p];
        sp->group = p < 2 ? "g" : p < 4 ? "h" : "";
        sp->variant = p < 4 ? strchr(ids[p], '/') + 1 : "";
        sp->n_tokens = T[p];
        sp->rank = -1;
        sp->token_ids = s->ids[p];
        sp->tokens = toks[p];
        sp->offsets = offs[p];
    }
    s->cfg = h5t_config();
    s->prov = (struct as_h5_provenance){
        .version = "0.1.0",
        .git_commit = "abc123",
        .model_path = "/nonexistent/model",
        .command_line = "attnsweep run sweep.yaml",
        .model_size = 1234,
        .model_mtime = 1700000000,
        .config_sha256 = "761adf8d97e15214e4da44effe63bc331092f597e3089818d5825c87444b1f27",
        .config_text = "groups: []\n"};
    s->cs = (struct as_h5_create_spec){.prov = &s->prov,
                                       .model = &s->cfg,
                                       .n_prompts = H5T_NP,
                                       .prompts = s->specs,
                                       .store = store,
                                       .dtype = dtype,
                                       .n_layers = H5T_L,
                                       .n_heads = H5T_H};
}

/* Writes prompts [first, first + n) as one batch and commits them done. */
static inline as_status h5t_write_batch(struct as_h5file *f, int64_t first, int n,
                                        struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5batch b;
    float *buf = malloc((size_t)H5T_H * 8 * 8 * sizeof *buf);
    int8_t status[H5T_NP];
    if (!buf) return as_err_set(err, AS_ERR_NOMEM, "test buffer");
    AS_TRY(as_h5batch_begin(f, first, n, &b, err));
    for (int k = 0; k < n; k++) {
        int64_t p = first + k;
        int T = f->prompts[p].n_tokens;
        for (int l = 0; l < H5T_L; l++) {
            h5t_fill_layer((int)p, l, H5T_H, T, buf);
            AS_TRY(as_h5batch_write_layer(&b, p, l, buf, H5T_H, T, err));
        }
        status[k] = AS_PROMPT_DONE;
    }
    AS_TRY(as_h5batch_commit(&b, NULL, NULL, status, err));
done:
    as_h5batch_free(&b);
    free(buf);
    return ret;
}

/* Reads every layer of prompt p back and compares with the pattern. */
static inline int h5t_check_prompt(struct as_h5file *f, int p) {
    int T = f->prompts[p].n_tokens, bad = 0;
    float want[H5T_H * 8 * 8], got[H5T_H * 8 * 8];
    double tol = f->dtype == AS_OUT_F16 ? 2.5e-4 : 0.0;
    struct as_err err = {0};
    for (int l = 0; l < H5T_L; l++) {
        h5t_fill_layer(p, l, H5T_H, T, want);
        if (as_h5file_read_attention_layer(f, p, l, got, &err) != AS_OK) {
            TU_CHECK(0, "read prompt %d layer %d: %s", p, l, err.msg);
            return 1;
        }
        for (int h = 0; h < H5T_H; h++)
            for (int k = 0; k < T; k++)
                for (int q = 0; q < (f->store == AS_STORE_FULL ? T : 1); q++) {
                    int qq = f->store == AS_STORE_FULL ? q : T - 1;
                    float w = want[((size_t)h * T + qq) * T + k];
                    float g = f->store == AS_STORE_FULL ? got[((size_t)h * T + q) * T + k]
                                                        : got[(size_t)h * T + k];
                    if (fabs((double)g - (double)w) > tol) bad++;
                }
    }
    TU_CHECK(bad == 0, "prompt %d: %d attention values differ from the pattern", p, bad);
    return bad;
}

#endif
