/* summary_h5.c - as_reduce_summary: rank 0 reads the small per-prompt
 * metrics (prompt-index order), computes the statistics, and describes
 * /summary as a list of datasets; the list is broadcast so that every rank
 * creates identical datasets collectively, and rank 0 writes the raw data. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../io/h5internal.h"
#include "summary_internal.h"

enum { SL_F64 = 0, SL_I32 = 1, SL_STR = 2 };

/* A serialized dataset list: records of
 *   u32 path_len, path, u8 kind, u64 width, u8 nd, u64 dims[3], u64 nbytes, bytes */
struct sl {
    char *buf;
    size_t len, cap;
    int oom;
};

static void sl_put(struct sl *l, const void *p, size_t n) {
    if (l->oom) return;
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 4096;
        while (cap < l->len + n)
            cap *= 2;
        char *nb = realloc(l->buf, cap);
        if (!nb) {
            l->oom = 1;
            return;
        }
        l->buf = nb, l->cap = cap;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
}

static void sl_add(struct sl *l, const char *path, int kind, size_t width, int nd,
                   const uint64_t *dims, const void *data) {
    uint32_t pl = (uint32_t)strlen(path);
    uint8_t k = (uint8_t)kind, n8 = (uint8_t)nd;
    uint64_t w = width, d[3] = {0, 0, 0}, count = 1;
    for (int i = 0; i < nd; i++)
        d[i] = dims[i], count *= dims[i];
    uint64_t nbytes = count * (kind == SL_F64 ? 8 : kind == SL_I32 ? 4 : w);
    sl_put(l, &pl, sizeof pl);
    sl_put(l, path, pl);
    sl_put(l, &k, 1);
    sl_put(l, &w, sizeof w);
    sl_put(l, &n8, 1);
    sl_put(l, d, sizeof d);
    sl_put(l, &nbytes, sizeof nbytes);
    if (nbytes) sl_put(l, data, nbytes);
}

