/* h5prompt.c - /prompts/<id> groups and the /sweep table: collective
 * creation of every object (with dimension scales and the token data), and
 * independent per-layer attention writes through an as_h5prompt handle.
 *
 * Why the token data are written at creation: HDF5 1.10 cannot write
 * variable-length data to a dataset through MPI-IO at all, and every token
 * string, id and offset is known before compute (rank 0 tokenizes and
 * broadcasts). Strings go into fixed-length UTF-8 datasets whose width is the
 * longest string of that prompt. Raw data that is known at creation (scale
 * indices, tokens, the /sweep columns) is written by rank 0 alone, with
 * independent transfers into early-allocated contiguous storage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5_hl.h>

#include "attnsweep/dtype.h"
#include "h5internal.h"

static size_t elsize_of(enum as_out_dtype d) {
    return d == AS_OUT_F16 ? 2 : 4;
}

/* ------------------------------------------------------------ validation */

struct id_ref {
    const char *id;
    int64_t index;
};
static int cmp_id_ref(const void *a, const void *b) {
    return strcmp(((const struct id_ref *)a)->id, ((const struct id_ref *)b)->id);
}

/* Checks one spec: names, sizes (64-bit safe), token ids and offsets. */
static as_status spec_validate(const struct as_h5_prompt_spec *s, int64_t i, struct as_err *err) {
    as_status ret = as_h5_id_validate(s->id, err);
    if (ret != AS_OK) {
        as_err_prefix(err, "prompt %lld", (long long)i);
        return ret;
    }
    if (s->n_tokens < 1 || s->n_layers < 1 || s->n_heads < 1)
        return as_err_set(err, AS_ERR_INVALID,
                          "prompt '%s': n_tokens=%d n_layers=%d n_heads=%d; expected all >= 1",
                          s->id, s->n_tokens, s->n_layers, s->n_heads);
    if ((int)s->store < AS_STORE_FULL || (int)s->store > AS_STORE_NONE)
        return as_err_set(err, AS_ERR_INVALID, "prompt '%s': unknown store mode %d", s->id,
                          (int)s->store);
    if (s->dtype != AS_OUT_F32 && s->dtype != AS_OUT_F16)
        return as_err_set(err, AS_ERR_INVALID, "prompt '%s': unknown output dtype %d", s->id,
                          (int)s->dtype);
    size_t T = (size_t)s->n_tokens, n = 0;
    if (!as_mul_size((size_t)s->n_layers, (size_t)s->n_heads, &n) || !as_mul_size(n, T, &n) ||
        !as_mul_size(n, T, &n) || !as_mul_size(n, elsize_of(s->dtype), &n) || n > (size_t)INT64_MAX)
        return as_err_set(err, AS_ERR_INVALID,
                          "prompt '%s': attention of %d x %d x %d x %d does not fit in 64 bits",
                          s->id, s->n_layers, s->n_heads, s->n_tokens, s->n_tokens);
    size_t text_len = s->text ? strlen(s->text) : 0;
    for (int t = 0; s->token_ids && t < s->n_tokens; t++)
        if (s->token_ids[t] < 0)
            return as_err_set(err, AS_ERR_INVALID, "prompt '%s': token_ids[%d] = %d; expected >= 0",
                              s->id, t, (int)s->token_ids[t]);
    for (int t = 0; s->offsets && t < s->n_tokens; t++) {
        int32_t a = s->offsets[2 * t], b = s->offsets[2 * t + 1];
        if (a < 0 || b < a || (size_t)b > text_len)
            return as_err_set(err, AS_ERR_INVALID,
                              "prompt '%s': offsets[%d] = [%d, %d); expected 0 <= start <= end <= "
                              "%zu (bytes of text)",
                              s->id, t, (int)a, (int)b, text_len);
    }
    return AS_OK;
}

static as_status specs_validate(const struct as_h5_prompt_spec *specs, int64_t n,
                                struct as_err *err) {
    as_status ret = AS_OK;
    struct id_ref *order = NULL;
    for (int64_t i = 0; i < n; i++)
        AS_TRY(spec_validate(&specs[i], i, err));
    if (n < 2) goto done;
    if (!(order = malloc((size_t)n * sizeof *order))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "no memory to sort %lld prompt ids", (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        order[i].id = specs[i].id, order[i].index = i;
    qsort(order, (size_t)n, sizeof *order, cmp_id_ref);
    for (int64_t i = 1; i < n; i++)
        if (!strcmp(order[i].id, order[i - 1].id)) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "prompt id '%s' is used by prompts %lld and %lld; ids must be unique",
                             order[i].id, (long long)order[i - 1].index, (long long)order[i].index);
            goto done;
        }
done:
    free(order);
    return ret;
}

