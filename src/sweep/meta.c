/* meta.c - prompt metadata: typed values from JSONL fields, group tags,
 * product keys and vars, collected while the groups expand, then typed per
 * column and moved into s->columns (docs/SWEEP.md "Metadata").
 *
 * While collecting, every column keeps one kind and one value per prompt, so
 * that a template over JSONL fields can read a prompt's values back. Once
 * every group is expanded, sw_meta_finish decides each column's type from the
 * kinds it saw: all booleans -> bool; any string -> string (with numbers or
 * booleans too: an error naming both places); any float, or integers with a
 * prompt missing -> float (NaN = missing, as pandas does); else int. String
 * columns are dictionary-coded (distinct values + one index per prompt), so a
 * tag repeated on a million prompts costs one copy. Time and memory are linear
 * in prompts x columns, and both are capped (AS_SWEEP_MAX_COLUMNS,
 * AS_SWEEP_MAX_CELLS). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_internal.h"

#define SW_META_STR_MAX 4096 /* bytes of one string value */

static const char *const kind_names[] = {"null", "a boolean", "an integer", "a number", "a string"};

/* ------------------------------------------------------------ public helpers */

static const char *const reserved[] = {
    "prompt",          "group",          "variant",      "n_tokens",      "token_start",
    "text_start",      "text_length",    "rank",         "status",        "message",
    "attention_start", "tokens_dropped", "prompt_start", "prompt_length", NULL};

/* generation's /sweep columns (docs/FORMAT.md "Generation") */
static const char *const reserved_gen[] = {"n_generated", "generated_start", "stop_reason", NULL};

int as_sweep_column_reserved(const char *name) {
    for (const char *const *r = reserved; *r; r++)
        if (!strcmp(*r, name)) return 1;
    for (const char *const *r = reserved_gen; *r; r++)
        if (!strcmp(*r, name)) return 1;
    return 0;
}

const char *as_sweep_col_type_name(enum as_sweep_col_type t) {
    switch (t) {
    case AS_SWEEP_COL_BOOL: return "bool";
    case AS_SWEEP_COL_INT: return "int64";
    case AS_SWEEP_COL_FLOAT: return "float64";
    case AS_SWEEP_COL_STRING: return "string";
    }
    return "?";
}

int as_sweep_column_find(const struct as_sweep *s, const char *name) {
    for (int k = 0; k < s->n_columns; k++)
        if (!strcmp(s->columns[k].name, name)) return k;
    return -1;
}

const char *as_sweep_cell_text(const struct as_sweep *s, int col, int64_t i, char *out,
                               size_t cap) {
    if (cap) out[0] = '\0';
    if (col < 0 || col >= s->n_columns || i < 0 || i >= s->n_prompts) return out;
    const struct as_sweep_column *c = &s->columns[col];
    const union as_sweep_cell v = c->cells[i];
    switch (c->type) {
    case AS_SWEEP_COL_BOOL: snprintf(out, cap, "%s", v.i < 0 ? "" : v.i ? "true" : "false"); break;
    case AS_SWEEP_COL_INT: snprintf(out, cap, "%lld", (long long)v.i); break;
    case AS_SWEEP_COL_FLOAT: sw_format_double(v.f, out, cap); break;
    case AS_SWEEP_COL_STRING: return v.i >= 0 && v.i < c->n_strs ? c->strs[v.i] : out;
    }
    return out;
}

/* ------------------------------------------------------------ values */

as_status sw_mval_of_node(struct sw_ctx *c, int32_t node, const char *what, struct sw_mval *out) {
    const struct sw_node *n = &c->t->nodes[node];
    memset(out, 0, sizeof *out);
    if (n->kind != SW_SCALAR)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s is %s; expected a string, number, boolean or null", what,
                       sw_kind_name(n));
    out->kind = sw_scalar_type(n, &out->i, &out->f);
    if (out->kind != SW_S_STRING) return AS_OK;
    if (n->len > SW_META_STR_MAX)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s is a string of %zu bytes; expected at most %d (a /sweep column is as "
                       "wide as its longest value)",
                       what, n->len, SW_META_STR_MAX);
    if (!(out->s = sw_arena_strndup(c->arena, n->str, n->len))) return SW_OOM(c);
    c->meta_bytes += n->len;
    return AS_OK;
}

