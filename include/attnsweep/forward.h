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
 * two); BLAS is the production path built on cblas_sgemm. */
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
