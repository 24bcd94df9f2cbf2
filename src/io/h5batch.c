/* h5batch.c - a rank's batch of consecutive prompts: full attention written
 * one (prompt, layer) block at a time, last rows buffered and written in one
 * transfer at commit, then the metric rows, one fdatasync, and the batch's
 * status range. Also reading attention back one layer at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/dtype.h"
#include "attnsweep/fault.h"
#include "h5internal.h"

static size_t elsize_of(enum as_out_dtype d) {
    return d == AS_OUT_F16 ? 2 : 4;
}

void as_h5batch_free(struct as_h5batch *b) {
    free(b->last_row);
    free(b->scratch);
    memset(b, 0, sizeof *b);
}

as_status as_h5batch_begin(struct as_h5file *f, int64_t first, int64_t n, struct as_h5batch *b,
                           struct as_err *err) {
    memset(b, 0, sizeof *b);
    if (!f->writable || first < 0 || n < 1 || first + n > f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: batch [%lld, %lld) is not a range of prompts of a writable file "
                          "with %lld prompts",
                          f->path, (long long)first, (long long)(first + n),
                          (long long)f->n_prompts);
    b->f = f, b->first = first, b->n = n;
    b->tok0 = f->prompts[first].tok_start;
    b->n_tok = f->prompts[first + n - 1].tok_start + f->prompts[first + n - 1].n_tokens - b->tok0;
    if (f->store == AS_STORE_LAST_ROW) {
        size_t bytes = 0;
        if (!as_mul_size((size_t)b->n_tok, (size_t)f->n_layers * (size_t)f->n_heads, &bytes) ||
            !as_mul_size(bytes, elsize_of(f->dtype), &bytes) || !(b->last_row = calloc(bytes, 1)))
            return as_err_set(err, AS_ERR_NOMEM,
                              "%s: no memory for the last rows of a batch of %lld tokens", f->path,
                              (long long)b->n_tok);
    }
    return AS_OK;
}

static as_status scratch_reserve(struct as_h5batch *b, size_t bytes, struct as_err *err) {
    if (b->scratch_bytes >= bytes) return AS_OK;
    void *nb = realloc(b->scratch, bytes);
    if (!nb)
        return as_err_set(err, AS_ERR_NOMEM, "%s: no memory for a %zu-byte conversion buffer",
                          b->f->path, bytes);
    b->scratch = nb, b->scratch_bytes = bytes;
    return AS_OK;
}

/* Transfers the hyperslab [start, start + count) of the attention dataset
 * (rank nd) from/to buf in memory type mtype; what names it in messages. */
static as_status att_xfer(struct as_h5file *f, int write, int nd, const hsize_t *start,
                          const hsize_t *count, hid_t mtype, void *buf, const char *what,
                          struct as_err *err) {
    as_status ret = AS_OK;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    herr_t r = -1;
    if ((fs = H5Dget_space(f->att_dset)) >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        (ms = H5Screate_simple(nd, count, NULL)) >= 0)
        r = write ? H5Dwrite(f->att_dset, mtype, ms, fs, f->dxpl_ind, buf)
                  : H5Dread(f->att_dset, mtype, ms, fs, f->dxpl_ind, buf);
    if (r < 0)
        ret = h5_fail(err, f->path, "%s %s rows %llu..%llu", write ? "writing" : "reading", what,
                      (unsigned long long)start[0], (unsigned long long)(start[0] + count[0] - 1));
    h5_close_id(&ms);
    h5_close_id(&fs);
    return ret;
}

/* Transfers nelem elements at flat offset `off` of /attention/full. */
static as_status full_xfer(struct as_h5file *f, int write, hsize_t off, size_t nelem, hid_t mtype,
                           void *buf, const char *id, struct as_err *err) {
    hsize_t count[1] = {(hsize_t)nelem}, start[1] = {off};
    char what[AS_H5_ID_MAX + 64];
    snprintf(what, sizeof what, "/attention/full (prompt '%s')", id);
    return att_xfer(f, write, 1, start, count, mtype, buf, what, err);
}

