/* forward.h - the Llama forward pass (prefill) with attention capture.
 *
 * One call processes a batch of independent sequences. Their tokens are
 * packed as row blocks of one [sum T, D] activation matrix, so every
 * projection (q, k, v, o, gate, up, down) is a single sgemm over all tokens of
 * the batch. Attention is computed per sequence and per head as
 *     P_h = softmax(Q_h K_g^T / sqrt(hd) + causal mask),  g = h / (H / Hkv)
 *     O_h = P_h V_g
 * with two sgemms per head, and P (H, T, T) of each layer is handed to the
 * caller's sink before the next layer starts, so peak memory is O(H T^2)
 * rather than O(L H T^2).
 *
 * Ownership: struct as_runstate owns all scratch memory (one allocation,
 * carved into the buffers below); the model is read-only and may be shared
 * between threads/processes. Outputs go into caller-owned arrays. */
#ifndef ATTNSWEEP_FORWARD_H
#define ATTNSWEEP_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/model.h"
#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which kernels to use. NAIVE is the plain-loop reference (tests compare the
 * two); BLAS is the production path: cblas_sgemm in the prefill, and in a
 * decode step (decode.h) the row-independent projection as_linear_rows, which
 * reads each weight once per step for all active sequences. */
enum as_kernel { AS_KERNEL_BLAS = 0, AS_KERNEL_NAIVE = 1 };

/* Receives the attention probabilities of one layer of one sequence.
 * probs: (H, T, T) row-major (head, query, key), causal: probs[h][i][j] = 0 for j > i.
 * The buffer is only valid during the call. Return AS_OK to continue; any
 * other status aborts the forward pass and is returned by as_forward(). */
typedef as_status (*as_attn_sink_fn)(void *ctx, int seq, int layer, const float *probs, int T,
                                     struct as_err *err);

struct as_attn_sink {
    as_attn_sink_fn fn; /* NULL: attention is computed but not exported */
    void *ctx;
};

/* A batch of sequences. ids[s] points to lens[s] token ids. */
struct as_batch {
    int n_seq;
    const int32_t *const *ids; /* [n_seq] -> (lens[s]) */
    const int *lens;           /* [n_seq] */
};

/* Optional outputs; each pointer may be NULL. */
struct as_forward_out {
    float *hidden; /* (sum T, D) final hidden states after the final RMSNorm, sequences packed */
    float *logits; /* (n_seq, V) logits of each sequence's last position */
};

struct as_runstate {
    int max_tokens;  /* capacity: sum of T over a batch */
    int max_seq_len; /* capacity: longest T in a batch */
    enum as_kernel kernel;
    /* scratch, carved from one allocation (`mem`) */
    float *x;        /* (max_tokens, D) residual stream */
    float *xb;       /* (max_tokens, D) normed input */
    float *q;        /* (max_tokens, H*hd) */
    float *k;        /* (max_tokens, Hkv*hd) */
    float *v;        /* (max_tokens, Hkv*hd) */
    float *att_out;  /* (max_tokens, H*hd) concatenated head outputs */
    float *hb;       /* (max_tokens, F) gate */
    float *hb2;      /* (max_tokens, F) up */
    float *probs;    /* (H, max_seq_len, max_seq_len) one layer of one sequence */
    float *rope_cos; /* (max_seq_len, hd/2) */
    float *rope_sin; /* (max_seq_len, hd/2) */
    float *last;     /* (n_seq_cap, D) last-position hidden, for logits */
    int n_seq_cap;
    float *mem;
    size_t mem_floats;
};

/* Sizes the scratch for batches of up to max_tokens tokens, sequences of up
 * to max_seq_len tokens and up to max_seqs sequences. */
as_status as_runstate_init(struct as_runstate *rs, const struct as_config *c, int max_tokens,
                           int max_seq_len, int max_seqs, enum as_kernel kernel,
                           struct as_err *err);
void as_runstate_free(struct as_runstate *rs);
/* Bytes as_runstate_init would allocate (for planning and --dry-run). */
size_t as_runstate_bytes(const struct as_config *c, int max_tokens, int max_seq_len, int max_seqs);

/* Runs the prefill for every sequence of the batch. Token ids are checked
 * against the vocabulary (error names sequence and position). */
as_status as_forward(const struct as_model *m, struct as_runstate *rs, const struct as_batch *b,
                     const struct as_attn_sink *sink, struct as_forward_out *out,
                     struct as_err *err);

