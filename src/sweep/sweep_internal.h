/* sweep_internal.h - shared by the files of src/sweep/ only.
 *
 *   arena.c       string arena (stable pointers, freed at once) + growable byte buffer
 *   yaml_tree.c   libyaml events -> struct sw_tree (marks, depth/size caps, duplicate keys)
 *   sweep_parse.c the YAML schema: sections, keys, types -> struct as_sweep settings
 *   template.c    {var} templates: compile once, render many times
 *   expand.c      groups -> prompts (prompts:, template: x product:, file:), spans
 *   prompt_file.c file: groups (JSONL / plain text)
 *   sweep.c       load, validate, explicit ranks, print, lookups, SHA-256
 *   pack.c        serialization for the MPI broadcast */
#ifndef ATTNSWEEP_SWEEP_INTERNAL_H
#define ATTNSWEEP_SWEEP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/status.h"
#include "attnsweep/sweep.h"

/* ---------------------------------------------------------------- arena */
struct sw_arena_block;
struct sw_arena {
    struct sw_arena_block *head;
    size_t bytes; /* total bytes handed out */
};
/* Returns n bytes aligned to 8, or NULL when out of memory. */
void *sw_arena_alloc(struct sw_arena *a, size_t n);
/* Copies s[0..n) and appends a NUL. */
char *sw_arena_strndup(struct sw_arena *a, const char *s, size_t n);
void sw_arena_free(struct sw_arena *a);

struct sw_buf {
    char *p; /* (len) + NUL, owned */
    size_t len, cap;
};
int sw_buf_add(struct sw_buf *b, const void *p, size_t n); /* 0 on OOM */
void sw_buf_free(struct sw_buf *b);

/* ---------------------------------------------------------------- YAML tree */
enum sw_kind { SW_SCALAR = 1, SW_SEQ = 2, SW_MAP = 3 };

struct sw_node {
    enum sw_kind kind;
    int line, col; /* 1-based */
    int plain;     /* scalar written without quotes (so `null`, `~`, `` are null) */
    char *str;     /* scalar text (NUL-terminated, no NUL inside), in the tree arena */
    size_t len;
    int32_t *kids; /* SEQ: items; MAP: key, value, key, value, ... (node indices) */
    int32_t n, cap;
};

struct sw_tree {
    struct sw_node *nodes; /* (n) */
    int32_t n, cap;
    int32_t root; /* -1 for an empty document */
    struct sw_arena strings;
};

/* Parses yaml with libyaml's event API. name prefixes error messages. */
as_status sw_tree_parse(struct sw_tree *t, const char *yaml, size_t len, const char *name,
                        struct as_err *err);
void sw_tree_free(struct sw_tree *t);

/* ---------------------------------------------------------------- load context */
struct sw_ctx {
    struct as_sweep *s;
    struct sw_tree *t;
    struct sw_arena *arena; /* == s->internal */
    struct as_err *err;
    int32_t groups_node;   /* the `groups:` list, or -1 */
    int32_t explicit_node; /* ranks.explicit, or -1 */
    int has_output_path;   /* output.path given in the YAML */
    int64_t prompts_cap;   /* allocated length of s->prompts */
};

