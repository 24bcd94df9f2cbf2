/* h5read.c - whole-sweep reads: every prompt's text and token data in a few
 * transfers (reduce, tests), root string attributes and /config. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdlib.h>
#include <string.h>

#include "h5internal.h"

void as_h5_tokens_free(struct as_h5_tokens *t) {
    free(t->text), free(t->texts), free(t->text_len), free(t->token_id), free(t->offsets);
    free(t->token_str), free(t->tokens), free(t->group), free(t->variant), free(t->strings);
    memset(t, 0, sizeof *t);
}

/* Moves column `name` of tab into *dst (ownership) after checking its type and size. */
static as_status take(struct as_h5file *f, struct as_table *tab, const char *where,
                      const char *name, enum as_col_type type, int64_t count, void **dst,
                      size_t *width, struct as_err *err) {
    for (int i = 0; i < tab->n; i++) {
        struct as_col *c = &tab->cols[i];
        if (strcmp(c->name, name) != 0) continue;
        if (c->type != type || as_col_count(c) != count)
            return as_err_set(err, AS_ERR_FORMAT,
                              "%s: /%s/%s has %lld elements of type %d; expected %lld of type %d "
                              "(docs/FORMAT.md)",
                              f->path, where, name, (long long)as_col_count(c), (int)c->type,
                              (long long)count, (int)type);
        *dst = c->data;
        if (width) *width = c->width;
        c->data = NULL, c->owned = 0;
        return AS_OK;
    }
    return as_err_set(err, AS_ERR_FORMAT, "%s: /%s/%s is missing", f->path, where, name);
}

as_status as_h5file_read_tokens(struct as_h5file *f, struct as_h5_tokens *t, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_table sw, tx, tk;
    int64_t *tstart = NULL;
    int32_t *tlen = NULL;
    uint8_t *utf8 = NULL;
    char *grp = NULL, *var = NULL;
    size_t gw = 0, vw = 0;
    memset(t, 0, sizeof *t);
    as_table_init(&sw), as_table_init(&tx), as_table_init(&tk);
    const int64_t n = f->n_prompts, NT = f->n_tokens_total;
    static const char *const sc[] = {"text_start", "text_length", "group", "variant"};
    static const char *const tc[] = {"token_id", "offsets", "token_str"};
    static const char *const xc[] = {"utf8"};
    AS_TRY(as_h5file_read_columns(f, "sweep", sc, 4, 0, &sw, err));
    AS_TRY(as_h5file_read_columns(f, "tokens", tc, 3, 0, &tk, err));
    AS_TRY(as_h5file_read_columns(f, "text", xc, 1, 0, &tx, err));
    AS_TRY(take(f, &sw, "sweep", "text_start", AS_COL_I64, n, (void **)&tstart, NULL, err));
    AS_TRY(take(f, &sw, "sweep", "text_length", AS_COL_I32, n, (void **)&tlen, NULL, err));
    AS_TRY(take(f, &sw, "sweep", "group", AS_COL_STR, n, (void **)&grp, &gw, err));
    AS_TRY(take(f, &sw, "sweep", "variant", AS_COL_STR, n, (void **)&var, &vw, err));
    AS_TRY(take(f, &tk, "tokens", "token_id", AS_COL_I32, NT, (void **)&t->token_id, NULL, err));
    AS_TRY(take(f, &tk, "tokens", "offsets", AS_COL_I32, 2 * NT, (void **)&t->offsets, NULL, err));
    AS_TRY(take(f, &tk, "tokens", "token_str", AS_COL_STR, NT, (void **)&t->token_str,
                &t->token_str_width, err));
    int64_t NB = tx.n ? as_col_count(&tx.cols[0]) : 0;
    AS_TRY(take(f, &tx, "text", "utf8", AS_COL_U8, NB, (void **)&utf8, NULL, err));
    size_t nn = (size_t)n;
    if (!(t->text = malloc((size_t)NB + nn + 1)) ||
        !(t->texts = calloc(nn + 1, sizeof *t->texts)) ||
        !(t->text_len = calloc(nn + 1, sizeof *t->text_len)) ||
        !(t->tokens = calloc((size_t)NT + 1, sizeof *t->tokens)) ||
        !(t->group = calloc(nn + 1, sizeof *t->group)) ||
        !(t->variant = calloc(nn + 1, sizeof *t->variant))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for the texts and tokens", f->path);
        goto done;
    }
    char *p = t->text;
    for (size_t i = 0; i < nn; i++) {
        if (tstart[i] < 0 || tlen[i] < 0 || tstart[i] + tlen[i] > NB) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: /sweep text_start[%zu] = %lld, text_length = %d lie outside "
                             "/text/utf8 (%lld bytes)",
                             f->path, i, (long long)tstart[i], (int)tlen[i], (long long)NB);
            goto done;
        }
        memcpy(p, utf8 + tstart[i], (size_t)tlen[i]);
        p[tlen[i]] = '\0';
        t->texts[i] = p, t->text_len[i] = (size_t)tlen[i];
        p += tlen[i] + 1;
        t->group[i] = grp + i * gw, t->variant[i] = var + i * vw;
    }
    for (int64_t k = 0; k < NT; k++)
        t->tokens[k] = t->token_str + (size_t)k * t->token_str_width;
    for (size_t i = 0; i < nn; i++) {
        const struct as_h5_prompt_info *in = &f->prompts[i];
        for (int k = 0; k < in->n_tokens; k++) {
            int32_t a = t->offsets[2 * (in->tok_start + k)],
                    b = t->offsets[2 * (in->tok_start + k) + 1];
            if (a < 0 || b < a || (size_t)b > t->text_len[i]) {
                ret = as_err_set(err, AS_ERR_FORMAT,
                                 "%s: /tokens/offsets of prompt '%s' token %d = [%d, %d); expected "
                                 "0 <= start <= end <= %zu",
                                 f->path, in->id, k, (int)a, (int)b, t->text_len[i]);
                goto done;
            }
        }
    }
    t->n_prompts = n, t->n_tokens = NT;
    /* group / variant records stay in grp / var: keep one owner */
    t->strings = malloc(nn * (gw + vw) + 1);
    if (!t->strings) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory", f->path);
        goto done;
    }
    memcpy(t->strings, grp, nn * gw);
    memcpy(t->strings + nn * gw, var, nn * vw);
    for (size_t i = 0; i < nn; i++)
        t->group[i] = t->strings + i * gw, t->variant[i] = t->strings + nn * gw + i * vw;
