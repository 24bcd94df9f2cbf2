/* answer_summary.c - /summary/answer_mass (docs/METRICS.md "Spans"): per group
 * and span name, the mean over the group's summarized prompts of the head-mean
 * span_mass_from_answer, i.e. how much a group's answers attend to the
 * instruction, the question and their own reasoning. Only when /metrics has
 * span_mass_from_answer (the sweep generates). Pure; O(spans of the file). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/reduce.h"

as_status as_summary_answer_mass(const struct as_summary *sm, const struct as_table *metrics,
                                 struct as_table *t, struct as_err *err) {
    const struct as_col *fa = as_table_find(metrics, "span_mass_from_answer");
    const struct as_col *ss = as_table_find(metrics, "span_start");
    const struct as_col *sc = as_table_find(metrics, "span_count");
    const struct as_col *sn = as_table_find(metrics, "span_name");
    if (!fa || !sm || !sm->stats) return AS_OK; /* no generation: no dataset */
    if (!ss || !sc || !sn || ss->type != AS_COL_I64 || sc->type != AS_COL_I32 ||
        sn->type != AS_COL_STR || fa->type != AS_COL_F64 || fa->nd != 3 || fa->shape[1] != sm->L ||
        fa->shape[2] != sm->H)
        return as_err_set(err, AS_ERR_FORMAT,
                          "summary: /metrics/span_mass_from_answer is not [span, %d, %d] float64 "
                          "with span_start, span_count and span_name",
                          sm->L, sm->H);
    const struct as_summary_stats *st = sm->stats;
    const int64_t G = sm->n_groups, NS = st->NS, L = sm->L, H = sm->H, nspan = fa->shape[0];
    double *mean = calloc((size_t)(G * NS * L) + 1, sizeof *mean);
    int32_t *cnt = calloc((size_t)(G * NS) + 1, sizeof *cnt);
    uint8_t *seen = calloc((size_t)NS + 1, 1);
    if (!mean || !cnt || !seen) {
        free(mean), free(cnt), free(seen);
        return as_err_set(err, AS_ERR_NOMEM, "summary: out of memory for answer_mass");
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
                const char *name = (const char *)sn->data + (size_t)(s0 + s) * sn->width;
                int64_t u = -1;
                for (int64_t q = 0; q < NS && u < 0; q++)
                    if (!strncmp(st->span_name[q], name, sn->width) &&
                        strlen(st->span_name[q]) <= sn->width)
                        u = q;
                if (u < 0 || seen[u]) continue; /* unknown, or named twice: the first counts */
                seen[u] = 1;
                const double *x = v + (size_t)(s0 + s) * L * H;
                if (isnan(x[0])) continue; /* no answer, an absent span, or last rows only */
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
    as_table_add_owned(t, "answer_mass", AS_COL_F64, "group,span_name,layer",
                       (const int64_t[]){G, NS, L}, mean);
    as_table_add_owned(t, "answer_mass_count", AS_COL_I32, "group,span_name",
                       (const int64_t[]){G, NS}, cnt);
    return as_table_check(t, "/summary answer_mass", err);
}