/* Records "name:line:col: <message>" at node (or without position if node < 0). */
as_status sw_errf(struct sw_ctx *c, int32_t node, as_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

const char *sw_kind_name(const struct sw_node *n); /* "a mapping", "a list", "a string", "null" */
int sw_is_null(const struct sw_node *n);
/* Requires node to be a mapping with scalar keys in `allowed` (NULL-terminated);
 * what = "group 'x'" etc. for messages. */
as_status sw_check_map(struct sw_ctx *c, int32_t node, const char *what,
                       const char *const *allowed);
/* Value node of key in map, or -1. */
int32_t sw_map_get(const struct sw_tree *t, int32_t map, const char *key);
/* Requires a non-null scalar; *out points into the tree. */
as_status sw_get_str(struct sw_ctx *c, int32_t node, const char *what, const char **out,
                     size_t *len);
as_status sw_get_int(struct sw_ctx *c, int32_t node, const char *what, long long lo, long long hi,
                     long long *out);

/* Checks a group / variant / span name: the rules of an HDF5 link name
 * (not empty, not "." or "..", no '/', no control characters, valid UTF-8,
 * < AS_SWEEP_NAME_MAX bytes). Returns NULL if fine, else what is wrong. */
const char *sw_name_problem(const char *s, size_t len);
/* 1 if s[0..n) is valid UTF-8; else 0 and *bad = offset of the first bad byte. */
int sw_utf8_valid(const char *s, size_t n, size_t *bad);

/* ---------------------------------------------------------------- templates */
struct sw_vars {
    const char **names; /* (n) */
    const char **vals;  /* (n) current values */
    size_t *lens;       /* (n) */
    int n;
};
struct sw_seg {
    const char *lit; /* literal text (when var < 0) */
    size_t len;
    int var; /* index into sw_vars, or -1 */
};
struct sw_template {
    struct sw_seg *segs; /* (n) */
    int n;
    size_t lit_len;  /* bytes of literal text */
    char *unescaped; /* owned copy of the literals with {{ }} collapsed */
};
/* 1 if s[0..len) is a valid variable name: [A-Za-z_][A-Za-z0-9_]*, at most 64 bytes. */
int sw_valid_var_name(const char *s, size_t len);
/* Compiles tpl against the variable names of v. what = "group 'g', prompt 'p'"
 * for messages; node gives the position. Errors: unknown {var} (lists the known
 * ones), unterminated '{', single '}', bad placeholder names. */
as_status sw_template_compile(struct sw_ctx *c, int32_t node, const char *what, const char *tpl,
                              size_t len, const struct sw_vars *v, struct sw_template *out);
/* Appends the rendering to b (resets b first). Returns 0 on OOM. */
int sw_template_render(const struct sw_template *t, const struct sw_vars *v, struct sw_buf *b);
void sw_template_free(struct sw_template *t);

/* ---------------------------------------------------------------- expansion */
as_status sw_parse_settings(struct sw_ctx *c); /* model, output, ranks.assign, analysis */
as_status sw_expand_groups(struct sw_ctx *c);  /* groups -> prompts */

/* Appends one prompt (copies id parts and text into the arena). variant may be
 * NULL (filled later by sw_fill_default_ids). Checks limits and names. */
as_status sw_add_prompt(struct sw_ctx *c, int g, const char *variant, size_t vlen, const char *text,
                        size_t tlen, int32_t node, int64_t file_line);
/* Gives every prompt of group g without a variant the zero-padded index
 * (ordinal within the group, width max(4, digits(n - 1))). */
as_status sw_fill_default_ids(struct sw_ctx *c, int g, int32_t node);
/* Formats the zero-padded index used for default ids. */
void sw_format_index(char *out, size_t cap, int64_t i, int64_t n);

/* file: groups. path is resolved; node is the file: value (for messages). */
as_status sw_read_prompt_file(struct sw_ctx *c, int g, const char *path, int32_t node);

/* An open-addressing id -> prompt index table. */
struct sw_index {
    int32_t *slots; /* (cap) prompt index + 1, 0 = empty */
    size_t cap;
};
/* Builds the table; a duplicate id gives an error naming both definitions. */
as_status sw_index_build(const struct as_sweep *s, struct sw_index *ix, struct as_err *err);
int64_t sw_index_find(const struct as_sweep *s, const struct sw_index *ix, const char *id,
                      size_t len);
void sw_index_free(struct sw_index *ix);

/* ranks.explicit -> prompts[].explicit_rank (names are looked up in ix). */
as_status sw_resolve_explicit(struct sw_ctx *c, const struct sw_index *ix);

#endif
