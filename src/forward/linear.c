/* linear.c - y = x W^T through OpenBLAS, and the naive reference. */
#include <cblas.h>

#include "kernels.h"

void as_linear(float *out, const float *x, const float *w, int n, int d_in, int d_out,
               int accumulate, enum as_kernel k) {
    if (k == AS_KERNEL_NAIVE) {
        as_linear_naive(out, x, w, n, d_in, d_out, accumulate);
        return;
    }
    /* C (n, d_out) = A (n, d_in) * B^T, B stored (d_out, d_in) row-major. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d_out, d_in, 1.0f, x, d_in, w, d_in,
                accumulate ? 1.0f : 0.0f, out, d_out);
}

void as_linear_naive(float *out, const float *x, const float *w, int n, int d_in, int d_out,
                     int accumulate) {
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d_in;
        for (int o = 0; o < d_out; o++) {
            const float *wo = w + (size_t)o * d_in;
            double acc = 0.0; /* double accumulation: the reference should be the accurate one */
            for (int j = 0; j < d_in; j++)
                acc += (double)xi[j] * (double)wo[j];
            float *y = out + (size_t)i * d_out + o;
            *y = accumulate ? *y + (float)acc : (float)acc;
        }
    }
}