static void sl_f64(struct sl *l, const char *path, int nd, uint64_t d0, uint64_t d1, uint64_t d2,
                   const double *v) {
    uint64_t d[3] = {d0, d1, d2};
    sl_add(l, path, SL_F64, 0, nd, d, v);
}
static void sl_i32(struct sl *l, const char *path, int nd, uint64_t d0, uint64_t d1,
                   const int32_t *v) {
    uint64_t d[3] = {d0, d1, 0};
    sl_add(l, path, SL_I32, 0, nd, d, v);
}
/* n strings (pointer array) as fixed-length UTF-8 of the longest length. */
static void sl_str(struct sl *l, const char *path, int nd, uint64_t d0, uint64_t d1,
                   const char *const *v) {
    uint64_t d[3] = {d0, d1, 0}, n = nd == 1 ? d0 : d0 * d1;
    size_t w = 1;
    for (uint64_t i = 0; i < n; i++)
        if (strlen(v[i]) > w) w = strlen(v[i]);
    char *b = calloc(n * w + 1, 1);
    if (!b) {
        l->oom = 1;
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        memcpy(b + i * w, v[i], strlen(v[i]));
    sl_add(l, path, SL_STR, w, nd, d, b);
    free(b);
}

/* The three parts of a top-K head table: layer, head, value (+ token). */
static void sl_heads(struct sl *l, const char *base, const struct as_summary_head *h, uint64_t rows,
                     int with_token, const char *value_name) {
    const uint64_t K = AS_METRICS_TOP_K, n = (rows ? rows : 1) * K;
    int nd = rows ? 2 : 1;
    int32_t *li = calloc(n + 1, sizeof *li), *hi = calloc(n + 1, sizeof *hi);
    double *e = calloc(n + 1, sizeof *e);
    const char **t = calloc(n + 1, sizeof *t);
    if (!li || !hi || !e || !t) {
        l->oom = 1;
    } else {
        char path[600];
        for (uint64_t i = 0; i < n; i++)
            li[i] = h[i].layer, hi[i] = h[i].head, e[i] = h[i].entropy,
            t[i] = h[i].token ? h[i].token : "";
        uint64_t d0 = rows ? rows : K, d1 = rows ? K : 0;
        snprintf(path, sizeof path, "%s_layer", base);
        sl_i32(l, path, nd, d0, d1, li);
        snprintf(path, sizeof path, "%s_head", base);
        sl_i32(l, path, nd, d0, d1, hi);
        snprintf(path, sizeof path, "%s_%s", base, value_name);
        sl_f64(l, path, nd, d0, d1, 0, e);
        if (with_token) {
            snprintf(path, sizeof path, "%s_token", base);
            sl_str(l, path, nd, d0, d1, t);
        }
    }
    free(li), free(hi), free(e), free(t);
}

static void sl_build(struct sl *l, const struct as_summary *sm) {
    const uint64_t n = (uint64_t)sm->n, L = (uint64_t)sm->L, H = (uint64_t)sm->H;
    int32_t *idx = calloc(n + 1, sizeof *idx);
    if (!idx) {
        l->oom = 1;
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        idx[i] = (int32_t)sm->index[i];
    sl_str(l, "prompt", 1, n, 0, (const char *const *)sm->ids);
    sl_i32(l, "prompt_index", 1, n, 0, idx);
    free(idx);
    sl_f64(l, "layer_entropy", 2, n, L, 0, sm->layer_entropy);
    sl_f64(l, "head_entropy", 3, n, L, H, sm->head_entropy);
    sl_f64(l, "head_entropy_mean", 2, L, H, 0, sm->head_entropy_mean);
    sl_heads(l, "most_focused", sm->focused, n, 1, "entropy");
    sl_heads(l, "most_distributed", sm->distributed, n, 1, "entropy");
    sl_heads(l, "overall_most_focused", sm->overall_focused, 0, 1, "entropy");
    sl_heads(l, "overall_most_distributed", sm->overall_distributed, 0, 1, "entropy");
    for (int g = 0; g < sm->n_groups; g++) {
        const struct as_summary_group *gr = &sm->groups[g];
        const uint64_t V = (uint64_t)gr->n_variants;
        char p[600];
        int32_t *pi = calloc(V + 1, sizeof *pi), ns = gr->n_shared;
        if (!pi) {
            l->oom = 1;
            return;
        }
        for (uint64_t v = 0; v < V; v++)
            pi[v] = (int32_t)gr->prompts[v];
#define GP(nm) (snprintf(p, sizeof p, "groups/%s/%s", gr->name, nm), p)
        sl_str(l, GP("variant"), 1, V, 0, (const char *const *)gr->variants);
        sl_i32(l, GP("prompt_index"), 1, V, 0, pi);
        free(pi);
        sl_i32(l, GP("n_shared_tokens"), 1, 1, 0, &ns);
        sl_f64(l, GP("layer_entropy_std"), 1, L, 0, 0, gr->entropy_std);
        sl_f64(l, GP("js_divergence"), 1, L, 0, 0, gr->js);
        sl_i32(l, GP("sensitivity_rank_js"), 1, L, 0, gr->rank_js);
        sl_i32(l, GP("sensitivity_rank_entropy_std"), 1, L, 0, gr->rank_std);
        sl_f64(l, GP("prefix_mass"), 2, V, L, 0, gr->prefix_mass);
        sl_f64(l, GP("question_mass"), 2, V, L, 0, gr->question_mass);
        if (gr->has_examples) {
            sl_f64(l, GP("example_mass"), 3, V, L, H, gr->example_mass);
            char base[600];
            snprintf(base, sizeof base, "groups/%s/example_top", gr->name);
            sl_heads(l, base, gr->example_top, V, 0, "mass");
        }
#undef GP
    }
}

/* Creates (every rank) and writes (rank 0) the datasets of a serialized list under `root`. */
static as_status sl_create(struct as_h5file *f, hid_t root, const char *buf, size_t len,
                           struct as_err *err) {
    as_status ret = AS_OK;
    hid_t lcpl = H5I_INVALID_HID, t = H5I_INVALID_HID, s = H5I_INVALID_HID;
    hid_t dcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    struct as_cursor c;
    as_cursor_init(&c, buf, len, "summary dataset list");
    if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
        (dcpl = h5_dcpl_contig()) < 0) {
        ret = h5_fail(err, f->path, "creating property lists for /summary");
        goto done;
    }
    while (as_cursor_left(&c) > 0) {
        uint32_t pl;
        const void *path, *kp, *wp, *np, *dp, *bp, *data;
        AS_TRY(as_cursor_u32(&c, &pl, "path length", err));
        AS_TRY(as_cursor_take(&c, pl, &path, "path", err));
        AS_TRY(as_cursor_take(&c, 1, &kp, "kind", err));
        AS_TRY(as_cursor_take(&c, 8, &wp, "width", err));
        AS_TRY(as_cursor_take(&c, 1, &np, "ndims", err));
        AS_TRY(as_cursor_take(&c, 24, &dp, "dims", err));
        AS_TRY(as_cursor_take(&c, 8, &bp, "nbytes", err));
        uint64_t w, dims64[3], nbytes;
        memcpy(&w, wp, 8), memcpy(dims64, dp, 24), memcpy(&nbytes, bp, 8);
        AS_TRY(as_cursor_take(&c, nbytes, &data, "data", err));
        char name[700];
        snprintf(name, sizeof name, "%.*s", (int)pl, (const char *)path);
        int kind = *(const uint8_t *)kp, nd = *(const uint8_t *)np;
        hsize_t dims[3] = {dims64[0], dims64[1], dims64[2]};
        hid_t mt;
        if (kind == SL_F64)
            t = H5Tcopy(H5T_IEEE_F64LE), mt = H5T_NATIVE_DOUBLE;
        else if (kind == SL_I32)
            t = H5Tcopy(H5T_STD_I32LE), mt = H5T_NATIVE_INT32;
        else
            t = h5_str_fixed(w), mt = t;
        if (t < 0 || (s = H5Screate_simple(nd, dims, NULL)) < 0 ||
            (d = H5Dcreate2(root, name, t, s, lcpl, dcpl, H5P_DEFAULT)) < 0) {
            ret = h5_fail(err, f->path, "creating /summary/%s", name);
            goto done;
        }
        if (kind == SL_STR) AS_TRY(h5_attr_str(f, d, name, "_Encoding", "utf-8", err));
        if (f->rank == 0 && nbytes > 0 &&
            H5Dwrite(d, mt, H5S_ALL, H5S_ALL, f->dxpl_ind, data) < 0) {
            ret = h5_fail(err, f->path, "writing /summary/%s", name);
            goto done;
        }
        h5_close_id(&d), h5_close_id(&s), h5_close_id(&t);
    }
done:
    h5_close_id(&d), h5_close_id(&s), h5_close_id(&t), h5_close_id(&dcpl), h5_close_id(&lcpl);
    return ret;
}

/* Rank 0: reads the inputs and computes the summary. */
static as_status sm_gather(struct as_h5file *f, const struct as_sweep *s, struct as_summary **out,
                           struct as_err *err) {
    as_status ret = AS_OK;
    struct as_summary *sm = calloc(1, sizeof *sm);
    int8_t *status = NULL;
    struct sm_input in = {0};
    const int64_t N = f->n_prompts;
    *out = NULL;
    if (!sm || !(status = calloc((size_t)N + 1, 1)) ||
        !(sm->small = calloc((size_t)N + 1, sizeof *sm->small)) ||
        !(sm->index = calloc((size_t)N + 1, sizeof *sm->index)) ||
        !(sm->ids = calloc((size_t)N + 1, sizeof *sm->ids)) ||
        !(in.group_names = calloc((size_t)N + 1, sizeof *in.group_names)) ||
        !(in.group_of = calloc((size_t)N + 1, sizeof *in.group_of)) ||
        !(in.variant_names = calloc((size_t)N + 1, sizeof *in.variant_names))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "summary: no memory for %lld prompts", (long long)N);
        goto done;
    }
    if (N > 0) AS_TRY(as_h5file_read_status(f, status, err));
    for (int64_t i = 0; i < N; i++) {
        const struct as_h5_prompt_info *pi = &f->prompts[i];
        if (status[i] != AS_PROMPT_DONE) continue;
        /* `run` computes metrics from memory for every prompt, `reduce` only from
         * stored tensors: a prompt without a metrics group is left out */
        char mpath[AS_H5_ID_MAX + 32];
        snprintf(mpath, sizeof mpath, "/prompts/%s/metrics", pi->id);
        if (H5Lexists(f->file, mpath, H5P_DEFAULT) <= 0) continue;
        AS_TRY(as_metrics_h5_read(f, i, &sm->small[sm->n], err));
        if (sm->n == 0) sm->L = pi->n_layers, sm->H = pi->n_heads;
        if (pi->n_layers != sm->L || pi->n_heads != sm->H) {
            ret = as_err_set(err, AS_ERR_UNSUPPORTED,
                             "%s: prompt '%s' has L=%d H=%d but earlier prompts have L=%d H=%d; "
                             "the summary compares prompts of one shape",
                             f->path, pi->id, pi->n_layers, pi->n_heads, sm->L, sm->H);
            sm->n++;
            goto done;
        }
        /* group and variant: from the sweep, else every prompt is its own group */
        const char *gname = pi->id, *vname = pi->id;
        int64_t si = s ? as_sweep_find_prompt(s, pi->id) : -1;
        if (si >= 0) gname = s->prompts[si].group, vname = s->prompts[si].variant;
        int g = 0;
        while (g < in.n_groups && strcmp(in.group_names[g], gname) != 0)
            g++;
        if (g == in.n_groups) in.group_names[in.n_groups++] = (char *)gname;
        in.group_of[sm->n] = g;
        in.variant_names[sm->n] = (char *)vname;
        sm->index[sm->n] = i;
        if (!(sm->ids[sm->n] = strdup(pi->id))) {
            ret = as_err_set(err, AS_ERR_NOMEM, "summary: out of memory");
            sm->n++;
            goto done;
        }
        sm->n++;
    }
    if (sm->n == 0) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: no prompt is done with metrics, so there is nothing to summarize",
                         f->path);
        goto done;
    }
    AS_TRY(sm_compute(sm, &in, err));
    *out = sm;
    sm = NULL;
