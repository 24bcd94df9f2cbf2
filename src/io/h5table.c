/* h5table.c - a struct as_table as one HDF5 group: creation (datasets,
 * dimension scales, CF attributes, data), whole-column reads, and row writes
 * at a batch's offsets.
 *
 * Every column is a contiguous, early-allocated dataset (h5_dcpl_contig), so
 * that ranks write rows independently after creation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5_hl.h>

#include "h5internal.h"

hid_t h5_col_file_type(const struct as_h5file *f, const struct as_col *c) {
    switch (c->type) {
    case AS_COL_F64: return H5Tcopy(H5T_IEEE_F64LE);
    case AS_COL_F32: return H5Tcopy(H5T_IEEE_F32LE);
    case AS_COL_F16: return H5Tcopy(f->f16_type);
    case AS_COL_I64: return H5Tcopy(H5T_STD_I64LE);
    case AS_COL_I32: return H5Tcopy(H5T_STD_I32LE);
    case AS_COL_I8: return H5Tcopy(H5T_STD_I8LE);
    case AS_COL_U8: return H5Tcopy(H5T_STD_U8LE);
    case AS_COL_STR: return h5_str_fixed(c->width);
    }
    return H5I_INVALID_HID;
}

hid_t h5_col_mem_type(const struct as_h5file *f, const struct as_col *c) {
    switch (c->type) {
    case AS_COL_F64: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case AS_COL_F32: return H5Tcopy(H5T_NATIVE_FLOAT);
    case AS_COL_F16: return H5Tcopy(f->f16_type);
    case AS_COL_I64: return H5Tcopy(H5T_NATIVE_INT64);
    case AS_COL_I32: return H5Tcopy(H5T_NATIVE_INT32);
    case AS_COL_I8: return H5Tcopy(H5T_NATIVE_INT8);
    case AS_COL_U8: return H5Tcopy(H5T_NATIVE_UINT8);
    case AS_COL_STR: return h5_str_fixed(c->width);
    }
    return H5I_INVALID_HID;
}

static int is_scale(const struct as_col *c) {
    return c->nd == 1 && strcmp(c->name, c->dims[0]) == 0;
}

/* CF flag attributes: flag_values (same type as the column) and flag_meanings. */
static as_status flag_attrs(struct as_h5file *f, hid_t d, const char *where, const struct as_col *c,
                            struct as_err *err) {
    int n = 1;
    for (const char *p = c->flag_meanings; *p; p++)
        n += *p == ' ';
    if (n > 16) n = 16;
    if (c->type == AS_COL_I8) {
        int8_t v[16];
        for (int i = 0; i < n; i++)
            v[i] = (int8_t)(c->flag_base + i);
        as_status st = h5_attr_i8_array(f, d, where, "flag_values", v, (size_t)n, err);
        if (st != AS_OK) return st;
    }
    return h5_attr_str(f, d, where, "flag_meanings", c->flag_meanings, err);
}

