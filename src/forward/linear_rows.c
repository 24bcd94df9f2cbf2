/* linear_rows.c - the decode step's projection: y = x W^T for a few rows of x,
 * streaming W once, with a result per row that does not depend on the batch.
 *
 * Why not cblas_sgemm: for the n = 1..64 rows of a decode step OpenBLAS 0.3.21
 * packs all of W per call and runs 3-10x below this kernel (docs/PERFORMANCE.md),
 * and its rounding of a row changes with n for small shapes (its small-matrix
 * path), so a sequence's tokens would depend on which others are still active.
 * Here every output element is the same fixed fp32 computation (kernels.h) on
 * its own row of x and row of W, whatever n, the tile it falls in, or the
 * instruction set the clone below was built for: lanes are independent IEEE
 * multiplies and adds (no FMA: -ffp-contract=off), so 16-wide AVX-512, 2 x 8
 * AVX2 and 4 x 4 SSE2 give the same bits. */
#include <pthread.h>
#include <string.h>

#include "kernels.h"

typedef float as_v16 __attribute__((vector_size(64)));

/* one run-time-selected clone per instruction set (GCC ifunc); other compilers get one version */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define AS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define AS_CLONES
#endif

#define AS_LOAD16(dst, p) memcpy(&(dst), (p), sizeof(as_v16))

/* the fixed reduction of the 16 lanes: (l, l+8), then (l, l+4), then (l, l+2), then (0, 1) */
static inline __attribute__((always_inline)) float hsum16(const as_v16 *v) {
    float t[16], s8[8], s4[4];
    memcpy(t, v, sizeof t);
    for (int l = 0; l < 8; l++)
        s8[l] = t[l] + t[l + 8];
    for (int l = 0; l < 4; l++)
        s4[l] = s8[l] + s8[l + 4];
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

/* One tile: IB rows of x by OB rows of W (IB, OB <= 4, compile-time constants after inlining,
 * so the IB*OB accumulators live in registers). */
static inline __attribute__((always_inline)) void tile(float *out, int ldo, const float *x, int ldx,
                                                       const float *w, int ldw, int d_in,
                                                       int accumulate, const int IB, const int OB) {
    const int K16 = d_in & ~15;
    as_v16 acc[4][4];
#pragma GCC unroll 4
    for (int a = 0; a < IB; a++)
#pragma GCC unroll 4
        for (int b = 0; b < OB; b++)
            acc[a][b] = (as_v16){0};
    for (int k = 0; k < K16; k += 16) {
        as_v16 wv[4];
#pragma GCC unroll 4
        for (int b = 0; b < OB; b++)
            AS_LOAD16(wv[b], w + (size_t)b * ldw + k);
#pragma GCC unroll 4
        for (int a = 0; a < IB; a++) {
            as_v16 xv;
            AS_LOAD16(xv, x + (size_t)a * ldx + k);
#pragma GCC unroll 4
            for (int b = 0; b < OB; b++)
                acc[a][b] += xv * wv[b];
        }
    }
    for (int a = 0; a < IB; a++)
        for (int b = 0; b < OB; b++) {
            const float *xa = x + (size_t)a * ldx, *wb = w + (size_t)b * ldw;
            float s = hsum16(&acc[a][b]);
            for (int k = K16; k < d_in; k++)
                s += xa[k] * wb[k];
            float *y = out + (size_t)a * ldo + b;
            *y = accumulate ? *y + s : s;
        }
}

#define AS_TILE(ib, ob)                                                                            \
    case (ib)*8 + (ob): tile(o, ldo, xi, ldx, wo, ldw, d_in, accumulate, ib, ob); break

AS_CLONES void as_linear_rows(float *out, int ldo, const float *x, int ldx, const float *w, int ldw,
                              int n, int d_in, int d_out, int accumulate) {
    /* W outermost: each 4-row block of W is read from memory once and used for every row of x
     * (x, n * d_in floats, stays in cache) */
    for (int o0 = 0; o0 < d_out; o0 += 4) {
        const int ob = d_out - o0 < 4 ? d_out - o0 : 4;
        const float *wo = w + (size_t)o0 * ldw;
        for (int i0 = 0; i0 < n; i0 += 4) {
            const int ib = n - i0 < 4 ? n - i0 : 4;
            const float *xi = x + (size_t)i0 * ldx;
            float *o = out + (size_t)i0 * ldo + o0;
            switch (ib * 8 + ob) {
                AS_TILE(4, 4);
                AS_TILE(4, 3);
                AS_TILE(4, 2);
                AS_TILE(4, 1);
                AS_TILE(3, 4);
                AS_TILE(3, 3);
                AS_TILE(3, 2);
                AS_TILE(3, 1);
                AS_TILE(2, 4);
                AS_TILE(2, 3);
                AS_TILE(2, 2);
                AS_TILE(2, 1);
                AS_TILE(1, 4);
                AS_TILE(1, 3);
                AS_TILE(1, 2);
                AS_TILE(1, 1);
            default: break;
            }
        }
    }
}

AS_CLONES void as_rows_weighted_sum(float *out, const float *p, const float *v, int ldv, int n,
                                    int d) {
    /* element e: ((0 + p_0 v_0e) + p_1 v_1e) + ..., in order of j, whichever path computes it */
    int e = 0;
    for (; e + 64 <= d; e += 64) {
        as_v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int j = 0; j < n; j++) {
            const float *vj = v + (size_t)j * ldv + e;
            as_v16 x0, x1, x2, x3;
            AS_LOAD16(x0, vj), AS_LOAD16(x1, vj + 16), AS_LOAD16(x2, vj + 32);
            AS_LOAD16(x3, vj + 48);
            a0 += p[j] * x0, a1 += p[j] * x1, a2 += p[j] * x2, a3 += p[j] * x3;
        }
        memcpy(out + e, &a0, 64), memcpy(out + e + 16, &a1, 64);
        memcpy(out + e + 32, &a2, 64), memcpy(out + e + 48, &a3, 64);
    }
    for (; e + 16 <= d; e += 16) {
        as_v16 a = {0};
        for (int j = 0; j < n; j++) {
            as_v16 x;
            AS_LOAD16(x, v + (size_t)j * ldv + e);
            a += p[j] * x;
        }
        memcpy(out + e, &a, 64);
    }
    for (; e < d; e++) {
        float a = 0.0f;
        for (int j = 0; j < n; j++)
            a += p[j] * v[(size_t)j * ldv + e];
        out[e] = a;
    }
}

