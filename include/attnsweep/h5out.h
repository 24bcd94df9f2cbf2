/* h5out.h - the attnsweep HDF5 output file (format 2): creation, parallel
 * raw-data writes in batches, and reading.
 *
 * docs/FORMAT.md is the contract for the file layout; src/io/ is the only
 * code that calls HDF5. One struct as_h5file owns every hid_t of one open
 * file and the in-memory prompt table (identical on every rank).
 *
 * Format 2 is columnar: a fixed set of objects whatever the prompt count.
 * Per-prompt values are columns indexed by `prompt`; token-level data, the
 * last-row attention, full attention maps and the ragged metrics are flat
 * arrays with a per-prompt start and count (CF contiguous ragged arrays).
 *
 * Protocol:
 *   as_h5file_create   COLLECTIVE. Rank 0 alone creates <path>.partial with
 *                      the serial driver: every object, attribute and scale
 *                      and all data known before compute; flushes, fsyncs,
 *                      closes and renames it to <path>. Then every rank opens
 *                      <path> for raw-data writes (MPI-IO). Only rank 0 reads
 *                      the create spec (others may pass NULL).
 *   as_h5file_open_rw  COLLECTIVE: reopens an existing file (resume, reduce).
 *   as_h5file_open_read  COLLECTIVE, or serial with comm == MPI_COMM_NULL.
 *   as_h5file_close    COLLECTIVE.
 *   everything else    INDEPENDENT: raw data only (never metadata), so any
 *                      rank may call it at any time. A batch (as_h5batch) is
 *                      a run of consecutive prompts written by one rank.
 *   as_h5file_write_table  SERIAL files only (comm == MPI_COMM_NULL): the
 *                      one call that adds or replaces a group after creation
 *                      (/summary, or /metrics when its ragged sizes change).
 *
 * HDF5's automatic error printing is off; errors come back as AS_ERR_HDF5
 * (or AS_ERR_IO with the errno text) naming the file and the object. */
#ifndef ATTNSWEEP_H5OUT_H
#define ATTNSWEEP_H5OUT_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>
#include <mpi.h>

#include "attnsweep/model.h"
#include "attnsweep/status.h"
#include "attnsweep/store.h"
#include "attnsweep/table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AS_H5_FORMAT_NAME    "attnsweep"
#define AS_H5_FORMAT_VERSION 2
#define AS_H5_ID_MAX         256 /* prompt ids are at most 255 bytes */
#define AS_H5_MESSAGE_MAX    256 /* bytes of /sweep/message per prompt (longer ones are cut) */

/* Per-prompt completion marker in /sweep/status (int8). SKIPPED is set at
 * creation (model.on_too_long: skip) and never changes: such a prompt is not
 * computed and has no attention storage. */
enum as_prompt_status {
    AS_PROMPT_PENDING = 0,
    AS_PROMPT_DONE = 1,
    AS_PROMPT_FAILED = 2,
    AS_PROMPT_SKIPPED = 3
};

/* Checks that id is a valid prompt id (docs/FORMAT.md "Prompt ids"). */
as_status as_h5_id_validate(const char *id, struct as_err *err);

/* One prompt's row of the in-memory prompt table (identical on every rank). */
struct as_h5_prompt_info {
    const char *id;    /* points into the file's id pool */
    int n_tokens;      /* T */
    int rank;          /* rank assigned to compute it, -1 if none */
    int64_t tok_start; /* first row along the token dimension */
    int64_t att_start; /* store full: first element in /attention/full, else 0 */
    int skipped;       /* status skipped at open: never computed, no attention storage */
    /* the file-level values, repeated for convenience */
    int n_layers, n_heads;
    enum as_store store;
    enum as_out_dtype dtype;
};

/* Every hid_t of one open output file. Zero-initialise before create/open;
 * after as_h5file_close() every handle is invalid again. */
