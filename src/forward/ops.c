/* ops.c - RMSNorm, RoPE and SwiGLU, written to match HF LlamaForCausalLM in fp32. */
#include <math.h>

#include "kernels.h"

/* HF LlamaRMSNorm: variance = mean(x^2) in fp32; x * rsqrt(variance + eps); weight * x. */
void as_rmsnorm(float *out, const float *x, const float *g, int n, int d, float eps) {
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *oi = out + (size_t)i * d;
        double ss = 0.0;
        for (int j = 0; j < d; j++)
            ss += (double)xi[j] * xi[j];
        float inv = 1.0f / sqrtf((float)(ss / d) + eps);
        for (int j = 0; j < d; j++)
            oi[j] = g[j] * (xi[j] * inv);
    }
}

void as_rope_table(float *cos_t, float *sin_t, int T, int head_dim, float theta) {
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        /* HF: inv_freq = 1 / theta^(arange(0, hd, 2) / hd), computed in fp32 */
        float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
        for (int p = 0; p < T; p++) {
            float ang = (float)p * inv_freq;
            cos_t[(size_t)p * half + i] = cosf(ang);
            sin_t[(size_t)p * half + i] = sinf(ang);
        }
    }
}

void as_rope_row(float *cos_p, float *sin_p, int pos, int head_dim, float theta) {
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        /* the same two fp32 roundings as as_rope_table, so a decoded position matches the prefill
         */
        float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
        float ang = (float)pos * inv_freq;
        cos_p[i] = cosf(ang);
        sin_p[i] = sinf(ang);
    }
}

void as_rope_apply(float *row, int n_heads, int head_dim, const float *cos_p, const float *sin_p,
                   enum as_rope_style style) {
    int half = head_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = row + (size_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            /* HF rotate_half pairs (i, i+half); llama2.c/Meta pair (2i, 2i+1); the
             * frequency index is i in both conventions. */
            int a = style == AS_ROPE_HALF ? i : 2 * i;
            int b = style == AS_ROPE_HALF ? i + half : 2 * i + 1;
            float x0 = v[a], x1 = v[b], c = cos_p[i], s = sin_p[i];
            v[a] = x0 * c - x1 * s;
            v[b] = x1 * c + x0 * s;
        }
    }
}

void as_swiglu_rows(float *gu, int N, int F) {
    /* row r: out[r, f] = silu(gu[r, f]) * gu[r, F + f], written to gu + r*F. Output row r lies in
     * input rows < r (or at the same place, element by element, for r = 0), so rows go in order */
    for (int r = 0; r < N; r++) {
        const float *g = gu + (size_t)r * 2 * F, *u = g + F;
        float *o = gu + (size_t)r * F;
        for (int f = 0; f < F; f++) {
            float x = g[f];
            o[f] = (x / (1.0f + expf(-x))) * u[f];
        }
    }
}

void as_swiglu(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float x = g[i];
        g[i] = (x / (1.0f + expf(-x))) * u[i];
    }
}
