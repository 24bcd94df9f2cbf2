/* test_kernels.c - every fast kernel against its naive reference, the two
 * RoPE conventions against each other, and batch packing: a packed batch must
 * give the same attention and logits as its sequences run one by one. The
 * decode kernels too: as_linear_rows (and that a row's result is bit-identical
 * whatever the other rows), the attention of one new row against the last row
 * of the prefill's attention, the split scores / softmax path against the
 * fused one (bit-identical), and as_rope_row against as_rope_table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/forward/kernels.h"
#include "attnsweep/forward.h"
#include "attnsweep/synthetic.h"
#include "testutil.h"

static float *randn(size_t n, struct as_rng *r, float std) {
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = std * as_rng_normal(r);
    return p;
}

static void test_linear(struct as_rng *r) {
    int shapes[][3] = {{1, 16, 44}, {7, 64, 32}, {33, 128, 512}, {5, 2048, 256}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int n = shapes[s][0], din = shapes[s][1], dout = shapes[s][2];
        float *x = randn((size_t)n * din, r, 1), *w = randn((size_t)dout * din, r, 0.1f);
        float *a = randn((size_t)n * dout, r, 1), *b = malloc((size_t)n * dout * sizeof(float));
        memcpy(b, a, (size_t)n * dout * sizeof(float));
        char what[64];
        for (int acc = 0; acc <= 1; acc++) {
            as_linear(a, x, w, n, din, dout, acc, AS_KERNEL_BLAS);
            as_linear_naive(b, x, w, n, din, dout, acc);
            snprintf(what, sizeof what, "linear %dx%d->%d acc=%d", n, din, dout, acc);
            tu_compare_f32(what, a, b, (size_t)n * dout, 1e-4);
        }
        free(x), free(w), free(a), free(b);
    }
}

static void test_attention(struct as_rng *r) {
    int shapes[][4] = {{1, 4, 2, 4}, {7, 4, 2, 4}, {33, 8, 4, 8}, {100, 8, 8, 16}, {64, 32, 4, 64}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int T = shapes[s][0], H = shapes[s][1], Hkv = shapes[s][2], hd = shapes[s][3];
        float *q = randn((size_t)T * H * hd, r, 1), *k = randn((size_t)T * Hkv * hd, r, 1);
        float *v = randn((size_t)T * Hkv * hd, r, 1);
        size_t np = (size_t)H * T * T, no = (size_t)T * H * hd;
        float *p1 = malloc(np * 4), *p2 = malloc(np * 4), *o1 = malloc(no * 4),
              *o2 = malloc(no * 4);
        as_attention(o1, p1, q, k, v, T, H, Hkv, hd, AS_KERNEL_BLAS);
        as_attention_naive(o2, p2, q, k, v, T, H, Hkv, hd);
        char what[96];
        snprintf(what, sizeof what, "attention probs T=%d H=%d Hkv=%d hd=%d", T, H, Hkv, hd);
        tu_compare_f32(what, p1, p2, np, 1e-5);
        snprintf(what, sizeof what, "attention out   T=%d H=%d Hkv=%d hd=%d", T, H, Hkv, hd);
        tu_compare_f32(what, o1, o2, no, 1e-4);
        size_t upper = 0;
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++)
                for (int j = i + 1; j < T; j++)
                    upper += p1[((size_t)h * T + i) * T + j] != 0.0f;
        TU_CHECK(upper == 0, "%zu non-zero probabilities above the diagonal", upper);
        free(q), free(k), free(v), free(p1), free(p2), free(o1), free(o2);
    }
}

/* rotate_half on x equals interleaved RoPE on x permuted so that pair
 * (i, i + hd/2) sits at (2i, 2i + 1). */
static void test_rope(struct as_rng *r) {
    const int hd = 8, H = 3, T = 5;
    float cs[T * hd / 2], sn[T * hd / 2];
    as_rope_table(cs, sn, T, hd, 10000.0f);
    TU_CHECK(cs[0] == 1.0f && sn[0] == 0.0f, "position 0 is the identity");
    float maxd = 0;
    for (int p = 0; p < T; p++) {
        float *x = randn(H * hd, r, 1), y[H * hd];
        for (int h = 0; h < H; h++)
            for (int i = 0; i < hd / 2; i++) {
                y[h * hd + 2 * i] = x[h * hd + i];
                y[h * hd + 2 * i + 1] = x[h * hd + i + hd / 2];
            }
        as_rope_apply(x, H, hd, cs + p * hd / 2, sn + p * hd / 2, AS_ROPE_HALF);
        as_rope_apply(y, H, hd, cs + p * hd / 2, sn + p * hd / 2, AS_ROPE_INTERLEAVED);
        for (int h = 0; h < H; h++)
            for (int i = 0; i < hd / 2; i++) {
                maxd = fmaxf(maxd, fabsf(y[h * hd + 2 * i] - x[h * hd + i]));
                maxd = fmaxf(maxd, fabsf(y[h * hd + 2 * i + 1] - x[h * hd + i + hd / 2]));
            }
        free(x);
    }
    TU_CHECK(maxd == 0.0f, "rotate_half and interleaved RoPE disagree after permutation: %g", maxd);
}

