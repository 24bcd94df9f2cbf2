/* metrics_table.c - /metrics as columns (docs/FORMAT.md "Metrics"): the
 * whole-file layout that creation allocates, and the rows of one batch of
 * consecutive prompts that a worker writes. Pure computation: no HDF5.
 *
 * One list (mt_cols) names every metric column with its type, dimensions and
 * first (row) dimension, so the layout and the rows can never disagree. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/reduce.h"

const char *const as_head_metric_names[AS_HM_COUNT] = {"head_entropy", "head_max",   "sink_last",
                                                       "sink_mean",    "prev_token", "norm_entropy",
                                                       "dup_token",    "induction"};

/* The row dimension of a metric column. */
enum mt_rows { MT_PROMPT, MT_TOKEN, MT_OCC, MT_SUBSTR, MT_SPAN };
/* The axes after the row axis. */
enum mt_inner { MT_NONE, MT_L, MT_LH, MT_BOUND };

/* Column indices, in docs/FORMAT.md order. */
enum {
    MC_INPUT,
    MC_LAYER_ENTROPY,
    MC_HEAD_ENTROPY,
    MC_HEAD_MAX,
    MC_HEAD_FOCUS,
    MC_SINK_LAST,
    MC_SINK_MEAN,
    MC_PREV_TOKEN,
    MC_NORM_ENTROPY,
    MC_DUP_TOKEN,
    MC_INDUCTION,
    MC_LAST_ROW_MEAN,
    MC_OCC_KEYWORD,
    MC_OCC_BYTES,
    MC_OCC_TOKENS,
    MC_OCC_MASS,
    MC_OCC_MASS_LAYER,
    MC_SUBSTR_KEYWORD,
    MC_SUBSTR_POSITION,
    MC_SUBSTR_MASS,
    MC_SPAN_NAME,
    MC_SPAN_KIND,
    MC_SPAN_BYTES,
    MC_SPAN_TOKENS,
    MC_SPAN_MASS,
    MC_SPAN_LIFT,
    MC_SPAN_MASS_FROM_ANSWER, /* only when the sweep generates (layouts' answer_mass) */
    MC_COUNT
};

static const struct mt_col {
    const char *name;
    enum as_col_type type;
    const char *dims;
    enum mt_rows rows;
    enum mt_inner inner;
} mt_cols[MC_COUNT] = {
    {"input", AS_COL_I8, "prompt", MT_PROMPT, MT_NONE},
    {"layer_entropy", AS_COL_F64, "prompt,layer", MT_PROMPT, MT_L},
    {"head_entropy", AS_COL_F64, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"head_max", AS_COL_F64, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"head_focus", AS_COL_I32, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"sink_last", AS_COL_F64, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"sink_mean", AS_COL_F64, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"prev_token", AS_COL_F64, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"norm_entropy", AS_COL_F64, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"dup_token", AS_COL_F64, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"induction", AS_COL_F64, "prompt,layer,head", MT_PROMPT, MT_LH},
    {"last_row_mean", AS_COL_F64, "token,layer", MT_TOKEN, MT_L},
    {"keyword_occ_keyword", AS_COL_I32, "occ", MT_OCC, MT_NONE},
    {"keyword_occ_bytes", AS_COL_I32, "occ,bound", MT_OCC, MT_BOUND},
    {"keyword_occ_tokens", AS_COL_I32, "occ,bound", MT_OCC, MT_BOUND},
    {"keyword_occ_mass", AS_COL_F64, "occ", MT_OCC, MT_NONE},
    {"keyword_occ_mass_layer", AS_COL_F64, "occ,layer", MT_OCC, MT_L},
    {"keyword_substr_keyword", AS_COL_I32, "substr", MT_SUBSTR, MT_NONE},
    {"keyword_substr_position", AS_COL_I32, "substr", MT_SUBSTR, MT_NONE},
    {"keyword_substr_mass", AS_COL_F64, "substr", MT_SUBSTR, MT_NONE},
    {"span_name", AS_COL_STR, "span", MT_SPAN, MT_NONE},
    {"span_kind", AS_COL_I8, "span", MT_SPAN, MT_NONE},
    {"span_bytes", AS_COL_I32, "span,bound", MT_SPAN, MT_BOUND},
    {"span_tokens", AS_COL_I32, "span,bound", MT_SPAN, MT_BOUND},
    {"span_mass", AS_COL_F64, "span,layer,head", MT_SPAN, MT_LH},
    {"span_lift", AS_COL_F64, "span,layer,head", MT_SPAN, MT_LH},
    {"span_mass_from_answer", AS_COL_F64, "span,layer,head", MT_SPAN, MT_LH},
};

