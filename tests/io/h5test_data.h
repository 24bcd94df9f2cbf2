/* h5test_data.h - synthetic prompts and a deterministic attention pattern
 * shared by the io tests. tests/io/check_h5out.py recomputes the same
 * pattern with numpy: keep the two in sync. */
#ifndef ATTNSWEEP_TESTS_H5TEST_DATA_H
#define ATTNSWEEP_TESTS_H5TEST_DATA_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
static const char *const h5t_tok4[] = {"<s>", "x", "yz"};
static const int32_t h5t_off4[] = {0, 0, 0, 1, 1, 3};

struct h5t_set {
    struct as_h5_prompt_spec specs[H5T_NP];
    int32_t ids[H5T_NP][8];
};

/* Token ids are 100p + t + 1. Prompt 3 has no token data at create time:
 * its ids are written later with as_h5prompt_write_tokens. */
static inline void h5t_set_init(struct h5t_set *s) {
    memset(s, 0, sizeof *s);
    static const char *ids[H5T_NP] = {"alpha", "beta caf\xc3\xa9", "gamma", "delta", "epsilon"};
    static const char *texts[H5T_NP] = {"Hello w\xc3\xb6rld",
                                        "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
                                        "The quick brown fox", "abcd", "xyz"};
    static const int T[H5T_NP] = {5, 6, 5, 4, 3};
    static const enum as_store store[H5T_NP] = {AS_STORE_FULL, AS_STORE_FULL, AS_STORE_LAST_ROW,
                                                AS_STORE_LAST_ROW, AS_STORE_NONE};
    static const enum as_out_dtype dt[H5T_NP] = {AS_OUT_F32, AS_OUT_F16, AS_OUT_F32, AS_OUT_F16,
                                                 AS_OUT_F32};
    static const char *const *toks[H5T_NP] = {h5t_tok0, h5t_tok1, h5t_tok2, NULL, h5t_tok4};
    static const int32_t *offs[H5T_NP] = {h5t_off0, h5t_off1, h5t_off2, NULL, h5t_off4};
    for (int p = 0; p < H5T_NP; p++) {
        struct as_h5_prompt_spec *sp = &s->specs[p];
        for (int t = 0; t < T[p]; t++)
            s->ids[p][t] = 100 * p + t + 1;
        sp->id = ids[p];
        sp->text = texts[p];
        sp->group = p < 2 ? "greetings" : NULL;
        sp->variant = p < 2 ? (p == 0 ? "plain" : "fancy") : NULL;
        sp->n_tokens = T[p];
        sp->n_layers = H5T_L;
        sp->n_heads = H5T_H;
        sp->store = store[p];
        sp->dtype = dt[p];
        sp->rank = -1;
        sp->token_ids = p == 3 ? NULL : s->ids[p];
        sp->tokens = toks[p];
        sp->offsets = offs[p];
    }
}

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

/* Writes every layer of prompt p through an open handle. */
static inline as_status h5t_write_prompt(struct as_h5file *f, int p, const struct h5t_set *s,
                                         struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5prompt h;
    const struct as_h5_prompt_spec *sp = &s->specs[p];
    int T = sp->n_tokens, H = sp->n_heads;
    float *buf = malloc((size_t)H * T * T * sizeof *buf);
    if (!buf) return as_err_set(err, AS_ERR_NOMEM, "test buffer");
    ret = as_h5prompt_open(f, p, &h, err);
    if (ret != AS_OK) goto out;
    for (int l = 0; l < sp->n_layers && ret == AS_OK; l++) {
        h5t_fill_layer(p, l, H, T, buf);
        ret = as_h5prompt_write_attention_layer(&h, l, buf, H, T, err);
    }
    if (ret == AS_OK && !sp->token_ids) ret = as_h5prompt_write_tokens(&h, s->ids[p], NULL, T, err);
    as_status rc = as_h5prompt_close(&h, ret == AS_OK ? err : NULL);
    if (ret == AS_OK) ret = rc;
out:
    free(buf);
    return ret;
}

