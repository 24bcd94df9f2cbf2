/* reduce.h - the reduce stage as pure computation on arrays: the per-prompt
 * metrics as columns (/metrics), the sweep-level statistics (/summary), and
 * the JSON / CSV exports. Nothing here calls HDF5 or MPI: src/io/ writes and
 * reads the tables built here, and src/run/ orchestrates (docs/ARCHITECTURE.md).
 *
 * Who calls what:
 *   `attnsweep run`, rank 0, before compute: src/run builds each prompt's
 *     context (struct as_metrics_ctx), as_metrics_layout_compute() its
 *     layout (pure), and
 *     as_metrics_table_layout() the /metrics columns that creation allocates
 *     (counts, starts, scales filled; metric data NULL).
 *   every worker, per batch of consecutive prompts: as_metrics_init,
 *     as_metrics_add_layer per layer from the forward pass, as_metrics_finish,
 *     then as_metrics_table_rows() packs the batch's rows; src/io writes them.
 *   rank 0, after compute: src/io reads the /metrics and /tokens columns,
 *     as_summary_compute() computes the statistics, as_summary_table()
 *     describes /summary, src/io writes it.
 *
 * Cost: every function here is O(prompts + tokens + occurrences + spans)
 * (times L*H), with no per-prompt scans of the sweep. */
#ifndef ATTNSWEEP_REDUCE_H
#define ATTNSWEEP_REDUCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "attnsweep/analysis.h"
#include "attnsweep/metrics.h"
#include "attnsweep/status.h"
#include "attnsweep/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-(layer, head) metrics that /metrics and the exports list, in this order. */
enum {
    AS_HM_HEAD_ENTROPY,
    AS_HM_HEAD_MAX,
    AS_HM_SINK_LAST,
    AS_HM_SINK_MEAN,
    AS_HM_PREV_TOKEN,
    AS_HM_NORM_ENTROPY,
    AS_HM_DUP_TOKEN,
    AS_HM_INDUCTION,
    AS_HM_COUNT
};
extern const char *const as_head_metric_names[AS_HM_COUNT];

/* /metrics/input values */
enum as_metrics_input_flag { AS_MINPUT_NONE = -1, AS_MINPUT_FULL = 0, AS_MINPUT_LAST_ROW = 1 };

/* ---- /metrics as columns (docs/FORMAT.md "Metrics") ---------------------- */

/* The /metrics table of a whole file, for allocation at creation: every
 * column of docs/FORMAT.md with its full shape; the count and start columns,
 * input (from lay[i].input, or AS_MINPUT_NONE when lay[i].L == 0) and the
 * scales (prompt = ids, layer = layer_ids, head = head_ids, token, bound,
 * keyword = keywords, occ, substr, span) carry data; every metric column has
 * data = NULL. lay: (n) one layout per prompt (L == 0: no metrics for that
 * prompt; its counts are 0). n_tokens: (n). */
as_status as_metrics_table_layout(struct as_table *t, int64_t n,
                                  const struct as_metrics_layout *lay,
                                  const char *const *ids /* (n) */,
                                  const int32_t *n_tokens /* (n) */, int L, int H,
                                  const int32_t *layer_ids /* (L) */,
                                  const int32_t *head_ids /* (H) */, const char *const *keywords,
                                  int n_keywords, struct as_err *err);

/* The rows of n consecutive prompts, for writing into the file's /metrics at
 * the batch's offsets: every metric column (not the scales or the count /
 * start columns) with its leading dimension cut to the batch (prompt rows n,
 * token rows sum T, occ / substr / span rows the batch's counts). m[i] ==
 * NULL (prompt failed or not computed): its rows are NaN / -1 and its input
 * is AS_MINPUT_NONE, with lay[i]'s counts. */
as_status as_metrics_table_rows(struct as_table *t, int64_t n,
                                const struct as_metrics *const *m /* (n) */,
                                const struct as_metrics_layout *lay /* (n) */,
                                const int32_t *n_tokens /* (n) */, int L, int H,
                                struct as_err *err);

