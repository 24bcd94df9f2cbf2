/* model_layout.c - the canonical fp32 weight buffer: slot table, offsets, pointer binding.
 *
 * Layout (floats, in this order, no padding):
 *   tok_embeddings (V, D)
 *   for l in 0..L-1: attn_norm (D), wq (H*hd, D), wk (Hkv*hd, D), wv (Hkv*hd, D),
 *                    wo (D, H*hd), ffn_norm (D), w_gate (F, D), w_up (F, D), w_down (D, F)
 *   final_norm (D)
 *   lm_head (V, D)   -- only when not tied
 * It depends on the config alone, so as_model_attach() in another process finds
 * the same offsets as the as_model_load_into() that filled the buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

int as_model_slot_index(const struct as_config *c, enum as_slot_kind kind, int layer) {
    switch (kind) {
    case AS_SLOT_TOK_EMB: return 0;
    case AS_SLOT_FINAL_NORM: return 1 + AS_SLOTS_PER_LAYER * c->n_layers;
    case AS_SLOT_LM_HEAD: return 2 + AS_SLOTS_PER_LAYER * c->n_layers;
    default: return 1 + AS_SLOTS_PER_LAYER * layer + ((int)kind - (int)AS_SLOT_ATTN_NORM);
    }
}

void as_shape_str(char *out, size_t cap, int ndim, const int64_t *shape) {
    size_t k = 0;
    int n = snprintf(out, cap, "[");
    if (n > 0) k = (size_t)n;
    for (int i = 0; i < ndim && k < cap; i++) {
        n = snprintf(out + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
        if (n > 0) k += (size_t)n;
    }
    if (k < cap) snprintf(out + k, cap - k, "]");
}

static const float **slot_target(struct as_model *m, int kind, int layer) {
    struct as_weights *w = &m->w;
    switch ((enum as_slot_kind)kind) {
    case AS_SLOT_TOK_EMB: return &w->tok_embeddings;
    case AS_SLOT_FINAL_NORM: return &w->final_norm;
    case AS_SLOT_LM_HEAD: return &w->lm_head;
    case AS_SLOT_ATTN_NORM: return &w->layers[layer].attn_norm;
    case AS_SLOT_WQ: return &w->layers[layer].wq;
    case AS_SLOT_WK: return &w->layers[layer].wk;
    case AS_SLOT_WV: return &w->layers[layer].wv;
    case AS_SLOT_WO: return &w->layers[layer].wo;
    case AS_SLOT_FFN_NORM: return &w->layers[layer].ffn_norm;
    case AS_SLOT_W_GATE: return &w->layers[layer].w_gate;
    case AS_SLOT_W_UP: return &w->layers[layer].w_up;
    case AS_SLOT_W_DOWN: return &w->layers[layer].w_down;
    }
    return NULL;
}

static void slot_shape(const struct as_config *c, enum as_slot_kind kind, int *ndim,
                       int64_t shape[2]) {
    int64_t V = c->vocab_size, D = c->dim, F = c->hidden_dim;
    int64_t Q = (int64_t)c->n_heads * c->head_dim, KV = (int64_t)c->n_kv_heads * c->head_dim;
    *ndim = 2;
    switch (kind) {
    case AS_SLOT_TOK_EMB:
    case AS_SLOT_LM_HEAD: shape[0] = V, shape[1] = D; break;
    case AS_SLOT_ATTN_NORM:
    case AS_SLOT_FFN_NORM:
    case AS_SLOT_FINAL_NORM: *ndim = 1, shape[0] = D, shape[1] = 0; break;
    case AS_SLOT_WQ: shape[0] = Q, shape[1] = D; break;
    case AS_SLOT_WK:
    case AS_SLOT_WV: shape[0] = KV, shape[1] = D; break;
    case AS_SLOT_WO: shape[0] = D, shape[1] = Q; break;
    case AS_SLOT_W_GATE:
    case AS_SLOT_W_UP: shape[0] = F, shape[1] = D; break;
    case AS_SLOT_W_DOWN: shape[0] = D, shape[1] = F; break;
    }
}

as_status as_model_slots_init(struct as_model *m, as_slot_namer namer, struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_config *c = &m->cfg;
    size_t total;
    AS_ASSERT(m->tensors == NULL && m->w.layers == NULL);
    AS_ASSERT(c->n_layers > 0 && c->n_layers <= AS_MAX_LAYERS);
    AS_ASSERT(as_config_n_params_checked(c, &total));

    int n = 2 + AS_SLOTS_PER_LAYER * c->n_layers + (c->tied_embeddings ? 0 : 1);
    m->w.layers = calloc((size_t)c->n_layers, sizeof *m->w.layers);
    m->tensors = calloc((size_t)n, sizeof *m->tensors);
    if (!m->w.layers || !m->tensors) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate the tensor table (%d tensors)",
                         m->path, n);
        goto done;
    }
    m->n_tensors = n;

    size_t dst = 0;
    for (int i = 0; i < n; i++) {
        struct as_tensor_src *t = &m->tensors[i];
        enum as_slot_kind kind;
        int layer = -1;
        if (i == 0)
            kind = AS_SLOT_TOK_EMB;
        else if (i == 1 + AS_SLOTS_PER_LAYER * c->n_layers)
            kind = AS_SLOT_FINAL_NORM;
        else if (i == 2 + AS_SLOTS_PER_LAYER * c->n_layers)
            kind = AS_SLOT_LM_HEAD;
        else {
            layer = (i - 1) / AS_SLOTS_PER_LAYER;
            kind = (enum as_slot_kind)(AS_SLOT_ATTN_NORM + (i - 1) % AS_SLOTS_PER_LAYER);
        }
        AS_ASSERT(as_model_slot_index(c, kind, layer) == i);
        t->kind = (int)kind;
        t->layer = layer;
        t->file = -1;
        t->dtype = AS_DTYPE_INVALID;
        slot_shape(c, kind, &t->ndim, t->shape);
        t->numel = (size_t)t->shape[0] * (t->ndim == 2 ? (size_t)t->shape[1] : 1);
        t->dst = dst;
        dst += t->numel; /* bounded by `total`, checked above */
        t->target = slot_target(m, t->kind, t->layer);
        namer(t->name, sizeof t->name, kind, layer);
    }
    AS_ASSERT(dst == total);
    m->weights_floats = total;
done:
    return ret;
}

void as_model_slots_bind(struct as_model *m, const float *base) {
    for (int i = 0; i < m->n_tensors; i++) {
        struct as_tensor_src *t = &m->tensors[i];
        /* re-derive the target: the struct may have been moved since open */
        t->target = slot_target(m, t->kind, t->layer);
        if (base)
            *t->target = base + t->dst;
        else /* zero-copy: the caller checked F32 and 4-byte alignment */
            *t->target = (const float *)(const void *)(m->files[t->file].data + t->offset);
    }
    if (m->cfg.tied_embeddings) m->w.lm_head = m->w.tok_embeddings;
}
