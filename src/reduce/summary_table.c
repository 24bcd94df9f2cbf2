/* summary_table.c - /summary as a table (docs/FORMAT.md "Summary") and the
 * dry-run estimate of its raw bytes. Both come from st_build, one list of
 * columns: with a summary it attaches the data, without one it gives the
 * shapes for given counts and string widths, so the estimate cannot drift
 * from what is written. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "stats_internal.h"
#include "summary_internal.h"

/* Counts and string widths of a /summary (as_summary_dims, or taken from a summary). */
struct st_dims {
    int64_t n, G;
    int L, H;
    size_t id_w, variant_w, group_w, token_w; /* used when there is no summary */
    int64_t NB, NL, NS, NK, NC;
    size_t name_w;
};

/* A string column: from strs (have != 0), or only its shape with width w. */
static void st_str(struct as_table *t, int have, const char *name, const char *dims,
                   const int64_t *shape, const char *const *strs, size_t w) {
    if (have) {
        as_table_add_strings(t, name, dims, shape, strs);
        return;
    }
    struct as_col *c = as_table_add(t, name, AS_COL_STR, dims, shape, NULL, 0);
    if (c) c->width = w > 0 ? w : 1;
}

/* A 1-D scale 0..n-1. */
static void st_range(struct as_table *t, int have, const char *dim, int64_t n) {
    if (have)
        as_table_add_range(t, dim, n);
    else
        as_table_add(t, dim, AS_COL_I32, dim, (const int64_t[]){n}, NULL, 0);
}

/* The columns base_layer, base_head, base_<value> (and base_token) of a
 * top-heads table h: dims (row_dim, top) with `rows` rows, or (top) when
 * row_dim is NULL. */
static void st_heads(struct as_table *t, int have, const char *base, const char *value,
                     int with_token, const struct as_summary_head *h, const char *row_dim,
                     int64_t rows, size_t tok_w) {
    const int K = AS_METRICS_TOP_K;
    const size_t cnt = (size_t)(row_dim ? rows : 1) * K;
    char dims[2 * AS_COL_NAME_MAX];
    snprintf(dims, sizeof dims, "%s%stop", row_dim ? row_dim : "", row_dim ? "," : "");
    const int64_t shape2[2] = {rows, K}, shape1[1] = {K};
    const int64_t *shape = row_dim ? shape2 : shape1;
    char name[AS_COL_NAME_MAX];
    int32_t *li = NULL, *hi = NULL;
    double *v = NULL;
    const char **tok = NULL;
    if (have) {
        li = malloc(cnt * sizeof *li), hi = malloc(cnt * sizeof *hi), v = malloc(cnt * sizeof *v);
        tok = malloc(cnt * sizeof *tok);
        for (size_t i = 0; li && hi && v && tok && i < cnt; i++)
            li[i] = h[i].layer, hi[i] = h[i].head, v[i] = h[i].entropy,
            tok[i] = h[i].token ? h[i].token : "";
        if (!li || !hi || !v || !tok) { /* st_own below records the failure */
            free(li), free(hi), free(v), free(tok);
            li = NULL, hi = NULL, v = NULL, tok = NULL;
        }
    }
    snprintf(name, sizeof name, "%s_layer", base);
    if (have)
        as_table_add_owned(t, name, AS_COL_I32, dims, shape, li);
    else
        as_table_add(t, name, AS_COL_I32, dims, shape, NULL, 0);
    snprintf(name, sizeof name, "%s_head", base);
    if (have)
        as_table_add_owned(t, name, AS_COL_I32, dims, shape, hi);
    else
        as_table_add(t, name, AS_COL_I32, dims, shape, NULL, 0);
    snprintf(name, sizeof name, "%s_%s", base, value);
    if (have)
        as_table_add_owned(t, name, AS_COL_F64, dims, shape, v);
    else
        as_table_add(t, name, AS_COL_F64, dims, shape, NULL, 0);
    if (with_token) {
        snprintf(name, sizeof name, "%s_token", base);
        if (have && !tok)
            t->oom = 1;
        else
            st_str(t, have, name, dims, shape, tok, tok_w);
    }
    free(tok);
}

