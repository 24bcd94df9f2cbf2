/* sweep.h - the sweep description: YAML -> a validated, expanded prompt list.
 *
 * `attnsweep run sweep.yaml` starts here. Rank 0 calls as_sweep_load(), which
 *   1. fills the struct with the defaults (as_sweep_defaults: the ONE place
 *      where defaults live),
 *   2. reads the YAML with libyaml (event API) into a small node tree that
 *      keeps every line/column, refusing syntax errors, duplicate keys, deep
 *      nesting and oversized input,
 *   3. lets the YAML override the defaults (keys mirror the field names:
 *      model.path -> model_path, output.store -> store, ...), rejecting
 *      unknown keys and wrong types,
 *   4. expands every group into prompts: `prompts:` templates, `template:` x
 *      `product:` cartesian expansion, or a `file:` of JSONL / plain text,
 *   5. resolves an explicit rank assignment,
 *   6. applies the command-line overrides (--model, --output),
 *   7. runs as_sweep_validate(), the ONE semantic validation pass.
 * Nothing here touches MPI, HDF5 or the model: the module is pure and can be
 * tested alone. docs/SWEEP.md is the user-facing contract of the YAML.
 *
 * Every error message starts with "<file>:<line>:<col>: " (1-based libyaml
 * marks of the offending node) or "<prompt file>:<line>:<col>: ", says what
 * was found and what was expected, and often ends with a HINT.
 *
 * Ownership: struct as_sweep owns everything it points to. Strings of
 * prompts, groups and spans live in one internal arena (stable pointers,
 * freed at once by as_sweep_free). Treat the struct as read-only after load,
 * except for the scalar settings (paths, store, dtype, assign), which a caller
 * may change and then re-check with as_sweep_validate(). */
#ifndef ATTNSWEEP_SWEEP_H
#define ATTNSWEEP_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "attnsweep/analysis.h"
#include "attnsweep/model.h"
#include "attnsweep/status.h"
#include "attnsweep/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits (malicious or mistaken input is refused, never crashes) ------ */
#define AS_SWEEP_PATH_MAX       4096
#define AS_SWEEP_MAX_PROMPTS    10000000LL     /* after all expansion, every group together */
#define AS_SWEEP_MAX_TEXT_BYTES (1024LL << 20) /* ids + texts of every prompt: 1 GiB */
#define AS_SWEEP_MAX_YAML_BYTES (64LL << 20)   /* the sweep YAML itself */
#define AS_SWEEP_MAX_FILE_BYTES (1024LL << 20) /* one `file:` of prompts */
#define AS_SWEEP_MAX_DEPTH      64             /* YAML nesting depth */
#define AS_SWEEP_MAX_NODES      4000000        /* YAML nodes (scalars + lists + maps) */
#define AS_SWEEP_NAME_MAX       200 /* a group or variant name is shorter than this (bytes) */
#define AS_SWEEP_ID_MAX                                                                            \
    256 /* a full id "<group>/<variant>" is shorter than this (== AS_H5_ID_MAX) */
#define AS_SWEEP_VAR_MAX        63 /* bytes of a variable name (and so of a metadata column name) */
#define AS_SWEEP_MAX_COLUMNS    256         /* metadata columns (distinct keys) of a sweep */
#define AS_SWEEP_MAX_CELLS      (1LL << 26) /* metadata columns x prompts */
#define AS_SWEEP_MAX_SPANS      64          /* spans of one group */
#define AS_SWEEP_MAX_NEW_TOKENS 4096        /* generate.max_new_tokens */
#define AS_SWEEP_MAX_STOPS      16          /* generate.stop strings */
#define AS_SWEEP_STOP_MAX       256         /* bytes of one stop string */

/* How prompts are distributed over MPI ranks (ranks.assign). */
enum as_assign {
    AS_ASSIGN_BALANCED = 0,    /* longest-processing-time first on a FLOP cost model (plan.h) */
    AS_ASSIGN_ROUND_ROBIN = 1, /* prompt i -> rank i % n_ranks */
    AS_ASSIGN_EXPLICIT = 2     /* ranks.explicit lists the prompts of each rank */
};

/* What to do with a prompt longer than the model's max_position (model.on_too_long). */
enum as_too_long {
    AS_TOO_LONG_ERROR = 0,   /* refuse the sweep before any compute, listing every such prompt */
    AS_TOO_LONG_SKIP = 1,    /* do not compute it: /sweep/status "skipped", not an error */
    AS_TOO_LONG_TRUNCATE = 2 /* keep its first max_position tokens (HF truncation_side="right") */
};

