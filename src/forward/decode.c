/* decode.c - one KV-cache decode step for the active sequences of a batch.
 * The same HF LlamaForCausalLM lines as forward.c, for one new row per
 * sequence: the n_active rows are packed like a prefill's, so each projection
 * is one pass over its weights (as_linear_rows), and each row attends to its
 * own slot of the cache. */
#include <cblas.h>
#include <string.h>

#include "attnsweep/decode.h"
#include "kernels.h"

/* out (n, d_out) = x (n, d_in) W^T (+=): the decode step's only projection call site. It uses as
 * many threads as OpenBLAS is set to (the rank's cores, as for the prefill); the result does not
 * depend on that number. */
static void proj(float *out, const float *x, const float *w, int n, int d_in, int d_out,
                 int accumulate, enum as_kernel k) {
    if (k == AS_KERNEL_NAIVE)
        as_linear_naive(out, x, w, n, d_in, d_out, accumulate);
    else
        as_linear_rows_mt(out, d_out, x, d_in, w, d_in, n, d_in, d_out, accumulate,
                          openblas_get_num_threads());
}

static as_status check_step(const struct as_model *m, const struct as_runstate *rs,
                            const struct as_kvcache *kv, int n_active, const int *slots,
                            const int32_t *ids, const struct as_capture *cap, struct as_err *err) {
    const struct as_config *c = &m->cfg;
    if (kv->n_layers != c->n_layers || kv->n_heads != c->n_heads ||
        kv->n_kv_heads != c->n_kv_heads || kv->head_dim != c->head_dim)
        return as_err_set(err, AS_ERR_INVALID, "decode: the KV cache was built for another model");
    if (n_active < 1 || n_active > kv->n_slots || n_active > rs->max_tokens)
        return as_err_set(err, AS_ERR_INVALID,
                          "decode: %d active sequences (KV cache slots %d, runstate rows %d)",
                          n_active, kv->n_slots, rs->max_tokens);
    if (cap && cap->value_norms.fn && rs->kernel != AS_KERNEL_NAIVE &&
        (!cap->vnorm || !cap->vnorm->gram || cap->vnorm->n_layers != c->n_layers ||
         cap->vnorm->n_heads != c->n_heads || cap->vnorm->head_dim != c->head_dim))
        return as_err_set(err, AS_ERR_INVALID,
                          "decode: value norms requested without a struct as_vnorm of this model "
                          "(HINT: as_vnorm_init once per model)");
    for (int i = 0; i < n_active; i++) {
        const int s = slots[i];
        if (s < 0 || s >= kv->n_slots)
            return as_err_set(err, AS_ERR_INVALID, "decode: slot %d outside [0, %d)", s,
                              kv->n_slots);
        for (int j = 0; j < i; j++)
            if (slots[j] == s)
                return as_err_set(err, AS_ERR_INVALID,
                                  "decode: slot %d is active twice (entries %d and %d)", s, j, i);
        if (kv->len[s] >= kv->max_ctx || kv->len[s] >= c->max_position)
            return as_err_set(err, AS_ERR_INVALID,
                              "decode: sequence %d is full: %d tokens (KV cache max_ctx %d, "
                              "max_position_embeddings %d)",
                              s, kv->len[s], kv->max_ctx, c->max_position);
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return as_err_set(err, AS_ERR_INVALID,
                              "decode: sequence %d position %d: token id %d is outside the "
                              "vocabulary [0, %d)",
                              s, kv->len[s], (int)ids[i], c->vocab_size);
    }
    return AS_OK;
}