/* copies a strided (n, d) block into a dense one */
static float *dense(const float *a, int ld, int n, int d) {
    float *o = malloc(sizeof(float) * (size_t)n * d + 4);
    for (int i = 0; i < n; i++)
        memcpy(o + (size_t)i * d, a + (size_t)i * ld, sizeof(float) * d);
    return o;
}

static void test_linear_rows(struct as_rng *r) {
    const int ns[] = {1, 2, 3, 4, 5, 9}, dins[] = {1, 5, 16, 37, 64, 200},
              douts[] = {1, 3, 4, 7, 33};
    double worst = 0;
    int independent = 1;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof dins / sizeof dins[0]; b++)
            for (size_t c = 0; c < sizeof douts / sizeof douts[0]; c++) {
                const int n = ns[a], din = dins[b], dout = douts[c];
                const int ldx = din + 3, ldw = din + 1, ldo = dout + 2; /* strided views */
                float *x = randn((size_t)n * ldx, r, 1), *w = randn((size_t)dout * ldw, r, 0.3f);
                float *y = randn((size_t)n * ldo, r, 1), *y0 = dense(y, ldo, n, dout);
                float *xd = dense(x, ldx, n, din), *wd = dense(w, ldw, dout, din);
                float *ref = malloc(sizeof(float) * n * dout), *one = malloc(sizeof(float) * ldo);
                for (int acc = 0; acc <= 1; acc++) {
                    memcpy(ref, y0, sizeof(float) * n * dout);
                    as_linear_naive(ref, xd, wd, n, din, dout, acc);
                    float *yy = malloc(sizeof(float) * (size_t)n * ldo);
                    memcpy(yy, y, sizeof(float) * (size_t)n * ldo);
                    as_linear_rows(yy, ldo, x, ldx, w, ldw, n, din, dout, acc);
                    float *got = dense(yy, ldo, n, dout);
                    for (int i = 0; i < n * dout; i++)
                        worst = fmax(worst, fabs(got[i] - ref[i]) / fmax(1.0, fabs(ref[i])));
                    /* each row alone, in reverse order: the same bits */
                    for (int i = n - 1; i >= 0; i--) {
                        memcpy(one, y + (size_t)i * ldo, sizeof(float) * ldo);
                        as_linear_rows(one, ldo, x + (size_t)i * ldx, ldx, w, ldw, 1, din, dout,
                                       acc);
                        independent &= memcmp(one, yy + (size_t)i * ldo, sizeof(float) * dout) == 0;
                    }
                    /* columns beyond d_out of the strided output are untouched */
                    for (int i = 0; i < n; i++)
                        for (int j = dout; j < ldo; j++)
                            independent &= yy[(size_t)i * ldo + j] == y[(size_t)i * ldo + j];
                    free(yy), free(got);
                }
                free(x), free(w), free(y), free(y0), free(xd), free(wd), free(ref), free(one);
            }
    printf("as_linear_rows vs naive: max relative difference %.2g over %zu shapes; rows "
           "independent: %s\n",
           worst, sizeof ns / sizeof ns[0] * (sizeof dins / sizeof dins[0]) * 5,
           independent ? "yes" : "NO");
    TU_CHECK(worst <= 1e-5, "as_linear_rows differs from the naive product by %.3g", worst);
    TU_CHECK(independent, "as_linear_rows: a row's result depends on the other rows");
    /* the thread split: the same bits on 1, 2, 3 and 7 threads, ragged last block */
    {
        const int n = 5, din = 77, dout = 1031;
        float *x = randn((size_t)n * din, r, 1), *w = randn((size_t)dout * din, r, 0.3f);
        float *y1 = malloc(sizeof(float) * n * dout), *yt = malloc(sizeof(float) * n * dout);
        as_linear_rows(y1, dout, x, din, w, din, n, din, dout, 0);
        int threads[] = {1, 2, 3, 7};
        for (int t = 0; t < 4; t++) {
            memset(yt, 0xff, sizeof(float) * n * dout);
            as_linear_rows_mt(yt, dout, x, din, w, din, n, din, dout, 0, threads[t]);
            TU_CHECK(memcmp(y1, yt, sizeof(float) * n * dout) == 0,
                     "as_linear_rows_mt on %d threads differs from one thread", threads[t]);
        }
        free(x), free(w), free(y1), free(yt);
    }
    /* P V of a decode row: vs double, and the same bits by the 64-, 16- and 1-wide paths */
    {
        const int n = 45, d = 149, ldv = 151;
        float *p = randn(n, r, 1), *v = randn((size_t)n * ldv, r, 1), out[149], part[64];
        as_rows_weighted_sum(out, p, v, ldv, n, d);
        double worst_pv = 0;
        for (int e = 0; e < d; e++) {
            double want = 0;
            for (int j = 0; j < n; j++)
                want += (double)p[j] * v[(size_t)j * ldv + e];
            worst_pv = fmax(worst_pv, fabs(out[e] - want));
        }
        TU_CHECK(worst_pv <= 1e-5, "as_rows_weighted_sum differs from double by %.3g", worst_pv);
        int same = 1;
        as_rows_weighted_sum(part, p, v + 128, ldv, n, 16); /* columns 128..143 by the 16-path */
        same &= memcmp(part, out + 128, 16 * sizeof(float)) == 0;
        as_rows_weighted_sum(part, p, v + 3, ldv, n, 5); /* columns 3..7 by the scalar path */
        same &= memcmp(part, out + 3, 5 * sizeof(float)) == 0;
        as_rows_weighted_sum(part, p, v + 144, ldv, n, 5); /* the tail */
        same &= memcmp(part, out + 144, 5 * sizeof(float)) == 0;
        TU_CHECK(same, "as_rows_weighted_sum: an element's bits depend on the path computing it");
        free(p), free(v);
    }
    /* exact small integers: sum_{k<40} (k+1) * 2 = 1640 */
    float xi[40], wi[2 * 40], yi[2];
    for (int k = 0; k < 40; k++)
        xi[k] = (float)(k + 1), wi[k] = 2.0f, wi[40 + k] = (float)(k % 2 ? -1 : 1);
    as_linear_rows(yi, 2, xi, 40, wi, 40, 1, 40, 2, 0);
    TU_CHECK(yi[0] == 1640.0f && yi[1] == -20.0f,
             "hand-computed dot products: %g %g (want 1640 -20)", yi[0], yi[1]);
}

