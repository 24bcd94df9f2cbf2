/* h5internal.h - helpers shared by the src/io/ files (not public API).
 *
 * Conventions of this module:
 *  - every function that opens a handle closes it at its single `done:` label;
 *  - HDF5 failures are turned into AS_ERR_HDF5 by h5_fail(), which appends
 *    HDF5's innermost error description (captured with H5Ewalk2) and clears
 *    the HDF5 error stack;
 *  - collective entry points end with h5_agree() so that every rank returns
 *    the same status (the message of the lowest failing rank is broadcast). */
#ifndef ATTNSWEEP_IO_H5INTERNAL_H
#define ATTNSWEEP_IO_H5INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/h5out.h"

/* Largest raw-data transfer per H5Dwrite/H5Dread call: keeps MPI-IO counts
 * far below 2 GiB and bounds the f16 conversion buffer. */
#define H5_IO_CHUNK_BYTES ((size_t)64 << 20)

/* Records AS_ERR_HDF5: "<path>: <fmt...>: HDF5: <innermost error>". */
as_status h5_fail(struct as_err *err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Collective: all ranks of f->comm return the same status. A rank that had
 * no error receives "rank R: <message of rank R>" from the lowest failing R.
 * No-op for serial files (comm == MPI_COMM_NULL). */
as_status h5_agree(const struct as_h5file *f, as_status st, struct as_err *err);

/* Bytes free for an unprivileged writer on the file system of path's folder, or -1. */
double h5_free_bytes(const char *path);

/* Library life cycle: h5_library_init before the first HDF5 call of the
 * process (keeps HDF5 from shutting down at exit, after MPI); a file whose
 * close failed is reported with h5_note_close_failed (as_h5_shutdown then
 * skips the library's shutdown, which would crash on it). */
void h5_library_init(void);
void h5_note_close_failed(void);

/* Closes any kind of hid_t (file, group, dataset, attribute, type, space,
 * property list) if valid, and sets it to H5I_INVALID_HID. Returns <0 on failure. */
int h5_close_id(hid_t *id);

/* Dataset creation list: contiguous, storage allocated at creation, never
 * filled (unwritten regions are undefined: /sweep/status says what is valid),
 * no object timestamps (reproducible files). */
hid_t h5_dcpl_contig(void);
/* Group creation list tracking and indexing link creation order. */
hid_t h5_gcpl_ordered(void);
/* Fixed-length UTF-8 null-padded string type of width bytes (>= 1). */
hid_t h5_str_fixed(size_t width);

/* Scalar / 1-D attributes (collective when the file is parallel). */
as_status h5_attr_str(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      const char *value, struct as_err *err);
as_status h5_attr_i32(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      int32_t value, struct as_err *err);
as_status h5_attr_i64(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      int64_t value, struct as_err *err);
as_status h5_attr_u64(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      uint64_t value, struct as_err *err);
as_status h5_attr_f32(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      float value, struct as_err *err);
as_status h5_attr_f64(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      double value, struct as_err *err);
as_status h5_attr_i8_array(const struct as_h5file *f, hid_t loc, const char *where,
                           const char *name, const int8_t *values, size_t n, struct as_err *err);

/* Reads a scalar string attribute (VL or fixed) into a malloc'd string. */
as_status h5_attr_read_str(const struct as_h5file *f, hid_t loc, const char *where,
                           const char *name, char **out, struct as_err *err);

/* ---- pieces shared by the src/io files ---- */

/* Loads the prompt table (h5file.c): /sweep columns, root layout attributes,
 * the id index and the /metrics ragged starts. */
as_status h5_table_load(struct as_h5file *f, struct as_err *err);
/* Checks /sweep/message: [n_prompts] fixed-length strings of at most AS_H5_MESSAGE_MAX bytes
 * (h5sweep.c; h5_table_load calls it, so --resume refuses a damaged column before it writes). */
as_status h5_message_check(struct as_h5file *f, struct as_err *err);

/* File and memory types of a column type (f16 from f). Caller closes. */
hid_t h5_col_file_type(const struct as_h5file *f, const struct as_col *c);
hid_t h5_col_mem_type(const struct as_h5file *f, const struct as_col *c);

/* Creates every column of t as a dataset of group g (path `where`), writes
 * the data of columns that have some, marks 1-D columns named like their
 * dimension as scales and attaches them to every axis (h5table.c). Serial. */
as_status h5_table_create(struct as_h5file *f, hid_t g, const char *where, const struct as_table *t,
                          struct as_err *err);

/* The creation-time tables of docs/FORMAT.md (h5layout.c). */
struct h5_layout {
    struct as_table sweep, text, tokens, attention;
};
as_status h5_layout_build(const struct as_h5_create_spec *s, struct h5_layout *y,
                          struct as_err *err);
/* The file's size from its built layout (as_h5_estimate without rebuilding it). */
double h5_layout_bytes(const struct h5_layout *y, const struct as_h5_create_spec *s,
                       double summary_bytes, int n_summary_cols, double *meta);
void h5_layout_free(struct h5_layout *y);
/* Adds /attention/value_norm and /attention/scores_* to the /attention table
 * when the spec asks for them (h5capture.c); NT tokens, NE full elements. */
void h5_layout_capture(const struct as_h5_create_spec *s, struct as_table *att, int64_t NT,
                       int64_t NE);

/* Provenance, /config and /model of a file being created (h5meta.c; serial). */
as_status h5_write_provenance(struct as_h5file *f, const struct as_h5_provenance *p,
                              struct as_err *err);
as_status h5_write_model(struct as_h5file *f, const struct as_config *c, struct as_err *err);

#endif