static uint64_t specs_hash(const struct as_h5_prompt_spec *specs, int64_t n) {
    uint64_t h = h5_hash_bytes(H5_HASH_INIT, &n, sizeof n);
    for (int64_t i = 0; i < n; i++) {
        const struct as_h5_prompt_spec *s = &specs[i];
        int32_t iv[] = {s->n_tokens,          s->n_layers,       s->n_heads,
                        (int32_t)s->store,    (int32_t)s->dtype, s->rank,
                        s->token_ids != NULL, s->tokens != NULL, s->offsets != NULL};
        h = h5_hash_bytes(h, iv, sizeof iv);
        h = h5_hash_str(h, s->id);
        h = h5_hash_str(h, s->text);
        h = h5_hash_str(h, s->group);
        h = h5_hash_str(h, s->variant);
        size_t T = (size_t)s->n_tokens;
        if (s->token_ids) h = h5_hash_bytes(h, s->token_ids, T * sizeof *s->token_ids);
        if (s->offsets) h = h5_hash_bytes(h, s->offsets, 2 * T * sizeof *s->offsets);
        for (size_t t = 0; s->tokens && t < T; t++)
            h = h5_hash_str(h, s->tokens[t]);
        if (s->layer_index) h = h5_hash_bytes(h, s->layer_index, (size_t)s->n_layers * sizeof(int));
        if (s->head_index) h = h5_hash_bytes(h, s->head_index, (size_t)s->n_heads * sizeof(int));
    }
    return h;
}

/* ------------------------------------------------------------ creation helpers */

