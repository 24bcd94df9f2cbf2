/* h5file.c - creating (rank 0, serial, atomic rename), opening, closing and
 * flushing the output file; the in-memory prompt table (/sweep) with its id
 * index; the status vector. */
#define _POSIX_C_SOURCE 200809L /* strdup, stat, fdatasync */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attnsweep/agree.h"
#include "attnsweep/fault.h"
#include "h5internal.h"

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
    f->f16_type = f->status_dset = f->att_dset = H5I_INVALID_HID;
    f->comm = MPI_COMM_NULL;
    f->size = 1;
    f->fd = -1;
}

/* Everything that does not touch the file: communicator, property lists, types. */
static as_status h5file_setup(struct as_h5file *f, const char *path, MPI_Comm comm,
                              struct as_err *err) {
    as_status ret = AS_OK;
    h5_library_init();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported through as_err */
    if (!path || !path[0]) return as_err_set(err, AS_ERR_INVALID, "output path is empty");
    if (strlen(path) + 16 >= sizeof f->path)
        return as_err_set(err, AS_ERR_INVALID, "output path is %zu bytes; expected < %zu",
                          strlen(path), sizeof f->path - 16);
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
        /* After creation nobody changes metadata in parallel: every metadata
         * operation is an independent read, and raw data are independent. */
        if (H5Pset_fapl_mpio(f->fapl, f->comm, MPI_INFO_NULL) < 0 ||
            H5Pset_fclose_degree(f->fapl, H5F_CLOSE_STRONG) < 0 ||
            H5Pset_all_coll_metadata_ops(f->fapl, 0) < 0) {
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

static void table_free(struct as_h5file *f) {
    free(f->prompts), free(f->id_pool), free(f->id_order);
    free(f->layer_ids), free(f->head_ids);
    free(f->occ_start), free(f->substr_start), free(f->span_start);
    f->prompts = NULL, f->id_pool = NULL, f->id_order = NULL;
    f->layer_ids = f->head_ids = NULL;
    f->occ_start = f->substr_start = f->span_start = NULL;
}

/* Releases handles without touching the file contents. */
static int h5file_release(struct as_h5file *f) {
    int bad = 0;
    bad |= h5_close_id(&f->att_dset);
    bad |= h5_close_id(&f->status_dset);
    if (f->file > 0 && h5_close_id(&f->file) < 0) {
        bad = 1;
        h5_note_close_failed();
    }
    bad |= h5_close_id(&f->f16_type);
    bad |= h5_close_id(&f->gapl_ind);
    bad |= h5_close_id(&f->dapl_ind);
    bad |= h5_close_id(&f->dxpl_ind);
    bad |= h5_close_id(&f->fapl);
    if (f->fd >= 0) close(f->fd);
    if (f->comm != MPI_COMM_NULL) MPI_Comm_free(&f->comm);
    table_free(f);
    h5file_reset(f);
    return bad;
}

/* The errno of a failed system call, as a message that names the path and what to do. */
static as_status sys_fail(struct as_err *err, const char *path, const char *what, int e) {
    const char *hint = e == ENOSPC ? " HINT: the disk is full; free space, then rerun with --resume"
                       : e == ENOENT ? " HINT: create the output directory first"
                       : e == EACCES ? " HINT: check the permissions of the output directory"
                       : e == EDQUOT ? " HINT: the disk quota is exhausted"
                                     : "";
    return as_err_set(err, AS_ERR_IO, "%s: %s: %s.%s", path, what, strerror(e), hint);
}

/* Rank 0: writes spec into <path>.partial (serial HDF5), syncs, renames. */
static as_status create_serial(const char *path, int force, const struct as_h5_create_spec *spec,
                               struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5file f;
    struct h5_layout y;
    hid_t fcpl = H5I_INVALID_HID, g = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    char tmp[4096 + 16];
    int made = 0;
    h5file_reset(&f);
    memset(&y, 0, sizeof y);
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s is a directory; expected the path of an output file. HINT: "
                             "name a file, e.g. %s/out.h5",
                             path, path);
            goto done;
        }
        if (!force) {
            ret = as_err_set(err, AS_ERR_EXISTS,
                             "%s: output file already exists; refusing to overwrite it. HINT: "
                             "pass --force to overwrite, or --resume to continue it",
                             path);
            goto done;
        }
    }
    AS_TRY(h5_layout_build(spec, &y, err));
    /* A disk too small for the file is refused before HDF5 writes anything: HDF5 1.10 cannot
     * close a file whose metadata flush failed (and then crashes at MPI_Finalize). Raw data are
     * allocated at creation but written later, so the whole file must fit now. */
    const double need = h5_layout_bytes(&y, spec, 0, 40, NULL) + 65536.0,
                 avail = h5_free_bytes(path);
    if (avail >= 0 && avail < need) {
        ret = as_err_set(err, AS_ERR_IO,
                         "%s: no space left on device for the output: the file needs about %.0f "
                         "bytes and its file system has %.0f free (ENOSPC). HINT: free space or "
                         "write elsewhere (--output), then rerun",
                         path, need, avail);
        goto done;
    }
    AS_TRY(h5file_setup(&f, path, MPI_COMM_NULL, err));
    snprintf(tmp, sizeof tmp, "%s.partial", path);
    if (unlink(tmp) != 0 && errno != ENOENT) {
        ret = sys_fail(err, tmp, "removing a stale partial file", errno);
        goto done;
    }
    if ((fcpl = H5Pcreate(H5P_FILE_CREATE)) < 0 ||
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_obj_track_times(fcpl, 0) < 0) {
        ret = h5_fail(err, path, "creating the file creation property list");
        goto done;
    }
    if ((f.file = H5Fcreate(tmp, H5F_ACC_EXCL, fcpl, f.fapl)) < 0) {
        int e = errno;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        struct stat ds;
        if (stat(dirname(dir), &ds) != 0)
            ret = sys_fail(err, path, "the output directory does not exist", ENOENT);
        else
            ret = e ? sys_fail(err, tmp, "creating the output file", e)
                    : h5_fail(err, tmp, "creating the output file");
        goto done;
    }
    made = 1;
    f.writable = 1;
    snprintf(f.path, sizeof f.path, "%.4000s", tmp);
    const int64_t NT = y.tokens.n > 0 ? y.tokens.cols[0].shape[0] : 0;
    AS_TRY(h5_attr_str(&f, f.file, "/", "format", AS_H5_FORMAT_NAME, err));
    AS_TRY(h5_attr_i32(&f, f.file, "/", "format_version", AS_H5_FORMAT_VERSION, err));
    AS_TRY(h5_attr_str(&f, f.file, "/", "store", as_store_name(spec->store), err));
    AS_TRY(h5_attr_str(&f, f.file, "/", "dtype", as_out_dtype_name(spec->dtype), err));
    AS_TRY(h5_attr_i64(&f, f.file, "/", "n_prompts", spec->n_prompts, err));
    AS_TRY(h5_attr_i64(&f, f.file, "/", "n_tokens_total", NT, err));
    AS_TRY(h5_attr_i32(&f, f.file, "/", "n_layers", spec->n_layers, err));
    AS_TRY(h5_attr_i32(&f, f.file, "/", "n_heads", spec->n_heads, err));
    if (spec->prov) AS_TRY(h5_write_provenance(&f, spec->prov, err));
    if (spec->model) AS_TRY(h5_write_model(&f, spec->model, err));
    if ((gcpl = h5_gcpl_ordered()) < 0) {
        ret = h5_fail(err, tmp, "creating a group property list");
        goto done;
    }
    const struct as_table *tabs[] = {&y.sweep,     &y.text,       &y.tokens,
                                     &y.attention, spec->metrics, spec->behaviour};
    const char *names[] = {"sweep", "text", "tokens", "attention", "metrics", "behaviour"};
    for (int i = 0; i < 6; i++) {
        if (!tabs[i] || tabs[i]->n == 0) continue;
        char where[32];
        snprintf(where, sizeof where, "/%s", names[i]);
        if ((g = H5Gcreate2(f.file, names[i], H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
            ret = h5_fail(err, tmp, "creating group %s", where);
            goto done;
        }
        AS_TRY(h5_table_create(&f, g, where, tabs[i], err));
        if (h5_close_id(&g) < 0) {
            ret = h5_fail(err, tmp, "closing %s", where);
            goto done;
        }
    }
    if (H5Fflush(f.file, H5F_SCOPE_GLOBAL) < 0) {
        ret = h5_fail(err, tmp, "writing the file's metadata");
        goto done;
    }
    if (h5_close_id(&f.file) < 0) {
        h5_note_close_failed();
        ret = h5_fail(err, tmp, "closing the new file");
        goto done;
    }
    /* durable, then visible under its name: a file at `path` is always complete */
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        ret = sys_fail(err, tmp, "syncing the new file", errno);
        if (fd >= 0) close(fd);
        goto done;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        ret = sys_fail(err, path, "renaming the new file into place", errno);
        goto done;
    }
    made = 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    int dfd = open(dirname(dir), O_RDONLY);
    if (dfd >= 0) fsync(dfd), close(dfd);
done:
    h5_close_id(&g);
    h5_close_id(&gcpl);
    h5_close_id(&fcpl);
    h5file_release(&f);
    h5_layout_free(&y);
    if (made) unlink(tmp); /* never leave a half-created file behind */
    return ret;
}

