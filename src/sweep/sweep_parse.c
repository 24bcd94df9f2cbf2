/* sweep_parse.c - the YAML schema: sections, keys and types -> as_sweep settings.
 *
 * The tree (yaml_tree.c) is already syntactically valid and free of duplicate
 * keys; this file checks that every mapping has only known keys and every
 * value has the expected type, and copies the settings over the defaults.
 * Groups are expanded by expand.c and ranks.explicit by sweep.c, both after
 * this pass, so that they can refer to each other. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/h5out.h"
#include "sweep_internal.h"

as_status sw_errf(struct sw_ctx *c, int32_t node, as_status st, const char *fmt, ...) {
    char msg[AS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node >= 0 && node < c->t->n)
        return as_err_set(c->err, st, "%s:%d:%d: %s", c->s->path, c->t->nodes[node].line,
                          c->t->nodes[node].col, msg);
    return as_err_set(c->err, st, "%s: %s", c->s->path, msg);
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

/* Levenshtein distance, capped (for "did you mean" hints on short keys). */
static int edit_distance(const char *a, const char *b) {
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

as_status sw_check_map(struct sw_ctx *c, int32_t node, const char *what,
                       const char *const *allowed) {
    const struct sw_node *m = &c->t->nodes[node];
    if (m->kind != SW_MAP)
        return sw_errf(c, node, AS_ERR_INVALID, "%s is %s; expected a mapping (key: value)", what,
                       sw_kind_name(m));
    for (int32_t i = 0; i < m->n; i += 2) {
        const struct sw_node *k = &c->t->nodes[m->kids[i]];
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
            int d = edit_distance(k->str, *a);
            if (d < best && d <= 2) {
                best = d;
                snprintf(hint, sizeof hint, ". HINT: did you mean '%s'?", *a);
            }
        }
        return sw_errf(c, m->kids[i], AS_ERR_INVALID,
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

as_status sw_get_str(struct sw_ctx *c, int32_t node, const char *what, const char **out,
                     size_t *len) {
    const struct sw_node *n = &c->t->nodes[node];
    if (n->kind != SW_SCALAR || sw_is_null(n))
        return sw_errf(c, node, AS_ERR_INVALID, "%s is %s; expected a string", what,
                       sw_kind_name(n));
    *out = n->str;
    if (len) *len = n->len;
    return AS_OK;
}

as_status sw_get_int(struct sw_ctx *c, int32_t node, const char *what, long long lo, long long hi,
                     long long *out) {
    const struct sw_node *n = &c->t->nodes[node];
    if (n->kind != SW_SCALAR || sw_is_null(n))
        return sw_errf(c, node, AS_ERR_INVALID, "%s is %s; expected an integer", what,
                       sw_kind_name(n));
    const char *p = n->str;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    long long v = 0;
    int ok = *p != '\0';
    for (; *p && ok; p++) {
        if (*p < '0' || *p > '9' || v > (LLONG_MAX - (*p - '0')) / 10) {
            ok = 0;
            break;
        }
        v = v * 10 + (*p - '0');
    }
    if (!ok)
        return sw_errf(c, node, AS_ERR_INVALID, "%s is '%.60s'; expected an integer", what, n->str);
    if (neg) v = -v;
    if (v < lo || v > hi)
        return sw_errf(c, node, AS_ERR_INVALID, "%s is %lld; expected an integer in [%lld, %lld]",
                       what, v, lo, hi);
    *out = v;
    return AS_OK;
}

int sw_utf8_valid(const char *str, size_t n, size_t *bad) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        size_t len;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4;
            cp = b & 0x07;
        } else {
            goto bad_seq;
        }
        if (n - i < len) goto bad_seq;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) goto bad_seq;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad_seq;
        i += len;
    }
    return 1;
bad_seq:
    if (bad) *bad = i;
    return 0;
}