/* 1 if some layout of the n computes span_mass_from_answer (then the column exists). */
static int mt_answer_mass(const struct as_metrics_layout *lay, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (lay[i].answer_mass) return 1;
    return 0;
}

/* The ragged dimensions: count / start column names. */
static const char *const mt_ragged_dim[3] = {"occ", "substr", "span"};
static const char *const mt_count_name[3] = {"keyword_occ_count", "keyword_substr_count",
                                             "span_count"};
static const char *const mt_start_name[3] = {"keyword_occ_start", "keyword_substr_start",
                                             "span_start"};

/* Ragged counts of a layout (0 for a prompt without metrics). */
static void lay_counts(const struct as_metrics_layout *y, int64_t c[3]) {
    c[0] = y->L ? y->n_occ : 0;
    c[1] = y->L ? y->n_nb : 0;
    c[2] = y->L ? y->n_spans : 0;
}

/* Shape of a metric column with `rows` rows. */
static void mt_shape(const struct mt_col *d, int64_t rows, int L, int H, int64_t shape[3]) {
    shape[0] = rows, shape[1] = 0, shape[2] = 0;
    switch (d->inner) {
    case MT_NONE: break;
    case MT_L: shape[1] = L; break;
    case MT_LH: shape[1] = L, shape[2] = H; break;
    case MT_BOUND: shape[1] = 2; break;
    }
}

/* The array of a per-(layer, head) float metric of column mc, or NULL when
 * the accumulator did not compute it (last_row input). */
static const double *head_array(const struct as_metrics *m, int mc) {
    switch (mc) {
    case MC_HEAD_ENTROPY: return m->head_entropy;
    case MC_HEAD_MAX: return m->head_max;
    case MC_SINK_LAST: return m->sink_last;
    case MC_SINK_MEAN: return m->sink_mean;
    case MC_PREV_TOKEN: return m->prev_token;
    case MC_NORM_ENTROPY: return m->norm_entropy;
    case MC_DUP_TOKEN: return m->dup_token;
    case MC_INDUCTION: return m->induction;
    }
    return NULL;
}

