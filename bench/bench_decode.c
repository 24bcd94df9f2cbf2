/* bench_decode.c - KV-cache decode throughput against memory bandwidth.
 *
 * Builds a TinyLlama-1.1B-shaped model in memory (as bench_forward does) and,
 * for each context C, prefills C tokens with attention capture on (the sink
 * copies each (H, T, T) block), then runs decode steps with capture on (each
 * new (H, t+1) row is copied out), first for one sequence and then for a batch
 * of B sequences at the same context (one step feeds B tokens and reads the
 * weights once). Decode at small batch is memory-bound, so it prints the
 * achieved GB/s of weight reads next to a memcpy and a read-only sweep
 * measured in the same run, and the prefill's tokens/s next to it.
 * Figures are the mean over the steps after the first (a warm-up).
 * Usage: bench_decode [C ...]   (default 64 256 1024)
 *   ATTNSWEEP_BENCH_STEPS (default 8) decode steps per measurement,
 *   ATTNSWEEP_BENCH_BATCH (default 8) sequences of the batched measurement.
 * Threads: OPENBLAS_NUM_THREADS, for the prefill and (as_linear_rows_mt) the
 * decode; the bandwidth figures use the same number of threads.
 * ATTNSWEEP_BENCH_SMOKE=1 runs the same code on the small default model. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/forward/kernels.h"
#include "attnsweep/decode.h"
#include "attnsweep/forward.h"
#include "attnsweep/synthetic.h"
#include "bench_common.h"

static double now(void) {
    return bench_now();
}

static int env_int(const char *name, int def) {
    const char *s = getenv(name);
    return s && *s ? atoi(s) : def;
}

/* the sinks copy what they get, as the HDF5 writer would */
struct copy {
    float *dst; /* (H, C, C) */
    int H;
};
static as_status copy_rows(void *ctx, int seq, int layer, int first, int n_rows, int n_keys,
                           const float *block, struct as_err *err) {
    struct copy *c = ctx;
    memcpy(c->dst, block, (size_t)c->H * n_rows * n_keys * sizeof(float));
    return AS_OK;
}

typedef float v16 __attribute__((vector_size(64)));

struct sweep {
    char *a, *b; /* this thread's part: read a (and copy it to b when b != NULL) */
    size_t n;
    float sum;
};

static void *sweep_fn(void *arg) {
    struct sweep *w = arg;
    if (w->b) {
        memcpy(w->b, w->a, w->n);
        return NULL;
    }
    v16 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    for (size_t i = 0; i + 256 <= w->n; i += 256) {
        v16 x0, x1, x2, x3;
        memcpy(&x0, w->a + i, 64), memcpy(&x1, w->a + i + 64, 64);
        memcpy(&x2, w->a + i + 128, 64), memcpy(&x3, w->a + i + 192, 64);
        s0 += x0, s1 += x1, s2 += x2, s3 += x3;
    }
    v16 s = s0 + s1 + s2 + s3;
    w->sum = s[0] + s[15];
    return NULL;
}

/* GB/s of memcpy (bytes read + written) and of a read-only sweep on `threads` threads, best of 3,
 * over 512 MiB split into one contiguous part per thread */
static void bandwidth(int threads, double *copy_gbs, double *read_gbs) {
    const size_t n = (size_t)512 << 20, part = n / threads;
    char *a = malloc(n), *b = malloc(n);
    memset(a, 1, n), memset(b, 2, n);
    double best[2] = {1e30, 1e30};
    for (int r = 0; r < 3; r++)
        for (int mode = 0; mode < 2; mode++) {
            struct sweep w[64];
            pthread_t tid[64];
            double t = now();
            for (int i = 0; i < threads; i++) {
                w[i] = (struct sweep){a + i * part, mode == 0 ? b + i * part : NULL, part, 0};
                if (i > 0) pthread_create(&tid[i], NULL, sweep_fn, &w[i]);
            }
            sweep_fn(&w[0]);
            for (int i = 1; i < threads; i++)
                pthread_join(tid[i], NULL);
            t = now() - t;
            best[mode] = t < best[mode] ? t : best[mode];
        }
    *copy_gbs = 2.0 * n / best[0] / 1e9;
    *read_gbs = (double)n / best[1] / 1e9;
    free(a), free(b);
}

