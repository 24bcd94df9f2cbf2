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

/* The decode step's projection (linear_rows.c): out (n, d_out; ld ldo) = x (n, d_in; ld ldx) W^T,
 * W (d_out, d_in; ld ldw), (+= when accumulate). Each output element is one fixed sequence of
 * fp32 operations on its own row of x and row of W: 16 lanes (lane l sums k = l mod 16 in order),
 * a fixed pairwise tree over the lanes, then the d_in mod 16 tail in order; no FMA contraction
 * (the file is built with -ffp-contract=off). A row's result therefore does not depend on n, on
 * the other rows, on the thread count or on the instruction set; W is streamed once per call
 * for all n rows (register tiles of 4 rows of x by 4 rows of W). */
void as_linear_rows(float *out, int ldo, const float *x, int ldx, const float *w, int ldw, int n,
                    int d_in, int d_out, int accumulate);
/* out (d) = sum_j p[j] v[j] over the rows j < n of v (n, d; ld ldv), in order of j for every
 * element, without FMA: a decode row's P V (the same bits on every instruction set). */
void as_rows_weighted_sum(float *out, const float *p, const float *v, int ldv, int n, int d);
/* as_linear_rows on n_threads threads, each a block of whole 4-column tiles of W (at least 256
 * columns each): the same bits as one thread, since every element is still the same computation. */
void as_linear_rows_mt(float *out, int ldo, const float *x, int ldx, const float *w, int ldw, int n,
                       int d_in, int d_out, int accumulate, int n_threads);

/* out (n, d) = x / sqrt(mean(x^2) + eps) * g, per row; out may alias x. */
void as_rmsnorm(float *out, const float *x, const float *g, int n, int d, float eps);

/* Precomputes cos/sin (T, hd/2) for positions 0..T-1: theta^(-2i/hd) * pos,
 * computed like HF (inv_freq in fp32, angle = pos * inv_freq in fp32). */
void as_rope_table(float *cos_t, float *sin_t, int T, int head_dim, float theta);
/* cos/sin (hd/2) of one position: bit-identical to row pos of as_rope_table. */
void as_rope_row(float *cos_p, float *sin_p, int pos, int head_dim, float theta);
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
/* as_attention in two halves, for a capture of the scores in between; together bit-identical to
 * as_attention. scores: probs (H, T, T) = q_h k_g^T * scale, every entry (unmasked).
 * softmax_pv: probs becomes the causal softmax of those scores, out = probs_h v_g. */
void as_attention_scores(float *probs, const float *q, const float *k, int T, int n_heads,
                         int n_kv_heads, int head_dim, enum as_kernel kern);
void as_attention_softmax_pv(float *out, float *probs, const float *v, int T, int n_heads,
                             int n_kv_heads, int head_dim, enum as_kernel kern);
/* Softmax of row[0..n) in place, fp32 with max subtraction: the arithmetic of row n-1 of the
 * prefill's causal softmax, shared so that equal scores give equal probabilities. */
void as_softmax_row(float *row, int n);

/* Attention of one new token (decode, attention_row.c) over its cached keys:
 *   q (H*hd) the new query, kc / vc (Hkv, ldc, hd) one slot's cached keys and values (rows 0..n-1
 *   used, the last being the new token's), row (H, n) out: scores (scaled, before softmax).
 * apply: row becomes softmax(row) per head, out (H*hd) = row_h vc_g. */
void as_attention_row_scores(float *row, const float *q, const float *kc, int n, int ldc,
                             int n_heads, int n_kv_heads, int head_dim, enum as_kernel kern);
void as_attention_row_apply(float *out, float *row, const float *vc, int n, int ldc, int n_heads,
                            int n_kv_heads, int head_dim, enum as_kernel kern);

/* Value norms (value_norms.c) of n keys of one layer: norms (H, ldn), norms[h*ldn + j] =
 * ||W_O^h v_j^{g(h)}|| for v (n, Hkv*hd; ld ldv). Fast: v^T G_h v with gram (H, hd, hd) of this
 * layer (struct as_vnorm), one as_linear_rows per kv group, scratch (n, (H/Hkv)*hd). Naive: the
 * product W_O^h v in double from wo (D, H*hd). */
void as_value_norms(float *norms, int ldn, const float *v, int ldv, int n, const float *gram,
                    int n_heads, int n_kv_heads, int head_dim, float *scratch);
void as_value_norms_naive(float *norms, int ldn, const float *v, int ldv, int n, const float *wo,
                          int dim, int n_heads, int n_kv_heads, int head_dim);

#endif
