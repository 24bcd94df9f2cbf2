/* yaml_tree.c - libyaml events -> a small node tree that keeps every mark,
 * the generic helpers that walk the tree, and the error formatter (sw_yaml.h).
 *
 * libyaml's event API does the parsing; this file only builds nodes from the
 * events, so that the schema code (sweep_parse.c, expand.c, ...) can walk maps
 * in any order and still point at line:column. While building it refuses what a
 * schema walker should never see: more than one document, nesting deeper
 * than AS_SWEEP_MAX_DEPTH, more than AS_SWEEP_MAX_NODES nodes, duplicate keys
 * in any mapping, non-scalar keys, NUL characters in strings, and aliases to
 * unknown anchors. Aliases are shared (not copied), so "billion laughs"
 * input costs nothing; an anchor is registered when its node is complete, so
 * a node cannot contain itself and the tree has no cycles. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "attnsweep/sweep.h"
#include "sw_yaml.h"

#define SW_MAX_ANCHORS 1000

struct anchor {
    const char *name;
    int32_t node;
};

struct builder {
    struct sw_tree *t;
    const char *name;
    struct as_err *err;
    int32_t stack[AS_SWEEP_MAX_DEPTH + 1];
    int depth;
    struct anchor anchors[SW_MAX_ANCHORS];
    int n_anchors;
    const char *pending_anchor[AS_SWEEP_MAX_DEPTH + 1]; /* anchor of each open container */
};