const char *sw_name_problem(const char *s, size_t len) {
    if (len == 0) return "is empty";
    if (len >= AS_SWEEP_NAME_MAX) return "is too long (expected fewer than 200 bytes)";
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return "is '.' or '..', which HDF5 reserves";
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '/') return "contains '/' (HINT: use '_' or '-')";
        if (ch < 0x20 || ch == 0x7F) return "contains a control character";
    }
    if (!sw_utf8_valid(s, len, NULL)) return "is not valid UTF-8";
    return NULL;
}

/* ------------------------------------------------------------ names */

/* The names of enum as_store / as_out_dtype (h5out.h). They are repeated here
 * so that this module links without the HDF5 writer (and MPI); the values
 * are pinned by static asserts in sweep.c and the names by test_sweep_load. */
static int store_from_name(const char *name) {
    if (!strcmp(name, "full")) return AS_STORE_FULL;
    if (!strcmp(name, "last_row")) return AS_STORE_LAST_ROW;
    if (!strcmp(name, "none")) return AS_STORE_NONE;
    return -1;
}

static int dtype_from_name(const char *name) {
    if (!strcmp(name, "float32")) return AS_OUT_F32;
    if (!strcmp(name, "float16")) return AS_OUT_F16;
    return -1;
}

/* ------------------------------------------------------------ sections */

static struct as_sweep_mark mark_of(const struct sw_ctx *c, int32_t node) {
    struct as_sweep_mark m = {c->t->nodes[node].line, c->t->nodes[node].col};
    return m;
}

static as_status copy_path(struct sw_ctx *c, int32_t node, const char *what, char *dst) {
    const char *v = NULL;
    size_t len = 0;
    as_status ret = sw_get_str(c, node, what, &v, &len);
    if (ret != AS_OK) return ret;
    if (len >= AS_SWEEP_PATH_MAX)
        return sw_errf(c, node, AS_ERR_INVALID, "%s is %zu bytes long; expected fewer than %d",
                       what, len, AS_SWEEP_PATH_MAX);
    memcpy(dst, v, len + 1);
    return AS_OK;
}

/* A list of integers (layers / heads); null means "all". */
static as_status parse_int_list(struct sw_ctx *c, int32_t node, const char *what, int **out,
                                int *n_out) {
    const struct sw_node *n = &c->t->nodes[node];
    if (sw_is_null(n)) return AS_OK;
    if (n->kind != SW_SEQ)
        return sw_errf(c, node, AS_ERR_INVALID,
                       "%s is %s; expected a list of integers like [0, 1, 2] (or omit it for all)",
                       what, sw_kind_name(n));
    if (n->n == 0)
        return sw_errf(c, node, AS_ERR_INVALID,
                       "%s is an empty list; expected at least one index (or omit it for all)",
                       what);
    int *v = sw_arena_alloc(c->arena, (size_t)n->n * sizeof *v);
    if (!v) return as_err_set(c->err, AS_ERR_NOMEM, "%s: out of memory", c->s->path);
    for (int32_t i = 0; i < n->n; i++) {
        char w[64];
        long long x;
        snprintf(w, sizeof w, "%s[%d]", what, (int)i);
        as_status ret = sw_get_int(c, n->kids[i], w, INT_MIN, INT_MAX, &x);
        if (ret != AS_OK) return ret;
        v[i] = (int)x;
    }
    *out = v;
    *n_out = (int)n->n;
    return AS_OK;
}

static as_status parse_model(struct sw_ctx *c, int32_t node) {
    static const char *const keys[] = {"path", "tokenizer", NULL};
    struct as_sweep *s = c->s;
    if (sw_is_null(&c->t->nodes[node])) return AS_OK;
    as_status ret = sw_check_map(c, node, "model", keys);
    if (ret != AS_OK) return ret;
    int32_t v = sw_map_get(c->t, node, "path"); /* null keeps the default */
    if (v >= 0 && !sw_is_null(&c->t->nodes[v])) {
        if ((ret = copy_path(c, v, "model.path", s->model_path)) != AS_OK) return ret;
        s->marks.model_path = mark_of(c, v);
    }
    v = sw_map_get(c->t, node, "tokenizer");
    if (v >= 0 && !sw_is_null(&c->t->nodes[v])) {
        if ((ret = copy_path(c, v, "model.tokenizer", s->tokenizer_path)) != AS_OK) return ret;
        s->marks.tokenizer_path = mark_of(c, v);
    }
    return AS_OK;
}