/* ---- sweep-level statistics ------------------------------------------------ */

struct as_summary_head {
    int32_t layer, head;
    double entropy;
    const char *token; /* focus token (points into the summary's strings or the input) */
};

struct as_summary_group {
    char *name;
    int n_variants;
    int64_t *prompts;    /* (V) rows in /sweep, in file order */
    char **variants;     /* (V) variant names */
    int n_shared;        /* fewest shared suffix tokens over the pairs js uses (0: none) */
    int js_pairs;        /* variant pairs js averages over (each shares >= js_min_shared) */
    double *entropy_std; /* (L) std over variants of layer_entropy (ddof = 0) */
    double *js; /* (L) mean over pairs of the JS divergence (nats) on each pair's common aligned
                   suffix, NaN when no pair is usable */
    int32_t *rank_js;                    /* (L) layers by decreasing js */
    int32_t *rank_std;                   /* (L) layers by decreasing entropy_std */
    double *prefix_mass;                 /* (V, L) head-mean last-row mass on span "prefix" */
    double *question_mass;               /* (V, L) ... on span "question" */
    int has_examples;                    /* some variant has a span named example_answer* */
    double *example_mass;                /* (V, L, H) summed over example_answer* spans;
                                            NaN when !has_examples */
    struct as_summary_head *example_top; /* (V, AS_METRICS_TOP_K) (entropy = mass);
                                            -1 / NaN when !has_examples */
};

/* One summarized prompt's metrics: views into the input columns (no copies). */
struct as_metrics_small {
    int L, H, T, n_spans, n_substr;
    const double *layer_entropy;     /* (L) */
    const double *head[AS_HM_COUNT]; /* each (L, H); NaN where not available (last_row) */
    const int32_t *head_focus;       /* (L, H) token position */
    const char *token_str;           /* (T) the prompt's /tokens/token_str records */
    size_t token_str_width;          /* bytes per record (NUL-terminated within it) */
    const double *last_row_mean;     /* the prompt's rows of /metrics/last_row_mean [token, layer]:
                                        layer l, token t at last_row_mean[t * L + l] */
    const char *span_names;          /* (S) records of span_name_width bytes, NUL-terminated */
    size_t span_name_width;
    const int8_t *span_kind;        /* (S) */
    const int32_t *span_tokens;     /* (S, 2) */
    const double *span_mass;        /* (S, L, H) */
    const double *span_lift;        /* (S, L, H) */
    int n_occ;                      /* keyword occurrences (text rule) */
    const int32_t *occ_keyword;     /* (n_occ) keyword index (may be NULL when n_occ == 0) */
    const double *occ_mass;         /* (n_occ) last layer, head-mean last row */
    const double *occ_mass_layer;   /* (n_occ, L) every layer */
    const int32_t *substr_keyword;  /* (n_substr) the notebook's keyword matches (may be NULL) */
    const int32_t *substr_position; /* (n_substr) */
    const double *substr_mass;      /* (n_substr) */
};

/* ---- statistics across prompts (docs/METRICS.md, /summary by_*, contrast_*, sensitivity_*) */

/* The per-(layer, head) quantities of the by_* statistics, and the per-layer (head-mean)
 * quantities that contrasts report on their own, in this order. */
enum { AS_STAT_ENTROPY = 0, AS_STAT_SINK, AS_STAT_PREV, AS_STAT_INDUCTION, AS_STAT_COUNT };

/* Four statistics of one quantity, each the same shape. */
struct as_stats_q4 {
    double *mean, *std, *lo, *hi;
};
/* A contrast's statistics of one quantity. */
struct as_stats_c4 {
    double *mean, *lo, *hi, *same_sign;
};

