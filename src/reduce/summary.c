/* summary.c - the sweep-level statistics (docs/METRICS.md "Sweep-level
 * statistics") from the /metrics and /tokens columns of a file, as src/io
 * read them. Pure computation: no MPI, no HDF5.
 *
 * Linear in the number of prompts: groups come from in->group_of (a counting
 * sort), the overall focus token of each head from interned token strings
 * (one hash table, then counting per head), and the JS divergence of a group
 * of more than SM_JS_ALL_PAIRS_MAX variants from SM_JS_OFFSETS pairs per
 * variant. Every sum runs in the order the statistic's definition gives (prompt
 * order, member order, ascending layer / head / token), so the result is
 * bit-identical for the same input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"
#include "summary_internal.h"

enum { SM_STATUS_DONE = 1 }; /* /sweep/status: 1 = done (docs/FORMAT.md) */

/* ------------------------------------------------------------ ordering */

/* Sorts idx[0..n) by key: descending when desc, NaN last, ties by index. */
struct keyed {
    double key;
    int32_t idx;
    int desc;
};
static int cmp_keyed(const void *a, const void *b) {
    const struct keyed *x = a, *y = b;
    int nx = isnan(x->key), ny = isnan(y->key);
    if (nx != ny) return nx - ny;
    if (!nx && x->key != y->key) {
        int less = x->key < y->key;
        return x->desc ? (less ? 1 : -1) : (less ? -1 : 1);
    }
    return (x->idx > y->idx) - (x->idx < y->idx);
}
static void rank_by(const double *v, int n, int desc, struct keyed *tmp, int32_t *out) {
    for (int i = 0; i < n; i++)
        tmp[i] = (struct keyed){v[i], i, desc};
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_keyed);
    for (int i = 0; i < n; i++)
        out[i] = tmp[i].idx;
}

/* 1 if (ka, ia) comes before (kb, ib) in cmp_keyed's order (a total order). */
static int before(double ka, int ia, double kb, int ib, int desc) {
    int na = isnan(ka), nb = isnan(kb);
    if (na != nb) return nb;
    if (!na && ka != kb) return desc ? ka > kb : ka < kb;
    return ia < ib;
}

/* The first min(n, K) indices of v[0..n) in cmp_keyed's order, by partial
 * insertion: O(n K) instead of a sort, with the same result. */
static int top_k(const double *v, int n, int desc, int32_t idx[AS_METRICS_TOP_K]) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (k == AS_METRICS_TOP_K && !before(v[i], i, v[idx[k - 1]], idx[k - 1], desc)) continue;
        int p = k < AS_METRICS_TOP_K ? k++ : k - 1;
        while (p > 0 && before(v[i], i, v[idx[p - 1]], idx[p - 1], desc)) {
            idx[p] = idx[p - 1];
            p--;
        }
        idx[p] = i;
    }
    return k;
}

/* Top-K heads of one (L, H) table (tokens left ""); padded with -1 / NaN. */
static void top_heads(const double *v, int L, int H, int desc, struct as_summary_head *out,
                      int32_t idx[AS_METRICS_TOP_K]) {
    int k = top_k(v, L * H, desc, idx);
    for (int i = 0; i < AS_METRICS_TOP_K; i++)
        out[i] = i < k ? (struct as_summary_head){idx[i] / H, idx[i] % H, v[idx[i]], ""}
                       : (struct as_summary_head){-1, -1, NAN, ""};
}

/* Jensen-Shannon divergence (natural log) of two distributions of n entries. */
static double jsd(const double *p, const double *q, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        double m = 0.5 * (p[i] + q[i]);
        if (p[i] > 0) s += 0.5 * p[i] * log(p[i] / m);
        if (q[i] > 0) s += 0.5 * q[i] * log(q[i] / m);
    }
    return s;
}

/* ------------------------------------------------------------ interned strings */

/* A set of distinct strings (pointers to records of the input, not copies). */
struct strset {
    int32_t *slot; /* (cap) id, -1 = empty; cap is a power of 2, at most half full */
    size_t cap;
    const char **s; /* (n) */
    size_t *len;
    uint64_t *hash;
    int32_t n, ncap;
};

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void strset_free(struct strset *t) {
    free(t->slot), free(t->s), free(t->len), free(t->hash);
    memset(t, 0, sizeof *t);
}

