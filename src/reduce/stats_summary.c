/* stats_summary.c - the statistics across prompts of a summary (docs/METRICS.md "Statistics
 * across prompts"): the settings, the span_name and keyword dimensions, every summarized
 * prompt's row of per-layer quantities (stats_internal.h), then the labels (by_label.c) and
 * the contrasts (contrast.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"
#include "summary_internal.h"

as_status sm_settings(const struct as_summary_input *in, int *n_boot, uint64_t *seed,
                      int *js_min_shared, struct as_err *err) {
    const struct as_analysis *an = in ? in->analysis : NULL;
    *n_boot = AS_ANALYSIS_BOOT_DEFAULT, *seed = AS_ANALYSIS_SEED_DEFAULT;
    *js_min_shared = AS_ANALYSIS_JS_MIN_SHARED;
    if (!an || an->n_boot == 0) return AS_OK; /* not filled: the defaults */
    if (an->n_boot < 1 || an->n_boot > AS_ANALYSIS_BOOT_MAX)
        return as_err_set(err, AS_ERR_INVALID, "analysis.bootstrap: %d resamples; expected 1 to %d",
                          an->n_boot, AS_ANALYSIS_BOOT_MAX);
    if (an->js_min_shared < 1)
        return as_err_set(err, AS_ERR_INVALID,
                          "analysis.js_min_shared: %d; expected at least 1 shared token",
                          an->js_min_shared);
    *n_boot = an->n_boot, *seed = an->seed, *js_min_shared = an->js_min_shared;
    return AS_OK;
}

/* ------------------------------------------------------------ span names */