as_status as_h5file_create(struct as_h5file *f, const char *path, MPI_Comm comm, int force,
                           const struct as_h5_create_spec *spec, struct as_err *err) {
    struct as_err local;
    if (!err) err = &local;
    h5file_reset(f);
    int rank = 0;
    if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
    as_status ret = AS_OK;
    if (rank == 0)
        ret = spec ? create_serial(path, force, spec, err)
                   : as_err_set(err, AS_ERR_INVALID, "%s: create without a spec on rank 0", path);
    if (ret == AS_OK) ret = as_fault_check("create", rank, err);
    ret = as_mpi_agree(comm, ret, err);
    if (ret != AS_OK) return ret;
    return as_h5file_open_rw(f, path, comm, err);
}

static as_status h5file_open(struct as_h5file *f, const char *path, MPI_Comm comm, int rw,
                             struct as_err *err) {
    as_status ret = AS_OK;
    char *fmt = NULL;
    hid_t a = H5I_INVALID_HID;
    h5file_reset(f);
    /* local checks, then agreement (on the caller's communicator, which every rank has),
     * then the collective H5Fopen: a rank that failed alone never leaves the others in it */
    ret = h5file_setup(f, path, comm, err);
    struct stat st;
    if (ret != AS_OK)
        ;
    else if (stat(path, &st) != 0)
        ret = errno == ENOENT
                  ? as_err_set(err, AS_ERR_IO,
                               "%s: no such file. HINT: check the path (attnsweep run writes the "
                               "file its sweep's output.path or --output names)",
                               path)
                  : sys_fail(err, path, rw ? "opening the file for writing" : "opening the file",
                             errno);
    else if (!S_ISREG(st.st_mode))
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s is %s; expected an attnsweep HDF5 file. HINT: name the file, e.g. "
                         "%s/out.h5",
                         path, S_ISDIR(st.st_mode) ? "a directory" : "not a regular file", path);
    if (ret == AS_OK) ret = as_fault_check("open", f->rank, err);
    ret = as_mpi_agree(comm, ret, err);
    if (ret != AS_OK) goto done;
    f->file = H5Fopen(path, rw ? H5F_ACC_RDWR : H5F_ACC_RDONLY, f->fapl);
    if (f->file < 0) {
        ret = h5_fail(err, path,
                      "not an HDF5 file, or truncated (opening it %s). HINT: a file whose "
                      "creation was interrupted is left as %s.partial, never under its name",
                      rw ? "for writing" : "for reading", path);
        goto done;
    }
    f->writable = rw;
    /* The version first: it is an integer, so a file of another format version is named as
     * such before any of its strings are read. */
    int32_t version = 0;
    htri_t has_version = H5Aexists(f->file, "format_version");
    if (has_version <= 0 || (a = H5Aopen(f->file, "format_version", H5P_DEFAULT)) < 0 ||
        H5Aread(a, H5T_NATIVE_INT32, &version) < 0) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: not an attnsweep output file (no integer root attribute "
                         "'format_version'; expected %d)",
                         path, AS_H5_FORMAT_VERSION);
        goto done;
    }
    if (version != AS_H5_FORMAT_VERSION) {
        ret = as_err_set(err, AS_ERR_UNSUPPORTED,
                         "%s: format_version is %d; this attnsweep reads version %d only. The "
                         "file is left untouched. HINT: rerun the sweep into a new file (--output "
                         "or --force)",
                         path, (int)version, AS_H5_FORMAT_VERSION);
        goto done;
    }
    AS_TRY(h5_attr_read_str(f, f->file, "/", "format", &fmt, err));
    if (strcmp(fmt, AS_H5_FORMAT_NAME) != 0) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: not an attnsweep output file (root attribute 'format' is \"%s\"; "
                         "expected \"%s\")",
                         path, fmt, AS_H5_FORMAT_NAME);
        goto done;
    }
    AS_TRY(h5_table_load(f, err));
    if (rw && (f->fd = open(path, O_RDONLY)) < 0) {
        ret = sys_fail(err, path, "opening a descriptor for fdatasync", errno);
        goto done;
    }
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
    ret = as_mpi_agree(comm, ret, err);
    if (ret != AS_OK) h5file_release(f);
    return ret;
}

