/* kernels.h - the numeric building blocks of the forward pass (internal).
 *
 * Every kernel has a fast version and a naive reference beside it; tests in
 * tests/forward/ check that they agree. Matrices are row-major. */
#ifndef ATTNSWEEP_FORWARD_KERNELS_H
#define ATTNSWEEP_FORWARD_KERNELS_H

#include <stddef.h>

#include "attnsweep/forward.h"

/* The single place attnsweep calls cblas_sgemm for projections.
 * out (n, d_out) = x (n, d_in) · W^T,  W (d_out, d_in)  [PyTorch nn.Linear].
 * BLAS call: row-major, A = x (no transpose), B = W (transposed), beta = 0
 * (or 1 when accumulate != 0: out += x W^T). */
void as_linear(float *out, const float *x, const float *w, int n, int d_in, int d_out,
               int accumulate, enum as_kernel k);
void as_linear_naive(float *out, const float *x, const float *w, int n, int d_in, int d_out,
                     int accumulate);

/* out (n, d) = x / sqrt(mean(x^2) + eps) * g, per row; out may alias x. */
void as_rmsnorm(float *out, const float *x, const float *g, int n, int d, float eps);

/* Precomputes cos/sin (T, hd/2) for positions 0..T-1: theta^(-2i/hd) * pos,
 * computed like HF (inv_freq in fp32, angle = pos * inv_freq in fp32). */
void as_rope_table(float *cos_t, float *sin_t, int T, int head_dim, float theta);
/* Rotates n_heads heads of one token row in place (row = (n_heads, hd)). */
void as_rope_apply(float *row, int n_heads, int head_dim, const float *cos_p, const float *sin_p,
                   enum as_rope_style style);

/* h (n) = silu(g) * u, in place into g. */
/* SwiGLU over N rows of [gate | up] (2F each), compacted in place into N rows of F. */
void as_swiglu_rows(float *gu, int N, int F);
void as_swiglu(float *g, const float *u, size_t n);

/* Causal attention of one sequence, all heads:
 *   q (T, H*hd), k (T, Hkv*hd), v (T, Hkv*hd)  -- rows of this sequence
 *   probs (H, T, T)  out: softmax(q_h k_g^T * scale + causal mask), zeros above the diagonal
 *   out (T, H*hd)    out: probs_h v_g for each head */
void as_attention(float *out, float *probs, const float *q, const float *k, const float *v, int T,
                  int n_heads, int n_kv_heads, int head_dim, enum as_kernel kern);
void as_attention_naive(float *out, float *probs, const float *q, const float *k, const float *v,
                        int T, int n_heads, int n_kv_heads, int head_dim);

#endif
