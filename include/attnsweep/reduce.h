/* reduce.h - the reduce stage: per-prompt metrics in the HDF5 file and the
 * sweep-level statistics (/summary), plus the JSON / CSV exports.
 *
 * Who calls what:
 *   `attnsweep run` (the runner), on every rank:
 *     1. as_reduce_prefixes() + as_reduce_span_defs() give each prompt's
 *        context pieces; as_metrics_layout_compute() its layout (pure, so
 *        identical on every rank);
 *     2. as_metrics_h5_create(f, layouts, n)  COLLECTIVE, right after
 *        as_h5file_create_prompts, before compute;
 *     3. per prompt, on its worker: as_metrics_init, as_metrics_add_layer per
 *        layer from the sink, as_metrics_finish, as_metrics_h5_write
 *        (INDEPENDENT), then the status;
 *     4. after a collective as_h5file_flush: as_reduce_summary()  COLLECTIVE.
 *   `attnsweep reduce`: as_reduce_file() does 1-4 from the stored tensors,
 *   MPI-parallel over prompts (prompt i on rank i % size).
 *
 * The summary is computed on rank 0 from the small per-prompt metrics it
 * reads back from the file in prompt-index order, so it is identical for any
 * number of ranks and between `run` and a later `reduce`. */
#ifndef ATTNSWEEP_REDUCE_H
#define ATTNSWEEP_REDUCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "attnsweep/h5out.h"
#include "attnsweep/metrics.h"
#include "attnsweep/status.h"
#include "attnsweep/sweep.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- per-prompt metrics in the file (/prompts/<id>/metrics) ------------- */

/* COLLECTIVE. layouts: (n == f->n_prompts), identical on every rank (checked
 * by hash). A layout with L == 0 means "no metrics for this prompt" (e.g.
 * store: none). An existing metrics group is deleted and recreated. */
as_status as_metrics_h5_create(struct as_h5file *f, const struct as_metrics_layout *layouts,
                               int64_t n, struct as_err *err);
/* INDEPENDENT: writes every dataset of a finished accumulator. */
as_status as_metrics_h5_write(struct as_h5file *f, int64_t index, const struct as_metrics *m,
                              struct as_err *err);

/* Per-(layer, head) metrics that the exports list, in this order. */
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

/* The small per-prompt metrics the summary and the exports need. */
struct as_metrics_small {
    int L, H, T, n_spans;
    double *layer_entropy;     /* (L) */
    double *head[AS_HM_COUNT]; /* each (L, H); NaN-filled when not available (last_row) */
    int32_t *head_focus;       /* (L, H) */
    char **focus_token;        /* (L * H) */
    double *last_row_mean;     /* (L, T) */
    char **span_name;          /* (S) */
    int32_t *span_kind;        /* (S) */
    int32_t *span_tokens;      /* (S, 2) */
    double *span_mass;         /* (S, L, H) */
    double *span_lift;         /* (S, L, H) */
    void *mem;
};
/* INDEPENDENT read of prompt `index`'s small metrics. */
as_status as_metrics_h5_read(struct as_h5file *f, int64_t index, struct as_metrics_small *s,
                             struct as_err *err);
void as_metrics_small_free(struct as_metrics_small *s);

/* ---- context helpers for the runner -------------------------------------- */

/* Derived variant-specific prefix length of every sweep prompt (bytes), computed
 * per group with as_metrics_variant_prefixes. out: (s->n_prompts). */
as_status as_reduce_prefixes(const struct as_sweep *s, size_t *out, struct as_err *err);
/* The declared spans of sweep group g as metrics span definitions; out has
 * room for s->groups[g].n_spans entries (pointers into s). */
void as_reduce_span_defs(const struct as_sweep *s, int g, struct as_metrics_span_def *out);

/* ---- sweep-level statistics ------------------------------------------------ */

struct as_summary_head {
    int32_t layer, head;
    double entropy;
    char *token; /* focus token (points into the summary's strings) */
};

struct as_summary_group {
    char *name;
    int n_variants;
    int64_t *prompts;    /* (V) prompt indices, in file order */
    char **variants;     /* (V) variant names */
    int n_shared;        /* tokens of the shared question compared by js_divergence */
    double *entropy_std; /* (L) std over variants of layer_entropy (ddof = 0) */
    double *js;          /* (L) mean pairwise Jensen-Shannon divergence (nats), NaN if undefined */
    int32_t *rank_js;    /* (L) layers by decreasing js */
    int32_t *rank_std;   /* (L) layers by decreasing entropy_std */
    double *prefix_mass; /* (V, L) head-mean last-row mass on span "prefix" */
    double *question_mass;               /* (V, L) ... on span "question" */
    int has_examples;                    /* some variant has a span named example_answer* */
    double *example_mass;                /* (V, L, H) summed over example_answer* spans */
    struct as_summary_head *example_top; /* (V, AS_METRICS_TOP_K) (entropy = mass) */
};

struct as_summary {
    int64_t n; /* prompts included (status done, with metrics) */
    int L, H;
    int64_t *index;                      /* (n) prompt index in the file */
    char **ids;                          /* (n) */
    double *layer_entropy;               /* (n, L) */
    double *head_entropy;                /* (n, L, H) */
    double *head_entropy_mean;           /* (L, H) */
    struct as_summary_head *focused;     /* (n, K) lowest entropy first */
    struct as_summary_head *distributed; /* (n, K) highest entropy first */
    struct as_summary_head overall_focused[AS_METRICS_TOP_K];
    struct as_summary_head overall_distributed[AS_METRICS_TOP_K];
    int n_groups;
    struct as_summary_group *groups;
    struct as_metrics_small *small; /* (n) the per-prompt inputs (for the exports) */
    void *arena;                    /* private */
};

/* COLLECTIVE over f->comm. Reads the small metrics of every done prompt on
 * rank 0 (prompt-index order), computes the statistics, and (re)creates
 * /summary. s may be NULL (no /config: every prompt is its own group). On
 * rank 0, *out (if out != NULL) receives the summary (free with
 * as_summary_free); other ranks get NULL. */
as_status as_reduce_summary(struct as_h5file *f, const struct as_sweep *s, struct as_summary **out,
                            struct as_err *err);
void as_summary_free(struct as_summary *sm);

/* COLLECTIVE: everything `attnsweep reduce` does on an open read-write file:
 * per-prompt metrics from the stored tensors (prompt i on rank i % size;
 * store: last_row gives the last-row subset, store: none no metrics), flush,
 * then as_reduce_summary. keywords (n_keywords >= 0) replace the sweep's
 * analysis.keywords when keywords != NULL. log (may be NULL) gets progress
 * lines from rank 0. */
as_status as_reduce_file(struct as_h5file *f, const struct as_sweep *s, const char *const *keywords,
                         int n_keywords, FILE *log, struct as_summary **out, struct as_err *err);

/* COLLECTIVE: the sweep YAML stored in /config (malloc'd, NUL-terminated), or
 * *yaml = NULL when the file has none (written by `attnsweep extract`). */
as_status as_reduce_read_config(struct as_h5file *f, char **yaml, size_t *len, struct as_err *err);

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