/* name_{mean,std,lo,hi} (or the contrast's mean, lo, hi, same_sign) with dims / shape. */
static void st_q4(struct as_table *t, const char *base, const char *dims, const int64_t *shape,
                  const struct as_stats_q4 *q) {
    static const char *const sfx[4] = {"mean", "std", "lo", "hi"};
    const double *d[4] = {q ? q->mean : NULL, q ? q->std : NULL, q ? q->lo : NULL,
                          q ? q->hi : NULL};
    char name[AS_COL_NAME_MAX];
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "%s_%s", base, sfx[k]);
        as_table_add(t, name, AS_COL_F64, dims, shape, d[k], 0);
    }
}
static void st_c4(struct as_table *t, const char *base, const char *dims, const int64_t *shape,
                  const struct as_stats_c4 *q) {
    static const char *const sfx[4] = {"mean", "lo", "hi", "same_sign"};
    const double *d[4] = {q ? q->mean : NULL, q ? q->lo : NULL, q ? q->hi : NULL,
                          q ? q->same_sign : NULL};
    char name[AS_COL_NAME_MAX];
    for (int k = 0; k < 4; k++) {
        snprintf(name, sizeof name, "%s_%s", base, sfx[k]);
        as_table_add(t, name, AS_COL_F64, dims, shape, d[k], 0);
    }
}

/* The statistics across prompts (docs/FORMAT.md "Statistics across prompts"). */
static void st_stats(struct as_table *t, const struct as_summary_stats *st,
                     const struct st_dims *d) {
    const int have = st != NULL;
    const int64_t L = d->L, H = d->H, NB = d->NB, NL = d->NL, NS = d->NS, NK = d->NK, NC = d->NC;
    const size_t w = d->name_w;
    /* scales */
    st_str(t, have, "by", "by", (const int64_t[]){NB}, have ? st->by : NULL, w);
    st_str(t, have, "label", "label", (const int64_t[]){NL}, have ? st->label : NULL, 2 * w);
    st_str(t, have, "span_name", "span_name", (const int64_t[]){NS}, have ? st->span_name : NULL,
           w);
    st_str(t, have, "keyword", "keyword", (const int64_t[]){NK}, have ? st->keyword : NULL, w);
    st_str(t, have, "contrast", "contrast", (const int64_t[]){NC}, have ? st->c_name : NULL, w);
    /* labels */
    st_str(t, have, "label_column", "label", (const int64_t[]){NL}, have ? st->label_column : NULL,
           w);
    st_str(t, have, "label_value", "label", (const int64_t[]){NL}, have ? st->label_value : NULL,
           w);
    as_table_add(t, "label_count", AS_COL_I32, "label", (const int64_t[]){NL},
                 have ? st->label_count : NULL, 0);
    st_q4(t, "by_layer_entropy", "label,layer", (const int64_t[]){NL, L},
          have ? &st->layer_entropy : NULL);
    static const char *const hq[AS_STAT_COUNT] = {"by_head_entropy", "by_sink", "by_prev_token",
                                                  "by_induction"};
    for (int q = 0; q < AS_STAT_COUNT; q++)
        st_q4(t, hq[q], "label,layer,head", (const int64_t[]){NL, L, H},
              have ? &st->head[q] : NULL);
    st_q4(t, "by_span_mass", "label,span_name,layer", (const int64_t[]){NL, NS, L},
          have ? &st->span : NULL);
    as_table_add(t, "by_span_count", AS_COL_I32, "label,span_name", (const int64_t[]){NL, NS},
                 have ? st->span_count : NULL, 0);
    st_q4(t, "by_keyword_mass", "label,keyword,layer", (const int64_t[]){NL, NK, L},
          have ? &st->kw : NULL);
    as_table_add(t, "by_keyword_count", AS_COL_I32, "label,keyword", (const int64_t[]){NL, NK},
                 have ? st->kw_count : NULL, 0);
    /* contrasts */
    st_str(t, have, "contrast_name", "contrast", (const int64_t[]){NC}, have ? st->c_name : NULL,
           w);
    st_str(t, have, "contrast_column", "contrast", (const int64_t[]){NC},
           have ? st->c_column : NULL, w);
    st_str(t, have, "contrast_a", "contrast", (const int64_t[]){NC}, have ? st->c_a : NULL, w);
    st_str(t, have, "contrast_b", "contrast", (const int64_t[]){NC}, have ? st->c_b : NULL, w);
    st_str(t, have, "contrast_pair_on", "contrast", (const int64_t[]){NC},
           have ? st->c_pair_on : NULL, w);
    as_table_add(t, "contrast_n_pairs", AS_COL_I32, "contrast", (const int64_t[]){NC},
                 have ? st->c_pairs : NULL, 0);
    static const char *const cq[AS_STAT_COUNT] = {"contrast_layer_entropy", "contrast_sink",
                                                  "contrast_prev_token", "contrast_induction"};
    for (int q = 0; q < AS_STAT_COUNT; q++)
        st_c4(t, cq[q], "contrast,layer", (const int64_t[]){NC, L}, have ? &st->c_q[q] : NULL);
    st_c4(t, "contrast_span_mass", "contrast,span_name,layer", (const int64_t[]){NC, NS, L},
          have ? &st->c_span : NULL);
    as_table_add(t, "contrast_span_count", AS_COL_I32, "contrast,span_name",
                 (const int64_t[]){NC, NS}, have ? st->c_span_count : NULL, 0);
    st_c4(t, "contrast_keyword_mass", "contrast,keyword,layer", (const int64_t[]){NC, NK, L},
          have ? &st->c_kw : NULL);
    as_table_add(t, "contrast_keyword_count", AS_COL_I32, "contrast,keyword",
                 (const int64_t[]){NC, NK}, have ? st->c_kw_count : NULL, 0);
    /* sensitivity */
    as_table_add(t, "sensitivity_ratio", AS_COL_F64, "by,layer", (const int64_t[]){NB, L},
                 have ? st->sens_ratio : NULL, 0);
    as_table_add(t, "sensitivity_lo", AS_COL_F64, "by,layer", (const int64_t[]){NB, L},
                 have ? st->sens_lo : NULL, 0);
    as_table_add(t, "sensitivity_hi", AS_COL_F64, "by,layer", (const int64_t[]){NB, L},
                 have ? st->sens_hi : NULL, 0);
    as_table_add(t, "sensitivity_rank", AS_COL_I32, "by,layer", (const int64_t[]){NB, L},
                 have ? st->sens_rank : NULL, 0);
    /* settings */
    as_table_set_attr_i64(t, "bootstrap_resamples", have ? st->n_boot : 0);
    as_table_set_attr_u64(t, "bootstrap_seed", have ? st->seed : 0);
    as_table_set_attr_f64(t, "confidence", AS_ANALYSIS_CONFIDENCE);
    as_table_set_attr_i64(t, "js_min_shared", have ? st->js_min_shared : 0);
}

