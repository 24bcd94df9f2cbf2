/* h5util.c - HDF5 error capture, cross-rank agreement, property lists,
 * string types and attribute helpers for the output file (see h5internal.h). */
#define _POSIX_C_SOURCE 200809L /* strdup, stat */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "attnsweep/agree.h"
#include "h5internal.h"

/* ------------------------------------------------------------ errors */

struct h5_walk {
    char text[512];
    int found;
};

/* Walking upward, entry 0 is the innermost error: where HDF5 first detected it. */
static herr_t h5_walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
    struct h5_walk *w = data;
    (void)n;
    if (w->found) return 0;
    char minor[160] = "";
    if (H5Eget_msg(e->min_num, NULL, minor, sizeof minor) < 0) minor[0] = '\0';
    snprintf(w->text, sizeof w->text, "%s%s%s%s", e->desc ? e->desc : "", minor[0] ? " (" : "",
             minor, minor[0] ? ")" : "");
    w->found = 1;
    return 0;
}

/* Walks the whole stack: does any entry say the disk is full? */
static herr_t h5_nospace_cb(unsigned n, const H5E_error2_t *e, void *data) {
    (void)n;
    if (e->desc && (strstr(e->desc, "No space left") || strstr(e->desc, "NO_SPACE") ||
                    strstr(e->desc, "Disk quota") || strstr(e->desc, "QUOTA")))
        *(int *)data = 1;
    return 0;
}

as_status h5_fail(struct as_err *err, const char *path, const char *fmt, ...) {
    const int e0 = errno; /* what the failed system call (under HDF5 / MPI-IO) left */
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    struct h5_walk w = {.text = "", .found = 0};
    int full = e0 == ENOSPC || e0 == EDQUOT;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_walk_cb, &w);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, h5_nospace_cb, &full);
    H5Eclear2(H5E_DEFAULT);
    if (!full && w.found && strstr(w.text, "write failed")) {
        /* MPI-IO does not always pass errno up: a write that failed on a file system with
         * (almost) no space left failed for that reason */
        double avail = h5_free_bytes(path);
        full = avail >= 0 && avail < 65536.0;
    }
    const char *hint = ". HINT: free space on the output's file system, then rerun with "
                       "--resume: every committed batch is kept";
    if (full) /* HDF5's own text is a dump of the failed write: the cause says it better */
        return as_err_set(err, AS_ERR_IO, "%s: %s: no space left on device (ENOSPC)%s", path, what,
                          hint);
    if (w.found) return as_err_set(err, AS_ERR_HDF5, "%s: %s: HDF5: %s", path, what, w.text);
    return as_err_set(err, AS_ERR_HDF5, "%s: %s", path, what);
}

as_status h5_agree(const struct as_h5file *f, as_status st, struct as_err *err) {
    return as_mpi_agree(f->comm, st, err);
}

int h5_close_id(hid_t *id) {
    if (*id <= 0) { /* 0 is never a valid hid_t: zero-initialised structs */
        *id = H5I_INVALID_HID;
        return 0;
    }
    herr_t r = 0;
    switch (H5Iget_type(*id)) {
    case H5I_FILE: r = H5Fclose(*id); break;
    case H5I_GROUP: r = H5Gclose(*id); break;
    case H5I_DATASET: r = H5Dclose(*id); break;
    case H5I_ATTR: r = H5Aclose(*id); break;
    case H5I_DATATYPE: r = H5Tclose(*id); break;
    case H5I_DATASPACE: r = H5Sclose(*id); break;
    case H5I_GENPROP_LST: r = H5Pclose(*id); break;
    default: r = -1; break;
    }
    *id = H5I_INVALID_HID;
    return r < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ property lists and types */

hid_t h5_dcpl_contig(void) {
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p < 0) return p;
    if (H5Pset_layout(p, H5D_CONTIGUOUS) < 0 || H5Pset_alloc_time(p, H5D_ALLOC_TIME_EARLY) < 0 ||
        H5Pset_fill_time(p, H5D_FILL_TIME_NEVER) < 0 || H5Pset_obj_track_times(p, 0) < 0) {
        H5Pclose(p);
        return H5I_INVALID_HID;
    }
    return p;
}

hid_t h5_gcpl_ordered(void) {
    hid_t p = H5Pcreate(H5P_GROUP_CREATE);
    if (p < 0) return p;
    if (H5Pset_link_creation_order(p, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_obj_track_times(p, 0) < 0) {
        H5Pclose(p);
        return H5I_INVALID_HID;
    }
    return p;
}

hid_t h5_str_fixed(size_t width) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, width ? width : 1) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0 ||
        H5Tset_strpad(t, H5T_STR_NULLPAD) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

/* ------------------------------------------------------------ attributes */

static as_status h5_attr_write(const struct as_h5file *f, hid_t loc, const char *where,
                               const char *name, hid_t type, hid_t space, const void *buf,
                               struct as_err *err) {
    as_status ret = AS_OK;
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        ret = h5_fail(err, f->path, "creating attribute '%s' of %s", name, where);
        goto done;
    }
    if (H5Awrite(a, type, buf) < 0) {
        ret = h5_fail(err, f->path, "writing attribute '%s' of %s", name, where);
        goto done;
    }
done:
    if (h5_close_id(&a) < 0 && ret == AS_OK)
        ret = h5_fail(err, f->path, "closing attribute '%s' of %s", name, where);
    return ret;
}