as_status h5_table_create(struct as_h5file *f, hid_t g, const char *where, const struct as_table *t,
                          struct as_err *err) {
    as_status ret = AS_OK;
    hid_t *ds = calloc((size_t)t->n + 1, sizeof *ds);
    hid_t ft = H5I_INVALID_HID, mt = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hid_t dcpl = H5I_INVALID_HID;
    char what[512];
    if (!ds) return as_err_set(err, AS_ERR_NOMEM, "%s: no memory for %s", f->path, where);
    for (int i = 0; i < t->n; i++)
        ds[i] = H5I_INVALID_HID;
    AS_TRY(as_table_check(t, where, err));
    for (int i = 0; i < t->n_attrs; i++) {
        const struct as_table_attr *a = &t->attrs[i];
        switch (a->kind) {
        case AS_ATTR_I64: AS_TRY(h5_attr_i64(f, g, where, a->name, a->i64, err)); break;
        case AS_ATTR_U64: AS_TRY(h5_attr_u64(f, g, where, a->name, a->u64, err)); break;
        case AS_ATTR_F64: AS_TRY(h5_attr_f64(f, g, where, a->name, a->f64, err)); break;
        default: AS_TRY(h5_attr_str(f, g, where, a->name, a->value, err)); break;
        }
    }
    if ((dcpl = h5_dcpl_contig()) < 0) {
        ret = h5_fail(err, f->path, "creating a dataset property list for %s", where);
        goto done;
    }
    for (int i = 0; i < t->n; i++) {
        const struct as_col *c = &t->cols[i];
        hsize_t dims[AS_COL_MAX_DIMS];
        for (int k = 0; k < c->nd; k++)
            dims[k] = (hsize_t)c->shape[k];
        snprintf(what, sizeof what, "%s/%s", where, c->name);
        if ((ft = h5_col_file_type(f, c)) < 0 || (sp = H5Screate_simple(c->nd, dims, NULL)) < 0 ||
            (ds[i] = H5Dcreate2(g, c->name, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0) {
            ret = h5_fail(err, f->path, "creating dataset %s", what);
            goto done;
        }
        if (c->type == AS_COL_STR) AS_TRY(h5_attr_str(f, ds[i], what, "_Encoding", "utf-8", err));
        if (c->sample_dimension[0])
            AS_TRY(h5_attr_str(f, ds[i], what, "sample_dimension", c->sample_dimension, err));
        if (c->flag_meanings[0]) AS_TRY(flag_attrs(f, ds[i], what, c, err));
        if (c->data && as_col_count(c) > 0) {
            if ((mt = h5_col_mem_type(f, c)) < 0 ||
                H5Dwrite(ds[i], mt, H5S_ALL, H5S_ALL, f->dxpl_ind, c->data) < 0) {
                ret = h5_fail(err, f->path, "writing %s", what);
                goto done;
            }
            h5_close_id(&mt);
        }
        if (is_scale(c) && H5DSset_scale(ds[i], c->name) < 0) {
            ret = h5_fail(err, f->path, "marking %s as a dimension scale", what);
            goto done;
        }
        h5_close_id(&sp);
        h5_close_id(&ft);
    }
    /* attach: every axis of every non-scale column to its dimension's scale */
    for (int i = 0; i < t->n; i++) {
        const struct as_col *c = &t->cols[i];
        if (is_scale(c)) continue;
        for (int k = 0; k < c->nd; k++) {
            int s = -1;
            for (int j = 0; j < t->n && s < 0; j++)
                if (is_scale(&t->cols[j]) && !strcmp(t->cols[j].name, c->dims[k])) s = j;
            if (s < 0) continue; /* a dimension without a coordinate (e.g. a flat sample axis) */
            if (H5DSattach_scale(ds[i], ds[s], (unsigned)k) < 0) {
                ret = h5_fail(err, f->path, "attaching scale %s/%s to axis %d of %s/%s", where,
                              t->cols[s].name, k, where, c->name);
                goto done;
            }
        }
    }
done:
    for (int i = 0; i < t->n; i++)
        if (h5_close_id(&ds[i]) < 0 && ret == AS_OK)
            ret = h5_fail(err, f->path, "closing %s/%s", where, t->cols[i].name);
    free(ds);
    h5_close_id(&dcpl);
    h5_close_id(&mt);
    h5_close_id(&sp);
    h5_close_id(&ft);
    return ret;
}

as_status as_h5file_write_table(struct as_h5file *f, const char *group, const struct as_table *t,
                                struct as_err *err) {
    as_status ret = AS_OK;
    hid_t g = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    char where[256];
    snprintf(where, sizeof where, "/%s", group);
    if (f->file <= 0 || !f->writable || f->comm != MPI_COMM_NULL)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: %s can only be written to a file opened serially for writing",
                          f->path, where);
    /* the space it needs must be free before HDF5 writes any of it: HDF5 1.10 cannot close a
     * file whose metadata write failed (and then crashes at MPI_Finalize) */
    double need = 65536.0;
    for (int i = 0; i < t->n; i++)
        need += (double)as_col_count(&t->cols[i]) * (double)as_col_elsize(&t->cols[i]) + 4096.0;
    const double avail = h5_free_bytes(f->path);
    if (avail >= 0 && avail < need)
        return as_err_set(err, AS_ERR_IO,
                          "%s: no space left on device for %s: it needs about %.0f bytes and the "
                          "file system has %.0f free (ENOSPC). HINT: free space, then rerun with "
                          "--resume (or attnsweep reduce): every committed batch is kept",
                          f->path, where, need, avail);
    htri_t ex = H5Lexists(f->file, group, H5P_DEFAULT);
    if (ex < 0 || (ex > 0 && H5Ldelete(f->file, group, H5P_DEFAULT) < 0) ||
        (gcpl = h5_gcpl_ordered()) < 0 ||
        (g = H5Gcreate2(f->file, group, H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "(re)creating %s", where);
        goto done;
    }
    ret = h5_table_create(f, g, where, t, err);
done:
    if (h5_close_id(&g) < 0 && ret == AS_OK) ret = h5_fail(err, f->path, "closing %s", where);
    h5_close_id(&gcpl);
    return ret;
}

int as_h5file_exists(struct as_h5file *f, const char *path) {
    if (f->file <= 0) return -1;
    /* every component must exist for H5Lexists on the full path */
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + (buf[0] == '/'); (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        htri_t e = H5Lexists(f->file, buf, H5P_DEFAULT);
        *p = '/';
        if (e <= 0) return e < 0 ? -1 : 0;
    }
    htri_t e = H5Lexists(f->file, path, H5P_DEFAULT);
    return e < 0 ? -1 : (int)(e > 0);
}

/* The column type of a dataset's file type; -1 if attnsweep never writes it. */
static int col_type_of(hid_t ft, size_t *width) {
    H5T_class_t cl = H5Tget_class(ft);
    size_t sz = H5Tget_size(ft);
    *width = 0;
    if (cl == H5T_FLOAT)
        return sz == 8 ? AS_COL_F64 : sz == 4 ? AS_COL_F32 : sz == 2 ? AS_COL_F16 : -1;
    if (cl == H5T_INTEGER) {
        int sgn = H5Tget_sign(ft) == H5T_SGN_2;
        if (sz == 8 && sgn) return AS_COL_I64;
        if (sz == 4 && sgn) return AS_COL_I32;
        if (sz == 1) return sgn ? AS_COL_I8 : AS_COL_U8;
        return -1;
    }
    if (cl == H5T_STRING && H5Tis_variable_str(ft) == 0 && sz > 0) {
        *width = sz + 1; /* read back NUL-terminated */
        return AS_COL_STR;
    }
    return -1;
}

static const char *const col_type_names[] = {"float64", "float32", "float16", "int64",
                                             "int32",   "int8",    "uint8",   "string"};

as_status as_h5file_read_columns(struct as_h5file *f, const char *group, const char *const *names,
                                 int n, int optional, struct as_table *out, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, ft = H5I_INVALID_HID, sp = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    char path[256];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", group, names[i]);
        int ex = as_h5file_exists(f, path);
        if (ex == 0 && optional) continue;
        if (ex <= 0 || (d = H5Dopen2(f->file, path, f->dapl_ind)) < 0 ||
            (ft = H5Dget_type(d)) < 0 || (sp = H5Dget_space(d)) < 0) {
            ret = ex == 0 ? as_err_set(err, AS_ERR_FORMAT,
                                       "%s: /%s is missing; expected it in a format-%d attnsweep "
                                       "file. HINT: run 'attnsweep reduce' on the file",
                                       f->path, path, AS_H5_FORMAT_VERSION)
                          : h5_fail(err, f->path, "opening /%s", path);
            goto done;
        }
        size_t width = 0;
        int type = col_type_of(ft, &width), nd = H5Sget_simple_extent_ndims(sp);
        hsize_t dims[AS_COL_MAX_DIMS] = {0, 0, 0};
        if (type < 0 || nd < 1 || nd > AS_COL_MAX_DIMS ||
            H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: /%s has an unexpected type or rank %d; expected a 1- to %d-D "
                             "numeric or fixed-length string dataset",
                             f->path, path, nd, AS_COL_MAX_DIMS);
            goto done;
        }
        int64_t shape[AS_COL_MAX_DIMS];
        char dn[3 * AS_COL_NAME_MAX];
        dn[0] = '\0';
        for (int k = 0; k < nd; k++) {
            shape[k] = (int64_t)dims[k];
            size_t o = strlen(dn);
            snprintf(dn + o, sizeof dn - o, "%s%.40s_%d", k ? "," : "", names[i], k);
        }
        struct as_col *c = as_table_add(out, names[i], (enum as_col_type)type, dn, shape, NULL, 0);
        if (!c) {
            ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory reading /%s", f->path, path);
            goto done;
        }
        c->width = width;
        /* CF flags (e.g. a boolean /sweep column: flag_values -1 0 1, "missing false true") */
        if (type == AS_COL_I8 && H5Aexists(d, "flag_meanings") > 0) {
            char *fm = NULL;
            if (h5_attr_read_str(f, d, path, "flag_meanings", &fm, err) != AS_OK) {
                ret = AS_ERR_FORMAT;
                goto done;
            }
            snprintf(c->flag_meanings, sizeof c->flag_meanings, "%s", fm);
            free(fm);
            c->flag_base = 0;
            hid_t fa = H5I_INVALID_HID, fs = H5I_INVALID_HID;
            int8_t fv[16];
            if (H5Aexists(d, "flag_values") > 0 &&
                (fa = H5Aopen(d, "flag_values", H5P_DEFAULT)) >= 0 &&
                (fs = H5Aget_space(fa)) >= 0 && H5Sget_simple_extent_npoints(fs) >= 1 &&
                H5Sget_simple_extent_npoints(fs) <= 16 && H5Aread(fa, H5T_NATIVE_INT8, fv) >= 0)
                c->flag_base = fv[0];
            if (fs >= 0) H5Sclose(fs);
            if (fa >= 0) H5Aclose(fa);
        }
        size_t bytes = 0;
        if (!as_mul_size((size_t)as_col_count(c), as_col_elsize(c), &bytes) ||
            !(c->data = malloc(bytes ? bytes : 1))) {
            ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for /%s (%s, %lld elements)",
                             f->path, path, col_type_names[type], (long long)as_col_count(c));
            goto done;
        }
        c->owned = 1;
        if (bytes > 0) {
            if ((mt = h5_col_mem_type(f, c)) < 0 ||
                (type == AS_COL_STR && H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0) ||
                H5Dread(d, mt, H5S_ALL, H5S_ALL, f->dxpl_ind, c->data) < 0) {
                ret = h5_fail(err, f->path, "reading /%s", path);
                goto done;
            }
        }
        h5_close_id(&mt), h5_close_id(&sp), h5_close_id(&ft), h5_close_id(&d);
    }