as_status as_h5file_open_read(struct as_h5file *f, const char *path, MPI_Comm comm,
                              struct as_err *err) {
    struct as_err local;
    if (!err) err = &local;
    as_status ret = h5file_open(f, path, comm, 0, err);
    ret = as_mpi_agree(comm, ret, err);
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
    if (ret == AS_OK) ret = as_fault_check("flush", f->rank, err);
    return h5_agree(f, ret, err);
}

as_status as_h5file_sync(struct as_h5file *f, struct as_err *err) {
    if (f->fd < 0) return AS_OK;
    if (fdatasync(f->fd) != 0) return sys_fail(err, f->path, "fdatasync", errno);
    return AS_OK;
}

as_status as_h5file_close(struct as_h5file *f, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_err local;
    if (!err) err = &local;
    if (f->file <= 0 && f->fapl <= 0) { /* never opened (zeroed or already closed) */
        table_free(f);
        h5file_reset(f);
        return AS_OK;
    }
    if (h5_close_id(&f->att_dset) < 0) ret = h5_fail(err, f->path, "closing the attention");
    if (h5_close_id(&f->status_dset) < 0 && ret == AS_OK)
        ret = h5_fail(err, f->path, "closing /sweep/status");
    if (f->file > 0 && h5_close_id(&f->file) < 0) {
        h5_note_close_failed();
        if (ret == AS_OK) ret = h5_fail(err, f->path, "closing the file");
    }
    /* a failed close still releases every handle below: MPI_Finalize finds nothing open */
    if (ret == AS_OK && f->writable) ret = as_fault_check("close", f->rank, err);
    ret = h5_agree(f, ret, err);
    if (h5file_release(f) != 0 && ret == AS_OK)
        ret = as_err_set(err, AS_ERR_HDF5, "closing HDF5 property lists failed");
    return ret;
}

