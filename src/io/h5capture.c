/* h5capture.c - the optional captures of /attention (docs/FORMAT.md "Value
 * norms and scores"): their creation-time columns and the writer of full
 * scores. value_norm and scores_last_row are [token, layer, head] rows like
 * last_row, written per batch with as_h5file_write_rows; scores_full is flat
 * like /attention/full (same /sweep/attention_start), written one (prompt,
 * layer) block at a time. */
#include <stdio.h>
#include <stdlib.h>

#include "attnsweep/dtype.h"
#include "attnsweep/h5capture.h"
#include "h5internal.h"

void h5_layout_capture(const struct as_h5_create_spec *s, struct as_table *att, int64_t NT,
                       int64_t NE) {
    const enum as_col_type at = s->dtype == AS_OUT_F16 ? AS_COL_F16 : AS_COL_F32;
    const int64_t sLR[3] = {NT, s->n_layers, s->n_heads}, sNE[1] = {NE};
    if ((s->value_norms || (s->scores && s->store == AS_STORE_LAST_ROW)) &&
        !as_table_find(att, "token"))
        as_table_add_range(att, "token", NT);
    if (s->value_norms) as_table_add(att, "value_norm", at, "token,layer,head", sLR, NULL, 0);
    if (s->scores && s->store == AS_STORE_LAST_ROW)
        as_table_add(att, "scores_last_row", at, "token,layer,head", sLR, NULL, 0);
    if (s->scores && s->store == AS_STORE_FULL)
        as_table_add(att, "scores_full", at, "element", sNE, NULL, 0);
}

as_status as_h5file_write_scores_layer(struct as_h5file *f, int64_t index, int layer,
                                       const float *scores, int H, int T, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    uint16_t *tmp = NULL;
    if (!f->writable || f->store != AS_STORE_FULL || index < 0 || index >= f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: full scores of prompt %lld: expected a writable file with store "
                          "full and a prompt in [0, %lld)",
                          f->path, (long long)index, (long long)f->n_prompts);
    const struct as_h5_prompt_info *in = &f->prompts[index];
    if (layer < 0 || layer >= f->n_layers || H != f->n_heads || T != in->n_tokens)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: scores of prompt '%s': got layer %d of (H=%d, T=%d); expected a "
                          "layer in [0, %d) of (H=%d, T=%d)",
                          f->path, in->id, layer, H, T, f->n_layers, f->n_heads, in->n_tokens);
    const int f16 = f->dtype == AS_OUT_F16;
    const size_t TT = (size_t)T * T, total = (size_t)H * TT;
    const size_t step = H5_IO_CHUNK_BYTES / (f16 ? 2 : 4);
    const hsize_t off = (hsize_t)in->att_start + (hsize_t)layer * total;
    if (f16 && !(tmp = malloc((total < step ? total : step) * sizeof *tmp)))
        return as_err_set(err, AS_ERR_NOMEM, "%s: no memory for a float16 conversion", f->path);
    if ((d = H5Dopen2(f->file, "attention/scores_full", f->dapl_ind)) < 0 ||
        (fs = H5Dget_space(d)) < 0) {
        ret = h5_fail(err, f->path, "opening /attention/scores_full");
        goto done;
    }
    for (size_t o = 0; o < total; o += step) {
        const size_t m = total - o < step ? total - o : step;
        hsize_t start[1] = {off + o}, count[1] = {m};
        const void *buf = scores + o;
        if (f16) {
            for (size_t i = 0; i < m; i++)
                tmp[i] = as_f32_to_f16(scores[o + i]);
            buf = tmp;
        }
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            (ms = H5Screate_simple(1, count, NULL)) < 0 ||
            H5Dwrite(d, f16 ? f->f16_type : H5T_NATIVE_FLOAT, ms, fs, f->dxpl_ind, buf) < 0) {
            ret = h5_fail(err, f->path, "writing /attention/scores_full (prompt '%s', layer %d)",
                          in->id, layer);
            goto done;
        }
        h5_close_id(&ms);
    }
done:
    h5_close_id(&ms), h5_close_id(&fs), h5_close_id(&d);
    free(tmp);
    return ret;
}

as_status as_h5file_read_capture_rows(struct as_h5file *f, const char *name, int64_t first,
                                      int64_t n, float *out, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    char path[128];
    snprintf(path, sizeof path, "attention/%s", name);
    if (first < 0 || n < 1 || first + n > f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID, "%s: /%s rows of prompts [%lld, %lld) of %lld",
                          f->path, path, (long long)first, (long long)(first + n),
                          (long long)f->n_prompts);
    const int64_t t0 = f->prompts[first].tok_start;
    const int64_t nt =
        f->prompts[first + n - 1].tok_start + f->prompts[first + n - 1].n_tokens - t0;
    hsize_t start[3] = {(hsize_t)t0, 0, 0};
    hsize_t count[3] = {(hsize_t)nt, (hsize_t)f->n_layers, (hsize_t)f->n_heads}, dims[3] = {0};
    const size_t total = (size_t)nt * f->n_layers * f->n_heads;
    const int f16 = f->dtype == AS_OUT_F16;
    if ((d = H5Dopen2(f->file, path, f->dapl_ind)) < 0 || (fs = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(fs) != 3 || H5Sget_simple_extent_dims(fs, dims, NULL) < 0 ||
        dims[0] < (hsize_t)(t0 + nt) || dims[1] != count[1] || dims[2] != count[2]) {
        ret = d < 0 ? h5_fail(err, f->path, "opening /%s", path)
                    : as_err_set(err, AS_ERR_FORMAT, "%s: /%s must be [%lld, %d, %d]", f->path,
                                 path, (long long)f->n_tokens_total, f->n_layers, f->n_heads);
        goto done;
    }
    /* float16 is read raw and converted here (HDF5's soft conversion is bit by bit) */
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (ms = H5Screate_simple(3, count, NULL)) < 0 ||
        H5Dread(d, f16 ? f->f16_type : H5T_NATIVE_FLOAT, ms, fs, f->dxpl_ind, out) < 0) {
        ret = h5_fail(err, f->path, "reading /%s rows %lld..%lld", path, (long long)t0,
                      (long long)(t0 + nt - 1));
        goto done;
    }
    if (f16) { /* in place, from the back: out holds total uint16 values at its start */
        const uint16_t *h = (const uint16_t *)out;
        for (size_t i = total; i-- > 0;)
            out[i] = as_f16_to_f32(h[i]);
    }
done:
    h5_close_id(&ms), h5_close_id(&fs), h5_close_id(&d);
    return ret;
}