done:
    h5_close_id(&mt), h5_close_id(&sp), h5_close_id(&ft), h5_close_id(&d);
    return ret;
}

/* Row offset in the file of a batch whose first prompt is `first`, for a
 * column whose first dimension is `dim`; -1 if unknown. */
static int64_t row_offset(const struct as_h5file *f, const char *dim, int64_t first) {
    if (first < 0 || first > f->n_prompts) return -1;
    if (!strcmp(dim, "prompt")) return first;
    if (!strcmp(dim, "token"))
        return first == f->n_prompts ? f->n_tokens_total : f->prompts[first].tok_start;
    if (!strcmp(dim, "occ")) return f->occ_start ? f->occ_start[first] : -1;
    if (!strcmp(dim, "substr")) return f->substr_start ? f->substr_start[first] : -1;
    if (!strcmp(dim, "span")) return f->span_start ? f->span_start[first] : -1;
    return -1;
}

as_status as_h5file_write_rows(struct as_h5file *f, const char *group, const struct as_table *rows,
                               int64_t first, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    char path[256];
    if (!f->writable) return as_err_set(err, AS_ERR_INVALID, "%s: file is read-only", f->path);
    for (int i = 0; i < rows->n; i++) {
        const struct as_col *c = &rows->cols[i];
        snprintf(path, sizeof path, "%s/%s", group, c->name);
        int64_t off = row_offset(f, c->dims[0], first);
        if (off < 0) {
            ret = as_err_set(err, AS_ERR_INTERNAL,
                             "%s: no row offset for dimension '%s' of /%s (prompt %lld)", f->path,
                             c->dims[0], path, (long long)first);
            goto done;
        }
        if (as_col_count(c) == 0) continue;
        if ((d = H5Dopen2(f->file, path, f->dapl_ind)) < 0 || (fs = H5Dget_space(d)) < 0) {
            ret = h5_fail(err, f->path, "opening /%s", path);
            goto done;
        }
        hsize_t dims[AS_COL_MAX_DIMS] = {0, 0, 0}, start[AS_COL_MAX_DIMS] = {0, 0, 0};
        hsize_t count[AS_COL_MAX_DIMS];
        int nd = H5Sget_simple_extent_ndims(fs);
        H5Sget_simple_extent_dims(fs, dims, NULL);
        int ok = nd == c->nd && (hsize_t)off + (hsize_t)c->shape[0] <= dims[0];
        for (int k = 0; k < c->nd; k++) {
            count[k] = (hsize_t)c->shape[k];
            if (k > 0) ok &= count[k] == dims[k];
        }
        if (!ok) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: /%s has rank %d and %llu rows; cannot write %lld rows at row "
                             "%lld (a batch of rank %d)",
                             f->path, path, nd, (unsigned long long)dims[0], (long long)c->shape[0],
                             (long long)off, c->nd);
            goto done;
        }
        start[0] = (hsize_t)off;
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            (ms = H5Screate_simple(c->nd, count, NULL)) < 0 || (mt = h5_col_mem_type(f, c)) < 0 ||
            H5Dwrite(d, mt, ms, fs, f->dxpl_ind, c->data) < 0) {
            ret = h5_fail(err, f->path, "writing rows %lld..%lld of /%s", (long long)off,
                          (long long)(off + c->shape[0] - 1), path);
            goto done;
        }
        h5_close_id(&mt), h5_close_id(&ms), h5_close_id(&fs), h5_close_id(&d);
    }
done:
    h5_close_id(&mt), h5_close_id(&ms), h5_close_id(&fs), h5_close_id(&d);
    return ret;
}
