/* metrics_h5.c - /prompts/<id>/metrics/ in the output file (docs/FORMAT.md,
 * "Metrics and summary"): collective creation from the layouts (sizes are
 * known before compute), independent raw writes by the worker that computed
 * the prompt, and reading back the small metrics the summary needs.
 *
 * One walk (mh_walk) lists every dataset with its type and shape, so create
 * and write can never disagree. Strings are fixed-length UTF-8 (HDF5 1.10
 * cannot write VL string datasets through MPI-IO), as in src/io. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/h5internal.h"
#include "attnsweep/reduce.h"

const char *const as_head_metric_names[AS_HM_COUNT] = {"head_entropy", "head_max",   "sink_last",
                                                       "sink_mean",    "prev_token", "norm_entropy",
                                                       "dup_token",    "induction"};

enum mh_kind { MH_F64, MH_I32, MH_I8, MH_STR };

struct mh_dset {
    const char *name;
    enum mh_kind kind;
    size_t width; /* MH_STR */
    int nd;
    hsize_t dims[3];
    const void *buf; /* write mode: contiguous data in the memory type of `kind` */
};

typedef as_status (*mh_fn)(void *ctx, const struct mh_dset *d, struct as_err *err);

/* Packs n strings into n x width null-padded bytes (longer strings are cut). */
static char *pack(char *const *s, size_t n, size_t width) {
    char *b = calloc(n * width + 1, 1);
    for (size_t i = 0; b && i < n; i++) {
        size_t len = s[i] ? strlen(s[i]) : 0;
        memcpy(b + i * width, s[i], len < width ? len : width);
    }
    return b;
}

/* Calls fn for every dataset of the layout. With m != NULL the buffers are
 * filled from m (temporary arrays are freed before returning). */
