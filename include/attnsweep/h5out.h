/* h5out.h - the attnsweep HDF5 output file: parallel writer and reader.
 *
 * docs/FORMAT.md is the contract for the file layout; this header is the only
 * code that writes or reads it. One struct as_h5file owns every hid_t of one
 * open file and a copy of the prompt table (identical on every rank).
 *
 * Parallel model (MPI-IO, HDF5 1.10):
 *   COLLECTIVE  (every rank of the communicator, same order, identical
 *               arguments): as_h5file_create, _open_rw, _open_read,
 *               _write_provenance, _write_model, _create_prompts, _flush,
 *               _close. They create every group, dataset, attribute and
 *               dimension scale, and write everything known before compute
 *               (text, token ids, token strings, offsets). Each returns the
 *               same status on every rank: a failure on one rank is broadcast
 *               (IOR-style agreement), so callers can branch safely.
 *               _create_prompts also checks that the specs are identical on
 *               every rank (a hash compare) before touching the file.
 *   INDEPENDENT (any one rank, any time after the collective create):
 *               as_h5prompt_open / _write_attention_layer / _write_tokens /
 *               _close, as_h5file_set_status and every read. They only write
 *               raw data into pre-allocated contiguous datasets, so they never
 *               modify HDF5 metadata.
 * Variable-length strings: HDF5 1.10 refuses VL *dataset* writes under MPI-IO
 * (even collective ones), so string datasets (tokens, /sweep/prompt, /config)
 * are fixed-length UTF-8, null-padded; string *attributes* are VL UTF-8.
 *
 * comm == MPI_COMM_NULL opens the file with the serial (sec2) driver: no MPI
 * calls are made, for tools and tests that read without MPI.
 *
 * HDF5's automatic error printing is switched off when a file is created or
 * opened; errors come back as AS_ERR_HDF5 with a message naming the file, the
 * object and HDF5's innermost error description. */
#ifndef ATTNSWEEP_H5OUT_H
#define ATTNSWEEP_H5OUT_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>
#include <mpi.h>

#include "attnsweep/model.h"
#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AS_H5_FORMAT_NAME    "attnsweep"
#define AS_H5_FORMAT_VERSION 1
#define AS_H5_ID_MAX         256 /* prompt ids are HDF5 link names of at most 255 bytes */

/* What is stored of each prompt's attention. */
enum as_store {
    AS_STORE_FULL = 0,     /* attention [L, H, T, T] */
    AS_STORE_LAST_ROW = 1, /* attention [L, H, T]: the last query row only */
    AS_STORE_NONE = 2      /* no attention dataset */
};
enum as_out_dtype { AS_OUT_F32 = 0, AS_OUT_F16 = 1 };

/* Per-prompt completion marker in /sweep/status (int8). */
enum as_prompt_status { AS_PROMPT_PENDING = 0, AS_PROMPT_DONE = 1, AS_PROMPT_FAILED = 2 };

/* Parses "full" / "last_row" / "none" and "float32" / "float16"; -1 if unknown. */
int as_store_from_name(const char *name);
const char *as_store_name(enum as_store s);
int as_out_dtype_from_name(const char *name);
const char *as_out_dtype_name(enum as_out_dtype d);

/* Checks that id is usable as a prompt group name: not empty, not "." or "..",
 * no '/', no control characters, valid UTF-8, shorter than AS_H5_ID_MAX. */
as_status as_h5_id_validate(const char *id, struct as_err *err);

/* One prompt's row of the in-memory prompt table (identical on every rank). */
struct as_h5_prompt_info {
    char id[AS_H5_ID_MAX];
    int n_tokens; /* T */
    int n_layers; /* L of the attention dataset */
    int n_heads;  /* H of the attention dataset */
    enum as_store store;
    enum as_out_dtype dtype;
    int rank; /* rank assigned to compute it, -1 if none */
};

/* Every hid_t of one open output file. Zero-initialise before create/open;
 * after as_h5file_close() every handle is H5I_INVALID_HID again. */