/* ------------------------------------------------------------ prompt table */

static const struct as_h5file *cmp_file; /* qsort has no context argument */
static int cmp_row_id(const void *a, const void *b) {
    return strcmp(cmp_file->prompts[*(const int64_t *)a].id,
                  cmp_file->prompts[*(const int64_t *)b].id);
}

int64_t as_h5file_find_prompt(const struct as_h5file *f, const char *id) {
    if (!id || !f->id_order) return -1;
    int64_t lo = 0, hi = f->n_prompts;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->prompts[f->id_order[mid]].id, id);
        if (c == 0) return f->id_order[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static as_status attr_i64(struct as_h5file *f, const char *name, int64_t *v, struct as_err *err) {
    hid_t a = H5I_INVALID_HID;
    as_status ret = AS_OK;
    if ((a = H5Aopen(f->file, name, H5P_DEFAULT)) < 0 || H5Aread(a, H5T_NATIVE_INT64, v) < 0)
        ret = h5_fail(err, f->path, "reading root attribute '%s'", name);
    h5_close_id(&a);
    return ret;
}

/* Checks that dataset `path` has rank nd and the given dims: what --resume and
 * reduce trust before they write, named with the actual and the expected shape. */
static as_status check_shape(struct as_h5file *f, const char *path, int nd, const int64_t *want,
                             struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hsize_t dims[4] = {0, 0, 0, 0};
    int got = -1;
    if (as_h5file_exists(f, path) <= 0) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: /%s is missing; expected it (docs/FORMAT.md)",
                         f->path, path);
        goto done;
    }
    if ((d = H5Dopen2(f->file, path, f->dapl_ind)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        (got = H5Sget_simple_extent_ndims(sp)) < 0 || got > 4 ||
        H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        ret = h5_fail(err, f->path, "reading the shape of /%s", path);
        goto done;
    }
    int ok = got == nd;
    for (int k = 0; ok && k < nd; k++)
        ok = dims[k] == (hsize_t)want[k];
    if (!ok) {
        char a[96] = "", b[96] = "";
        for (int k = 0; k < got && k < 4; k++)
            snprintf(a + strlen(a), sizeof a - strlen(a), "%s%llu", k ? ", " : "",
                     (unsigned long long)dims[k]);
        for (int k = 0; k < nd; k++)
            snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", k ? ", " : "",
                     (long long)want[k]);
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: /%s has shape [%s]; expected [%s] for this file's prompts "
                         "(docs/FORMAT.md). The file was changed after it was written",
                         f->path, path, a, b);
    }