static as_status tree_err(struct builder *b, int line, int col, as_status st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static as_status tree_err(struct builder *b, int line, int col, as_status st, const char *fmt,
                          ...) {
    char msg[AS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return as_err_set(b->err, st, "%s:%d:%d: %s", b->name, line, col, msg);
}

static int32_t node_new(struct builder *b, enum sw_kind kind, const yaml_mark_t *m) {
    struct sw_tree *t = b->t;
    if (t->n >= AS_SWEEP_MAX_NODES) return -2;
    if (t->n == t->cap) {
        int32_t cap = t->cap ? t->cap * 2 : 64;
        if (cap > AS_SWEEP_MAX_NODES) cap = AS_SWEEP_MAX_NODES;
        struct sw_node *p = realloc(t->nodes, (size_t)cap * sizeof *p);
        if (!p) return -1;
        t->nodes = p;
        t->cap = cap;
    }
    struct sw_node *n = &t->nodes[t->n];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return t->n++;
}

static int kid_add(struct sw_tree *t, int32_t parent, int32_t kid) {
    struct sw_node *p = &t->nodes[parent];
    if (p->n == p->cap) {
        int32_t cap = p->cap ? p->cap * 2 : 4;
        int32_t *k = realloc(p->kids, (size_t)cap * sizeof *k);
        if (!k) return 0;
        p->kids = k;
        p->cap = cap;
    }
    p->kids[p->n++] = kid;
    return 1;
}

/* Hooks a finished node (or an alias target) under the open container. */
static as_status attach(struct builder *b, int32_t node, const yaml_mark_t *m) {
    if (b->depth == 0) {
        if (b->t->root >= 0)
            return tree_err(b, (int)m->line + 1, (int)m->column + 1, AS_ERR_FORMAT,
                            "more than one root node; expected one mapping");
        b->t->root = node;
        return AS_OK;
    }
    if (!kid_add(b->t, b->stack[b->depth - 1], node))
        return as_err_set(b->err, AS_ERR_NOMEM, "%s: out of memory while parsing YAML", b->name);
    return AS_OK;
}

static as_status anchor_add(struct builder *b, const char *name, int32_t node,
                            const yaml_mark_t *m) {
    if (!name) return AS_OK;
    if (b->n_anchors >= SW_MAX_ANCHORS)
        return tree_err(b, (int)m->line + 1, (int)m->column + 1, AS_ERR_INVALID,
                        "more than %d anchors (&name); expected fewer", SW_MAX_ANCHORS);
    const char *copy = sw_arena_strndup(&b->t->strings, name, strlen(name));
    if (!copy)
        return as_err_set(b->err, AS_ERR_NOMEM, "%s: out of memory while parsing YAML", b->name);
    b->anchors[b->n_anchors].name = copy;
    b->anchors[b->n_anchors].node = node;
    b->n_anchors++;
    return AS_OK;
}

static int32_t anchor_find(const struct builder *b, const char *name) {
    for (int i = b->n_anchors - 1; i >= 0; i--)
        if (!strcmp(b->anchors[i].name, name)) return b->anchors[i].node;
    return -1;
}

struct keyref {
    const char *s;
    size_t len;
    int32_t node;
    int32_t pos; /* order in the mapping */
};

static int keyref_cmp(const void *pa, const void *pb) {
    const struct keyref *a = pa, *b = pb;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    int c = memcmp(a->s, b->s, a->len);
    if (c) return c;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Every key of a finished mapping must be a scalar, and unique. */
static as_status map_check(struct builder *b, int32_t map) {
    struct sw_tree *t = b->t;
    const struct sw_node *m = &t->nodes[map];
    int32_t n = m->n / 2;
    for (int32_t i = 0; i < n; i++) {
        const struct sw_node *k = &t->nodes[m->kids[2 * i]];
        if (k->kind != SW_SCALAR)
            return tree_err(b, k->line, k->col, AS_ERR_INVALID,
                            "a mapping key is %s; expected a plain name", sw_kind_name(k));
    }
    if (n < 2) return AS_OK;
    struct keyref *keys = malloc((size_t)n * sizeof *keys);
    if (!keys) return as_err_set(b->err, AS_ERR_NOMEM, "%s: out of memory", b->name);
    for (int32_t i = 0; i < n; i++) {
        const struct sw_node *k = &t->nodes[m->kids[2 * i]];
        keys[i] = (struct keyref){k->str, k->len, m->kids[2 * i], i};
    }
    qsort(keys, (size_t)n, sizeof *keys, keyref_cmp);
    /* report the duplicate whose second occurrence comes first in the file */
    int32_t best = -1;
    for (int32_t i = 1; i < n; i++)
        if (keys[i].len == keys[i - 1].len && !memcmp(keys[i].s, keys[i - 1].s, keys[i].len) &&
            (best < 0 || keys[i].pos < keys[best].pos))
            best = i;
    as_status ret = AS_OK;
    if (best >= 0) {
        /* the first occurrence of this key is the first of its run */
        int32_t first = best;
        while (first > 0 && keys[first - 1].len == keys[best].len &&
               !memcmp(keys[first - 1].s, keys[best].s, keys[best].len))
            first--;
        const struct sw_node *k2 = &t->nodes[keys[best].node];
        const struct sw_node *k1 = &t->nodes[keys[first].node];
        ret = tree_err(b, k2->line, k2->col, AS_ERR_INVALID,
                       "duplicate key '%.100s' (first defined at %d:%d); expected each key once",
                       k2->str, k1->line, k1->col);
    }
    free(keys);
    return ret;
}

static as_status on_event(struct builder *b, const yaml_event_t *ev, int *docs) {
    const yaml_mark_t *m = &ev->start_mark;
    int line = (int)m->line + 1, col = (int)m->column + 1;
    struct sw_tree *t = b->t;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++*docs > 1)
            return tree_err(b, line, col, AS_ERR_FORMAT,
                            "a second YAML document ('---'); expected exactly one document");
        return AS_OK;
    case YAML_SCALAR_EVENT: {
        const char *v = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (memchr(v, '\0', len))
            return tree_err(b, line, col, AS_ERR_INVALID,
                            "a string contains a NUL character; expected text without NUL");
        int32_t id = node_new(b, SW_SCALAR, m);
        if (id == -2)
            return tree_err(b, line, col, AS_ERR_INVALID,
                            "more than %d YAML nodes; expected a smaller sweep. HINT: put large "
                            "prompt lists in a `file:`",
                            AS_SWEEP_MAX_NODES);
        if (id < 0) return as_err_set(b->err, AS_ERR_NOMEM, "%s: out of memory", b->name);
        struct sw_node *n = &t->nodes[id];
        n->str = sw_arena_strndup(&t->strings, v, len);
        if (!n->str) return as_err_set(b->err, AS_ERR_NOMEM, "%s: out of memory", b->name);
        n->len = len;
        const char *tag = (const char *)ev->data.scalar.tag;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                   (!tag || !strcmp(tag, "tag:yaml.org,2002:null"));
        as_status ret = anchor_add(b, (const char *)ev->data.scalar.anchor, id, m);
        if (ret != AS_OK) return ret;
        return attach(b, id, m);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (b->depth >= AS_SWEEP_MAX_DEPTH)
            return tree_err(b, line, col, AS_ERR_INVALID,
                            "YAML nested deeper than %d levels; expected a shallow sweep "
                            "description",
                            AS_SWEEP_MAX_DEPTH);
        int seq = ev->type == YAML_SEQUENCE_START_EVENT;
        int32_t id = node_new(b, seq ? SW_SEQ : SW_MAP, m);
        if (id == -2)
            return tree_err(b, line, col, AS_ERR_INVALID,
                            "more than %d YAML nodes; expected a smaller sweep",
                            AS_SWEEP_MAX_NODES);
        if (id < 0) return as_err_set(b->err, AS_ERR_NOMEM, "%s: out of memory", b->name);
        as_status ret = attach(b, id, m);
        if (ret != AS_OK) return ret;
        const char *anchor = seq ? (const char *)ev->data.sequence_start.anchor
                                 : (const char *)ev->data.mapping_start.anchor;
        b->pending_anchor[b->depth] = NULL;
        if (anchor) {
            b->pending_anchor[b->depth] = sw_arena_strndup(&t->strings, anchor, strlen(anchor));
            if (!b->pending_anchor[b->depth])
                return as_err_set(b->err, AS_ERR_NOMEM, "%s: out of memory", b->name);
        }
        b->stack[b->depth++] = id;
        return AS_OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        if (b->depth <= 0)
            return as_err_set(b->err, AS_ERR_INTERNAL, "%s: unbalanced YAML events", b->name);
        int32_t id = b->stack[--b->depth];
        if (ev->type == YAML_MAPPING_END_EVENT) {
            as_status ret = map_check(b, id);
            if (ret != AS_OK) return ret;
        }
        const char *anchor = b->pending_anchor[b->depth];
        return anchor ? anchor_add(b, anchor, id, m) : AS_OK;
    }
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        int32_t target = anchor_find(b, name);
        if (target < 0)
            return tree_err(b, line, col, AS_ERR_INVALID,
                            "alias '*%.100s' refers to no complete anchor '&%.100s' defined "
                            "before it; expected a known anchor",
                            name, name);
        return attach(b, target, m);
    }
    default: return AS_OK;
    }
}

