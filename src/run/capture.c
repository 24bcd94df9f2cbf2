/* capture.c - value norms and pre-softmax scores of a batch into the file's
 * layout (capture.h). Value norms ||W_O^h v_j|| and last-row scores are
 * gathered as [token, layer, head] rows like /attention/last_row and written
 * in one transfer per dataset before the batch commits; full scores go to
 * the file one (prompt, layer) block at a time, like full attention. */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/dtype.h"
#include "attnsweep/h5capture.h"
#include "capture.h"

static size_t elsize(const struct as_h5file *f) {
    return f->dtype == AS_OUT_F16 ? 2 : 4;
}

static void put(const struct as_capbuf *cb, void *rows, size_t at, float v) {
    if (cb->f->dtype == AS_OUT_F16)
        ((uint16_t *)rows)[at] = as_f32_to_f16(v);
    else
        ((float *)rows)[at] = v;
}

/* (n, L, H) rows of prompt `index` at their place in a batch buffer */
static size_t at_of(const struct as_capbuf *cb, int64_t base, int j, int slot, int k) {
    return ((size_t)(base + j) * cb->L + (size_t)slot) * cb->H + (size_t)k;
}

/* grows a row buffer to n cells of el bytes (contents undefined) */
static int grow(void **p, size_t n, size_t el) {
    void *q = realloc(*p, n * el + 1);
    if (!q) return 0;
    *p = q;
    return 1;
}

/* row buffers for n_tok tokens: float32 norms and last rows (the norm-weighted metrics; a
 * float16 file gets its own converted copy at flush), last-row scores in the file's dtype */
static as_status reserve(struct as_capbuf *cb, int64_t n_tok, struct as_err *err) {
    if (n_tok <= (int64_t)cb->cap_tok && cb->cap_tok > 0) return AS_OK;
    const size_t cells = (size_t)n_tok * cb->L * cb->H, f16 = cb->f->dtype == AS_OUT_F16;
    if (cb->norms) {
        if (!f16) cb->norm_rows = NULL; /* aliases norm32 */
        if (!grow((void **)&cb->norm32, cells, sizeof(float)) ||
            !grow((void **)&cb->last32, cells, sizeof(float)) ||
            (f16 && !grow(&cb->norm_rows, cells, 2)))
            return as_err_set(err, AS_ERR_NOMEM, "out of memory for the value norms of %lld tokens",
                              (long long)n_tok);
        if (!f16) cb->norm_rows = cb->norm32;
    }
    if (cb->scores && cb->f->store == AS_STORE_LAST_ROW &&
        !grow(&cb->score_rows, cells, elsize(cb->f)))
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for the score rows of %lld tokens",
                          (long long)n_tok);
    cb->cap_tok = (size_t)n_tok;
    return AS_OK;
}

as_status as_capbuf_init(struct as_capbuf *cb, const struct as_job *j, const struct as_model *m,
                         struct as_h5file *f, const int *slot, const int *heads, int max_tok,
                         int Tmax, struct as_err *err) {
    const struct as_job_store st = as_job_store_of(j);
    memset(cb, 0, sizeof *cb);
    cb->norms = as_h5file_exists(f, "attention/value_norm") > 0;
    cb->scores = as_h5file_exists(f, "attention/scores_full") > 0 ||
                 as_h5file_exists(f, "attention/scores_last_row") > 0;
    cb->active = cb->norms || cb->scores;
    if (!cb->active) return AS_OK;
    cb->L = st.L, cb->H = st.H, cb->slot = slot, cb->heads = heads, cb->f = f;
    as_status ret = cb->norms ? as_vnorm_init(&cb->vn, m, err) : AS_OK;
    if (ret == AS_OK) ret = reserve(cb, (int64_t)max_tok, err);
    if (ret != AS_OK) return ret;
    if (cb->scores && heads && !(cb->gather = malloc(sizeof(float) * (size_t)st.H * Tmax * Tmax)))
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for the score head subset");
    return AS_OK;
}

void as_capbuf_free(struct as_capbuf *cb) {
    as_vnorm_free(&cb->vn);
    if (cb->norm_rows != cb->norm32) free(cb->norm_rows);
    free(cb->norm32);
    free(cb->last32);
    free(cb->score_rows);
    free(cb->gather);
    memset(cb, 0, sizeof *cb);
}

as_status as_capbuf_begin(struct as_capbuf *cb, const struct as_h5batch *hb, const int64_t *index,
                          struct as_err *err) {
    if (!cb->active) return AS_OK;
    as_status ret = reserve(cb, hb->n_tok, err);
    if (ret != AS_OK) return ret;
    cb->index = index, cb->first = hb->first, cb->tok0 = hb->tok0, cb->n_tok = hb->n_tok;
    const size_t cells = (size_t)hb->n_tok * cb->L * cb->H, bytes = cells * elsize(cb->f);
    if (cb->norm32) memset(cb->norm32, 0, cells * sizeof(float));
    if (cb->last32) memset(cb->last32, 0, cells * sizeof(float));
    if (cb->score_rows) memset(cb->score_rows, 0, bytes);
    return AS_OK;
}

/* first row of prompt `index` in the batch's row buffers, or -1 if it does not fit */
static int64_t row_base(const struct as_capbuf *cb, int64_t index, int T) {
    const int64_t base = cb->f->prompts[index].tok_start - cb->tok0;
    return base >= 0 && base + T <= cb->n_tok && (size_t)(base + T) <= cb->cap_tok ? base : -1;
}

