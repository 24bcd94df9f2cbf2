/* h5file.c - opening, closing and flushing the output file; the in-memory
 * prompt table (/sweep) and the per-prompt status vector. */
#define _POSIX_C_SOURCE 200809L /* strdup, stat */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5internal.h"

/* ------------------------------------------------------------ names */

int as_store_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "full")) return AS_STORE_FULL;
    if (!strcmp(name, "last_row")) return AS_STORE_LAST_ROW;
    if (!strcmp(name, "none")) return AS_STORE_NONE;
    return -1;
}

const char *as_store_name(enum as_store s) {
    switch (s) {
    case AS_STORE_FULL: return "full";
    case AS_STORE_LAST_ROW: return "last_row";
    case AS_STORE_NONE: return "none";
    }
    return "?";
}

int as_out_dtype_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "float32")) return AS_OUT_F32;
    if (!strcmp(name, "float16")) return AS_OUT_F16;
    return -1;
}

const char *as_out_dtype_name(enum as_out_dtype d) {
    switch (d) {
    case AS_OUT_F32: return "float32";
    case AS_OUT_F16: return "float16";
    }
    return "?";
}

/* Length of the UTF-8 sequence starting at s, or 0 if it is malformed. */
static size_t utf8_seq_len(const unsigned char *s) {
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0)
        n = 2, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        n = 3, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

/* One path component: not empty, not "." / "..", no '/', no control characters, valid UTF-8. */
static as_status id_part_validate(const char *id, const char *part, size_t len,
                                  struct as_err *err) {
    if (len == 0)
        return as_err_set(err, AS_ERR_INVALID,
                          "prompt id '%s' has an empty name part; expected 'name' or "
                          "'group/variant' with non-empty parts",
                          id);
    if ((len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.'))
        return as_err_set(err, AS_ERR_INVALID, "prompt id '%s' is not usable as an HDF5 group name",
                          id);
    const unsigned char *s = (const unsigned char *)part;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x20 || s[i] == 0x7F)
            return as_err_set(err, AS_ERR_INVALID,
                              "prompt id '%s' contains control character 0x%02x", id, s[i]);
        size_t n = utf8_seq_len(s + i);
        if (n == 0 || i + n > len)
            return as_err_set(err, AS_ERR_INVALID, "prompt id contains invalid UTF-8 at byte %zu",
                              (size_t)(part - id) + i);
        i += n;
    }
    return AS_OK;
}

as_status as_h5_id_validate(const char *id, struct as_err *err) {
    if (!id || !id[0])
        return as_err_set(err, AS_ERR_INVALID, "prompt id is empty; expected a non-empty name");
    size_t len = strlen(id);
    if (len >= AS_H5_ID_MAX)
        return as_err_set(err, AS_ERR_INVALID, "prompt id '%.40s...' is %zu bytes; expected < %d",
                          id, len, AS_H5_ID_MAX);
    /* "name" or "group/variant": at most one '/', which makes a nested group */
    const char *slash = strchr(id, '/');
    if (slash && strchr(slash + 1, '/'))
        return as_err_set(err, AS_ERR_INVALID,
                          "prompt id '%s' contains more than one '/'; expected 'name' or "
                          "'group/variant'. HINT: use '_' or '-' inside names",
                          id);
    if (!slash) return id_part_validate(id, id, len, err);
    as_status st = id_part_validate(id, id, (size_t)(slash - id), err);
    if (st != AS_OK) return st;
    return id_part_validate(id, slash + 1, len - (size_t)(slash - id) - 1, err);
}

/* ------------------------------------------------------------ open / close */

static void h5file_reset(struct as_h5file *f) {
    memset(f, 0, sizeof *f);
    f->file = f->fapl = f->dxpl_ind = f->dapl_ind = f->gapl_ind = H5I_INVALID_HID;
    f->f16_type = f->status_dset = H5I_INVALID_HID;
    f->comm = MPI_COMM_NULL;
    f->size = 1;
}

/* Everything that does not touch the file: communicator, property lists, types.
 * coll_md: make metadata reads collective by default (writers only). */
