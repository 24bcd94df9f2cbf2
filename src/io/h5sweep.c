/* h5sweep.c - independent updates of /sweep columns other than status:
 * the per-prompt failure message and the rank that computed each prompt. */
#include <string.h>

#include "attnsweep/h5out.h"
#include "h5internal.h"

static as_status column_open(struct as_h5file *f, const char *name, hid_t *d, struct as_err *err) {
    char path[64];
    snprintf(path, sizeof path, "/sweep/%s", name);
    if (f->file <= 0) return as_err_set(err, AS_ERR_INVALID, "%s: file is not open", f->path);
    if ((*d = H5Dopen2(f->file, path, f->dapl_ind)) < 0)
        return h5_fail(err, f->path, "opening %s", path);
    return AS_OK;
}

/* The type and space of /sweep/message, checked: a 1-D column of n_prompts fixed-length
 * strings of at most AS_H5_MESSAGE_MAX bytes (a damaged file may hold anything there). */
static as_status message_check(struct as_h5file *f, hid_t d, hid_t *t, hid_t *fs,
                               struct as_err *err) {
    hsize_t dims[1] = {0};
    if ((*t = H5Dget_type(d)) < 0 || (*fs = H5Dget_space(d)) < 0)
        return h5_fail(err, f->path, "reading the type and shape of /sweep/message");
    if (H5Tget_class(*t) != H5T_STRING || H5Tis_variable_str(*t) != 0 ||
        H5Tget_size(*t) > AS_H5_MESSAGE_MAX || H5Sget_simple_extent_ndims(*fs) != 1 ||
        H5Sget_simple_extent_dims(*fs, dims, NULL) < 0 || dims[0] != (hsize_t)f->n_prompts)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: /sweep/message must be [%lld] fixed-length strings of at most %d "
                          "bytes (docs/FORMAT.md); the file is damaged or not an attnsweep output",
                          f->path, (long long)f->n_prompts, AS_H5_MESSAGE_MAX);
    return AS_OK;
}

as_status h5_message_check(struct as_h5file *f, struct as_err *err) {
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, fs = H5I_INVALID_HID;
    as_status ret = column_open(f, "message", &d, err);
    if (ret == AS_OK) ret = message_check(f, d, &t, &fs, err);
    h5_close_id(&fs), h5_close_id(&t), h5_close_id(&d);
    return ret;
}

as_status as_h5file_set_message(struct as_h5file *f, int64_t index, const char *msg,
                                struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID, t = H5I_INVALID_HID;
    char buf[AS_H5_MESSAGE_MAX];
    if (index < 0 || index >= f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID, "%s: prompt index %lld out of range [0, %lld)",
                          f->path, (long long)index, (long long)f->n_prompts);
    memset(buf, 0, sizeof buf);
    if (msg) {
        size_t n = strlen(msg);
        if (n > sizeof buf) n = sizeof buf;
        while (n > 0 && n < strlen(msg) && ((unsigned char)msg[n] & 0xC0) == 0x80)
            n--; /* do not cut a UTF-8 sequence */
        memcpy(buf, msg, n);
    }
    AS_TRY(column_open(f, "message", &d, err));
    hsize_t start[1] = {(hsize_t)index}, count[1] = {1};
    if ((ret = message_check(f, d, &t, &fs, err)) != AS_OK) goto done;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (ms = H5Screate_simple(1, count, NULL)) < 0 ||
        H5Dwrite(d, t, ms, fs, f->dxpl_ind, buf) < 0) {
        ret = h5_fail(err, f->path, "writing /sweep/message[%lld]", (long long)index);
        goto done;
    }
done:
    h5_close_id(&ms);
    h5_close_id(&fs);
    h5_close_id(&t);
    h5_close_id(&d);
    return ret;
}

as_status as_h5file_read_message(struct as_h5file *f, int64_t index, char *out,
                                 struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, fs = H5I_INVALID_HID, ms = H5I_INVALID_HID, t = H5I_INVALID_HID;
    memset(out, 0, AS_H5_MESSAGE_MAX + 1);
    if (index < 0 || index >= f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID, "%s: prompt index %lld out of range [0, %lld)",
                          f->path, (long long)index, (long long)f->n_prompts);
    AS_TRY(column_open(f, "message", &d, err));
    hsize_t start[1] = {(hsize_t)index}, count[1] = {1};
    if ((ret = message_check(f, d, &t, &fs, err)) != AS_OK) goto done;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (ms = H5Screate_simple(1, count, NULL)) < 0 ||
        H5Dread(d, t, ms, fs, f->dxpl_ind, out) < 0) {
        ret = h5_fail(err, f->path, "reading /sweep/message[%lld]", (long long)index);
        goto done;
    }
    out[AS_H5_MESSAGE_MAX] = '\0';
done:
    h5_close_id(&ms);
    h5_close_id(&fs);
    h5_close_id(&t);
    h5_close_id(&d);
    return ret;
}

as_status as_h5file_write_ranks(struct as_h5file *f, const int32_t *rank, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID;
    if (f->n_prompts == 0) return AS_OK;
    AS_TRY(column_open(f, "rank", &d, err));
    if (H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, f->dxpl_ind, rank) < 0) {
        ret = h5_fail(err, f->path, "writing /sweep/rank");
        goto done;
    }
    for (int64_t i = 0; i < f->n_prompts; i++)
        f->prompts[i].rank = rank[i];
done:
    h5_close_id(&d);
    return ret;
}
