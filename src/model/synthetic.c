/* synthetic.c - seeded random-weight models (see attnsweep/synthetic.h). */
#include "attnsweep/synthetic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void as_rng_seed(struct as_rng *r, uint64_t seed) {
    r->state = seed;
    r->has_spare = 0;
    r->spare = 0.0f;
}

uint64_t as_rng_next(struct as_rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float as_rng_normal(struct as_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = ((as_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0); /* (0, 1] */
    double u2 = (as_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    r->spare = (float)(rad * sin(th));
    r->has_spare = 1;
    return (float)(rad * cos(th));
}

void as_config_tinyllama(struct as_config *c) {
    memset(c, 0, sizeof *c);
    c->n_layers = 22;
    c->n_heads = 32;
    c->n_kv_heads = 4;
    c->dim = 2048;
    c->head_dim = 64;
    c->hidden_dim = 5632;
    c->vocab_size = 32000;
    c->max_position = 2048;
    c->rope_theta = 10000.0f;
    c->rms_eps = 1e-5f;
    c->rope = AS_ROPE_HALF;
    c->tied_embeddings = 0;
    c->bos_id = 1;
    c->eos_id = 2;
    snprintf(c->source_dtype, sizeof c->source_dtype, "F32");
    snprintf(c->architecture, sizeof c->architecture, "LlamaForCausalLM");
}

static float *fill(float *p, size_t n, float mean, float std, struct as_rng *r) {
    for (size_t i = 0; i < n; i++)
        p[i] = mean + std * as_rng_normal(r);
    return p;
}

as_status as_model_init_synthetic(struct as_model *m, const struct as_config *c, uint64_t seed,
                                  struct as_err *err) {
    as_status ret = AS_OK;
    memset(m, 0, sizeof *m);
    AS_TRY(as_config_validate(c, "synthetic model", err));
    m->cfg = *c;
    snprintf(m->path, sizeof m->path, "synthetic:seed=%llu", (unsigned long long)seed);
    const size_t D = c->dim, F = c->hidden_dim, V = c->vocab_size, L = c->n_layers;
    const size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    const size_t per_layer = 2 * D + qd * D + 2 * kvd * D + D * qd + 3 * F * D;
    size_t total = V * D + L * per_layer + D + (c->tied_embeddings ? 0 : V * D);
    m->owned = malloc(total * sizeof(float));
    m->w.layers = calloc(L, sizeof *m->w.layers);
    if (!m->owned || !m->w.layers) {
        ret = as_err_set(err, AS_ERR_NOMEM, "synthetic model: cannot allocate %.1f MiB",
                         total * 4.0 / 1048576.0);
        goto done;
    }
    m->weights_floats = total;
    struct as_rng r;
    as_rng_seed(&r, seed);
    float *p = m->owned;
    m->w.tok_embeddings = fill(p, V * D, 0.0f, 1.0f, &r), p += V * D;
    for (size_t l = 0; l < L; l++) {
        struct as_layer_weights *w = &m->w.layers[l];
        w->attn_norm = fill(p, D, 1.0f, 0.1f, &r), p += D;
        w->wq = fill(p, qd * D, 0.0f, 1.0f / sqrtf((float)D), &r), p += qd * D;
        w->wk = fill(p, kvd * D, 0.0f, 1.0f / sqrtf((float)D), &r), p += kvd * D;
        w->wv = fill(p, kvd * D, 0.0f, 1.0f / sqrtf((float)D), &r), p += kvd * D;
        w->wo = fill(p, D * qd, 0.0f, 1.0f / sqrtf((float)qd), &r), p += D * qd;
        w->ffn_norm = fill(p, D, 1.0f, 0.1f, &r), p += D;
        w->w_gate = fill(p, F * D, 0.0f, 1.0f / sqrtf((float)D), &r), p += F * D;
        w->w_up = fill(p, F * D, 0.0f, 1.0f / sqrtf((float)D), &r), p += F * D;
        w->w_down = fill(p, D * F, 0.0f, 1.0f / sqrtf((float)F), &r), p += D * F;
    }
    m->w.final_norm = fill(p, D, 1.0f, 0.1f, &r), p += D;
    if (c->tied_embeddings) {
        m->w.lm_head = m->w.tok_embeddings;
    } else {
        m->w.lm_head = fill(p, V * D, 0.0f, 1.0f / sqrtf((float)D), &r), p += V * D;
    }
    AS_ASSERT((size_t)(p - m->owned) == total);
    m->is_loaded = 1;
done:
    if (ret != AS_OK) {
        free(m->owned);
        free(m->w.layers);
        memset(m, 0, sizeof *m);
    }
    return ret;
}