/* The statistics across prompts of a summary (sm->stats): labels are every (column, value)
 * of the `by` columns, columns in `by` order, values sorted; NaN where undefined. lo / hi
 * are 95% intervals of the mean: percentile bootstrap for per-layer quantities, normal for
 * per-(layer, head) ones (docs/METRICS.md). */
struct as_summary_stats {
    int n_boot;                /* bootstrap resamples */
    uint64_t seed;             /* bootstrap seed */
    int js_min_shared;         /* fewest shared tokens of a JS pair */
    double confidence;         /* AS_ANALYSIS_CONFIDENCE */
    int L, H, D;               /* D: per-layer quantities per prompt (private) */
    int NB, NL, NS, NK, NC;    /* by columns, labels, span names, keywords, contrasts */
    const char **by;           /* (NB) */
    const char **label;        /* (NL) "column=value": the label scale */
    const char **label_column; /* (NL) */
    const char **label_value;  /* (NL) the value as text */
    int32_t *label_count;      /* (NL) summarized prompts with that value */
    int32_t *label_by;         /* (NL) index into by */
    const char **span_name;    /* (NS) declared spans by first appearance, then prefix, question */
    const char **keyword;      /* (NK) the /metrics keywords */
    struct as_stats_q4 layer_entropy;       /* (NL, L) */
    struct as_stats_q4 head[AS_STAT_COUNT]; /* (NL, L, H) head_entropy, sink_last, prev_token,
                                               induction */
    struct as_stats_q4 span;                /* (NL, NS, L) head-mean span_mass */
    struct as_stats_q4 kw;                  /* (NL, NK, L) keyword mass (text rule) */
    int32_t *span_count;                    /* (NL, NS) prompts that have the span */
    int32_t *kw_count;                      /* (NL, NK) prompts where the keyword occurs */
    const char **c_name, **c_column, **c_a, **c_b; /* (NC) */
    const char **c_pair_on; /* (NC) the pair_on columns, comma-separated ("group" by default) */
    int32_t *c_pairs;       /* (NC) */
    struct as_stats_c4 c_q[AS_STAT_COUNT];  /* (NC, L) layer_entropy and head means */
    struct as_stats_c4 c_span;              /* (NC, NS, L) */
    struct as_stats_c4 c_kw;                /* (NC, NK, L) */
    int32_t *c_span_count;                  /* (NC, NS) pairs where both sides have the span */
    int32_t *c_kw_count;                    /* (NC, NK) */
    double *sens_ratio, *sens_lo, *sens_hi; /* (NB, L) */
    int32_t *sens_rank;                     /* (NB, L) 0 = the most sensitive layer */
    void *mem;                              /* private: every allocation of this struct */
};

struct as_summary {
    int64_t n; /* prompts included (status done, with metrics) */
    int L, H;
    int64_t *index;                      /* (n) row in /sweep */
    const char **ids;                    /* (n) prompt ids (point into the input) */
    double *head_entropy_mean;           /* (L, H) */
    struct as_summary_head *focused;     /* (n, K) lowest entropy first */
    struct as_summary_head *distributed; /* (n, K) highest entropy first */
    struct as_summary_head overall_focused[AS_METRICS_TOP_K];
    struct as_summary_head overall_distributed[AS_METRICS_TOP_K];
    int n_groups;
    struct as_summary_group *groups;
    struct as_metrics_small *small; /* (n) the per-prompt inputs (for the exports) */
    struct as_summary_stats *stats; /* statistics across prompts */
    void *arena;                    /* private */
};

/* Everything the summary reads: the file's prompt table and its /metrics and
 * /tokens columns, as src/io read them (struct as_table with data). The
 * summary keeps pointers into `metrics` and `tokens`: they must outlive it. */