/* Creates a contiguous dataset; rank 0 writes buf (memory type mtype) if non-NULL. */
static as_status dset_make(struct as_h5file *f, hid_t loc, const char *where, const char *name,
                           hid_t ftype, int ndims, const hsize_t *dims, hid_t mtype,
                           const void *buf, hid_t *out, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t s = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    *out = H5I_INVALID_HID;
    if ((s = H5Screate_simple(ndims, dims, NULL)) < 0 || (dcpl = h5_dcpl_contig()) < 0 ||
        (*out = H5Dcreate2(loc, name, ftype, s, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "creating dataset %s/%s", where, name);
        goto done;
    }
    if (buf && f->rank == 0 && H5Dwrite(*out, mtype, H5S_ALL, H5S_ALL, f->dxpl_ind, buf) < 0) {
        ret = h5_fail(err, f->path, "writing dataset %s/%s", where, name);
        goto done;
    }
done:
    h5_close_id(&dcpl);
    h5_close_id(&s);
    return ret;
}

/* A 1-D int32 coordinate (values, or 0..n-1 when NULL) marked as dimension scale `name`. */
static as_status scale_make(struct as_h5file *f, hid_t loc, const char *where, const char *name,
                            int n, const int *values, hid_t *out, struct as_err *err) {
    as_status ret = AS_OK;
    int32_t *v = malloc((size_t)n * sizeof *v);
    if (!v) return as_err_set(err, AS_ERR_NOMEM, "%s: no memory for %s/%s", f->path, where, name);
    for (int i = 0; i < n; i++)
        v[i] = values ? values[i] : i;
    hsize_t dims[1] = {(hsize_t)n};
    AS_TRY(dset_make(f, loc, where, name, H5T_STD_I32LE, 1, dims, H5T_NATIVE_INT32, v, out, err));
    if (H5DSset_scale(*out, name) < 0) {
        ret = h5_fail(err, f->path, "marking %s/%s as a dimension scale", where, name);
        goto done;
    }
done:
    free(v);
    return ret;
}

static as_status scale_attach(struct as_h5file *f, const char *where, hid_t d, const char *dname,
                              hid_t scale, const char *sname, unsigned idx, struct as_err *err) {
    if (H5DSattach_scale(d, scale, idx) < 0)
        return h5_fail(err, f->path, "attaching scale %s/%s to dimension %u of %s/%s", where, sname,
                       idx, where, dname);
    return AS_OK;
}

enum { SC_LAYER, SC_HEAD, SC_QUERY, SC_KEY, SC_SPAN, SC_N };
static const char *const scale_names[SC_N] = {"layer", "head", "query", "key", "span"};

static as_status prompt_create(struct as_h5file *f, hid_t prompts,
                               const struct as_h5_prompt_spec *s, int64_t index,
                               struct as_err *err) {
    as_status ret = AS_OK;
    hid_t gcpl = H5I_INVALID_HID, g = H5I_INVALID_HID, sc[SC_N], att = H5I_INVALID_HID;
    hid_t ids = H5I_INVALID_HID, toks = H5I_INVALID_HID, offs = H5I_INVALID_HID;
    hid_t st = H5I_INVALID_HID;
    int32_t *tmp = NULL;
    char *packed = NULL;
    char where[AS_H5_ID_MAX + 16];
    for (int i = 0; i < SC_N; i++)
        sc[i] = H5I_INVALID_HID;
    snprintf(where, sizeof where, "/prompts/%s", s->id);
    const int L = s->n_layers, H = s->n_heads, T = s->n_tokens;

    if ((gcpl = h5_gcpl_ordered()) < 0) {
        ret = h5_fail(err, f->path, "creating group %s", where);
        goto done;
    }
    const char *slash = strchr(s->id, '/');
    if (slash) { /* "group/variant": the sweep group is a parent group, created once */
        char parent[AS_H5_ID_MAX];
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - s->id), s->id);
        htri_t ex = H5Lexists(prompts, parent, H5P_DEFAULT);
        hid_t pg =
            ex > 0 ? H5I_INVALID_HID : H5Gcreate2(prompts, parent, H5P_DEFAULT, gcpl, H5P_DEFAULT);
        if (ex < 0 || (ex == 0 && pg < 0)) {
            ret = h5_fail(err, f->path, "creating group /prompts/%s", parent);
            goto done;
        }
        if (pg >= 0) H5Gclose(pg);
    }
    if ((g = H5Gcreate2(prompts, s->id, H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "creating group %s", where);
        goto done;
    }
    AS_TRY(h5_attr_str(f, g, where, "text", s->text, err));
    AS_TRY(h5_attr_i32(f, g, where, "n_tokens", T, err));
    AS_TRY(h5_attr_i64(f, g, where, "index", index, err));
    if (s->group) AS_TRY(h5_attr_str(f, g, where, "group", s->group, err));
    if (s->variant) AS_TRY(h5_attr_str(f, g, where, "variant", s->variant, err));
    AS_TRY(h5_attr_str(f, g, where, "store", as_store_name(s->store), err));
    AS_TRY(h5_attr_str(f, g, where, "dtype", as_out_dtype_name(s->dtype), err));

    const int sizes[SC_N] = {L, H, T, T, 2};
    const int *values[SC_N] = {s->layer_index, s->head_index, NULL, NULL, NULL};
    for (int i = 0; i < SC_N; i++)
        AS_TRY(scale_make(f, g, where, scale_names[i], sizes[i], values[i], &sc[i], err));

    if (s->store != AS_STORE_NONE) {
        hsize_t dims[4] = {(hsize_t)L, (hsize_t)H, (hsize_t)T, (hsize_t)T};
        int nd = s->store == AS_STORE_FULL ? 4 : 3; /* LAST_ROW: (layer, head, key) */
        hid_t ft = s->dtype == AS_OUT_F16 ? f->f16_type : H5T_IEEE_F32LE;
        AS_TRY(dset_make(f, g, where, "attention", ft, nd, dims, 0, NULL, &att, err));
        AS_TRY(h5_attr_str(f, att, where, "axes",
                           nd == 4 ? "layer,head,query,key" : "layer,head,key", err));
        if (nd == 3) AS_TRY(h5_attr_i32(f, att, where, "query_index", T - 1, err));
        AS_TRY(scale_attach(f, where, att, "attention", sc[SC_LAYER], "layer", 0, err));
        AS_TRY(scale_attach(f, where, att, "attention", sc[SC_HEAD], "head", 1, err));
        if (nd == 4) {
            AS_TRY(scale_attach(f, where, att, "attention", sc[SC_QUERY], "query", 2, err));
            AS_TRY(scale_attach(f, where, att, "attention", sc[SC_KEY], "key", 3, err));
        } else {
            AS_TRY(scale_attach(f, where, att, "attention", sc[SC_KEY], "key", 2, err));
        }
    }

    /* Token data; unknown ids/offsets are -1 until as_h5prompt_write_tokens. */
    if (!(tmp = malloc(2 * (size_t)T * sizeof *tmp))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for %s tokens", f->path, where);
        goto done;
    }
    hsize_t d1[1] = {(hsize_t)T}, d2[2] = {(hsize_t)T, 2};
    for (int i = 0; i < 2 * T; i++)
        tmp[i] = -1;
    AS_TRY(dset_make(f, g, where, "token_ids", H5T_STD_I32LE, 1, d1, H5T_NATIVE_INT32,
                     s->token_ids ? s->token_ids : tmp, &ids, err));
    size_t width = 1;
    AS_TRY(h5_pack_strings(s->tokens, (size_t)T, &packed, &width, err));
    if ((st = h5_str_fixed(width)) < 0) {
        ret = h5_fail(err, f->path, "creating a string type for %s/tokens", where);
        goto done;
    }
    AS_TRY(dset_make(f, g, where, "tokens", st, 1, d1, st, packed, &toks, err));
    AS_TRY(h5_attr_str(f, toks, where, "_Encoding", "utf-8", err));
    AS_TRY(dset_make(f, g, where, "offsets", H5T_STD_I32LE, 2, d2, H5T_NATIVE_INT32,
                     s->offsets ? s->offsets : tmp, &offs, err));
    AS_TRY(scale_attach(f, where, ids, "token_ids", sc[SC_QUERY], "query", 0, err));
    AS_TRY(scale_attach(f, where, toks, "tokens", sc[SC_QUERY], "query", 0, err));
    AS_TRY(scale_attach(f, where, offs, "offsets", sc[SC_QUERY], "query", 0, err));
    AS_TRY(scale_attach(f, where, offs, "offsets", sc[SC_SPAN], "span", 1, err));
done:
    free(tmp);
    free(packed);
    h5_close_id(&st);
    h5_close_id(&offs);
    h5_close_id(&toks);
    h5_close_id(&ids);
    h5_close_id(&att);
    for (int i = 0; i < SC_N; i++)
        h5_close_id(&sc[i]);
    if (h5_close_id(&g) < 0 && ret == AS_OK) ret = h5_fail(err, f->path, "closing %s", where);
    h5_close_id(&gcpl);
    return ret;
}