done:
    as_summary_free(sm);
    free(status), free(in.group_names), free(in.group_of), free(in.variant_names);
    return ret;
}

as_status as_reduce_summary(struct as_h5file *f, const struct as_sweep *s, struct as_summary **out,
                            struct as_err *err) {
    as_status ret = AS_OK;
    struct as_err local;
    struct as_summary *sm = NULL;
    struct sl list = {0};
    hid_t root = H5I_INVALID_HID, gcpl = H5I_INVALID_HID;
    uint64_t len = 0;
    if (!err) err = &local;
    if (out) *out = NULL;
    if (f->file <= 0 || !f->writable) {
        ret = as_err_set(err, AS_ERR_INVALID, "%s: the summary needs a file open for writing",
                         f->path);
    } else if (f->rank == 0) {
        ret = sm_gather(f, s, &sm, err);
        if (ret == AS_OK) {
            sl_build(&list, sm);
            if (list.oom) ret = as_err_set(err, AS_ERR_NOMEM, "summary: out of memory");
            len = list.len;
        }
    }
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) goto done;
    if (f->comm != MPI_COMM_NULL && f->size > 1) {
        if (MPI_Bcast(&len, 1, MPI_UINT64_T, 0, f->comm) != MPI_SUCCESS) {
            ret = as_err_set(err, AS_ERR_MPI, "%s: MPI_Bcast of the summary size failed", f->path);
            goto done;
        }
        if (f->rank != 0 && !(list.buf = malloc(len + 1))) ret = AS_ERR_NOMEM;
        ret = h5_agree(f, ret, err);
        if (ret != AS_OK) goto done;
        for (uint64_t off = 0; off < len; off += (1u << 30)) { /* MPI counts are int */
            int n = (int)(len - off < (1u << 30) ? len - off : (1u << 30));
            if (MPI_Bcast(list.buf + off, n, MPI_BYTE, 0, f->comm) != MPI_SUCCESS) {
                ret = as_err_set(err, AS_ERR_MPI, "%s: MPI_Bcast of the summary failed", f->path);
                goto done;
            }
        }
    }
    /* a re-run replaces /summary (collective, identical on every rank) */
    htri_t ex = H5Lexists(f->file, "summary", H5P_DEFAULT);
    if (ex < 0 || (ex > 0 && H5Ldelete(f->file, "summary", H5P_DEFAULT) < 0) ||
        (gcpl = h5_gcpl_ordered()) < 0 ||
        (root = H5Gcreate2(f->file, "summary", H5P_DEFAULT, gcpl, H5P_DEFAULT)) < 0) {
        ret = h5_fail(err, f->path, "(re)creating /summary");
        goto done;
    }
    ret = sl_create(f, root, list.buf, (size_t)len, err);
done:
    h5_close_id(&root);
    h5_close_id(&gcpl);
    free(list.buf);
    ret = h5_agree(f, ret, err);
    if (ret == AS_OK && out)
        *out = sm;
    else
        as_summary_free(sm);
    return ret;
}