/* Reads prompt p back and compares it with the pattern and the spec; returns failures. */
static inline int h5t_verify_prompt(struct as_h5file *f, int p, const struct h5t_set *s) {
    int before = tu_failures;
    struct as_err err = {0};
    struct as_h5prompt h;
    const struct as_h5_prompt_spec *sp = &s->specs[p];
    int T = sp->n_tokens, H = sp->n_heads, L = sp->n_layers;
    char what[128];
    int64_t idx = as_h5file_find_prompt(f, sp->id);
    TU_CHECK(idx == p, "find_prompt('%s') = %lld; expected %d", sp->id, (long long)idx, p);
    as_status st = as_h5prompt_open(f, p, &h, &err);
    TU_CHECK(st == AS_OK, "open prompt %d: %s", p, err.msg);
    if (st != AS_OK) return tu_failures - before;
    TU_CHECK(h.info->n_tokens == T && h.info->store == sp->store && h.info->dtype == sp->dtype,
             "prompt %d table row: T=%d store=%d dtype=%d", p, h.info->n_tokens, (int)h.info->store,
             (int)h.info->dtype);
    size_t layer_n = (size_t)H * T * T;
    float *want = malloc(layer_n * sizeof *want), *all = malloc(L * layer_n * sizeof *all);
    float *row = malloc((size_t)H * T * sizeof *row);
    if (sp->store != AS_STORE_NONE) {
        st = as_h5prompt_read_attention(&h, all, &err);
        TU_CHECK(st == AS_OK, "read attention of prompt %d: %s", p, err.msg);
        double tol = sp->dtype == AS_OUT_F16 ? 1e-3 : 0.0;
        for (int l = 0; st == AS_OK && l < L; l++) {
            h5t_fill_layer(p, l, H, T, want);
            if (sp->store == AS_STORE_FULL) {
                snprintf(what, sizeof what, "%s layer %d (full, %s)", sp->id, l,
                         as_out_dtype_name(sp->dtype));
                tu_compare_f32(what, all + l * layer_n, want, layer_n, tol);
            } else {
                for (int hh = 0; hh < H; hh++)
                    memcpy(row + (size_t)hh * T, want + ((size_t)hh * T + T - 1) * T,
                           (size_t)T * sizeof *row);
                snprintf(what, sizeof what, "%s layer %d (last_row, %s)", sp->id, l,
                         as_out_dtype_name(sp->dtype));
                tu_compare_f32(what, all + (size_t)l * H * T, row, (size_t)H * T, tol);
            }
        }
    } else {
        st = as_h5prompt_read_attention_layer(&h, 0, all, &err);
        TU_CHECK(st == AS_ERR_INVALID, "store=none read gave %d: %s", (int)st, err.msg);
    }
    int32_t ids[8] = {0}, offs[16] = {0};
    st = as_h5prompt_read_token_ids(&h, ids, &err);
    TU_CHECK(st == AS_OK, "read token ids of %d: %s", p, err.msg);
    for (int t = 0; t < T; t++)
        TU_CHECK(ids[t] == s->ids[p][t], "%s token_ids[%d] = %d; expected %d", sp->id, t, ids[t],
                 s->ids[p][t]);
    st = as_h5prompt_read_offsets(&h, offs, &err);
    TU_CHECK(st == AS_OK, "read offsets of %d: %s", p, err.msg);
    for (int t = 0; t < 2 * T; t++) {
        int32_t w = sp->offsets ? sp->offsets[t] : -1;
        TU_CHECK(offs[t] == w, "%s offsets[%d] = %d; expected %d", sp->id, t, offs[t], w);
    }
    char **toks = NULL;
    st = as_h5prompt_read_tokens(&h, &toks, &err);
    TU_CHECK(st == AS_OK, "read tokens of %d: %s", p, err.msg);
    for (int t = 0; toks && t < T; t++) {
        const char *w = sp->tokens ? sp->tokens[t] : "";
        TU_CHECK(!strcmp(toks[t], w), "%s tokens[%d] = '%s'; expected '%s'", sp->id, t, toks[t], w);
    }
    free(toks);
    free(want);
    free(all);
    free(row);
    st = as_h5prompt_close(&h, &err);
    TU_CHECK(st == AS_OK, "close prompt %d: %s", p, err.msg);
    return tu_failures - before;
}

#endif