/* Seconds of the decode's projection (n, D) x (F, D)^T: as_linear_rows (rows = 1) or
 * cblas_sgemm (rows = 0), mean of 4 after a warm-up, over 4 weight matrices (beyond the caches). */
static double proj_seconds(const float *w, int n, int D, int F, int rows, int threads) {
    float *x = malloc(sizeof(float) * n * D), *y = malloc(sizeof(float) * (size_t)n * F);
    for (int i = 0; i < n * D; i++)
        x[i] = (float)(i % 7) * 0.1f;
    double sum = 0;
    for (int r = 0; r < 5; r++) {
        double t = now();
        for (int k = 0; k < 4; k++) {
            const float *wk = w + (size_t)k * F * D;
            if (rows)
                as_linear_rows_mt(y, F, x, D, wk, D, n, D, F, 0, threads);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, F, D, 1.0f, x, D, wk, D,
                            0.0f, y, F);
        }
        if (r > 0) sum += (now() - t) / 4;
    }
    free(x), free(y);
    return sum / 4;
}

/* fp32 weight bytes one decode step reads: every projection and lm_head (one embedding row per
 * token is negligible) */
static double weight_bytes(const struct as_config *c) {
    double D = c->dim, F = c->hidden_dim, qd = (double)c->n_heads * c->head_dim;
    double kvd = (double)c->n_kv_heads * c->head_dim;
    double layer = qd * D + 2 * kvd * D + D * qd + 3 * F * D + 2 * D;
    return 4.0 * (c->n_layers * layer + (double)c->vocab_size * D + D);
}

