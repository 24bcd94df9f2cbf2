/* table.c - named columns with named dimensions (include/attnsweep/table.h).
 * Pure bookkeeping: no HDF5. A failed add (out of memory, or arguments no
 * column can have) sets t->oom, so builders can add every column and check
 * once with as_table_check. */
#include "attnsweep/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void as_table_init(struct as_table *t) {
    memset(t, 0, sizeof *t);
}

void as_table_free(struct as_table *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++)
        if (t->cols[i].owned) free(t->cols[i].data);
    free(t->cols);
    memset(t, 0, sizeof *t);
}

size_t as_col_elsize(const struct as_col *c) {
    switch (c->type) {
    case AS_COL_F64: return 8;
    case AS_COL_F32: return 4;
    case AS_COL_F16: return 2;
    case AS_COL_I64: return 8;
    case AS_COL_I32: return 4;
    case AS_COL_I8: return 1;
    case AS_COL_U8: return 1;
    case AS_COL_STR: return c->width;
    }
    return 0;
}

int64_t as_col_count(const struct as_col *c) {
    int64_t n = 1;
    for (int i = 0; i < c->nd; i++)
        n *= c->shape[i];
    return n;
}

/* Splits "a,b,c" into c->dims; returns the number of names, or -1 when there
 * are too many, one is empty or one is too long. */
static int parse_dims(struct as_col *c, const char *dims) {
    int nd = 0;
    const char *p = dims;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (nd == AS_COL_MAX_DIMS || len == 0 || len >= AS_COL_NAME_MAX) return -1;
        memcpy(c->dims[nd], p, len);
        c->dims[nd][len] = '\0';
        nd++;
        if (!e) break;
        p = e + 1;
    }
    return nd;
}

/* A new zeroed column at the end of t, or NULL (t->oom set). */
static struct as_col *push(struct as_table *t) {
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 32;
        struct as_col *nc = realloc(t->cols, (size_t)cap * sizeof *nc);
        if (!nc) {
            t->oom = 1;
            return NULL;
        }
        t->cols = nc, t->cap = cap;
    }
    struct as_col *c = &t->cols[t->n];
    memset(c, 0, sizeof *c);
    return c;
}

struct as_col *as_table_add(struct as_table *t, const char *name, enum as_col_type type,
                            const char *dims, const int64_t *shape, const void *data, int copy) {
    struct as_col *c = push(t);
    if (!c) return NULL;
    size_t nl = name ? strlen(name) : 0;
    /* A string column's width is not an argument: it is 1 here and the caller
     * sets it; copying needs the width first, so copy it with add_strings. */
    int bad = nl == 0 || nl >= AS_COL_NAME_MAX || !dims || (int)type < AS_COL_F64 ||
              type > AS_COL_STR || (type == AS_COL_STR && copy && data);
    if (!bad) {
        memcpy(c->name, name, nl + 1);
        c->type = type;
        c->width = type == AS_COL_STR ? 1 : 0;
        c->nd = parse_dims(c, dims);
        bad = c->nd < 1 || !shape;
        for (int i = 0; !bad && i < c->nd; i++) {
            c->shape[i] = shape[i];
            bad = shape[i] < 0;
        }
    }
    if (bad) {
        t->oom = 1;
        return NULL;
    }
    if (data && copy) {
        size_t bytes = (size_t)as_col_count(c) * as_col_elsize(c);
        void *d = malloc(bytes ? bytes : 1);
        if (!d) {
            t->oom = 1;
            return NULL;
        }
        memcpy(d, data, bytes);
        c->data = d, c->owned = 1;
    } else {
        c->data = (void *)data;
    }
    t->n++;
    return c;
}

struct as_col *as_table_add_strings(struct as_table *t, const char *name, const char *dims,
                                    const int64_t *shape, const char *const *strs) {
    struct as_col *c = as_table_add(t, name, AS_COL_STR, dims, shape, NULL, 0);
    if (!c) return NULL;
    const size_t n = (size_t)as_col_count(c);
    size_t w = 1;
    for (size_t i = 0; strs && i < n; i++) {
        size_t len = strs[i] ? strlen(strs[i]) : 0;
        if (len > w) w = len;
    }
    char *b = calloc(n ? n : 1, w); /* null-padded: the longest string fills its record */
    if (!b) {
        t->n--;
        t->oom = 1;
        return NULL;
    }
    for (size_t i = 0; strs && i < n; i++)
        if (strs[i]) memcpy(b + i * w, strs[i], strlen(strs[i]));
    c->width = w, c->data = b, c->owned = 1;
    return c;
}

