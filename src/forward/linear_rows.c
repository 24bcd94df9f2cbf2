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
static inline __attribute__((always_inline)) float hsum16(as_v16 v) {
    float t[16], s8[8], s4[4];
    memcpy(t, &v, sizeof t);
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
            float s = hsum16(acc[a][b]);
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