const char *sw_mval_text(const struct sw_mval *v, char *buf, size_t cap, size_t *len) {
    const char *r = buf;
    switch (v->kind) {
    case SW_S_NULL: *len = 0; return NULL;
    case SW_S_STRING: r = v->s; break;
    case SW_S_BOOL: snprintf(buf, cap, "%s", v->i ? "true" : "false"); break;
    case SW_S_INT: snprintf(buf, cap, "%lld", (long long)v->i); break;
    case SW_S_FLOAT: sw_format_double(v->f, buf, cap); break;
    }
    *len = strlen(r);
    return r;
}

const char *sw_where_text(const struct sw_ctx *c, struct sw_where w, char *out, size_t cap) {
    const struct sw_node *n = w.node >= 0 && w.node < c->t->n ? &c->t->nodes[w.node] : NULL;
    if (w.file_line > 0 && w.g >= 0 && w.g < c->s->n_groups)
        snprintf(out, cap, "%s:%lld (group '%s', file: at %s:%d:%d)", c->s->groups[w.g].file,
                 (long long)w.file_line, c->s->groups[w.g].name, c->s->path, n ? n->line : 0,
                 n ? n->col : 0);
    else if (n)
        snprintf(out, cap, "%s:%d:%d", c->s->path, n->line, n->col);
    else
        snprintf(out, cap, "%s", c->s->path);
    return out;
}

