/* analysis.h - what a sweep's `analysis:` section asks of the reduce stage, beyond keywords:
 * statistics split by /sweep columns, paired contrasts, and their bootstrap settings
 * (docs/SWEEP.md "analysis", docs/METRICS.md "Statistics across prompts").
 *
 * The sweep parser (src/sweep) fills it; the reduce stage (src/reduce, src/run/summarize.c)
 * reads it. Pure data: no MPI, no HDF5. The strings belong to whoever filled the struct (the
 * sweep's arena for a loaded sweep). */
#ifndef ATTNSWEEP_ANALYSIS_H
#define ATTNSWEEP_ANALYSIS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AS_ANALYSIS_BOOT_DEFAULT  1000     /* analysis.bootstrap: resamples per interval */
#define AS_ANALYSIS_BOOT_MAX      100000   /* larger values are refused */
#define AS_ANALYSIS_SEED_DEFAULT  20260131 /* analysis.seed */
#define AS_ANALYSIS_JS_MIN_SHARED 4    /* analysis.js_min_shared: fewer shared tokens -> no JS */
#define AS_ANALYSIS_CONFIDENCE    0.95 /* two-sided percentile intervals */

/* One paired contrast: for every pair of prompts that agree on all of pair_on and have
 * column == a and column == b respectively, the difference (metric of a) - (metric of b). */
struct as_contrast {
    char *name;     /* "cot-plain": a valid HDF5 link name, unique among the contrasts */
    char *column;   /* the /sweep column compared, e.g. "variant", a tag or a JSONL field */
    char *a, *b;    /* its two values, as text (numbers formatted as in the column) */
    char **pair_on; /* (n_pair_on) /sweep columns that identify a pair, e.g. {"a", "b"} or
                       {"item"}; n_pair_on == 0 pairs on "group" */
    int n_pair_on;
};

struct as_analysis {
    char **by; /* (n_by) /sweep columns to split every statistic by (analysis.by) */
    int n_by;
    struct as_contrast *contrasts; /* (n_contrasts) analysis.contrasts, in YAML order */
    int n_contrasts;
    int n_boot;        /* bootstrap resamples, 1..AS_ANALYSIS_BOOT_MAX */
    uint64_t seed;     /* bootstrap seed: the same seed gives bit-identical intervals */
    int js_min_shared; /* JS divergence of a pair needs at least this many shared tokens */
    char *answer;      /* analysis.answer: the metadata column (JSONL field or var) holding each
                          prompt's expected answer, or NULL (docs/FORMAT.md "Behaviour") */
};

/* Fills a with the defaults: nothing split, no contrasts, AS_ANALYSIS_BOOT_DEFAULT resamples,
 * AS_ANALYSIS_SEED_DEFAULT, AS_ANALYSIS_JS_MIN_SHARED. */
static inline void as_analysis_defaults(struct as_analysis *a) {
    a->by = 0, a->n_by = 0, a->contrasts = 0, a->n_contrasts = 0;
    a->n_boot = AS_ANALYSIS_BOOT_DEFAULT, a->seed = AS_ANALYSIS_SEED_DEFAULT;
    a->js_min_shared = AS_ANALYSIS_JS_MIN_SHARED;
    a->answer = 0;
}

#ifdef __cplusplus
}
#endif
#endif
