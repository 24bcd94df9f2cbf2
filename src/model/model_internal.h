/* model_internal.h - shared by the loaders in src/model/; not public API.
 *
 * Every loader follows the same plan:
 *   1. fill m->cfg (config.json or the llama2.c header) and validate it;
 *   2. as_model_slots_init(): build m->tensors, one entry per logical weight
 *      in the canonical order below, with its expected shape and its float
 *      offset `dst` in the canonical fp32 buffer;
 *   3. point each slot at its bytes in a mapped file (file, offset, dtype).
 * Loading then either points the weights into the mappings or converts every
 * slot into buf + dst (as_model_slots_bind). The canonical layout depends only
 * on the config, so another process that opened the same model can attach to a
 * buffer filled elsewhere. */
#ifndef ATTNSWEEP_MODEL_INTERNAL_H
#define ATTNSWEEP_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/dtype.h"
#include "attnsweep/model.h"

/* Canonical order: tok_embeddings, then for each layer the nine per-layer
 * weights in this order, then final_norm, then lm_head (absent when tied). */
enum as_slot_kind {
    AS_SLOT_TOK_EMB = 0,
    AS_SLOT_ATTN_NORM,
    AS_SLOT_WQ,
    AS_SLOT_WK,
    AS_SLOT_WV,
    AS_SLOT_WO,
    AS_SLOT_FFN_NORM,
    AS_SLOT_W_GATE,
    AS_SLOT_W_UP,
    AS_SLOT_W_DOWN,
    AS_SLOT_FINAL_NORM,
    AS_SLOT_LM_HEAD
};
#define AS_SLOTS_PER_LAYER 9

/* Writes the source-format name of a slot (e.g. "model.layers.3.self_attn.q_proj.weight"). */
typedef void (*as_slot_namer)(char *out, size_t cap, enum as_slot_kind kind, int layer);

/* Limits that keep every size computation far from overflow. */
#define AS_MAX_LAYERS 4096

/* ---- model_layout.c */
/* Allocates m->w.layers and m->tensors for m->cfg and sets names, shapes, dst
 * and weights_floats. m->cfg must have passed as_config_validate(). */
as_status as_model_slots_init(struct as_model *m, as_slot_namer namer, struct as_err *err);
/* Index of a slot in m->tensors. */
int as_model_slot_index(const struct as_config *c, enum as_slot_kind kind, int layer);
/* Points every weight at base + dst (base != NULL) or, when base == NULL, at
 * the tensor's bytes inside its mapping (caller checked F32 and alignment). */
void as_model_slots_bind(struct as_model *m, const float *base);
/* "[a, b]" into out. */
void as_shape_str(char *out, size_t cap, int ndim, const int64_t *shape);
/* Element count of the config's weights, overflow-checked: 0 on overflow. */
int as_config_n_params_checked(const struct as_config *c, size_t *out);

/* ---- hf_config.c */
/* Parses an HF config.json into c (defaults as HF's LlamaConfig), rejecting
 * architectures and options the forward pass does not implement. */
as_status as_hf_config_read(const char *path, struct as_config *c, struct as_err *err);

/* ---- safetensors.c */
struct as_st_entry {
    char name[128];
    char dtype_name[16]; /* as written in the header, e.g. "BF16" */
    int dtype;           /* enum as_dtype; AS_DTYPE_INVALID for dtypes we do not convert */
    int ndim;
    int64_t shape[8];
    size_t numel;
    size_t begin, end; /* absolute byte offsets in the file: [begin, end) */
    int used;          /* set by the binder */
};

struct as_st_header {
    struct as_st_entry *e; /* [n] */
    int n;
    size_t data_start; /* 8 + header length */
};

/* Parses and validates the header of a mapped safetensors file: JSON, dtypes,
 * shapes, data offsets within the file, consistent with dtype x shape, and
 * covering the data section exactly (no overlap, no hole, no trailing bytes). */
as_status as_st_header_parse(const struct as_mapped_file *f, struct as_st_header *h,
                             struct as_err *err);
void as_st_header_free(struct as_st_header *h);

struct as_st_index {
    int n;         /* weight_map entries */
    char **tensor; /* [n] */
    int *shard;    /* [n] index into shards */
    int n_shards;
    char **shards; /* [n_shards] file names, sorted, unique */
};
/* Reads model.safetensors.index.json (weight_map only; "metadata" is ignored)
 * and checks that every shard it names exists next to it. */
as_status as_st_index_read(const char *path, const char *dir, struct as_st_index *ix,
                           struct as_err *err);
void as_st_index_free(struct as_st_index *ix);

/* ---- hf_model.c / llama2c.c: fill m (cfg, files, tensors) from m->path */
as_status as_model_open_hf(struct as_model *m, struct as_err *err);
as_status as_model_open_llama2c(struct as_model *m, struct as_err *err);

#endif