done:
    h5_close_id(&sp);
    h5_close_id(&d);
    return ret;
}

/* A 1-D integer column of the table read as int64 (v64) or int32 (v32), n values. */
static const struct as_col *col_get(const struct as_table *t, const char *name) {
    return as_table_find(t, name);
}

as_status h5_table_load(struct as_h5file *f, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_table t;
    char *store = NULL, *dtype = NULL;
    as_table_init(&t);
    int64_t n = 0, nt = 0, L = 0, H = 0;
    AS_TRY(attr_i64(f, "n_prompts", &n, err));
    AS_TRY(attr_i64(f, "n_tokens_total", &nt, err));
    AS_TRY(attr_i64(f, "n_layers", &L, err));
    AS_TRY(attr_i64(f, "n_heads", &H, err));
    AS_TRY(h5_attr_read_str(f, f->file, "/", "store", &store, err));
    AS_TRY(h5_attr_read_str(f, f->file, "/", "dtype", &dtype, err));
    int sv = as_store_from_name(store), dv = as_out_dtype_from_name(dtype);
    if (n < 0 || nt < 0 || L < 1 || H < 1 || L > 1 << 20 || H > 1 << 20 || sv < 0 || dv < 0) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: root attributes n_prompts=%lld n_tokens_total=%lld n_layers=%lld "
                         "n_heads=%lld store=\"%s\" dtype=\"%s\" are out of range",
                         f->path, (long long)n, (long long)nt, (long long)L, (long long)H, store,
                         dtype);
        goto done;
    }
    f->store = (enum as_store)sv, f->dtype = (enum as_out_dtype)dv;
    f->n_layers = (int)L, f->n_heads = (int)H, f->n_tokens_total = nt;
    static const char *const cols[] = {"prompt", "n_tokens", "token_start",
                                       "rank",   "status",   "attention_start"};
    AS_TRY(as_h5file_read_columns(f, "sweep", cols, 5, 0, &t, err));
    if (f->store == AS_STORE_FULL)
        AS_TRY(as_h5file_read_columns(f, "sweep", cols + 5, 1, 0, &t, err));
    const struct as_col *cid = col_get(&t, "prompt"), *cnt = col_get(&t, "n_tokens"),
                        *cts = col_get(&t, "token_start"), *crk = col_get(&t, "rank"),
                        *cas = col_get(&t, "attention_start");
    int ok = cid->type == AS_COL_STR && cnt->type == AS_COL_I32 && cts->type == AS_COL_I64 &&
             crk->type == AS_COL_I32 && (!cas || cas->type == AS_COL_I64);
    for (int i = 0; i < t.n; i++)
        ok &= t.cols[i].nd == 1 && t.cols[i].shape[0] == n;
    if (!ok) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: /sweep columns prompt, n_tokens, token_start, rank (and "
                         "attention_start) must be 1-D with n_prompts = %lld rows of the "
                         "documented types (docs/FORMAT.md)",
                         f->path, (long long)n);
        goto done;
    }
    size_t nn = (size_t)n;
    if (!(f->prompts = calloc(nn + 1, sizeof *f->prompts)) ||
        !(f->id_order = calloc(nn + 1, sizeof *f->id_order)) ||
        !(f->id_pool = malloc(nn * cid->width + 1))) {
        ret =
            as_err_set(err, AS_ERR_NOMEM, "%s: no memory for a table of %zu prompts", f->path, nn);
        goto done;
    }
    memcpy(f->id_pool, cid->data, nn * cid->width);
    const struct as_col *cst = col_get(&t, "status");
    const int8_t *st = cst && cst->type == AS_COL_I8 ? cst->data : NULL;
    const int32_t *ntok = cnt->data, *rk = crk->data;
    const int64_t *ts = cts->data, *as = cas ? cas->data : NULL;
    int64_t tsum = 0, asum = 0;
    for (size_t i = 0; i < nn; i++) {
        struct as_h5_prompt_info *p = &f->prompts[i];
        p->id = f->id_pool + i * cid->width;
        p->n_tokens = ntok[i], p->rank = rk[i], p->tok_start = ts[i];
        p->att_start = as ? as[i] : 0;
        p->skipped = st && st[i] == AS_PROMPT_SKIPPED; /* never computed: no attention block */
        p->n_layers = f->n_layers, p->n_heads = f->n_heads, p->store = f->store;
        p->dtype = f->dtype;
        if (p->n_tokens < 1 || p->tok_start != tsum || (as && p->att_start != asum)) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: /sweep row %zu ('%.100s'): n_tokens=%d token_start=%lld; "
                             "expected n_tokens >= 1 and token_start = %lld (the sum of the "
                             "earlier counts)%s",
                             f->path, i, p->id, p->n_tokens, (long long)p->tok_start,
                             (long long)tsum, as ? " and attention_start consistent" : "");
            goto done;
        }
        /* a corrupt count must not overflow the sums: every block is at most 2^62 elements */
        const int64_t T = p->n_tokens, lim = (int64_t)1 << 62;
        const int64_t block = T > lim / T / (L * H) ? -1 : L * H * T * T;
        if (block < 0 || tsum > lim - T || (!p->skipped && asum > lim - block)) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: /sweep row %zu ('%.100s'): n_tokens=%d makes the token or "
                             "attention sums overflow (a corrupt table?)",
                             f->path, i, p->id, p->n_tokens);
            goto done;
        }
        tsum += T;
        if (!p->skipped) asum += block;
        f->id_order[i] = (int64_t)i;
    }
    if (tsum != nt) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: /sweep/n_tokens sums to %lld; the root attribute n_tokens_total "
                         "says %lld",
                         f->path, (long long)tsum, (long long)nt);
        goto done;
    }
    f->n_prompts = n;
    cmp_file = f;
    qsort(f->id_order, nn, sizeof *f->id_order, cmp_row_id);
    /* stored layer / head ids */
    if (!(f->layer_ids = calloc((size_t)L, sizeof *f->layer_ids)) ||
        !(f->head_ids = calloc((size_t)H, sizeof *f->head_ids))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory", f->path);
        goto done;
    }
    for (int l = 0; l < L; l++)
        f->layer_ids[l] = l;
    for (int h = 0; h < H; h++)
        f->head_ids[h] = h;
    const char *idgroup = as_h5file_exists(f, "attention/layer") > 0 ? "attention"
                          : as_h5file_exists(f, "metrics/layer") > 0 ? "metrics"
                                                                     : NULL;
    if (idgroup) {
        struct as_table ids;
        as_table_init(&ids);
        static const char *const lh[] = {"layer", "head"};
        ret = as_h5file_read_columns(f, idgroup, lh, 2, 0, &ids, err);
        if (ret == AS_OK && (ids.cols[0].shape[0] != L || ids.cols[1].shape[0] != H ||
                             ids.cols[0].type != AS_COL_I32 || ids.cols[1].type != AS_COL_I32))
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: /%s/layer and /%s/head must be int32 [%lld] and [%lld]", f->path,
                             idgroup, idgroup, (long long)L, (long long)H);
        if (ret == AS_OK) {
            memcpy(f->layer_ids, ids.cols[0].data, (size_t)L * sizeof(int32_t));
            memcpy(f->head_ids, ids.cols[1].data, (size_t)H * sizeof(int32_t));
        }
        as_table_free(&ids);
        if (ret != AS_OK) goto done;
    }
    /* /metrics ragged starts */
    if (as_h5file_exists(f, "metrics") > 0) {
        struct as_table mc;
        as_table_init(&mc);
        static const char *const cc[] = {"keyword_occ_count", "keyword_substr_count", "span_count"};
        int64_t **dst[] = {&f->occ_start, &f->substr_start, &f->span_start};
        ret = as_h5file_read_columns(f, "metrics", cc, 3, 0, &mc, err);
        for (int k = 0; k < 3 && ret == AS_OK; k++) {
            const struct as_col *c = &mc.cols[k];
            if (c->type != AS_COL_I32 || c->nd != 1 || c->shape[0] != n) {
                ret = as_err_set(err, AS_ERR_FORMAT, "%s: /metrics/%s must be int32 [%lld]",
                                 f->path, cc[k], (long long)n);
                break;
            }
            if (!(*dst[k] = malloc((nn + 1) * sizeof(int64_t)))) {
                ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory", f->path);
                break;
            }
            const int32_t *v = c->data;
            (*dst[k])[0] = 0;
            for (size_t i = 0; i < nn; i++) {
                if (v[i] < 0) {
                    ret = as_err_set(err, AS_ERR_FORMAT, "%s: /metrics/%s[%zu] = %d < 0", f->path,
                                     cc[k], i, (int)v[i]);
                    break;
                }
                (*dst[k])[i + 1] = (*dst[k])[i] + v[i];
            }
        }
        as_table_free(&mc);
        if (ret != AS_OK) goto done;
    }
    /* the datasets a done prompt's data live in have the shapes the table implies */
    {
        const int64_t s1[1] = {nt}, s2[2] = {nt, 2}, slr[3] = {nt, L, H}, sfull[1] = {asum};
        const int64_t sm2[2] = {n, L}, sm3[3] = {n, L, H}, smt[2] = {nt, L};
        AS_TRY(check_shape(f, "tokens/token_id", 1, s1, err));
        AS_TRY(check_shape(f, "tokens/offsets", 2, s2, err));
        if (f->store == AS_STORE_FULL) AS_TRY(check_shape(f, "attention/full", 1, sfull, err));
        if (f->store == AS_STORE_LAST_ROW)
            AS_TRY(check_shape(f, "attention/last_row", 3, slr, err));
        if (as_h5file_exists(f, "metrics") > 0) {
            AS_TRY(check_shape(f, "metrics/layer_entropy", 2, sm2, err));
            AS_TRY(check_shape(f, "metrics/head_entropy", 3, sm3, err));
            AS_TRY(check_shape(f, "metrics/last_row_mean", 2, smt, err));
        }
    }
    AS_TRY(h5_message_check(f, err));
    if ((f->status_dset = H5Dopen2(f->file, "sweep/status", f->dapl_ind)) < 0) {
        ret = h5_fail(err, f->path, "opening /sweep/status");
        goto done;
    }
    if (f->store != AS_STORE_NONE &&
        (f->att_dset =
             H5Dopen2(f->file, f->store == AS_STORE_FULL ? "attention/full" : "attention/last_row",
                      f->dapl_ind)) < 0) {
        ret = h5_fail(err, f->path, "opening the attention dataset (store %s)",
                      as_store_name(f->store));
        goto done;
    }
