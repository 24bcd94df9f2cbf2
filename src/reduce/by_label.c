/* by_label.c - statistics split by /sweep columns (analysis.by; docs/METRICS.md
 * "Statistics across prompts"): the labels, i.e. every (column, value) among the summarized
 * prompts, values sorted (numbers numerically, strings bytewise); per label the mean,
 * standard deviation and 95% interval of every quantity; and, from the same resamples, the
 * prompt sensitivity of each column (sensitivity.c).
 *
 * Cost: a sort of the prompts per column (O(n log n)), then per label O(B (k + 1) D) for
 * the bootstrap of its k prompts and O(k L H) for the per-head quantities. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"
#include "summary_internal.h"

/* ------------------------------------------------------------ column views */

as_status sm_colview_get(const struct as_summary_input *in, const char *const *group_strs,
                         const char *name, const char *what, struct sm_colview *cv,
                         struct as_err *err) {
    memset(cv, 0, sizeof *cv);
    cv->name = name;
    const struct as_col *c = in->sweep ? as_table_find(in->sweep, name) : NULL;
    if (c) {
        if (c->nd != 1 || c->shape[0] != in->n || !c->data)
            return as_err_set(err, AS_ERR_FORMAT,
                              "%s: /sweep/%s has %d axes and %lld rows; expected one row per "
                              "prompt (%lld)",
                              what, name, c->nd, (long long)c->shape[0], (long long)in->n);
        switch (c->type) {
        case AS_COL_STR: cv->kind = 0; break;
        case AS_COL_I8: cv->kind = c->flag_meanings[0] ? 3 : 1; break;
        case AS_COL_I64:
        case AS_COL_I32:
        case AS_COL_U8: cv->kind = 1; break;
        case AS_COL_F64:
        case AS_COL_F32: cv->kind = 2; break;
        default:
            return as_err_set(err, AS_ERR_FORMAT,
                              "%s: /sweep/%s is float16; expected a string, integer, float32 or "
                              "float64 column",
                              what, name);
        }
        cv->col = c;
        return AS_OK;
    }
    if (!strcmp(name, "group") && group_strs) {
        cv->strs = group_strs;
        return AS_OK;
    }
    if (!strcmp(name, "variant") && in->variants) {
        cv->strs = in->variants;
        return AS_OK;
    }
    return as_err_set(err, AS_ERR_INVALID,
                      "%s: the /sweep column '%s' does not exist; expected the name of a /sweep "
                      "column (group, variant, or a prompt field, tag or product key of the "
                      "sweep). HINT: check the spelling in the sweep's analysis: section",
                      what, name);
}

static const char *cv_str(const struct sm_colview *cv, int64_t row, size_t *len) {
    if (!cv->col) {
        const char *s = cv->strs[row] ? cv->strs[row] : "";
        *len = strlen(s);
        return s;
    }
    const char *rec = (const char *)cv->col->data + (size_t)row * cv->col->width;
    *len = sm_rec_len(rec, cv->col->width);
    return rec;
}

static int64_t cv_int(const struct sm_colview *cv, int64_t row) {
    const void *d = cv->col->data;
    switch (cv->col->type) {
    case AS_COL_I64: return ((const int64_t *)d)[row];
    case AS_COL_I32: return ((const int32_t *)d)[row];
    case AS_COL_I8: return ((const int8_t *)d)[row];
    default: return ((const uint8_t *)d)[row];
    }
}

static double cv_float(const struct sm_colview *cv, int64_t row) {
    return cv->col->type == AS_COL_F64 ? ((const double *)cv->col->data)[row]
                                       : (double)((const float *)cv->col->data)[row];
}

/* The CF flag meaning of value v (kind 3): a word of flag_meanings, or NULL. */
static const char *flag_word(const struct sm_colview *cv, int64_t v, size_t *len) {
    const char *p = cv->col->flag_meanings;
    for (int64_t k = v - cv->col->flag_base; k >= 0 && *p; k--) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (k == 0 && e > p) {
            *len = (size_t)(e - p);
            return p;
        }
        p = e;
    }
    return NULL;
}

int sm_cv_missing(const struct sm_colview *cv, int64_t row) {
    size_t len;
    if (cv->kind == 0) return cv_str(cv, row, &len), len == 0;
    if (cv->kind == 2) return isnan(cv_float(cv, row));
    if (cv->kind == 3) {
        const char *w = flag_word(cv, cv_int(cv, row), &len);
        return w && len == 7 && !memcmp(w, "missing", 7);
    }
    return 0;
}