static as_status check_layer(const struct as_h5file *f, int64_t index, int layer, int H, int T,
                             struct as_err *err) {
    const struct as_h5_prompt_info *in = &f->prompts[index];
    if (layer < 0 || layer >= f->n_layers || H != f->n_heads || T != in->n_tokens)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: attention of prompt '%s': got layer %d of (H=%d, T=%d); expected "
                          "a layer in [0, %d) of (H=%d, T=%d)",
                          f->path, in->id, layer, H, T, f->n_layers, f->n_heads, in->n_tokens);
    return AS_OK;
}

as_status as_h5batch_write_layer(struct as_h5batch *b, int64_t index, int layer, const float *probs,
                                 int H, int T, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5file *f = b->f;
    if (!f || index < b->first || index >= b->first + b->n || !probs)
        return as_err_set(err, AS_ERR_INVALID, "prompt %lld is not in the open batch",
                          (long long)index);
    if (f->store == AS_STORE_NONE) return AS_OK;
    AS_TRY(check_layer(f, index, layer, H, T, err));
    const struct as_h5_prompt_info *in = &f->prompts[index];
    const int f16 = f->dtype == AS_OUT_F16, L = f->n_layers;
    const size_t TT = (size_t)T * (size_t)T;
    if (f->store == AS_STORE_LAST_ROW) {
        /* row T-1 of every head into rows [tok_start, tok_start + T) of [token, layer, head] */
        const size_t base = (size_t)(in->tok_start - b->tok0);
        for (int h = 0; h < H; h++) {
            const float *row = probs + (size_t)h * TT + (size_t)(T - 1) * (size_t)T;
            for (int k = 0; k < T; k++) {
                size_t at = ((base + (size_t)k) * (size_t)L + (size_t)layer) * (size_t)H + h;
                if (f16)
                    ((uint16_t *)b->last_row)[at] = as_f32_to_f16(row[k]);
                else
                    ((float *)b->last_row)[at] = row[k];
            }
        }
        goto done;
    }
    /* full: the layer's (H, T, T) block, contiguous in the flat array */
    const hsize_t off = (hsize_t)in->att_start + (hsize_t)layer * (hsize_t)H * TT;
    const size_t total = (size_t)H * TT, step = H5_IO_CHUNK_BYTES / elsize_of(f->dtype);
    if (f16) AS_TRY(scratch_reserve(b, (total < step ? total : step) * 2, err));
    for (size_t o = 0; o < total; o += step) {
        size_t m = total - o < step ? total - o : step;
        void *buf = (void *)(probs + o);
        if (f16) {
            uint16_t *dst = b->scratch;
            for (size_t i = 0; i < m; i++)
                dst[i] = as_f32_to_f16(probs[o + i]);
            buf = dst;
        }
        AS_TRY(full_xfer(f, 1, off + o, m, f16 ? f->f16_type : H5T_NATIVE_FLOAT, buf, in->id, err));
    }
done:
    return ret;
}

as_status as_h5batch_commit(struct as_h5batch *b, const struct as_table *rows,
                            const struct as_table *behaviour, const int8_t *status,
                            struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5file *f = b->f;
    if (!f) return as_err_set(err, AS_ERR_INVALID, "commit of a batch that is not open");
    AS_TRY(as_fault_check("commit", f->rank, err));
    if (f->store == AS_STORE_LAST_ROW && b->n_tok > 0) {
        hsize_t start[3] = {(hsize_t)b->tok0, 0, 0};
        hsize_t count[3] = {(hsize_t)b->n_tok, (hsize_t)f->n_layers, (hsize_t)f->n_heads};
        AS_TRY(att_xfer(f, 1, 3, start, count,
                        f->dtype == AS_OUT_F16 ? f->f16_type : H5T_NATIVE_FLOAT, b->last_row,
                        "/attention/last_row", err));
    }
    if (rows) AS_TRY(as_h5file_write_rows(f, "metrics", rows, b->first, err));
    if (behaviour) AS_TRY(as_h5file_write_rows(f, "behaviour", behaviour, b->first, err));
    if (status) {
        AS_TRY(as_h5file_sync(f, err)); /* the data are durable before the status says done */
        AS_TRY(as_h5file_write_status_range(f, b->first, b->n, status, err));
    }
done:
    return ret;
}