static as_status vnorm_fn(void *ctx, int seq, int layer, int first_key, int n_keys,
                          const float *norms, struct as_err *err) {
    struct as_capbuf *cb = ctx;
    const int slot = cb->slot[layer];
    if (slot < 0) return AS_OK;
    const int64_t base = row_base(cb, cb->index[seq], first_key + n_keys);
    if (base < 0)
        return as_err_set(err, AS_ERR_INTERNAL, "value norms of sequence %d outside its batch",
                          seq);
    for (int k = 0; k < cb->H; k++) {
        const float *src = norms + (size_t)(cb->heads ? cb->heads[k] : k) * n_keys;
        for (int j = 0; j < n_keys; j++)
            cb->norm32[at_of(cb, base, first_key + j, slot, k)] = src[j];
    }
    return AS_OK;
}

static as_status scores_fn(void *ctx, int seq, int layer, int first_row, int n_rows, int n_keys,
                           const float *block, struct as_err *err) {
    struct as_capbuf *cb = ctx;
    const int slot = cb->slot[layer];
    if (slot < 0) return AS_OK;
    if (first_row != 0 || n_rows != n_keys)
        return as_err_set(err, AS_ERR_INTERNAL, "scores: expected a prefill block");
    const int T = n_keys;
    const size_t TT = (size_t)T * T;
    if (cb->f->store == AS_STORE_FULL) {
        const float *src = block;
        if (cb->heads) {
            for (int k = 0; k < cb->H; k++)
                memcpy(cb->gather + k * TT, block + (size_t)cb->heads[k] * TT, TT * sizeof(float));
            src = cb->gather;
        }
        return as_h5file_write_scores_layer(cb->f, cb->index[seq], slot, src, cb->H, T, err);
    }
    const int64_t base = row_base(cb, cb->index[seq], T);
    if (base < 0)
        return as_err_set(err, AS_ERR_INTERNAL, "scores of sequence %d outside its batch", seq);
    for (int k = 0; k < cb->H; k++) {
        const float *row =
            block + (size_t)(cb->heads ? cb->heads[k] : k) * TT + (size_t)(T - 1) * T;
        for (int j = 0; j < T; j++)
            put(cb, cb->score_rows, at_of(cb, base, j, slot, k), row[j]);
    }
    return AS_OK;
}

/* the probabilities of a prefill, handed to the worker's (H, T, T) sink */
static as_status probs_fn(void *ctx, int seq, int layer, int first_row, int n_rows, int n_keys,
                          const float *block, struct as_err *err) {
    struct as_capbuf *cb = ctx;
    if (first_row != 0 || n_rows != n_keys)
        return as_err_set(err, AS_ERR_INTERNAL, "probabilities: expected a prefill block");
    const int slot = cb->slot[layer], T = n_keys;
    if (cb->last32 && slot >= 0) { /* the last rows, for the norm-weighted metrics */
        const int64_t base = row_base(cb, cb->index[seq], T);
        if (base < 0)
            return as_err_set(err, AS_ERR_INTERNAL,
                              "probabilities of sequence %d outside its "
                              "batch",
                              seq);
        for (int k = 0; k < cb->H; k++) {
            const float *row =
                block + ((size_t)(cb->heads ? cb->heads[k] : k) * T + (size_t)(T - 1)) * T;
            for (int j = 0; j < T; j++)
                cb->last32[at_of(cb, base, j, slot, k)] = row[j];
        }
    }
    return cb->probs.fn ? cb->probs.fn(cb->probs.ctx, seq, layer, block, n_keys, err) : AS_OK;
}

void as_capbuf_capture(struct as_capbuf *cb, struct as_attn_sink probs, struct as_capture *cap) {
    memset(cap, 0, sizeof *cap);
    cb->probs = probs;
    cap->probs = (struct as_rows_sink){probs_fn, cb};
    if (cb->scores) cap->scores = (struct as_rows_sink){scores_fn, cb};
    if (cb->norms) {
        cap->value_norms = (struct as_vnorm_sink){vnorm_fn, cb};
        cap->vnorm = &cb->vn;
    }
}

void as_capbuf_prompt(const struct as_capbuf *cb, int64_t index, const float **last,
                      const float **norms) {
    const size_t at = (size_t)(cb->f->prompts[index].tok_start - cb->tok0) * cb->L * cb->H;
    *last = cb->last32 ? cb->last32 + at : NULL;
    *norms = cb->norm32 ? cb->norm32 + at : NULL;
}

as_status as_capbuf_flush(struct as_capbuf *cb, struct as_err *err) {
    as_status ret = AS_OK;
    if (!cb->active || cb->n_tok < 1 || (!cb->norm_rows && !cb->score_rows)) return AS_OK;
    if (cb->norm_rows && cb->norm_rows != cb->norm32) { /* float16 file */
        const size_t cells = (size_t)cb->n_tok * cb->L * cb->H;
        for (size_t i = 0; i < cells; i++)
            ((uint16_t *)cb->norm_rows)[i] = as_f32_to_f16(cb->norm32[i]);
    }
    struct as_table rows;
    as_table_init(&rows);
    const int64_t shape[3] = {cb->n_tok, cb->L, cb->H};
    const enum as_col_type t = cb->f->dtype == AS_OUT_F16 ? AS_COL_F16 : AS_COL_F32;
    if (cb->norm_rows)
        as_table_add(&rows, "value_norm", t, "token,layer,head", shape, cb->norm_rows, 0);
    if (cb->score_rows)
        as_table_add(&rows, "scores_last_row", t, "token,layer,head", shape, cb->score_rows, 0);
    if (rows.oom)
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory");
    else
        ret = as_h5file_write_rows(cb->f, "attention", &rows, cb->first, err);
    as_table_free(&rows);
    return ret;
}