/* The id of s (added when new), or -1 when out of memory. */
static int32_t strset_add(struct strset *t, const char *s, size_t len) {
    if (2 * ((size_t)t->n + 1) > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 1024;
        int32_t *slot = malloc(cap * sizeof *slot);
        if (!slot) return -1;
        for (size_t i = 0; i < cap; i++)
            slot[i] = -1;
        for (int32_t id = 0; id < t->n; id++) {
            size_t p = (size_t)t->hash[id] & (cap - 1);
            while (slot[p] >= 0)
                p = (p + 1) & (cap - 1);
            slot[p] = id;
        }
        free(t->slot);
        t->slot = slot, t->cap = cap;
    }
    uint64_t h = fnv1a(s, len);
    size_t p = (size_t)h & (t->cap - 1);
    for (; t->slot[p] >= 0; p = (p + 1) & (t->cap - 1)) {
        int32_t id = t->slot[p];
        if (t->hash[id] == h && t->len[id] == len && !memcmp(t->s[id], s, len)) return id;
    }
    if (t->n == t->ncap) {
        int32_t nc = t->ncap ? 2 * t->ncap : 1024;
        const char **ns = realloc(t->s, (size_t)nc * sizeof *ns);
        if (!ns) return -1;
        t->s = ns;
        size_t *nl = realloc(t->len, (size_t)nc * sizeof *nl);
        if (!nl) return -1;
        t->len = nl;
        uint64_t *nh = realloc(t->hash, (size_t)nc * sizeof *nh);
        if (!nh) return -1;
        t->hash = nh, t->ncap = nc;
    }
    t->s[t->n] = s, t->len[t->n] = len, t->hash[t->n] = h;
    t->slot[p] = t->n;
    return t->n++;
}

/* ------------------------------------------------------------ input columns */

static const char *type_name(enum as_col_type t) {
    static const char *const names[] = {"float64", "float32", "float16", "int64",
                                        "int32",   "int8",    "uint8",   "string"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "unknown";
}

/* The data of /metrics column `name`, checked: type, rank and the shape
 * (want[i] < 0: any length). A missing column is an error unless optional. */
static as_status col_get(const struct as_table *t, const char *name, enum as_col_type type, int nd,
                         int64_t d0, int64_t d1, int64_t d2, int optional, const void **data,
                         const struct as_col **col, struct as_err *err) {
    const struct as_col *c = as_table_find(t, name);
    const int64_t want[3] = {d0, d1, d2};
    *data = NULL;
    if (col) *col = c;
    if (!c) {
        if (optional) return AS_OK;
        return as_err_set(err, AS_ERR_INVALID,
                          "summary: the /metrics column '%s' is missing from the input. HINT: "
                          "read it with the other /metrics columns",
                          name);
    }
    int ok = c->type == type && c->nd == nd && c->data && (type != AS_COL_STR || c->width >= 1);
    for (int i = 0; ok && i < nd; i++)
        ok = want[i] < 0 || c->shape[i] == want[i];
    if (!ok)
        return as_err_set(err, AS_ERR_FORMAT,
                          "summary: /metrics/%s is %s [%lld, %lld, %lld] (%d axes%s); expected %s "
                          "[%lld, %lld, %lld] (%d axes; -1 = any length)",
                          name, type_name(c->type), (long long)c->shape[0], (long long)c->shape[1],
                          (long long)c->shape[2], c->nd, c->data ? "" : ", no data",
                          type_name(type), (long long)d0, (long long)d1, (long long)d2, nd);
    *data = c->data;
    return AS_OK;
}

/* Index of the first span of prompt view m named `name`, or -1. */
static int find_span(const struct as_metrics_small *m, const char *name) {
    const size_t nl = strlen(name), w = m->span_name_width;
    for (int s = 0; s < m->n_spans; s++) {
        const char *rec = m->span_names + (size_t)s * w;
        if (sm_rec_len(rec, w) == nl && !memcmp(rec, name, nl)) return s;
    }
    return -1;
}

/* ------------------------------------------------------------ free */

void as_summary_free(struct as_summary *sm) {
    if (!sm) return;
    struct sm_arena *ar = sm->arena;
    if (ar) {
        free(ar->group_start), free(ar->group_count), free(ar->n_shared), free(ar->has_examples);
        free(ar->entropy_std), free(ar->js), free(ar->rank_js), free(ar->rank_std);
        free(ar->js_pairs), free(ar->js_acc), free(ar->js_cnt);
        free(ar->member_index), free(ar->member_variant), free(ar->group_name);
        free(ar->prefix_mass), free(ar->question_mass), free(ar->example_mass);
        free(ar->example_top), free(ar->layer_ids), free(ar->head_ids), free(ar->nan_lh);
        free(ar->strings);
        free(ar);
    }
    free(sm->index), free(sm->ids), free(sm->small), free(sm->head_entropy_mean);
    free(sm->focused), free(sm->distributed), free(sm->groups);
    sm_stats_free(sm->stats);
    free(sm);
}

/* ------------------------------------------------------------ the statistics */

as_status as_summary_compute(const struct as_summary_input *in, struct as_summary **out,
                             struct as_err *err) {
    as_status ret = AS_OK;
    struct as_summary *sm = NULL;
    struct sm_arena *ar = NULL;
    int32_t *gmap = NULL, *gof = NULL, *fill = NULL, *row_id = NULL, *tid = NULL, *cnt = NULL;
    struct keyed *tmp = NULL;
    double *pv = NULL;
    struct strset set = {0};
    if (out) *out = NULL;
    if (!in || !out || in->n < 0 || in->L < 1 || in->H < 1 || in->n_groups < 0 || !in->metrics ||
        (in->n > 0 && (!in->status || !in->ids || !in->group_of || !in->variants || !in->n_tokens ||
                       !in->token_start || !in->token_str || in->token_str_width < 1)) ||
        (in->n_groups > 0 && !in->group_names)) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "summary: incomplete input (n=%lld L=%d H=%d groups=%d, or a missing "
                         "array)",
                         in ? (long long)in->n : 0LL, in ? in->L : 0, in ? in->H : 0,
                         in ? in->n_groups : 0);
        goto done;
    }
    const int64_t N = in->n;
    const int L = in->L, H = in->H, LH = L * H, K = AS_METRICS_TOP_K;
    int n_boot, js_min_shared;
    uint64_t seed;
    AS_TRY(sm_settings(in, &n_boot, &seed, &js_min_shared, err));
    (void)n_boot, (void)seed; /* the statistics across prompts read them (stats_summary.c) */
    const struct as_table *mt = in->metrics;
    const size_t tw = in->token_str_width;

    /* the /metrics columns the summary reads */
    const int8_t *input;
    const double *lent, *head[AS_HM_COUNT], *lrm, *smass, *slift;
    const int32_t *focus, *scount, *stok, *lids, *hids;
    const int64_t *sstart;
    const int8_t *skind;
    const struct as_col *lrm_col, *sname_col;
    const void *p;