int sm_cv_cmp(const struct sm_colview *cv, int64_t a, int64_t b) {
    if (cv->kind == 0) {
        size_t la, lb;
        const char *x = cv_str(cv, a, &la), *y = cv_str(cv, b, &lb);
        int c = memcmp(x, y, la < lb ? la : lb);
        return c ? c : (la > lb) - (la < lb);
    }
    if (cv->kind == 1 || cv->kind == 3) {
        int64_t x = cv_int(cv, a), y = cv_int(cv, b);
        return (x > y) - (x < y);
    }
    double x = cv_float(cv, a), y = cv_float(cv, b);
    return (x > y) - (x < y);
}

void sm_cv_text(const struct sm_colview *cv, int64_t row, char *out, size_t cap) {
    if (cv->kind == 0) {
        size_t len;
        const char *s = cv_str(cv, row, &len);
        snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), s);
    } else if (cv->kind == 1) {
        snprintf(out, cap, "%lld", (long long)cv_int(cv, row));
    } else if (cv->kind == 3) { /* a CF flag: its meaning (false / true) */
        size_t len;
        const char *w = flag_word(cv, cv_int(cv, row), &len);
        if (w)
            snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), w);
        else
            snprintf(out, cap, "%lld", (long long)cv_int(cv, row));
    } else { /* the shortest text that reads back as the same value */
        const double v = cv_float(cv, row);
        for (int p = cv->col->type == AS_COL_F32 ? 6 : 15; p <= 17; p++) {
            snprintf(out, cap, "%.*g", p, v);
            if ((cv->col->type == AS_COL_F32 ? (double)strtof(out, NULL) : strtod(out, NULL)) == v)
                break;
        }
    }
}

/* v as a whole number (1) or a number (2), else 0. */
static int parse_number(const char *v, int64_t *i, double *d) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*v && !*end && errno == 0) {
        *i = x, *d = (double)x;
        return 1;
    }
    errno = 0;
    double y = strtod(v, &end);
    if (*v && !*end && errno == 0) {
        *d = y;
        return 2;
    }
    return 0;
}

int sm_cv_equals(const struct sm_colview *cv, int64_t row, const char *v) {
    if (cv->kind == 0) {
        size_t len;
        const char *s = cv_str(cv, row, &len);
        return strlen(v) == len && !memcmp(s, v, len);
    }
    if (cv->kind == 3) { /* the flag's meaning, or its number */
        size_t len;
        const char *w = flag_word(cv, cv_int(cv, row), &len);
        if (w && strlen(v) == len && !memcmp(w, v, len)) return 1;
    }
    int64_t i = 0;
    double d = 0;
    int p = parse_number(v, &i, &d);
    if (!p) return cv->kind == 3 ? 0 : -1;
    if (cv->kind == 1 || cv->kind == 3)
        return p == 1 ? cv_int(cv, row) == i : (double)cv_int(cv, row) == d;
    return cv_float(cv, row) == d;
}

/* ------------------------------------------------------------ labels */

/* Summary rows ordered by their value in a column (ties: row order, the sort is stable). */
struct by_ctx {
    const struct sm_colview *cv;
    const int64_t *index; /* summary row -> /sweep row */
};
static int by_cmp(const void *ctx, int64_t x, int64_t y) {
    const struct by_ctx *c = ctx;
    return sm_cv_cmp(c->cv, c->index[x], c->index[y]);
}

/* Per-(layer, head) mean, std and normal interval of quantity hm over the k prompts rows[]. */
static void head_stats(const struct as_summary *sm, int hm, const int64_t *rows, int64_t k,
                       double *sum, int32_t *cnt, struct as_stats_q4 *q, size_t off) {
    const int LH = sm->L * sm->H;
    memset(sum, 0, (size_t)LH * sizeof *sum);
    memset(cnt, 0, (size_t)LH * sizeof *cnt);
    for (int64_t j = 0; j < k; j++) {
        const double *v = sm->small[rows[j]].head[hm];
        for (int d = 0; d < LH; d++)
            if (!isnan(v[d])) sum[d] += v[d], cnt[d]++;
    }
    for (int d = 0; d < LH; d++) {
        q->mean[off + d] = cnt[d] > 0 ? sum[d] / cnt[d] : NAN;
        sum[d] = 0;
    }
    for (int64_t j = 0; j < k; j++) {
        const double *v = sm->small[rows[j]].head[hm];
        for (int d = 0; d < LH; d++)
            if (!isnan(v[d])) sum[d] += (v[d] - q->mean[off + d]) * (v[d] - q->mean[off + d]);
    }
    for (int d = 0; d < LH; d++) {
        const double m = q->mean[off + d];
        const double s = cnt[d] > 1 ? sqrt(sum[d] / (cnt[d] - 1)) : NAN;
        q->std[off + d] = s;
        q->lo[off + d] = cnt[d] > 1 ? m - SM_Z95 * s / sqrt((double)cnt[d]) : NAN;
        q->hi[off + d] = cnt[d] > 1 ? m + SM_Z95 * s / sqrt((double)cnt[d]) : NAN;
    }
}

