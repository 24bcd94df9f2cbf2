/* stats_internal.h - statistics across prompts (docs/METRICS.md "Statistics across prompts"),
 * shared by stats.c (the seeded bootstrap), by_label.c (labels and their statistics),
 * contrast.c (paired contrasts), sensitivity.c (prompt sensitivity), summary_table.c and
 * export.c. Not public API. Pure computation: no MPI, no HDF5.
 *
 * Every prompt's per-layer quantities are one row of D = L * (1 + NS + NK + 3) doubles
 * (struct sm_rows): layer_entropy, the head-mean span_mass of each span name, the keyword
 * mass of each keyword, then the head means of sink_last, prev_token and induction, each L
 * wide (sm_q_index). Labels bootstrap the first L * (1 + NS + NK) components, contrasts all. A
 * quantity that a prompt does not have (a span it lacks, a keyword that does not occur, a metric
 * that is NaN) is absent: 0 in x and 0 in the mask, so it is left out of every mean. Labels and
 * contrasts are bootstrapped over these rows; the per-(layer, head) quantities use a normal
 * interval (docs/METRICS.md says why). */
#ifndef ATTNSWEEP_REDUCE_STATS_INTERNAL_H
#define ATTNSWEEP_REDUCE_STATS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/analysis.h"
#include "attnsweep/reduce.h"

/* Row layout: quantity q (0 entropy, 1..NS spans, 1+NS..NS+NK keywords, then sink, prev,
 * induction) at components q * L .. q * L + L - 1. */
static inline int sm_q_index(int Q, int NS, int NK) { /* Q: AS_STAT_* */
    return Q == AS_STAT_ENTROPY ? 0 : 1 + NS + NK + (Q - 1);
}

/* z of the two-sided normal interval for AS_ANALYSIS_CONFIDENCE = 0.95 */
#define SM_Z95 1.959963984540054

/* Resamples generated together: their counts, and one pass over the rows per block. */
#define SM_BOOT_BLOCK 32

/* ---- the counter-based generator (stats.c) ---- */

/* splitmix64's finalizer: a bijection of 64-bit words. */
uint64_t sm_mix64(uint64_t z);
/* The key of one resampled set: seed and two strings (e.g. a label's column and value). */
uint64_t sm_key(uint64_t seed, const char *a, const char *b);
/* Draw i of resample b of key: uniform in [0, n). A pure function of (key, b, i, n). */
int64_t sm_draw(uint64_t key, int b, int64_t i, int64_t n);

/* Stable merge sort of a[0..n) by cmp(ctx, x, y) (< 0: x first). 0, or -1 out of memory. */
int sm_sort(int64_t *a, int64_t n, int (*cmp)(const void *ctx, int64_t x, int64_t y),
            const void *ctx);

/* ---- rows and their moments ---- */

struct sm_rows {
    int64_t n;  /* rows */
    int D;      /* doubles per row (the stride) */
    double *x;  /* (n, D) 0 where absent */
    uint8_t *m; /* (n, D) 1 present, 0 absent */
};

/* Mean, standard deviation (ddof = 1) and count of components 0..D-1 over the rows
 * rows[0..k) (NULL: 0..k-1): mean NaN when no row has it, std NaN below 2. Sums in row
 * order. */
void sm_moments(const struct sm_rows *r, int D, const int64_t *rows, int64_t k, double *mean,
                double *std, int32_t *count);

/* ---- the bootstrap (stats.c) ---- */

/* Scratch and results of one bootstrapped set of k rows. Resample b draws k rows with
 * replacement (draw j picks row sm_draw(key, b, j, k)); c_b[j] counts how often row j was
 * drawn. Resamples with the same counts are one distinct resample u = map[b] (only sets of
 * at most SM_BOOT_SMALL rows are merged, where few count vectors exist; otherwise u = b).
 * For component d < D (a prefix of the rows' components): S[u, d] = sum over j of
 * c_b[j] x[rows[j], d], W[u, d] = the same of the mask, and Q[u, d] (d < n_sq) the same of
 * (x - shift)^2 over the present rows, every sum in ascending j, so that a merged or
 * unmerged resample has bit-identical sums. */
#define SM_BOOT_SMALL 4
struct sm_boot {
    int B, D, n_sq, blk; /* blk: components per quantity (L), the unit of the mask checks */
    int D_max, n_sq_max; /* room */
    int U;               /* distinct resamples of this run (B when not merged) */
    int64_t cap;         /* rows the counts have room for */
    double *S, *W, *Q;   /* (U, D), (U, D), (U, n_sq) */
    int32_t *map;        /* (B) b -> u */
    int32_t *mult;       /* (U) resamples that are u */
    int32_t *cnt;        /* (SM_BOOT_BLOCK, cap) */
    int32_t *slot;       /* (SM_BOOT_HASH) merging */
    int64_t *ukey;       /* (B) */
    int8_t *state;       /* (D_max / blk) per quantity: 0 absent, 1 present everywhere, 2 mixed */
    double *tmp;         /* (2 B) */
    double *zero_x;      /* (D_max) zeros: the padding row */
    uint8_t *zero_m;     /* (D_max) */
};
#define SM_BOOT_HASH 4096
int sm_boot_init(struct sm_boot *bt, int B, int D_max, int n_sq_max, int blk); /* 0 / -1 */
void sm_boot_free(struct sm_boot *bt);
/* Fills S, W (and Q with shift (n_sq)) for components 0..D-1 (a multiple of blk) of the k
 * rows rows[0..k) of r (rows NULL: 0..k-1). Returns 0, -1 out of memory, -2 when D or n_sq
 * exceed the room. k == 0: one resample, S = W = Q = 0. */