struct as_h5file {
    hid_t file;        /* the open file */
    hid_t fapl;        /* file access: mpio or sec2 */
    hid_t dxpl_ind;    /* raw-data transfers: independent */
    hid_t dapl_ind;    /* dataset access: independent metadata reads */
    hid_t gapl_ind;    /* group access: independent metadata reads */
    hid_t f16_type;    /* IEEE binary16, little-endian (what h5py reads as float16) */
    hid_t status_dset; /* /sweep/status */
    hid_t att_dset;    /* /attention/full or /attention/last_row, or invalid */
    MPI_Comm comm;     /* duplicate of the caller's communicator, or MPI_COMM_NULL */
    int rank, size;
    int writable;
    int fd; /* a plain descriptor of the file, for fdatasync (-1 if none) */
    char path[4096];
    /* layout, from the root attributes */
    enum as_store store;
    enum as_out_dtype dtype;
    int n_layers, n_heads; /* L, H stored */
    int32_t *layer_ids;    /* (L) model layer of each stored layer */
    int32_t *head_ids;     /* (H) model head of each stored head */
    int64_t n_prompts;
    int64_t n_tokens_total;            /* NT */
    struct as_h5_prompt_info *prompts; /* (n_prompts) owned */
    char *id_pool;                     /* the ids, NUL-terminated, back to back */
    int64_t *id_order;                 /* (n_prompts) prompt rows sorted by id */
    /* /metrics ragged starts (n_prompts + 1 each; NULL without /metrics) */
    int64_t *occ_start, *substr_start, *span_start;
};

/* Provenance attributes of the root group. Strings may be NULL (stored as "").
 * When model_sha256 is NULL and model_size < 0, rank 0 stats model_path. */
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
    const char *config_dir; /* absolute folder of the sweep YAML (base of `file:` paths), or NULL */
    int n_ranks;            /* 0: the communicator size */
};

/* One prompt to create. Everything is known before compute. */
struct as_h5_prompt_spec {
    const char *id;            /* see as_h5_id_validate */
    const char *text;          /* UTF-8 prompt text */
    size_t text_len;           /* bytes of text (0: strlen(text)) */
    const char *group;         /* sweep group name, or NULL ("") */
    const char *variant;       /* variant name inside the group, or NULL ("") */
    int n_tokens;              /* T >= 1 */
    int rank;                  /* assigned rank, -1 if none */
    const int32_t *token_ids;  /* (T) */
    const char *const *tokens; /* (T) decoded token strings, or NULL ("" each) */
    const int32_t *offsets;    /* (T, 2) byte span [start, end) in text */
    int skipped;               /* too long (on_too_long: skip): status skipped, no attention */
    int tokens_dropped;        /* tokens cut from the end (on_too_long: truncate), else 0 */
};

/* Everything a file is created from. */
struct as_h5_create_spec {
    const struct as_h5_provenance *prov;
    const struct as_config *model; /* -> /model attributes */
    int64_t n_prompts;
    const struct as_h5_prompt_spec *prompts; /* (n_prompts) */
    enum as_store store;
    enum as_out_dtype dtype;
    int n_layers, n_heads;          /* stored L, H (>= 1) */
    const int *layer_index;         /* (n_layers) model layer of each stored layer, NULL = 0..L-1 */
    const int *head_index;          /* (n_heads) model head of each stored head, NULL = 0..H-1 */
    const struct as_table *metrics; /* the /metrics layout (as_metrics_table_layout), or NULL */
    const struct as_table *behaviour; /* the /behaviour layout (next tokens), or NULL */
    /* Extra /sweep columns: the sweep's metadata (docs/FORMAT.md "Metadata columns"), each
     * 1-D along "prompt" with n_prompts rows and data; or NULL. Names must not be those of
     * the built-in /sweep columns. Borrowed until creation (or the estimate) returns. */
    const struct as_table *sweep_meta;
    /* Optional captures (output.weights / output.scores, docs/FORMAT.md "Value norms and
     * scores"): /attention/value_norm [token, layer, head]; the pre-softmax scores in the
     * layout of `store` (scores_full or scores_last_row; store must not be none). */
    int value_norms, scores;
};

/* Closes every HDF5 object still open and shuts the library down. Call it
 * before MPI_Finalize: HDF5's own shutdown at exit would otherwise run after
 * MPI is gone (a file whose close failed, e.g. on a full disk, then crashed
 * the process at exit). */
void as_h5_shutdown(void);

/* ---- one writer per file ---------------------------------------------------- */