/* How a group defines its prompts. */
enum as_group_source {
    AS_GROUP_PROMPTS = 0,  /* prompts: {variant: template, ...} (optionally x product:) */
    AS_GROUP_TEMPLATE = 1, /* template: "..." x product: {...} */
    AS_GROUP_FILE = 2      /* file: prompts.jsonl | prompts.txt (texts used verbatim) */
};

/* A 1-based position in the sweep YAML; line == 0 means "not from the YAML"
 * (a default or a command-line override). */
struct as_sweep_mark {
    int line, col;
};

struct as_sweep_prompt {
    char *id;            /* "<group>/<variant>": exactly one '/', unique in the sweep */
    const char *group;   /* == groups[group_index].name */
    const char *variant; /* == id + strlen(group) + 1 */
    char *text;          /* (text_len) UTF-8, NUL-terminated, non-empty, no NUL inside: what the
                            model reads, i.e. the chat-templated text when the group has a chat
                            template (docs/SWEEP.md "Chat prompts") */
    size_t text_len;
    size_t prompt_start; /* the user's prompt is text[prompt_start .. prompt_start + prompt_len); */
    size_t prompt_len;   /* 0 and text_len without a chat template. Spans are found in it */
    int group_index;
    struct as_sweep_mark mark; /* where the YAML defines it: its prompts: entry, or the
                                  group's template: / file: value */
    int64_t file_line;         /* 1-based line in the group's file (file groups), else 0 */
    int explicit_rank;         /* rank from ranks.explicit, -1 when not assigned explicitly */
    struct as_sweep_mark assign_mark; /* the ranks.explicit list item that assigned it */
};

/* A named substring of the group's prompts, for the reduce stage: a `spans:`
 * template of the group (over its vars, product keys and JSONL fields), or a
 * span a JSONL line gives itself ("spans": {...}). Every span occurs in at
 * least one prompt of the group (checked at load). Use as_sweep_span_text()
 * for a prompt's text of the span and as_sweep_span_find() to locate it. */
struct as_sweep_span_text {
    const char *text; /* (len) non-empty, or NULL: the prompt has no value for the span */
    size_t len;
};
struct as_sweep_span {
    char *name; /* valid HDF5 link name, unique in the group */
    char *text; /* (text_len) the text when it is the same in every prompt, else NULL */
    size_t text_len;
    struct as_sweep_span_text *texts; /* (group n_prompts) when text == NULL: the text of
                                         prompt first_prompt + k is texts[k] */
    struct as_sweep_mark mark;        /* the spans: entry, or the group's file: value */
};

/* Greedy generation after the prompt (docs/SWEEP.md "Generation"): the
 * top level's generate: mapping, with a group's own keys applied over it. */
struct as_sweep_generate {
    int max_new_tokens; /* 0 = the group does not generate */
    char **stop;        /* (n_stop) non-empty stop strings (EOS always stops) */
    int n_stop;
    char *answer_regex;        /* POSIX ERE for the answer span, NULL = the last number */
    struct as_sweep_mark mark; /* the generate: value that set max_new_tokens */
};

struct as_sweep_group {
    char *name;                /* valid HDF5 link name (no '/'), unique in the sweep */
    struct as_sweep_mark mark; /* of the group's list item */
    enum as_group_source source;
    char *file;                  /* the resolved path of `file:` (AS_GROUP_FILE), else NULL */
    int64_t n_product;           /* product combinations per template (1 without product:) */
    struct as_sweep_span *spans; /* (n_spans) */
    int n_spans;
    int64_t first_prompt; /* prompts[first_prompt .. first_prompt + n_prompts) */
    int64_t n_prompts;
    char *chat; /* the group's chat template with {system} filled in ("...{prompt}..."; `{{` and
                   `}}` already turned into braces), or NULL: prompts are fed raw */
    struct as_sweep_generate gen; /* greedy generation (max_new_tokens 0: none) */
};

/* The type of a metadata column (docs/SWEEP.md "Metadata"), decided over all
 * prompts once every group is expanded. */
enum as_sweep_col_type {
    AS_SWEEP_COL_BOOL = 0,  /* cells[i].i: 0 false, 1 true, -1 missing; /sweep: int8 + flags */
    AS_SWEEP_COL_INT = 1,   /* cells[i].i; no prompt misses it (else the column is FLOAT) */
    AS_SWEEP_COL_FLOAT = 2, /* cells[i].f, NaN = missing */
    AS_SWEEP_COL_STRING = 3 /* cells[i].i: index into strs, -1 = missing ("" in the file) */
};

union as_sweep_cell {
    int64_t i;
    double f;
};

/* One typed metadata column: a JSONL field, a group tag, a product key or a
 * var, with one cell per prompt (docs/SWEEP.md "Metadata"). */
/* Largest output.topk the YAML may ask for (it must also be <= the model's vocab_size). */
#define AS_SWEEP_TOPK_MAX 1000000