as_status as_metrics_table_layout(struct as_table *t, int64_t n,
                                  const struct as_metrics_layout *lay, const char *const *ids,
                                  const int32_t *n_tokens, int L, int H, const int32_t *layer_ids,
                                  const int32_t *head_ids, const char *const *keywords,
                                  int n_keywords, struct as_err *err) {
    as_status ret = AS_OK;
    as_table_init(t);
    /* which metrics a last_row input leaves NaN (rows with input = 1) */
    as_table_set_attr(t, "unavailable_last_row", as_metrics_unavailable_last_row());
    if (n < 0 || L < 0 || H < 0 || n_keywords < 0 || (n > 0 && (!lay || !ids || !n_tokens)) ||
        (L > 0 && !layer_ids) || (H > 0 && !head_ids) || (n_keywords > 0 && !keywords)) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "metrics layout: n=%lld L=%d H=%d keywords=%d with missing arrays",
                         (long long)n, L, H, n_keywords);
        goto done;
    }
    int64_t NT = 0, tot[3] = {0, 0, 0};
    size_t span_width = 1;
    for (int64_t i = 0; i < n; i++) {
        const struct as_metrics_layout *y = &lay[i];
        const char *id = ids[i] ? ids[i] : "";
        if (n_tokens[i] < 0) {
            ret = as_err_set(err, AS_ERR_INVALID, "metrics layout: prompt '%s' has %d tokens", id,
                             (int)n_tokens[i]);
            goto done;
        }
        NT += n_tokens[i];
        if (y->L == 0) continue;
        if (y->L != L || y->H != H || y->T != n_tokens[i] || y->n_keywords != n_keywords ||
            y->n_occ < 0 || y->n_nb < 0 || y->n_spans < 0) {
            ret =
                as_err_set(err, AS_ERR_INVALID,
                           "metrics layout of prompt '%s': L=%d H=%d T=%d keywords=%d; the "
                           "file has L=%d H=%d T=%d keywords=%d",
                           id, y->L, y->H, y->T, y->n_keywords, L, H, (int)n_tokens[i], n_keywords);
            goto done;
        }
        int64_t c[3];
        lay_counts(y, c);
        for (int r = 0; r < 3; r++)
            tot[r] += c[r];
        if (y->span_width > span_width) span_width = y->span_width;
    }

    /* scales */
    as_table_add_strings(t, "prompt", "prompt", (const int64_t[]){n}, ids);
    as_table_add(t, "layer", AS_COL_I32, "layer", (const int64_t[]){L}, layer_ids, 1);
    as_table_add(t, "head", AS_COL_I32, "head", (const int64_t[]){H}, head_ids, 1);
    as_table_add_range(t, "token", NT);
    as_table_add_range(t, "bound", 2);
    as_table_add_strings(t, "keyword", "keyword", (const int64_t[]){n_keywords}, keywords);
    for (int r = 0; r < 3; r++)
        as_table_add_range(t, mt_ragged_dim[r], tot[r]);

    /* metric columns (data NULL), with each ragged dimension's count and start first */
    int prev = -1;
    const int answer_mass = mt_answer_mass(lay, n);
    for (int k = 0; k < MC_COUNT; k++) {
        const struct mt_col *d = &mt_cols[k];
        if (k == MC_SPAN_MASS_FROM_ANSWER && !answer_mass) continue;
        if (d->rows >= MT_OCC && (int)d->rows != prev) {
            const int r = (int)d->rows - MT_OCC;
            int32_t *cnt = malloc((size_t)(n > 0 ? n : 1) * sizeof *cnt);
            int64_t *start = malloc((size_t)(n > 0 ? n : 1) * sizeof *start);
            int64_t at = 0;
            for (int64_t i = 0; cnt && start && i < n; i++) {
                int64_t c[3];
                lay_counts(&lay[i], c);
                cnt[i] = (int32_t)c[r], start[i] = at;
                at += c[r];
            }
            struct as_col *cc = as_table_add_owned(t, mt_count_name[r], AS_COL_I32, "prompt",
                                                   (const int64_t[]){n}, cnt);
            if (cc) strcpy(cc->sample_dimension, mt_ragged_dim[r]);
            as_table_add_owned(t, mt_start_name[r], AS_COL_I64, "prompt", (const int64_t[]){n},
                               start);
        }
        prev = (int)d->rows;
        const int64_t rows = d->rows == MT_PROMPT  ? n
                             : d->rows == MT_TOKEN ? NT
                                                   : tot[d->rows - MT_OCC];
        int64_t shape[3];
        mt_shape(d, rows, L, H, shape);
        if (k == MC_INPUT) {
            int8_t *in = malloc((size_t)(n > 0 ? n : 1));
            for (int64_t i = 0; in && i < n; i++)
                in[i] = (int8_t)(lay[i].L == 0 ? AS_MINPUT_NONE : lay[i].input);
            struct as_col *c = as_table_add_owned(t, d->name, d->type, d->dims, shape, in);
            if (c) {
                strcpy(c->flag_meanings, "none full last_row");
                c->flag_base = AS_MINPUT_NONE;
            }
            continue;
        }
        struct as_col *c = as_table_add(t, d->name, d->type, d->dims, shape, NULL, 0);
        if (c && d->type == AS_COL_STR) c->width = span_width;
    }
    AS_TRY(as_table_check(t, "/metrics layout", err));
done:
    if (ret != AS_OK) as_table_free(t);
    return ret;
}

