/* test_packing.c - what the sweep pipeline relies on when it packs a batch's
 * prompts into one forward call: for ragged batches (lengths 1, 2, 17, 200
 * together, and a batch of one long prompt) the packed attention and the
 * metrics computed from it agree with each prompt run alone within 1e-6. A
 * batch of one prompt is bit-identical to the prompt alone. And the fused
 * projections (q/k/v in one GEMM, gate/up in another, used when the weights
 * are consecutive in memory) agree with the separate GEMMs within 1e-6. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/forward.h"
#include "attnsweep/metrics.h"
#include "attnsweep/model.h"
#include "attnsweep/synthetic.h"
#include "testutil.h"

enum { L = 3, H = 8, MAXS = 4 };

/* Feeds each (sequence, layer) block to that sequence's metrics and keeps a copy. */
struct sink {
    struct as_metrics *m; /* (n_seq) */
    float **att;          /* (n_seq) -> (L, H, T, T) */
};

static as_status sink_fn(void *ctx, int seq, int layer, const float *probs, int T,
                         struct as_err *err) {
    struct sink *k = ctx;
    memcpy(k->att[seq] + (size_t)layer * H * T * T, probs, (size_t)H * T * T * sizeof(float));
    return as_metrics_add_layer(&k->m[seq], layer, probs, err);
}

static void run(const struct as_model *m, int n, const int32_t *const *ids, const int *lens,
                struct as_metrics *met, float **att) {
    int total = 0, longest = 0;
    for (int s = 0; s < n; s++)
        total += lens[s], longest = lens[s] > longest ? lens[s] : longest;
    struct as_runstate rs;
    struct as_err err = {0};
    TU_CHECK(as_runstate_init(&rs, &m->cfg, total, longest, n, AS_KERNEL_BLAS, &err) == AS_OK,
             "runstate: %s", err.msg);
    for (int s = 0; s < n; s++) {
        struct as_metrics_ctx c = {0};
        c.L = L, c.H = H, c.T = lens[s], c.token_ids = ids[s];
        TU_CHECK(as_metrics_init(&met[s], &c, AS_METRICS_FULL, &err) == AS_OK, "metrics: %s",
                 err.msg);
    }
    struct sink k = {met, att};
    struct as_attn_sink sink = {sink_fn, &k};
    struct as_batch b = {n, ids, lens};
    TU_CHECK(as_forward(m, &rs, &b, &sink, NULL, &err) == AS_OK, "forward: %s", err.msg);
    for (int s = 0; s < n; s++)
        TU_CHECK(as_metrics_finish(&met[s], &err) == AS_OK, "finish: %s", err.msg);
    as_runstate_free(&rs);
}

static double maxdiff(const double *a, const double *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) && isnan(b[i])) continue;
        double e = fabs(a[i] - b[i]);
        if (!(e <= d)) d = e;
    }
    return d;
}

/* Packed (all of lens at once) vs each alone: attention and metrics within tol. */
static void check(const struct as_model *m, int n, const int *lens, double tol, const char *name) {
    int32_t *ids[MAXS];
    float *att_p[MAXS], *att_1[MAXS];
    struct as_metrics mp[MAXS], m1[MAXS];
    struct as_rng r;
    as_rng_seed(&r, 99);
    for (int s = 0; s < n; s++) {
        ids[s] = malloc(sizeof(int32_t) * lens[s]);
        for (int t = 0; t < lens[s]; t++)
            ids[s][t] = (int32_t)(as_rng_next(&r) % (uint64_t)m->cfg.vocab_size);
        /* a repeated half gives the induction and duplicate-token scores something to find */
        for (int t = lens[s] / 2; t < lens[s]; t++)
            ids[s][t] = ids[s][t - lens[s] / 2];
        size_t nn = (size_t)L * H * lens[s] * lens[s];
        att_p[s] = malloc(nn * sizeof(float)), att_1[s] = malloc(nn * sizeof(float));
    }
    memset(mp, 0, sizeof mp), memset(m1, 0, sizeof m1);
    run(m, n, (const int32_t *const *)ids, lens, mp, att_p);
    for (int s = 0; s < n; s++)
        run(m, 1, (const int32_t *const *)&ids[s], &lens[s], &m1[s], &att_1[s]);
    for (int s = 0; s < n; s++) {
        char what[96];
        size_t nn = (size_t)L * H * lens[s] * lens[s];
        snprintf(what, sizeof what, "%s: packed vs alone, T=%d attention", name, lens[s]);
        tu_compare_f32(what, att_p[s], att_1[s], nn, tol);
        if (tol == 0)
            TU_CHECK(memcmp(att_p[s], att_1[s], nn * sizeof(float)) == 0, "%s: not bit-identical",
                     what);
        const size_t lh = (size_t)L * H;
        const double *a[] = {mp[s].layer_entropy, mp[s].head_entropy, mp[s].sink_last,
                             mp[s].sink_mean,     mp[s].prev_token,   mp[s].norm_entropy,
                             mp[s].dup_token,     mp[s].induction,    mp[s].last_row_mean};
        const double *b[] = {m1[s].layer_entropy, m1[s].head_entropy, m1[s].sink_last,
                             m1[s].sink_mean,     m1[s].prev_token,   m1[s].norm_entropy,
                             m1[s].dup_token,     m1[s].induction,    m1[s].last_row_mean};
        const size_t sz[] = {L, lh, lh, lh, lh, lh, lh, lh, (size_t)L * lens[s]};
        for (int k = 0; k < 9; k++) {
            double d = maxdiff(a[k], b[k], sz[k]);
            TU_CHECK(d <= (tol == 0 ? 0 : 1e-6), "%s: T=%d metric %d differs by %g", name, lens[s],
                     k, d);
        }
        for (size_t i = 0; i < lh; i++)
            TU_CHECK(mp[s].head_focus[i] == m1[s].head_focus[i] || tol > 0,
                     "%s: head_focus differs", name);
    }
    for (int s = 0; s < n; s++)
        free(ids[s]), free(att_p[s]), free(att_1[s]), as_metrics_free(&mp[s]),
            as_metrics_free(&m1[s]);
}