struct as_sweep_column {
    char *name; /* a variable name (sw rules), unique, never a built-in /sweep column */
    enum as_sweep_col_type type;
    int64_t n_missing;          /* prompts without a value */
    struct as_sweep_mark mark;  /* its first definition in the YAML (for a JSONL field: the
                                   file: of the first group that has it) */
    union as_sweep_cell *cells; /* (n_prompts) */
    char **strs;                /* (n_strs) AS_SWEEP_COL_STRING: distinct values, first use first */
    int64_t n_strs;
    size_t width; /* AS_SWEEP_COL_STRING: bytes of the longest value (>= 1) */
};

/* Where each setting came from, for as_sweep_print and error messages. */
struct as_sweep_marks {
    struct as_sweep_mark model_path, tokenizer_path, output_path, store, dtype, layers, heads,
        assign, explicit_, keywords, groups, analysis, on_too_long;
};

/* Bits of as_sweep.overridden: which settings came from the command line. */
enum { AS_SWEEP_OV_MODEL = 1, AS_SWEEP_OV_TOKENIZER = 2, AS_SWEEP_OV_OUTPUT = 4 };

struct as_sweep {
    char path[AS_SWEEP_PATH_MAX];     /* the YAML's name as used in messages */
    char base_dir[AS_SWEEP_PATH_MAX]; /* the folder `file:` paths are relative to */
    char *yaml;                       /* (yaml_len) the YAML bytes exactly as read (+ a NUL) */
    size_t yaml_len;
    char sha256[65]; /* lowercase hex SHA-256 of yaml[0 .. yaml_len) */

    /* model: (paths relative to the current working directory) */
    char model_path[AS_SWEEP_PATH_MAX];     /* HF directory or llama2.c .bin */
    char tokenizer_path[AS_SWEEP_PATH_MAX]; /* "" = the model's own tokenizer */
    enum as_too_long on_too_long;           /* prompts longer than max_position */

    /* output: */
    char output_path[AS_SWEEP_PATH_MAX]; /* the HDF5 file; its folder must exist */
    enum as_store store;                 /* full, last_row, none (store.h) */
    enum as_out_dtype dtype;             /* float32, float16 (store.h) */
    int *layers; /* (n_layers) layer subset in the given order; NULL/0 = all layers */
    int n_layers;
    int *heads; /* (n_heads) head subset in the given order; NULL/0 = all heads */
    int n_heads;
    enum as_store_weights weights; /* probs, norms, both (store.h); norms forces store none */
    int scores; /* 1: also store the pre-softmax scores (needs store full/last_row) */
    int topk;   /* output.topk: k of /behaviour's next-token top-k; 0 = min(10, vocab_size) */
    int logits; /* output.logits: 1 = store /behaviour/logits (the last position's) */
    struct as_sweep_mark topk_mark, logits_mark;

    /* ranks: */
    enum as_assign assign;

    /* groups: */
    struct as_sweep_group *groups; /* (n_groups) in YAML order */
    int n_groups;
    struct as_sweep_prompt *prompts; /* (n_prompts) group by group, in expansion order */
    int64_t n_prompts;
    size_t text_bytes;               /* sum of id and text lengths */
    struct as_sweep_column *columns; /* (n_columns) metadata, in order of first definition */
    int n_columns;

    /* analysis: */
    char **keywords; /* (n_keywords) non-empty, unique */
    int n_keywords;
    struct as_analysis analysis; /* analysis.by, contrasts, bootstrap (analysis.h) */

    struct as_sweep_marks marks;
    unsigned overridden; /* AS_SWEEP_OV_* bits */
    void *internal;      /* string arena (private) */
};

/* Command-line overrides, applied after the YAML and before validation.
 * NULL fields leave the YAML's (or the default) value. */
struct as_sweep_overrides {
    const char *model_path;     /* --model */
    const char *tokenizer_path; /* --tokenizer */
    const char *output_path;    /* --output */
};

/* The ONE place defaults live: zeroes s and sets
 *   model_path "models/default", tokenizer_path "" (the model's own),
 *   output_path "" (= "results/<YAML file stem>.h5", resolved at load),
 *   on_too_long error, store full, dtype float32, all layers, all heads, assign balanced,
 *   no groups, no keywords, and the analysis defaults (as_analysis_defaults)
 *   with by = {"group"} (a static string, not in the arena). */
void as_sweep_defaults(struct as_sweep *s);

/* Reads, parses, expands and validates the sweep at path (the YAML's folder
 * is the base of `file:` paths). ov may be NULL. On failure s is left freed
 * (as_sweep_free is still safe to call). */
as_status as_sweep_load(struct as_sweep *s, const char *path, const struct as_sweep_overrides *ov,
                        struct as_err *err);