static as_status h5_attr_scalar(const struct as_h5file *f, hid_t loc, const char *where,
                                const char *name, hid_t type, const void *buf, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t s = H5Screate(H5S_SCALAR);
    if (s < 0) {
        ret = h5_fail(err, f->path, "creating a scalar dataspace for '%s'", name);
        goto done;
    }
    ret = h5_attr_write(f, loc, where, name, type, s, buf, err);
done:
    h5_close_id(&s);
    return ret;
}

as_status h5_attr_str(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      const char *value, struct as_err *err) {
    as_status ret = AS_OK;
    /* Fixed-length, NUL-padded UTF-8 (as netCDF writes text attributes): a reader never
     * touches the global heap, where libhdf5 1.10 loops forever on a corrupt collection. */
    const char *v = value ? value : "";
    size_t len = strlen(v);
    hid_t t = h5_str_fixed(len);
    if (t < 0) {
        ret = h5_fail(err, f->path, "creating a string type for attribute '%s'", name);
        goto done;
    }
    ret = h5_attr_scalar(f, loc, where, name, t, len ? v : "", err);
done:
    h5_close_id(&t);
    return ret;
}

as_status h5_attr_i32(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      int32_t value, struct as_err *err) {
    return h5_attr_scalar(f, loc, where, name, H5T_NATIVE_INT32, &value, err);
}

as_status h5_attr_i64(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      int64_t value, struct as_err *err) {
    return h5_attr_scalar(f, loc, where, name, H5T_NATIVE_INT64, &value, err);
}

as_status h5_attr_u64(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      uint64_t value, struct as_err *err) {
    return h5_attr_scalar(f, loc, where, name, H5T_NATIVE_UINT64, &value, err);
}

as_status h5_attr_f32(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      float value, struct as_err *err) {
    return h5_attr_scalar(f, loc, where, name, H5T_NATIVE_FLOAT, &value, err);
}

as_status h5_attr_f64(const struct as_h5file *f, hid_t loc, const char *where, const char *name,
                      double value, struct as_err *err) {
    return h5_attr_scalar(f, loc, where, name, H5T_NATIVE_DOUBLE, &value, err);
}

as_status h5_attr_i8_array(const struct as_h5file *f, hid_t loc, const char *where,
                           const char *name, const int8_t *values, size_t n, struct as_err *err) {
    as_status ret = AS_OK;
    hsize_t dims[1] = {n};
    hid_t s = H5Screate_simple(1, dims, NULL);
    if (s < 0) {
        ret = h5_fail(err, f->path, "creating a dataspace for attribute '%s'", name);
        goto done;
    }
    ret = h5_attr_write(f, loc, where, name, H5T_NATIVE_INT8, s, values, err);
done:
    h5_close_id(&s);
    return ret;
}

as_status h5_attr_read_str(const struct as_h5file *f, hid_t loc, const char *where,
                           const char *name, char **out, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t a = H5I_INVALID_HID, ft = H5I_INVALID_HID, mt = H5I_INVALID_HID, s = H5I_INVALID_HID;
    char *fixed = NULL;
    *out = NULL;
    htri_t ex = H5Aexists(loc, name);
    if (ex < 0) {
        ret = h5_fail(err, f->path, "looking for attribute '%s' of %s", name, where);
        goto done;
    }
    if (ex == 0) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: %s has no attribute '%s' (expected a string)",
                         f->path, where, name);
        goto done;
    }
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (ft = H5Aget_type(a)) < 0 ||
        (s = H5Aget_space(a)) < 0) {
        ret = h5_fail(err, f->path, "opening attribute '%s' of %s", name, where);
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING || H5Sget_simple_extent_npoints(s) != 1) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: attribute '%s' of %s is not a scalar string",
                         f->path, name, where);
        goto done;
    }
    if (H5Tis_variable_str(ft) != 0) {
        /* attnsweep writes fixed-length strings; reading a variable-length one would go
         * through the global heap, which libhdf5 does not guard against corruption. */
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: attribute '%s' of %s is a variable-length string; expected the "
                         "fixed-length strings attnsweep writes (the file is damaged, or was "
                         "written by another program or an older development build)",
                         f->path, name, where);
        goto done;
    }
    {
        size_t w = H5Tget_size(ft);
        if (w == 0 || !(fixed = calloc(w + 1, 1))) {
            ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for attribute '%s'", f->path, name);
            goto done;
        }
        if ((mt = H5Tcopy(ft)) < 0 || H5Aread(a, mt, fixed) < 0) { /* same cset: no conversion */
            ret = h5_fail(err, f->path, "reading attribute '%s' of %s", name, where);
            goto done;
        }
        *out = strdup(fixed);
    }
    if (!*out)
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for attribute '%s'", f->path, name);
done:
    free(fixed);
    h5_close_id(&s);
    h5_close_id(&mt);
    h5_close_id(&ft);
    h5_close_id(&a);
    return ret;
}

/* Set when HDF5 failed to close a file (a full disk): the library's own
 * shutdown would then crash in H5F__close_cb (HDF5 1.10), so it is skipped and
 * the process exits without it (the file could not be written anyway). */
static int h5_close_failed;

void h5_note_close_failed(void) {
    h5_close_failed = 1;
}

void h5_library_init(void) {
    static int done;
    if (!done) H5dont_atexit(); /* as_h5_shutdown decides, before MPI_Finalize */
    done = 1;
}

void as_h5_shutdown(void) {
    if (!h5_close_failed) H5close();
}

double h5_free_bytes(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    struct statvfs vs;
    if (statvfs(dirname(dir), &vs) != 0) return -1;
    return (double)vs.f_bavail * (double)vs.f_frsize;
}
