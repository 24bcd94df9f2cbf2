/* model.c - as_model life cycle: open (dispatch by format), load (zero-copy or
 * convert into one owned buffer), load_into / attach (caller-owned buffer), free. */
#define _DEFAULT_SOURCE /* S_ISSOCK */
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attnsweep/dtype.h"
#include "attnsweep/fileio.h"
#include "model_internal.h"

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

as_status as_model_open(struct as_model *m, const char *path, struct as_err *err) {
    as_status ret = AS_OK;
    memset(m, 0, sizeof *m);
    if (!path || !*path) {
        ret = as_err_set(err, AS_ERR_INVALID, "model path is empty");
        goto done;
    }
    if (strlen(path) >= sizeof m->path) {
        ret = as_err_set(err, AS_ERR_INVALID, "model path is too long (%zu bytes)", strlen(path));
        goto done;
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    if (as_dir_exists(path)) {
        m->format = AS_MODEL_FORMAT_HF;
        AS_TRY(as_model_open_hf(m, err));
    } else if (as_file_exists(path)) {
        if (has_suffix(path, ".safetensors") || has_suffix(path, ".json")) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: is a file of an HF model; HINT: pass the model directory that "
                             "holds config.json and the safetensors files",
                             path);
            goto done;
        }
        if (has_suffix(path, ".gguf")) {
            ret =
                as_err_set(err, AS_ERR_UNSUPPORTED, "%s: GGUF models are not supported yet", path);
            goto done;
        }
        m->format = AS_MODEL_FORMAT_LLAMA2C;
        AS_TRY(as_model_open_llama2c(m, err));
    } else {
        struct stat st;
        if (stat(path, &st) == 0) /* it exists, but is neither a directory nor a regular file */
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: is %s, not a model; expected an HF model directory or a "
                             "llama2.c .bin checkpoint",
                             path,
                             S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device file"
                             : S_ISFIFO(st.st_mode)                     ? "a pipe"
                             : S_ISSOCK(st.st_mode)                     ? "a socket"
                                                                        : "not a regular file");
        else
            ret = as_err_set(err, AS_ERR_IO,
                             "%s: no such file or directory (expected an HF model directory or a "
                             "llama2.c .bin checkpoint)",
                             path);
        goto done;
    }
done:
    if (ret != AS_OK) as_model_free(m);
    return ret;
}

/* Zero-copy needs every tensor stored as F32 at a 4-byte aligned address. */
int as_model_can_map(const struct as_model *m) {
    for (int i = 0; i < m->n_tensors; i++) {
        const struct as_tensor_src *t = &m->tensors[i];
        const uint8_t *p = m->files[t->file].data + t->offset;
        if (t->dtype != AS_DTYPE_F32 || ((uintptr_t)p % _Alignof(float)) != 0) return 0;
    }
    return 1;
}

static as_status check_opened(const struct as_model *m, const char *fn, struct as_err *err) {
    if (!m->tensors || m->n_tensors <= 0 || !m->w.layers)
        return as_err_set(err, AS_ERR_INVALID, "%s: the model is not open (call as_model_open)",
                          fn);
    if (m->is_loaded)
        return as_err_set(err, AS_ERR_INVALID, "%s: %s: weights are already loaded", fn, m->path);
    return AS_OK;
}

as_status as_model_load_into(struct as_model *m, float *buf, struct as_err *err) {
    as_status ret = AS_OK;
    AS_TRY(check_opened(m, "as_model_load_into", err));
    if (!buf) {
        ret = as_err_set(err, AS_ERR_INVALID, "as_model_load_into: %s: buffer is NULL", m->path);
        goto done;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const struct as_tensor_src *t = &m->tensors[i];
        /* invariants established by open; re-checked because a bad table would write out of bounds
         */
        AS_ASSERT(t->file >= 0 && t->file < m->n_files);
        AS_ASSERT(t->dst <= m->weights_floats && t->numel <= m->weights_floats - t->dst);
        AS_ASSERT(t->nbytes == t->numel * as_dtype_size((enum as_dtype)t->dtype));
        AS_ASSERT(t->offset <= m->files[t->file].size &&
                  t->nbytes <= m->files[t->file].size - t->offset);
        as_dtype_to_f32((enum as_dtype)t->dtype, m->files[t->file].data + t->offset, t->numel,
                        buf + t->dst);
    }
    as_model_slots_bind(m, buf);
    m->is_loaded = 1;
    m->zero_copy = 0;
    /* the converted copy is all the forward pass needs: drop the source pages
     * (for TinyLlama's BF16 file, 2.2 GB of page cache mapped into this process) */
    for (int f = 0; f < m->n_files; f++)
        as_file_unmap(&m->files[f]);
done:
    return ret;
}