done:
    free(tstart), free(tlen), free(utf8), free(grp), free(var);
    as_table_free(&sw), as_table_free(&tx), as_table_free(&tk);
    if (ret != AS_OK) as_h5_tokens_free(t);
    return ret;
}

as_status as_h5file_read_attr_str(struct as_h5file *f, const char *name, char **out,
                                  struct as_err *err) {
    return h5_attr_read_str(f, f->file, "/", name, out, err);
}

as_status as_h5file_read_config(struct as_h5file *f, char **yaml, size_t *len, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    *yaml = NULL, *len = 0;
    htri_t ex = H5Lexists(f->file, "config", H5P_DEFAULT);
    if (ex < 0) {
        ret = h5_fail(err, f->path, "looking for /config");
        goto done;
    }
    if (ex == 0) goto done;
    if ((d = H5Dopen2(f->file, "config", f->dapl_ind)) < 0 || (t = H5Dget_type(d)) < 0) {
        ret = h5_fail(err, f->path, "opening /config");
        goto done;
    }
    size_t w = H5Tget_size(t);
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0 || w == 0) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: /config is not a fixed-length string", f->path);
        goto done;
    }
    if (!(*yaml = calloc(w + 1, 1))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for /config (%zu bytes)", f->path, w);
        goto done;
    }
    if ((mt = h5_str_fixed(w)) < 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, f->dxpl_ind, *yaml) < 0) {
        ret = h5_fail(err, f->path, "reading /config");
        goto done;
    }
    *len = strlen(*yaml);
done:
    h5_close_id(&mt), h5_close_id(&t), h5_close_id(&d);
    if (ret != AS_OK) free(*yaml), *yaml = NULL;
    return ret;
}