static as_status mh_walk(const struct as_metrics_layout *y, const struct as_metrics *m, mh_fn fn,
                         void *ctx, struct as_err *err) {
    as_status ret = AS_OK;
    const hsize_t L = (hsize_t)y->L, H = (hsize_t)y->H, T = (hsize_t)y->T,
                  K = (hsize_t)y->n_keywords;
    const hsize_t O = (hsize_t)y->n_occ, N = (hsize_t)y->n_nb, S = (hsize_t)y->n_spans;
    const int full = y->input == AS_METRICS_FULL;
    char *focus_tok = NULL, *kw = NULL, *nb_tok = NULL, *span_name = NULL;
    int32_t *occ_kw = NULL, *occ_b = NULL, *occ_t = NULL, *sp_b = NULL, *sp_t = NULL;
    int8_t *sp_k = NULL;
    char **tmp = NULL;
    if (m) {
        size_t lh = (size_t)(L * H), nmax = lh > N ? lh : N;
        if (S > nmax) nmax = S;
        if (K > nmax) nmax = K;
        tmp = calloc(nmax + 1, sizeof *tmp);
        occ_kw = calloc(O + 1, sizeof *occ_kw), occ_b = calloc(2 * O + 1, sizeof *occ_b);
        occ_t = calloc(2 * O + 1, sizeof *occ_t), sp_b = calloc(2 * S + 1, sizeof *sp_b);
        sp_t = calloc(2 * S + 1, sizeof *sp_t), sp_k = calloc(S + 1, sizeof *sp_k);
        if (!tmp || !occ_kw || !occ_b || !occ_t || !sp_b || !sp_t || !sp_k) goto nomem;
        for (size_t i = 0; i < lh; i++)
            tmp[i] = m->tokens[m->head_focus[i]];
        if (!(focus_tok = pack(tmp, lh, y->token_width))) goto nomem;
        if (!(kw = pack(m->keywords, (size_t)K, y->keyword_width))) goto nomem;
        for (size_t i = 0; i < N; i++)
            tmp[i] = m->tokens[m->nb_position[i]];
        if (!(nb_tok = pack(tmp, (size_t)N, y->token_width))) goto nomem;
        for (size_t i = 0; i < S; i++)
            tmp[i] = m->spans[i].name;
        if (!(span_name = pack(tmp, (size_t)S, y->span_width))) goto nomem;
        for (size_t i = 0; i < O; i++) {
            occ_kw[i] = m->occ[i].keyword;
            memcpy(occ_b + 2 * i, m->occ[i].bytes, sizeof m->occ[i].bytes);
            memcpy(occ_t + 2 * i, m->occ[i].tokens, sizeof m->occ[i].tokens);
        }
        for (size_t i = 0; i < S; i++) {
            sp_k[i] = (int8_t)m->spans[i].kind;
            memcpy(sp_b + 2 * i, m->spans[i].bytes, sizeof m->spans[i].bytes);
            memcpy(sp_t + 2 * i, m->spans[i].tokens, sizeof m->spans[i].tokens);
        }
    }
#define D(nm, kd, w, n, d0, d1, d2, src)                                                           \
    do {                                                                                           \
        struct mh_dset d_ = {nm, kd, w, n, {d0, d1, d2}, m ? (const void *)(src) : NULL};          \
        AS_TRY(fn(ctx, &d_, err));                                                                 \
    } while (0)
    /* seed-exact */
    D("layer_entropy", MH_F64, 0, 1, L, 0, 0, m->layer_entropy);
    D("head_entropy", MH_F64, 0, 2, L, H, 0, m->head_entropy);
    D("head_max", MH_F64, 0, 2, L, H, 0, m->head_max);
    D("head_focus", MH_I32, 0, 2, L, H, 0, m->head_focus);
    D("head_focus_token", MH_STR, y->token_width, 2, L, H, 0, focus_tok);
    if (full) {
        D("aggregate_mean", MH_F64, 0, 2, T, T, 0, m->agg_mean);
        D("aggregate_max", MH_F64, 0, 2, T, T, 0, m->agg_max);
        D("aggregate_last_layer", MH_F64, 0, 2, T, T, 0, m->agg_last);
    }
    D("last_row_mean", MH_F64, 0, 2, L, T, 0, m->last_row_mean);
    /* keywords: text rule and the notebook's token-substring rule */
    D("keywords", MH_STR, y->keyword_width, 1, K, 0, 0, kw);
    D("keyword_occ_keyword", MH_I32, 0, 1, O, 0, 0, occ_kw);
    D("keyword_occ_bytes", MH_I32, 0, 2, O, 2, 0, occ_b);
    D("keyword_occ_tokens", MH_I32, 0, 2, O, 2, 0, occ_t);
    D("keyword_occ_mass", MH_F64, 0, 1, O, 0, 0, m->occ_mass);
    D("keyword_occ_mass_layer", MH_F64, 0, 2, O, L, 0, m->occ_mass_layer);
    D("keyword_substr_keyword", MH_I32, 0, 1, N, 0, 0, m->nb_keyword);
    D("keyword_substr_position", MH_I32, 0, 1, N, 0, 0, m->nb_position);
    D("keyword_substr_token", MH_STR, y->token_width, 1, N, 0, 0, nb_tok);
    D("keyword_substr_mass", MH_F64, 0, 1, N, 0, 0, m->nb_mass);
    /* head metrics */
    D("sink_last", MH_F64, 0, 2, L, H, 0, m->sink_last);
    if (full) {
        D("sink_mean", MH_F64, 0, 2, L, H, 0, m->sink_mean);
        D("prev_token", MH_F64, 0, 2, L, H, 0, m->prev_token);
        D("norm_entropy", MH_F64, 0, 2, L, H, 0, m->norm_entropy);
        D("dup_token", MH_F64, 0, 2, L, H, 0, m->dup_token);
        D("induction", MH_F64, 0, 2, L, H, 0, m->induction);
    }
    /* spans */
    D("span_name", MH_STR, y->span_width, 1, S, 0, 0, span_name);
    D("span_kind", MH_I8, 0, 1, S, 0, 0, sp_k);
    D("span_bytes", MH_I32, 0, 2, S, 2, 0, sp_b);
    D("span_tokens", MH_I32, 0, 2, S, 2, 0, sp_t);
    D("span_mass", MH_F64, 0, 3, S, L, H, m->span_mass);
    D("span_lift", MH_F64, 0, 3, S, L, H, m->span_lift);
#undef D
    goto done;
nomem:
    ret = as_err_set(err, AS_ERR_NOMEM, "metrics: no memory for the write buffers");
done:
    free(tmp), free(focus_tok), free(kw), free(nb_tok), free(span_name);
    free(occ_kw), free(occ_b), free(occ_t), free(sp_b), free(sp_t), free(sp_k);
    return ret;
}