int main(int argc, char **argv) {
    int Cs[16], nC = 0;
    for (int i = 1; i < argc && nC < 16; i++)
        Cs[nC++] = atoi(argv[i]);
    if (nC == 0) {
        int def[] = {64, 256, 1024};
        memcpy(Cs, def, sizeof def);
        nC = 3;
    }
    const int steps = env_int("ATTNSWEEP_BENCH_STEPS", 8);
    int B = env_int("ATTNSWEEP_BENCH_BATCH", 8);
    B = B < 1 ? 1 : B > 256 ? 256 : B;
    struct as_config c;
    struct as_model m;
    double build_s;
    if (bench_model("bench_decode", &c, &m, &build_s) != 0) return 1;
    struct as_err err = {0};
    const double wb = weight_bytes(&c);
    printf("# %s random model: %zu parameters, %.2f GB of fp32 weights read per decode step, "
           "built in %.1f s\n",
           c.dim == 2048 ? "TinyLlama-shaped" : "small (smoke)", as_config_n_params(&c), wb / 1e9,
           build_s);
    int nt = openblas_get_num_threads();
    nt = nt < 1 ? 1 : nt > 64 ? 64 : nt;
    printf("# OpenBLAS %s; %d threads for the prefill and the decode; %d steps per figure\n",
           openblas_get_config(), nt, steps);
    double copy_gbs, read_gbs, copy1, read1;
    bandwidth(1, &copy1, &read1);
    if (nt > 1)
        bandwidth(nt, &copy_gbs, &read_gbs);
    else
        copy_gbs = copy1, read_gbs = read1;
    printf("# memory, 512 MiB: memcpy %.1f GB/s (read + write), read-only sweep %.1f GB/s on %d "
           "threads (1 thread: %.1f and %.1f)\n",
           copy_gbs, read_gbs, nt, copy1, read1);
    /* the projection kernel alone against OpenBLAS, on the gate/up shape (4 matrices of F x D) */
    {
        const int D = c.dim, F = c.hidden_dim;
        float *w = malloc(sizeof(float) * 4 * (size_t)F * D);
        for (size_t i = 0; i < 4 * (size_t)F * D; i++)
            w[i] = (float)(i % 13) * 0.01f - 0.06f;
        int ns[2] = {1, B};
        for (int i = 0; i < 2; i++) {
            double tr = proj_seconds(w, ns[i], D, F, 1, nt),
                   tb = proj_seconds(w, ns[i], D, F, 0, nt);
            double bytes = 4.0 * F * D, flops = 2.0 * ns[i] * F * D;
            printf("# projection (%d, %d) x (%d, %d)^T on %d threads: as_linear_rows %.1f GB/s "
                   "%.1f GFLOP/s, cblas_sgemm %.1f GB/s %.1f GFLOP/s: %.1fx\n",
                   ns[i], D, F, D, nt, bytes / tr / 1e9, flops / tr / 1e9, bytes / tb / 1e9,
                   flops / tb / 1e9, tb / tr);
        }
        free(w);
    }
    printf("%6s %5s %11s %10s %10s %11s %10s %10s %10s\n", "ctx", "batch", "prefill_t/s", "step_ms",
           "tokens/s", "weight_GB/s", "vs_read", "vs_memcpy", "kv_GB/s");
    for (int ci = 0; ci < nC; ci++) {
        const int C = Cs[ci];
        if (C < 1 || C + steps > c.max_position) continue;
        const int ctx = C + steps + 1;
        int32_t *ids = malloc(sizeof(int32_t) * (C + steps));
        for (int t = 0; t < C + steps; t++)
            ids[t] = (int32_t)((t * 7919 + 1) % c.vocab_size);
        struct as_runstate rs;
        struct as_kvcache kv;
        if (as_runstate_init(&rs, &c, C > B ? C : B, C, B, AS_KERNEL_BLAS, &err) != AS_OK ||
            as_kvcache_init(&kv, &c, B, ctx, &err) != AS_OK) {
            fprintf(stderr, "bench_decode: %s\n", err.msg);
            return 1;
        }
        size_t cap_floats = (size_t)C * C > (size_t)ctx ? (size_t)C * C : (size_t)ctx;
        struct copy cp = {malloc(sizeof(float) * c.n_heads * cap_floats), c.n_heads};
        struct as_capture cap = {0};
        cap.probs.fn = copy_rows, cap.probs.ctx = &cp;
        float *logits = malloc(sizeof(float) * (size_t)B * c.vocab_size);
        const int32_t *seqs[1] = {ids};
        struct as_batch b = {1, seqs, &C};
        struct as_forward_out out = {NULL, logits};
        double tp = now();
        if (as_forward_prefill(&m, &rs, &b, &kv, &cap, &out, &err) != AS_OK) {
            fprintf(stderr, "bench_decode: %s\n", err.msg);
            return 1;
        }
        tp = now() - tp;
        /* the other slots get slot 0's cache: a batch of B sequences at context C */
        for (int l = 0; l < c.n_layers; l++)
            for (int s = 1; s < B; s++) {
                size_t n = (size_t)c.n_kv_heads * ctx * c.head_dim * sizeof(float);
                memcpy(as_kvcache_k(&kv, l, s), as_kvcache_k(&kv, l, 0), n);
                memcpy(as_kvcache_v(&kv, l, s), as_kvcache_v(&kv, l, 0), n);
            }
        for (int s = 1; s < B; s++)
            kv.len[s] = kv.len[0];
        for (int pass = 0; pass < 2; pass++) {
            const int n = pass == 0 ? 1 : B;
            int slots[256];
            int32_t feed[256];
            for (int i = 0; i < n; i++)
                slots[i] = i;
            for (int s = 0; s < n; s++)
                kv.len[s] = C;
            double sum = 0;
            int timed = 0;
            for (int k = 0; k < steps; k++) {
                for (int i = 0; i < n; i++)
                    feed[i] = ids[C + k];
                double t = now();
                if (as_decode_step(&m, &rs, &kv, n, slots, feed, &cap, logits, &err) != AS_OK) {
                    fprintf(stderr, "bench_decode: %s\n", err.msg);
                    return 1;
                }
                t = now() - t;
                if (k > 0 || steps == 1) sum += t, timed++; /* step 0 warms up */
            }
            const double best = sum / timed; /* mean step time */
            const double kvb = 2.0 * n * c.n_layers * c.n_kv_heads * (C + steps / 2.0) *
                               c.head_dim * sizeof(float);
            printf("%6d %5d %11.1f %10.1f %10.2f %11.2f %10.2f %10.2f %10.2f\n", C, n, C / tp,
                   best * 1e3, n / best, wb / best / 1e9, wb / best / 1e9 / read_gbs,
                   wb / best / 1e9 / copy_gbs, kvb / best / 1e9);
            fflush(stdout);
        }
        free(cp.dst), free(logits), free(ids);
        as_kvcache_free(&kv);
        as_runstate_free(&rs);
    }
    as_model_free(&m);
    return 0;
}