struct as_h5file {
    hid_t file;        /* the open file */
    hid_t fapl;        /* file access: mpio (collective metadata) or sec2 */
    hid_t dxpl_ind;    /* raw-data transfers: independent */
    hid_t dapl_ind;    /* dataset access: independent metadata reads */
    hid_t gapl_ind;    /* group access: independent metadata reads */
    hid_t f16_type;    /* IEEE binary16, little-endian (what h5py reads as float16) */
    hid_t status_dset; /* /sweep/status, open while the file is open */
    MPI_Comm
        comm; /* duplicate of the caller's communicator (MPI_ERRORS_RETURN), or MPI_COMM_NULL */
    int rank, size;
    int writable;
    char path[4096];
    int64_t n_prompts;
    struct as_h5_prompt_info *prompts; /* (n_prompts) owned */
};

/* Provenance attributes of the root group. Strings may be NULL (stored as "").
 * When model_sha256 is NULL and model_size < 0, rank 0 stats model_path
 * (a file, or the sum/newest of the regular files of a directory). */
struct as_h5_provenance {
    const char *version; /* attnsweep version string */
    const char *git_commit;
    const char *model_path;
    const char *model_sha256; /* hex, or NULL */
    int64_t model_size;       /* bytes, -1 if unknown */
    int64_t model_mtime;      /* unix seconds, -1 if unknown */
    const char *command_line;
    const char *config_sha256; /* hex of the sweep YAML, or NULL */
    const char *config_text;   /* the sweep YAML exactly as read -> /config, or NULL */
    int n_ranks;               /* 0: the communicator size */
};

/* One prompt to create. Token data are written during the collective create
 * (they are known before compute: rank 0 tokenizes and broadcasts). */
struct as_h5_prompt_spec {
    const char *id;      /* group name under /prompts (see as_h5_id_validate) */
    const char *text;    /* UTF-8 prompt text */
    const char *group;   /* sweep group name, or NULL */
    const char *variant; /* variant name inside the group, or NULL */
    int n_tokens;        /* T >= 1 */
    int n_layers;        /* L >= 1 */
    int n_heads;         /* H >= 1 */
    enum as_store store;
    enum as_out_dtype dtype;
    int rank;                  /* assigned rank, -1 if none */
    const int32_t *token_ids;  /* (T) or NULL (then write later with as_h5prompt_write_tokens) */
    const char *const *tokens; /* (T) decoded token strings, or NULL (stored as "") */
    const int32_t *offsets;    /* (T, 2) byte span [start, end) in text, or NULL */
    const int *layer_index;    /* (n_layers) model layer of each stored layer, NULL = 0..L-1 */
    const int *head_index;     /* (n_heads) model head of each stored head, NULL = 0..H-1 */
};

/* ---- collective ---------------------------------------------------------- */

/* Creates path. Refuses with AS_ERR_EXISTS (file untouched) if it exists and
 * force == 0. Writes the format attributes; provenance, model and prompts follow. */
as_status as_h5file_create(struct as_h5file *f, const char *path, MPI_Comm comm, int force,
                           struct as_err *err);
/* Reopens an attnsweep file for writing raw data (resume). Loads the prompt table. */
as_status as_h5file_open_rw(struct as_h5file *f, const char *path, MPI_Comm comm,
                            struct as_err *err);
/* Opens read-only. comm may be MPI_COMM_NULL (serial). Loads the prompt table. */
as_status as_h5file_open_read(struct as_h5file *f, const char *path, MPI_Comm comm,
                              struct as_err *err);
as_status as_h5file_write_provenance(struct as_h5file *f, const struct as_h5_provenance *p,
                                     struct as_err *err);
as_status as_h5file_write_model(struct as_h5file *f, const struct as_config *c, struct as_err *err);
/* Creates /prompts/<id> for all n specs (groups, attributes, datasets,
 * dimension scales, token data) and /sweep (the prompt table and the status
 * vector, all PENDING), then flushes. May be called once per file. */
as_status as_h5file_create_prompts(struct as_h5file *f, const struct as_h5_prompt_spec *specs,
                                   int64_t n, struct as_err *err);
/* Flushes metadata and raw data to the file (collective). */
as_status as_h5file_flush(struct as_h5file *f, struct as_err *err);
/* Closes every handle and frees the table; safe on a never-opened (zeroed) struct. */
as_status as_h5file_close(struct as_h5file *f, struct as_err *err);

/* ---- prompt table (local, no I/O) ----------------------------------------- */

/* Index of the prompt named id, or -1. */
int64_t as_h5file_find_prompt(const struct as_h5file *f, const char *id);

