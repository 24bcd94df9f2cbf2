/* model.h - Llama-family model configuration and fp32 weights.
 *
 * A struct as_model owns everything needed by the forward pass: the
 * hyper-parameters (struct as_config) and fp32 weight pointers
 * (struct as_weights). Sources:
 *   - an HF model directory: config.json + model.safetensors, or shards listed
 *     in model.safetensors.index.json; dtypes F32, F16, BF16;
 *   - a llama2.c checkpoint (.bin, legacy version-0 header).
 * Loading is two-phase so that ranks on one node can share one copy of the
 * weights (MPI-3 shared window, see src/sweep/):
 *   as_model_open()    parses and validates every header and shape, and
 *                      computes weights_floats (the fp32 size of all weights);
 *   as_model_load()    either points into read-only mappings (all-F32 source,
 *                      no copy) or converts into one owned fp32 buffer;
 *   as_model_load_into() converts into a caller-owned buffer of
 *                      weights_floats floats (e.g. a shared-memory window);
 *   as_model_attach()  carves the pointers out of a buffer another process
 *                      already filled with as_model_load_into().
 * as_model_free() releases whatever the model owns (never a caller buffer).
 *
 * Layout conventions (docs/ARCHITECTURE.md): all matrices are row-major
 * PyTorch nn.Linear weights [out_features, in_features], y = x W^T. */
#ifndef ATTNSWEEP_MODEL_H
#define ATTNSWEEP_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/fileio.h"
#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How RoPE pairs the dimensions of one head.
 * AS_ROPE_HALF:        HF "rotate_half": pairs (i, i + head_dim/2).
 * AS_ROPE_INTERLEAVED: llama2.c / Meta / GGUF: pairs (2i, 2i+1). */
enum as_rope_style { AS_ROPE_HALF = 0, AS_ROPE_INTERLEAVED = 1 };

enum as_model_format { AS_MODEL_FORMAT_HF = 0, AS_MODEL_FORMAT_LLAMA2C = 1 };

struct as_config {
    int n_layers;     /* L  (num_hidden_layers) */
    int n_heads;      /* H  (num_attention_heads) */
    int n_kv_heads;   /* Hkv (num_key_value_heads), H % Hkv == 0 */
    int head_dim;     /* hd (head_dim, default hidden/heads) */
    int dim;          /* D  (hidden_size) */
    int hidden_dim;   /* F  (intermediate_size) */
    int vocab_size;   /* V */
    int max_position; /* max_position_embeddings (llama2.c: seq_len) */
    float rope_theta; /* 10000 by default */
    float rms_eps;    /* rms_norm_eps */
    enum as_rope_style rope;
    int tied_embeddings;  /* lm_head shares token embeddings */
    int bos_id, eos_id;   /* -1 when unknown */
    char source_dtype[8]; /* "F32", "F16", "BF16" (of the weights as stored) */
    char architecture[64];
};

/* Per-layer weights, all fp32, row-major [out, in]. */
struct as_layer_weights {
    const float *attn_norm; /* (D)          input_layernorm */
    const float *wq;        /* (H*hd, D)    q_proj */
    const float *wk;        /* (Hkv*hd, D)  k_proj */
    const float *wv;        /* (Hkv*hd, D)  v_proj */
    const float *wo;        /* (D, H*hd)    o_proj */
    const float *ffn_norm;  /* (D)          post_attention_layernorm */
    const float *w_gate;    /* (F, D)       mlp.gate_proj (llama2.c w1) */
    const float *w_up;      /* (F, D)       mlp.up_proj   (llama2.c w3) */
    const float *w_down;    /* (D, F)       mlp.down_proj (llama2.c w2) */
};

struct as_weights {
    const float *tok_embeddings;     /* (V, D) */
    struct as_layer_weights *layers; /* [L] */
    const float *final_norm;         /* (D) */
    const float *lm_head;            /* (V, D); == tok_embeddings when tied */
};

/* Where one logical tensor lives in the source files (filled by as_model_open). */
struct as_tensor_src {
    char name[128];       /* source name, e.g. "model.layers.0.self_attn.q_proj.weight" */
    int file;             /* index into as_model.files */
    size_t offset;        /* byte offset of the data inside that file */
    size_t nbytes;        /* bytes of data in the file */
    int dtype;            /* enum as_dtype (see dtype.h) */
    size_t numel;         /* number of elements */
    size_t dst;           /* float offset inside the canonical fp32 buffer */
    const float **target; /* the weight pointer this tensor fills */
    int kind;             /* which weight (internal enum of src/model), for re-binding */
    int layer;            /* layer index, or -1 for tok_embeddings / final_norm / lm_head */
    int ndim;             /* 1 or 2 */
    int64_t shape[2];     /* expected (and verified) shape, row-major */
};

struct as_model {
    struct as_config cfg;
    struct as_weights w;
    enum as_model_format format;
    char path[4096]; /* what the user passed (directory or .bin) */

    /* source description (from as_model_open) */
    struct as_mapped_file *files; /* [n_files] read-only mappings */
    int n_files;
    struct as_tensor_src *tensors; /* [n_tensors] */
    int n_tensors;
    size_t weights_floats; /* total fp32 floats of the canonical weight buffer */

    /* storage (from load) */
    float *owned; /* (weights_floats) owned buffer, or NULL when mapped / external */
    int is_loaded;
    int zero_copy; /* 1 when the weights point straight into the read-only mappings */
};

/* Parses config + headers and validates every tensor (presence, dtype, shape,
 * offsets within file, no overlaps). path: HF directory, or a llama2.c .bin. */
as_status as_model_open(struct as_model *m, const char *path, struct as_err *err);
/* Makes weights usable: zero-copy for all-F32 sources, else converts into an owned buffer. */
as_status as_model_load(struct as_model *m, struct as_err *err);
/* Converts every tensor into buf (weights_floats floats) and points the weights at it. */
as_status as_model_load_into(struct as_model *m, float *buf, struct as_err *err);
/* Points the weights into buf, which as_model_load_into() already filled (other process). */
as_status as_model_attach(struct as_model *m, const float *buf, struct as_err *err);
/* 1 when as_model_load would be zero-copy (every tensor F32 and 4-byte aligned in
 * its mapping). Ranks of a node then share the page cache and need no window. */
int as_model_can_map(const struct as_model *m);
/* open + load in one call. */
as_status as_model_init(struct as_model *m, const char *path, struct as_err *err);
/* AS_ERR_FORMAT naming the tensor (HF name), the element and the file when a
 * loaded weight is NaN or Inf; one pass over the weights (about a second for
 * TinyLlama's 4.4 GB). */
as_status as_model_check_finite(const struct as_model *m, struct as_err *err);
void as_model_free(struct as_model *m);

/* Validates a config (positive sizes, H % Hkv == 0, ...); used by every loader. */
as_status as_config_validate(const struct as_config *c, const char *what, struct as_err *err);
/* Prints the effective configuration (like llm.c's start-up table). */
void as_config_print(const struct as_config *c, void *file /* FILE* */);

/* Number of parameters (elements) in the model, for reporting. */
size_t as_config_n_params(const struct as_config *c);

#ifdef __cplusplus
}
#endif
#endif