struct as_col *as_table_add_range(struct as_table *t, const char *dim, int64_t n) {
    const int64_t shape[1] = {n};
    struct as_col *c = as_table_add(t, dim, AS_COL_I32, dim, shape, NULL, 0);
    if (!c) return NULL;
    int32_t *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) {
        t->n--;
        t->oom = 1;
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        v[i] = (int32_t)i;
    c->data = v, c->owned = 1;
    return c;
}

const struct as_col *as_table_find(const struct as_table *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->cols[i].name, name)) return &t->cols[i];
    return NULL;
}

as_status as_table_check(const struct as_table *t, const char *what, struct as_err *err) {
    if (!what) what = "table";
    if (t->oom)
        return as_err_set(err, AS_ERR_NOMEM,
                          "%s: a column could not be added (out of memory, or a bad name, "
                          "dimension list or shape)",
                          what);
    /* quadratic in the column count (a few dozen), independent of the data size */
    for (int i = 0; i < t->n; i++) {
        const struct as_col *a = &t->cols[i];
        for (int j = 0; j < i; j++)
            if (!strcmp(a->name, t->cols[j].name))
                return as_err_set(err, AS_ERR_INVALID, "%s: two columns are named '%s'", what,
                                  a->name);
        if (a->type == AS_COL_STR && a->width < 1)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s: string column '%s' has width 0; expected >= 1", what, a->name);
        for (int k = 0; k < a->nd; k++)
            for (int j = 0; j <= i; j++) {
                const struct as_col *b = &t->cols[j];
                for (int m = 0; m < b->nd; m++)
                    if (!strcmp(a->dims[k], b->dims[m]) && a->shape[k] != b->shape[m])
                        return as_err_set(err, AS_ERR_INVALID,
                                          "%s: dimension '%s' has length %lld in column '%s' "
                                          "but %lld in column '%s'; a dimension has one length",
                                          what, a->dims[k], (long long)a->shape[k], a->name,
                                          (long long)b->shape[m], b->name);
            }
    }
    return AS_OK;
}

struct as_col *as_table_add_owned(struct as_table *t, const char *name, enum as_col_type type,
                                  const char *dims, const int64_t *shape, void *data) {
    if (!data) {
        t->oom = 1;
        return NULL;
    }
    struct as_col *c = as_table_add(t, name, type, dims, shape, data, 0);
    if (!c) {
        free(data);
        return NULL;
    }
    c->owned = 1;
    return c;
}

/* The next attribute slot, named (NULL and t->oom set when full or the name is too long). */
static struct as_table_attr *attr_push(struct as_table *t, const char *name,
                                       enum as_attr_kind kind) {
    if (t->n_attrs >= AS_TABLE_MAX_ATTRS || strlen(name) >= AS_COL_NAME_MAX) {
        t->oom = 1;
        return NULL;
    }
    struct as_table_attr *a = &t->attrs[t->n_attrs++];
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->kind = kind;
    return a;
}

void as_table_set_attr(struct as_table *t, const char *name, const char *value) {
    if (strlen(value) >= sizeof t->attrs[0].value) {
        t->oom = 1;
        return;
    }
    struct as_table_attr *a = attr_push(t, name, AS_ATTR_STR);
    if (a) snprintf(a->value, sizeof a->value, "%s", value);
}

void as_table_set_attr_i64(struct as_table *t, const char *name, int64_t value) {
    struct as_table_attr *a = attr_push(t, name, AS_ATTR_I64);
    if (a) a->i64 = value;
}

void as_table_set_attr_u64(struct as_table *t, const char *name, uint64_t value) {
    struct as_table_attr *a = attr_push(t, name, AS_ATTR_U64);
    if (a) a->u64 = value;
}

void as_table_set_attr_f64(struct as_table *t, const char *name, double value) {
    struct as_table_attr *a = attr_push(t, name, AS_ATTR_F64);
    if (a) a->f64 = value;
}
