/* capture.h - an attention sink for tests that keeps every layer of one
 * sequence in memory, plus the invariant checks every output must satisfy. */
#ifndef ATTNSWEEP_TEST_CAPTURE_H
#define ATTNSWEEP_TEST_CAPTURE_H

#include "attnsweep/forward.h"

struct capture {
    int L, H, T;
    float *att; /* (L, H, T, T) */
};

int capture_init(struct capture *c, int L, int H, int T);
void capture_free(struct capture *c);
/* sink callback: copies layer `layer` of sequence 0 into c->att */
as_status capture_sink(void *ctx, int seq, int layer, const float *probs, int T,
                       struct as_err *err);
/* every row sums to 1 within 1e-5, the upper triangle is exactly 0; counts failures */
void capture_check_invariants(const struct capture *c, const char *what);

#endif
