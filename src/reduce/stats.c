/* stats.c - the seeded bootstrap of the statistics across prompts (docs/METRICS.md
 * "Statistics across prompts"): a counter-based generator, moments of rows, resampled sums,
 * percentile intervals, and the allocator of struct as_summary_stats.
 *
 * Resample b of a set of k rows draws k rows with replacement: draw j picks row
 * sm_draw(key, b, j, k), a pure function of its arguments (splitmix64's finalizer on a
 * counter), so the intervals depend only on the file's values, the seed and the set's
 * identity (key), never on the number of ranks, the order of computation, or whether `run`
 * or `reduce` wrote /summary. The resampled sums are accumulated row by row in ascending
 * row order for every resample, so they are bit-identical whatever the block size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

#define SM_GAMMA  0x9e3779b97f4a7c15ull /* splitmix64's increment */
#define SM_GAMMA2 0xd1b54a32d192ed03ull /* a second odd constant: the resample stream */

uint64_t sm_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t sm_key(uint64_t seed, const char *a, const char *b) {
    uint64_t h = 14695981039346656037ull; /* FNV-1a of a, a NUL, b */
    for (const char *p = a ? a : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = h * 1099511628211ull;
    for (const char *p = b ? b : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return sm_mix64(seed ^ sm_mix64(h));
}

int64_t sm_draw(uint64_t key, int b, int64_t i, int64_t n) {
    const uint64_t stream = sm_mix64(key + (uint64_t)(b + 1) * SM_GAMMA2);
    const uint64_t r = sm_mix64(stream + (uint64_t)(i + 1) * SM_GAMMA);
    return (int64_t)(((unsigned __int128)r * (uint64_t)n) >> 64); /* Lemire: [0, n) */
}

void sm_moments(const struct sm_rows *r, int D, const int64_t *rows, int64_t k, double *mean,
                double *std, int32_t *count) {
    const int st = r->D;
    double *s = calloc((size_t)D + 1, sizeof *s);
    int64_t *c = calloc((size_t)D + 1, sizeof *c);
    if (!s || !c) { /* only a few kB: report "undefined" rather than fail */
        for (int d = 0; d < D; d++)
            mean[d] = std[d] = NAN, count[d] = 0;
        free(s), free(c);
        return;
    }
    for (int64_t j = 0; j < k; j++) {
        const int64_t i = rows ? rows[j] : j;
        const double *x = r->x + (size_t)i * st;
        const uint8_t *m = r->m + (size_t)i * st;
        for (int d = 0; d < D; d++)
            s[d] += x[d], c[d] += m[d];
    }
    for (int d = 0; d < D; d++) {
        mean[d] = c[d] > 0 ? s[d] / (double)c[d] : NAN;
        s[d] = 0;
    }
    for (int64_t j = 0; j < k; j++) {
        const int64_t i = rows ? rows[j] : j;
        const double *x = r->x + (size_t)i * st;
        const uint8_t *m = r->m + (size_t)i * st;
        for (int d = 0; d < D; d++)
            if (m[d]) s[d] += (x[d] - mean[d]) * (x[d] - mean[d]);
    }
    for (int d = 0; d < D; d++) {
        std[d] = c[d] > 1 ? sqrt(s[d] / (double)(c[d] - 1)) : NAN;
        count[d] = (int32_t)c[d];
    }
    free(s), free(c);
}

int sm_boot_init(struct sm_boot *bt, int B, int D_max, int n_sq_max, int blk) {
    memset(bt, 0, sizeof *bt);
    bt->B = B, bt->D_max = D_max, bt->n_sq_max = n_sq_max, bt->blk = blk > 0 ? blk : 1;
    const size_t bd = (size_t)B * (size_t)(D_max > 0 ? D_max : 1);
    bt->S = malloc(bd * sizeof *bt->S);
    bt->W = malloc(bd * sizeof *bt->W);
    bt->Q = malloc((size_t)B * (size_t)(n_sq_max > 0 ? n_sq_max : 1) * sizeof *bt->Q);
    bt->map = malloc((size_t)B * sizeof *bt->map);
    bt->mult = malloc((size_t)B * sizeof *bt->mult);
    bt->slot = malloc(SM_BOOT_HASH * sizeof *bt->slot);
    bt->ukey = malloc((size_t)B * sizeof *bt->ukey);
    bt->state = malloc((size_t)(D_max / bt->blk + 1));
    bt->tmp = malloc(2 * (size_t)B * sizeof *bt->tmp);
    bt->zero_x = calloc((size_t)(D_max > 0 ? D_max : 1), sizeof *bt->zero_x);
    bt->zero_m = calloc((size_t)(D_max > 0 ? D_max : 1), 1);
    if (!bt->S || !bt->W || !bt->Q || !bt->map || !bt->mult || !bt->slot || !bt->ukey ||
        !bt->state || !bt->tmp || !bt->zero_x || !bt->zero_m) {
        sm_boot_free(bt);
        return -1;
    }
    return 0;
}

void sm_boot_free(struct sm_boot *bt) {
    free(bt->S), free(bt->W), free(bt->Q), free(bt->map), free(bt->mult), free(bt->cnt);
    free(bt->slot), free(bt->ukey), free(bt->state), free(bt->tmp), free(bt->zero_x);
    free(bt->zero_m);
    memset(bt, 0, sizeof *bt);
}

/* Rows added to a resample's sums at once (its sums stay in registers across them). */
#define SM_ROW_BLOCK 8

/* Adds c[r] times row r (x[r], m[r]), r = 0..SM_ROW_BLOCK-1, to one resample's sums,
 * quantity by quantity: S alone where the quantity is present in every row (W is set
 * afterwards), S and W where it is mixed. Each sum adds the rows in order r = 0, 1, ... */
static void add_rows(const struct sm_boot *bt, const double *restrict c,
                     const double *const *restrict x, const uint8_t *const *restrict m,
                     double *restrict S, double *restrict W, double *restrict Q,
                     const double *restrict shift) {
    const int blk = bt->blk, nq = bt->D / blk;
    for (int q = 0; q < nq; q++) {
        const int o = q * blk;
        if (bt->state[q] == 0) continue;
        for (int d = o; d < o + blk; d++) {
            double t = S[d];
            for (int r = 0; r < SM_ROW_BLOCK; r++)
                t += c[r] * x[r][d];
            S[d] = t;
        }
        if (bt->state[q] == 2)
            for (int d = o; d < o + blk; d++) {
                double t = W[d];
                for (int r = 0; r < SM_ROW_BLOCK; r++)
                    t += c[r] * (double)m[r][d];
                W[d] = t;
            }
    }
    for (int d = 0; d < bt->n_sq; d++) {
        double t = Q[d];
        for (int r = 0; r < SM_ROW_BLOCK; r++) {
            const double e = m[r][d] ? x[r][d] - shift[d] : 0.0;
            t += c[r] * e * e;
        }
        Q[d] = t;
    }
}

int sm_boot_run(struct sm_boot *bt, uint64_t key, const struct sm_rows *r, int D,
                const int64_t *rows, int64_t k, const double *shift, int n_sq) {
    if (D > bt->D_max || n_sq > bt->n_sq_max || D > r->D || D % bt->blk) return -2;
    bt->D = D, bt->n_sq = n_sq;
    const int B = bt->B, blk = bt->blk;
    if (k <= 0) { /* one empty resample */
        bt->U = 1;
        memset(bt->S, 0, (size_t)D * sizeof *bt->S), memset(bt->W, 0, (size_t)D * 8);
        if (n_sq > 0) memset(bt->Q, 0, (size_t)n_sq * sizeof *bt->Q);
        for (int b = 0; b < B; b++)
            bt->map[b] = 0;
        bt->mult[0] = B;
        return 0;
    }
    if (k > bt->cap) {
        free(bt->cnt);
        bt->cap = 0;
        if (!(bt->cnt = malloc((size_t)SM_BOOT_BLOCK * (size_t)k * sizeof *bt->cnt))) return -1;
        bt->cap = k;
    }
    /* which quantities are present in every row, in none, or in some */
    for (int q = 0; q < D / blk; q++) {
        int any = 0, all = 1;
        for (int64_t j = 0; j < k; j++) {
            const uint8_t *m = r->m + (size_t)(rows ? rows[j] : j) * r->D + (size_t)q * blk;
            for (int d = 0; d < blk; d++)
                any |= m[d], all &= m[d];
        }
        bt->state[q] = (int8_t)(!any ? 0 : all ? 1 : 2);
    }
    const int merge = k <= SM_BOOT_SMALL;
    int U = 0;
    if (merge) { /* count vectors as base-(k + 1) numbers; distinct ones in order of first b */
        for (int i = 0; i < SM_BOOT_HASH; i++)
            bt->slot[i] = -1;
        int32_t c[SM_BOOT_SMALL];
        for (int b = 0; b < B; b++) {
            memset(c, 0, sizeof c);
            for (int64_t j = 0; j < k; j++)
                c[sm_draw(key, b, j, k)]++;
            int64_t kk = 0;
            for (int64_t j = 0; j < k; j++)
                kk = kk * (k + 1) + c[j];
            uint32_t h = (uint32_t)(sm_mix64((uint64_t)kk) & (SM_BOOT_HASH - 1));
            while (bt->slot[h] >= 0 && bt->ukey[bt->slot[h]] != kk)
                h = (h + 1) & (SM_BOOT_HASH - 1);
            if (bt->slot[h] < 0) {
                bt->slot[h] = U, bt->ukey[U] = kk, bt->mult[U] = 0;
                U++;
            }
            bt->map[b] = bt->slot[h];
            bt->mult[bt->slot[h]]++;
        }
    } else {
        U = B;
        for (int b = 0; b < B; b++)
            bt->map[b] = b, bt->mult[b] = 1;
    }
    bt->U = U;
    memset(bt->S, 0, (size_t)U * D * sizeof *bt->S);
    memset(bt->W, 0, (size_t)U * D * sizeof *bt->W);
    if (n_sq > 0) memset(bt->Q, 0, (size_t)U * n_sq * sizeof *bt->Q);
    for (int u0 = 0; u0 < U; u0 += SM_BOOT_BLOCK) {
        const int nu = U - u0 < SM_BOOT_BLOCK ? U - u0 : SM_BOOT_BLOCK;
        /* the counts of this block's resamples: c[u][j] = how often row j was drawn */
        memset(bt->cnt, 0, (size_t)nu * (size_t)k * sizeof *bt->cnt);
        for (int u = 0; u < nu; u++) {
            int32_t *c = bt->cnt + (size_t)u * k;
            if (merge) { /* decode the base-(k + 1) digits */
                int64_t kk = bt->ukey[u0 + u];
                for (int64_t j = k - 1; j >= 0; j--)
                    c[j] = (int32_t)(kk % (k + 1)), kk /= k + 1;
            } else {
                for (int64_t j = 0; j < k; j++)
                    c[sm_draw(key, u0 + u, j, k)]++;
            }
        }
        /* one pass over the rows, SM_ROW_BLOCK at a time; every (u, d) sum grows in
         * ascending row order (a padded row has count 0 and the zero row) */
        for (int64_t j0 = 0; j0 < k; j0 += SM_ROW_BLOCK) {
            const double *x[SM_ROW_BLOCK];
            const uint8_t *m[SM_ROW_BLOCK];
            for (int q = 0; q < SM_ROW_BLOCK; q++) {
                const int64_t j = j0 + q;
                const int64_t i = j < k ? (rows ? rows[j] : j) : -1;
                x[q] = i >= 0 ? r->x + (size_t)i * r->D : bt->zero_x;
                m[q] = i >= 0 ? r->m + (size_t)i * r->D : bt->zero_m;
            }
            for (int u = 0; u < nu; u++) {
                double c[SM_ROW_BLOCK];
                int any = 0;
                for (int q = 0; q < SM_ROW_BLOCK; q++) {
                    const int64_t j = j0 + q;
                    c[q] = j < k ? (double)bt->cnt[(size_t)u * k + j] : 0.0;
                    any |= c[q] != 0;
                }
                if (!any) continue;
                add_rows(bt, c, x, m, bt->S + (size_t)(u0 + u) * D, bt->W + (size_t)(u0 + u) * D,
                         bt->Q + (size_t)(u0 + u) * n_sq, shift);
            }
        }
    }
    /* quantities present in every row: W = the k draws */
    for (int q = 0; q < D / blk; q++)
        if (bt->state[q] == 1)
            for (int u = 0; u < U; u++)
                for (int d = q * blk; d < (q + 1) * blk; d++)
                    bt->W[(size_t)u * D + d] = (double)k;
    return 0;
}

/* Two values of a weighted sample (v, weight), sorted by v. */
struct wv {
    double v;
    int32_t w;
};
static int cmp_wv(const void *a, const void *b) {
    const double x = ((const struct wv *)a)->v, y = ((const struct wv *)b)->v;
    return (x > y) - (x < y);
}

/* The k-th smallest of v[0..n) (0-based), v partially reordered: v[k] holds it, smaller
 * values before. Quickselect with a median-of-three pivot: deterministic. */
static double select_k(double *v, int n, int k) {
    int lo = 0, hi = n - 1;
    while (hi > lo) {
        const int mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p)
                i++;
            while (v[j] > p)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j], v[j] = t;
                i++, j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* The q-quantile of v[0..n) (n >= 1, no NaN), numpy's "linear" method. */
static double quantile(double *v, int n, double q) {
    const double h = q * (double)(n - 1);
    const int f = (int)floor(h);
    const double a = select_k(v, n, f);
    if (f + 1 >= n || h == (double)f) return a;
    double b = v[f + 1]; /* the smallest value after position f */
    for (int i = f + 2; i < n; i++)
        if (v[i] < b) b = v[i];
    return a + (h - (double)f) * (b - a);
}

void sm_percentile_interval(double *v, int n, double confidence, double *lo, double *hi) {
    int m = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) v[m++] = v[i];
    if (m == 0) {
        *lo = *hi = NAN;
        return;
    }
    *lo = quantile(v, m, (1.0 - confidence) / 2.0);
    *hi = quantile(v, m, (1.0 + confidence) / 2.0);
}

/* The value at 0-based position p of the sorted expansion of the weighted sample. */
static double wv_at(const struct wv *a, int n, int64_t p) {
    for (int i = 0; i < n; i++) {
        if (p < a[i].w) return a[i].v;
        p -= a[i].w;
    }
    return a[n - 1].v;
}
static double wv_quantile(const struct wv *a, int n, int64_t M, double q) {
    const double h = q * (double)(M - 1);
    const int64_t f = (int64_t)floor(h);
    const double x = wv_at(a, n, f);
    if (f + 1 >= M || h == (double)f) return x;
    return x + (h - (double)f) * (wv_at(a, n, f + 1) - x);
}

void sm_boot_interval(struct sm_boot *bt, int d, double confidence, double *lo, double *hi) {
    if (bt->U == bt->B) { /* one value per resample */
        int m = 0;
        for (int b = 0; b < bt->B; b++) {
            const double w = bt->W[(size_t)b * bt->D + d];
            if (w > 0) bt->tmp[m++] = bt->S[(size_t)b * bt->D + d] / w;
        }
        sm_percentile_interval(bt->tmp, m, confidence, lo, hi);
        return;
    }
    /* merged resamples: the same order statistics from the distinct values and their counts */
    struct wv *a = (struct wv *)bt->tmp; /* 2 B doubles hold B pairs */
    int n = 0;
    int64_t M = 0;
    for (int u = 0; u < bt->U; u++) {
        const double w = bt->W[(size_t)u * bt->D + d];
        if (!(w > 0)) continue;
        const double v = bt->S[(size_t)u * bt->D + d] / w;
        if (isnan(v)) continue;
        a[n].v = v, a[n].w = bt->mult[u], M += bt->mult[u], n++;
    }
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    qsort(a, (size_t)n, sizeof *a, cmp_wv);
    *lo = wv_quantile(a, n, M, (1.0 - confidence) / 2.0);
    *hi = wv_quantile(a, n, M, (1.0 + confidence) / 2.0);
}

int sm_sort(int64_t *a, int64_t n, int (*cmp)(const void *ctx, int64_t x, int64_t y),
            const void *ctx) {
    if (n < 2) return 0;
    int64_t *t = malloc((size_t)n * sizeof *t);
    if (!t) return -1;
    int64_t *src = a, *dst = t;
    for (int64_t w = 1; w < n; w *= 2) { /* bottom-up: runs of w, merged pairwise */
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            const int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = cmp(ctx, src[j], src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        int64_t *x = src;
        src = dst, dst = x;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
    free(t);
    return 0;
}

/* ------------------------------------------------------------ the allocator */

/* Every allocation of a struct as_summary_stats is a block on one list (st->mem). */
struct sm_block {
    struct sm_block *next;
    max_align_t data[];
};

void *sm_alloc(struct as_summary_stats *st, size_t bytes) {
    struct sm_block *b = calloc(1, sizeof *b + (bytes ? bytes : 1));
    if (!b) return NULL;
    b->next = st->mem;
    st->mem = b;
    return b->data;
}

char *sm_strdup(struct as_summary_stats *st, const char *s, size_t len) {
    char *p = sm_alloc(st, len + 1);
    if (p) memcpy(p, s, len);
    return p;
}

static double *nan_array(struct as_summary_stats *st, size_t n) {
    double *p = sm_alloc(st, n * sizeof *p);
    for (size_t i = 0; p && i < n; i++)
        p[i] = NAN;
    return p;
}

struct as_stats_q4 sm_q4_alloc(struct as_summary_stats *st, size_t n) {
    struct as_stats_q4 q = {nan_array(st, n), nan_array(st, n), nan_array(st, n), nan_array(st, n)};
    return q;
}

struct as_stats_c4 sm_c4_alloc(struct as_summary_stats *st, size_t n) {
    struct as_stats_c4 q = {nan_array(st, n), nan_array(st, n), nan_array(st, n), nan_array(st, n)};
    return q;
}

void sm_stats_free(struct as_summary_stats *st) {
    if (!st) return;
    for (struct sm_block *b = st->mem, *nx; b; b = nx) {
        nx = b->next;
        free(b);
    }
    free(st);
}
