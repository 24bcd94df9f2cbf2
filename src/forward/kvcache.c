/* kvcache.c - the KV cache of a decoding batch: one allocation carved into
 * the keys, values, lengths and the per-step scratch (llm.c style). */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"

enum { KV_K, KV_V, KV_ROW, KV_VN, KV_ROPE, KV_N };

/* float counts of each part; 0 when a product overflows */
static int kv_sizes(const struct as_config *c, int n_slots, int max_ctx, size_t sz[KV_N]) {
    size_t per = 0, t;
    if (__builtin_mul_overflow((size_t)c->n_layers, (size_t)n_slots, &per) ||
        __builtin_mul_overflow(per, (size_t)c->n_kv_heads, &per) ||
        __builtin_mul_overflow(per, (size_t)max_ctx, &per) ||
        __builtin_mul_overflow(per, (size_t)c->head_dim, &per) ||
        __builtin_mul_overflow((size_t)c->n_heads, (size_t)max_ctx, &t))
        return 0;
    sz[KV_K] = per;
    sz[KV_V] = per;
    sz[KV_ROW] = t;
    sz[KV_VN] = (size_t)c->n_heads * n_slots;
    sz[KV_ROPE] = (size_t)c->head_dim; /* cos and sin, hd/2 each */
    return 1;
}

size_t as_kvcache_bytes(const struct as_config *c, int n_slots, int max_ctx) {
    size_t sz[KV_N], total = 0;
    if (n_slots < 1 || max_ctx < 1 || !kv_sizes(c, n_slots, max_ctx, sz)) return 0;
    for (int i = 0; i < KV_N; i++)
        if (__builtin_add_overflow(total, sz[i], &total)) return 0;
    if (__builtin_mul_overflow(total, sizeof(float), &total) ||
        __builtin_add_overflow(total, (size_t)n_slots * sizeof(int), &total))
        return 0;
    return total;
}

as_status as_kvcache_init(struct as_kvcache *kv, const struct as_config *c, int n_slots,
                          int max_ctx, struct as_err *err) {
    memset(kv, 0, sizeof *kv);
    if (n_slots < 1 || max_ctx < 1)
        return as_err_set(err, AS_ERR_INVALID,
                          "KV cache: invalid capacity (%d sequences of %d tokens)", n_slots,
                          max_ctx);
    size_t bytes = as_kvcache_bytes(c, n_slots, max_ctx), sz[KV_N];
    if (bytes == 0)
        return as_err_set(err, AS_ERR_INVALID,
                          "KV cache: %d sequences of %d tokens overflow the address space", n_slots,
                          max_ctx);
    kv->mem = malloc(bytes);
    if (!kv->mem)
        return as_err_set(err, AS_ERR_NOMEM,
                          "KV cache: cannot allocate %.1f MiB for %d sequences of %d tokens "
                          "(HINT: fewer sequences per batch, or a smaller max_new_tokens)",
                          bytes / 1048576.0, n_slots, max_ctx);
    kv->mem_bytes = bytes;
    kv_sizes(c, n_slots, max_ctx, sz);
    float *p = kv->mem;
    float **slots[KV_N] = {&kv->k, &kv->v, &kv->row, &kv->vn, &kv->rope};
    for (int i = 0; i < KV_N; i++) {
        *slots[i] = p;
        p += sz[i];
    }
    kv->len = (int *)p;
    kv->n_layers = c->n_layers;
    kv->n_slots = n_slots;
    kv->n_heads = c->n_heads;
    kv->n_kv_heads = c->n_kv_heads;
    kv->head_dim = c->head_dim;
    kv->max_ctx = max_ctx;
    as_kvcache_reset(kv);
    return AS_OK;
}

void as_kvcache_reset(struct as_kvcache *kv) {
    if (kv->len) memset(kv->len, 0, (size_t)kv->n_slots * sizeof(int));
}

void as_kvcache_free(struct as_kvcache *kv) {
    free(kv->mem);
    memset(kv, 0, sizeof *kv);
}