struct as_summary_input {
    int64_t n;                      /* prompts in the file */
    int L, H;                       /* stored layers / heads */
    const int8_t *status;           /* (n) /sweep/status */
    const char *const *ids;         /* (n) /sweep/prompt */
    const int32_t *group_of;        /* (n) group of each prompt, in [0, n_groups) */
    int n_groups;                   /* groups are numbered in order of first appearance */
    const char *const *group_names; /* (n_groups) */
    const char *const *variants;    /* (n) variant names */
    const int32_t *n_tokens;        /* (n) */
    const int64_t *token_start;     /* (n) */
    const struct as_table *metrics; /* /metrics columns (at least those the summary uses) */
    const char *token_str;          /* (NT) records of /tokens/token_str, token_str_width bytes
                                       each, NUL-terminated within the record (as src/io reads) */
    size_t token_str_width;
    const int32_t *token_id; /* (NT) /tokens/token_id: the JS pairs' common suffix; NULL: every
                                pair shares nothing (js_divergence NaN) */
    /* Statistics across prompts (docs/METRICS.md). analysis NULL, or with n_boot < 1 (not
     * filled): the defaults of analysis.h; no `by` columns: by = {"group"}. */
    const struct as_analysis *analysis;
    const struct as_table *sweep; /* /sweep columns named by analysis (by, contrast columns,
                                     pair_on), each with n rows; "group" and "variant" may be
                                     absent: then group_names[group_of] and variants */
};

/* Computes the statistics of the prompts with status done and metrics input
 * != AS_MINPUT_NONE (AS_ERR_INVALID when there is none). Deterministic: the
 * same input gives bit-identical output. *out: free with as_summary_free. */
as_status as_summary_compute(const struct as_summary_input *in, struct as_summary **out,
                             struct as_err *err);
void as_summary_free(struct as_summary *sm);

/* Describes /summary (docs/FORMAT.md "Summary") as a table with data. */
as_status as_summary_table(const struct as_summary *sm, struct as_table *t, struct as_err *err);

/* Generation: adds /summary/answer_mass [group, span_name, layer] (the mean over the group's
 * summarized prompts with a value of the head-mean /metrics/span_mass_from_answer) and
 * answer_mass_count [group, span_name] to t, when metrics has span_mass_from_answer (else
 * nothing). Needs span_start, span_count and span_name in metrics too. */
as_status as_summary_answer_mass(const struct as_summary *sm, const struct as_table *metrics,
                                 struct as_table *t, struct as_err *err);
/* output.weights: norms | both: adds /summary/sink_last_norm [group, layer, head] (the mean over
 * the group's summarized prompts of /metrics/sink_last_norm; sink_last_norm_count [group]) and
 * /summary/span_mass_norm [group, span_name, layer] (as answer_mass, of the head-mean
 * /metrics/span_mass_norm; span_mass_norm_count) to t, when metrics has them (else nothing). */
as_status as_summary_norm_masses(const struct as_summary *sm, const struct as_table *metrics,
                                 struct as_table *t, struct as_err *err);

/* The counts and string widths that size a /summary (string widths are upper bounds). */
struct as_summary_dims {
    int64_t n, n_groups; /* done prompts, groups */
    int L, H;
    size_t id_width, variant_width, group_width, token_width;
    int64_t n_by, n_labels, n_spans, n_keywords, n_contrasts; /* the statistics' dimensions */
    size_t name_width; /* by, span, keyword and contrast names, label values */
};

/* Raw bytes of /summary of these dimensions (the dry-run estimate), built from the same
 * column list as as_summary_table; *n_cols (may be NULL) gets its number of datasets. -1
 * only when out of memory. */
double as_summary_estimate_bytes(const struct as_summary_dims *d, int *n_cols);

/* Rank 0 exports. JSON: the notebook's exp8_attention_results.json keys
 * (layer_entropies, head_specialization_summary) plus the new statistics.
 * CSV: tidy tables in dir (created if missing): metrics.csv (prompt, layer,
 * head, metric, value) and summary.csv (group, variant, layer, head, metric,
 * value). */
as_status as_summary_write_json(const struct as_summary *sm, const char *path, struct as_err *err);
as_status as_summary_write_csv(const struct as_summary *sm, const char *dir, struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