as_status as_model_attach(struct as_model *m, const float *buf, struct as_err *err) {
    as_status ret = AS_OK;
    AS_TRY(check_opened(m, "as_model_attach", err));
    if (!buf) {
        ret = as_err_set(err, AS_ERR_INVALID, "as_model_attach: %s: buffer is NULL", m->path);
        goto done;
    }
    as_model_slots_bind(m, buf);
    m->is_loaded = 1;
    m->zero_copy = 0;
done:
    return ret;
}

as_status as_model_load(struct as_model *m, struct as_err *err) {
    as_status ret = AS_OK;
    float *buf = NULL;
    AS_TRY(check_opened(m, "as_model_load", err));
    if (as_model_can_map(m)) {
        as_model_slots_bind(m, NULL);
        m->is_loaded = 1;
        m->zero_copy = 1;
        goto done;
    }
    size_t bytes;
    if (!as_mul_size(m->weights_floats, sizeof(float), &bytes)) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: weight buffer size overflows", m->path);
        goto done;
    }
    buf = malloc(bytes ? bytes : 1);
    if (!buf) {
        ret = as_err_set(err, AS_ERR_NOMEM,
                         "%s: cannot allocate %zu bytes for the fp32 weights (%s source). HINT: "
                         "fp32 needs 4 bytes per parameter",
                         m->path, bytes, m->cfg.source_dtype);
        goto done;
    }
    AS_TRY(as_model_load_into(m, buf, err));
    m->owned = buf;
    buf = NULL;
done:
    free(buf);
    return ret;
}

as_status as_model_init(struct as_model *m, const char *path, struct as_err *err) {
    as_status ret = AS_OK;
    AS_TRY(as_model_open(m, path, err));
    AS_TRY(as_model_load(m, err));
done:
    if (ret != AS_OK) as_model_free(m);
    return ret;
}

void as_model_free(struct as_model *m) {
    if (!m) return;
    for (int f = 0; f < m->n_files && m->files; f++)
        as_file_unmap(&m->files[f]);
    free(m->files);
    free(m->tensors);
    free(m->w.layers);
    free(m->owned);
    memset(m, 0, sizeof *m);
}

/* The first non-finite value of n floats, or -1. */
static int64_t first_nonfinite(const float *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) return (int64_t)i;
    return -1;
}

as_status as_model_check_finite(const struct as_model *m, struct as_err *err) {
    const struct as_config *c = &m->cfg;
    const size_t D = (size_t)c->dim, F = (size_t)c->hidden_dim, V = (size_t)c->vocab_size;
    const size_t Q = (size_t)c->n_heads * c->head_dim, KV = (size_t)c->n_kv_heads * c->head_dim;
    struct {
        const float *p;
        size_t n;
        char name[96];
    } t[12];
    for (int l = -1; l <= c->n_layers; l++) {
        int k = 0;
        if (l < 0) {
            t[k].p = m->w.tok_embeddings, t[k].n = V * D;
            snprintf(t[k++].name, sizeof t[0].name, "model.embed_tokens.weight");
        } else if (l == c->n_layers) {
            t[k].p = m->w.final_norm, t[k].n = D;
            snprintf(t[k++].name, sizeof t[0].name, "model.norm.weight");
            if (m->w.lm_head && m->w.lm_head != m->w.tok_embeddings) {
                t[k].p = m->w.lm_head, t[k].n = V * D;
                snprintf(t[k++].name, sizeof t[0].name, "lm_head.weight");
            }
        } else {
            const struct as_layer_weights *w = &m->w.layers[l];
            const float *ps[] = {w->attn_norm, w->wq,     w->wk,   w->wv,    w->wo,
                                 w->ffn_norm,  w->w_gate, w->w_up, w->w_down};
            const size_t ns[] = {D, Q * D, KV * D, KV * D, D * Q, D, F * D, F * D, D * F};
            static const char *const nm[] = {
                "input_layernorm",  "self_attn.q_proj", "self_attn.k_proj",
                "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",
                "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
            for (int j = 0; j < 9; j++, k++) {
                t[k].p = ps[j], t[k].n = ns[j];
                snprintf(t[k].name, sizeof t[0].name, "model.layers.%d.%s.weight", l, nm[j]);
            }
        }
        for (int j = 0; j < k; j++) {
            if (!t[j].p) continue;
            int64_t bad = first_nonfinite(t[j].p, t[j].n);
            if (bad >= 0)
                return as_err_set(err, AS_ERR_FORMAT,
                                  "%s: weight %s has a non-finite value (%g at element %lld); "
                                  "expected finite numbers. HINT: the checkpoint is corrupt or "
                                  "was saved after a diverged training step",
                                  m->path, t[j].name, (double)t[j].p[bad], (long long)bad);
        }
    }
    return AS_OK;
}
