/* norm_metrics.h - norm-weighted last-row masses (docs/METRICS.md
 * "Norm-weighted masses"), beside the probability-weighted sink_last and
 * span_mass, for sweeps that store value norms (output.weights: norms|both).
 *
 * For stored layer l, head h of a prompt with last query row r_j = A[l,h,T-1,j]
 * and value norms n_j = ||f_h(x_j)||:
 *     w_j = r_j n_j,   ã_j = w_j / Σ_k w_k          (Kobayashi et al. 2020)
 *     sink_last_norm [L, H]     = ã_0
 *     span_mass_norm [S, L, H]  = Σ_{t in span} ã_t  (0 for a span that covers no token)
 * NaN when Σ_k w_k is 0 or not finite. Sums in double, keys ascending, so
 * run and reduce agree bit for bit on the same float32 inputs.
 * Pure computation (no HDF5, no MPI). */
#ifndef ATTNSWEEP_NORM_METRICS_H
#define ATTNSWEEP_NORM_METRICS_H

#include <stdint.h>

#include "attnsweep/metrics.h"
#include "attnsweep/status.h"
#include "attnsweep/table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Adds the two columns to a /metrics layout (from as_metrics_table_layout;
 * needs its sink_last and span_mass columns, whose shapes they take). */
as_status as_norm_metrics_layout(struct as_table *metrics, struct as_err *err);

/* One batch's rows of the two columns: n prompts, prompt k with lay[k]. */
struct as_norm_rows {
    int n, L, H;
    int64_t n_span;    /* span rows of the batch */
    int64_t *span_off; /* (n + 1) first span row of each prompt */
    double *sink;      /* (n, L, H), NaN = not computed */
    double *span;      /* (n_span, L, H) */
};
/* Rows for n prompts with layouts lay (n), every value NaN. */
as_status as_norm_rows_init(struct as_norm_rows *r, int n, int L, int H,
                            const struct as_metrics_layout *lay, struct as_err *err);
void as_norm_rows_free(struct as_norm_rows *r);
/* Prompt k's values from its T tokens' last rows and value norms, both in the
 * file's row layout (T, L, H), and its finished metrics (for the spans). */
void as_norm_rows_set(struct as_norm_rows *r, int k, const struct as_metrics *m,
                      const float *last /* (T, L, H) */, const float *norms /* (T, L, H) */);
/* Appends the two columns (borrowing r's arrays) to a batch's rows table. */
void as_norm_rows_table(const struct as_norm_rows *r, struct as_table *rows);

#ifdef __cplusplus
}
#endif
#endif