/* ---- independent --------------------------------------------------------- */

/* Marks prompt `index` in /sweep/status (write it after the prompt's data). */
as_status as_h5file_set_status(struct as_h5file *f, int64_t index, enum as_prompt_status s,
                               struct as_err *err);
#define AS_H5_MESSAGE_MAX 256 /* bytes of /sweep/message per prompt (longer ones are cut) */

/* Writes prompt `index`'s row of /sweep/message (e.g. why it failed); "" clears it. */
as_status as_h5file_set_message(struct as_h5file *f, int64_t index, const char *msg,
                                struct as_err *err);
/* Reads prompt `index`'s /sweep/message into out (AS_H5_MESSAGE_MAX + 1 bytes). */
as_status as_h5file_read_message(struct as_h5file *f, int64_t index, char *out, struct as_err *err);
/* Rewrites /sweep/rank for n prompts (a resumed run may plan differently). Any one rank. */
as_status as_h5file_write_ranks(struct as_h5file *f, const int32_t *rank /* (n_prompts) */,
                                struct as_err *err);

/* Reads the whole status vector into out (n_prompts). */
as_status as_h5file_read_status(struct as_h5file *f, int8_t *out /* (n_prompts) */,
                                struct as_err *err);

/* An open prompt: caches the group and dataset handles so that per-layer
 * writes don't reopen anything by name. */
struct as_h5prompt {
    struct as_h5file *f; /* not owned */
    int64_t index;
    const struct as_h5_prompt_info *info; /* row of f->prompts */
    hid_t group;                          /* /prompts/<id> */
    hid_t attention; /* attention dataset, H5I_INVALID_HID when store == NONE */
    void *scratch;   /* conversion buffer (owned) */
    size_t scratch_bytes;
};

as_status as_h5prompt_open(struct as_h5file *f, int64_t index, struct as_h5prompt *p,
                           struct as_err *err);
/* Writes one layer of attention probabilities, converting to the dataset's
 * store mode and dtype (LAST_ROW keeps query row T-1; NONE is a no-op). */
as_status as_h5prompt_write_attention_layer(struct as_h5prompt *p, int layer,
                                            const float *probs /* (H, T, T) */, int H, int T,
                                            struct as_err *err);
/* Writes token ids and/or offsets (either may be NULL) when they were not
 * known at create time. Token strings can only be written at create time. */
as_status as_h5prompt_write_tokens(struct as_h5prompt *p, const int32_t *ids /* (T) */,
                                   const int32_t *offsets /* (T, 2) */, int T, struct as_err *err);
/* Reads one layer back as float32: out is (H, T, T) for FULL, (H, T) for LAST_ROW. */
as_status as_h5prompt_read_attention_layer(struct as_h5prompt *p, int layer, float *out,
                                           struct as_err *err);
/* Reads all layers: out is (L, H, T, T) for FULL, (L, H, T) for LAST_ROW. */
as_status as_h5prompt_read_attention(struct as_h5prompt *p, float *out, struct as_err *err);
as_status as_h5prompt_read_token_ids(struct as_h5prompt *p, int32_t *out /* (T) */,
                                     struct as_err *err);
as_status as_h5prompt_read_offsets(struct as_h5prompt *p, int32_t *out /* (T, 2) */,
                                   struct as_err *err);
/* *out = T pointers to NUL-terminated strings, all in one allocation: free(*out). */
as_status as_h5prompt_read_tokens(struct as_h5prompt *p, char ***out, struct as_err *err);
/* *out = the prompt text (malloc'd, NUL-terminated). It is an attribute, and
 * HDF5 reads attributes with the file's collective-metadata setting: on a file
 * opened for writing by more than one rank, call it on every rank (or read
 * through as_h5file_open_read, where every read is independent). */
as_status as_h5prompt_read_text(struct as_h5prompt *p, char **out, struct as_err *err);
as_status as_h5prompt_close(struct as_h5prompt *p, struct as_err *err);

/* Convenience by id: opens, writes one layer, closes. Prefer as_h5prompt_*
 * when writing every layer of a prompt. */
as_status as_h5file_write_attention_layer(struct as_h5file *f, const char *id, int layer,
                                          const float *probs /* (H, T, T) */, int H, int T,
                                          struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