/* ---- the same product split over threads by blocks of output columns ---- */

struct rows_job {
    float *out;
    const float *x, *w;
    int ldo, ldx, ldw, n, d_in, d_out, accumulate;
};

static void *rows_thread(void *arg) {
    const struct rows_job *j = arg;
    as_linear_rows(j->out, j->ldo, j->x, j->ldx, j->w, j->ldw, j->n, j->d_in, j->d_out,
                   j->accumulate);
    return NULL;
}

void as_linear_rows_mt(float *out, int ldo, const float *x, int ldx, const float *w, int ldw, int n,
                       int d_in, int d_out, int accumulate, int n_threads) {
    enum { MAX_THREADS = 64, MIN_COLS = 256 };
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    if (n_threads > d_out / MIN_COLS) n_threads = d_out / MIN_COLS;
    if (n_threads <= 1) {
        as_linear_rows(out, ldo, x, ldx, w, ldw, n, d_in, d_out, accumulate);
        return;
    }
    struct rows_job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    const int per = (d_out / n_threads + 3) & ~3; /* whole 4-column tiles */
    for (int t = 0, o0 = 0; t < n_threads; t++, o0 += per) {
        const int cols = o0 >= d_out ? 0 : (d_out - o0 < per ? d_out - o0 : per);
        jobs[t] = (struct rows_job){
            out + o0, x, w + (size_t)o0 * ldw, ldo, ldx, ldw, n, d_in, cols, accumulate};
    }
    for (int t = 1; t < n_threads; t++)
        if (jobs[t].d_out > 0)
            started[t] = pthread_create(&tid[t], NULL, rows_thread, &jobs[t]) == 0;
    rows_thread(&jobs[0]);
    for (int t = 1; t < n_threads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else if (jobs[t].d_out > 0)
            rows_thread(&jobs[t]); /* no thread available: the caller does this block */
    }
}
