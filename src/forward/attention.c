/* attention.c - causal grouped-query attention with explicit probabilities.
 * The fast path is two sgemms per head (scores = Q_h K_g^T, out = P_h V_g);
 * the softmax is done in fp32 with max subtraction, like HF eager attention
 * (softmax(..., dtype=float32)). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

void as_softmax_row(float *row, int n) {
    float mx = row[0];
    for (int j = 1; j < n; j++)
        mx = row[j] > mx ? row[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < n; j++) {
        row[j] = expf(row[j] - mx);
        sum += row[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < n; j++)
        row[j] *= inv;
}

static void causal_softmax_rows(float *s, int T) {
    for (int i = 0; i < T; i++) {
        float *row = s + (size_t)i * T;
        as_softmax_row(row, i + 1);
        for (int j = i + 1; j < T; j++)
            row[j] = 0.0f;
    }
}

/* p (T, T) = scale * Q_h (T, hd; ld qs) * K_g^T (hd, T; K_g rows with ld kvs) */
static void head_scores(float *p, const float *q, const float *k, int T, int qs, int kvs, int hd,
                        int h, int g, float scale) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, q + (size_t)h * hd, qs,
                k + (size_t)g * hd, kvs, 0.0f, p, T);
}

/* out_h (T, hd; ld qs) = P (T, T) * V_g (T, hd; ld kvs) */
static void head_pv(float *out, const float *p, const float *v, int T, int qs, int kvs, int hd,
                    int h, int g) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, p, T, v + (size_t)g * hd,
                kvs, 0.0f, out + (size_t)h * hd, qs);
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
        /* Only the lower triangle is needed, but a full sgemm is faster than a triangular loop
         * for the T this tool sees; the upper part is zeroed by the softmax. */
        head_scores(p, q, k, T, qs, kvs, head_dim, h, g, scale);
        causal_softmax_rows(p, T);
        head_pv(out, p, v, T, qs, kvs, head_dim, h, g);
    }
}

/* naive scores of head h: row i, key j, in double, rounded once */
static void head_scores_naive(float *p, const float *q, const float *k, int T, int qs, int kvs,
                              int hd, int h, int g, int causal) {
    const double scale = 1.0 / sqrt((double)hd);
    for (int i = 0; i < T; i++) {
        const float *qi = q + (size_t)i * qs + (size_t)h * hd;
        float *row = p + (size_t)i * T;
        for (int j = 0; j < T; j++) {
            if (causal && j > i) {
                row[j] = 0.0f;
                continue;
            }
            const float *kj = k + (size_t)j * kvs + (size_t)g * hd;
            double dot = 0.0;
            for (int d = 0; d < hd; d++)
                dot += (double)qi[d] * kj[d];
            row[j] = (float)(dot * scale);
        }
    }
}

/* naive causal softmax (double) of the scores of head h, and its output rows */
static void head_softmax_pv_naive(float *out, float *p, const float *v, int T, int qs, int kvs,
                                  int hd, int h, int g) {
    for (int i = 0; i < T; i++) {
        float *row = p + (size_t)i * T;
        double mx = row[0];
        for (int j = 1; j <= i; j++)
            mx = row[j] > mx ? row[j] : mx;
        double sum = 0.0;
        for (int j = 0; j <= i; j++)
            sum += exp((double)row[j] - mx);
        for (int j = 0; j <= i; j++)
            row[j] = (float)(exp((double)row[j] - mx) / sum);
        for (int j = i + 1; j < T; j++)
            row[j] = 0.0f;
        float *oi = out + (size_t)i * qs + (size_t)h * hd;
        for (int d = 0; d < hd; d++) {
            double acc = 0.0;
            for (int j = 0; j <= i; j++)
                acc += (double)row[j] * v[(size_t)j * kvs + (size_t)g * hd + d];
            oi[d] = (float)acc;
        }
    }
}

void as_attention_scores(float *probs, const float *q, const float *k, int T, int n_heads,
                         int n_kv_heads, int head_dim, enum as_kernel kern) {
    const int qs = n_heads * head_dim, kvs = n_kv_heads * head_dim;
    const int group = n_heads / n_kv_heads;
    const float scale = 1.0f / sqrtf((float)head_dim);
    for (int h = 0; h < n_heads; h++) {
        float *p = probs + (size_t)h * T * T;
        if (kern == AS_KERNEL_NAIVE)
            head_scores_naive(p, q, k, T, qs, kvs, head_dim, h, h / group, 0);
        else
            head_scores(p, q, k, T, qs, kvs, head_dim, h, h / group, scale);
    }
}

void as_attention_softmax_pv(float *out, float *probs, const float *v, int T, int n_heads,
                             int n_kv_heads, int head_dim, enum as_kernel kern) {
    const int qs = n_heads * head_dim, kvs = n_kv_heads * head_dim;
    const int group = n_heads / n_kv_heads;
    for (int h = 0; h < n_heads; h++) {
        float *p = probs + (size_t)h * T * T;
        if (kern == AS_KERNEL_NAIVE) {
            head_softmax_pv_naive(out, p, v, T, qs, kvs, head_dim, h, h / group);
        } else {
            causal_softmax_rows(p, T);
            head_pv(out, p, v, T, qs, kvs, head_dim, h, h / group);
        }
    }
}

void as_attention_naive(float *out, float *probs, const float *q, const float *k, const float *v,
                        int T, int n_heads, int n_kv_heads, int head_dim) {
    const int qs = n_heads * head_dim, kvs = n_kv_heads * head_dim;
    const int group = n_heads / n_kv_heads;
    for (int h = 0; h < n_heads; h++) {
        float *p = probs + (size_t)h * T * T;
        head_scores_naive(p, q, k, T, qs, kvs, head_dim, h, h / group, 1);
        head_softmax_pv_naive(out, p, v, T, qs, kvs, head_dim, h, h / group);
    }
}
