/* analysis.c - the sweep's `analysis:` section (docs/SWEEP.md "analysis"):
 * the keywords, and what the reduce stage's statistics are split by and
 * contrast (struct as_analysis, analysis.h).
 *
 * keywords, bootstrap, seed and js_min_shared are read with the other
 * settings; by and contrasts name /sweep columns, so they are checked once
 * every group is expanded and the metadata columns are known: every name must
 * be a column (group, variant or a metadata key), and each contrast's two
 * values must occur in its column. Checking a value is one pass over the
 * prompts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sweep_internal.h"

static char default_by_group[] = "group";
static char *default_by[] = {default_by_group};

void sw_analysis_defaults(struct as_analysis *a) {
    as_analysis_defaults(a);
    a->by = default_by, a->n_by = 1;
}

static as_status parse_keywords(struct sw_ctx *c, int32_t v) {
    struct as_sweep *s = c->s;
    as_status ret;
    if (sw_is_null(&c->t->nodes[v])) return AS_OK;
    const struct sw_node *n = &c->t->nodes[v];
    if (n->kind != SW_SEQ)
        return sw_errf(
            c->t, v, AS_ERR_INVALID,
            "analysis.keywords is %s; expected a list of strings like [\"15\", \"plus\"]",
            sw_kind_name(n));
    s->marks.keywords.line = n->line, s->marks.keywords.col = n->col;
    if (n->n == 0) return AS_OK;
    s->keywords = sw_arena_alloc(c->arena, (size_t)n->n * sizeof *s->keywords);
    if (!s->keywords) return SW_OOM(c);
    for (int32_t i = 0; i < n->n; i++) {
        char w[64];
        const char *str;
        size_t len;
        snprintf(w, sizeof w, "analysis.keywords[%d]", (int)i);
        if ((ret = sw_get_str(c->t, n->kids[i], w, &str, &len)) != AS_OK) return ret;
        for (int j = 0; j < s->n_keywords; j++)
            if (!strcmp(s->keywords[j], str))
                return sw_errf(c->t, n->kids[i], AS_ERR_INVALID,
                               "%s '%.60s' repeats analysis.keywords[%d]; expected unique keywords",
                               w, str, j);
        s->keywords[s->n_keywords] = sw_arena_strndup(c->arena, str, len);
        if (!s->keywords[s->n_keywords]) return SW_OOM(c);
        s->n_keywords++;
    }
    return AS_OK;
}

as_status sw_parse_analysis(struct sw_ctx *c, int32_t node) {
    static const char *const keys[] = {"keywords",      "by",     "contrasts", "bootstrap", "seed",
                                       "js_min_shared", "answer", NULL};
    struct as_sweep *s = c->s;
    struct as_analysis *a = &s->analysis;
    as_status ret;
    if (sw_is_null(&c->t->nodes[node])) return AS_OK;
    if ((ret = sw_check_map(c->t, node, "analysis", keys)) != AS_OK) return ret;
    c->analysis_node = node;
    s->marks.analysis.line = c->t->nodes[node].line, s->marks.analysis.col = c->t->nodes[node].col;
    int32_t v;
    long long x;
    if ((v = sw_map_get(c->t, node, "keywords")) >= 0 && (ret = parse_keywords(c, v)) != AS_OK)
        return ret;
    if ((v = sw_map_get(c->t, node, "bootstrap")) >= 0) {
        if ((ret = sw_get_int(c->t, v, "analysis.bootstrap", 1, AS_ANALYSIS_BOOT_MAX, &x)))
            return ret;
        a->n_boot = (int)x;
    }
    if ((v = sw_map_get(c->t, node, "seed")) >= 0) {
        if ((ret = sw_get_int(c->t, v, "analysis.seed", 0, INT64_MAX, &x))) return ret;
        a->seed = (uint64_t)x;
    }
    if ((v = sw_map_get(c->t, node, "js_min_shared")) >= 0) {
        if ((ret = sw_get_int(c->t, v, "analysis.js_min_shared", 1, 1 << 20, &x))) return ret;
        a->js_min_shared = (int)x;
    }
    return AS_OK;
}

/* ------------------------------------------------------------ columns and values */