/* An error at w: "<where>: <message>". */
static as_status where_errf(struct sw_ctx *c, struct sw_where w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static as_status where_errf(struct sw_ctx *c, struct sw_where w, const char *fmt, ...) {
    char msg[AS_ERR_MSG_MAX], at[AS_SWEEP_PATH_MAX * 2 + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w.file_line > 0) { /* "<file>:<line>:1: msg (group, file: at ...)" like every file error */
        const struct sw_node *n = &c->t->nodes[w.node];
        return as_err_set(c->err, AS_ERR_INVALID, "%s:%lld:1: %s (group '%s', file: at %s:%d:%d)",
                          c->s->groups[w.g].file, (long long)w.file_line, msg,
                          c->s->groups[w.g].name, c->s->path, n->line, n->col);
    }
    return as_err_set(c->err, AS_ERR_INVALID, "%s: %s", sw_where_text(c, w, at, sizeof at), msg);
}

/* ------------------------------------------------------------ collecting */

static as_status cells_limit(struct sw_ctx *c, int64_t cols, int64_t rows, struct sw_where w) {
    if (cols > 0 && rows > AS_SWEEP_MAX_CELLS / cols)
        return where_errf(c, w,
                          "the metadata would have %lld columns x %lld prompts; expected at most "
                          "%lld values in all. HINT: drop keys you do not need from the JSONL "
                          "file, tags or vars",
                          (long long)cols, (long long)rows, (long long)AS_SWEEP_MAX_CELLS);
    return AS_OK;
}

static as_status col_grow(struct sw_ctx *c, struct sw_mcol *m, int64_t old_rows, int64_t rows) {
    uint8_t *k = realloc(m->kind, (size_t)rows);
    if (!k) return SW_OOM(c);
    m->kind = k;
    void *v = realloc(m->val, (size_t)rows * sizeof *m->val);
    if (!v) return SW_OOM(c);
    m->val = v;
    memset(m->kind + old_rows, SW_S_NULL, (size_t)(rows - old_rows));
    return AS_OK;
}

as_status sw_meta_reserve(struct sw_ctx *c, int64_t rows) {
    struct sw_meta *mt = &c->meta;
    if (rows <= mt->rows) return AS_OK;
    for (int k = 0; k < mt->n; k++) {
        as_status ret = col_grow(c, &mt->cols[k], mt->rows, rows);
        if (ret != AS_OK) return ret;
    }
    mt->rows = rows;
    return AS_OK;
}

as_status sw_meta_column(struct sw_ctx *c, const char *name, size_t len, struct sw_where w,
                         int *col) {
    struct sw_meta *mt = &c->meta;
    for (int k = 0; k < mt->n; k++)
        if (strlen(mt->cols[k].name) == len && !memcmp(mt->cols[k].name, name, len)) {
            *col = k;
            return AS_OK;
        }
    if (!sw_valid_var_name(name, len))
        return where_errf(c, w,
                          "metadata key '%.*s' is not a valid column name; expected letters, "
                          "digits and '_', not starting with a digit, at most %d bytes (so that "
                          "it works as a {placeholder} and a pandas column)",
                          (int)(len > 80 ? 80 : len), name, AS_SWEEP_VAR_MAX);
    char nm[AS_SWEEP_VAR_MAX + 1];
    memcpy(nm, name, len);
    nm[len] = '\0';
    if (as_sweep_column_reserved(nm))
        return where_errf(c, w,
                          "metadata key '%s' is the name of a built-in /sweep column "
                          "(docs/FORMAT.md); expected another name. HINT: rename it, e.g. "
                          "'%s_'",
                          nm, nm);
    if (mt->n >= AS_SWEEP_MAX_COLUMNS)
        return where_errf(c, w,
                          "metadata key '%s' would be column %d; expected at most %d distinct "
                          "keys in a sweep",
                          nm, mt->n + 1, AS_SWEEP_MAX_COLUMNS);
    as_status ret = cells_limit(c, mt->n + 1, c->s->n_prompts, w);
    if (ret != AS_OK) return ret;
    if (mt->n == mt->cap) {
        int cap = mt->cap ? 2 * mt->cap : 8;
        struct sw_mcol *p = realloc(mt->cols, (size_t)cap * sizeof *p);
        if (!p) return SW_OOM(c);
        mt->cols = p;
        mt->cap = cap;
    }
    struct sw_mcol *m = &mt->cols[mt->n];
    memset(m, 0, sizeof *m);
    for (int k = 0; k < 5; k++)
        m->first_at[k] = -1;
    if (!(m->name = sw_arena_strndup(c->arena, name, len))) return SW_OOM(c);
    const struct sw_node *n = &c->t->nodes[w.node];
    m->mark.line = n->line, m->mark.col = n->col;
    mt->n++; /* counted before growing, so that sw_meta_free releases a partial column */
    if (mt->rows > 0 && (ret = col_grow(c, m, 0, mt->rows)) != AS_OK) return ret;
    *col = mt->n - 1;
    return AS_OK;
}

as_status sw_meta_put(struct sw_ctx *c, int col, int64_t prompt, const struct sw_mval *v,
                      struct sw_where w) {
    struct sw_mcol *m = &c->meta.cols[col];
    if (prompt < 0 || prompt >= c->meta.rows)
        return as_err_set(c->err, AS_ERR_INTERNAL, "%s: metadata row %lld out of range", c->s->path,
                          (long long)prompt);
    if (m->kind[prompt] != SW_S_NULL)
        return where_errf(c, w, "metadata key '%s' is given twice for prompt '%s'", m->name,
                          c->s->prompts[prompt].id ? c->s->prompts[prompt].id : "?");
    m->kind[prompt] = (uint8_t)v->kind;
    switch (v->kind) {
    case SW_S_NULL: break;
    case SW_S_BOOL:
    case SW_S_INT: m->val[prompt].i = v->i; break;
    case SW_S_FLOAT: m->val[prompt].f = v->f; break;
    case SW_S_STRING: m->val[prompt].s = v->s; break;
    }
    if (m->first_at[v->kind] < 0) m->first_at[v->kind] = prompt, m->first[v->kind] = w;
    return AS_OK;
}

struct sw_mval sw_meta_get(const struct sw_ctx *c, int col, int64_t prompt) {
    struct sw_mval v = {SW_S_NULL, 0, 0, NULL};
    const struct sw_mcol *m = &c->meta.cols[col];
    if (prompt < 0 || prompt >= c->meta.rows) return v;
    v.kind = (enum sw_scalar)m->kind[prompt];
    if (v.kind == SW_S_BOOL || v.kind == SW_S_INT) v.i = m->val[prompt].i;
    if (v.kind == SW_S_FLOAT) v.f = m->val[prompt].f;
    if (v.kind == SW_S_STRING) v.s = m->val[prompt].s;
    return v;
}

void sw_meta_free(struct sw_meta *m) {
    for (int k = 0; k < m->n; k++) {
        free(m->cols[k].kind);
        free(m->cols[k].val);
    }
    free(m->cols);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ typing */

static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Dictionary-codes a string column: cells[i].i = index of prompt i's value
 * in strs (distinct values, first use first), -1 when missing. */
static as_status code_strings(struct sw_ctx *c, const struct sw_mcol *m, int64_t n,
                              struct as_sweep_column *out) {
    as_status ret = AS_OK;
    size_t cap = 64, used = 0;
    int64_t *slots = NULL, n_strs = 0;
    char **strs = NULL;
    size_t strs_cap = 0;
    if (!(slots = malloc(cap * sizeof *slots))) return SW_OOM(c);
    memset(slots, 0xff, cap * sizeof *slots); /* -1 = empty */
    out->width = 1;
    for (int64_t i = 0; i < n; i++) {
        if (m->kind[i] != SW_S_STRING) {
            out->cells[i].i = -1;
            continue;
        }
        const char *v = m->val[i].s;
        if (2 * (used + 1) > cap) { /* rehash into twice the slots */
            size_t nc = 2 * cap;
            int64_t *ns = malloc(nc * sizeof *ns);
            if (!ns) goto oom;
            memset(ns, 0xff, nc * sizeof *ns);
            for (int64_t k = 0; k < n_strs; k++) {
                size_t h = (size_t)str_hash(strs[k]) & (nc - 1);
                while (ns[h] >= 0)
                    h = (h + 1) & (nc - 1);
                ns[h] = k;
            }
            free(slots);
            slots = ns, cap = nc;
        }
        size_t h = (size_t)str_hash(v) & (cap - 1);
        while (slots[h] >= 0 && strcmp(strs[slots[h]], v))
            h = (h + 1) & (cap - 1);
        if (slots[h] < 0) {
            if ((size_t)n_strs == strs_cap) {
                size_t sc = strs_cap ? 2 * strs_cap : 16;
                char **p = realloc(strs, sc * sizeof *p);
                if (!p) goto oom;
                strs = p, strs_cap = sc;
            }
            strs[n_strs] = (char *)v;
            slots[h] = n_strs++;
            used++;
            size_t w = strlen(v);
            if (w > out->width) out->width = w;
        }
        out->cells[i].i = slots[h];
    }
    out->n_strs = n_strs;
    if (!(out->strs = sw_arena_alloc(c->arena, (size_t)(n_strs ? n_strs : 1) * sizeof *strs)))
        goto oom;
    if (n_strs) memcpy(out->strs, strs, (size_t)n_strs * sizeof *strs);
done:
    free(slots);
    free(strs);
    return ret;
oom:
    ret = SW_OOM(c);
    goto done;
}

as_status sw_meta_finish(struct sw_ctx *c) {
    struct as_sweep *s = c->s;
    struct sw_meta *mt = &c->meta;
    const int64_t n = s->n_prompts;
    as_status ret = AS_OK;
    if (mt->n == 0) return AS_OK;
    if ((ret = sw_meta_reserve(c, n > 0 ? n : 1)) != AS_OK) return ret;
    s->columns = sw_arena_alloc(c->arena, (size_t)mt->n * sizeof *s->columns);
    if (!s->columns) return SW_OOM(c);
    memset(s->columns, 0, (size_t)mt->n * sizeof *s->columns);
    for (int k = 0; k < mt->n; k++) {
        const struct sw_mcol *m = &mt->cols[k];
        struct as_sweep_column *out = &s->columns[k];
        int64_t cnt[5] = {0, 0, 0, 0, 0};
        for (int64_t i = 0; i < n; i++)
            cnt[m->kind[i]]++;
        /* one family per column: booleans, numbers (int and float) or strings */
        static const int fams[3][2] = {
            {SW_S_BOOL, SW_S_BOOL}, {SW_S_INT, SW_S_FLOAT}, {SW_S_STRING, SW_S_STRING}};
        int64_t fa[3];
        int fk[3], a = -1, b = -1;
        for (int f = 0; f < 3; f++) {
            fa[f] = -1, fk[f] = fams[f][0];
            for (int j = 0; j < 2; j++) {
                int64_t at = m->first_at[fams[f][j]];
                if (at >= 0 && (fa[f] < 0 || at < fa[f])) fa[f] = at, fk[f] = fams[f][j];
            }
            if (fa[f] < 0) continue;
            if (a < 0 || fa[f] < fa[a])
                b = a, a = f;
            else if (b < 0 || fa[f] < fa[b])
                b = f;
        }
        if (b >= 0) {
            char at[AS_SWEEP_PATH_MAX * 2 + 128];
            const struct sw_where wa = m->first[fk[a]];
            if (wa.file_line > 0) /* the group and its file: are named at the end already */
                snprintf(at, sizeof at, "%s:%lld", s->groups[wa.g].file, (long long)wa.file_line);
            else
                sw_where_text(c, wa, at, sizeof at);
            return where_errf(c, m->first[fk[b]],
                              "metadata key '%s' is %s here but %s at %s (prompt '%s'); expected "
                              "one type per key: strings, numbers or booleans. HINT: quote the "
                              "values to make them all strings",
                              m->name, kind_names[fk[b]], kind_names[fk[a]], at,
                              s->prompts[fa[a]].id);
        }
        const int have[3] = {fa[0] >= 0, fa[1] >= 0, fa[2] >= 0};
        out->name = m->name;
        out->mark = m->mark;
        out->n_missing = cnt[SW_S_NULL];
        if (!(out->cells = sw_arena_alloc(c->arena, (size_t)(n ? n : 1) * sizeof *out->cells)))
            return SW_OOM(c);
        if (have[0]) {
            out->type = AS_SWEEP_COL_BOOL;
            for (int64_t i = 0; i < n; i++)
                out->cells[i].i = m->kind[i] == SW_S_BOOL ? m->val[i].i : -1;
        } else if (have[2]) {
            out->type = AS_SWEEP_COL_STRING;
            if ((ret = code_strings(c, m, n, out)) != AS_OK) return ret;
        } else if (cnt[SW_S_FLOAT] || cnt[SW_S_NULL] || !have[1]) {
            out->type = AS_SWEEP_COL_FLOAT;
            for (int64_t i = 0; i < n; i++)
                out->cells[i].f = m->kind[i] == SW_S_FLOAT ? m->val[i].f
                                  : m->kind[i] == SW_S_INT ? (double)m->val[i].i
                                                           : NAN;
        } else {
            out->type = AS_SWEEP_COL_INT;
            for (int64_t i = 0; i < n; i++)
                out->cells[i].i = m->val[i].i;
        }
        s->n_columns = k + 1;
    }
    return AS_OK;
}