int main(void) {
    struct as_config c;
    as_config_tinyllama(&c);
    c.n_layers = L, c.dim = 64, c.n_heads = H, c.n_kv_heads = 2, c.head_dim = 8;
    c.hidden_dim = 96, c.vocab_size = 300, c.max_position = 512;
    struct as_model m;
    struct as_err err = {0};
    if (as_model_init_synthetic(&m, &c, 42, &err) != AS_OK) {
        TU_CHECK(0, "synthetic: %s", err.msg);
        return tu_finish("test_packing");
    }
    static const int ragged[] = {1, 2, 17, 200};
    check(&m, 4, ragged, 1e-6, "ragged batch");
    static const int longone[] = {480};
    check(&m, 1, longone, 0, "one long prompt");
    /* fused (consecutive weights) vs separate GEMMs: the same model with k, v and up copied
     * elsewhere, so that the forward pass cannot fuse them */
    {
        struct as_model u = m;
        struct as_layer_weights *lw = malloc(sizeof *lw * (size_t)L);
        float **copies = calloc(3 * (size_t)L, sizeof *copies);
        const size_t D = (size_t)c.dim, kvd = (size_t)c.n_kv_heads * c.head_dim,
                     F = (size_t)c.hidden_dim;
        for (int l = 0; l < L; l++) {
            lw[l] = m.w.layers[l];
            const size_t nk = kvd * D, nf = F * D;
            copies[3 * l] = malloc(nk * sizeof(float));
            copies[3 * l + 1] = malloc(nk * sizeof(float));
            copies[3 * l + 2] = malloc(nf * sizeof(float));
            memcpy(copies[3 * l], lw[l].wk, nk * sizeof(float));
            memcpy(copies[3 * l + 1], lw[l].wv, nk * sizeof(float));
            memcpy(copies[3 * l + 2], lw[l].w_up, nf * sizeof(float));
            lw[l].wk = copies[3 * l], lw[l].wv = copies[3 * l + 1], lw[l].w_up = copies[3 * l + 2];
        }
        u.w.layers = lw;
        static const int lens[] = {37};
        int32_t ids[37];
        for (int t = 0; t < 37; t++)
            ids[t] = (int32_t)((t * 7 + 3) % c.vocab_size);
        const int32_t *ip[1] = {ids};
        float *af = malloc(sizeof(float) * L * H * 37 * 37),
              *au = malloc(sizeof(float) * L * H * 37 * 37);
        struct as_metrics mf[1], mu[1];
        memset(mf, 0, sizeof mf), memset(mu, 0, sizeof mu);
        run(&m, 1, ip, lens, mf, &af);
        run(&u, 1, ip, lens, mu, &au);
        tu_compare_f32("fused vs separate projections, attention", af, au, (size_t)L * H * 37 * 37,
                       1e-6);
        as_metrics_free(&mf[0]), as_metrics_free(&mu[0]);
        free(af), free(au);
        for (int k = 0; k < 3 * L; k++)
            free(copies[k]);
        free(copies), free(lw);
    }
    as_model_free(&m);
    return tu_finish("test_packing");
}