/* The new row's attention over a cache vs the last row of the prefill attention. */
static void test_attention_row(struct as_rng *r) {
    const int shapes[][4] = {{1, 4, 2, 4}, {9, 8, 4, 8}, {33, 8, 2, 16}, {70, 4, 1, 64}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int T = shapes[si][0], H = shapes[si][1], Hkv = shapes[si][2], hd = shapes[si][3];
        const int ldc = T + 5, qd = H * hd, kvd = Hkv * hd;
        float *q = randn((size_t)T * qd, r, 1), *k = randn((size_t)T * kvd, r, 1);
        float *v = randn((size_t)T * kvd, r, 1);
        float *probs = malloc(sizeof(float) * H * T * T), *out = malloc(sizeof(float) * T * qd);
        as_attention_naive(out, probs, q, k, v, T, H, Hkv, hd);
        /* the cache layout (Hkv, ldc, hd) */
        float *kc = calloc((size_t)Hkv * ldc * hd, sizeof(float));
        float *vc = calloc((size_t)Hkv * ldc * hd, sizeof(float));
        for (int t = 0; t < T; t++)
            for (int g = 0; g < Hkv; g++) {
                memcpy(kc + ((size_t)g * ldc + t) * hd, k + (size_t)t * kvd + g * hd, hd * 4);
                memcpy(vc + ((size_t)g * ldc + t) * hd, v + (size_t)t * kvd + g * hd, hd * 4);
            }
        for (int kern = 0; kern <= 1; kern++) {
            float *row = malloc(sizeof(float) * H * T), *o = malloc(sizeof(float) * qd);
            const float *qlast = q + (size_t)(T - 1) * qd;
            as_attention_row_scores(row, qlast, kc, T, ldc, H, Hkv, hd, (enum as_kernel)kern);
            as_attention_row_apply(o, row, vc, T, ldc, H, Hkv, hd, (enum as_kernel)kern);
            double dp = 0, dout = 0;
            for (int h = 0; h < H; h++)
                for (int j = 0; j < T; j++)
                    dp = fmax(dp, fabs(row[h * T + j] - probs[((size_t)h * T + T - 1) * T + j]));
            for (int i = 0; i < qd; i++)
                dout = fmax(dout, fabs(o[i] - out[(size_t)(T - 1) * qd + i]));
            TU_CHECK(dp <= 1e-5 && dout <= 1e-5,
                     "attention row (%s) T=%d H=%d Hkv=%d hd=%d: probs %.3g out %.3g from the "
                     "prefill's last row",
                     kern ? "naive" : "fast", T, H, Hkv, hd, dp, dout);
            free(row), free(o);
        }
        /* split scores + softmax_pv equals the fused attention bit for bit; scores unmasked */
        for (int kern = 0; kern <= 1; kern++) {
            float *p1 = malloc(sizeof(float) * H * T * T), *p2 = malloc(sizeof(float) * H * T * T);
            float *o1 = malloc(sizeof(float) * T * qd), *o2 = malloc(sizeof(float) * T * qd);
            as_attention(o1, p1, q, k, v, T, H, Hkv, hd, (enum as_kernel)kern);
            as_attention_scores(p2, q, k, T, H, Hkv, hd, (enum as_kernel)kern);
            /* an upper-triangle score: q_0 . k_{T-1} * scale, head 0 (kv head 0) */
            double dot = 0;
            for (int d = 0; d < hd; d++)
                dot += (double)q[d] * k[(size_t)(T - 1) * kvd + d];
            double want = dot / sqrt((double)hd);
            TU_CHECK(fabs(p2[T - 1] - want) <= 1e-5 * fmax(1, fabs(want)),
                     "unmasked score [0][%d] = %g, want %g", T - 1, p2[T - 1], want);
            as_attention_softmax_pv(o2, p2, v, T, H, Hkv, hd, (enum as_kernel)kern);
            TU_CHECK(memcmp(p1, p2, sizeof(float) * H * T * T) == 0 &&
                         memcmp(o1, o2, sizeof(float) * T * qd) == 0,
                     "split attention (%s) differs from the fused one, T=%d",
                     kern ? "naive" : "fast", T);
            free(p1), free(p2), free(o1), free(o2);
        }
        free(q), free(k), free(v), free(probs), free(out), free(kc), free(vc);
    }
    /* as_rope_row is row pos of as_rope_table, bit for bit */
    enum { TT = 300, HD = 64 };
    float *ct = malloc(sizeof(float) * TT * HD / 2), *st = malloc(sizeof(float) * TT * HD / 2);
    as_rope_table(ct, st, TT, HD, 10000.0f);
    int same = 1;
    for (int p = 0; p < TT; p++) {
        float c1[HD / 2], s1[HD / 2];
        as_rope_row(c1, s1, p, HD, 10000.0f);
        same &= memcmp(c1, ct + p * HD / 2, sizeof c1) == 0 &&
                memcmp(s1, st + p * HD / 2, sizeof s1) == 0;
    }
    TU_CHECK(same, "as_rope_row differs from as_rope_table");
    free(ct), free(st);
}