#define GET(name, type, nd, d0, d1, d2, opt, var, colp)                                            \
    do {                                                                                           \
        AS_TRY(col_get(mt, name, type, nd, d0, d1, d2, opt, &p, colp, err));                       \
        var = p;                                                                                   \
    } while (0)
    GET("input", AS_COL_I8, 1, N, 0, 0, 0, input, NULL);
    GET("layer_entropy", AS_COL_F64, 2, N, L, 0, 0, lent, NULL);
    for (int k = 0; k < AS_HM_COUNT; k++)
        GET(as_head_metric_names[k], AS_COL_F64, 3, N, L, H, k != AS_HM_HEAD_ENTROPY, head[k],
            NULL);
    GET("head_focus", AS_COL_I32, 3, N, L, H, 0, focus, NULL);
    GET("last_row_mean", AS_COL_F64, 2, -1, L, 0, 0, lrm, &lrm_col);
    GET("span_count", AS_COL_I32, 1, N, 0, 0, 0, scount, NULL);
    GET("span_start", AS_COL_I64, 1, N, 0, 0, 0, sstart, NULL);
    GET("span_name", AS_COL_STR, 1, -1, 0, 0, 0, p, &sname_col);
    const int64_t S = sname_col->shape[0], NT = lrm_col->shape[0];
    GET("span_kind", AS_COL_I8, 1, S, 0, 0, 0, skind, NULL);
    GET("span_tokens", AS_COL_I32, 2, S, 2, 0, 0, stok, NULL);
    GET("span_mass", AS_COL_F64, 3, S, L, H, 0, smass, NULL);
    GET("span_lift", AS_COL_F64, 3, S, L, H, 0, slift, NULL);
    GET("layer", AS_COL_I32, 1, L, 0, 0, 1, lids, NULL);
    GET("head", AS_COL_I32, 1, H, 0, 0, 1, hids, NULL);
    /* keywords (optional: a summary without them has no keyword statistics) */
    const int32_t *occ_count, *occ_kw, *sub_count, *sub_kw, *sub_pos;
    const int64_t *occ_start, *sub_start;
    const double *occ_mass, *occ_mass_layer, *sub_mass;
    const struct as_col *occ_col, *sub_col, *kw_col;
    GET("keyword", AS_COL_STR, 1, -1, 0, 0, 1, p, &kw_col);
    GET("keyword_occ_count", AS_COL_I32, 1, N, 0, 0, 1, occ_count, NULL);
    GET("keyword_occ_start", AS_COL_I64, 1, N, 0, 0, 1, occ_start, NULL);
    GET("keyword_occ_keyword", AS_COL_I32, 1, -1, 0, 0, 1, occ_kw, &occ_col);
    const int64_t NO = occ_col ? occ_col->shape[0] : 0;
    GET("keyword_occ_mass", AS_COL_F64, 1, NO, 0, 0, 1, occ_mass, NULL);
    GET("keyword_occ_mass_layer", AS_COL_F64, 2, NO, L, 0, 1, occ_mass_layer, NULL);
    GET("keyword_substr_count", AS_COL_I32, 1, N, 0, 0, 1, sub_count, NULL);
    GET("keyword_substr_start", AS_COL_I64, 1, N, 0, 0, 1, sub_start, NULL);
    GET("keyword_substr_keyword", AS_COL_I32, 1, -1, 0, 0, 1, sub_kw, &sub_col);
    const int64_t NSUB = sub_col ? sub_col->shape[0] : 0;
    GET("keyword_substr_position", AS_COL_I32, 1, NSUB, 0, 0, 1, sub_pos, NULL);
    GET("keyword_substr_mass", AS_COL_F64, 1, NSUB, 0, 0, 1, sub_mass, NULL);