as_status as_decode_step(const struct as_model *m, struct as_runstate *rs, struct as_kvcache *kv,
                         int n_active, const int *slots, const int32_t *ids,
                         const struct as_capture *cap, float *logits, struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_config *c = &m->cfg;
    const int D = c->dim, F = c->hidden_dim, H = c->n_heads, Hkv = c->n_kv_heads;
    const int hd = c->head_dim, qd = H * hd, kvd = Hkv * hd, n = n_active, ctx = kv->max_ctx;
    const enum as_kernel kern = rs->kernel;
    AS_TRY(check_step(m, rs, kv, n_active, slots, ids, cap, err));
    AS_ASSERT(H % Hkv == 0 && hd % 2 == 0);
    const struct as_rows_sink *probs_sink = cap && cap->probs.fn ? &cap->probs : NULL;
    const struct as_rows_sink *scores_sink = cap && cap->scores.fn ? &cap->scores : NULL;
    const struct as_vnorm_sink *vn_sink = cap && cap->value_norms.fn ? &cap->value_norms : NULL;
    float *cos_p = kv->rope, *sin_p = kv->rope + hd / 2;

    /* inputs_embeds = embed_tokens(input_ids): one row per active sequence */
    for (int i = 0; i < n; i++)
        memcpy(rs->x + (size_t)i * D, m->w.tok_embeddings + (size_t)ids[i] * D,
               (size_t)D * sizeof(float));

    for (int l = 0; l < c->n_layers; l++) {
        const struct as_layer_weights *w = &m->w.layers[l];
        /* hidden = input_layernorm(x); q, k, v = q_proj(hidden), k_proj(hidden), v_proj(hidden) */
        as_rmsnorm(rs->xb, rs->x, w->attn_norm, n, D, c->rms_eps);
        proj(rs->q, rs->xb, w->wq, n, D, qd, 0, kern);
        proj(rs->k, rs->xb, w->wk, n, D, kvd, 0, kern);
        proj(rs->v, rs->xb, w->wv, n, D, kvd, 0, kern);
        /* q, k = apply_rotary_pos_emb(q, k, cos, sin) at each sequence's position; append k, v */
        for (int i = 0; i < n; i++) {
            const int s = slots[i], t = kv->len[s];
            float *qi = rs->q + (size_t)i * qd, *ki = rs->k + (size_t)i * kvd;
            const float *vi = rs->v + (size_t)i * kvd;
            as_rope_row(cos_p, sin_p, t, hd, c->rope_theta);
            as_rope_apply(qi, H, hd, cos_p, sin_p, c->rope);
            as_rope_apply(ki, Hkv, hd, cos_p, sin_p, c->rope);
            float *kc = as_kvcache_k(kv, l, s), *vc = as_kvcache_v(kv, l, s);
            for (int g = 0; g < Hkv; g++) {
                memcpy(kc + ((size_t)g * ctx + t) * hd, ki + (size_t)g * hd, hd * sizeof(float));
                memcpy(vc + ((size_t)g * ctx + t) * hd, vi + (size_t)g * hd, hd * sizeof(float));
            }
        }
        /* value norms of the new keys: kv->vn (H, n), scratch in att_out, then one (H, 1) block
         * per sequence */
        if (vn_sink) {
            if (kern == AS_KERNEL_NAIVE)
                as_value_norms_naive(kv->vn, n, rs->v, kvd, n, w->wo, D, H, Hkv, hd);
            else
                as_value_norms(kv->vn, n, rs->v, kvd, n, cap->vnorm->gram + (size_t)l * H * hd * hd,
                               H, Hkv, hd, rs->att_out);
            for (int i = 0; i < n; i++) {
                for (int h = 0; h < H; h++)
                    kv->row[h] = kv->vn[(size_t)h * n + i];
                ret = vn_sink->fn(vn_sink->ctx, slots[i], l, kv->len[slots[i]], 1, kv->row, err);
                if (ret != AS_OK) goto done;
            }
        }
        /* attn_weights = softmax(q k^T / sqrt(hd)) over the cached keys; attn_output = weights v */
        for (int i = 0; i < n; i++) {
            const int s = slots[i], t = kv->len[s], nk = t + 1;
            as_attention_row_scores(kv->row, rs->q + (size_t)i * qd, as_kvcache_k(kv, l, s), nk,
                                    ctx, H, Hkv, hd, kern);
            if (scores_sink) {
                ret = scores_sink->fn(scores_sink->ctx, s, l, t, 1, nk, kv->row, err);
                if (ret != AS_OK) goto done;
            }
            as_attention_row_apply(rs->att_out + (size_t)i * qd, kv->row, as_kvcache_v(kv, l, s),
                                   nk, ctx, H, Hkv, hd, kern);
            if (probs_sink) {
                ret = probs_sink->fn(probs_sink->ctx, s, l, t, 1, nk, kv->row, err);
                if (ret != AS_OK) goto done;
            }
        }
        /* x = x + o_proj(attn_output) */
        proj(rs->x, rs->att_out, w->wo, n, qd, D, 1, kern);
        /* x = x + down_proj(silu(gate_proj(h)) * up_proj(h)),  h = post_attention_layernorm(x) */
        as_rmsnorm(rs->xb, rs->x, w->ffn_norm, n, D, c->rms_eps);
        proj(rs->hb, rs->xb, w->w_gate, n, D, F, 0, kern);
        proj(rs->hb2, rs->xb, w->w_up, n, D, F, 0, kern);
        as_swiglu(rs->hb, rs->hb2, (size_t)n * F);
        proj(rs->x, rs->hb, w->w_down, n, F, D, 1, kern);
    }
    for (int i = 0; i < n; i++)
        kv->len[slots[i]]++;

    /* logits = lm_head(norm(x)) of each new row */
    if (logits) {
        as_rmsnorm(rs->xb, rs->x, m->w.final_norm, n, D, c->rms_eps);
        proj(logits, rs->xb, m->w.lm_head, n, D, c->vocab_size, 0, kern);
    }
done:
    return ret;
}
