/* capture.c - see capture.h. */
#include "capture.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

int capture_init(struct capture *c, int L, int H, int T) {
    c->L = L;
    c->H = H;
    c->T = T;
    c->att = calloc((size_t)L * H * T * T, sizeof(float));
    return c->att ? 0 : -1;
}

void capture_free(struct capture *c) {
    free(c->att);
    c->att = NULL;
}

as_status capture_sink(void *ctx, int seq, int layer, const float *probs, int T,
                       struct as_err *err) {
    struct capture *c = ctx;
    if (seq != 0 || T != c->T || layer < 0 || layer >= c->L)
        return as_err_set(err, AS_ERR_INTERNAL, "capture: unexpected seq %d layer %d T %d", seq,
                          layer, T);
    memcpy(c->att + (size_t)layer * c->H * T * T, probs, (size_t)c->H * T * T * sizeof(float));
    return AS_OK;
}

void capture_check_invariants(const struct capture *c, const char *what) {
    const int T = c->T;
    double worst_sum = 0;
    size_t nonzero_upper = 0;
    for (size_t lh = 0; lh < (size_t)c->L * c->H; lh++)
        for (int i = 0; i < T; i++) {
            const float *row = c->att + (lh * T + i) * T;
            double s = 0;
            for (int j = 0; j < T; j++) {
                s += row[j];
                if (j > i && row[j] != 0.0f) nonzero_upper++;
            }
            if (fabs(s - 1.0) > worst_sum) worst_sum = fabs(s - 1.0);
        }
    TU_CHECK(worst_sum <= 1e-5, "%s: a row sums to 1 +- %.3g (tolerance 1e-5)", what, worst_sum);
    TU_CHECK(nonzero_upper == 0, "%s: %zu non-zero entries above the diagonal", what,
             nonzero_upper);
}