#undef GET
    const int64_t NKW = kw_col ? kw_col->shape[0] : 0;
    const int have_occ = kw_col && occ_count && occ_start && occ_kw && occ_mass && occ_mass_layer;
    const int have_sub = kw_col && sub_count && sub_start && sub_kw && sub_pos && sub_mass;
    const char *snames = sname_col->data;
    const size_t sw = sname_col->width;

    /* the summarized prompts: done, with metrics */
    int64_t n = 0;
    for (int64_t i = 0; i < N; i++)
        n += in->status[i] == SM_STATUS_DONE && input[i] != AS_MINPUT_NONE;
    if (n == 0) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "summary: no prompt is done with metrics (of %lld prompts), so there is "
                         "nothing to summarize",
                         (long long)N);
        goto done;
    }
    const size_t un = (size_t)n, uL = (size_t)L, uLH = (size_t)LH;
    if (!(sm = calloc(1, sizeof *sm)) || !(ar = calloc(1, sizeof *ar))) goto nomem;
    sm->arena = ar;
    sm->n = n, sm->L = L, sm->H = H;
    if (!(sm->index = calloc(un, sizeof *sm->index)) || !(sm->ids = calloc(un, sizeof *sm->ids)) ||
        !(sm->small = calloc(un, sizeof *sm->small)) ||
        !(sm->head_entropy_mean = calloc(uLH, sizeof(double))) ||
        !(sm->focused = calloc(un * K, sizeof *sm->focused)) ||
        !(sm->distributed = calloc(un * K, sizeof *sm->distributed)) ||
        !(ar->layer_ids = malloc(uL * sizeof(int32_t))) ||
        !(ar->head_ids = malloc((size_t)H * sizeof(int32_t))) ||
        !(ar->nan_lh = malloc(uLH * sizeof(double))))
        goto nomem;
    for (int l = 0; l < L; l++)
        ar->layer_ids[l] = lids ? lids[l] : l;
    for (int h = 0; h < H; h++)
        ar->head_ids[h] = hids ? hids[h] : h;
    for (int k = 0; k < LH; k++)
        ar->nan_lh[k] = NAN;

    /* per-prompt views into the columns, checked against the column lengths */
    int64_t j = 0;
    for (int64_t i = 0; i < N; i++) {
        if (!(in->status[i] == SM_STATUS_DONE && input[i] != AS_MINPUT_NONE)) continue;
        const char *id = in->ids[i] ? in->ids[i] : "";
        const int T = in->n_tokens[i];
        const int64_t ts = in->token_start[i], ss = sstart[i], sc = scount[i];
        if (T < 1 || ts < 0 || ts > NT - T || ss < 0 || sc < 0 || ss > S - sc ||
            in->group_of[i] < 0 || in->group_of[i] >= in->n_groups) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "summary: prompt '%s' (row %lld): tokens [%lld, +%d) of %lld, spans "
                             "[%lld, +%lld) of %lld, group %d of %d; expected them inside",
                             id, (long long)i, (long long)ts, T, (long long)NT, (long long)ss,
                             (long long)sc, (long long)S, (int)in->group_of[i], in->n_groups);
            goto done;
        }
        const int64_t os = have_occ ? occ_start[i] : 0, oc = have_occ ? occ_count[i] : 0;
        const int64_t us = have_sub ? sub_start[i] : 0, uc = have_sub ? sub_count[i] : 0;
        int bad_kw = os < 0 || oc < 0 || os > NO - oc || us < 0 || uc < 0 || us > NSUB - uc;
        for (int64_t o = os; !bad_kw && o < os + oc; o++)
            bad_kw = occ_kw[o] < 0 || occ_kw[o] >= NKW;
        for (int64_t o = us; !bad_kw && o < us + uc; o++)
            bad_kw = sub_kw[o] < 0 || sub_kw[o] >= NKW || sub_pos[o] < 0 || sub_pos[o] >= T;
        if (bad_kw) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "summary: prompt '%s' (row %lld): keyword occurrences [%lld, +%lld) "
                             "of %lld or matches [%lld, +%lld) of %lld, or their keyword / "
                             "position, lie outside; expected them inside (%lld keywords, %d "
                             "tokens)",
                             id, (long long)i, (long long)os, (long long)oc, (long long)NO,
                             (long long)us, (long long)uc, (long long)NSUB, (long long)NKW, T);
            goto done;
        }
        for (int64_t s = ss; s < ss + sc; s++) {
            const int32_t t0 = stok[2 * s], t1 = stok[2 * s + 1];
            if (t0 >= 0 && !(t0 <= t1 && t1 <= T)) {
                ret = as_err_set(err, AS_ERR_FORMAT,
                                 "summary: prompt '%s': span_tokens[%lld] = [%d, %d); expected "
                                 "inside [0, %d]",
                                 id, (long long)s, (int)t0, (int)t1, T);
                goto done;
            }
        }
        struct as_metrics_small *m = &sm->small[j];
        m->L = L, m->H = H, m->T = T, m->n_spans = (int)sc;
        m->layer_entropy = lent + (size_t)i * uL;
        for (int k = 0; k < AS_HM_COUNT; k++)
            m->head[k] = head[k] ? head[k] + (size_t)i * uLH : ar->nan_lh;
        m->head_focus = focus + (size_t)i * uLH;
        m->token_str = in->token_str + (size_t)ts * tw;
        m->token_str_width = tw;
        m->last_row_mean = lrm + (size_t)ts * uL;
        m->span_names = snames + (size_t)ss * sw;
        m->span_name_width = sw;
        m->span_kind = skind + ss;
        m->span_tokens = stok + 2 * ss;
        m->span_mass = smass + (size_t)ss * uLH;
        m->span_lift = slift + (size_t)ss * uLH;
        m->n_occ = (int)oc;
        m->occ_keyword = have_occ ? occ_kw + os : NULL;
        m->occ_mass = have_occ ? occ_mass + os : NULL;
        m->occ_mass_layer = have_occ ? occ_mass_layer + (size_t)os * uL : NULL;
        m->n_substr = (int)uc;
        m->substr_keyword = have_sub ? sub_kw + us : NULL;
        m->substr_position = have_sub ? sub_pos + us : NULL;
        m->substr_mass = have_sub ? sub_mass + us : NULL;
        sm->index[j] = i;
        sm->ids[j] = id;
        j++;
    }

    /* focus tokens: every (prompt, head) focus row interned once (row_id caches it) */
    if (!(row_id = malloc((size_t)(NT > 0 ? NT : 1) * sizeof *row_id)) ||
        !(tid = malloc(un * sizeof *tid)))
        goto nomem;
    for (int64_t r = 0; r < NT; r++)
        row_id[r] = -1;
    for (j = 0; j < n; j++) {
        const struct as_metrics_small *m = &sm->small[j];
        const int64_t ts = in->token_start[sm->index[j]];
        for (int k = 0; k < LH; k++) {
            const int32_t pos = m->head_focus[k];
            if (pos < 0 || pos >= m->T) {
                ret = as_err_set(err, AS_ERR_FORMAT,
                                 "summary: prompt '%s': head_focus[%d, %d] = %d; expected a token "
                                 "position in [0, %d)",
                                 sm->ids[j], k / H, k % H, (int)pos, m->T);
                goto done;
            }
            int32_t *rid = &row_id[ts + pos];
            if (*rid >= 0) continue;
            const char *rec = m->token_str + (size_t)pos * tw;
            const size_t len = sm_rec_len(rec, tw);
            if (len == tw) {
                ret = as_err_set(err, AS_ERR_FORMAT,
                                 "summary: token_str record of token row %lld fills its %zu bytes "
                                 "without a NUL; expected NUL-terminated records. HINT: read the "
                                 "strings into records one byte wider than the dataset's",
                                 (long long)(ts + pos), tw);
                goto done;
            }
            if ((*rid = strset_add(&set, rec, len)) < 0) goto nomem;
        }
    }

    /* head specialization, per prompt */
    int32_t idx[AS_METRICS_TOP_K];
    for (j = 0; j < n; j++) {
        const struct as_metrics_small *m = &sm->small[j];
        const double *ent = m->head[AS_HM_HEAD_ENTROPY];
        for (int k = 0; k < LH; k++)
            sm->head_entropy_mean[k] += ent[k];
        for (int desc = 0; desc < 2; desc++) {
            struct as_summary_head *o = (desc ? sm->distributed : sm->focused) + (size_t)j * K;
            top_heads(ent, L, H, desc, o, idx);
            for (int t = 0; t < K; t++)
                if (o[t].layer >= 0)
                    o[t].token =
                        m->token_str + (size_t)m->head_focus[o[t].layer * H + o[t].head] * tw;
        }
    }
    /* overall: the mean entropy, and each head's most frequent focus token over
     * the prompts, ties to the token seen first (count, then scan in prompt order) */
    if (!(cnt = calloc((size_t)set.n + 1, sizeof *cnt))) goto nomem;
    for (int k = 0; k < LH; k++)
        sm->head_entropy_mean[k] /= (double)n;
    struct as_summary_head *ov[2] = {sm->overall_focused, sm->overall_distributed};
    for (int desc = 0; desc < 2; desc++)
        top_heads(sm->head_entropy_mean, L, H, desc, ov[desc], idx);
    /* only the listed heads need a mode (at most 2 K heads, O(n) each) */
    for (int t = 0; t < 2 * K; t++) {
        struct as_summary_head *o = &ov[t / K][t % K];
        if (o->layer < 0) continue; /* padding keeps "" */
        const int k = o->layer * H + o->head;
        for (j = 0; j < n; j++) {
            const int64_t ts = in->token_start[sm->index[j]];
            tid[j] = row_id[ts + sm->small[j].head_focus[k]];
            cnt[tid[j]]++;
        }
        int32_t best = 0;
        for (j = 0; j < n; j++)
            if (cnt[tid[j]] > best) best = cnt[tid[j]], o->token = set.s[tid[j]];
        for (j = 0; j < n; j++)
            cnt[tid[j]] = 0;
    }

    /* groups: numbered by first appearance among the summarized prompts */
    if (!(gmap = malloc((size_t)(in->n_groups + 1) * sizeof *gmap)) ||
        !(gof = malloc(un * sizeof *gof)))
        goto nomem;
    for (int g = 0; g < in->n_groups; g++)
        gmap[g] = -1;
    int G = 0;
    for (j = 0; j < n; j++) {
        const int32_t g = in->group_of[sm->index[j]];
        if (gmap[g] < 0) gmap[g] = G++;
        gof[j] = gmap[g];
    }
    const size_t uG = (size_t)G;
    if (!(sm->groups = calloc(uG, sizeof *sm->groups)) ||
        !(ar->group_start = calloc(uG, sizeof *ar->group_start)) ||
        !(ar->group_count = calloc(uG, sizeof *ar->group_count)) ||
        !(ar->n_shared = calloc(uG, sizeof *ar->n_shared)) ||
        !(ar->has_examples = calloc(uG, sizeof *ar->has_examples)) ||
        !(ar->group_name = calloc(uG, sizeof *ar->group_name)) ||
        !(ar->entropy_std = calloc(uG * uL, sizeof(double))) ||
        !(ar->js = calloc(uG * uL, sizeof(double))) ||
        !(ar->rank_js = calloc(uG * uL, sizeof(int32_t))) ||
        !(ar->rank_std = calloc(uG * uL, sizeof(int32_t))) ||
        !(ar->js_pairs = calloc(uG, sizeof(int32_t))) ||
        !(ar->js_acc = calloc(uL, sizeof(double))) || !(ar->js_cnt = calloc(uL, sizeof(int32_t))) ||
        !(ar->member_index = calloc(un, sizeof *ar->member_index)) ||
        !(ar->member_variant = calloc(un, sizeof *ar->member_variant)) ||
        !(ar->prefix_mass = calloc(un * uL, sizeof(double))) ||
        !(ar->question_mass = calloc(un * uL, sizeof(double))) ||
        !(ar->example_mass = calloc(un * uLH, sizeof(double))) ||
        !(ar->example_top = calloc(un * K, sizeof *ar->example_top)) ||
        !(fill = calloc(uG, sizeof *fill)) || !(tmp = calloc(uL + 1, sizeof *tmp)))
        goto nomem;
    sm->n_groups = G;
    /* members in group order, file order inside a group (a counting sort) */
    int64_t *mrow = ar->member_index; /* summary rows until the end, then rows in /sweep */
    for (j = 0; j < n; j++)
        ar->group_count[gof[j]]++;
    for (int g = 1; g < G; g++)
        ar->group_start[g] = ar->group_start[g - 1] + ar->group_count[g - 1];
    for (j = 0; j < n; j++)
        mrow[ar->group_start[gof[j]] + fill[gof[j]]++] = j;
    /* names: one block of strings */
    size_t sbytes = 1;
    for (j = 0; j < n; j++) {
        const char *v = in->variants[sm->index[j]];
        sbytes += (v ? strlen(v) : 0) + 1;
    }
    for (int g = 0; g < in->n_groups; g++)
        if (gmap[g] >= 0) sbytes += (in->group_names[g] ? strlen(in->group_names[g]) : 0) + 1;
    if (!(ar->strings = malloc(sbytes))) goto nomem;
    char *w = ar->strings;
    for (int g = 0; g < in->n_groups; g++) {
        if (gmap[g] < 0) continue;
        const char *s = in->group_names[g] ? in->group_names[g] : "";
        size_t len = strlen(s);
        memcpy(w, s, len + 1);
        ar->group_name[gmap[g]] = w, w += len + 1;
    }
    for (int64_t r = 0; r < n; r++) {
        const char *s = in->variants[sm->index[mrow[r]]];
        s = s ? s : "";
        size_t len = strlen(s);
        memcpy(w, s, len + 1);
        ar->member_variant[r] = w, w += len + 1;
    }

    size_t pv_cap = 0;
    for (int g = 0; g < G; g++) {
        struct as_summary_group *gr = &sm->groups[g];
        const int64_t m0 = ar->group_start[g];
        const int V = ar->group_count[g];
        gr->name = ar->group_name[g];
        gr->n_variants = V;
        gr->prompts = ar->member_index + m0;
        gr->variants = ar->member_variant + m0;
        gr->entropy_std = ar->entropy_std + (size_t)g * uL;
        gr->js = ar->js + (size_t)g * uL;
        gr->rank_js = ar->rank_js + (size_t)g * uL;
        gr->rank_std = ar->rank_std + (size_t)g * uL;
        gr->prefix_mass = ar->prefix_mass + (size_t)m0 * uL;
        gr->question_mass = ar->question_mass + (size_t)m0 * uL;
        gr->example_mass = ar->example_mass + (size_t)m0 * uLH;
        gr->example_top = ar->example_top + (size_t)m0 * K;
        const int64_t *mem = mrow + m0; /* summary rows of the members */
        int v;
        /* layer_entropy std over variants (ddof = 0) */
        for (int l = 0; l < L; l++) {
            double mu = 0, var = 0;
            for (v = 0; v < V; v++)
                mu += sm->small[mem[v]].layer_entropy[l];
            mu /= V;
            for (v = 0; v < V; v++) {
                double d = sm->small[mem[v]].layer_entropy[l] - mu;
                var += d * d;
            }
            gr->entropy_std[l] = V > 0 ? sqrt(var / V) : NAN;
        }
        /* JS divergence of each pair on its common aligned suffix (the tokens both prompts
         * end with), pairs sharing fewer than js_min_shared tokens left out */
        double *jacc = ar->js_acc;
        int32_t *jcnt = ar->js_cnt;
        for (int l = 0; l < L; l++)
            jacc[l] = 0, jcnt[l] = 0;
        int used = 0, min_shared = 0;
        const int64_t n_pairs =
            V <= SM_JS_ALL_PAIRS_MAX ? (int64_t)V * (V - 1) / 2 : (int64_t)V * SM_JS_OFFSETS;
        for (int64_t q = 0, a0 = 0, b0 = 1; q < n_pairs; q++) {
            int va, vb; /* all pairs (a < b) in order; or (v, (v + k) mod V), k = 1..32 */
            if (V <= SM_JS_ALL_PAIRS_MAX) {
                va = (int)a0, vb = (int)b0;
                if (++b0 == V) a0++, b0 = a0 + 1;
            } else {
                va = (int)(q / SM_JS_OFFSETS), vb = (int)((va + q % SM_JS_OFFSETS + 1) % V);
            }
            const struct as_metrics_small *ma = &sm->small[mem[va]], *mb = &sm->small[mem[vb]];
            const int32_t *ia =
                in->token_id ? in->token_id + in->token_start[sm->index[mem[va]]] : NULL;
            const int32_t *ib =
                in->token_id ? in->token_id + in->token_start[sm->index[mem[vb]]] : NULL;
            int k = 0;
            while (ia && k < ma->T && k < mb->T && ia[ma->T - 1 - k] == ib[mb->T - 1 - k])
                k++;
            if (k < js_min_shared) continue;
            if ((size_t)2 * k > pv_cap) {
                free(pv);
                pv_cap = (size_t)2 * k;
                if (!(pv = malloc(pv_cap * sizeof *pv))) goto nomem;
            }
            used++;
            min_shared = used == 1 || k < min_shared ? k : min_shared;
            for (int l = 0; l < L; l++) {
                double za = 0, zb = 0, *pa = pv, *pb = pv + k;
                for (int t = 0; t < k; t++) {
                    za += (pa[t] = ma->last_row_mean[(size_t)(ma->T - k + t) * uL + l]);
                    zb += (pb[t] = mb->last_row_mean[(size_t)(mb->T - k + t) * uL + l]);
                }
                if (!(za > 0) || !(zb > 0)) continue;
                for (int t = 0; t < k; t++)
                    pa[t] /= za, pb[t] /= zb;
                jacc[l] += jsd(pa, pb, k);
                jcnt[l]++;
            }
        }
        for (int l = 0; l < L; l++)
            gr->js[l] = jcnt[l] > 0 ? jacc[l] / (double)jcnt[l] : NAN;
        gr->n_shared = ar->n_shared[g] = min_shared;
        gr->js_pairs = ar->js_pairs[g] = used;
        rank_by(gr->js, L, 1, tmp, gr->rank_js);
        rank_by(gr->entropy_std, L, 1, tmp, gr->rank_std);
        /* instruction effect and few-shot effect */
        for (v = 0; v < V; v++) {
            const struct as_metrics_small *m = &sm->small[mem[v]];
            int sp = find_span(m, "prefix"), sq = find_span(m, "question");
            for (int l = 0; l < L; l++) {
                double a = 0, b = 0;
                for (int h = 0; h < H; h++) {
                    if (sp >= 0) a += m->span_mass[((size_t)sp * L + l) * H + h];
                    if (sq >= 0) b += m->span_mass[((size_t)sq * L + l) * H + h];
                }
                gr->prefix_mass[(size_t)v * L + l] = a / H;
                gr->question_mass[(size_t)v * L + l] = b / H;
            }
            double *ex = gr->example_mass + (size_t)v * LH;
            for (int s = 0; s < m->n_spans; s++) {
                const char *rec = m->span_names + (size_t)s * sw;
                if (sm_rec_len(rec, sw) < 14 || memcmp(rec, "example_answer", 14) != 0) continue;
                if (m->span_tokens[2 * s] >= 0) gr->has_examples = 1;
                for (int k = 0; k < LH; k++)
                    ex[k] += m->span_mass[(size_t)s * LH + k];
            }
        }
        ar->has_examples[g] = (int8_t)gr->has_examples;
        for (v = 0; v < V; v++) {
            struct as_summary_head *o = gr->example_top + (size_t)v * K;
            if (gr->has_examples) {
                top_heads(gr->example_mass + (size_t)v * LH, L, H, 1, o, idx);
                continue;
            }
            for (int k = 0; k < LH; k++) /* not written by the exports; NaN in /summary */
                gr->example_mass[(size_t)v * LH + k] = NAN;
            for (int t = 0; t < K; t++)
                o[t] = (struct as_summary_head){-1, -1, NAN, ""};
        }
    }
    /* members: rows in /sweep */
    for (int64_t r = 0; r < n; r++)
        mrow[r] = sm->index[mrow[r]];
    /* statistics across prompts (stats_summary.c) */
    AS_TRY(sm_stats_compute(in, sm, err));
    *out = sm;
    sm = NULL;
    goto done;
nomem:
    ret = as_err_set(err, AS_ERR_NOMEM, "summary: out of memory (%lld prompts, L=%d, H=%d)",
                     (long long)in->n, in->L, in->H);
done:
    as_summary_free(sm);
    strset_free(&set);
    free(gmap), free(gof), free(fill), free(row_id), free(tid), free(cnt), free(tmp), free(pv);
    return ret;
}