as_status as_h5file_read_attention_layer(struct as_h5file *f, int64_t index, int layer, float *out,
                                         struct as_err *err) {
    as_status ret = AS_OK;
    void *tmp = NULL;
    if (index < 0 || index >= f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID, "%s: prompt %lld out of range [0, %lld)", f->path,
                          (long long)index, (long long)f->n_prompts);
    const struct as_h5_prompt_info *in = &f->prompts[index];
    if (f->store == AS_STORE_NONE)
        return as_err_set(err, AS_ERR_INVALID, "%s: the file stores no attention (store: none)",
                          f->path);
    if (in->skipped)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: prompt '%s' was skipped (longer than the model's max_position, "
                          "model.on_too_long: skip); it has no attention",
                          f->path, in->id);
    AS_TRY(check_layer(f, index, layer, f->n_heads, in->n_tokens, err));
    const int H = f->n_heads, T = in->n_tokens, L = f->n_layers, f16 = f->dtype == AS_OUT_F16;
    const hid_t mtype = f16 ? f->f16_type : H5T_NATIVE_FLOAT;
    if (f->store == AS_STORE_FULL) {
        const size_t TT = (size_t)T * T, total = (size_t)H * TT;
        const size_t step = H5_IO_CHUNK_BYTES / elsize_of(f->dtype);
        const hsize_t off = (hsize_t)in->att_start + (hsize_t)layer * total;
        if (f16 && !(tmp = malloc((total < step ? total : step) * 2))) {
            ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory", f->path);
            goto done;
        }
        for (size_t o = 0; o < total; o += step) {
            size_t m = total - o < step ? total - o : step;
            AS_TRY(full_xfer(f, 0, off + o, m, mtype, f16 ? tmp : (void *)(out + o), in->id, err));
            for (size_t i = 0; f16 && i < m; i++)
                out[o + i] = as_f16_to_f32(((uint16_t *)tmp)[i]);
        }
        goto done;
    }
    /* last_row: rows [tok_start, +T) of layer `layer`, (T, H) -> (H, T) */
    (void)L;
    if (!(tmp = malloc((size_t)T * L * H * sizeof(float)))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory", f->path);
        goto done;
    }
    AS_TRY(as_h5file_read_last_rows(f, index, 1, tmp, err));
    for (int k = 0; k < T; k++)
        for (int h = 0; h < H; h++)
            out[(size_t)h * T + k] = ((float *)tmp)[((size_t)k * L + layer) * H + h];
done:
    free(tmp);
    return ret;
}

as_status as_h5file_read_last_rows(struct as_h5file *f, int64_t first, int64_t n, float *out,
                                   struct as_err *err) {
    as_status ret = AS_OK;
    if (f->store != AS_STORE_LAST_ROW || first < 0 || n < 1 || first + n > f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: last rows of prompts [%lld, %lld): the file stores %s with %lld "
                          "prompts",
                          f->path, (long long)first, (long long)(first + n),
                          as_store_name(f->store), (long long)f->n_prompts);
    const int64_t t0 = f->prompts[first].tok_start;
    const int64_t nt =
        f->prompts[first + n - 1].tok_start + f->prompts[first + n - 1].n_tokens - t0;
    hsize_t start[3] = {(hsize_t)t0, 0, 0};
    hsize_t count[3] = {(hsize_t)nt, (hsize_t)f->n_layers, (hsize_t)f->n_heads};
    const size_t total = (size_t)nt * f->n_layers * f->n_heads;
    const int f16 = f->dtype == AS_OUT_F16;
    /* float16 is read raw and converted here: HDF5's soft conversion is bit by bit */
    AS_TRY(att_xfer(f, 0, 3, start, count, f16 ? f->f16_type : H5T_NATIVE_FLOAT, out,
                    "/attention/last_row", err));
    if (f16) { /* in place, from the back: out holds total uint16 values at its start */
        const uint16_t *h = (const uint16_t *)out;
        for (size_t i = total; i-- > 0;)
            out[i] = as_f16_to_f32(h[i]);
    }
done:
    return ret;
}