#define COL_GROUP   (-2)
#define COL_VARIANT (-3)

/* The /sweep column called name: COL_GROUP, COL_VARIANT, a metadata column
 * index, or -1. */
static int column_of(const struct as_sweep *s, const char *name) {
    if (!strcmp(name, "group")) return COL_GROUP;
    if (!strcmp(name, "variant")) return COL_VARIANT;
    return as_sweep_column_find(s, name);
}

/* "group, variant, dataset, cot" and a did-you-mean hint for a bad name. */
static void column_list(const struct as_sweep *s, const char *bad, char *list, size_t cap,
                        char *hint, size_t hcap) {
    size_t off = (size_t)snprintf(list, cap, "group, variant");
    int best = 3;
    hint[0] = '\0';
    const char *cand[2] = {"group", "variant"};
    for (int k = -2; k < s->n_columns; k++) {
        const char *nm = k < 0 ? cand[k + 2] : s->columns[k].name;
        if (k >= 0 && off < cap) {
            int n = snprintf(list + off, cap - off, ", %s", nm);
            if (n > 0) off += (size_t)n;
        }
        int d = sw_edit_distance(bad, nm);
        if (d < best) best = d, snprintf(hint, hcap, ". HINT: did you mean '%s'?", nm);
    }
}

static as_status column_name(struct sw_ctx *c, int32_t node, const char *what, const char **name,
                             int *col) {
    as_status ret = sw_get_str(c->t, node, what, name, NULL);
    if (ret != AS_OK) return ret;
    *col = column_of(c->s, *name);
    if (*col != -1) return AS_OK;
    char list[1024], hint[160];
    column_list(c->s, *name, list, sizeof list, hint, sizeof hint);
    return sw_errf(c->t, node, AS_ERR_INVALID,
                   "%s is '%.60s', which is not a /sweep column; expected one of: %s%s", what,
                   *name, list, hint);
}

/* A list of column names (or one name) -> arena strings; unique. not_col: a
 * column the list must not contain (-1: any), named not_name. */
static as_status column_names(struct sw_ctx *c, int32_t node, const char *what, char ***out,
                              int *n_out, int not_col, const char *not_name) {
    const struct sw_node *n = &c->t->nodes[node];
    int32_t one[1] = {node};
    const int32_t *items = n->kind == SW_SEQ ? n->kids : one;
    int count = n->kind == SW_SEQ ? (int)n->n : 1;
    if (n->kind == SW_MAP)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s is a mapping; expected a list of /sweep column names like [group, "
                       "cot]",
                       what);
    char **v = sw_arena_alloc(c->arena, (size_t)(count ? count : 1) * sizeof *v);
    if (!v) return SW_OOM(c);
    for (int i = 0; i < count; i++) {
        char w[96];
        const char *name;
        int col;
        snprintf(w, sizeof w, n->kind == SW_SEQ ? "%s[%d]" : "%s", what, i);
        as_status ret = column_name(c, items[i], w, &name, &col);
        if (ret != AS_OK) return ret;
        if (not_col != -1 && col == not_col)
            return sw_errf(c->t, items[i], AS_ERR_INVALID,
                           "%s is '%s', the column the contrast compares; expected columns "
                           "whose values a pair shares",
                           w, not_name);
        for (int j = 0; j < i; j++)
            if (!strcmp(v[j], name))
                return sw_errf(c->t, items[i], AS_ERR_INVALID,
                               "%s '%s' repeats %s[%d]; expected each column once", w, name, what,
                               j);
        if (!(v[i] = sw_arena_strndup(c->arena, name, strlen(name)))) return SW_OOM(c);
    }
    *out = v, *n_out = count;
    return AS_OK;
}

/* Does value (text, typed like a YAML scalar when typed != 0) occur in col?
 * On success *norm is the value as the column writes it. */