static hid_t file_type(enum mh_kind k, size_t width) {
    switch (k) {
    case MH_F64: return H5Tcopy(H5T_IEEE_F64LE);
    case MH_I32: return H5Tcopy(H5T_STD_I32LE);
    case MH_I8: return H5Tcopy(H5T_STD_I8LE);
    case MH_STR: return h5_str_fixed(width);
    }
    return H5I_INVALID_HID;
}

static hid_t mem_type(enum mh_kind k, size_t width) {
    switch (k) {
    case MH_F64: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case MH_I32: return H5Tcopy(H5T_NATIVE_INT32);
    case MH_I8: return H5Tcopy(H5T_NATIVE_INT8);
    case MH_STR: return h5_str_fixed(width);
    }
    return H5I_INVALID_HID;
}

struct mh_io {
    struct as_h5file *f;
    hid_t g;
    const char *where;
};

static as_status mh_create_one(void *ctx, const struct mh_dset *d, struct as_err *err) {
    struct mh_io *io = ctx;
    as_status ret = AS_OK;
    hid_t t = file_type(d->kind, d->width), s = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hid_t ds = H5I_INVALID_HID;
    if (t < 0 || (s = H5Screate_simple(d->nd, d->dims, NULL)) < 0 ||
        (dcpl = h5_dcpl_contig()) < 0 ||
        (ds = H5Dcreate2(io->g, d->name, t, s, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, io->f->path, "creating %s/%s", io->where, d->name);
        goto done;
    }
    if (d->kind == MH_STR) AS_TRY(h5_attr_str(io->f, ds, io->where, "_Encoding", "utf-8", err));
done:
    h5_close_id(&ds);
    h5_close_id(&dcpl);
    h5_close_id(&s);
    h5_close_id(&t);
    return ret;
}

static as_status mh_write_one(void *ctx, const struct mh_dset *d, struct as_err *err) {
    struct mh_io *io = ctx;
    as_status ret = AS_OK;
    hsize_t n = 1;
    for (int i = 0; i < d->nd; i++)
        n *= d->dims[i];
    if (n == 0) return AS_OK;
    hid_t t = mem_type(d->kind, d->width), ds = H5I_INVALID_HID;
    if (t < 0 || (ds = H5Dopen2(io->g, d->name, io->f->dapl_ind)) < 0 ||
        H5Dwrite(ds, t, H5S_ALL, H5S_ALL, io->f->dxpl_ind, d->buf) < 0)
        ret = h5_fail(err, io->f->path, "writing %s/%s", io->where, d->name);
    h5_close_id(&ds);
    h5_close_id(&t);
    return ret;
}

static uint64_t layouts_hash(const struct as_metrics_layout *y, int64_t n) {
    uint64_t h = h5_hash_bytes(H5_HASH_INIT, &n, sizeof n);
    for (int64_t i = 0; i < n; i++) {
        int64_t v[] = {y[i].L,
                       y[i].H,
                       y[i].T,
                       y[i].input,
                       y[i].n_keywords,
                       y[i].n_occ,
                       y[i].n_nb,
                       y[i].n_spans,
                       (int64_t)y[i].keyword_width,
                       (int64_t)y[i].span_width,
                       (int64_t)y[i].token_width};
        h = h5_hash_bytes(h, v, sizeof v);
    }
    return h;
}

as_status as_metrics_h5_create(struct as_h5file *f, const struct as_metrics_layout *layouts,
                               int64_t n, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_err local;
    hid_t pg = H5I_INVALID_HID, g = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    char where[AS_H5_ID_MAX + 32];
    if (!err) err = &local;
    if (!f->writable || f->file <= 0 || n != f->n_prompts || (n > 0 && !layouts)) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: metrics need a writable file and one layout per prompt (%lld given, "
                         "%lld prompts)",
                         f->path, (long long)n, (long long)f->n_prompts);
        goto done;
    }
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) goto done;
    AS_TRY(h5_check_same(f, layouts_hash(layouts, n), "metrics layouts", err));
    if ((gcpl = h5_gcpl_ordered()) < 0) {
        ret = h5_fail(err, f->path, "creating a group property list");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        const struct as_metrics_layout *y = &layouts[i];
        const struct as_h5_prompt_info *in = &f->prompts[i];
        if (y->L == 0) continue; /* no metrics for this prompt (store: none) */
        if (y->L != in->n_layers || y->H != in->n_heads || y->T != in->n_tokens) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: metrics layout of prompt '%s' is L=%d H=%d T=%d; the file has "
                             "L=%d H=%d T=%d",
                             f->path, in->id, y->L, y->H, y->T, in->n_layers, in->n_heads,
                             in->n_tokens);
            goto done;
        }
        snprintf(where, sizeof where, "/prompts/%s", in->id);
        if ((pg = H5Gopen2(f->file, where, H5P_DEFAULT)) < 0) {
            ret = h5_fail(err, f->path, "opening %s", where);
            goto done;
        }
        htri_t ex = H5Lexists(pg, "metrics", H5P_DEFAULT);
        if (ex < 0 || (ex > 0 && H5Ldelete(pg, "metrics", H5P_DEFAULT) < 0)) {
            ret = h5_fail(err, f->path, "replacing %s/metrics", where);
            goto done;
        }
        if ((g = H5Gcreate2(pg, "metrics", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
            ret = h5_fail(err, f->path, "creating %s/metrics", where);
            goto done;
        }
        snprintf(where, sizeof where, "/prompts/%s/metrics", in->id);
        AS_TRY(h5_attr_str(f, g, where, "input", y->input == AS_METRICS_FULL ? "full" : "last_row",
                           err));
        AS_TRY(h5_attr_str(f, g, where, "unavailable",
                           y->input == AS_METRICS_FULL ? "" : as_metrics_unavailable_last_row(),
                           err));
        struct mh_io io = {f, g, where};
        AS_TRY(mh_walk(y, NULL, mh_create_one, &io, err));
        h5_close_id(&g);
        h5_close_id(&pg);
    }
done:
    h5_close_id(&g);
    h5_close_id(&pg);
    h5_close_id(&gcpl);
    return h5_agree(f, ret, err);
}

