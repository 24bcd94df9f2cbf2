/* defaults.h - the built-in default model.
 *
 * A new user has no model and this tool cannot download one, so attnsweep
 * generates a small deterministic Llama-architecture model in HF format:
 *   config.json            LlamaForCausalLM hyper-parameters
 *   model.safetensors      seeded random fp32 weights (attnsweep/synthetic.h)
 *   tokenizer.json         a byte-fallback BPE vocabulary (512 pieces) trained
 *                          on a built-in English corpus, in the exact format of
 *                          TinyLlama's tokenizer.json (normalizer, decoder, ...)
 *   tokenizer_config.json  add_bos_token etc.
 * The output is bit-identical for the same seed on every machine, and loads
 * through the same code paths as a real HF checkpoint. */
#ifndef ATTNSWEEP_DEFAULTS_H
#define ATTNSWEEP_DEFAULTS_H

#include <stdint.h>

#include "attnsweep/model.h"
#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AS_DEFAULT_MODEL_SEED 20261128u

/* The default model's config (vocab_size matches the built-in tokenizer). */
void as_default_config(struct as_config *c);

#define AS_DEFAULT_TOKENIZER_VOCAB 512

/* Writes the complete model directory `dir` (created if missing) for config c
 * (NULL = as_default_config) with weights stored as dtype (AS_DTYPE_F32 or
 * AS_DTYPE_BF16); c->vocab_size must be >= AS_DEFAULT_TOKENIZER_VOCAB.
 * Refuses to overwrite existing files unless force. */
as_status as_default_model_write(const char *dir, const struct as_config *c, uint64_t seed,
                                 int dtype, int force, struct as_err *err);

/* Writes m's weights as an HF model directory (config.json + model.safetensors) with
 * tensors stored as F32 or BF16 (dtype: AS_DTYPE_F32 / AS_DTYPE_BF16, round to nearest even). */
as_status as_hf_write(const struct as_model *m, const char *dir, int dtype, struct as_err *err);

/* Trains a byte-fallback BPE tokenizer of vocab_size pieces on text and writes
 * tokenizer.json + tokenizer_config.json into dir. */
as_status as_bpe_train_write(const char *text, int vocab_size, const char *dir, struct as_err *err);

/* The built-in training corpus (plain English, NUL-terminated). */
extern const char as_default_corpus[];

#ifdef __cplusplus
}
#endif
#endif
