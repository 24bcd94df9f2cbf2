/* bench_forward.c - forward-pass throughput against OpenBLAS's own sgemm peak.
 *
 * Builds a TinyLlama-1.1B-shaped model in memory (22 layers, D 2048, 32 heads,
 * 4 kv heads, F 5632, V 32000; seeded random weights) and, for each T, runs a
 * full prefill with attention capture on (each layer's (H, T, T) block is
 * copied out by the sink, as the HDF5 writer would). In the same run it times
 * cblas_sgemm at the forward pass's own projection shapes, and prints
 * achieved / peak. Usage: bench_forward [T ...]   (default 16 64 256 1024)
 * Threads: OPENBLAS_NUM_THREADS (default: all cores).
 * ATTNSWEEP_BENCH_SMOKE=1 runs the same code on the small default model (the
 * README test uses it to check that the benchmark works, in seconds). */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attnsweep/forward.h"
#include "attnsweep/synthetic.h"
#include "bench_common.h"

static double now(void) {
    return bench_now();
}

struct sink_buf {
    float *dst; /* (H, T, T) copy target */
    int H;
};

static as_status copy_sink(void *ctx, int seq, int layer, const float *probs, int T,
                           struct as_err *err) {
    struct sink_buf *s = ctx;
    memcpy(s->dst, probs, (size_t)s->H * T * T * sizeof(float));
    return AS_OK;
}

/* GFLOP/s of C(M,N) = A(M,K) B(N,K)^T, best of a few repetitions. */
static double sgemm_gflops(int M, int N, int K) {
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * N * K);
    float *c = malloc(sizeof(float) * M * N);
    for (size_t i = 0; i < (size_t)M * K; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)N * K; i++)
        b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30, flops = 2.0 * M * N * K;
    int reps = flops < 1e9 ? 20 : 3;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    free(a), free(b), free(c);
    return flops / best / 1e9;
}

int main(int argc, char **argv) {
    int Ts[16], nT = 0;
    for (int i = 1; i < argc && nT < 16; i++)
        Ts[nT++] = atoi(argv[i]);
    if (nT == 0) {
        int def[] = {16, 64, 256, 1024};
        memcpy(Ts, def, sizeof def);
        nT = 4;
    }
    struct as_config c;
    struct as_model m;
    double build_s;
    if (bench_model("bench_forward", &c, &m, &build_s) != 0) return 1;
    struct as_err err = {0};
    printf("# %s random model: %zu parameters (%.2f GB fp32), built in %.1f s\n",
           c.dim == 2048 ? "TinyLlama-shaped" : "small (smoke)", as_config_n_params(&c),
           m.weights_floats * 4e-9, build_s);
    printf("# OpenBLAS %s, %d threads\n", openblas_get_config(), openblas_get_num_threads());
    double peak_big = sgemm_gflops(2048, 2048, 2048);
    printf("# sgemm 2048x2048x2048: %.1f GFLOP/s\n", peak_big);
    printf("%6s %10s %10s %10s %12s %12s %10s %10s\n", "T", "time_s", "tokens/s", "GFLOP/s",
           "sgemm_at_T", "ratio_at_T", "sgemm_big", "ratio_big");
    for (int i = 0; i < nT; i++) {
        int T = Ts[i];
        if (T < 1 || T > c.max_position) continue;
        int32_t *ids = malloc(sizeof(int32_t) * T);
        for (int t = 0; t < T; t++)
            ids[t] = (int32_t)((t * 7919 + 1) % c.vocab_size);
        struct as_runstate rs;
        if (as_runstate_init(&rs, &c, T, T, 1, AS_KERNEL_BLAS, &err) != AS_OK) {
            fprintf(stderr, "bench_forward: %s\n", err.msg);
            return 1;
        }
        struct sink_buf sb = {malloc(sizeof(float) * c.n_heads * (size_t)T * T), c.n_heads};
        struct as_attn_sink sink = {copy_sink, &sb};
        float *logits = malloc(sizeof(float) * c.vocab_size);
        struct as_forward_out out = {NULL, logits};
        const int32_t *seqs[1] = {ids};
        struct as_batch b = {1, seqs, &T};
        as_forward(&m, &rs, &b, &sink, &out, &err); /* warm-up (page faults, thread start) */
        int reps = T <= 64 ? 3 : 1;
        double best = 1e30;
        for (int r = 0; r < reps; r++) {
            double s = now();
            if (as_forward(&m, &rs, &b, &sink, &out, &err) != AS_OK) {
                fprintf(stderr, "bench_forward: %s\n", err.msg);
                return 1;
            }
            double dt = now() - s;
            if (dt < best) best = dt;
        }
        double gf = as_forward_flops(&c, T) / best / 1e9;
        /* the dominant projection shape of this T: (T, D) x (F, D)^T */
        double peak_T = sgemm_gflops(T, c.hidden_dim, c.dim);
        printf("%6d %10.3f %10.1f %10.1f %12.1f %12.2f %10.1f %10.2f\n", T, best, T / best, gf,
               peak_T, gf / peak_T, peak_big, gf / peak_big);
        fflush(stdout);
        free(sb.dst), free(logits), free(ids);
        as_runstate_free(&rs);
    }
    as_model_free(&m);
    return 0;
}