static int value_occurs(const struct as_sweep *s, int col, const char *text, int typed, char *norm,
                        size_t cap) {
    snprintf(norm, cap, "%s", text);
    if (col == COL_GROUP) {
        for (int g = 0; g < s->n_groups; g++)
            if (!strcmp(s->groups[g].name, text)) return 1;
        return 0;
    }
    if (col == COL_VARIANT) {
        for (int64_t i = 0; i < s->n_prompts; i++)
            if (!strcmp(s->prompts[i].variant, text)) return 1;
        return 0;
    }
    const struct as_sweep_column *c = &s->columns[col];
    struct sw_node nd = {SW_SCALAR, 0, 0, typed, (char *)text, strlen(text), NULL, 0, 0};
    int64_t iv = 0;
    double fv = 0;
    enum sw_scalar k = sw_scalar_type(&nd, &iv, &fv);
    switch (c->type) {
    case AS_SWEEP_COL_STRING:
        for (int64_t j = 0; j < c->n_strs; j++)
            if (!strcmp(c->strs[j], text)) return 1;
        return 0;
    case AS_SWEEP_COL_BOOL:
        if (k != SW_S_BOOL &&
            !(!typed && (!strcasecmp(text, "true") || !strcasecmp(text, "false"))))
            return 0;
        iv = !strcasecmp(text, "true");
        snprintf(norm, cap, "%s", iv ? "true" : "false");
        for (int64_t i = 0; i < s->n_prompts; i++)
            if (c->cells[i].i == iv) return 1;
        return 0;
    case AS_SWEEP_COL_INT:
    case AS_SWEEP_COL_FLOAT:
        if (!typed) { /* a value from "A - B": type it like an unquoted scalar */
            nd.plain = 1;
            k = sw_scalar_type(&nd, &iv, &fv);
        }
        if (k == SW_S_INT) fv = (double)iv;
        if (k != SW_S_INT && k != SW_S_FLOAT) return 0;
        for (int64_t i = 0; i < s->n_prompts; i++) {
            int hit = c->type == AS_SWEEP_COL_INT ? (k == SW_S_INT && c->cells[i].i == iv)
                                                  : c->cells[i].f == fv;
            if (hit) {
                char buf[64];
                snprintf(norm, cap, "%s", as_sweep_cell_text(s, col, i, buf, sizeof buf));
                return 1;
            }
        }
        return 0;
    }
    return 0;
}

/* Up to 12 distinct values of col, for messages. */
static void value_list(const struct as_sweep *s, int col, char *out, size_t cap) {
    char seen[12][64];
    int n = 0;
    size_t off = 0;
    out[0] = '\0';
    int64_t total = col == COL_GROUP ? s->n_groups : s->n_prompts;
    for (int64_t i = 0; i < total && n < 12; i++) {
        char buf[64];
        const char *v = col == COL_GROUP     ? s->groups[i].name
                        : col == COL_VARIANT ? s->prompts[i].variant
                                             : as_sweep_cell_text(s, col, i, buf, sizeof buf);
        int dup = 0;
        for (int j = 0; j < n && !dup; j++)
            dup = !strncmp(seen[j], v, sizeof seen[j] - 1);
        if (dup) continue;
        snprintf(seen[n++], sizeof seen[0], "%s", v);
        int k = snprintf(out + off, cap - off, "%s'%.60s'", off ? ", " : "", v);
        if (k < 0 || (size_t)k >= cap - off) break;
        off += (size_t)k;
    }
    if (n == 12 && off + 8 < cap) snprintf(out + off, cap - off, ", ...");
}

static as_status contrast_value(struct sw_ctx *c, int32_t node, const char *what, int col,
                                const char *colname, const char *text, int typed, char **out) {
    char norm[128];
    if (!text[0] || !value_occurs(c->s, col, text, typed, norm, sizeof norm)) {
        char list[900];
        value_list(c->s, col, list, sizeof list);
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s is '%.60s', which no prompt has in column '%s'; expected one of: %s",
                       what, text, colname, list);
    }
    if (!(*out = sw_arena_strndup(c->arena, norm, strlen(norm)))) return SW_OOM(c);
    return AS_OK;
}