int sm_boot_run(struct sm_boot *bt, uint64_t key, const struct sm_rows *r, int D,
                const int64_t *rows, int64_t k, const double *shift, int n_sq);
/* The percentile interval of component d's resampled means S / W (resamples with W = 0 left
 * out; NaN when none is left): lo, hi at (1 -+ confidence) / 2, linear interpolation between
 * order statistics (numpy's default "linear" method). */
void sm_boot_interval(struct sm_boot *bt, int d, double confidence, double *lo, double *hi);
/* The same interval of v[0..n) (NaN values left out); v is reordered. */
void sm_percentile_interval(double *v, int n, double confidence, double *lo, double *hi);

/* ---- the statistics of a summary ---- */

/* A view of one /sweep column for labels and pairs (by_label.c). */
struct sm_colview {
    const char *name;
    int kind;                 /* 0 string, 1 integer, 2 floating point, 3 CF flags (int8 with
                                 flag_meanings: a boolean is "false true", -1 "missing") */
    const struct as_col *col; /* NULL: strs */
    const char *const *strs;  /* (N) virtual string column ("group", "variant") */
};

/* The analysis settings in effect (in->analysis, or the defaults when it is NULL or not
 * filled); AS_ERR_INVALID for a resample count out of range. */
as_status sm_settings(const struct as_summary_input *in, int *n_boot, uint64_t *seed,
                      int *js_min_shared, struct as_err *err);
/* Computes sm->stats from in (called by as_summary_compute once the prompts and their views
 * are known). */
as_status sm_stats_compute(const struct as_summary_input *in, struct as_summary *sm,
                           struct as_err *err);
void sm_stats_free(struct as_summary_stats *st);

/* ---- pieces of sm_stats_compute (by_label.c, contrast.c, sensitivity.c) ---- */

/* Bump allocator of the stats (freed at once). */
void *sm_alloc(struct as_summary_stats *st, size_t bytes); /* zeroed; NULL out of memory */
char *sm_strdup(struct as_summary_stats *st, const char *s, size_t len);
struct as_stats_q4 sm_q4_alloc(struct as_summary_stats *st,
                               size_t n); /* NaN-filled; NULLs on OOM */
struct as_stats_c4 sm_c4_alloc(struct as_summary_stats *st, size_t n);

/* The column named name as a view: from in->sweep, or the virtual "group" / "variant". */
as_status sm_colview_get(const struct as_summary_input *in, const char *const *group_strs,
                         const char *name, const char *what, struct sm_colview *cv,
                         struct as_err *err);
int sm_cv_missing(const struct sm_colview *cv, int64_t row);
int sm_cv_cmp(const struct sm_colview *cv, int64_t a, int64_t b); /* both present */
/* The value of row as text (numbers as the shortest text that reads back the same). */
void sm_cv_text(const struct sm_colview *cv, int64_t row, char *out, size_t cap);
/* 1 if row's value equals the text v (numbers compared as numbers), 0 if not, -1 if the
 * column is numeric and v is not a number. */
int sm_cv_equals(const struct sm_colview *cv, int64_t row, const char *v);

/* Labels and their statistics; sensitivity accumulates from the same resamples. */
as_status sm_labels_compute(const struct as_summary_input *in, const struct as_summary *sm,
                            struct as_summary_stats *st, const struct sm_rows *rows,
                            const char *const *group_strs, struct sm_boot *bt, struct as_err *err);
as_status sm_contrasts_compute(const struct as_summary_input *in, const struct as_summary *sm,
                               struct as_summary_stats *st, const struct sm_rows *rows,
                               const char *const *group_strs, struct sm_boot *bt,
                               struct as_err *err);

/* Prompt sensitivity of one `by` column: the per-resample one-way ANOVA sums of layer
 * entropy, accumulated label by label (sensitivity.c). With x' = x - shift and, per label,
 * n prompts: a1 = sum over labels of (sum x')^2 / n, a2 = sum of x'^2, a3 = sum of x', so
 * SS_between = a1 - a3^2 / N and SS_within = a2 - a1. */
struct sm_sens {
    int B, L;
    const double *shift;  /* (L) */
    int64_t *N, *k;       /* (L) prompts and labels with a value, per layer */
    double *a1, *a2, *a3; /* (B + 1, L): row 0 the data, rows 1..B the resamples */
    double *c1, *c2, *c3; /* (L) parts that every resample shares (labels of one prompt) */
};
int sm_sens_init(struct sm_sens *s, int B, int L); /* 0, or -1 out of memory */
void sm_sens_free(struct sm_sens *s);
void sm_sens_reset(struct sm_sens *s, const double *shift);
/* Adds one label: n (L) present prompts per layer, the data's sums sx (L) of x' and sq (L)
 * of x'^2, and the bootstrap's S, W, Q of the label (NULL: every resample equals the data,
 * as for a single prompt). */
void sm_sens_add(struct sm_sens *s, const int32_t *n, const double *sx, const double *sq,
                 const struct sm_boot *bt);
/* ratio, lo, hi (L): MS_between / MS_within = (SS_between / (k - 1)) / (SS_within / (N - k))
 * of the data and its percentile interval over the resamples; rank (L): 0 = the layer with
 * the largest ratio, NaN last, ties to the lower layer. */
void sm_sens_finish(struct sm_sens *s, double confidence, double *ratio, double *lo, double *hi,
                    int32_t *rank);

#endif