static as_status parse_output(struct sw_ctx *c, int32_t node) {
    static const char *const keys[] = {"path", "store", "dtype", "layers", "heads", NULL};
    struct as_sweep *s = c->s;
    if (sw_is_null(&c->t->nodes[node])) return AS_OK;
    as_status ret = sw_check_map(c, node, "output", keys);
    if (ret != AS_OK) return ret;
    const char *str;
    int32_t v = sw_map_get(c->t, node, "path"); /* null keeps the default */
    if (v >= 0 && !sw_is_null(&c->t->nodes[v])) {
        if ((ret = copy_path(c, v, "output.path", s->output_path)) != AS_OK) return ret;
        s->marks.output_path = mark_of(c, v);
        c->has_output_path = 1;
    }
    if ((v = sw_map_get(c->t, node, "store")) >= 0) {
        if ((ret = sw_get_str(c, v, "output.store", &str, NULL)) != AS_OK) return ret;
        int x = store_from_name(str);
        if (x < 0)
            return sw_errf(c, v, AS_ERR_INVALID,
                           "output.store is '%.60s'; expected one of: full, last_row, none", str);
        s->store = x;
        s->marks.store = mark_of(c, v);
    }
    if ((v = sw_map_get(c->t, node, "dtype")) >= 0) {
        if ((ret = sw_get_str(c, v, "output.dtype", &str, NULL)) != AS_OK) return ret;
        int x = dtype_from_name(str);
        if (x < 0)
            return sw_errf(c, v, AS_ERR_INVALID,
                           "output.dtype is '%.60s'; expected one of: float32, float16", str);
        s->dtype = x;
        s->marks.dtype = mark_of(c, v);
    }
    if ((v = sw_map_get(c->t, node, "layers")) >= 0) {
        if ((ret = parse_int_list(c, v, "output.layers", &s->layers, &s->n_layers)) != AS_OK)
            return ret;
        s->marks.layers = mark_of(c, v);
    }
    if ((v = sw_map_get(c->t, node, "heads")) >= 0) {
        if ((ret = parse_int_list(c, v, "output.heads", &s->heads, &s->n_heads)) != AS_OK)
            return ret;
        s->marks.heads = mark_of(c, v);
    }
    return AS_OK;
}

static as_status parse_ranks(struct sw_ctx *c, int32_t node) {
    static const char *const keys[] = {"assign", "explicit", NULL};
    struct as_sweep *s = c->s;
    if (sw_is_null(&c->t->nodes[node])) return AS_OK;
    as_status ret = sw_check_map(c, node, "ranks", keys);
    if (ret != AS_OK) return ret;
    int32_t v = sw_map_get(c->t, node, "assign");
    if (v >= 0) {
        const char *str;
        if ((ret = sw_get_str(c, v, "ranks.assign", &str, NULL)) != AS_OK) return ret;
        int a = as_assign_from_name(str);
        if (a < 0)
            return sw_errf(c, v, AS_ERR_INVALID,
                           "ranks.assign is '%.60s'; expected one of: balanced, round_robin, "
                           "explicit",
                           str);
        s->assign = (enum as_assign)a;
        s->marks.assign = mark_of(c, v);
    }
    int32_t e = sw_map_get(c->t, node, "explicit");
    if (e >= 0) {
        s->marks.explicit_ = mark_of(c, e);
        if (s->assign != AS_ASSIGN_EXPLICIT)
            return sw_errf(c, e, AS_ERR_INVALID,
                           "ranks.explicit is given but ranks.assign is '%s'; expected "
                           "assign: explicit (or remove ranks.explicit)",
                           as_assign_name(s->assign));
        c->explicit_node = e;
    } else if (s->assign == AS_ASSIGN_EXPLICIT) {
        return sw_errf(c, v, AS_ERR_INVALID,
                       "ranks.assign is 'explicit' but ranks.explicit is missing; expected "
                       "explicit: {0: [group/variant, group, ...], 1: [...]}");
    }
    return AS_OK;
}