/* An exclusive lock on <output>.lock (flock; close-on-exec). Zero-initialise. */
struct as_h5_lock {
    int fd; /* -1 when not held */
    char path[4096 + 8];
};
/* Takes the lock, or AS_ERR_EXISTS naming the holder (host, pid, since). One
 * process (rank 0) per writer calls it; readers never do. */
as_status as_h5_lock_acquire(struct as_h5_lock *l, const char *output, struct as_err *err);
void as_h5_lock_release(struct as_h5_lock *l);

/* ---- creating, opening, closing (collective) ------------------------------ */

/* Creates path from spec (see the protocol above). Refuses with AS_ERR_EXISTS
 * (file untouched) if path exists and force == 0. On success the file is
 * open for independent raw-data writes on every rank of comm. */
as_status as_h5file_create(struct as_h5file *f, const char *path, MPI_Comm comm, int force,
                           const struct as_h5_create_spec *spec, struct as_err *err);
/* Reopens a format-2 attnsweep file for raw-data writes. Loads the prompt table. */
as_status as_h5file_open_rw(struct as_h5file *f, const char *path, MPI_Comm comm,
                            struct as_err *err);
/* Opens read-only. comm may be MPI_COMM_NULL (serial). Loads the prompt table. */
as_status as_h5file_open_read(struct as_h5file *f, const char *path, MPI_Comm comm,
                              struct as_err *err);
/* Flushes raw data and metadata (collective on a parallel file). */
as_status as_h5file_flush(struct as_h5file *f, struct as_err *err);
/* Closes every handle and frees the table; safe on a never-opened (zeroed) struct. */
as_status as_h5file_close(struct as_h5file *f, struct as_err *err);

/* The size in bytes of the file create(spec) would write, plus /summary for
 * every prompt done (summary_bytes, from as_summary_estimate_bytes). Rank 0
 * only, no I/O: the same layout description that creation uses. *meta gets
 * the metadata part (may be NULL). */
as_status as_h5_estimate(const struct as_h5_create_spec *spec, double summary_bytes,
                         int n_summary_cols, double *bytes, double *meta, struct as_err *err);

/* ---- prompt table (local, no I/O) ----------------------------------------- */

/* Row of the prompt named id, or -1 (binary search over the id index). */
int64_t as_h5file_find_prompt(const struct as_h5file *f, const char *id);

/* ---- independent ---------------------------------------------------------- */

/* /sweep/status of one prompt, or of n consecutive prompts in one transfer. */
as_status as_h5file_set_status(struct as_h5file *f, int64_t index, enum as_prompt_status s,
                               struct as_err *err);
as_status as_h5file_write_status_range(struct as_h5file *f, int64_t first, int64_t n,
                                       const int8_t *status /* (n) */, struct as_err *err);
/* Reads the whole status vector into out (n_prompts). */
as_status as_h5file_read_status(struct as_h5file *f, int8_t *out /* (n_prompts) */,
                                struct as_err *err);
/* Writes prompt `index`'s row of /sweep/message; "" clears it. */
as_status as_h5file_set_message(struct as_h5file *f, int64_t index, const char *msg,
                                struct as_err *err);
/* Reads prompt `index`'s /sweep/message into out (AS_H5_MESSAGE_MAX + 1 bytes). */
as_status as_h5file_read_message(struct as_h5file *f, int64_t index, char *out, struct as_err *err);
/* Rewrites /sweep/rank (a resumed run plans anew). */
as_status as_h5file_write_ranks(struct as_h5file *f, const int32_t *rank /* (n_prompts) */,
                                struct as_err *err);

/* Makes everything written so far durable (fdatasync of the file). */
as_status as_h5file_sync(struct as_h5file *f, struct as_err *err);

/* A batch: n consecutive prompts [first, first + n) written by one rank. The
 * last rows (store: last_row) are buffered and written at commit, in one
 * transfer; full maps are written as they come, one (prompt, layer) block
 * per transfer. */
