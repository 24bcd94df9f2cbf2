/* store.h - what the output file stores of each prompt's attention, and in
 * which element type: the `output.store` and `output.dtype` values of a sweep
 * (docs/SWEEP.md) and the `store` / `dtype` root attributes of a file
 * (docs/FORMAT.md).
 *
 * A header of its own so that the sweep parser (pure: no HDF5, no MPI) and the
 * HDF5 writer (src/io) share one definition; the names are implemented in
 * src/common/store.c. */
#ifndef ATTNSWEEP_STORE_H
#define ATTNSWEEP_STORE_H

#ifdef __cplusplus
extern "C" {
#endif

/* What is stored of each prompt's attention (the same for every prompt of a file). */
enum as_store {
    AS_STORE_FULL = 0,     /* /attention/full: [L, H, T, T] per prompt, flat */
    AS_STORE_LAST_ROW = 1, /* /attention/last_row [token, layer, head]: the last query row */
    AS_STORE_NONE = 2      /* no attention */
};
enum as_out_dtype { AS_OUT_F32 = 0, AS_OUT_F16 = 1 };

/* Which per-key weights are stored (`output.weights`, docs/SWEEP.md): the
 * attention probabilities alpha_ij (the `store` datasets), the value norms
 * ||f_h(x_j)|| (/attention/value_norm, docs/METRICS.md "Value norms"), or both.
 * NORMS stores no probabilities (the sweep's store is then none). */
enum as_store_weights { AS_WEIGHTS_PROBS = 0, AS_WEIGHTS_NORMS = 1, AS_WEIGHTS_BOTH = 2 };

/* Parses "full" / "last_row" / "none" and "float32" / "float16"; -1 if unknown (or NULL). */
int as_store_from_name(const char *name);
const char *as_store_name(enum as_store s); /* "?" for a value out of range */
int as_out_dtype_from_name(const char *name);
const char *as_out_dtype_name(enum as_out_dtype d);
/* "probs" / "norms" / "both"; -1 if unknown (or NULL). */
int as_weights_from_name(const char *name);
const char *as_weights_name(enum as_store_weights w); /* "?" for a value out of range */

#ifdef __cplusplus
}
#endif
#endif