struct span_ref {
    const char *name;
    size_t len;
    int64_t order; /* position in prompt order, span order */
};
struct span_ctx {
    const struct span_ref *r;
};
static int span_cmp(const void *ctx, int64_t x, int64_t y) {
    const struct span_ref *a = &((const struct span_ctx *)ctx)->r[x],
                          *b = &((const struct span_ctx *)ctx)->r[y];
    int c = memcmp(a->name, b->name, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}
/* derived names last: "template", "template_end", "prefix" then "question", everything else
 * by first appearance */
static int64_t span_rank(const struct span_ref *r) {
    if (r->len == 8 && !memcmp(r->name, "template", 8)) return INT64_MAX - 3;
    if (r->len == 12 && !memcmp(r->name, "template_end", 12)) return INT64_MAX - 2;
    if (r->len == 6 && !memcmp(r->name, "prefix", 6)) return INT64_MAX - 1;
    if (r->len == 8 && !memcmp(r->name, "question", 8)) return INT64_MAX;
    return r->order;
}
static int first_cmp(const void *ctx, int64_t x, int64_t y) {
    const struct span_ref *r = ((const struct span_ctx *)ctx)->r;
    int64_t a = span_rank(&r[x]), b = span_rank(&r[y]);
    return (a > b) - (a < b);
}

/* st->span_name, and name_of[ref] for every (prompt, span) in prompt order. */
static as_status span_names(const struct as_summary *sm, struct as_summary_stats *st,
                            int32_t **name_of, struct as_err *err) {
    as_status ret = AS_OK;
    int64_t S = 0;
    for (int64_t j = 0; j < sm->n; j++)
        S += sm->small[j].n_spans;
    struct span_ref *r = malloc(((size_t)S + 1) * sizeof *r);
    int64_t *perm = malloc(((size_t)S + 1) * sizeof *perm), *uniq = NULL;
    int32_t *pre = malloc(((size_t)S + 1) * sizeof *pre), *final = NULL;
    *name_of = malloc(((size_t)S + 1) * sizeof **name_of);
    if (!r || !perm || !pre || !*name_of) goto nomem;
    int64_t q = 0;
    for (int64_t j = 0; j < sm->n; j++) {
        const struct as_metrics_small *m = &sm->small[j];
        for (int s = 0; s < m->n_spans; s++, q++) {
            r[q].name = m->span_names + (size_t)s * m->span_name_width;
            r[q].len = sm_rec_len(r[q].name, m->span_name_width);
            r[q].order = q, perm[q] = q;
        }
    }
    struct span_ctx ctx = {r};
    if (sm_sort(perm, S, span_cmp, &ctx) != 0) goto nomem;
    int64_t NS = 0; /* runs of one name: the first of each (lowest order) stands for it */
    if (!(uniq = malloc(((size_t)S + 1) * sizeof *uniq))) goto nomem;
    for (int64_t k = 0; k < S; k++) {
        if (k == 0 || span_cmp(&ctx, perm[k - 1], perm[k]) != 0) uniq[NS++] = perm[k];
        pre[perm[k]] = (int32_t)(NS - 1);
    }
    if (!(final = malloc(((size_t)NS + 1) * sizeof *final))) goto nomem;
    int64_t *ord = malloc(((size_t)NS + 1) * sizeof *ord);
    if (!ord) goto nomem;
    for (int64_t u = 0; u < NS; u++)
        ord[u] = uniq[u];
    if (sm_sort(ord, NS, first_cmp, &ctx) != 0) {
        free(ord);
        goto nomem;
    }
    st->NS = (int)NS;
    if (!(st->span_name = sm_alloc(st, ((size_t)NS + 1) * sizeof(char *)))) {
        free(ord);
        goto nomem;
    }
    for (int64_t u = 0; u < NS; u++) {
        final[pre[ord[u]]] = (int32_t)u;
        if (!(st->span_name[u] = sm_strdup(st, r[ord[u]].name, r[ord[u]].len))) {
            free(ord);
            goto nomem;
        }
    }
    free(ord);
    for (int64_t k = 0; k < S; k++)
        (*name_of)[k] = final[pre[k]];
    goto done;
nomem:
    ret = as_err_set(err, AS_ERR_NOMEM, "summary: out of memory for the span names");
done:
    free(r), free(perm), free(uniq), free(pre), free(final);
    return ret;
}

/* ------------------------------------------------------------ the rows */

static as_status make_rows(const struct as_summary *sm, struct as_summary_stats *st,
                           const int32_t *name_of, struct sm_rows *rows, struct as_err *err) {
    const int L = st->L, H = st->H, NS = st->NS, NK = st->NK, D = st->D;
    rows->n = sm->n, rows->D = D;
    rows->x = calloc((size_t)sm->n * D + 1, sizeof *rows->x);
    rows->m = calloc((size_t)sm->n * D + 1, 1);
    if (!rows->x || !rows->m)
        return as_err_set(err, AS_ERR_NOMEM,
                          "summary: out of memory for %lld prompts x %d per-layer quantities",
                          (long long)sm->n, D);
    static const int hm_of[3] = {AS_HM_SINK_LAST, AS_HM_PREV_TOKEN, AS_HM_INDUCTION};
    int64_t ref = 0;
    for (int64_t j = 0; j < sm->n; j++) {
        const struct as_metrics_small *p = &sm->small[j];
        double *x = rows->x + (size_t)j * D;
        uint8_t *m = rows->m + (size_t)j * D;
        for (int l = 0; l < L; l++)
            if (!isnan(p->layer_entropy[l])) x[l] = p->layer_entropy[l], m[l] = 1;
        for (int s = 0; s < p->n_spans; s++, ref++) {
            const int u = name_of[ref], q = 1 + u;
            if (p->span_tokens[2 * s] < 0 || m[q * L]) continue; /* absent, or named twice */
            for (int l = 0; l < L; l++) {
                double a = 0;
                for (int h = 0; h < H; h++)
                    a += p->span_mass[((size_t)s * L + l) * H + h];
                a /= H;
                if (!isnan(a)) x[q * L + l] = a, m[q * L + l] = 1;
            }
        }
        for (int o = 0; o < p->n_occ && p->occ_mass_layer; o++) {
            const int k = p->occ_keyword[o], q = 1 + NS + k;
            if (k < 0 || k >= NK) continue;
            for (int l = 0; l < L; l++) {
                const double v = p->occ_mass_layer[(size_t)o * L + l];
                if (!isnan(v)) x[q * L + l] += v, m[q * L + l] = 1;
            }
        }
        for (int Q = 0; Q < 3; Q++) {
            const int q = 1 + NS + NK + Q;
            const double *v = p->head[hm_of[Q]];
            for (int l = 0; l < L; l++) {
                double a = 0;
                for (int h = 0; h < H; h++)
                    a += v[(size_t)l * H + h];
                a /= H;
                if (!isnan(a)) x[q * L + l] = a, m[q * L + l] = 1;
            }
        }
    }
    return AS_OK;
}

/* ------------------------------------------------------------ all of it */

as_status sm_stats_compute(const struct as_summary_input *in, struct as_summary *sm,
                           struct as_err *err) {
    as_status ret = AS_OK;
    struct as_summary_stats *st = calloc(1, sizeof *st);
    const char **gstr = NULL;
    int32_t *name_of = NULL;
    struct sm_rows rows = {0};
    struct sm_boot bt = {0};
    if (!st) return as_err_set(err, AS_ERR_NOMEM, "summary: out of memory for the statistics");
    sm->stats = st;
    st->L = sm->L, st->H = sm->H, st->confidence = AS_ANALYSIS_CONFIDENCE;
    AS_TRY(sm_settings(in, &st->n_boot, &st->seed, &st->js_min_shared, err));
    /* no analysis, or one nobody filled (n_boot 0): the defaults, by = [group]; a filled one
     * is taken as it is (by: [] splits by nothing) */
    const struct as_analysis *an = in->analysis && in->analysis->n_boot != 0 ? in->analysis : NULL;
    static const char *const dflt_by[] = {"group"};
    const int use_dflt = !an;
    st->NB = use_dflt ? 1 : an->n_by;
    st->NC = an ? an->n_contrasts : 0;
    if (st->NB < 0 || st->NC < 0) {
        ret = as_err_set(err, AS_ERR_INVALID, "analysis: %d by columns, %d contrasts", st->NB,
                         st->NC);
        goto done;
    }
    if (!(st->by = sm_alloc(st, ((size_t)st->NB + 1) * sizeof(char *)))) goto nomem;
    for (int b = 0; b < st->NB; b++) {
        const char *name = use_dflt ? dflt_by[b] : an->by[b];
        if (!name || !*name) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "analysis.by[%d]: empty; expected a /sweep "
                             "column name",
                             b);
            goto done;
        }
        for (int c = 0; c < b; c++)
            if (!strcmp(st->by[c], name)) {
                ret = as_err_set(err, AS_ERR_INVALID,
                                 "analysis.by: '%s' is listed twice; expected each column once",
                                 name);
                goto done;
            }
        if (!(st->by[b] = sm_strdup(st, name, strlen(name)))) goto nomem;
    }
    if ((st->NC > 0 && !an->contrasts) || (st->NB > 0 && !use_dflt && !an->by)) {
        ret =
            as_err_set(err, AS_ERR_INVALID, "analysis.contrasts: %d declared, none given", st->NC);
        goto done;
    }
    /* the virtual "group" column: group_names[group_of] */
    if (!(gstr = calloc((size_t)in->n + 1, sizeof *gstr))) goto nomem;
    for (int64_t i = 0; i < in->n; i++)
        gstr[i] = in->group_names[in->group_of[i]];
    /* dimensions: span names over the summarized prompts, the /metrics keywords */
    AS_TRY(span_names(sm, st, &name_of, err));
    const struct as_col *kc = as_table_find(in->metrics, "keyword");
    const int have_occ = kc && kc->type == AS_COL_STR && kc->nd == 1 && kc->data &&
                         as_table_find(in->metrics, "keyword_occ_mass_layer");
    st->NK = have_occ ? (int)kc->shape[0] : 0;
    if (!(st->keyword = sm_alloc(st, ((size_t)st->NK + 1) * sizeof(char *)))) goto nomem;
    for (int k = 0; k < st->NK; k++) {
        const char *rec = (const char *)kc->data + (size_t)k * kc->width;
        if (!(st->keyword[k] = sm_strdup(st, rec, sm_rec_len(rec, kc->width)))) goto nomem;
    }
    st->D = st->L * (1 + st->NS + st->NK + 3);
    AS_TRY(make_rows(sm, st, name_of, &rows, err));
    if (sm_boot_init(&bt, st->n_boot, st->D, st->L, st->L) != 0) goto nomem;
    AS_TRY(sm_labels_compute(in, sm, st, &rows, gstr, &bt, err));
    AS_TRY(sm_contrasts_compute(in, sm, st, &rows, gstr, &bt, err));
    goto done;
nomem:
    ret = as_err_set(err, AS_ERR_NOMEM, "summary: out of memory for the statistics");
done:
    free(gstr), free(name_of), free(rows.x), free(rows.m);
    sm_boot_free(&bt);
    return ret;
}