struct keep {
    int L, H, n_seq, *lens;
    float **att; /* [n_seq] -> (L, H, T, T) */
};

static as_status keep_sink(void *ctx, int seq, int layer, const float *probs, int T,
                           struct as_err *err) {
    struct keep *k = ctx;
    if (seq >= k->n_seq || T != k->lens[seq])
        return as_err_set(err, AS_ERR_INTERNAL, "keep: unexpected seq %d T %d", seq, T);
    memcpy(k->att[seq] + (size_t)layer * k->H * T * T, probs, (size_t)k->H * T * T * 4);
    return AS_OK;
}

static void run(const struct as_model *m, int n_seq, const int32_t *const *ids, int *lens,
                enum as_kernel kern, struct keep *kp, float *logits) {
    int total = 0, longest = 0;
    for (int s = 0; s < n_seq; s++)
        total += lens[s], longest = lens[s] > longest ? lens[s] : longest;
    struct as_runstate rs;
    struct as_err err = {0};
    as_status st = as_runstate_init(&rs, &m->cfg, total, longest, n_seq, kern, &err);
    TU_CHECK(st == AS_OK, "runstate: %s", err.msg);
    struct as_batch b = {n_seq, ids, lens};
    struct as_attn_sink sink = {keep_sink, kp};
    struct as_forward_out out = {NULL, logits};
    st = as_forward(m, &rs, &b, &sink, &out, &err);
    TU_CHECK(st == AS_OK, "forward: %s", err.msg);
    as_runstate_free(&rs);
}