as_status as_metrics_table_rows(struct as_table *t, int64_t n, const struct as_metrics *const *m,
                                const struct as_metrics_layout *lay, const int32_t *n_tokens, int L,
                                int H, struct as_err *err) {
    as_status ret = AS_OK;
    const char **names = NULL;
    void *col[MC_COUNT] = {0};
    as_table_init(t);
    if (n < 0 || L < 1 || H < 1 || (n > 0 && (!m || !lay || !n_tokens))) {
        ret = as_err_set(err, AS_ERR_INVALID, "metrics rows: n=%lld L=%d H=%d with missing arrays",
                         (long long)n, L, H);
        goto done;
    }
    /* sizes of the batch, and every accumulator checked against its layout */
    int64_t NT = 0, tot[3] = {0, 0, 0};
    for (int64_t i = 0; i < n; i++) {
        int64_t c[3];
        lay_counts(&lay[i], c);
        const struct as_metrics *a = m[i];
        if (a && (!a->finished || lay[i].L == 0 || a->lay.L != L || a->lay.H != H ||
                  a->lay.T != n_tokens[i] || a->lay.n_occ != c[0] || a->lay.n_nb != c[1] ||
                  a->lay.n_spans != c[2])) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "metrics rows: prompt %lld of the batch: accumulator (finished=%d "
                             "L=%d H=%d T=%d occ=%d substr=%d spans=%d) does not match its layout "
                             "(L=%d H=%d T=%d occ=%lld substr=%lld spans=%lld)",
                             (long long)i, a->finished, a->lay.L, a->lay.H, a->lay.T, a->lay.n_occ,
                             a->lay.n_nb, a->lay.n_spans, lay[i].L ? L : 0, H, (int)n_tokens[i],
                             (long long)c[0], (long long)c[1], (long long)c[2]);
            goto done;
        }
        NT += n_tokens[i];
        for (int r = 0; r < 3; r++)
            tot[r] += c[r];
    }
    const size_t LH = (size_t)L * H;

    /* allocate every numeric column; span_name comes from its strings below */
    const int answer_mass = mt_answer_mass(lay, n);
    for (int k = 0; k < MC_COUNT; k++) {
        const struct mt_col *d = &mt_cols[k];
        if (d->type == AS_COL_STR || (k == MC_SPAN_MASS_FROM_ANSWER && !answer_mass)) continue;
        const int64_t rows = d->rows == MT_PROMPT  ? n
                             : d->rows == MT_TOKEN ? NT
                                                   : tot[d->rows - MT_OCC];
        int64_t shape[3];
        mt_shape(d, rows, L, H, shape);
        struct as_col probe = {.type = d->type};
        size_t cnt = (size_t)rows * (d->inner == MT_L       ? (size_t)L
                                     : d->inner == MT_LH    ? LH
                                     : d->inner == MT_BOUND ? 2
                                                            : 1);
        struct as_col *c = as_table_add_owned(t, d->name, d->type, d->dims, shape,
                                              malloc(cnt * as_col_elsize(&probe) + 1));
        if (!c) {
            ret = as_err_set(err, AS_ERR_NOMEM,
                             "metrics rows: no memory for column %s (%zu values)", d->name, cnt);
            goto done;
        }
        col[k] = c->data;
        if (k == MC_INPUT) {
            strcpy(c->flag_meanings, "none full last_row");
            c->flag_base = AS_MINPUT_NONE;
        }
    }
    if (!(names = calloc((size_t)tot[2] + 1, sizeof *names))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "metrics rows: no memory for %lld span names",
                         (long long)tot[2]);
        goto done;
    }

    int64_t tok = 0, o0 = 0, b0 = 0, s0 = 0; /* batch rows of prompt i */
    for (int64_t i = 0; i < n; i++) {
        const struct as_metrics *a = m[i];
        const int T = n_tokens[i];
        int64_t c[3];
        lay_counts(&lay[i], c);
        ((int8_t *)col[MC_INPUT])[i] = (int8_t)(a ? a->lay.input : AS_MINPUT_NONE);
        double *le = (double *)col[MC_LAYER_ENTROPY] + (size_t)i * L;
        for (int l = 0; l < L; l++)
            le[l] = a ? a->layer_entropy[l] : NAN;
        int32_t *focus = (int32_t *)col[MC_HEAD_FOCUS] + (size_t)i * LH;
        for (size_t k = 0; k < LH; k++)
            focus[k] = a ? a->head_focus[k] : -1;
        for (int mc = MC_HEAD_ENTROPY; mc <= MC_INDUCTION; mc++) {
            if (mc == MC_HEAD_FOCUS) continue;
            const double *src = a ? head_array(a, mc) : NULL; /* NULL: needs full maps */
            double *dst = (double *)col[mc] + (size_t)i * LH;
            for (size_t k = 0; k < LH; k++)
                dst[k] = src ? src[k] : NAN;
        }
        /* last_row_mean: the accumulator's (L, T) becomes rows (token, layer) */
        double *lrm = (double *)col[MC_LAST_ROW_MEAN] + (size_t)tok * L;
        for (int tt = 0; tt < T; tt++)
            for (int l = 0; l < L; l++)
                lrm[(size_t)tt * L + l] = a ? a->last_row_mean[(size_t)l * T + tt] : NAN;
        /* keyword occurrences (text rule) */
        for (int64_t r = 0; r < c[0]; r++) {
            const struct as_metrics_occ *oc = a ? &a->occ[r] : NULL;
            const size_t row = (size_t)(o0 + r);
            ((int32_t *)col[MC_OCC_KEYWORD])[row] = oc ? oc->keyword : -1;
            for (int b = 0; b < 2; b++) {
                ((int32_t *)col[MC_OCC_BYTES])[2 * row + b] = oc ? oc->bytes[b] : -1;
                ((int32_t *)col[MC_OCC_TOKENS])[2 * row + b] = oc ? oc->tokens[b] : -1;
            }
            ((double *)col[MC_OCC_MASS])[row] = a ? a->occ_mass[r] : NAN;
            for (int l = 0; l < L; l++)
                ((double *)col[MC_OCC_MASS_LAYER])[row * L + l] =
                    a ? a->occ_mass_layer[(size_t)r * L + l] : NAN;
        }
        /* the notebook's token-substring matches */
        for (int64_t r = 0; r < c[1]; r++) {
            const size_t row = (size_t)(b0 + r);
            ((int32_t *)col[MC_SUBSTR_KEYWORD])[row] = a ? a->nb_keyword[r] : -1;
            ((int32_t *)col[MC_SUBSTR_POSITION])[row] = a ? a->nb_position[r] : -1;
            ((double *)col[MC_SUBSTR_MASS])[row] = a ? a->nb_mass[r] : NAN;
        }
        /* spans */
        for (int64_t r = 0; r < c[2]; r++) {
            const struct as_metrics_span *sp = a ? &a->spans[r] : NULL;
            const size_t row = (size_t)(s0 + r);
            names[row] = sp ? sp->name : "";
            ((int8_t *)col[MC_SPAN_KIND])[row] = (int8_t)(sp ? sp->kind : -1);
            for (int b = 0; b < 2; b++) {
                ((int32_t *)col[MC_SPAN_BYTES])[2 * row + b] = sp ? sp->bytes[b] : -1;
                ((int32_t *)col[MC_SPAN_TOKENS])[2 * row + b] = sp ? sp->tokens[b] : -1;
            }
            double *ms = (double *)col[MC_SPAN_MASS] + row * LH;
            double *lf = (double *)col[MC_SPAN_LIFT] + row * LH;
            for (size_t k = 0; k < LH; k++) {
                ms[k] = a ? a->span_mass[(size_t)r * LH + k] : NAN;
                lf[k] = a ? a->span_lift[(size_t)r * LH + k] : NAN;
            }
            double *fa = col[MC_SPAN_MASS_FROM_ANSWER]
                             ? (double *)col[MC_SPAN_MASS_FROM_ANSWER] + row * LH
                             : NULL;
            for (size_t k = 0; fa && k < LH; k++)
                fa[k] = a ? a->span_mass_from_answer[(size_t)r * LH + k] : NAN;
        }
        tok += T, o0 += c[0], b0 += c[1], s0 += c[2];
    }
    /* width: the batch's longest name; src/io writes it into the file's wider records */
    as_table_add_strings(t, mt_cols[MC_SPAN_NAME].name, mt_cols[MC_SPAN_NAME].dims,
                         (const int64_t[]){tot[2]}, names);
    AS_TRY(as_table_check(t, "/metrics rows", err));
done:
    free(names);
    if (ret != AS_OK) as_table_free(t);
    return ret;
}