/* Line and column (1-based) of byte offset off, for reader errors that
 * only report an offset. */
static void offset_to_mark(const char *s, size_t len, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)s[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

as_status sw_tree_parse(struct sw_tree *t, const char *yaml, size_t len, const char *name,
                        struct as_err *err) {
    as_status ret = AS_OK;
    memset(t, 0, sizeof *t);
    t->root = -1;
    t->name = name;
    t->err = err;
    struct builder *b = calloc(1, sizeof *b);
    if (!b) return as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", name);
    b->t = t;
    b->name = name;
    b->err = err;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        free(b);
        return as_err_set(err, AS_ERR_NOMEM, "%s: cannot initialize the YAML parser", name);
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
    int docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            int line, col;
            if (p.error == YAML_READER_ERROR) {
                offset_to_mark(yaml, len, p.problem_offset, &line, &col);
            } else {
                line = (int)p.problem_mark.line + 1;
                col = (int)p.problem_mark.column + 1;
            }
            if (p.error == YAML_MEMORY_ERROR) {
                ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory in the YAML parser", name);
            } else if (p.context) {
                ret =
                    as_err_set(err, AS_ERR_FORMAT,
                               "%s:%d:%d: YAML syntax error: %s (%s, which started at %d:%d)", name,
                               line, col, p.problem ? p.problem : "unknown problem", p.context,
                               (int)p.context_mark.line + 1, (int)p.context_mark.column + 1);
            } else {
                ret = as_err_set(err, AS_ERR_FORMAT, "%s:%d:%d: YAML syntax error: %s", name, line,
                                 col, p.problem ? p.problem : "unknown problem");
            }
            goto done;
        }
        ret = on_event(b, &ev, &docs);
        int end = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (ret != AS_OK) goto done;
        if (end) break;
    }