/* ---- Capture of a prefill or a decode step (attention rows, scores, value norms) ----
 *
 * A prefill produces every row of a sequence at once, a decode step (decode.h)
 * one new row per sequence; both hand them to the same sink type, so one
 * writer serves both. A block is rows [first_row, first_row + n_rows) of one
 * layer of one sequence, each of n_keys keys, heads outermost:
 *     block (H, n_rows, n_keys), row-major (head, query, key)
 * prefill: first_row 0, n_rows = n_keys = T (the (H, T, T) map);
 * decode:  first_row t, n_rows 1, n_keys t + 1 (the new token's row).
 * seq is the sequence's index in its batch (= its KV cache slot). The buffer is
 * only valid during the call; a status other than AS_OK aborts the pass and is
 * returned by it. */
typedef as_status (*as_rows_sink_fn)(void *ctx, int seq, int layer, int first_row, int n_rows,
                                     int n_keys, const float *block, struct as_err *err);
struct as_rows_sink {
    as_rows_sink_fn fn; /* NULL: not exported (and, for scores, not computed separately) */
    void *ctx;
};

/* Value norms (Kobayashi et al. 2020, docs/METRICS.md) of keys [first_key,
 * first_key + n_keys) of one layer of one sequence:
 *     norms (H, n_keys): norms[h][j] = || W_O^h v_j^{g(h)} ||,  g(h) = h / (H / Hkv)
 * prefill: first_key 0, n_keys T; decode: first_key t, n_keys 1. */
typedef as_status (*as_vnorm_sink_fn)(void *ctx, int seq, int layer, int first_key, int n_keys,
                                      const float *norms, struct as_err *err);
struct as_vnorm_sink {
    as_vnorm_sink_fn fn;
    void *ctx;
};

/* Per-model precomputation for value norms: the Gram matrix of each head's
 * slice of o_proj, G_h = W_O^h^T W_O^h (hd, hd), W_O^h = wo[:, h*hd:(h+1)*hd],
 * so that ||W_O^h v||^2 = v^T G_h v costs hd^2 per key instead of D*hd and the
 * norms of T keys are one row-independent product per kv group (value_norms.c).
 * Depends on the weights only: build once per model and share between batches. */
struct as_vnorm {
    int n_layers, n_heads, head_dim;
    float *gram; /* (L, H, hd, hd) */
};
as_status as_vnorm_init(struct as_vnorm *vn, const struct as_model *m, struct as_err *err);
void as_vnorm_free(struct as_vnorm *vn);
size_t as_vnorm_bytes(const struct as_config *c);

/* What a prefill or a decode step exports besides logits; every member is
 * optional (zero-initialise the struct and fill what you need). Sinks are
 * called per layer in this order: value_norms (every sequence), then for each
 * sequence scores, then probs. Nothing extra is computed for a NULL sink. */
struct as_capture {
    struct as_rows_sink probs;  /* attention probabilities (prefill: zeros above the diagonal) */
    struct as_rows_sink scores; /* q.k/sqrt(hd) before mask and softmax; a prefill block is
                                   unmasked (the upper triangle holds the scores of later keys) */
    struct as_vnorm_sink value_norms;
    const struct as_vnorm *vnorm; /* required with value_norms and the BLAS kernel */
};

struct as_kvcache; /* decode.h */

/* as_forward with a capture and, when kv != NULL, the KV cache filled for a
 * decode (decode.h): the cache is reset, then slot s holds sequence s of the
 * batch, kv->len[s] = T.
 * kv must have at least n_seq slots and max_ctx >= every T. Attention
 * probabilities, logits and hidden states are bit-identical to as_forward's. */
as_status as_forward_prefill(const struct as_model *m, struct as_runstate *rs,
                             const struct as_batch *b, struct as_kvcache *kv,
                             const struct as_capture *cap, struct as_forward_out *out,
                             struct as_err *err);

/* The one FLOP model (the planner's cost too): FLOPs of one forward pass over
 * a sequence of T tokens (multiply-add = 2), counting projections, attention
 * scores/values and, with_lm_head != 0, lm_head for the last position. Exact
 * 64-bit integer arithmetic; -1 if it does not fit in 63 bits. */
int64_t as_forward_flops_exact(const struct as_config *c, int64_t T, int with_lm_head);
/* as_forward_flops_exact(c, T, 1) as a double. */
double as_forward_flops(const struct as_config *c, int T);

#ifdef __cplusplus
}
#endif
#endif
