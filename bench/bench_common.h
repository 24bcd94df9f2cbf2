/* bench_common.h - what the C benchmarks share: a monotonic clock and the random model they
 * time (TinyLlama's shapes, or the default model's with ATTNSWEEP_BENCH_SMOKE=1). */
#ifndef ATTNSWEEP_BENCH_COMMON_H
#define ATTNSWEEP_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attnsweep/synthetic.h"

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Fills c with TinyLlama-1.1B's shapes (the default model's under ATTNSWEEP_BENCH_SMOKE) and m
 * with random weights of those shapes; *seconds is the build time. Prints the error with the
 * benchmark's name and returns nonzero on failure. */
static inline int bench_model(const char *who, struct as_config *c, struct as_model *m,
                              double *seconds) {
    as_config_tinyllama(c);
    const char *smoke = getenv("ATTNSWEEP_BENCH_SMOKE");
    if (smoke && *smoke && strcmp(smoke, "0") != 0) { /* the default model's shapes */
        c->n_layers = 4, c->n_heads = 8, c->n_kv_heads = 2, c->head_dim = 8, c->dim = 64;
        c->hidden_dim = 172, c->vocab_size = 512, c->max_position = 2048;
    }
    struct as_err err = {0};
    double t0 = bench_now();
    if (as_model_init_synthetic(m, c, 1, &err) != AS_OK) {
        fprintf(stderr, "%s: %s\n", who, err.msg);
        return 1;
    }
    *seconds = bench_now() - t0;
    return 0;
}

#endif