done:
    free(store), free(dtype);
    as_table_free(&t);
    if (ret != AS_OK) {
        table_free(f);
        f->n_prompts = 0;
    }
    return ret;
}

/* ------------------------------------------------------------ status vector */

as_status as_h5file_write_status_range(struct as_h5file *f, int64_t first, int64_t n,
                                       const int8_t *status, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    if (!f->writable || f->status_dset <= 0)
        return as_err_set(err, AS_ERR_INVALID, "%s: /sweep/status is not open for writing",
                          f->path);
    if (first < 0 || n < 0 || first + n > f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID, "%s: prompts [%lld, %lld) out of range [0, %lld)",
                          f->path, (long long)first, (long long)(first + n),
                          (long long)f->n_prompts);
    if (n == 0) return AS_OK;
    hsize_t start[1] = {(hsize_t)first}, count[1] = {(hsize_t)n};
    if ((fs = H5Dget_space(f->status_dset)) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (ms = H5Screate_simple(1, count, NULL)) < 0 ||
        H5Dwrite(f->status_dset, H5T_NATIVE_INT8, ms, fs, f->dxpl_ind, status) < 0) {
        ret = h5_fail(err, f->path, "writing /sweep/status[%lld..%lld] (prompt '%s'...)",
                      (long long)first, (long long)(first + n - 1), f->prompts[first].id);
        goto done;
    }
done:
    h5_close_id(&ms);
    h5_close_id(&fs);
    return ret;
}

as_status as_h5file_set_status(struct as_h5file *f, int64_t index, enum as_prompt_status st,
                               struct as_err *err) {
    int8_t v = (int8_t)st;
    return as_h5file_write_status_range(f, index, 1, &v, err);
}

as_status as_h5file_read_status(struct as_h5file *f, int8_t *out, struct as_err *err) {
    if (f->status_dset <= 0)
        return as_err_set(err, AS_ERR_INVALID, "%s: /sweep/status is not open", f->path);
    if (f->n_prompts == 0) return AS_OK;
    if (H5Dread(f->status_dset, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, f->dxpl_ind, out) < 0)
        return h5_fail(err, f->path, "reading /sweep/status");
    return AS_OK;
}