static as_status h5file_setup(struct as_h5file *f, const char *path, MPI_Comm comm, int coll_md,
                              struct as_err *err) {
    as_status ret = AS_OK;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through as_err */
    if (!path || !path[0]) return as_err_set(err, AS_ERR_INVALID, "output path is empty");
    if (strlen(path) >= sizeof f->path)
        return as_err_set(err, AS_ERR_INVALID, "output path is %zu bytes; expected < %zu",
                          strlen(path), sizeof f->path);
    snprintf(f->path, sizeof f->path, "%s", path);
    if (comm != MPI_COMM_NULL) {
        if (MPI_Comm_dup(comm, &f->comm) != MPI_SUCCESS) {
            f->comm = MPI_COMM_NULL;
            return as_err_set(err, AS_ERR_MPI, "%s: MPI_Comm_dup failed", path);
        }
        MPI_Comm_set_errhandler(f->comm, MPI_ERRORS_RETURN);
        MPI_Comm_rank(f->comm, &f->rank);
        MPI_Comm_size(f->comm, &f->size);
    }
    if ((f->fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_libver_bounds(f->fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) {
        ret = h5_fail(err, path, "creating the file access property list");
        goto done;
    }
    if (f->comm != MPI_COMM_NULL) {
        if (H5Pset_fapl_mpio(f->fapl, f->comm, MPI_INFO_NULL) < 0 ||
            H5Pset_coll_metadata_write(f->fapl, 1) < 0 ||
            H5Pset_fclose_degree(f->fapl, H5F_CLOSE_STRONG) < 0 ||
            H5Pset_all_coll_metadata_ops(f->fapl, coll_md ? 1 : 0) < 0) {
            ret = h5_fail(err, path, "setting up MPI-IO file access");
            goto done;
        }
    }
    if ((f->dxpl_ind = H5Pcreate(H5P_DATASET_XFER)) < 0 ||
        (f->dapl_ind = H5Pcreate(H5P_DATASET_ACCESS)) < 0 ||
        (f->gapl_ind = H5Pcreate(H5P_GROUP_ACCESS)) < 0) {
        ret = h5_fail(err, path, "creating property lists");
        goto done;
    }
    if (f->comm != MPI_COMM_NULL) {
        if (H5Pset_dxpl_mpio(f->dxpl_ind, H5FD_MPIO_INDEPENDENT) < 0 ||
            H5Pset_all_coll_metadata_ops(f->dapl_ind, 0) < 0 ||
            H5Pset_all_coll_metadata_ops(f->gapl_ind, 0) < 0) {
            ret = h5_fail(err, path, "setting up independent access property lists");
            goto done;
        }
    }
    /* IEEE binary16 exactly as h5py builds it, so that h5py/numpy see float16. */
    if ((f->f16_type = H5Tcopy(H5T_IEEE_F32LE)) < 0 ||
        H5Tset_fields(f->f16_type, 15, 10, 5, 0, 10) < 0 || H5Tset_size(f->f16_type, 2) < 0 ||
        H5Tset_ebias(f->f16_type, 15) < 0) {
        ret = h5_fail(err, path, "creating the float16 type");
        goto done;
    }
done:
    return ret;
}

/* Releases handles without touching the file contents (used on failed opens). */
static int h5file_release(struct as_h5file *f) {
    int bad = 0;
    bad |= h5_close_id(&f->status_dset);
    bad |= h5_close_id(&f->file);
    bad |= h5_close_id(&f->f16_type);
    bad |= h5_close_id(&f->gapl_ind);
    bad |= h5_close_id(&f->dapl_ind);
    bad |= h5_close_id(&f->dxpl_ind);
    bad |= h5_close_id(&f->fapl);
    if (f->comm != MPI_COMM_NULL) MPI_Comm_free(&f->comm);
    free(f->prompts);
    h5file_reset(f);
    return bad;
}

as_status as_h5file_create(struct as_h5file *f, const char *path, MPI_Comm comm, int force,
                           struct as_err *err) {
    as_status ret = AS_OK;
    struct as_err local;
    hid_t fcpl = H5I_INVALID_HID;
    if (!err) err = &local;
    h5file_reset(f);
    AS_TRY(h5file_setup(f, path, comm, 1, err));
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) goto done;

    /* Rank 0 decides whether the file exists, so every rank takes the same branch. */
    int exists = 0;
    if (f->rank == 0) {
        struct stat st;
        exists = stat(path, &st) == 0;
    }
    if (f->comm != MPI_COMM_NULL && MPI_Bcast(&exists, 1, MPI_INT, 0, f->comm) != MPI_SUCCESS) {
        ret = as_err_set(err, AS_ERR_MPI, "%s: MPI_Bcast failed", path);
        goto done;
    }
    if (exists && !force) {
        ret = as_err_set(err, AS_ERR_EXISTS,
                         "%s: output file already exists; refusing to overwrite it. HINT: pass "
                         "--force to overwrite, or --resume to continue it",
                         path);
        goto done;
    }
    if ((fcpl = H5Pcreate(H5P_FILE_CREATE)) < 0 ||
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_obj_track_times(fcpl, 0) < 0) {
        ret = h5_fail(err, path, "creating the file creation property list");
        goto done;
    }
    /* EXCL closes the race between the check above and the create. */
    f->file = H5Fcreate(path, force ? H5F_ACC_TRUNC : H5F_ACC_EXCL, fcpl, f->fapl);
    if (f->file < 0) {
        ret = h5_fail(err, path, "creating the output file");
        struct stat st;
        if (!force && stat(path, &st) == 0) /* someone created it after our check */
            ret = as_err_set(err, AS_ERR_EXISTS,
                             "%s: output file already exists; refusing to overwrite it. HINT: "
                             "pass --force to overwrite",
                             path);
        goto done;
    }
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) goto done;
    f->writable = 1;
    AS_TRY(h5_attr_str(f, f->file, "/", "format", AS_H5_FORMAT_NAME, err));
    AS_TRY(h5_attr_i32(f, f->file, "/", "format_version", AS_H5_FORMAT_VERSION, err));
done:
    h5_close_id(&fcpl);
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) h5file_release(f);
    return ret;
}