as_status sm_labels_compute(const struct as_summary_input *in, const struct as_summary *sm,
                            struct as_summary_stats *st, const struct sm_rows *rows,
                            const char *const *group_strs, struct sm_boot *bt, struct as_err *err) {
    as_status ret = AS_OK;
    const int64_t n = sm->n;
    const int L = st->L, H = st->H, NB = st->NB, NS = st->NS, NK = st->NK;
    const int Dl = L * (1 + NS + NK), LH = L * H;
    const size_t un = (size_t)n;
    struct sm_colview *cv = calloc((size_t)NB + 1, sizeof *cv);
    int64_t *order = malloc(((size_t)NB * un + 1) * sizeof *order);
    int64_t *n_cand = calloc((size_t)NB + 1, sizeof *n_cand);
    double *mean = malloc(((size_t)Dl + 1) * sizeof *mean), *sd = malloc(((size_t)Dl + 1) * 8);
    int32_t *cnt = malloc(((size_t)Dl + (size_t)LH + 1) * sizeof *cnt);
    double *hsum = malloc(((size_t)LH + 1) * sizeof *hsum), *shift = calloc((size_t)L + 1, 8);
    double *sx = calloc((size_t)L + 1, 8), *sq = calloc((size_t)L + 1, 8);
    struct sm_sens sens = {0};
    if (!cv || !order || !n_cand || !mean || !sd || !cnt || !hsum || !shift || !sx || !sq ||
        sm_sens_init(&sens, st->n_boot, L) != 0)
        goto nomem;
    /* the labels: every column's prompts sorted by value, runs of equal values */
    int64_t NL = 0;
    for (int b = 0; b < NB; b++) {
        char what[AS_COL_NAME_MAX + 32];
        snprintf(what, sizeof what, "analysis.by[%d]", b);
        AS_TRY(sm_colview_get(in, group_strs, st->by[b], what, &cv[b], err));
        int64_t *o = order + (size_t)b * un, c = 0;
        for (int64_t j = 0; j < n; j++)
            if (!sm_cv_missing(&cv[b], sm->index[j])) o[c++] = j;
        struct by_ctx ctx = {&cv[b], sm->index};
        if (sm_sort(o, c, by_cmp, &ctx) != 0) goto nomem;
        n_cand[b] = c;
        for (int64_t k = 0; k < c; k++)
            NL += k == 0 || by_cmp(&ctx, o[k - 1], o[k]) != 0;
    }
    if (NL > INT32_MAX / (LH > 0 ? LH : 1)) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "analysis.by: %lld labels (column values) are too many for /summary; "
                         "expected columns with fewer distinct values",
                         (long long)NL);
        goto done;
    }
    const size_t uNL = (size_t)NL;
    st->NL = (int)NL;
    if (!(st->label = sm_alloc(st, uNL * sizeof(char *))) ||
        !(st->label_column = sm_alloc(st, uNL * sizeof(char *))) ||
        !(st->label_value = sm_alloc(st, uNL * sizeof(char *))) ||
        !(st->label_count = sm_alloc(st, uNL * sizeof(int32_t))) ||
        !(st->label_by = sm_alloc(st, uNL * sizeof(int32_t))) ||
        !(st->span_count = sm_alloc(st, uNL * (size_t)NS * sizeof(int32_t))) ||
        !(st->kw_count = sm_alloc(st, uNL * (size_t)NK * sizeof(int32_t))) ||
        !(st->sens_ratio = sm_alloc(st, (size_t)NB * L * sizeof(double))) ||
        !(st->sens_lo = sm_alloc(st, (size_t)NB * L * sizeof(double))) ||
        !(st->sens_hi = sm_alloc(st, (size_t)NB * L * sizeof(double))) ||
        !(st->sens_rank = sm_alloc(st, (size_t)NB * L * sizeof(int32_t))))
        goto nomem;
    st->layer_entropy = sm_q4_alloc(st, uNL * L);
    st->span = sm_q4_alloc(st, uNL * NS * L);
    st->kw = sm_q4_alloc(st, uNL * NK * L);
    for (int q = 0; q < AS_STAT_COUNT; q++)
        st->head[q] = sm_q4_alloc(st, uNL * LH);
    if (!st->layer_entropy.hi || !st->span.hi || !st->kw.hi || !st->head[AS_STAT_COUNT - 1].hi)
        goto nomem;
    /* the sensitivity sums are centred on the mean layer entropy of all summarized prompts */
    sm_moments(rows, L, NULL, n, shift, sd, cnt);
    for (int l = 0; l < L; l++)
        if (isnan(shift[l])) shift[l] = 0;
    static const int hm_of[AS_STAT_COUNT] = {AS_HM_HEAD_ENTROPY, AS_HM_SINK_LAST, AS_HM_PREV_TOKEN,
                                             AS_HM_INDUCTION};
    int64_t lab = 0;
    char text[512];
    for (int b = 0; b < NB; b++) {
        const int64_t *o = order + (size_t)b * un, c = n_cand[b];
        struct by_ctx ctx = {&cv[b], sm->index};
        sm_sens_reset(&sens, shift);
        for (int64_t k0 = 0, k1; k0 < c; k0 = k1, lab++) {
            for (k1 = k0 + 1; k1 < c && by_cmp(&ctx, o[k0], o[k1]) == 0; k1++)
                ;
            const int64_t *mem = o + k0, k = k1 - k0;
            sm_cv_text(&cv[b], sm->index[mem[0]], text, sizeof text);
            const size_t bl = strlen(st->by[b]), tl = strlen(text);
            char *full = sm_alloc(st, bl + tl + 2);
            if (!full || !(st->label_value[lab] = sm_strdup(st, text, tl))) goto nomem;
            memcpy(full, st->by[b], bl), full[bl] = '=', memcpy(full + bl + 1, text, tl);
            st->label[lab] = full, st->label_column[lab] = st->by[b];
            st->label_count[lab] = (int32_t)k, st->label_by[lab] = b;
            /* per-layer quantities: moments, and the bootstrap when there are 2 prompts */
            sm_moments(rows, Dl, mem, k, mean, sd, cnt);
            const int boot = k >= 2;
            if (boot &&
                sm_boot_run(bt, sm_key(st->seed, st->by[b], text), rows, Dl, mem, k, shift, L) != 0)
                goto nomem;
            for (int q = 0; q < 1 + NS + NK; q++) {
                struct as_stats_q4 *dst = q == 0    ? &st->layer_entropy
                                          : q <= NS ? &st->span
                                                    : &st->kw;
                const size_t off = q == 0    ? (size_t)lab * L
                                   : q <= NS ? ((size_t)lab * NS + (size_t)(q - 1)) * L
                                             : ((size_t)lab * NK + (size_t)(q - 1 - NS)) * L;
                if (q >= 1 && q <= NS) st->span_count[(size_t)lab * NS + (q - 1)] = cnt[q * L];
                if (q > NS) st->kw_count[(size_t)lab * NK + (q - 1 - NS)] = cnt[q * L];
                for (int l = 0; l < L; l++) {
                    const int d = q * L + l;
                    dst->mean[off + l] = mean[d], dst->std[off + l] = sd[d];
                    if (boot && cnt[d] >= 2)
                        sm_boot_interval(bt, d, st->confidence, &dst->lo[off + l],
                                         &dst->hi[off + l]);
                }
            }
            /* sensitivity: the label's centred sums of layer entropy */
            for (int l = 0; l < L; l++) {
                double a = 0, e2 = 0;
                for (int64_t j = 0; j < k; j++) {
                    const int64_t i = mem[j];
                    if (!rows->m[(size_t)i * rows->D + l]) continue;
                    const double e = rows->x[(size_t)i * rows->D + l] - shift[l];
                    a += e, e2 += e * e;
                }
                sx[l] = a, sq[l] = e2;
            }
            sm_sens_add(&sens, cnt, sx, sq, boot ? bt : NULL);
            /* per-(layer, head) quantities */
            for (int q = 0; q < AS_STAT_COUNT; q++)
                head_stats(sm, hm_of[q], mem, k, hsum, cnt, &st->head[q], (size_t)lab * LH);
        }
        sm_sens_finish(&sens, st->confidence, st->sens_ratio + (size_t)b * L,
                       st->sens_lo + (size_t)b * L, st->sens_hi + (size_t)b * L,
                       st->sens_rank + (size_t)b * L);
    }
    goto done;
nomem:
    ret = as_err_set(err, AS_ERR_NOMEM, "summary: out of memory for the statistics by label");
done:
    free(cv), free(order), free(n_cand), free(mean), free(sd), free(cnt), free(hsum), free(shift);
    free(sx), free(sq);
    sm_sens_free(&sens);
    return ret;
}
