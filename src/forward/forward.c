/* forward.c - the Llama prefill over a packed batch, layer by layer.
 * Each step names the HF LlamaForCausalLM line it implements. */
#include <string.h>

#include "attnsweep/decode.h"
#include "attnsweep/forward.h"
#include "kernels.h"

static as_status check_batch(const struct as_model *m, const struct as_runstate *rs,
                             const struct as_batch *b, int *total, int *longest,
                             struct as_err *err) {
    *total = 0;
    *longest = 0;
    if (b->n_seq < 1 || b->n_seq > rs->n_seq_cap)
        return as_err_set(err, AS_ERR_INVALID, "forward: batch of %d sequences (capacity %d)",
                          b->n_seq, rs->n_seq_cap);
    for (int s = 0; s < b->n_seq; s++) {
        int T = b->lens[s];
        if (T < 1) return as_err_set(err, AS_ERR_INVALID, "forward: sequence %d is empty", s);
        if (T > m->cfg.max_position)
            return as_err_set(err, AS_ERR_INVALID,
                              "forward: sequence %d has %d tokens, more than the model's "
                              "max_position_embeddings %d",
                              s, T, m->cfg.max_position);
        for (int t = 0; t < T; t++) {
            int32_t id = b->ids[s][t];
            if (id < 0 || id >= m->cfg.vocab_size)
                return as_err_set(err, AS_ERR_INVALID,
                                  "forward: sequence %d position %d: token id %d is outside the "
                                  "vocabulary [0, %d)",
                                  s, t, (int)id, m->cfg.vocab_size);
        }
        *total += T;
        if (T > *longest) *longest = T;
    }
    if (*total > rs->max_tokens || *longest > rs->max_seq_len)
        return as_err_set(err, AS_ERR_INVALID,
                          "forward: batch has %d tokens (longest %d), runstate capacity is %d "
                          "(longest %d)",
                          *total, *longest, rs->max_tokens, rs->max_seq_len);
    return AS_OK;
}

/* q, k, v in one GEMM when their weights are consecutive rows of one buffer
 * (the canonical fp32 buffer of converted and synthetic models lays them out
 * so; mapped F32 safetensors keep the file's order) and the MLP scratch can
 * hold the fused output (2F >= qd + 2 kvd: hb and hb2 are consecutive). */
static int fuse_qkv(const struct as_layer_weights *w, int D, int qd, int kvd, int F) {
    return w->wk == w->wq + (size_t)qd * D && w->wv == w->wk + (size_t)kvd * D &&
           2 * F >= qd + 2 * kvd;
}

/* Copies the keys (after RoPE) and values of each sequence's rows into its slot. */
static void kv_store(struct as_kvcache *kv, int l, const struct as_batch *b, const float *k,
                     const float *v, int Hkv, int hd) {
    const size_t kvd = (size_t)Hkv * hd, ctx = (size_t)kv->max_ctx;
    for (int s = 0, row = 0; s < b->n_seq; s++) {
        float *kc = as_kvcache_k(kv, l, s), *vc = as_kvcache_v(kv, l, s);
        for (int t = 0; t < b->lens[s]; t++, row++)
            for (int g = 0; g < Hkv; g++) {
                memcpy(kc + (g * ctx + t) * hd, k + row * kvd + (size_t)g * hd, hd * sizeof(float));
                memcpy(vc + (g * ctx + t) * hd, v + row * kvd + (size_t)g * hd, hd * sizeof(float));
            }
    }
}

static as_status check_capture(const struct as_model *m, const struct as_runstate *rs,
                               struct as_kvcache *kv, const struct as_batch *b, int longest,
                               const struct as_capture *cap, struct as_err *err) {
    if (cap && cap->value_norms.fn && rs->kernel != AS_KERNEL_NAIVE &&
        (!cap->vnorm || !cap->vnorm->gram || cap->vnorm->n_layers != m->cfg.n_layers ||
         cap->vnorm->n_heads != m->cfg.n_heads || cap->vnorm->head_dim != m->cfg.head_dim))
        return as_err_set(err, AS_ERR_INVALID,
                          "forward: value norms requested without a struct as_vnorm of this model "
                          "(HINT: as_vnorm_init once per model)");
    if (kv && (kv->n_slots < b->n_seq || kv->max_ctx < longest || kv->n_layers != m->cfg.n_layers ||
               kv->n_kv_heads != m->cfg.n_kv_heads || kv->head_dim != m->cfg.head_dim ||
               kv->n_heads != m->cfg.n_heads))
        return as_err_set(err, AS_ERR_INVALID,
                          "forward: KV cache of %d slots x %d tokens cannot hold a batch of %d "
                          "sequences (longest %d) of this model",
                          kv->n_slots, kv->max_ctx, b->n_seq, longest);
    return AS_OK;
}

/* The prefill. Exactly one of `legacy` (as_forward's (H, T, T) sink) and `cap` is used for the
 * probabilities; both may be NULL. */