done:
    yaml_parser_delete(&p);
    free(b);
    if (ret != AS_OK) sw_tree_free(t);
    t->name = name;
    t->err = err;
    return ret;
}

void sw_tree_free(struct sw_tree *t) {
    for (int32_t i = 0; i < t->n; i++)
        free(t->nodes[i].kids);
    free(t->nodes);
    sw_arena_free(&t->strings);
    t->nodes = NULL;
    t->n = t->cap = 0;
    t->root = -1;
}

/* ------------------------------------------------------------ walking the tree */

as_status sw_errf(const struct sw_tree *t, int32_t node, as_status st, const char *fmt, ...) {
    char msg[AS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *name = t->name ? t->name : "<sweep>";
    if (node >= 0 && node < t->n)
        return as_err_set(t->err, st, "%s:%d:%d: %s", name, t->nodes[node].line, t->nodes[node].col,
                          msg);
    return as_err_set(t->err, st, "%s: %s", name, msg);
}

as_status sw_oom(const struct sw_tree *t) {
    return as_err_set(t->err, AS_ERR_NOMEM, "%s: out of memory", t->name ? t->name : "<sweep>");
}

int sw_is_null(const struct sw_node *n) {
    if (n->kind != SW_SCALAR || !n->plain) return 0;
    return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
           !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

const char *sw_kind_name(const struct sw_node *n) {
    switch (n->kind) {
    case SW_MAP: return "a mapping";
    case SW_SEQ: return "a list";
    case SW_SCALAR: return sw_is_null(n) ? "null" : "a scalar";
    }
    return "unknown";
}

int sw_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    int row[41];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int sub = prev + (a[i - 1] != b[j - 1]);
            int del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[lb];
}

as_status sw_check_map(const struct sw_tree *t, int32_t node, const char *what,
                       const char *const *allowed) {
    const struct sw_node *m = &t->nodes[node];
    if (m->kind != SW_MAP)
        return sw_errf(t, node, AS_ERR_INVALID, "%s is %s; expected a mapping (key: value)", what,
                       sw_kind_name(m));
    for (int32_t i = 0; i < m->n; i += 2) {
        const struct sw_node *k = &t->nodes[m->kids[i]];
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(k->str, *a)) known = 1;
        if (known) continue;
        char list[512] = "", hint[160] = "";
        size_t off = 0;
        int best = 99;
        for (const char *const *a = allowed; *a; a++) {
            int n = snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "", *a);
            if (n > 0 && (size_t)n < sizeof list - off) off += (size_t)n;
            int d = sw_edit_distance(k->str, *a);
            if (d < best && d <= 2) {
                best = d;
                snprintf(hint, sizeof hint, ". HINT: did you mean '%s'?", *a);
            }
        }
        return sw_errf(t, m->kids[i], AS_ERR_INVALID,
                       "unknown key '%.100s' in %s; expected one of: %s%s", k->str, what, list,
                       hint);
    }
    return AS_OK;
}

