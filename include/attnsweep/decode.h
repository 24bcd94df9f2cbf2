/* decode.h - KV-cache decoding: greedy generation, top-k, next tokens.
 *
 * A batch is prefilled once (as_forward_prefill, forward.h), which fills a
 * struct as_kvcache: slot s holds the keys (after RoPE) and values of sequence
 * s. Each as_decode_step then feeds one new token per active sequence: every
 * projection (q, k, v, o, gate, up, down, lm_head) is one pass over its weights
 * for all active sequences together (as_linear_rows), and each sequence's new
 * query attends to its cached keys. The new token's attention row (H, t+1),
 * its pre-softmax scores and its value norms go to the same sinks as a
 * prefill's (struct as_capture), so the stored map of a generated sequence has
 * row i = what token i attended to when it was fed to the model.
 *
 * Batch independence: in a decode step every output element is a fixed
 * sequence of fp32 operations on its own sequence's data (as_linear_rows and
 * the per-sequence attention), so a sequence's decode is bit-identical whatever
 * else is in the batch, whichever sequences have stopped, and on any number of
 * threads. Its results depend on the batch only through the packed prefill
 * (docs/ARCHITECTURE.md, "Packing and rank independence").
 *
 * Ownership: the caller owns the runstate, the cache and every output array;
 * the model is read-only. Pure computation: no MPI, no HDF5, no file access. */
#ifndef ATTNSWEEP_DECODE_H
#define ATTNSWEEP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/forward.h"
#include "attnsweep/model.h"
#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default k of the next-token top-k. */
#define AS_TOPK_DEFAULT 10

/* The KV cache of up to n_slots sequences of up to max_ctx tokens each, plus
 * the scratch of one decode step that scales with max_ctx. One allocation. */
struct as_kvcache {
    int n_layers, n_slots, n_heads, n_kv_heads, head_dim, max_ctx;
    int *len;    /* (n_slots) tokens cached in each slot */
    float *k;    /* (L, n_slots, Hkv, max_ctx, hd) keys after RoPE */
    float *v;    /* (L, n_slots, Hkv, max_ctx, hd) values */
    float *row;  /* (H, max_ctx) scores, then probabilities, of one new token */
    float *vn;   /* (H, n_slots) value norms of the new tokens of one step */
    float *rope; /* (2, hd/2) cos and sin of one position */
    void *mem;
    size_t mem_bytes;
};

as_status as_kvcache_init(struct as_kvcache *kv, const struct as_config *c, int n_slots,
                          int max_ctx, struct as_err *err);
void as_kvcache_free(struct as_kvcache *kv);
/* Bytes as_kvcache_init would allocate (0 if the size overflows). */
size_t as_kvcache_bytes(const struct as_config *c, int n_slots, int max_ctx);
/* Empties every slot (the memory is kept for the next batch). */
void as_kvcache_reset(struct as_kvcache *kv);
/* Keys / values of one layer of one slot: (Hkv, max_ctx, hd). */
static inline float *as_kvcache_k(const struct as_kvcache *kv, int layer, int slot) {
    return kv->k + (((size_t)layer * kv->n_slots + slot) * kv->n_kv_heads) * kv->max_ctx *
                       (size_t)kv->head_dim;
}
static inline float *as_kvcache_v(const struct as_kvcache *kv, int layer, int slot) {
    return kv->v + (((size_t)layer * kv->n_slots + slot) * kv->n_kv_heads) * kv->max_ctx *
                       (size_t)kv->head_dim;
}

/* Feeds ids[i] to slot slots[i] (i < n_active, distinct slots) at position
 * t = kv->len[slots[i]], then advances that length by one. The capture gets,
 * per layer and active sequence, the new row (first_row t, n_rows 1,
 * n_keys t + 1) with seq = the slot. logits (n_active, V), row i for slots[i],
 * may be NULL. rs must hold n_active rows (max_tokens >= n_active). Errors
 * (nothing is advanced): bad slot, duplicate slot, full slot (t == max_ctx or
 * t == max_position_embeddings), id outside the vocabulary. */
as_status as_decode_step(const struct as_model *m, struct as_runstate *rs, struct as_kvcache *kv,
                         int n_active, const int *slots, const int32_t *ids,
                         const struct as_capture *cap, float *logits, struct as_err *err);

/* Optional per-token stop test (string stops, via the tokenizer): called after
 * each generated token with the sequence's generated ids so far; nonzero ends
 * the sequence (the token is kept). */
typedef int (*as_stop_fn)(void *ctx, int seq, const int32_t *gen, int n_gen);

struct as_generate_opts {
    int max_new_tokens;      /* >= 0; 0 = prefill only */
    const int32_t *stop_ids; /* [n_stop] a generated id in this set ends its sequence */
    int n_stop;
    as_stop_fn stop_fn; /* may be NULL */
    void *stop_ctx;
};

enum as_stop_reason {
    AS_STOP_LENGTH = 0,  /* max_new_tokens reached (or 0 requested) */
    AS_STOP_TOKEN = 1,   /* the last generated id is in stop_ids */
    AS_STOP_CALLBACK = 2 /* stop_fn returned nonzero */
};

struct as_generate_out {
    int32_t *ids;     /* (n_seq, max_new_tokens) generated ids, sequence s at s * max_new_tokens;
                         required when max_new_tokens > 0 */
    int *n_gen;       /* (n_seq) ids generated per sequence, required */
    float *logits;    /* (n_seq, V) required: the next-token logits after each final sequence
                         (prompt + generated), i.e. its last position's */
    int *stop_reason; /* (n_seq) enum as_stop_reason, may be NULL */
};

/* Greedy generation for a batch: one prefill (kv is reset and filled), then
 * one decode step per generated token for all unfinished sequences together,
 * never a repeated prefill. Next token = as_argmax of the last logits (ties:
 * lowest id, like torch.argmax). A sequence ends after max_new_tokens ids,
 * after a stop id, or when stop_fn says so; the ending id is kept (as HF's
 * generate() keeps EOS) and is fed once more like every generated id, so the
 * capture covers every row of the final sequence (prompt + generated) and
 * out->logits are its last position's. Needs kv->n_slots >= n_seq and
 * kv->max_ctx >= T + max_new_tokens for every sequence. Non-finite logits are
 * an error naming the sequence and position. */
as_status as_generate_greedy(const struct as_model *m, struct as_runstate *rs,
                             struct as_kvcache *kv, const struct as_batch *b,
                             const struct as_generate_opts *opts, const struct as_capture *cap,
                             struct as_generate_out *out, struct as_err *err);

/* Index of the largest logit, the lowest index among equal maxima; -1 if a
 * logit is NaN or n < 1. */
int32_t as_argmax(const float *logits, int n);

/* The k most probable next tokens: ids (k) by decreasing logit, ties by lowest
 * id (so ids[0] == as_argmax), and probs (k) = softmax(logits)[ids], the
 * softmax in double with the maximum subtracted. AS_ERR_INVALID for k outside
 * [1, n] or a NaN / +Inf logit (naming its id). */
as_status as_topk(const float *logits, int n, int k, int32_t *ids, float *probs,
                  struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