static as_status prefill(const struct as_model *m, struct as_runstate *rs, const struct as_batch *b,
                         struct as_kvcache *kv, const struct as_attn_sink *legacy,
                         const struct as_capture *cap, struct as_forward_out *out,
                         struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_config *c = &m->cfg;
    const int D = c->dim, F = c->hidden_dim, H = c->n_heads, Hkv = c->n_kv_heads;
    const int hd = c->head_dim, qd = H * hd, kvd = Hkv * hd;
    const enum as_kernel kern = rs->kernel;
    int N, Tmax;
    AS_TRY(check_batch(m, rs, b, &N, &Tmax, err));
    AS_TRY(check_capture(m, rs, kv, b, Tmax, cap, err));
    AS_ASSERT(H % Hkv == 0 && hd % 2 == 0);
    const struct as_rows_sink *probs_sink = cap && cap->probs.fn ? &cap->probs : NULL;
    const struct as_rows_sink *scores_sink = cap && cap->scores.fn ? &cap->scores : NULL;
    const struct as_vnorm_sink *vn_sink = cap && cap->value_norms.fn ? &cap->value_norms : NULL;
    if (kv) as_kvcache_reset(kv);

    /* inputs_embeds = embed_tokens(input_ids) */
    for (int s = 0, row = 0; s < b->n_seq; s++)
        for (int t = 0; t < b->lens[s]; t++, row++)
            memcpy(rs->x + (size_t)row * D, m->w.tok_embeddings + (size_t)b->ids[s][t] * D,
                   (size_t)D * sizeof(float));
    as_rope_table(rs->rope_cos, rs->rope_sin, Tmax, hd, c->rope_theta);

    for (int l = 0; l < c->n_layers; l++) {
        const struct as_layer_weights *w = &m->w.layers[l];
        /* hidden = input_layernorm(x); q, k, v = q_proj(hidden), k_proj(hidden), v_proj(hidden) */
        as_rmsnorm(rs->xb, rs->x, w->attn_norm, N, D, c->rms_eps);
        if (fuse_qkv(w, D, qd, kvd, F)) {
            /* one GEMM for q, k and v (their weights are consecutive rows of one buffer), into
             * the MLP scratch, then split into the q, k, v row blocks */
            const int qkv = qd + 2 * kvd;
            as_linear(rs->hb, rs->xb, w->wq, N, D, qkv, 0, kern);
            for (int r = 0; r < N; r++) {
                const float *src = rs->hb + (size_t)r * qkv;
                memcpy(rs->q + (size_t)r * qd, src, (size_t)qd * sizeof(float));
                memcpy(rs->k + (size_t)r * kvd, src + qd, (size_t)kvd * sizeof(float));
                memcpy(rs->v + (size_t)r * kvd, src + qd + kvd, (size_t)kvd * sizeof(float));
            }
        } else {
            as_linear(rs->q, rs->xb, w->wq, N, D, qd, 0, kern);
            as_linear(rs->k, rs->xb, w->wk, N, D, kvd, 0, kern);
            as_linear(rs->v, rs->xb, w->wv, N, D, kvd, 0, kern);
        }
        /* q, k = apply_rotary_pos_emb(q, k, cos, sin): positions restart at 0 per sequence */
        for (int s = 0, row = 0; s < b->n_seq; s++)
            for (int t = 0; t < b->lens[s]; t++, row++) {
                const float *cp = rs->rope_cos + (size_t)t * (hd / 2);
                const float *sp = rs->rope_sin + (size_t)t * (hd / 2);
                as_rope_apply(rs->q + (size_t)row * qd, H, hd, cp, sp, c->rope);
                as_rope_apply(rs->k + (size_t)row * kvd, Hkv, hd, cp, sp, c->rope);
            }
        if (kv) kv_store(kv, l, b, rs->k, rs->v, Hkv, hd);
        /* ||W_O^h v_j|| of every key, into probs (H, T) before the attention needs it */
        for (int s = 0, row = 0; vn_sink && s < b->n_seq; s++) {
            const int T = b->lens[s];
            const float *vs = rs->v + (size_t)row * kvd;
            if (kern == AS_KERNEL_NAIVE)
                as_value_norms_naive(rs->probs, T, vs, kvd, T, w->wo, D, H, Hkv, hd);
            else
                as_value_norms(rs->probs, T, vs, kvd, T, cap->vnorm->gram + (size_t)l * H * hd * hd,
                               H, Hkv, hd, rs->att_out);
            ret = vn_sink->fn(vn_sink->ctx, s, l, 0, T, rs->probs, err);
            if (ret != AS_OK) goto done;
            row += T;
        }
        /* attn_weights = softmax(q k^T / sqrt(hd) + causal_mask); attn_output = attn_weights v */
        for (int s = 0, row = 0; s < b->n_seq; s++) {
            const int T = b->lens[s];
            float *o = rs->att_out + (size_t)row * qd;
            const float *qs = rs->q + (size_t)row * qd, *ks = rs->k + (size_t)row * kvd;
            const float *vs = rs->v + (size_t)row * kvd;
            if (scores_sink) {
                as_attention_scores(rs->probs, qs, ks, T, H, Hkv, hd, kern);
                ret = scores_sink->fn(scores_sink->ctx, s, l, 0, T, T, rs->probs, err);
                if (ret != AS_OK) goto done;
                as_attention_softmax_pv(o, rs->probs, vs, T, H, Hkv, hd, kern);
            } else {
                as_attention(o, rs->probs, qs, ks, vs, T, H, Hkv, hd, kern);
            }
            if (legacy && legacy->fn) ret = legacy->fn(legacy->ctx, s, l, rs->probs, T, err);
            if (ret == AS_OK && probs_sink)
                ret = probs_sink->fn(probs_sink->ctx, s, l, 0, T, T, rs->probs, err);
            if (ret != AS_OK) goto done;
            row += T;
        }
        /* x = x + o_proj(attn_output) */
        as_linear(rs->x, rs->att_out, w->wo, N, qd, D, 1, kern);
        /* x = x + down_proj(silu(gate_proj(h)) * up_proj(h)),  h = post_attention_layernorm(x) */
        as_rmsnorm(rs->xb, rs->x, w->ffn_norm, N, D, c->rms_eps);
        if (w->w_up == w->w_gate + (size_t)F * D) {
            /* one GEMM for gate and up (consecutive weight rows) into hb and hb2, which are
             * consecutive too: rows [gate | up] of 2F; SwiGLU then compacts them into hb */
            as_linear(rs->hb, rs->xb, w->w_gate, N, D, 2 * F, 0, kern);
            as_swiglu_rows(rs->hb, N, F);
        } else {
            as_linear(rs->hb, rs->xb, w->w_gate, N, D, F, 0, kern);
            as_linear(rs->hb2, rs->xb, w->w_up, N, D, F, 0, kern);
            as_swiglu(rs->hb, rs->hb2, (size_t)N * F);
        }
        as_linear(rs->x, rs->hb, w->w_down, N, F, D, 1, kern);
    }
    if (kv)
        for (int s = 0; s < b->n_seq; s++)
            kv->len[s] = b->lens[s];

    /* hidden_states = norm(x); logits = lm_head(hidden_states[:, -1]) */
    if (out && out->hidden) as_rmsnorm(out->hidden, rs->x, m->w.final_norm, N, D, c->rms_eps);
    if (out && out->logits) {
        for (int s = 0, row = 0; s < b->n_seq; s++) {
            row += b->lens[s];
            as_rmsnorm(rs->last + (size_t)s * D, rs->x + (size_t)(row - 1) * D, m->w.final_norm, 1,
                       D, c->rms_eps);
        }
        as_linear(out->logits, rs->last, m->w.lm_head, b->n_seq, D, c->vocab_size, 0, kern);
    }
done:
    return ret;
}

