/* summary_internal.h - pieces shared by summary.c, summary_table.c and export.c (not public API).
 */
#ifndef ATTNSWEEP_REDUCE_SUMMARY_INTERNAL_H
#define ATTNSWEEP_REDUCE_SUMMARY_INTERNAL_H

#include "attnsweep/reduce.h"

/* The JS divergence of a group uses every pair of variants up to this many
 * variants, and beyond it the pairs (v, (v + k) mod V) for k = 1..SM_JS_OFFSETS
 * (docs/METRICS.md "Sweep-level statistics"), each on the pair's common aligned suffix. */
#define SM_JS_ALL_PAIRS_MAX 64
#define SM_JS_OFFSETS       32

/* struct as_summary's private part (sm->arena). The per-group arrays of
 * struct as_summary_group point into these, so every group-level and
 * member-level statistic is one contiguous array in group order: exactly the
 * /summary columns, which as_summary_table borrows without copying. */
struct sm_arena {
    int64_t *group_start;                /* (G) first member row of each group */
    int32_t *group_count;                /* (G) */
    int32_t *n_shared;                   /* (G) */
    int8_t *has_examples;                /* (G) */
    double *entropy_std;                 /* (G, L) */
    double *js;                          /* (G, L) */
    int32_t *rank_js, *rank_std;         /* (G, L) */
    int32_t *js_pairs;                   /* (G) pairs the JS divergence averages over */
    double *js_acc;                      /* (L) scratch */
    int32_t *js_cnt;                     /* (L) scratch */
    int64_t *member_index;               /* (n) row in /sweep of each member */
    char **member_variant;               /* (n) */
    char **group_name;                   /* (G) */
    double *prefix_mass, *question_mass; /* (n, L) */
    double *example_mass;                /* (n, L, H); NaN for groups without examples */
    struct as_summary_head *example_top; /* (n, K); -1 / NaN for groups without examples */
    int32_t *layer_ids, *head_ids;       /* (L), (H): the /metrics scales, else 0..L-1, 0..H-1 */
    double *nan_lh;                      /* (L, H) NaN: head metrics missing from the input */
    char *strings;                       /* group names and variants, NUL-terminated */
};

/* Bytes of a string record of width w (it may fill the record without a NUL). */
static inline size_t sm_rec_len(const char *rec, size_t w) {
    size_t n = 0;
    while (n < w && rec[n])
        n++;
    return n;
}

#endif