/* Every /summary column; sm == NULL: shapes only (data NULL). */
static void st_build(struct as_table *t, const struct as_summary *sm, const struct st_dims *d) {
    const int have = sm != NULL;
    const struct sm_arena *ar = have ? sm->arena : NULL;
    const int64_t n = d->n, G = d->G, L = d->L, H = d->H;
    /* scales */
    st_str(t, have, "prompt", "prompt", (const int64_t[]){n}, have ? sm->ids : NULL, d->id_w);
    as_table_add(t, "layer", AS_COL_I32, "layer", (const int64_t[]){L}, have ? ar->layer_ids : NULL,
                 0);
    as_table_add(t, "head", AS_COL_I32, "head", (const int64_t[]){H}, have ? ar->head_ids : NULL,
                 0);
    st_range(t, have, "top", AS_METRICS_TOP_K);
    st_str(t, have, "group", "group", (const int64_t[]){G},
           have ? (const char *const *)ar->group_name : NULL, d->group_w);
    st_range(t, have, "member", n);
    /* per prompt */
    if (have) {
        int32_t *pi = malloc((size_t)(n > 0 ? n : 1) * sizeof *pi);
        for (int64_t i = 0; pi && i < n; i++)
            pi[i] = (int32_t)sm->index[i];
        as_table_add_owned(t, "prompt_index", AS_COL_I32, "prompt", (const int64_t[]){n}, pi);
    } else {
        as_table_add(t, "prompt_index", AS_COL_I32, "prompt", (const int64_t[]){n}, NULL, 0);
    }
    as_table_add(t, "head_entropy_mean", AS_COL_F64, "layer,head", (const int64_t[]){L, H},
                 have ? sm->head_entropy_mean : NULL, 0);
    st_heads(t, have, "most_focused", "entropy", 1, have ? sm->focused : NULL, "prompt", n,
             d->token_w);
    st_heads(t, have, "most_distributed", "entropy", 1, have ? sm->distributed : NULL, "prompt", n,
             d->token_w);
    st_heads(t, have, "overall_most_focused", "entropy", 1, have ? sm->overall_focused : NULL, NULL,
             0, d->token_w);
    st_heads(t, have, "overall_most_distributed", "entropy", 1,
             have ? sm->overall_distributed : NULL, NULL, 0, d->token_w);
    /* per group (borrowed: the arena's arrays are these columns) */
    struct as_col *c = as_table_add(t, "group_count", AS_COL_I32, "group", (const int64_t[]){G},
                                    have ? ar->group_count : NULL, 0);
    if (c) strcpy(c->sample_dimension, "member");
    as_table_add(t, "group_start", AS_COL_I64, "group", (const int64_t[]){G},
                 have ? ar->group_start : NULL, 0);
    as_table_add(t, "n_shared_tokens", AS_COL_I32, "group", (const int64_t[]){G},
                 have ? ar->n_shared : NULL, 0);
    as_table_add(t, "layer_entropy_std", AS_COL_F64, "group,layer", (const int64_t[]){G, L},
                 have ? ar->entropy_std : NULL, 0);
    as_table_add(t, "js_divergence", AS_COL_F64, "group,layer", (const int64_t[]){G, L},
                 have ? ar->js : NULL, 0);
    as_table_add(t, "js_pairs", AS_COL_I32, "group", (const int64_t[]){G},
                 have ? ar->js_pairs : NULL, 0);
    as_table_add(t, "sensitivity_rank_js", AS_COL_I32, "group,layer", (const int64_t[]){G, L},
                 have ? ar->rank_js : NULL, 0);
    as_table_add(t, "sensitivity_rank_entropy_std", AS_COL_I32, "group,layer",
                 (const int64_t[]){G, L}, have ? ar->rank_std : NULL, 0);
    as_table_add(t, "has_examples", AS_COL_I8, "group", (const int64_t[]){G},
                 have ? ar->has_examples : NULL, 0);
    /* per member */
    if (have) {
        int32_t *mi = malloc((size_t)(n > 0 ? n : 1) * sizeof *mi);
        for (int64_t i = 0; mi && i < n; i++)
            mi[i] = (int32_t)ar->member_index[i];
        as_table_add_owned(t, "member_prompt_index", AS_COL_I32, "member", (const int64_t[]){n},
                           mi);
    } else {
        as_table_add(t, "member_prompt_index", AS_COL_I32, "member", (const int64_t[]){n}, NULL, 0);
    }
    st_str(t, have, "member_variant", "member", (const int64_t[]){n},
           have ? (const char *const *)ar->member_variant : NULL, d->variant_w);
    as_table_add(t, "prefix_mass", AS_COL_F64, "member,layer", (const int64_t[]){n, L},
                 have ? ar->prefix_mass : NULL, 0);
    as_table_add(t, "question_mass", AS_COL_F64, "member,layer", (const int64_t[]){n, L},
                 have ? ar->question_mass : NULL, 0);
    as_table_add(t, "example_mass", AS_COL_F64, "member,layer,head", (const int64_t[]){n, L, H},
                 have ? ar->example_mass : NULL, 0);
    st_heads(t, have, "example_top", "mass", 0, have ? ar->example_top : NULL, "member", n, 1);
    st_stats(t, have ? sm->stats : NULL, d);
}

