/* h5read.c - token data of one prompt: independent reads (and the late write
 * of ids/offsets for callers that tokenize on the worker). Attention reads
 * live beside the writes in h5prompt.c because they share the chunking. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5internal.h"

/* Opens /prompts/<id>/<name> and checks it is (T) or (T, 2). */
static as_status token_dset_open(struct as_h5prompt *p, const char *name, int pairs, hid_t *d,
                                 struct as_err *err) {
    as_status ret = AS_OK;
    hid_t s = H5I_INVALID_HID;
    *d = H5I_INVALID_HID;
    if (!p->info || !p->f) return as_err_set(err, AS_ERR_INVALID, "prompt handle is not open");
    const int T = p->info->n_tokens;
    if ((*d = H5Dopen2(p->group, name, p->f->dapl_ind)) < 0 || (s = H5Dget_space(*d)) < 0) {
        ret = h5_fail(err, p->f->path, "opening /prompts/%s/%s", p->info->id, name);
        goto done;
    }
    hsize_t dims[2] = {0, 0};
    int nd = H5Sget_simple_extent_ndims(s);
    if (nd == 1 + pairs) H5Sget_simple_extent_dims(s, dims, NULL);
    if (nd != 1 + pairs || dims[0] != (hsize_t)T || (pairs && dims[1] != 2)) {
        ret =
            as_err_set(err, AS_ERR_FORMAT, "%s: /prompts/%s/%s has rank %d, %llu rows; expected %s",
                       p->f->path, p->info->id, name, nd, (unsigned long long)dims[0],
                       pairs ? "(T, 2)" : "(T)");
        goto done;
    }
done:
    h5_close_id(&s);
    if (ret != AS_OK) h5_close_id(d);
    return ret;
}

static as_status token_i32_xfer(struct as_h5prompt *p, const char *name, int pairs, int write,
                                int32_t *buf, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID;
    AS_TRY(token_dset_open(p, name, pairs, &d, err));
    herr_t r = write ? H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, p->f->dxpl_ind, buf)
                     : H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, p->f->dxpl_ind, buf);
    if (r < 0)
        ret = h5_fail(err, p->f->path, "%s /prompts/%s/%s", write ? "writing" : "reading",
                      p->info->id, name);
done:
    h5_close_id(&d);
    return ret;
}

as_status as_h5prompt_read_token_ids(struct as_h5prompt *p, int32_t *out, struct as_err *err) {
    return token_i32_xfer(p, "token_ids", 0, 0, out, err);
}

as_status as_h5prompt_read_offsets(struct as_h5prompt *p, int32_t *out, struct as_err *err) {
    return token_i32_xfer(p, "offsets", 1, 0, out, err);
}

as_status as_h5prompt_write_tokens(struct as_h5prompt *p, const int32_t *ids,
                                   const int32_t *offsets, int T, struct as_err *err) {
    as_status ret = AS_OK;
    if (!p->info || !p->f) return as_err_set(err, AS_ERR_INVALID, "prompt handle is not open");
    if (!p->f->writable)
        return as_err_set(err, AS_ERR_INVALID, "%s: file is open read-only", p->f->path);
    if (T != p->info->n_tokens)
        return as_err_set(err, AS_ERR_INVALID, "%s: /prompts/%s: got %d tokens; expected %d",
                          p->f->path, p->info->id, T, p->info->n_tokens);
    /* HDF5 takes a non-const buffer pointer even for writes. */
    if (ids) AS_TRY(token_i32_xfer(p, "token_ids", 0, 1, (int32_t *)ids, err));
    if (offsets) AS_TRY(token_i32_xfer(p, "offsets", 1, 1, (int32_t *)offsets, err));
done:
    return ret;
}

as_status as_h5prompt_read_tokens(struct as_h5prompt *p, char ***out, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID;
    char what[AS_H5_ID_MAX + 32];
    *out = NULL;
    snprintf(what, sizeof what, "/prompts/%s/tokens", p->info->id);
    AS_TRY(token_dset_open(p, "tokens", 0, &d, err));
    AS_TRY(h5_read_fixed_strings(p->f, d, (size_t)p->info->n_tokens, what, out, err));
done:
    h5_close_id(&d);
    return ret;
}

as_status as_h5prompt_read_text(struct as_h5prompt *p, char **out, struct as_err *err) {
    *out = NULL;
    if (!p->info || !p->f) return as_err_set(err, AS_ERR_INVALID, "prompt handle is not open");
    char where[AS_H5_ID_MAX + 16];
    snprintf(where, sizeof where, "/prompts/%s", p->info->id);
    return h5_attr_read_str(p->f, p->group, where, "text", out, err);
}