/* Trims ASCII spaces of s[0..n) in place; returns the new start. */
static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static as_status parse_contrast(struct sw_ctx *c, int32_t node, int i, struct as_contrast *ct) {
    static const char *const keys[] = {"name", "column", "a", "b", "pair_on", NULL};
    const struct sw_node *n = &c->t->nodes[node];
    char what[64], w2[96];
    as_status ret;
    snprintf(what, sizeof what, "analysis.contrasts[%d]", i);
    const char *colname = "variant", *a = NULL, *b = NULL, *name = NULL;
    int col = COL_VARIANT, typed = 1;
    int32_t an = node, bn = node, namen = -1;
    char split[2 * AS_SWEEP_NAME_MAX + 8];
    if (n->kind == SW_SCALAR && !sw_is_null(n)) { /* "cot - plain" */
        const char *dash = strstr(n->str, " - ");
        if (!dash || strstr(dash + 3, " - ") || n->len >= sizeof split)
            return sw_errf(c->t, node, AS_ERR_INVALID,
                           "%s is '%.80s'; expected \"A - B\" (two variants, a space on each side "
                           "of the '-') or a mapping {name, column, a, b, pair_on}",
                           what, n->str);
        memcpy(split, n->str, n->len + 1);
        split[dash - n->str] = '\0';
        a = trim(split), b = trim(split + (dash - n->str) + 3);
        typed = 0;
    } else {
        if ((ret = sw_check_map(c->t, node, what, keys)) != AS_OK) return ret;
        int32_t v;
        if ((v = sw_map_get(c->t, node, "column")) >= 0) {
            snprintf(w2, sizeof w2, "%s.column", what);
            if ((ret = column_name(c, v, w2, &colname, &col)) != AS_OK) return ret;
        }
        an = sw_map_get(c->t, node, "a"), bn = sw_map_get(c->t, node, "b");
        if (an < 0 || bn < 0)
            return sw_errf(c->t, node, AS_ERR_INVALID,
                           "%s has no %s:; expected a: and b:, the two values of column '%s' to "
                           "compare",
                           what, an < 0 ? "a" : "b", colname);
        snprintf(w2, sizeof w2, "%s.a", what);
        if ((ret = sw_get_str(c->t, an, w2, &a, NULL)) != AS_OK) return ret;
        snprintf(w2, sizeof w2, "%s.b", what);
        if ((ret = sw_get_str(c->t, bn, w2, &b, NULL)) != AS_OK) return ret;
        typed = c->t->nodes[an].plain && c->t->nodes[bn].plain;
        if ((namen = sw_map_get(c->t, node, "name")) >= 0) {
            snprintf(w2, sizeof w2, "%s.name", what);
            if ((ret = sw_get_str(c->t, namen, w2, &name, NULL)) != AS_OK) return ret;
        }
        if ((v = sw_map_get(c->t, node, "pair_on")) >= 0 && !sw_is_null(&c->t->nodes[v])) {
            snprintf(w2, sizeof w2, "%s.pair_on", what);
            if ((ret = column_names(c, v, w2, &ct->pair_on, &ct->n_pair_on, col, colname)))
                return ret;
        }
    }
    if (!(ct->column = sw_arena_strndup(c->arena, colname, strlen(colname)))) return SW_OOM(c);
    snprintf(w2, sizeof w2, "%s%s", what, n->kind == SW_MAP ? ".a" : " (A)");
    if ((ret = contrast_value(c, an, w2, col, colname, a, typed && c->t->nodes[an].plain,
                              &ct->a)) != AS_OK)
        return ret;
    snprintf(w2, sizeof w2, "%s%s", what, n->kind == SW_MAP ? ".b" : " (B)");
    if ((ret = contrast_value(c, bn, w2, col, colname, b, typed && c->t->nodes[bn].plain,
                              &ct->b)) != AS_OK)
        return ret;
    if (!strcmp(ct->a, ct->b))
        return sw_errf(c->t, bn, AS_ERR_INVALID,
                       "%s compares '%s' with itself; expected two different values", what, ct->a);
    char gen[2 * 128 + 2];
    if (!name) snprintf(gen, sizeof gen, "%s-%s", ct->a, ct->b), name = gen;
    const char *why = sw_name_problem(name, strlen(name));
    if (why)
        return sw_errf(c->t, namen >= 0 ? namen : node, AS_ERR_INVALID,
                       "%s: the contrast's name '%.80s' %s; expected a valid HDF5 link name%s",
                       what, name, why, namen >= 0 ? "" : ". HINT: give it a name:");
    if (!(ct->name = sw_arena_strndup(c->arena, name, strlen(name)))) return SW_OOM(c);
    return AS_OK;
}

