/* attention_row.c - attention of one new token over its KV cache (decode).
 * Fast path: the query heads of a kv group are the rows of one as_linear_rows
 * product with that group's cached keys (each key read once per group), then
 * the prefill's fp32 softmax (as_softmax_row), then P V summed over keys in
 * order (as_rows_weighted_sum). Naive path: double throughout, like
 * as_attention_naive. */
#include <math.h>

#include "kernels.h"

void as_attention_row_scores(float *row, const float *q, const float *kc, int n, int ldc,
                             int n_heads, int n_kv_heads, int head_dim, enum as_kernel kern) {
    const int group = n_heads / n_kv_heads;
    for (int g = 0; g < n_kv_heads; g++) {
        const float *K = kc + (size_t)g * ldc * head_dim; /* (n, hd) */
        const int h0 = g * group;
        if (kern == AS_KERNEL_NAIVE) {
            const double scale = 1.0 / sqrt((double)head_dim);
            for (int h = h0; h < h0 + group; h++) {
                const float *qh = q + (size_t)h * head_dim;
                for (int j = 0; j < n; j++) {
                    double dot = 0.0;
                    for (int d = 0; d < head_dim; d++)
                        dot += (double)qh[d] * K[(size_t)j * head_dim + d];
                    row[(size_t)h * n + j] = (float)(dot * scale);
                }
            }
        } else {
            /* row[h0..h0+group) (group, n) = Q_group (group, hd) K^T: the group's query heads are
             * consecutive in q */
            const float scale = 1.0f / sqrtf((float)head_dim);
            float *r = row + (size_t)h0 * n;
            as_linear_rows(r, n, q + (size_t)h0 * head_dim, head_dim, K, head_dim, group, head_dim,
                           n, 0);
            for (size_t i = 0; i < (size_t)group * n; i++)
                r[i] *= scale;
        }
    }
}

void as_attention_row_apply(float *out, float *row, const float *vc, int n, int ldc, int n_heads,
                            int n_kv_heads, int head_dim, enum as_kernel kern) {
    const int group = n_heads / n_kv_heads, hd = head_dim;
    for (int g = 0; g < n_kv_heads; g++) {
        const float *V = vc + (size_t)g * ldc * hd; /* (n, hd) */
        for (int h = g * group; h < (g + 1) * group; h++) {
            float *p = row + (size_t)h * n, *oh = out + (size_t)h * hd;
            if (kern == AS_KERNEL_NAIVE) {
                double mx = p[0], sum = 0.0;
                for (int j = 1; j < n; j++)
                    mx = p[j] > mx ? p[j] : mx;
                for (int j = 0; j < n; j++)
                    sum += exp((double)p[j] - mx);
                for (int j = 0; j < n; j++)
                    p[j] = (float)(exp((double)p[j] - mx) / sum);
                for (int d = 0; d < hd; d++) {
                    double acc = 0.0;
                    for (int j = 0; j < n; j++)
                        acc += (double)p[j] * V[(size_t)j * hd + d];
                    oh[d] = (float)acc;
                }
            } else {
                as_softmax_row(p, n);
                as_rows_weighted_sum(oh, p, V, hd, n, hd);
            }
        }
    }
}
