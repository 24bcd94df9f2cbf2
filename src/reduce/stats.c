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

int sm_boot_init(struct sm_boot *bt, int B, int D_max, int n_sq_max) {
    memset(bt, 0, sizeof *bt);
    bt->B = B, bt->D_max = D_max, bt->n_sq_max = n_sq_max;
    const size_t bd = (size_t)B * (size_t)(D_max > 0 ? D_max : 1);
    bt->S = malloc(bd * sizeof *bt->S);
    bt->W = malloc(bd * sizeof *bt->W);
    bt->Q = malloc((size_t)B * (size_t)(n_sq_max > 0 ? n_sq_max : 1) * sizeof *bt->Q);
    bt->tmp = malloc((size_t)B * sizeof *bt->tmp);
    if (!bt->S || !bt->W || !bt->Q || !bt->tmp) {
        sm_boot_free(bt);
        return -1;
    }
    return 0;
}

void sm_boot_free(struct sm_boot *bt) {
    free(bt->S), free(bt->W), free(bt->Q), free(bt->cnt), free(bt->tmp);
    memset(bt, 0, sizeof *bt);
}

int sm_boot_run(struct sm_boot *bt, uint64_t key, const struct sm_rows *r, int D,
                const int64_t *rows, int64_t k, const double *shift, int n_sq) {
    if (D > bt->D_max || n_sq > bt->n_sq_max || D > r->D) return -2; /* a caller's bug */
    bt->D = D, bt->n_sq = n_sq;
    const int B = bt->B, nq = n_sq;
    memset(bt->S, 0, (size_t)B * D * sizeof *bt->S);
    memset(bt->W, 0, (size_t)B * D * sizeof *bt->W);
    if (nq > 0) memset(bt->Q, 0, (size_t)B * nq * sizeof *bt->Q);
    if (k <= 0) return 0;
    if (k > bt->cap) {
        free(bt->cnt);
        bt->cap = 0;
        if (!(bt->cnt = malloc((size_t)SM_BOOT_BLOCK * (size_t)k * sizeof *bt->cnt))) return -1;
        bt->cap = k;
    }
    for (int b0 = 0; b0 < B; b0 += SM_BOOT_BLOCK) {
        const int nb = B - b0 < SM_BOOT_BLOCK ? B - b0 : SM_BOOT_BLOCK;
        /* the counts of this block's resamples: c[b][j] = how often row j was drawn */
        memset(bt->cnt, 0, (size_t)nb * (size_t)k * sizeof *bt->cnt);
        for (int b = 0; b < nb; b++) {
            int32_t *c = bt->cnt + (size_t)b * k;
            for (int64_t j = 0; j < k; j++)
                c[sm_draw(key, b0 + b, j, k)]++;
        }
        /* one pass over the rows; every (b, d) sum grows in ascending row order */
        for (int64_t j = 0; j < k; j++) {
            const int64_t i = rows ? rows[j] : j;
            const double *x = r->x + (size_t)i * r->D;
            const uint8_t *m = r->m + (size_t)i * r->D;
            for (int b = 0; b < nb; b++) {
                const int32_t cj = bt->cnt[(size_t)b * k + j];
                if (cj == 0) continue;
                const double c = (double)cj;
                double *S = bt->S + (size_t)(b0 + b) * D, *W = bt->W + (size_t)(b0 + b) * D;
                for (int d = 0; d < D; d++) {
                    S[d] += c * x[d];
                    W[d] += c * (double)m[d];
                }
                double *Q = bt->Q + (size_t)(b0 + b) * nq;
                for (int d = 0; d < nq; d++) {
                    const double e = m[d] ? x[d] - shift[d] : 0.0;
                    Q[d] += c * e * e;
                }
            }
        }
    }
    return 0;
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

void sm_boot_interval(struct sm_boot *bt, int d, double confidence, double *lo, double *hi) {
    int m = 0;
    for (int b = 0; b < bt->B; b++) {
        const double w = bt->W[(size_t)b * bt->D + d];
        if (w > 0) bt->tmp[m++] = bt->S[(size_t)b * bt->D + d] / w;
    }
    sm_percentile_interval(bt->tmp, m, confidence, lo, hi);
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
