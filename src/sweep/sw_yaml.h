/* sw_yaml.h - the YAML document of a sweep as a small node tree that keeps
 * every line:column (yaml_tree.c), the generic helpers that walk it, and the
 * one error formatter every message of the sweep goes through. Depends only
 * on sw_arena.h: no knowledge of the sweep's schema. */
#ifndef ATTNSWEEP_SW_YAML_H
#define ATTNSWEEP_SW_YAML_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/status.h"
#include "sw_arena.h"

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
    const char *name;   /* the document's name in messages (not owned; outlives the tree) */
    struct as_err *err; /* where sw_errf reports (not owned) */
};

/* Parses yaml with libyaml's event API. name prefixes error messages, and t
 * keeps name and err for sw_errf. */
as_status sw_tree_parse(struct sw_tree *t, const char *yaml, size_t len, const char *name,
                        struct as_err *err);
void sw_tree_free(struct sw_tree *t);

/* Records "name:line:col: <message>" at node (or "name: <message>" if node < 0)
 * in t->err and returns st. */
as_status sw_errf(const struct sw_tree *t, int32_t node, as_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "name: out of memory", AS_ERR_NOMEM. */
as_status sw_oom(const struct sw_tree *t);

const char *sw_kind_name(const struct sw_node *n); /* "a mapping", "a list", "a scalar", "null" */
int sw_is_null(const struct sw_node *n);
/* Requires node to be a mapping with scalar keys in `allowed` (NULL-terminated);
 * what = "group 'x'" etc. for messages (with a "did you mean" hint). */
as_status sw_check_map(const struct sw_tree *t, int32_t node, const char *what,
                       const char *const *allowed);
/* Value node of key in map, or -1. */
int32_t sw_map_get(const struct sw_tree *t, int32_t map, const char *key);
/* Requires a non-null scalar; *out points into the tree. */
as_status sw_get_str(const struct sw_tree *t, int32_t node, const char *what, const char **out,
                     size_t *len);
as_status sw_get_int(const struct sw_tree *t, int32_t node, const char *what, long long lo,
                     long long hi, long long *out);
/* Levenshtein distance, 99 for strings longer than 40 bytes (for hints). */
int sw_edit_distance(const char *a, const char *b);

/* The type a scalar has as a metadata value (docs/SWEEP.md "Metadata"): null
 * (plain ~, null, empty), bool (plain true/false, any case), int (plain
 * decimal that fits int64, no leading zeros), float (plain decimal with a
 * '.' or an exponent, or .inf / .nan), else string (every quoted scalar too). */
enum sw_scalar { SW_S_NULL = 0, SW_S_BOOL = 1, SW_S_INT = 2, SW_S_FLOAT = 3, SW_S_STRING = 4 };
enum sw_scalar sw_scalar_type(const struct sw_node *n, int64_t *i, double *f);

#endif
