/* h5meta.c - provenance attributes of the root group, /config, and the /model
 * group of a file being created (rank 0 alone, serial HDF5; see h5file.c). */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "h5internal.h"

/* size and mtime of a file, or total size / newest mtime of a directory's regular files. */
static void model_stat(const char *path, int64_t *size, int64_t *mtime) {
    struct stat st;
    *size = -1, *mtime = -1;
    if (!path || stat(path, &st) != 0) return;
    if (S_ISREG(st.st_mode)) {
        *size = (int64_t)st.st_size, *mtime = (int64_t)st.st_mtime;
        return;
    }
    if (!S_ISDIR(st.st_mode)) return;
    DIR *d = opendir(path);
    if (!d) return;
    int64_t total = 0, newest = -1;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        if (snprintf(p, sizeof p, "%s/%s", path, e->d_name) >= (int)sizeof p) continue;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        total += (int64_t)st.st_size;
        if ((int64_t)st.st_mtime > newest) newest = (int64_t)st.st_mtime;
    }
    closedir(d);
    *size = total, *mtime = newest;
}

/* Writes a scalar fixed-length UTF-8 string dataset (rank 0 writes the bytes). */
static as_status h5_scalar_string_dataset(struct as_h5file *f, const char *name, const char *text,
                                          struct as_err *err) {
    as_status ret = AS_OK;
    hid_t t = H5I_INVALID_HID, s = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    size_t len = strlen(text);
    if ((t = h5_str_fixed(len ? len : 1)) < 0 || (s = H5Screate(H5S_SCALAR)) < 0 ||
        (dcpl = h5_dcpl_contig()) < 0 ||
        (d = H5Dcreate2(f->file, name, t, s, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "creating dataset /%s", name);
        goto done;
    }
    AS_TRY(h5_attr_str(f, d, name, "_Encoding", "utf-8", err));
    {
        char *buf = calloc(len ? len : 1, 1);
        if (!buf) {
            ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for /%s", f->path, name);
            goto done;
        }
        memcpy(buf, text, len);
        herr_t r = H5Dwrite(d, t, H5S_ALL, H5S_ALL, f->dxpl_ind, buf);
        free(buf);
        if (r < 0) {
            ret = h5_fail(err, f->path, "writing dataset /%s", name);
            goto done;
        }
    }
done:
    h5_close_id(&d);
    h5_close_id(&dcpl);
    h5_close_id(&s);
    h5_close_id(&t);
    return ret;
}

as_status h5_write_provenance(struct as_h5file *f, const struct as_h5_provenance *p,
                              struct as_err *err) {
    as_status ret = AS_OK;
    char created_utc[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created_utc, sizeof created_utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int64_t model_size = p->model_size, model_mtime = p->model_mtime;
    if (!p->model_sha256 && p->model_size < 0) model_stat(p->model_path, &model_size, &model_mtime);
    hid_t r = f->file;
    AS_TRY(h5_attr_str(f, r, "/", "attnsweep_version", p->version, err));
    AS_TRY(h5_attr_str(f, r, "/", "git_commit", p->git_commit, err));
    AS_TRY(h5_attr_str(f, r, "/", "created_utc", created_utc, err));
    AS_TRY(h5_attr_i32(f, r, "/", "n_ranks", p->n_ranks > 0 ? p->n_ranks : f->size, err));
    AS_TRY(h5_attr_str(f, r, "/", "model_path", p->model_path, err));
    if (p->model_sha256) AS_TRY(h5_attr_str(f, r, "/", "model_sha256", p->model_sha256, err));
    if (model_size >= 0) AS_TRY(h5_attr_i64(f, r, "/", "model_size", model_size, err));
    if (model_mtime >= 0) AS_TRY(h5_attr_i64(f, r, "/", "model_mtime", model_mtime, err));
    AS_TRY(h5_attr_str(f, r, "/", "command_line", p->command_line, err));
    if (p->config_sha256) AS_TRY(h5_attr_str(f, r, "/", "config_sha256", p->config_sha256, err));
    if (p->config_dir) AS_TRY(h5_attr_str(f, r, "/", "config_dir", p->config_dir, err));
    if (p->config_text) AS_TRY(h5_scalar_string_dataset(f, "config", p->config_text, err));
done:
    return ret;
}

as_status h5_write_model(struct as_h5file *f, const struct as_config *c, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t g = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    int32_t iv[] = {c->n_layers, c->n_heads,    c->n_kv_heads, c->head_dim,
                    c->dim,      c->hidden_dim, c->vocab_size, c->max_position};
    if ((gcpl = h5_gcpl_ordered()) < 0 ||
        (g = H5Gcreate2(f->file, "model", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "creating group /model");
        goto done;
    }
    /* struct as_config char arrays may lack a terminator when full: copy bounded. */
    char arch[sizeof c->architecture + 1], sdt[sizeof c->source_dtype + 1];
    snprintf(arch, sizeof arch, "%.*s", (int)sizeof c->architecture, c->architecture);
    snprintf(sdt, sizeof sdt, "%.*s", (int)sizeof c->source_dtype, c->source_dtype);
    static const char *names[] = {
        "n_layers",    "n_heads",           "n_kv_heads", "head_dim",
        "hidden_size", "intermediate_size", "vocab_size", "max_position_embeddings"};
    AS_TRY(h5_attr_str(f, g, "/model", "architecture", arch, err));
    for (int i = 0; i < 8; i++)
        AS_TRY(h5_attr_i32(f, g, "/model", names[i], iv[i], err));
    AS_TRY(h5_attr_f32(f, g, "/model", "rope_theta", c->rope_theta, err));
    AS_TRY(h5_attr_f32(f, g, "/model", "rms_norm_eps", c->rms_eps, err));
    AS_TRY(h5_attr_str(f, g, "/model", "rope_style",
                       c->rope == AS_ROPE_INTERLEAVED ? "interleaved" : "rotate_half", err));
    AS_TRY(h5_attr_str(f, g, "/model", "source_dtype", sdt, err));
    AS_TRY(h5_attr_i32(f, g, "/model", "tied_embeddings", c->tied_embeddings ? 1 : 0, err));
    AS_TRY(h5_attr_i32(f, g, "/model", "bos_token_id", c->bos_id, err));
    AS_TRY(h5_attr_i32(f, g, "/model", "eos_token_id", c->eos_id, err));
done:
    if (h5_close_id(&g) < 0 && ret == AS_OK) ret = h5_fail(err, f->path, "closing /model");
    h5_close_id(&gcpl);
    return ret;
}
