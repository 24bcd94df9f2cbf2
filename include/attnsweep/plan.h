/* plan.h - which rank computes which prompt, and what it will cost.
 *
 * Rank 0 tokenizes every prompt, then calls as_plan_build with the token
 * counts T_i; the plan (rank[i] per prompt) is broadcast and every rank
 * computes its own prompts. The planner is a pure function of its inputs:
 * no MPI, no clocks, no randomness, integer cost arithmetic, and fixed
 * tie-breaking, so the same input gives the same plan on every machine.
 *
 * Cost model (one prefill of T tokens, per layer; D = dim, H = n_heads,
 * Hkv = n_kv_heads, hd = head_dim, F = hidden_dim):
 *   q, k, v projections   2·T·D·(H·hd + 2·Hkv·hd)
 *   output projection     2·T·H·hd·D
 *   SwiGLU MLP            6·T·D·F
 *   attention             4·H·T²·hd       (Q·Kᵀ and P·V, both full T×T sgemms)
 * times n_layers. Output bytes per prompt: attention (L_out·H_out·T² for
 * store full, L_out·H_out·T for last_row, 0 for none, times 4 or 2 bytes)
 * plus 12·T bytes of token ids and offsets.
 *
 * Modes: explicit follows the YAML; round_robin gives prompt i to rank
 * i % n_ranks; balanced is LPT (longest processing time first): prompts in
 * decreasing cost (ties: lower index first) each go to the currently least
 * loaded rank (ties: lower rank), which is within 4/3 of the optimal
 * makespan. */
#ifndef ATTNSWEEP_PLAN_H
#define ATTNSWEEP_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "attnsweep/model.h"
#include "attnsweep/status.h"
#include "attnsweep/sweep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything the planner looks at (as_plan_build_sweep fills it from a sweep). */
struct as_plan_request {
    int64_t n_prompts;
    const int *n_tokens;         /* (n_prompts) T_i >= 1 */
    const struct as_config *cfg; /* n_layers, dim, hidden_dim, n_heads, n_kv_heads, head_dim */
    int n_ranks;                 /* >= 1 */
    enum as_assign assign;
    const int *explicit_rank; /* (n_prompts) for AS_ASSIGN_EXPLICIT, else unused (may be NULL) */
    int store;                /* enum as_store, for the byte estimate */
    int dtype;                /* enum as_out_dtype */
    int n_out_layers;         /* layers stored (0 = all) */
    int n_out_heads;          /* heads stored (0 = all) */
    /* Batches (as_plan_batches): runs of consecutive prompts that one rank
     * computes and commits together. n_batches == 0: every prompt is its own
     * batch. The assignment modes then place whole batches. */
    int64_t n_batches;
    const int64_t *batch_start; /* (n_batches + 1) batch b = prompts [start[b], start[b+1]) */
};

struct as_plan_rank {
    int64_t n_batches;
    int64_t n_prompts;
    int64_t n_tokens;
    double flops;     /* estimated forward FLOPs */
    double out_bytes; /* estimated bytes written */
};

struct as_plan {
    int n_ranks;
    int64_t n_prompts;
    enum as_assign assign;
    int *rank;           /* (n_prompts) the rank that computes prompt i */
    double *flops;       /* (n_prompts) estimated FLOPs of prompt i */
    double *out_bytes;   /* (n_prompts) estimated output bytes of prompt i */
    int64_t *by_rank;    /* (n_prompts) prompt indices grouped by rank, ascending in a rank */
    int64_t *rank_start; /* (n_ranks + 1) rank r owns by_rank[rank_start[r] .. rank_start[r+1]) */
    struct as_plan_rank *ranks; /* (n_ranks) */
    int64_t total_tokens;
    double total_flops, total_out_bytes;
    double imbalance; /* max rank FLOPs / mean rank FLOPs (1 = perfect; 0 if no work) */
    int64_t n_batches;
    int64_t *batch_start; /* (n_batches + 1) copy of the request's (or one prompt each) */
    int *batch_rank;      /* (n_batches) */
};

/* Default batch budget in tokens: ceil(total_tokens / 64) (so that a sweep
 * has about 64 batches to spread over ranks), but at least
 * AS_PLAN_BATCH_MIN_TOKENS (below it the packed GEMMs run far from peak:
 * docs/PERFORMANCE.md) and at most AS_PLAN_BATCH_MAX_TOKENS (a batch is also
 * the unit of commit and of graceful stop). A pure function of the sweep,
 * never of the rank count, so batches (and with them every result) are the
 * same on any number of ranks. */
#define AS_PLAN_BATCH_MIN_TOKENS 128
#define AS_PLAN_BATCH_MAX_TOKENS 4096
int as_plan_batch_budget(int64_t total_tokens);
#define AS_PLAN_BATCH_MAX_PROMPTS 256

/* Packs n prompts (in order) into batches: a batch ends before a prompt that
 * would take it past `budget` tokens (a batch always has at least one
 * prompt) or past AS_PLAN_BATCH_MAX_PROMPTS prompts, whose `index` is not
 * the previous one's + 1 (index may be NULL: 0..n-1), or whose explicit rank
 * differs (explicit_rank may be NULL). *start: (n_batches + 1), malloc'd. */
as_status as_plan_batches(int64_t n, const int *n_tokens, const int64_t *index,
                          const int *explicit_rank, int budget, int64_t **start, int64_t *n_batches,
                          struct as_err *err);

/* Builds the plan. Errors: n_prompts < 1, n_ranks < 1, a T_i < 1, an invalid
 * config, an explicit rank outside [0, n_ranks). Free with as_plan_free. */
as_status as_plan_build(struct as_plan *p, const struct as_plan_request *rq, struct as_err *err);
/* as_plan_build with the request taken from the sweep (assign, explicit
 * ranks, store, dtype, layer/head subsets). */
as_status as_plan_build_sweep(struct as_plan *p, const struct as_sweep *s, const int *n_tokens,
                              const struct as_config *cfg, int n_ranks, struct as_err *err);
void as_plan_free(struct as_plan *p);

/* Estimated forward FLOPs of one prompt of T tokens: the forward pass's own
 * model, as_forward_flops_exact(c, T, 0) (the formula above); -1 if it does
 * not fit in 63 bits. */
int64_t as_plan_prompt_flops(const struct as_config *c, int64_t T);

/* Prints one row per rank (prompts, tokens, GFLOP, output bytes; at most 64
 * rows, then a summary), the totals and the imbalance ratio. s may be NULL. */
void as_plan_print(const struct as_plan *p, const struct as_sweep *s, FILE *fp);

/* Checks every T_i against the model's max_position: returns AS_ERR_INVALID
 * listing ALL offending prompts (id, tokens, where defined; the first 20,
 * then how many more) so that one run reports every problem. */
as_status as_plan_check_lengths(const struct as_sweep *s, const int *n_tokens, int max_position,
                                struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
