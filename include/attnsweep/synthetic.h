/* synthetic.h - deterministic random-weight Llama models.
 *
 * Used by the built-in default model (`attnsweep make-model`), by the
 * benchmarks (a TinyLlama-shaped model built in memory) and by kernel tests.
 * The generator is a seeded splitmix64 stream, so the same (config, seed)
 * gives bit-identical weights on every machine. Linear weights are drawn
 * N(0, 1/in_features) so that attention patterns are not trivially uniform;
 * norm weights are 1 + N(0, 0.1^2); embeddings are N(0, 1). */
#ifndef ATTNSWEEP_SYNTHETIC_H
#define ATTNSWEEP_SYNTHETIC_H

#include <stdint.h>

#include "attnsweep/model.h"

#ifdef __cplusplus
extern "C" {
#endif

struct as_rng {
    uint64_t state;
    float spare;   /* Box-Muller makes normals in pairs: the second one, */
    int has_spare; /* returned by the next as_rng_normal call */
};
void as_rng_seed(struct as_rng *r, uint64_t seed);
uint64_t as_rng_next(struct as_rng *r);
float as_rng_normal(struct as_rng *r); /* standard normal (Box-Muller, fp64 internally) */

/* Fills m with a random model of config c (c must pass as_config_validate).
 * The weights live in one owned buffer; release with as_model_free(). */
as_status as_model_init_synthetic(struct as_model *m, const struct as_config *c, uint64_t seed,
                                  struct as_err *err);

/* A TinyLlama-1.1B-shaped config (22 layers, D 2048, 32 heads, 4 kv heads, F 5632, V 32000). */
void as_config_tinyllama(struct as_config *c);

#ifdef __cplusplus
}
#endif
#endif