/* The /sweep table: one column per field, all indexed by the `prompt` scale. */
static as_status sweep_create(struct as_h5file *f, const struct as_h5_prompt_spec *specs, int64_t n,
                              struct as_err *err) {
    as_status ret = AS_OK;
    hid_t gcpl = H5I_INVALID_HID, g = H5I_INVALID_HID, pid = H5I_INVALID_HID;
    hid_t st = H5I_INVALID_HID, col = H5I_INVALID_HID;
    const char **idv = NULL;
    char *packed = NULL;
    int32_t *v = NULL;
    size_t nn = (size_t)n;
    if ((gcpl = h5_gcpl_ordered()) < 0 ||
        (g = H5Gcreate2(f->file, "sweep", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "creating group /sweep");
        goto done;
    }
    if (!(idv = calloc(nn ? nn : 1, sizeof *idv)) || !(v = calloc(nn ? nn : 1, sizeof *v))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for /sweep", f->path);
        goto done;
    }
    for (size_t i = 0; i < nn; i++)
        idv[i] = specs[i].id;
    size_t width = 1;
    AS_TRY(h5_pack_strings(idv, nn, &packed, &width, err));
    hsize_t dims[1] = {(hsize_t)n};
    if ((st = h5_str_fixed(width)) < 0) {
        ret = h5_fail(err, f->path, "creating a string type for /sweep/prompt");
        goto done;
    }
    AS_TRY(dset_make(f, g, "/sweep", "prompt", st, 1, dims, st, n ? packed : NULL, &pid, err));
    AS_TRY(h5_attr_str(f, pid, "/sweep/prompt", "_Encoding", "utf-8", err));
    if (H5DSset_scale(pid, "prompt") < 0) {
        ret = h5_fail(err, f->path, "marking /sweep/prompt as a dimension scale");
        goto done;
    }
    static const char *names[] = {"n_tokens", "n_layers", "n_heads", "store",
                                  "dtype",    "rank",     "status"};
    for (int c = 0; c < 7; c++) {
        for (size_t i = 0; i < nn; i++) {
            const struct as_h5_prompt_spec *s = &specs[i];
            int32_t x[] = {s->n_tokens,       s->n_layers, s->n_heads,       (int32_t)s->store,
                           (int32_t)s->dtype, s->rank,     AS_PROMPT_PENDING};
            v[i] = x[c];
        }
        int small = c >= 3 && c != 5; /* enums are int8 */
        AS_TRY(dset_make(f, g, "/sweep", names[c], small ? H5T_STD_I8LE : H5T_STD_I32LE, 1, dims,
                         H5T_NATIVE_INT32, n ? v : NULL, &col, err));
        if (c == 3) {
            static const int8_t fv[] = {AS_STORE_FULL, AS_STORE_LAST_ROW, AS_STORE_NONE};
            AS_TRY(h5_attr_i8_array(f, col, "/sweep/store", "flag_values", fv, 3, err));
            AS_TRY(h5_attr_str(f, col, "/sweep/store", "flag_meanings", "full last_row none", err));
        } else if (c == 4) {
            static const int8_t fv[] = {AS_OUT_F32, AS_OUT_F16};
            AS_TRY(h5_attr_i8_array(f, col, "/sweep/dtype", "flag_values", fv, 2, err));
            AS_TRY(h5_attr_str(f, col, "/sweep/dtype", "flag_meanings", "float32 float16", err));
        } else if (c == 6) {
            static const int8_t fv[] = {AS_PROMPT_PENDING, AS_PROMPT_DONE, AS_PROMPT_FAILED};
            AS_TRY(h5_attr_i8_array(f, col, "/sweep/status", "flag_values", fv, 3, err));
            AS_TRY(
                h5_attr_str(f, col, "/sweep/status", "flag_meanings", "pending done failed", err));
        }
        if (H5DSattach_scale(col, pid, 0) < 0) {
            ret = h5_fail(err, f->path, "attaching scale /sweep/prompt to /sweep/%s", names[c]);
            goto done;
        }
        if (h5_close_id(&col) < 0) {
            ret = h5_fail(err, f->path, "closing /sweep/%s", names[c]);
            goto done;
        }
    }
    /* message: why a prompt failed (fixed-length, written independently by its worker) */
    {
        hid_t mt = h5_str_fixed(AS_H5_MESSAGE_MAX);
        if (mt < 0) {
            ret = h5_fail(err, f->path, "creating a string type for /sweep/message");
            goto done;
        }
        as_status ms = dset_make(f, g, "/sweep", "message", mt, 1, dims, mt, NULL, &col, err);
        H5Tclose(mt);
        AS_TRY(ms);
        AS_TRY(h5_attr_str(f, col, "/sweep/message", "_Encoding", "utf-8", err));
        if (H5DSattach_scale(col, pid, 0) < 0) {
            ret = h5_fail(err, f->path, "attaching scale /sweep/prompt to /sweep/message");
            goto done;
        }
        h5_close_id(&col);
    }
done:
    free(idv);
    free(v);
    free(packed);
    h5_close_id(&col);
    h5_close_id(&st);
    h5_close_id(&pid);
    h5_close_id(&g);
    h5_close_id(&gcpl);
    return ret;
}

as_status as_h5file_create_prompts(struct as_h5file *f, const struct as_h5_prompt_spec *specs,
                                   int64_t n, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_err local;
    hid_t gcpl = H5I_INVALID_HID, prompts = H5I_INVALID_HID;
    if (!err) err = &local;
    if (!f->writable || f->file <= 0) {
        ret = as_err_set(err, AS_ERR_INVALID, "%s: file is not open for writing", f->path);
        goto done;
    }
    if (f->prompts || n < 0 || (n > 0 && !specs)) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: prompts can be created once per file, from n >= 0 specs", f->path);
        goto done;
    }
    ret = specs_validate(specs, n, err);
    if (ret != AS_OK) {
        as_err_prefix(err, "%s", f->path);
        goto done;
    }
    /* Everyone must agree the specs are valid before comparing them. */
    AS_TRY(h5_agree(f, ret, err));
    AS_TRY(h5_check_same(f, specs_hash(specs, n), "prompt specs", err));

    if (!(f->prompts = calloc(n ? (size_t)n : 1, sizeof *f->prompts))) {
        ret =
            as_err_set(err, AS_ERR_NOMEM, "%s: no memory for %lld prompts", f->path, (long long)n);
        goto done;
    }
    AS_TRY(sweep_create(f, specs, n, err));
    if ((gcpl = h5_gcpl_ordered()) < 0 ||
        (prompts = H5Gcreate2(f->file, "prompts", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "creating group /prompts");
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        AS_TRY(prompt_create(f, prompts, &specs[i], i, err));
    if (h5_close_id(&prompts) < 0) {
        ret = h5_fail(err, f->path, "closing /prompts");
        goto done;
    }
    if ((f->status_dset = H5Dopen2(f->file, "sweep/status", H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "opening /sweep/status");
        goto done;
    }
    /* The metadata-complete file hits the disk before any compute starts. */
    if (H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0) {
        ret = h5_fail(err, f->path, "flushing after creating %lld prompts", (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        struct as_h5_prompt_info *p = &f->prompts[i];
        snprintf(p->id, sizeof p->id, "%s", specs[i].id);
        p->n_tokens = specs[i].n_tokens, p->n_layers = specs[i].n_layers;
        p->n_heads = specs[i].n_heads, p->store = specs[i].store, p->dtype = specs[i].dtype;
        p->rank = specs[i].rank;
    }
    f->n_prompts = n;
done:
    h5_close_id(&prompts);
    h5_close_id(&gcpl);
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK && f->n_prompts == 0 && f->prompts) {
        free(f->prompts);
        f->prompts = NULL;
    }
    return ret;
}

/* ------------------------------------------------------------ prompt handle */

as_status as_h5prompt_open(struct as_h5file *f, int64_t index, struct as_h5prompt *p,
                           struct as_err *err) {
    as_status ret = AS_OK;
    hid_t s = H5I_INVALID_HID, t = H5I_INVALID_HID;
    memset(p, 0, sizeof *p);
    p->group = p->attention = H5I_INVALID_HID;
    if (f->file <= 0 || index < 0 || index >= f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID, "%s: prompt index %lld out of range [0, %lld)",
                          f->path, (long long)index, (long long)f->n_prompts);
    p->f = f, p->index = index, p->info = &f->prompts[index];
    const struct as_h5_prompt_info *in = p->info;
    char path[AS_H5_ID_MAX + 16];
    snprintf(path, sizeof path, "/prompts/%s", in->id);
    if ((p->group = H5Gopen2(f->file, path, f->gapl_ind)) < 0) {
        ret = h5_fail(err, f->path, "opening group %s", path);
        goto done;
    }
    if (in->store == AS_STORE_NONE) goto done;
    if ((p->attention = H5Dopen2(p->group, "attention", f->dapl_ind)) < 0 ||
        (s = H5Dget_space(p->attention)) < 0 || (t = H5Dget_type(p->attention)) < 0) {
        ret = h5_fail(err, f->path, "opening %s/attention", path);
        goto done;
    }
    hsize_t dims[4] = {0, 0, 0, 0};
    int nd = H5Sget_simple_extent_ndims(s), want = in->store == AS_STORE_FULL ? 4 : 3;
    if (nd == want) H5Sget_simple_extent_dims(s, dims, NULL);
    int ok = nd == want && dims[0] == (hsize_t)in->n_layers && dims[1] == (hsize_t)in->n_heads &&
             dims[2] == (hsize_t)in->n_tokens && (nd == 3 || dims[3] == (hsize_t)in->n_tokens) &&
             H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == elsize_of(in->dtype);
    if (!ok) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: %s/attention has rank %d and %zu-byte elements; /sweep says store=%s "
                         "dtype=%s L=%d H=%d T=%d",
                         f->path, path, nd, H5Tget_size(t), as_store_name(in->store),
                         as_out_dtype_name(in->dtype), in->n_layers, in->n_heads, in->n_tokens);
        goto done;
    }
done:
    h5_close_id(&t);
    h5_close_id(&s);
    if (ret != AS_OK) as_h5prompt_close(p, NULL);
    return ret;
}

as_status as_h5prompt_close(struct as_h5prompt *p, struct as_err *err) {
    as_status ret = AS_OK;
    const char *path = p->f ? p->f->path : "?";
    if (h5_close_id(&p->attention) < 0)
        ret = h5_fail(err, path, "closing the attention dataset of '%s'",
                      p->info ? p->info->id : "?");
    if (h5_close_id(&p->group) < 0 && ret == AS_OK)
        ret = h5_fail(err, path, "closing the group of '%s'", p->info ? p->info->id : "?");
    free(p->scratch);
    p->scratch = NULL;
    p->scratch_bytes = 0;
    return ret;
}

/* Makes p->scratch at least `bytes` long. */
static as_status scratch_reserve(struct as_h5prompt *p, size_t bytes, struct as_err *err) {
    if (p->scratch_bytes >= bytes) return AS_OK;
    void *nb = realloc(p->scratch, bytes);
    if (!nb)
        return as_err_set(err, AS_ERR_NOMEM, "%s: no memory for a %zu-byte conversion buffer",
                          p->f->path, bytes);
    p->scratch = nb, p->scratch_bytes = bytes;
    return AS_OK;
}

/* Selects [start, start+count) in the attention dataset and transfers nelem
 * elements of memory type mtype from/to buf. */
static as_status att_xfer(struct as_h5prompt *p, int write, const hsize_t *start,
                          const hsize_t *count, size_t nelem, hid_t mtype, void *buf,
                          struct as_err *err) {
    as_status ret = AS_OK;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    hsize_t mdims[1] = {(hsize_t)nelem};
    herr_t r = -1;
    if ((fs = H5Dget_space(p->attention)) >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        (ms = H5Screate_simple(1, mdims, NULL)) >= 0)
        r = write ? H5Dwrite(p->attention, mtype, ms, fs, p->f->dxpl_ind, buf)
                  : H5Dread(p->attention, mtype, ms, fs, p->f->dxpl_ind, buf);
    if (r < 0)
        ret = h5_fail(err, p->f->path, "%s /prompts/%s/attention[layer %llu, heads %llu..%llu]",
                      write ? "writing" : "reading", p->info->id, (unsigned long long)start[0],
                      (unsigned long long)start[1], (unsigned long long)(start[1] + count[1] - 1));
    h5_close_id(&ms);
    h5_close_id(&fs);
    return ret;
}

as_status as_h5prompt_write_attention_layer(struct as_h5prompt *p, int layer, const float *probs,
                                            int H, int T, struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_h5_prompt_info *in = p->info;
    if (!in || !p->f) return as_err_set(err, AS_ERR_INVALID, "prompt handle is not open");
    if (in->store == AS_STORE_NONE) return AS_OK;
    if (!p->f->writable)
        return as_err_set(err, AS_ERR_INVALID, "%s: file is open read-only", p->f->path);
    if (layer < 0 || layer >= in->n_layers || H != in->n_heads || T != in->n_tokens || !probs)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: /prompts/%s/attention: got layer %d of (H=%d, T=%d); expected layer "
                          "in [0, %d) of (H=%d, T=%d)",
                          p->f->path, in->id, layer, H, T, in->n_layers, in->n_heads, in->n_tokens);
    const size_t TT = (size_t)T * (size_t)T, es = elsize_of(in->dtype);
    const int f16 = in->dtype == AS_OUT_F16;
    const hid_t mtype = f16 ? p->f->f16_type : H5T_NATIVE_FLOAT;
    if (in->store == AS_STORE_LAST_ROW) {
        /* row T-1 of each head: (H, T) */
        AS_TRY(scratch_reserve(p, (size_t)H * (size_t)T * es, err));
        for (int h = 0; h < H; h++) {
            const float *row = probs + (size_t)h * TT + (size_t)(T - 1) * (size_t)T;
            if (f16) {
                uint16_t *dst = (uint16_t *)p->scratch + (size_t)h * (size_t)T;
                for (int k = 0; k < T; k++)
                    dst[k] = as_f32_to_f16(row[k]);
            } else {
                memcpy((float *)p->scratch + (size_t)h * (size_t)T, row, (size_t)T * sizeof(float));
            }
        }
        hsize_t start[3] = {(hsize_t)layer, 0, 0}, count[3] = {1, (hsize_t)H, (hsize_t)T};
        AS_TRY(att_xfer(p, 1, start, count, (size_t)H * (size_t)T, mtype, p->scratch, err));
        goto done;
    }
    /* FULL: whole heads per transfer, at most H5_IO_CHUNK_BYTES each. */
    size_t hb = H5_IO_CHUNK_BYTES / (TT * es);
    if (hb < 1) hb = 1;
    if (hb > (size_t)H) hb = (size_t)H;
    if (f16) AS_TRY(scratch_reserve(p, hb * TT * es, err));
    for (size_t h0 = 0; h0 < (size_t)H; h0 += hb) {
        size_t nh = (size_t)H - h0 < hb ? (size_t)H - h0 : hb;
        const float *src = probs + h0 * TT;
        void *buf = (void *)src;
        if (f16) {
            uint16_t *dst = p->scratch;
            for (size_t i = 0; i < nh * TT; i++)
                dst[i] = as_f32_to_f16(src[i]);
            buf = dst;
        }
        hsize_t start[4] = {(hsize_t)layer, h0, 0, 0};
        hsize_t count[4] = {1, nh, (hsize_t)T, (hsize_t)T};
        AS_TRY(att_xfer(p, 1, start, count, nh * TT, mtype, buf, err));
    }
done:
    return ret;
}

as_status as_h5prompt_read_attention_layer(struct as_h5prompt *p, int layer, float *out,
                                           struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_h5_prompt_info *in = p->info;
    if (!in || !p->f) return as_err_set(err, AS_ERR_INVALID, "prompt handle is not open");
    if (in->store == AS_STORE_NONE)
        return as_err_set(err, AS_ERR_INVALID, "%s: prompt '%s' stores no attention (store=none)",
                          p->f->path, in->id);
    if (layer < 0 || layer >= in->n_layers)
        return as_err_set(err, AS_ERR_INVALID, "%s: /prompts/%s/attention: layer %d not in [0, %d)",
                          p->f->path, in->id, layer, in->n_layers);
    const int H = in->n_heads, T = in->n_tokens, f16 = in->dtype == AS_OUT_F16;
    const size_t TT = (size_t)T * (size_t)T, es = elsize_of(in->dtype);
    const hid_t mtype = f16 ? p->f->f16_type : H5T_NATIVE_FLOAT;
    if (in->store == AS_STORE_LAST_ROW) {
        size_t n = (size_t)H * (size_t)T;
        hsize_t start[3] = {(hsize_t)layer, 0, 0}, count[3] = {1, (hsize_t)H, (hsize_t)T};
        if (f16) {
            AS_TRY(scratch_reserve(p, n * es, err));
            AS_TRY(att_xfer(p, 0, start, count, n, mtype, p->scratch, err));
            for (size_t i = 0; i < n; i++)
                out[i] = as_f16_to_f32(((uint16_t *)p->scratch)[i]);
        } else {
            AS_TRY(att_xfer(p, 0, start, count, n, mtype, out, err));
        }
        goto done;
    }
    size_t hb = H5_IO_CHUNK_BYTES / (TT * es);
    if (hb < 1) hb = 1;
    if (hb > (size_t)H) hb = (size_t)H;
    if (f16) AS_TRY(scratch_reserve(p, hb * TT * es, err));
    for (size_t h0 = 0; h0 < (size_t)H; h0 += hb) {
        size_t nh = (size_t)H - h0 < hb ? (size_t)H - h0 : hb;
        hsize_t start[4] = {(hsize_t)layer, h0, 0, 0};
        hsize_t count[4] = {1, nh, (hsize_t)T, (hsize_t)T};
        float *dst = out + h0 * TT;
        if (f16) {
            AS_TRY(att_xfer(p, 0, start, count, nh * TT, mtype, p->scratch, err));
            const uint16_t *src = p->scratch;
            for (size_t i = 0; i < nh * TT; i++)
                dst[i] = as_f16_to_f32(src[i]);
        } else {
            AS_TRY(att_xfer(p, 0, start, count, nh * TT, mtype, dst, err));
        }
    }
done:
    return ret;
}

as_status as_h5prompt_read_attention(struct as_h5prompt *p, float *out, struct as_err *err) {
    as_status ret = AS_OK;
    if (!p->info) return as_err_set(err, AS_ERR_INVALID, "prompt handle is not open");
    const struct as_h5_prompt_info *in = p->info;
    size_t per = (size_t)in->n_heads * (size_t)in->n_tokens;
    if (in->store == AS_STORE_FULL) per *= (size_t)in->n_tokens;
    for (int l = 0; l < in->n_layers; l++)
        AS_TRY(as_h5prompt_read_attention_layer(p, l, out + (size_t)l * per, err));
done:
    return ret;
}

as_status as_h5file_write_attention_layer(struct as_h5file *f, const char *id, int layer,
                                          const float *probs, int H, int T, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5prompt p;
    memset(&p, 0, sizeof p);
    p.group = p.attention = H5I_INVALID_HID;
    int64_t i = as_h5file_find_prompt(f, id);
    if (i < 0)
        return as_err_set(err, AS_ERR_INVALID, "%s: no prompt with id '%s'", f->path,
                          id ? id : "(null)");
    AS_TRY(as_h5prompt_open(f, i, &p, err));
    AS_TRY(as_h5prompt_write_attention_layer(&p, layer, probs, H, T, err));
done:;
    as_status rc = as_h5prompt_close(&p, ret == AS_OK ? err : NULL);
    return ret != AS_OK ? ret : rc;
}