static as_status parse_analysis(struct sw_ctx *c, int32_t node) {
    static const char *const keys[] = {"keywords", NULL};
    struct as_sweep *s = c->s;
    if (sw_is_null(&c->t->nodes[node])) return AS_OK;
    as_status ret = sw_check_map(c, node, "analysis", keys);
    if (ret != AS_OK) return ret;
    int32_t v = sw_map_get(c->t, node, "keywords");
    if (v < 0 || sw_is_null(&c->t->nodes[v])) return AS_OK;
    const struct sw_node *n = &c->t->nodes[v];
    if (n->kind != SW_SEQ)
        return sw_errf(
            c, v, AS_ERR_INVALID,
            "analysis.keywords is %s; expected a list of strings like [\"15\", \"plus\"]",
            sw_kind_name(n));
    s->marks.keywords = mark_of(c, v);
    if (n->n == 0) return AS_OK;
    s->keywords = sw_arena_alloc(c->arena, (size_t)n->n * sizeof *s->keywords);
    if (!s->keywords) return as_err_set(c->err, AS_ERR_NOMEM, "%s: out of memory", s->path);
    for (int32_t i = 0; i < n->n; i++) {
        char w[64];
        const char *str;
        size_t len;
        snprintf(w, sizeof w, "analysis.keywords[%d]", (int)i);
        if ((ret = sw_get_str(c, n->kids[i], w, &str, &len)) != AS_OK) return ret;
        for (int j = 0; j < s->n_keywords; j++)
            if (!strcmp(s->keywords[j], str))
                return sw_errf(c, n->kids[i], AS_ERR_INVALID,
                               "%s '%.60s' repeats analysis.keywords[%d]; expected unique keywords",
                               w, str, j);
        s->keywords[s->n_keywords] = sw_arena_strndup(c->arena, str, len);
        if (!s->keywords[s->n_keywords])
            return as_err_set(c->err, AS_ERR_NOMEM, "%s: out of memory", s->path);
        s->n_keywords++;
    }
    return AS_OK;
}

as_status sw_parse_settings(struct sw_ctx *c) {
    static const char *const keys[] = {"model", "output", "ranks", "groups", "analysis", NULL};
    struct sw_tree *t = c->t;
    as_status ret;
    if (t->root < 0 || sw_is_null(&t->nodes[t->root]))
        return sw_errf(c, -1, AS_ERR_INVALID,
                       "the sweep is empty; expected a mapping with at least `groups:` "
                       "(see docs/SWEEP.md)");
    if ((ret = sw_check_map(c, t->root, "the top level", keys)) != AS_OK) return ret;
    int32_t v;
    if ((v = sw_map_get(t, t->root, "model")) >= 0 && (ret = parse_model(c, v)) != AS_OK)
        return ret;
    if ((v = sw_map_get(t, t->root, "output")) >= 0 && (ret = parse_output(c, v)) != AS_OK)
        return ret;
    if ((v = sw_map_get(t, t->root, "ranks")) >= 0 && (ret = parse_ranks(c, v)) != AS_OK)
        return ret;
    if ((v = sw_map_get(t, t->root, "analysis")) >= 0 && (ret = parse_analysis(c, v)) != AS_OK)
        return ret;
    v = sw_map_get(t, t->root, "groups");
    if (v < 0)
        return sw_errf(c, t->root, AS_ERR_INVALID,
                       "no `groups:` key; expected a list of prompt groups (see docs/SWEEP.md)");
    const struct sw_node *g = &t->nodes[v];
    if (g->kind != SW_SEQ)
        return sw_errf(c, v, AS_ERR_INVALID,
                       "groups is %s; expected a list of groups (- name: ...)", sw_kind_name(g));
    if (g->n == 0)
        return sw_errf(c, v, AS_ERR_INVALID,
                       "groups is an empty list; expected at least one group");
    c->groups_node = v;
    c->s->marks.groups = mark_of(c, v);
    return AS_OK;
}