as_status as_metrics_h5_write(struct as_h5file *f, int64_t index, const struct as_metrics *m,
                              struct as_err *err) {
    as_status ret = AS_OK;
    hid_t g = H5I_INVALID_HID;
    char where[AS_H5_ID_MAX + 32];
    if (f->file <= 0 || index < 0 || index >= f->n_prompts || !m->finished)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: metrics write of prompt %lld: index out of range or metrics not "
                          "finished",
                          f->path, (long long)index);
    const struct as_h5_prompt_info *in = &f->prompts[index];
    snprintf(where, sizeof where, "/prompts/%s/metrics", in->id);
    if ((g = H5Gopen2(f->file, where, f->gapl_ind)) < 0) {
        ret = h5_fail(err, f->path, "opening %s. HINT: as_metrics_h5_create makes it", where);
        goto done;
    }
    struct mh_io io = {f, g, where};
    ret = mh_walk(&m->lay, m, mh_write_one, &io, err);
done:
    h5_close_id(&g);
    return ret;
}

/* ------------------------------------------------------------ reading back */

static as_status rd(struct as_h5file *f, hid_t g, const char *where, const char *name, hid_t mt,
                    void *buf, hsize_t want, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, s = H5I_INVALID_HID;
    if ((d = H5Dopen2(g, name, f->dapl_ind)) < 0 || (s = H5Dget_space(d)) < 0) {
        ret = h5_fail(err, f->path, "opening %s/%s", where, name);
        goto done;
    }
    hssize_t np = H5Sget_simple_extent_npoints(s);
    if (np != (hssize_t)want) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: %s/%s has %lld elements; expected %llu", f->path,
                         where, name, (long long)np, (unsigned long long)want);
        goto done;
    }
    if (want > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, f->dxpl_ind, buf) < 0)
        ret = h5_fail(err, f->path, "reading %s/%s", where, name);
done:
    h5_close_id(&s);
    h5_close_id(&d);
    return ret;
}

/* Reads a fixed-length string dataset of n elements into n malloc'd strings in one block. */
static as_status rd_str(struct as_h5file *f, hid_t g, const char *where, const char *name, size_t n,
                        char ***out, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID;
    char what[512];
    *out = NULL;
    snprintf(what, sizeof what, "%s/%s", where, name);
    if ((d = H5Dopen2(g, name, f->dapl_ind)) < 0) {
        ret = h5_fail(err, f->path, "opening %s", what);
        goto done;
    }
    AS_TRY(h5_read_fixed_strings(f, d, n, what, out, err));
done:
    h5_close_id(&d);
    return ret;
}