as_status as_forward(const struct as_model *m, struct as_runstate *rs, const struct as_batch *b,
                     const struct as_attn_sink *sink, struct as_forward_out *out,
                     struct as_err *err) {
    return prefill(m, rs, b, NULL, sink, NULL, out, err);
}

as_status as_forward_prefill(const struct as_model *m, struct as_runstate *rs,
                             const struct as_batch *b, struct as_kvcache *kv,
                             const struct as_capture *cap, struct as_forward_out *out,
                             struct as_err *err) {
    return prefill(m, rs, b, kv, NULL, cap, out, err);
}

int64_t as_forward_flops_exact(const struct as_config *c, int64_t T, int with_lm_head) {
    int64_t D = c->dim, H = c->n_heads, Hkv = c->n_kv_heads, hd = c->head_dim, F = c->hidden_dim;
    int64_t qkv, o, mlp, att, t1, t2, layer, total;
    /* 2·T·D·(H·hd + 2·Hkv·hd)   q, k, v projections */
    if (__builtin_mul_overflow(H, hd, &t1) || __builtin_mul_overflow(2 * Hkv, hd, &t2) ||
        __builtin_add_overflow(t1, t2, &t1) || __builtin_mul_overflow(2 * T, D, &t2) ||
        __builtin_mul_overflow(t2, t1, &qkv))
        return -1;
    /* 2·T·H·hd·D                 output projection */
    if (__builtin_mul_overflow(2 * T, H * hd, &t1) || __builtin_mul_overflow(t1, D, &o)) return -1;
    /* 6·T·D·F                    SwiGLU MLP (gate, up, down) */
    if (__builtin_mul_overflow(6 * T, D, &t1) || __builtin_mul_overflow(t1, F, &mlp)) return -1;
    /* 4·H·T²·hd                  Q·Kᵀ and P·V, both full T×T sgemms */
    if (__builtin_mul_overflow(T, T, &t1) || __builtin_mul_overflow(t1, 4 * H * hd, &att))
        return -1;
    if (__builtin_add_overflow(qkv, o, &layer) || __builtin_add_overflow(layer, mlp, &layer) ||
        __builtin_add_overflow(layer, att, &layer) ||
        __builtin_mul_overflow(layer, (int64_t)c->n_layers, &total))
        return -1;
    /* 2·D·V                      lm_head for the last position */
    if (with_lm_head && __builtin_add_overflow(total, 2 * D * (int64_t)c->vocab_size, &total))
        return -1;
    return total;
}

double as_forward_flops(const struct as_config *c, int T) {
    return (double)as_forward_flops_exact(c, T, 1);
}