static as_status h5file_open(struct as_h5file *f, const char *path, MPI_Comm comm, int rw,
                             struct as_err *err) {
    as_status ret = AS_OK;
    char *fmt = NULL;
    hid_t a = H5I_INVALID_HID;
    h5file_reset(f);
    AS_TRY(h5file_setup(f, path, comm, rw, err));
    f->file = H5Fopen(path, rw ? H5F_ACC_RDWR : H5F_ACC_RDONLY, f->fapl);
    if (f->file < 0) {
        ret = h5_fail(err, path, "opening the file %s", rw ? "for writing" : "for reading");
        goto done;
    }
    f->writable = rw;
    ret = h5_attr_read_str(f, f->file, "/", "format", &fmt, err);
    if (ret != AS_OK || strcmp(fmt, AS_H5_FORMAT_NAME) != 0) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: not an attnsweep output file (root attribute 'format' is %s%s%s; "
                         "expected \"%s\")",
                         path, fmt ? "\"" : "missing", fmt ? fmt : "", fmt ? "\"" : "",
                         AS_H5_FORMAT_NAME);
        goto done;
    }
    int32_t version = 0;
    if ((a = H5Aopen(f->file, "format_version", H5P_DEFAULT)) < 0 ||
        H5Aread(a, H5T_NATIVE_INT32, &version) < 0) {
        ret = h5_fail(err, path, "reading root attribute 'format_version'");
        goto done;
    }
    if (version != AS_H5_FORMAT_VERSION) {
        ret = as_err_set(err, AS_ERR_UNSUPPORTED,
                         "%s: format_version is %d; this attnsweep reads version %d", path,
                         (int)version, AS_H5_FORMAT_VERSION);
        goto done;
    }
    AS_TRY(h5_table_load(f, err));
done:
    free(fmt);
    h5_close_id(&a);
    return ret;
}

as_status as_h5file_open_rw(struct as_h5file *f, const char *path, MPI_Comm comm,
                            struct as_err *err) {
    struct as_err local;
    if (!err) err = &local;
    as_status ret = h5file_open(f, path, comm, 1, err);
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) h5file_release(f);
    return ret;
}