as_status sw_resolve_analysis(struct sw_ctx *c) {
    struct as_analysis *a = &c->s->analysis;
    as_status ret;
    if (c->analysis_node < 0) return AS_OK;
    int32_t v;
    if ((v = sw_map_get(c->t, c->analysis_node, "answer")) >= 0 && !sw_is_null(&c->t->nodes[v])) {
        const char *name;
        int col;
        if (c->t->nodes[v].kind != SW_SCALAR)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "analysis.answer is not a name; expected the metadata column (a JSONL "
                           "field or a var) holding each prompt's expected answer");
        if ((ret = column_name(c, v, "analysis.answer", &name, &col)) != AS_OK) return ret;
        if (col < 0)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "analysis.answer is '%s'; expected a metadata column (a JSONL field or "
                           "a var), not group or variant",
                           name);
        if (!(a->answer = sw_arena_strndup(c->arena, name, strlen(name)))) return SW_OOM(c);
    }
    if ((v = sw_map_get(c->t, c->analysis_node, "by")) >= 0) {
        if (sw_is_null(&c->t->nodes[v])) {
            a->by = NULL, a->n_by = 0; /* by: null or [] = no split */
        } else if ((ret = column_names(c, v, "analysis.by", &a->by, &a->n_by, -1, NULL)) != AS_OK) {
            return ret;
        }
    }
    if ((v = sw_map_get(c->t, c->analysis_node, "contrasts")) < 0 || sw_is_null(&c->t->nodes[v]))
        return AS_OK;
    const struct sw_node *l = &c->t->nodes[v];
    if (l->kind != SW_SEQ)
        return sw_errf(c->t, v, AS_ERR_INVALID,
                       "analysis.contrasts is %s; expected a list like [\"cot - plain\", {column: "
                       "shots, a: 2, b: 0, pair_on: [item]}]",
                       sw_kind_name(l));
    if (l->n > 1024)
        return sw_errf(c->t, v, AS_ERR_INVALID,
                       "analysis.contrasts has %d entries; expected at "
                       "most 1024",
                       (int)l->n);
    a->contrasts = sw_arena_alloc(c->arena, (size_t)(l->n ? l->n : 1) * sizeof *a->contrasts);
    if (!a->contrasts) return SW_OOM(c);
    memset(a->contrasts, 0, (size_t)(l->n ? l->n : 1) * sizeof *a->contrasts);
    for (int32_t i = 0; i < l->n; i++) {
        struct as_contrast *ct = &a->contrasts[i];
        if ((ret = parse_contrast(c, l->kids[i], (int)i, ct)) != AS_OK) return ret;
        for (int32_t j = 0; j < i; j++)
            if (!strcmp(a->contrasts[j].name, ct->name))
                return sw_errf(c->t, l->kids[i], AS_ERR_INVALID,
                               "analysis.contrasts[%d] is named '%s' like analysis.contrasts[%d]; "
                               "expected unique names. HINT: give one a name:",
                               (int)i, ct->name, (int)j);
        a->n_contrasts = (int)i + 1;
    }
    return AS_OK;
}