int32_t sw_map_get(const struct sw_tree *t, int32_t map, const char *key) {
    if (map < 0) return -1;
    const struct sw_node *m = &t->nodes[map];
    if (m->kind != SW_MAP) return -1;
    for (int32_t i = 0; i + 1 < m->n; i += 2)
        if (!strcmp(t->nodes[m->kids[i]].str, key)) return m->kids[i + 1];
    return -1;
}

as_status sw_get_str(const struct sw_tree *t, int32_t node, const char *what, const char **out,
                     size_t *len) {
    const struct sw_node *n = &t->nodes[node];
    if (n->kind != SW_SCALAR || sw_is_null(n))
        return sw_errf(t, node, AS_ERR_INVALID, "%s is %s; expected a string", what,
                       sw_kind_name(n));
    *out = n->str;
    if (len) *len = n->len;
    return AS_OK;
}

/* Decimal integer [+-]?[0-9]+ that fits int64; 0 if not one. */
static int parse_int64(const char *p, int64_t *out) {
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    if (!*p) return 0;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        unsigned d = (unsigned)(*p - '0');
        if (v > (lim - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return 1;
}

as_status sw_get_int(const struct sw_tree *t, int32_t node, const char *what, long long lo,
                     long long hi, long long *out) {
    const struct sw_node *n = &t->nodes[node];
    if (n->kind != SW_SCALAR || sw_is_null(n))
        return sw_errf(t, node, AS_ERR_INVALID, "%s is %s; expected an integer", what,
                       sw_kind_name(n));
    int64_t v;
    if (!parse_int64(n->str, &v))
        return sw_errf(t, node, AS_ERR_INVALID, "%s is '%.60s'; expected an integer", what, n->str);
    if (v < lo || v > hi)
        return sw_errf(t, node, AS_ERR_INVALID, "%s is %lld; expected an integer in [%lld, %lld]",
                       what, (long long)v, lo, hi);
    *out = (long long)v;
    return AS_OK;
}

/* [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)? with a '.' or an exponent */
static int is_float_syntax(const char *p) {
    int digits = 0, dot = 0, exp = 0;
    if (*p == '+' || *p == '-') p++;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.') {
        dot = 1;
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        int ed = 0;
        exp = 1;
        p++;
        if (*p == '+' || *p == '-') p++;
        for (; *p >= '0' && *p <= '9'; p++)
            ed++;
        if (!ed) return 0;
    }
    return *p == '\0' && (dot || exp);
}

enum sw_scalar sw_scalar_type(const struct sw_node *n, int64_t *i, double *f) {
    if (n->kind != SW_SCALAR) return SW_S_STRING;
    if (sw_is_null(n)) return SW_S_NULL;
    if (!n->plain) return SW_S_STRING;
    const char *s = n->str;
    if (!strcasecmp(s, "true") || !strcasecmp(s, "false")) {
        if (i) *i = (s[0] == 't' || s[0] == 'T');
        return SW_S_BOOL;
    }
    const char *d = s + (s[0] == '+' || s[0] == '-');
    int64_t v;
    if (!(d[0] == '0' && d[1] != '\0') && parse_int64(s, &v)) { /* no leading zeros */
        if (i) *i = v;
        return SW_S_INT;
    }
    if (is_float_syntax(s) || !strcasecmp(d, ".inf") || !strcasecmp(s, ".nan")) {
        if (f) {
            if (!strcasecmp(d, ".inf"))
                *f = s[0] == '-' ? -INFINITY : INFINITY;
            else if (!strcasecmp(s, ".nan"))
                *f = NAN;
            else
                *f = strtod(s, NULL);
        }
        return SW_S_FLOAT;
    }
    return SW_S_STRING;
}