as_status as_h5file_open_read(struct as_h5file *f, const char *path, MPI_Comm comm,
                              struct as_err *err) {
    struct as_err local;
    if (!err) err = &local;
    as_status ret = h5file_open(f, path, comm, 0, err);
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) h5file_release(f);
    return ret;
}

as_status as_h5file_flush(struct as_h5file *f, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_err local;
    if (!err) err = &local;
    if (f->file <= 0) return as_err_set(err, AS_ERR_INVALID, "flush of a file that is not open");
    if (f->writable && H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0)
        ret = h5_fail(err, f->path, "flushing the file");
    return h5_agree(f, ret, err);
}

as_status as_h5file_close(struct as_h5file *f, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_err local;
    if (!err) err = &local;
    if (f->file <= 0 && f->fapl <= 0) { /* never opened (zeroed or already closed) */
        free(f->prompts);
        h5file_reset(f);
        return AS_OK;
    }
    if (h5_close_id(&f->status_dset) < 0) ret = h5_fail(err, f->path, "closing /sweep/status");
    if (h5_close_id(&f->file) < 0 && ret == AS_OK) ret = h5_fail(err, f->path, "closing the file");
    ret = h5_agree(f, ret, err);
    if (h5file_release(f) != 0 && ret == AS_OK)
        ret = as_err_set(err, AS_ERR_HDF5, "closing HDF5 property lists failed");
    return ret;
}

/* ------------------------------------------------------------ prompt table */

int64_t as_h5file_find_prompt(const struct as_h5file *f, const char *id) {
    if (!id) return -1;
    for (int64_t i = 0; i < f->n_prompts; i++)
        if (!strcmp(f->prompts[i].id, id)) return i;
    return -1;
}

/* Reads one int32/int8 column of /sweep into out (n values, converted to int32). */
static as_status h5_column_read_i32(struct as_h5file *f, hid_t sweep, const char *name, int64_t n,
                                    int32_t *out, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, s = H5I_INVALID_HID;
    if ((d = H5Dopen2(sweep, name, H5P_DEFAULT)) < 0 || (s = H5Dget_space(d)) < 0) {
        ret = h5_fail(err, f->path, "opening /sweep/%s", name);
        goto done;
    }
    if (H5Sget_simple_extent_ndims(s) != 1 || H5Sget_simple_extent_npoints(s) != n) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: /sweep/%s has %lld elements; expected %lld",
                         f->path, name, (long long)H5Sget_simple_extent_npoints(s), (long long)n);
        goto done;
    }
    if (n > 0 && H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, f->dxpl_ind, out) < 0) {
        ret = h5_fail(err, f->path, "reading /sweep/%s", name);
        goto done;
    }
done:
    h5_close_id(&s);
    h5_close_id(&d);
    return ret;
}