static void test_forward_batching(void) {
    struct as_config c;
    as_config_tinyllama(&c);
    c.n_layers = 2, c.dim = 64, c.n_heads = 8, c.n_kv_heads = 2, c.head_dim = 8;
    c.hidden_dim = 96, c.vocab_size = 300, c.max_position = 64;
    struct as_model m;
    struct as_err err = {0};
    as_status st = as_model_init_synthetic(&m, &c, 42, &err);
    TU_CHECK(st == AS_OK, "synthetic: %s", err.msg);
    if (st != AS_OK) return;
    enum { NS = 3 };
    int lens[NS] = {5, 17, 1};
    int32_t *ids[NS];
    struct as_rng r;
    as_rng_seed(&r, 7);
    for (int s = 0; s < NS; s++) {
        ids[s] = malloc(sizeof(int32_t) * lens[s]);
        for (int t = 0; t < lens[s]; t++)
            ids[s][t] = (int32_t)(as_rng_next(&r) % c.vocab_size);
    }
    struct keep packed = {c.n_layers, c.n_heads, NS, lens, NULL};
    float *att_packed[NS], *att_naive[NS], *att_single[NS];
    for (int s = 0; s < NS; s++) {
        size_t n = (size_t)c.n_layers * c.n_heads * lens[s] * lens[s];
        att_packed[s] = malloc(n * 4), att_naive[s] = malloc(n * 4), att_single[s] = malloc(n * 4);
    }
    float *lg_packed = malloc(sizeof(float) * NS * c.vocab_size);
    float *lg_naive = malloc(sizeof(float) * NS * c.vocab_size);
    float *lg_single = malloc(sizeof(float) * NS * c.vocab_size);
    packed.att = att_packed;
    run(&m, NS, (const int32_t *const *)ids, lens, AS_KERNEL_BLAS, &packed, lg_packed);
    struct keep naive = packed;
    naive.att = att_naive;
    run(&m, NS, (const int32_t *const *)ids, lens, AS_KERNEL_NAIVE, &naive, lg_naive);
    for (int s = 0; s < NS; s++) {
        struct keep one = {c.n_layers, c.n_heads, 1, &lens[s], &att_single[s]};
        run(&m, 1, (const int32_t *const *)&ids[s], &lens[s], AS_KERNEL_BLAS, &one,
            lg_single + (size_t)s * c.vocab_size);
        size_t n = (size_t)c.n_layers * c.n_heads * lens[s] * lens[s];
        char what[64];
        snprintf(what, sizeof what, "packed vs single, seq %d attention", s);
        tu_compare_f32(what, att_packed[s], att_single[s], n, 1e-5);
        snprintf(what, sizeof what, "blas vs naive, seq %d attention", s);
        tu_compare_f32(what, att_packed[s], att_naive[s], n, 1e-5);
    }
    tu_compare_f32("packed vs single logits", lg_packed, lg_single, (size_t)NS * c.vocab_size,
                   1e-4);
    tu_compare_f32("blas vs naive logits", lg_packed, lg_naive, (size_t)NS * c.vocab_size, 1e-3);

    /* bad input is reported, not crashed on */
    struct as_runstate rs;
    as_runstate_init(&rs, &c, 64, 64, 1, AS_KERNEL_BLAS, &err);
    int32_t bad[3] = {1, 300, 2};
    int n3 = 3;
    const int32_t *bp[1] = {bad};
    struct as_batch b = {1, bp, &n3};
    st = as_forward(&m, &rs, &b, NULL, NULL, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "position 1") && strstr(err.msg, "300"),
             "out-of-vocabulary id: status %d, message '%s'", st, err.msg);
    as_runstate_free(&rs);
    int32_t *longseq = calloc(65, sizeof(int32_t));
    int n65 = 65;
    const int32_t *lp[1] = {longseq};
    as_runstate_init(&rs, &c, 65, 65, 1, AS_KERNEL_BLAS, &err);
    struct as_batch b2 = {1, lp, &n65};
    st = as_forward(&m, &rs, &b2, NULL, NULL, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "max_position_embeddings"),
             "too long sequence: status %d, message '%s'", st, err.msg);
    as_runstate_free(&rs);
    free(longseq);

    for (int s = 0; s < NS; s++)
        free(ids[s]), free(att_packed[s]), free(att_naive[s]), free(att_single[s]);
    free(lg_packed), free(lg_naive), free(lg_single);
    as_model_free(&m);
}

int main(void) {
    struct as_rng r;
    as_rng_seed(&r, 1234);
    test_linear(&r);
    test_attention(&r);
    test_rope(&r);
    test_linear_rows(&r);
    test_attention_row(&r);
    test_forward_batching();
    return tu_finish("test_kernels");
}