as_status as_summary_table(const struct as_summary *sm, struct as_table *t, struct as_err *err) {
    as_status ret = AS_OK;
    as_table_init(t);
    if (!sm || !sm->arena || sm->n < 1) {
        ret = as_err_set(err, AS_ERR_INVALID, "summary table: no summary (or an empty one)");
        goto done;
    }
    const struct as_summary_stats *st = sm->stats;
    if (!st) {
        ret = as_err_set(err, AS_ERR_INVALID, "summary table: the summary has no statistics");
        goto done;
    }
    const struct st_dims d = {sm->n, sm->n_groups, sm->L,  sm->H,  0,      0,      0,
                              0,     st->NB,       st->NL, st->NS, st->NK, st->NC, 0};
    st_build(t, sm, &d);
    AS_TRY(as_table_check(t, "/summary", err));
done:
    if (ret != AS_OK) as_table_free(t);
    return ret;
}

double as_summary_estimate_bytes(const struct as_summary_dims *sd, int *n_cols) {
    struct as_table t;
    as_table_init(&t);
    const struct st_dims d = {sd->n,           sd->n_groups,      sd->L,           sd->H,
                              sd->id_width,    sd->variant_width, sd->group_width, sd->token_width,
                              sd->n_by,        sd->n_labels,      sd->n_spans,     sd->n_keywords,
                              sd->n_contrasts, sd->name_width};
    st_build(&t, NULL, &d);
    double bytes = 0;
    for (int i = 0; i < t.n; i++)
        bytes += (double)as_col_count(&t.cols[i]) * (double)as_col_elsize(&t.cols[i]);
    if (n_cols) *n_cols = t.n;
    if (t.oom) bytes = -1; /* out of memory for the column list itself */
    as_table_free(&t);
    return bytes;
}
