/* group_means.c - /summary datasets that are plain per-group means of a /metrics
 * column over the group's summarized prompts (docs/METRICS.md "Spans" and "Value
 * norms"): answer_mass (from span_mass_from_answer, when the sweep generates),
 * span_mass_norm and sink_last_norm (from the norm-weighted masses, under
 * output.weights: norms | both). Pure; O(spans + prompts of the file). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/reduce.h"

/* out[g, u, l] = mean over group g's prompts that have span u (by name; the first of a
 * repeated name counts) with a value, of the head mean of src [span, L, H]; cnt[g, u] counts
 * them. Adds `name` [group, span_name, layer] and `name`_count [group, span_name] to t. */
static as_status span_means(const struct as_summary *sm, const struct as_table *metrics,
                            const char *src, const char *name, struct as_table *t,
                            struct as_err *err) {
    const struct as_col *fa = as_table_find(metrics, src);
    const struct as_col *ss = as_table_find(metrics, "span_start");
    const struct as_col *sc = as_table_find(metrics, "span_count");
    const struct as_col *sn = as_table_find(metrics, "span_name");
    if (!fa || !sm || !sm->stats) return AS_OK; /* not in this file: no dataset */
    if (!ss || !sc || !sn || ss->type != AS_COL_I64 || sc->type != AS_COL_I32 ||
        sn->type != AS_COL_STR || fa->type != AS_COL_F64 || fa->nd != 3 || fa->shape[1] != sm->L ||
        fa->shape[2] != sm->H)
        return as_err_set(err, AS_ERR_FORMAT,
                          "summary: /metrics/%s is not [span, %d, %d] float64 with span_start, "
                          "span_count and span_name",
                          src, sm->L, sm->H);
    const struct as_summary_stats *st = sm->stats;
    const int64_t G = sm->n_groups, NS = st->NS, L = sm->L, H = sm->H, nspan = fa->shape[0];
    double *mean = calloc((size_t)(G * NS * L) + 1, sizeof *mean);
    int32_t *cnt = calloc((size_t)(G * NS) + 1, sizeof *cnt);
    uint8_t *seen = calloc((size_t)NS + 1, 1);
    if (!mean || !cnt || !seen) {
        free(mean), free(cnt), free(seen);
        return as_err_set(err, AS_ERR_NOMEM, "summary: out of memory for %s", name);
    }
    const double *v = fa->data;
    for (int64_t g = 0; g < G; g++) {
        const struct as_summary_group *gr = &sm->groups[g];
        for (int k = 0; k < gr->n_variants; k++) {
            const int64_t i = gr->prompts[k];
            const int64_t s0 = ((const int64_t *)ss->data)[i];
            const int32_t n = ((const int32_t *)sc->data)[i];
            memset(seen, 0, (size_t)NS);
            for (int32_t s = 0; s < n && s0 + s < nspan; s++) {
                const char *sname = (const char *)sn->data + (size_t)(s0 + s) * sn->width;
                int64_t u = -1;
                for (int64_t q = 0; q < NS && u < 0; q++)
                    if (!strncmp(st->span_name[q], sname, sn->width) &&
                        strlen(st->span_name[q]) <= sn->width)
                        u = q;
                if (u < 0 || seen[u]) continue; /* unknown, or named twice: the first counts */
                seen[u] = 1;
                const double *x = v + (size_t)(s0 + s) * L * H;
                if (isnan(x[0])) continue; /* no value: an absent span, no answer, ... */
                for (int64_t l = 0; l < L; l++) {
                    double a = 0;
                    for (int64_t h = 0; h < H; h++)
                        a += x[l * H + h];
                    mean[(g * NS + u) * L + l] += a / (double)H;
                }
                cnt[g * NS + u]++;
            }
        }
    }
    for (int64_t q = 0; q < G * NS; q++)
        for (int64_t l = 0; l < L; l++)
            mean[q * L + l] = cnt[q] ? mean[q * L + l] / cnt[q] : NAN;
    free(seen);
    char cname[64];
    snprintf(cname, sizeof cname, "%s_count", name);
    as_table_add_owned(t, name, AS_COL_F64, "group,span_name,layer", (const int64_t[]){G, NS, L},
                       mean);
    as_table_add_owned(t, cname, AS_COL_I32, "group,span_name", (const int64_t[]){G, NS}, cnt);
    return as_table_check(t, name, err);
}

/* out[g, l, h] = mean over group g's prompts whose src [prompt, L, H] row has no NaN;
 * cnt[g] counts them. Adds `name` [group, layer, head] and `name`_count [group] to t. */
static as_status prompt_means(const struct as_summary *sm, const struct as_table *metrics,
                              const char *src, const char *name, struct as_table *t,
                              struct as_err *err) {
    const struct as_col *c = as_table_find(metrics, src);
    if (!c || !sm) return AS_OK;
    if (c->type != AS_COL_F64 || c->nd != 3 || c->shape[1] != sm->L || c->shape[2] != sm->H)
        return as_err_set(err, AS_ERR_FORMAT,
                          "summary: /metrics/%s is not [prompt, %d, %d] float64", src, sm->L,
                          sm->H);
    const int64_t G = sm->n_groups, LH = (int64_t)sm->L * sm->H;
    double *mean = calloc((size_t)(G * LH) + 1, sizeof *mean);
    int32_t *cnt = calloc((size_t)G + 1, sizeof *cnt);
    if (!mean || !cnt) {
        free(mean), free(cnt);
        return as_err_set(err, AS_ERR_NOMEM, "summary: out of memory for %s", name);
    }
    const double *v = c->data;
    for (int64_t g = 0; g < G; g++) {
        const struct as_summary_group *gr = &sm->groups[g];
        for (int k = 0; k < gr->n_variants; k++) {
            const int64_t i = gr->prompts[k];
            if (i < 0 || i >= c->shape[0]) continue;
            const double *x = v + (size_t)i * LH;
            int ok = 1;
            for (int64_t q = 0; q < LH && ok; q++)
                ok = !isnan(x[q]);
            if (!ok) continue;
            for (int64_t q = 0; q < LH; q++)
                mean[g * LH + q] += x[q];
            cnt[g]++;
        }
    }
    for (int64_t g = 0; g < G; g++)
        for (int64_t q = 0; q < LH; q++)
            mean[g * LH + q] = cnt[g] ? mean[g * LH + q] / cnt[g] : NAN;
    char cname[64];
    snprintf(cname, sizeof cname, "%s_count", name);
    as_table_add_owned(t, name, AS_COL_F64, "group,layer,head", (const int64_t[]){G, sm->L, sm->H},
                       mean);
    as_table_add_owned(t, cname, AS_COL_I32, "group", (const int64_t[]){G}, cnt);
    return as_table_check(t, name, err);
}

as_status as_summary_answer_mass(const struct as_summary *sm, const struct as_table *metrics,
                                 struct as_table *t, struct as_err *err) {
    return span_means(sm, metrics, "span_mass_from_answer", "answer_mass", t, err);
}

as_status as_summary_norm_masses(const struct as_summary *sm, const struct as_table *metrics,
                                 struct as_table *t, struct as_err *err) {
    as_status ret = prompt_means(sm, metrics, "sink_last_norm", "sink_last_norm", t, err);
    if (ret == AS_OK) ret = span_means(sm, metrics, "span_mass_norm", "span_mass_norm", t, err);
    return ret;
}
