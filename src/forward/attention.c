/* attention.c - causal grouped-query attention with explicit probabilities.
 * The fast path is two sgemms per head (scores = Q_h K_g^T, out = P_h V_g);
 * the softmax is done in fp32 with max subtraction, like HF eager attention
 * (softmax(..., dtype=float32)). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

static void causal_softmax_rows(float *s, int T) {
    for (int i = 0; i < T; i++) {
        float *row = s + (size_t)i * T;
        float mx = row[0];
        for (int j = 1; j <= i; j++)
            mx = row[j] > mx ? row[j] : mx;
        float sum = 0.0f;
        for (int j = 0; j <= i; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j <= i; j++)
            row[j] *= inv;
        for (int j = i + 1; j < T; j++)
            row[j] = 0.0f;
    }
}

void as_attention(float *out, float *probs, const float *q, const float *k, const float *v, int T,
                  int n_heads, int n_kv_heads, int head_dim, enum as_kernel kern) {
    if (kern == AS_KERNEL_NAIVE) {
        as_attention_naive(out, probs, q, k, v, T, n_heads, n_kv_heads, head_dim);
        return;
    }
    const int qs = n_heads * head_dim, kvs = n_kv_heads * head_dim;
    const int group = n_heads / n_kv_heads;
    const float scale = 1.0f / sqrtf((float)head_dim);
    for (int h = 0; h < n_heads; h++) {
        const int g = h / group;
        float *p = probs + (size_t)h * T * T;
        /* p (T, T) = scale * Q_h (T, hd; ld qs) * K_g^T (hd, T; K_g rows with ld kvs).
         * Only the lower triangle is needed, but a full sgemm is faster than a
         * triangular loop for the T this tool sees; the upper part is zeroed below. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, head_dim, scale,
                    q + (size_t)h * head_dim, qs, k + (size_t)g * head_dim, kvs, 0.0f, p, T);
        causal_softmax_rows(p, T);
        /* out_h (T, hd; ld qs) = P (T, T) * V_g (T, hd; ld kvs) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, head_dim, T, 1.0f, p, T,
                    v + (size_t)g * head_dim, kvs, 0.0f, out + (size_t)h * head_dim, qs);
    }
}

void as_attention_naive(float *out, float *probs, const float *q, const float *k, const float *v,
                        int T, int n_heads, int n_kv_heads, int head_dim) {
    const int qs = n_heads * head_dim, kvs = n_kv_heads * head_dim;
    const int group = n_heads / n_kv_heads;
    const double scale = 1.0 / sqrt((double)head_dim);
    for (int h = 0; h < n_heads; h++) {
        const int g = h / group;
        float *p = probs + (size_t)h * T * T;
        for (int i = 0; i < T; i++) {
            const float *qi = q + (size_t)i * qs + (size_t)h * head_dim;
            float *row = p + (size_t)i * T;
            for (int j = 0; j < T; j++) {
                if (j > i) {
                    row[j] = 0.0f;
                    continue;
                }
                const float *kj = k + (size_t)j * kvs + (size_t)g * head_dim;
                double dot = 0.0;
                for (int d = 0; d < head_dim; d++)
                    dot += (double)qi[d] * kj[d];
                row[j] = (float)(dot * scale);
            }
            double mx = row[0];
            for (int j = 1; j <= i; j++)
                mx = row[j] > mx ? row[j] : mx;
            double sum = 0.0;
            for (int j = 0; j <= i; j++)
                sum += exp((double)row[j] - mx);
            for (int j = 0; j <= i; j++)
                row[j] = (float)(exp((double)row[j] - mx) / sum);
            float *oi = out + (size_t)i * qs + (size_t)h * head_dim;
            for (int d = 0; d < head_dim; d++) {
                double acc = 0.0;
                for (int j = 0; j <= i; j++)
                    acc += (double)row[j] * v[(size_t)j * kvs + (size_t)g * head_dim + d];
                oi[d] = (float)acc;
            }
        }
    }
}