/* Same from memory: name is used in messages (and for the default output
 * name), base_dir for `file:` paths (NULL or "" = current directory). */
as_status as_sweep_load_string(struct as_sweep *s, const char *yaml, size_t len, const char *name,
                               const char *base_dir, const struct as_sweep_overrides *ov,
                               struct as_err *err);
void as_sweep_free(struct as_sweep *s);

/* The semantic validation pass (run by load; re-run it after changing a
 * setting): non-empty model/output paths, the output folder exists, store /
 * dtype in range, layers / heads non-negative and unique, at least one
 * prompt, ids valid and unique, every prompt assigned under explicit
 * assignment, size limits. */
as_status as_sweep_validate(const struct as_sweep *s, struct as_err *err);

/* Checks the sweep against the number of MPI ranks: n_ranks >= 1 and, for
 * explicit assignment, every assigned rank < n_ranks. */
as_status as_sweep_check_ranks(const struct as_sweep *s, int n_ranks, struct as_err *err);

/* Checks the sweep against the model: layer / head subsets within range. */
as_status as_sweep_check_model(const struct as_sweep *s, const struct as_config *cfg,
                               struct as_err *err);

/* Prints the effective configuration (every setting and where it came from,
 * then one line per group). */
void as_sweep_print(const struct as_sweep *s, FILE *fp);

/* Index of the prompt with this id, or -1 (linear search). */
int64_t as_sweep_find_prompt(const struct as_sweep *s, const char *id);

/* Formats where prompt i was defined: "jobs/x.yaml:12:7" or
 * "data/p.jsonl:1041 (jobs/x.yaml:20:11)". Returns out. */
const char *as_sweep_prompt_where(const struct as_sweep *s, int64_t i, char *out, size_t cap);

/* Prompt i's text of span `span` of its group: returns 1 and sets *text /
 * *len, or returns 0 when the prompt has no value for it (a JSONL line without
 * that span or without a field its template uses) or the indices are out of
 * range. The text need not occur in the prompt: use as_sweep_span_find. */
int as_sweep_span_text(const struct as_sweep *s, int64_t i, int span, const char **text,
                       size_t *len);
/* Locates span `span` of prompt i's group in prompt i's text: on success
 * returns 1 and the byte range [*begin, *end) of the first occurrence inside
 * the user's prompt (text[prompt_start .. prompt_start + prompt_len), never
 * the chat template), as offsets into the whole text; returns
 * 0 when the span is absent from this prompt (no text, or its text does not
 * occur; or the indices are out of range). O(text). */
int as_sweep_span_find(const struct as_sweep *s, int64_t i, int span, size_t *begin, size_t *end);

/* Serializes everything (settings, YAML bytes, groups, spans, prompts) into
 * one malloc'd buffer, so rank 0 can broadcast a loaded sweep and the other
 * ranks never read the YAML or prompt files. free(*buf) when done. */
as_status as_sweep_pack(const struct as_sweep *s, void **buf, size_t *len, struct as_err *err);
/* Rebuilds a sweep from as_sweep_pack's buffer (bounds-checked: a truncated
 * or corrupt buffer gives AS_ERR_FORMAT, never an out-of-bounds read). */
as_status as_sweep_unpack(struct as_sweep *s, const void *buf, size_t len, struct as_err *err);

/* 1 if some group generates (generate.max_new_tokens > 0). */
int as_sweep_generates(const struct as_sweep *s);

/* Index of the metadata column called name, or -1. */
int as_sweep_column_find(const struct as_sweep *s, const char *name);
/* 1 if name is a built-in /sweep column of docs/FORMAT.md (prompt, group,
 * variant, status, ...), which no metadata key may use. */
int as_sweep_column_reserved(const char *name);
/* "bool", "int64", "float64" or "string". */
const char *as_sweep_col_type_name(enum as_sweep_col_type t);
/* Prompt i's value of column col as text: "true" / "false", the integer, the
 * shortest round-trip float ("nan" when missing), the string ("" when missing;
 * a missing bool is "" too). Returns out, or the string itself (no copy). */
const char *as_sweep_cell_text(const struct as_sweep *s, int col, int64_t i, char *out, size_t cap);

/* Names of enum values, for printing. */
const char *as_assign_name(enum as_assign a);
int as_assign_from_name(const char *name);        /* -1 if unknown */
const char *as_too_long_name(enum as_too_long t); /* "error", "skip", "truncate" */
int as_too_long_from_name(const char *name);      /* -1 if unknown */

/* SHA-256 of data[0..n) as 64 lowercase hex digits + NUL (OpenSSL libcrypto). */
void as_sha256_hex(const void *data, size_t n, char out[65]);

#ifdef __cplusplus
}
#endif
#endif