static as_status rd_dims(struct as_h5file *f, hid_t g, const char *where, const char *name,
                         hsize_t *n0, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, s = H5I_INVALID_HID;
    hsize_t dims[4] = {0};
    if ((d = H5Dopen2(g, name, f->dapl_ind)) < 0 || (s = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(s) < 1 || H5Sget_simple_extent_dims(s, dims, NULL) < 0)
        ret = h5_fail(err, f->path, "reading the shape of %s/%s", where, name);
    *n0 = dims[0];
    h5_close_id(&s);
    h5_close_id(&d);
    return ret;
}

void as_metrics_small_free(struct as_metrics_small *s) {
    free(s->mem);
    free(s->focus_token);
    free(s->span_name);
    memset(s, 0, sizeof *s);
}

as_status as_metrics_h5_read(struct as_h5file *f, int64_t index, struct as_metrics_small *s,
                             struct as_err *err) {
    as_status ret = AS_OK;
    hid_t g = H5I_INVALID_HID;
    char where[AS_H5_ID_MAX + 32], *input = NULL;
    memset(s, 0, sizeof *s);
    if (f->file <= 0 || index < 0 || index >= f->n_prompts)
        return as_err_set(err, AS_ERR_INVALID, "%s: prompt index %lld out of range", f->path,
                          (long long)index);
    const struct as_h5_prompt_info *in = &f->prompts[index];
    snprintf(where, sizeof where, "/prompts/%s/metrics", in->id);
    if ((g = H5Gopen2(f->file, where, f->gapl_ind)) < 0) {
        ret = h5_fail(err, f->path, "opening %s. HINT: run 'attnsweep reduce' on the file", where);
        goto done;
    }
    hsize_t S = 0;
    AS_TRY(rd_dims(f, g, where, "span_name", &S, err));
    const size_t L = (size_t)in->n_layers, H = (size_t)in->n_heads, T = (size_t)in->n_tokens;
    s->L = in->n_layers, s->H = in->n_heads, s->T = in->n_tokens, s->n_spans = (int)S;
    size_t nd = L + (size_t)AS_HM_COUNT * L * H + L * T + 2 * (size_t)S * L * H;
    size_t ni = 3 * (size_t)S + L * H;
    if (!(s->mem = calloc(1, nd * sizeof(double) + ni * sizeof(int32_t) + 8))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for %s", f->path, where);
        goto done;
    }
    double *p = s->mem;
    s->layer_entropy = p, p += L;
    for (int k = 0; k < AS_HM_COUNT; k++)
        s->head[k] = p, p += L * H;
    s->last_row_mean = p, p += L * T;
    s->span_mass = p, p += S * L * H;
    s->span_lift = p, p += S * L * H;
    int32_t *q = (int32_t *)p;
    s->span_kind = q, q += S;
    s->span_tokens = q, q += 2 * S;
    s->head_focus = q;
    AS_TRY(rd(f, g, where, "layer_entropy", H5T_NATIVE_DOUBLE, s->layer_entropy, L, err));
    for (int k = 0; k < AS_HM_COUNT; k++) {
        htri_t ex = H5Lexists(g, as_head_metric_names[k], H5P_DEFAULT);
        if (ex > 0) {
            AS_TRY(rd(f, g, where, as_head_metric_names[k], H5T_NATIVE_DOUBLE, s->head[k], L * H,
                      err));
        } else {
            for (size_t i = 0; i < L * H; i++)
                s->head[k][i] = NAN;
        }
    }
    AS_TRY(rd(f, g, where, "head_focus", H5T_NATIVE_INT32, s->head_focus, L * H, err));
    AS_TRY(rd(f, g, where, "last_row_mean", H5T_NATIVE_DOUBLE, s->last_row_mean, L * T, err));
    AS_TRY(rd(f, g, where, "span_mass", H5T_NATIVE_DOUBLE, s->span_mass, S * L * H, err));
    AS_TRY(rd(f, g, where, "span_lift", H5T_NATIVE_DOUBLE, s->span_lift, S * L * H, err));
    AS_TRY(rd(f, g, where, "span_kind", H5T_NATIVE_INT32, s->span_kind, S, err));
    AS_TRY(rd(f, g, where, "span_tokens", H5T_NATIVE_INT32, s->span_tokens, 2 * S, err));
    AS_TRY(rd_str(f, g, where, "span_name", S, &s->span_name, err));
    AS_TRY(rd_str(f, g, where, "head_focus_token", L * H, &s->focus_token, err));
done:
    free(input);
    h5_close_id(&g);
    if (ret != AS_OK) as_metrics_small_free(s);
    return ret;
}
