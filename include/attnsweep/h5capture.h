/* h5capture.h - writing the optional captures of /attention (docs/FORMAT.md
 * "Value norms and scores"). /attention/value_norm and
 * /attention/scores_last_row are [token, layer, head] rows, written per batch
 * with as_h5file_write_rows(f, "attention", rows, first) (columns named like
 * the datasets, dims "token,layer,head", in the file's dtype); the full scores
 * are written per (prompt, layer) block by the call below. INDEPENDENT (raw
 * data only), like the rest of a batch. */
#ifndef ATTNSWEEP_H5CAPTURE_H
#define ATTNSWEEP_H5CAPTURE_H

#include "attnsweep/h5out.h"

#ifdef __cplusplus
extern "C" {
#endif

/* store full with scores: the (H, T, T) pre-softmax scores of stored layer
 * `layer` (stored heads) of prompt `index`, converted to the file's dtype, at
 * /sweep/attention_start[index] + layer * H * T * T of /attention/scores_full. */
as_status as_h5file_write_scores_layer(struct as_h5file *f, int64_t index, int layer,
                                       const float *scores /* (H, T, T) */, int H, int T,
                                       struct as_err *err);

/* The [token, layer, head] rows of capture `name` ("value_norm" or
 * "scores_last_row") of n consecutive prompts [first, first + n) in one
 * transfer, as float32: out is (tokens of those prompts, L, H). */
as_status as_h5file_read_capture_rows(struct as_h5file *f, const char *name, int64_t first,
                                      int64_t n, float *out, struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