as_status h5_table_load(struct as_h5file *f, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t sweep = H5I_INVALID_HID, d = H5I_INVALID_HID, s = H5I_INVALID_HID;
    hid_t ft = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    char *ids = NULL;
    int32_t *col = NULL;
    if ((sweep = H5Gopen2(f->file, "sweep", H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "opening group /sweep (the prompt table)");
        goto done;
    }
    if ((d = H5Dopen2(sweep, "prompt", H5P_DEFAULT)) < 0 || (s = H5Dget_space(d)) < 0 ||
        (ft = H5Dget_type(d)) < 0) {
        ret = h5_fail(err, f->path, "opening /sweep/prompt");
        goto done;
    }
    hssize_t n = H5Sget_simple_extent_npoints(s);
    size_t w = H5Tget_size(ft);
    if (H5Tget_class(ft) != H5T_STRING || H5Tis_variable_str(ft) != 0 || w == 0 ||
        w >= AS_H5_ID_MAX || n < 0 || H5Sget_simple_extent_ndims(s) != 1) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: /sweep/prompt is not a 1-D fixed-length string dataset of width "
                         "< %d",
                         f->path, AS_H5_ID_MAX);
        goto done;
    }
    size_t nn = (size_t)n, bytes = 0;
    if (!as_mul_size(nn ? nn : 1, w, &bytes) || !(ids = calloc(bytes, 1)) ||
        !(col = calloc(nn ? nn : 1, sizeof *col)) ||
        !(f->prompts = calloc(nn ? nn : 1, sizeof *f->prompts))) {
        ret =
            as_err_set(err, AS_ERR_NOMEM, "%s: no memory for a table of %zu prompts", f->path, nn);
        goto done;
    }
    f->n_prompts = n;
    if ((mt = h5_str_fixed(w)) < 0 ||
        (n > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, f->dxpl_ind, ids) < 0)) {
        ret = h5_fail(err, f->path, "reading /sweep/prompt");
        goto done;
    }
    for (size_t i = 0; i < nn; i++) {
        memcpy(f->prompts[i].id, ids + i * w, w);
        f->prompts[i].id[w] = '\0';
    }
    static const char *cols[] = {"n_tokens", "n_layers", "n_heads", "store", "dtype", "rank"};
    for (int c = 0; c < 6; c++) {
        AS_TRY(h5_column_read_i32(f, sweep, cols[c], n, col, err));
        for (size_t i = 0; i < nn; i++) {
            struct as_h5_prompt_info *p = &f->prompts[i];
            int32_t v = col[i];
            int ok = 1;
            switch (c) {
            case 0: p->n_tokens = v, ok = v >= 1; break;
            case 1: p->n_layers = v, ok = v >= 1; break;
            case 2: p->n_heads = v, ok = v >= 1; break;
            case 3: p->store = (enum as_store)v, ok = v >= 0 && v <= AS_STORE_NONE; break;
            case 4: p->dtype = (enum as_out_dtype)v, ok = v == AS_OUT_F32 || v == AS_OUT_F16; break;
            case 5: p->rank = v; break;
            }
            if (!ok) {
                ret = as_err_set(err, AS_ERR_FORMAT, "%s: /sweep/%s[%zu] = %d is out of range",
                                 f->path, cols[c], i, (int)v);
                goto done;
            }
        }
    }
    if ((f->status_dset = H5Dopen2(sweep, "status", H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "opening /sweep/status");
        goto done;
    }
done:
    free(ids);
    free(col);
    h5_close_id(&mt);
    h5_close_id(&ft);
    h5_close_id(&s);
    h5_close_id(&d);
    h5_close_id(&sweep);
    return ret;
}

/* ------------------------------------------------------------ status vector */

as_status as_h5file_set_status(struct as_h5file *f, int64_t index, enum as_prompt_status st,
                               struct as_err *err) {
    as_status ret = AS_OK;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    if (!f->writable || f->status_dset <= 0)
        return as_err_set(err, AS_ERR_INVALID, "%s: /sweep/status is not open for writing",
                          f->path);
    if (index < 0 || index >= f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID, "%s: prompt index %lld out of range [0, %lld)",
                          f->path, (long long)index, (long long)f->n_prompts);
    int8_t v = (int8_t)st;
    hsize_t start[1] = {(hsize_t)index}, count[1] = {1};
    if ((fs = H5Dget_space(f->status_dset)) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (ms = H5Screate_simple(1, count, NULL)) < 0 ||
        H5Dwrite(f->status_dset, H5T_NATIVE_INT8, ms, fs, f->dxpl_ind, &v) < 0) {
        ret = h5_fail(err, f->path, "writing /sweep/status[%lld] (prompt '%s')", (long long)index,
                      f->prompts[index].id);
        goto done;
    }
done:
    h5_close_id(&ms);
    h5_close_id(&fs);
    return ret;
}

as_status as_h5file_read_status(struct as_h5file *f, int8_t *out, struct as_err *err) {
    if (f->status_dset <= 0)
        return as_err_set(err, AS_ERR_INVALID, "%s: /sweep/status is not open", f->path);
    if (f->n_prompts == 0) return AS_OK;
    if (H5Dread(f->status_dset, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, f->dxpl_ind, out) < 0)
        return h5_fail(err, f->path, "reading /sweep/status");
    return AS_OK;
}
