/* table.h - a group of named columns with named dimensions: how computing
 * modules (src/reduce/) describe what they produce without calling HDF5.
 *
 * A table is what one HDF5 group of the output file holds (docs/FORMAT.md):
 * a list of columns, each a C-order array of one element type whose axes
 * are named dimensions. src/io/ writes a table as datasets; a 1-D column
 * whose name equals its dimension's name becomes that dimension's scale
 * (coordinate), and every axis of every column is attached to the scale of
 * its dimension, so xarray (h5netcdf) opens the group with named dims.
 *
 * Ownership: struct as_table owns its columns and, when a column is added
 * with a copy (as_table_add_*), the column's data. */
#ifndef ATTNSWEEP_TABLE_H
#define ATTNSWEEP_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum as_col_type {
    AS_COL_F64 = 0,
    AS_COL_F32 = 1,
    AS_COL_F16 = 2, /* IEEE binary16, data as uint16_t */
    AS_COL_I64 = 3,
    AS_COL_I32 = 4,
    AS_COL_I8 = 5,
    AS_COL_U8 = 6,
    AS_COL_STR = 7 /* fixed-length UTF-8; data: `width`-byte null-padded records */
};

#define AS_COL_NAME_MAX 64
#define AS_COL_MAX_DIMS 3

struct as_col {
    char name[AS_COL_NAME_MAX];
    enum as_col_type type;
    size_t width;                                /* AS_COL_STR: bytes per element (>= 1) */
    int nd;                                      /* 1..AS_COL_MAX_DIMS */
    char dims[AS_COL_MAX_DIMS][AS_COL_NAME_MAX]; /* dimension names */
    int64_t shape[AS_COL_MAX_DIMS];
    void *data; /* C-order elements, or NULL: the dataset is only allocated */
    int owned;  /* data is freed by as_table_free */
    /* CF attributes (optional, "" = none) */
    char sample_dimension[AS_COL_NAME_MAX]; /* this column counts the rows of that dimension */
    char flag_meanings[96];                 /* space-separated names of values 0, 1, 2, ... */
    int flag_base;                          /* the value of the first flag meaning */
};

#define AS_TABLE_MAX_ATTRS 8

/* What an attribute of a table's group holds. */
enum as_attr_kind { AS_ATTR_STR = 0, AS_ATTR_I64 = 1, AS_ATTR_U64 = 2, AS_ATTR_F64 = 3 };

/* An attribute of the group that holds the table: a string or one number. */
struct as_table_attr {
    char name[AS_COL_NAME_MAX];
    enum as_attr_kind kind;
    char value[256]; /* AS_ATTR_STR */
    int64_t i64;     /* AS_ATTR_I64 */
    uint64_t u64;    /* AS_ATTR_U64 */
    double f64;      /* AS_ATTR_F64 */
};

struct as_table {
    struct as_col *cols; /* (n) */
    int n, cap;
    struct as_table_attr attrs[AS_TABLE_MAX_ATTRS]; /* (n_attrs) */
    int n_attrs;
    int oom; /* an add failed (out of memory, or a bad name / dims / shape): as_table_check
                reports it */
};

void as_table_init(struct as_table *t);
void as_table_free(struct as_table *t);

/* Adds a column; data (may be NULL) is copied when copy != 0, else borrowed
 * (it must outlive the table's use). dims is a comma-separated list of
 * dimension names, e.g. "prompt,layer,head"; shape has one entry per name.
 * AS_COL_STR: the column gets width 1; set c->width yourself (a copy needs
 * the width first, so copy != 0 with data is refused: use
 * as_table_add_strings, or borrow and set c->owned).
 * Returns the column (NULL when out of memory or on bad arguments; t->oom is
 * then set). */
struct as_col *as_table_add(struct as_table *t, const char *name, enum as_col_type type,
                            const char *dims, const int64_t *shape, const void *data, int copy);
/* Adds a column that takes ownership of data (malloc'd; freed by as_table_free,
 * or at once when the add fails). data == NULL marks the table oom. */
struct as_col *as_table_add_owned(struct as_table *t, const char *name, enum as_col_type type,
                                  const char *dims, const int64_t *shape, void *data);
/* Adds a fixed-length string column from n C strings (NULL entries = ""):
 * the width is the longest string (>= 1). The packed data is owned. */
struct as_col *as_table_add_strings(struct as_table *t, const char *name, const char *dims,
                                    const int64_t *shape, const char *const *strs);
/* Adds a 1-D int32 scale 0..n-1 named like its dimension. */
struct as_col *as_table_add_range(struct as_table *t, const char *dim, int64_t n);
/* Sets a string attribute of the table's group (at most AS_TABLE_MAX_ATTRS;
 * values longer than 255 bytes are an error: t->oom). */
void as_table_set_attr(struct as_table *t, const char *name, const char *value);
/* Numeric attributes of the table's group (scalar int64, uint64 or float64). */
void as_table_set_attr_i64(struct as_table *t, const char *name, int64_t value);
void as_table_set_attr_u64(struct as_table *t, const char *name, uint64_t value);
void as_table_set_attr_f64(struct as_table *t, const char *name, double value);
/* The column named name, or NULL. */
const struct as_col *as_table_find(const struct as_table *t, const char *name);
/* AS_ERR_NOMEM if an add failed, AS_ERR_INVALID if a dimension is used
 * with two lengths (names the columns), two columns share a name, or a
 * string column has width 0; else AS_OK. */
as_status as_table_check(const struct as_table *t, const char *what, struct as_err *err);

size_t as_col_elsize(const struct as_col *c);
int64_t as_col_count(const struct as_col *c); /* product of the shape */

#ifdef __cplusplus
}
#endif
#endif
