/* norm_metrics.c - norm-weighted sink and span masses (norm_metrics.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/norm_metrics.h"

as_status as_norm_metrics_layout(struct as_table *t, struct as_err *err) {
    const struct as_col *sink = as_table_find(t, "sink_last");
    const struct as_col *span = as_table_find(t, "span_mass");
    if (!sink || !span)
        return as_err_set(err, AS_ERR_INTERNAL,
                          "norm metrics: the layout has no sink_last / "
                          "span_mass");
    const int64_t s1[3] = {sink->shape[0], sink->shape[1], sink->shape[2]};
    const int64_t s2[3] = {span->shape[0], span->shape[1], span->shape[2]};
    as_table_add(t, "sink_last_norm", AS_COL_F64, "prompt,layer,head", s1, NULL, 0);
    as_table_add(t, "span_mass_norm", AS_COL_F64, "span,layer,head", s2, NULL, 0);
    return t->oom ? as_err_set(err, AS_ERR_NOMEM, "norm metrics: out of memory") : AS_OK;
}

void as_norm_rows_free(struct as_norm_rows *r) {
    free(r->span_off);
    free(r->sink);
    free(r->span);
    memset(r, 0, sizeof *r);
}

as_status as_norm_rows_init(struct as_norm_rows *r, int n, int L, int H,
                            const struct as_metrics_layout *lay, struct as_err *err) {
    memset(r, 0, sizeof *r);
    r->n = n, r->L = L, r->H = H;
    if (!(r->span_off = malloc(((size_t)n + 1) * sizeof *r->span_off)))
        return as_err_set(err, AS_ERR_NOMEM, "norm metrics: out of memory");
    r->span_off[0] = 0;
    for (int k = 0; k < n; k++) /* as /metrics: a prompt without a layout has no span rows */
        r->span_off[k + 1] = r->span_off[k] + (lay[k].L ? lay[k].n_spans : 0);
    r->n_span = r->span_off[n];
    const size_t LH = (size_t)L * H, ns = (size_t)n * LH, nsp = (size_t)r->n_span * LH;
    r->sink = malloc((ns + 1) * sizeof *r->sink);
    r->span = malloc((nsp + 1) * sizeof *r->span);
    if (!r->sink || !r->span) {
        as_norm_rows_free(r);
        return as_err_set(err, AS_ERR_NOMEM, "norm metrics: out of memory");
    }
    for (size_t i = 0; i < ns; i++)
        r->sink[i] = NAN;
    for (size_t i = 0; i < nsp; i++)
        r->span[i] = NAN;
    return AS_OK;
}

void as_norm_rows_set(struct as_norm_rows *r, int k, const struct as_metrics *m, const float *last,
                      const float *norms) {
    const int L = r->L, H = r->H, T = m->lay.T;
    const size_t LH = (size_t)L * H;
    const int64_t S = r->span_off[k + 1] - r->span_off[k];
    if (m->lay.L != L || m->lay.H != H || S != (m->lay.L ? m->lay.n_spans : 0)) return;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            const size_t lh = (size_t)l * H + h;
            double z = 0.0;
            for (int j = 0; j < T; j++)
                z += (double)last[(size_t)j * LH + lh] * (double)norms[(size_t)j * LH + lh];
            const int ok = z > 0.0 && isfinite(z);
            r->sink[(size_t)k * LH + lh] = ok ? (double)last[lh] * (double)norms[lh] / z : NAN;
            for (int64_t s = 0; s < S; s++) {
                const struct as_metrics_span *sp = &m->spans[s];
                double mass = 0.0;
                for (int t = sp->tokens[0]; t >= 0 && t < sp->tokens[1] && t < T; t++)
                    mass += (double)last[(size_t)t * LH + lh] * (double)norms[(size_t)t * LH + lh];
                r->span[(size_t)(r->span_off[k] + s) * LH + lh] = ok ? mass / z : NAN;
            }
        }
}

void as_norm_rows_table(const struct as_norm_rows *r, struct as_table *rows) {
    const int64_t s1[3] = {r->n, r->L, r->H}, s2[3] = {r->n_span, r->L, r->H};
    as_table_add(rows, "sink_last_norm", AS_COL_F64, "prompt,layer,head", s1, r->sink, 0);
    as_table_add(rows, "span_mass_norm", AS_COL_F64, "span,layer,head", s2, r->span, 0);
}