struct as_h5batch {
    struct as_h5file *f; /* not owned */
    int64_t first, n;
    int64_t tok0, n_tok; /* token rows [tok0, tok0 + n_tok) */
    void *last_row;      /* (n_tok, L, H) in the file's dtype (store: last_row) */
    void *scratch;       /* float16 conversion of one layer (store: full, float16) */
    size_t scratch_bytes;
};
as_status as_h5batch_begin(struct as_h5file *f, int64_t first, int64_t n, struct as_h5batch *b,
                           struct as_err *err);
/* One layer of prompt `index` (first <= index < first + n): the (H, T, T)
 * probabilities of the stored heads. `layer` is the stored layer index. */
as_status as_h5batch_write_layer(struct as_h5batch *b, int64_t index, int layer,
                                 const float *probs /* (H, T, T) */, int H, int T,
                                 struct as_err *err);
/* Writes the buffered last rows, `rows` (the batch's /metrics rows, from
 * as_metrics_table_rows; may be NULL) and `behaviour` (its /behaviour rows;
 * may be NULL), makes them durable (one fdatasync), then writes status (n
 * values; NULL: status untouched) in one transfer. */
as_status as_h5batch_commit(struct as_h5batch *b, const struct as_table *rows,
                            const struct as_table *behaviour, const int8_t *status /* (n) */,
                            struct as_err *err);
void as_h5batch_free(struct as_h5batch *b);

/* Reads one stored layer of prompt `index` as float32: out is (H, T, T) for
 * store full, (H, T) for last_row. */
as_status as_h5file_read_attention_layer(struct as_h5file *f, int64_t index, int layer, float *out,
                                         struct as_err *err);

/* store last_row: the last rows of n consecutive prompts [first, first + n)
 * in one transfer, as float32: out is (tokens of the batch, L, H), the
 * layout of /attention/last_row. */
as_status as_h5file_read_last_rows(struct as_h5file *f, int64_t first, int64_t n, float *out,
                                   struct as_err *err);

/* Every prompt's text and token data, read in a few transfers. */
struct as_h5_tokens {
    int64_t n_prompts, n_tokens;
    char *text;         /* (text_bytes + n_prompts) every text, each NUL-terminated */
    const char **texts; /* (n_prompts) pointers into text */
    size_t *text_len;   /* (n_prompts) */
    int32_t *token_id;  /* (n_tokens) */
    int32_t *offsets;   /* (n_tokens, 2) */
    char *token_str;    /* (n_tokens) records of token_str_width bytes, NUL-terminated */
    size_t token_str_width;
    const char **tokens;     /* (n_tokens) pointers into token_str */
    char **group, **variant; /* (n_prompts) pointers into strings */
    char *strings;           /* group / variant records */
};
as_status as_h5file_read_tokens(struct as_h5file *f, struct as_h5_tokens *t, struct as_err *err);
void as_h5_tokens_free(struct as_h5_tokens *t);

/* Reads whole columns of group (e.g. "metrics") into out (names: n of them;
 * a name that does not exist is an error unless optional != 0, then skipped).
 * String columns come back as records of width bytes, NUL-terminated. */
as_status as_h5file_read_columns(struct as_h5file *f, const char *group, const char *const *names,
                                 int n, int optional, struct as_table *out, struct as_err *err);
/* Writes rows of a batch into existing columns of group: each column of
 * rows is written at the offset of its first dimension for prompt `first`
 * (prompt -> first, token -> tok_start, occ / substr / span -> the ragged
 * starts). One transfer per column. */
as_status as_h5file_write_rows(struct as_h5file *f, const char *group, const struct as_table *rows,
                               int64_t first, struct as_err *err);
/* Serial files only: (re)creates group from t (datasets, scales, data). */
as_status as_h5file_write_table(struct as_h5file *f, const char *group, const struct as_table *t,
                                struct as_err *err);
/* 1 if the object (a group or dataset path) exists, 0 if not, <0 on error. */
int as_h5file_exists(struct as_h5file *f, const char *path);

/* Root attributes and /config. */
as_status as_h5file_read_attr_str(struct as_h5file *f, const char *name, char **out,
                                  struct as_err *err);
/* The sweep YAML stored in /config (malloc'd), or *yaml = NULL when the file has none. */
as_status as_h5file_read_config(struct as_h5file *f, char **yaml, size_t *len, struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
