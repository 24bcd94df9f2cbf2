/* hf_write.c - writes a model as an HF directory: config.json and an F32
 * model.safetensors (8-byte little-endian header length, JSON header padded
 * with spaces to a multiple of 8, then the raw tensors in header order). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/defaults.h"
#include "attnsweep/dtype.h"
#include "attnsweep/fileio.h"

struct st_entry {
    char name[128];
    const float *data; /* (rows, cols) */
    size_t rows, cols; /* cols == 0: a 1-D tensor of `rows` elements */
};

static int list_tensors(const struct as_model *m, struct st_entry *e, int cap) {
    const struct as_config *c = &m->cfg;
    const size_t D = c->dim, F = c->hidden_dim, V = c->vocab_size;
    const size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    int n = 0;
#define ADD(nm, p, r, cc)                                                                          \
    do {                                                                                           \
        if (n < cap) {                                                                             \
            e[n] = (struct st_entry){"", (p), (r), (cc)};                                          \
            snprintf(e[n].name, sizeof e[n].name, "%s", nm);                                       \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)
    char nm[128];
    ADD("model.embed_tokens.weight", m->w.tok_embeddings, V, D);
    for (int l = 0; l < c->n_layers; l++) {
        const struct as_layer_weights *w = &m->w.layers[l];
#define LAYER(suffix, p, r, cc)                                                                    \
    snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix);                                      \
    ADD(nm, p, r, cc)
        LAYER("input_layernorm.weight", w->attn_norm, D, 0);
        LAYER("self_attn.q_proj.weight", w->wq, qd, D);
        LAYER("self_attn.k_proj.weight", w->wk, kvd, D);
        LAYER("self_attn.v_proj.weight", w->wv, kvd, D);
        LAYER("self_attn.o_proj.weight", w->wo, D, qd);
        LAYER("post_attention_layernorm.weight", w->ffn_norm, D, 0);
        LAYER("mlp.gate_proj.weight", w->w_gate, F, D);
        LAYER("mlp.up_proj.weight", w->w_up, F, D);
        LAYER("mlp.down_proj.weight", w->w_down, D, F);
#undef LAYER
    }
    ADD("model.norm.weight", m->w.final_norm, D, 0);
    if (!c->tied_embeddings) ADD("lm_head.weight", m->w.lm_head, V, D);
#undef ADD
    return n;
}

static json_t *config_json(const struct as_config *c, int bf16) {
    return json_pack("{s:[s], s:b, s:f, s:i, s:i, s:s, s:i, s:f, s:i, s:i, s:s, s:i, s:i, s:i, "
                     "s:i, s:f, s:n, s:f, s:b, s:s, s:b, s:i}",
                     "architectures", "LlamaForCausalLM", "attention_bias", 0, "attention_dropout",
                     0.0, "bos_token_id", c->bos_id, "eos_token_id", c->eos_id, "hidden_act",
                     "silu", "hidden_size", c->dim, "initializer_range", 0.02, "intermediate_size",
                     c->hidden_dim, "max_position_embeddings", c->max_position, "model_type",
                     "llama", "num_attention_heads", c->n_heads, "num_hidden_layers", c->n_layers,
                     "num_key_value_heads", c->n_kv_heads, "head_dim", c->head_dim, "rms_norm_eps",
                     (double)c->rms_eps, "rope_scaling", "rope_theta", (double)c->rope_theta,
                     "tie_word_embeddings", c->tied_embeddings, "torch_dtype",
                     bf16 ? "bfloat16" : "float32", "use_cache", 1, "vocab_size", c->vocab_size);
}

static uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* Writes n floats as F32 or BF16. */
static int write_tensor(FILE *fp, const float *x, size_t n, int bf16) {
    if (!bf16) return fwrite(x, 4, n, fp) == n;
    uint16_t buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < 4096 ? n - i : 4096;
        for (size_t j = 0; j < k; j++)
            buf[j] = f32_to_bf16(x[i + j]);
        if (fwrite(buf, 2, k, fp) != k) return 0;
        i += k;
    }
    return 1;
}

as_status as_hf_write(const struct as_model *m, const char *dir, int dtype, struct as_err *err) {
    as_status ret = AS_OK;
    char path[4096];
    FILE *fp = NULL;
    char *hdr = NULL;
    const int bf16 = dtype == AS_DTYPE_BF16;
    const size_t esize = bf16 ? 2 : 4;
    json_t *cfg = config_json(&m->cfg, bf16), *h = json_object();
    int n = list_tensors(m, NULL, 0);
    struct st_entry *e = calloc(n, sizeof *e);
    if (!e || !cfg || !h) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    list_tensors(m, e, n);
    AS_TRY(as_path_join(path, sizeof path, dir, "config.json", err));
    if (json_dump_file(cfg, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        ret = as_err_set(err, AS_ERR_IO, "%s: cannot write", path);
        goto done;
    }
    json_object_set_new(h, "__metadata__", json_pack("{s:s}", "format", "pt"));
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t numel = e[i].rows * (e[i].cols ? e[i].cols : 1);
        json_t *shape = e[i].cols
                            ? json_pack("[I, I]", (json_int_t)e[i].rows, (json_int_t)e[i].cols)
                            : json_pack("[I]", (json_int_t)e[i].rows);
        json_object_set_new(h, e[i].name,
                            json_pack("{s:s, s:o, s:[I, I]}", "dtype", bf16 ? "BF16" : "F32",
                                      "shape", shape, "data_offsets", (json_int_t)off,
                                      (json_int_t)(off + numel * esize)));
        off += numel * esize;
    }
    hdr = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!hdr) {
        ret = as_err_set(err, AS_ERR_INTERNAL, "%s: cannot serialise safetensors header", dir);
        goto done;
    }
    size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8;
    AS_TRY(as_path_join(path, sizeof path, dir, "model.safetensors", err));
    fp = fopen(path, "wb");
    if (!fp) {
        ret = as_err_set(err, AS_ERR_IO, "%s: cannot create", path);
        goto done;
    }
    uint64_t len64 = padded;
    int ok = fwrite(&len64, 8, 1, fp) == 1 && fwrite(hdr, 1, hl, fp) == hl;
    for (size_t i = hl; i < padded && ok; i++)
        ok = fputc(' ', fp) != EOF;
    for (int i = 0; i < n && ok; i++) {
        size_t numel = e[i].rows * (e[i].cols ? e[i].cols : 1);
        ok = write_tensor(fp, e[i].data, numel, bf16);
    }
    if (fclose(fp) != 0) ok = 0;
    fp = NULL;
    if (!ok) ret = as_err_set(err, AS_ERR_IO, "%s: write failed (disk full?)", path);
done:
    if (fp) fclose(fp);
    free(hdr);
    free(e);
    json_decref(cfg);
    json_decref(h);
    return ret;
}
