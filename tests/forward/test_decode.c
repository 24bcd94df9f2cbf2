/* test_decode.c - the KV-cache decode against a full prefill, and its batch
 * independence.
 *
 *  1. Decode vs prefill at every step: prefill T0 tokens, then feed the rest
 *     one decode step at a time; after each step the new token's attention row
 *     (every layer and head), its pre-softmax scores, its value norms and the
 *     logits must equal a full prefill of the sequence so far within 1e-5 (the
 *     prefill itself is checked against HF and llama.cpp in test_forward_*);
 *     logits and scores relative to their largest magnitude. Against the BLAS
 *     prefill and against the naive one (double accumulation: the accurate
 *     reference), and the naive decode against the naive prefill.
 *     The map assembled from the prefill block and the decoded rows must have
 *     every row exactly once. Models: stories260K and the HF GQA fixture (when
 *     ../shared/data is present), and seeded synthetic models whose head_dim
 *     (16, 64) exercises the vector lanes; BLAS and naive kernels.
 *  2. Batch independence: 3 sequences of different lengths that stop at
 *     different steps, decoded together (slots in any order), give bit for bit
 *     the rows and logits of each decoded alone from the same cache; against
 *     each one prefilled and decoded alone they agree within 1e-5 (only the
 *     packed prefill's rounding differs: 3e-7 on synthetic models, 4e-6 on the
 *     trained stories260K).
 *  3. The same prefill + decode on 1 and 2 OpenBLAS threads is bit-identical.
 *  4. Bad input is an error, never a crash: slots, full cache, ids, capacity. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"
#include "attnsweep/forward.h"
#include "attnsweep/model.h"
#include "attnsweep/synthetic.h"
#include "rowcap.h"
#include "testutil.h"

static const char *kname(enum as_kernel k) {
    return k == AS_KERNEL_NAIVE ? "naive" : "blas";
}

static int32_t *random_ids(int T, int V, uint64_t seed) {
    struct as_rng r;
    as_rng_seed(&r, seed);
    int32_t *ids = malloc(sizeof(int32_t) * T);
    for (int t = 0; t < T; t++)
        ids[t] = (int32_t)(as_rng_next(&r) % (uint64_t)V);
    return ids;
}

/* max |a - b| / max(1, max |b|) over n: the absolute difference for probabilities, and for
 * logits and scores the difference relative to their scale */
static double maxrel(const float *a, const float *b, size_t n) {
    double d = 0, scale = 1.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e; /* NaN counts as the worst */
    }
    return d / scale;
}

/* A prefill of ids[0..T) with capture c (seq 0) and the last logits. */
static int prefill_ref(const struct as_model *m, enum as_kernel kern, const struct as_vnorm *vn,
                       const int32_t *ids, int T, struct rowcap *c, float *logits) {
    struct as_runstate rs;
    struct as_err err = {0};
    if (as_runstate_init(&rs, &m->cfg, T, T, 1, kern, &err) != AS_OK) {
        TU_CHECK(0, "runstate: %s", err.msg);
        return -1;
    }
    const int32_t *seqs[1] = {ids};
    struct as_batch b = {1, seqs, &T};
    struct as_capture cap = rowcap_capture(c, vn);
    struct as_forward_out out = {NULL, logits};
    as_status st = as_forward_prefill(m, &rs, &b, NULL, &cap, &out, &err);
    as_runstate_free(&rs);
    TU_CHECK(st == AS_OK, "reference prefill: %s", err.msg);
    return st == AS_OK ? 0 : -1;
}

/* Test 1 on one model and kernel: prefill T0, decode up to Tf, compare after every step. */
static void decode_vs_prefill(const struct as_model *m, const char *name, enum as_kernel kern,
                              enum as_kernel kref, int T0, int Tf, uint64_t seed) {
    const struct as_config *c = &m->cfg;
    const int L = c->n_layers, H = c->n_heads, V = c->vocab_size;
    struct as_err err = {0};
    struct as_vnorm vn;
    TU_CHECK(as_vnorm_init(&vn, m, &err) == AS_OK, "vnorm: %s", err.msg);
    int32_t *ids = random_ids(Tf, V, seed);
    struct as_runstate rs;
    struct as_kvcache kv;
    TU_CHECK(as_runstate_init(&rs, c, T0 > 0 ? T0 : 1, T0 > 0 ? T0 : 1, 1, kern, &err) == AS_OK,
             "rs: %s", err.msg);
    TU_CHECK(as_kvcache_init(&kv, c, 1, Tf, &err) == AS_OK, "kv: %s", err.msg);
    struct rowcap dec, ref;
    rowcap_init(&dec, 1, L, H, Tf);
    struct as_capture cap = rowcap_capture(&dec, &vn);
    float *lg = malloc(sizeof(float) * V), *lg_ref = malloc(sizeof(float) * V);
    const int32_t *seqs[1] = {ids};
    struct as_batch b = {1, seqs, &T0};
    struct as_forward_out out = {NULL, lg};
    /* T0 == 0: no prefill, every token is decoded from position 0 */
    TU_CHECK(T0 == 0 || as_forward_prefill(m, &rs, &b, &kv, &cap, &out, &err) == AS_OK,
             "prefill: %s", err.msg);
    TU_CHECK(kv.len[0] == T0, "prefill left %d tokens in the cache (want %d)", kv.len[0], T0);
    double worst_p = 0, worst_s = 0, worst_v = 0, worst_l = 0;
    for (int t = T0; t < Tf; t++) {
        int slot = 0;
        if (as_decode_step(m, &rs, &kv, 1, &slot, &ids[t], &cap, lg, &err) != AS_OK) {
            TU_CHECK(0, "%s decode step %d: %s", name, t, err.msg);
            break;
        }
        rowcap_init(&ref, 1, L, H, t + 1);
        if (prefill_ref(m, kref, &vn, ids, t + 1, &ref, lg_ref) != 0) break;
        for (int l = 0; l < L; l++)
            for (int h = 0; h < H; h++) {
                /* row t of the decode's map vs row t of the reference's (H, t+1, t+1) */
                const float *dp = rowcap_probs(&dec, 0, l) + ((size_t)h * Tf + t) * Tf;
                const float *rp = rowcap_probs(&ref, 0, l) + ((size_t)h * (t + 1) + t) * (t + 1);
                const float *ds = rowcap_scores(&dec, 0, l) + ((size_t)h * Tf + t) * Tf;
                const float *rsc = rowcap_scores(&ref, 0, l) + ((size_t)h * (t + 1) + t) * (t + 1);
                worst_p = fmax(worst_p, maxrel(dp, rp, t + 1));
                worst_s = fmax(worst_s, maxrel(ds, rsc, t + 1));
                /* value norm of key t (and the decode's earlier keys, from its prefill) */
                const float *dv = rowcap_vnorm(&dec, 0, l) + (size_t)h * Tf;
                const float *rv = rowcap_vnorm(&ref, 0, l) + (size_t)h * (t + 1);
                worst_v = fmax(worst_v, maxrel(dv, rv, t + 1));
            }
        worst_l = fmax(worst_l, maxrel(lg, lg_ref, V));
        rowcap_free(&ref);
    }
    printf("%-18s decode %-5s vs prefill %-5s (%2d + %2d steps): max diff probs %.2g scores %.2g "
           "value norms %.2g logits %.2g\n",
           name, kname(kern), kname(kref), T0, Tf - T0, worst_p, worst_s, worst_v, worst_l);
    TU_CHECK(worst_p <= 1e-5, "%s %s: attention rows differ from the prefill by %.3g", name,
             kname(kern), worst_p);
    /* the prefill's sgemm scores are themselves up to 1e-5 from the naive (double) ones on these
     * models, so against them the decoded scores get twice that */
    const double tol_s = kref == AS_KERNEL_NAIVE ? 1e-5 : 2e-5;
    TU_CHECK(worst_s <= tol_s, "%s %s: scores differ from the prefill by %.3g", name, kname(kern),
             worst_s);
    TU_CHECK(worst_v <= 1e-5, "%s %s: value norms differ from the prefill by %.3g", name,
             kname(kern), worst_v);
    TU_CHECK(worst_l <= 1e-5, "%s %s: logits differ from the prefill by %.3g", name, kname(kern),
             worst_l);
    rowcap_check_complete(&dec, 0, Tf, name);
    /* the assembled (L, H, Tf, Tf) map against one prefill of the whole final sequence */
    rowcap_init(&ref, 1, L, H, Tf);
    if (prefill_ref(m, kref, &vn, ids, Tf, &ref, lg_ref) == 0) {
        double d = maxrel(dec.probs, ref.probs, (size_t)L * H * Tf * Tf);
        TU_CHECK(d <= 1e-5, "%s %s: assembled map differs from the final prefill by %.3g", name,
                 kname(kern), d);
        size_t upper = 0;
        for (size_t lh = 0; lh < (size_t)L * H; lh++)
            for (int i = 0; i < Tf; i++)
                for (int j = i + 1; j < Tf; j++)
                    upper += dec.probs[(lh * Tf + i) * Tf + j] != 0.0f;
        TU_CHECK(upper == 0, "%s: %zu non-zero probabilities above the diagonal", name, upper);
    }
    rowcap_free(&ref);
    rowcap_free(&dec);
    free(lg), free(lg_ref), free(ids);
    as_kvcache_free(&kv);
    as_runstate_free(&rs);
    as_vnorm_free(&vn);
}

/* Test 2: three sequences, decoded together and alone from the same cache. */
enum { NS = 3 };
static void batch_independence(const struct as_model *m, const char *name) {
    const struct as_config *c = &m->cfg;
    const int L = c->n_layers, H = c->n_heads, V = c->vocab_size;
    const int lens[NS] = {3, 9, 17}, steps[NS] = {12, 5, 9};
    int Tf[NS], Tmax = 0, total = 0;
    int32_t *ids[NS];
    for (int s = 0; s < NS; s++) {
        Tf[s] = lens[s] + steps[s];
        Tmax = Tf[s] > Tmax ? Tf[s] : Tmax;
        total += lens[s];
        ids[s] = random_ids(Tf[s], V, 100 + s);
    }
    struct as_err err = {0};
    struct as_vnorm vn;
    as_vnorm_init(&vn, m, &err);
    struct as_runstate rs;
    struct as_kvcache kv, kv1;
    TU_CHECK(as_runstate_init(&rs, c, total, 17, NS, AS_KERNEL_BLAS, &err) == AS_OK, "rs: %s",
             err.msg);
    TU_CHECK(as_kvcache_init(&kv, c, NS, Tmax, &err) == AS_OK, "kv: %s", err.msg);
    TU_CHECK(as_kvcache_init(&kv1, c, NS, Tmax, &err) == AS_OK, "kv: %s", err.msg);
    struct rowcap together, alone;
    rowcap_init(&together, NS, L, H, Tmax);
    rowcap_init(&alone, NS, L, H, Tmax);
    struct as_capture cap_t = rowcap_capture(&together, &vn), cap_a = rowcap_capture(&alone, &vn);
    const int32_t *seqs[NS] = {ids[0], ids[1], ids[2]};
    struct as_batch b = {NS, seqs, lens};
    float *lg_t = malloc(sizeof(float) * NS * V * 20), *lg_a = malloc(sizeof(float) * NS * V * 20);
    float *step_lg = malloc(sizeof(float) * NS * V);
    struct as_forward_out out = {NULL, step_lg};
    TU_CHECK(as_forward_prefill(m, &rs, &b, &kv, &cap_t, &out, &err) == AS_OK, "prefill: %s",
             err.msg);
    memcpy(kv1.mem, kv.mem, kv.mem_bytes); /* the same prefilled cache, twice */
    memcpy(alone.probs, together.probs, sizeof(float) * NS * L * H * Tmax * Tmax);
    memcpy(alone.scores, together.scores, sizeof(float) * NS * L * H * Tmax * Tmax);
    memcpy(alone.vnorm, together.vnorm, sizeof(float) * NS * L * H * Tmax);
    memcpy(alone.seen, together.seen, sizeof(int) * NS * L * Tmax);
    /* together: every step feeds the sequences that still have tokens, slots in reverse order */
    for (int k = 0;; k++) {
        int slots[NS], n = 0;
        int32_t feed[NS];
        for (int s = NS - 1; s >= 0; s--)
            if (k < steps[s]) slots[n] = s, feed[n++] = ids[s][lens[s] + k];
        if (n == 0) break;
        if (as_decode_step(m, &rs, &kv, n, slots, feed, &cap_t, step_lg, &err) != AS_OK) {
            TU_CHECK(0, "decode together: %s", err.msg);
            break;
        }
        for (int i = 0; i < n; i++)
            memcpy(lg_t + ((size_t)slots[i] * 20 + k) * V, step_lg + (size_t)i * V,
                   sizeof(float) * V);
    }
    /* alone: each sequence by itself, all its steps */
    for (int s = 0; s < NS; s++)
        for (int k = 0; k < steps[s]; k++) {
            if (as_decode_step(m, &rs, &kv1, 1, &s, &ids[s][lens[s] + k], &cap_a,
                               lg_a + ((size_t)s * 20 + k) * V, &err) != AS_OK) {
                TU_CHECK(0, "decode alone: %s", err.msg);
                break;
            }
        }
    int same =
        memcmp(together.probs, alone.probs, sizeof(float) * NS * L * H * Tmax * Tmax) == 0 &&
        memcmp(together.scores, alone.scores, sizeof(float) * NS * L * H * Tmax * Tmax) == 0 &&
        memcmp(together.vnorm, alone.vnorm, sizeof(float) * NS * L * H * Tmax) == 0;
    for (int s = 0; s < NS; s++) {
        same = same && memcmp(lg_t + (size_t)s * 20 * V, lg_a + (size_t)s * 20 * V,
                              sizeof(float) * V * steps[s]) == 0;
        rowcap_check_complete(&together, s, Tf[s], "together");
    }
    printf("%-22s 3 sequences (lengths 3/9/17, 12/5/9 steps) decoded together vs alone: %s\n", name,
           same ? "bit-identical" : "DIFFERENT");
    TU_CHECK(same, "%s: a sequence's decode depends on the other sequences of its batch", name);

    /* against each sequence prefilled and decoded alone (only the packed prefill differs) */
    double worst = 0, worst_l = 0;
    for (int s = 0; s < NS; s++) {
        struct rowcap one;
        rowcap_init(&one, 1, L, H, Tmax);
        struct as_capture cap1 = rowcap_capture(&one, &vn);
        const int32_t *seq1[1] = {ids[s]};
        struct as_batch b1 = {1, seq1, &lens[s]};
        struct as_forward_out o1 = {NULL, step_lg};
        TU_CHECK(as_forward_prefill(m, &rs, &b1, &kv1, &cap1, &o1, &err) == AS_OK, "prefill: %s",
                 err.msg);
        int slot = 0;
        for (int k = 0; k < steps[s]; k++) {
            as_decode_step(m, &rs, &kv1, 1, &slot, &ids[s][lens[s] + k], &cap1, step_lg, &err);
            worst_l = fmax(worst_l, maxrel(step_lg, lg_t + ((size_t)s * 20 + k) * V, V));
        }
        for (int l = 0; l < L; l++)
            worst = fmax(worst, maxrel(rowcap_probs(&one, 0, l), rowcap_probs(&together, s, l),
                                       (size_t)H * Tmax * Tmax));
        rowcap_free(&one);
    }
    printf("%-22s   vs each prefilled and decoded alone: max diff probs %.2g logits %.2g\n", name,
           worst, worst_l);
    TU_CHECK(worst <= 1e-5 && worst_l <= 1e-5,
             "%s: packed vs alone differ by %.3g (probs) %.3g (logits)", name, worst, worst_l);
    rowcap_free(&together), rowcap_free(&alone);
    free(lg_t), free(lg_a), free(step_lg);
    for (int s = 0; s < NS; s++)
        free(ids[s]);
    as_kvcache_free(&kv), as_kvcache_free(&kv1);
    as_runstate_free(&rs);
    as_vnorm_free(&vn);
}

/* Test 3: prefill + 6 decode steps with n OpenBLAS threads; returns the final logits and map. */
static void run_threads(const struct as_model *m, int threads, float *logits, struct rowcap *cap) {
    openblas_set_num_threads(threads);
    const int T0 = 24, steps = 6;
    int32_t *ids = random_ids(T0 + steps, m->cfg.vocab_size, 7);
    struct as_err err = {0};
    struct as_runstate rs;
    struct as_kvcache kv;
    as_runstate_init(&rs, &m->cfg, T0, T0, 1, AS_KERNEL_BLAS, &err);
    as_kvcache_init(&kv, &m->cfg, 1, T0 + steps, &err);
    struct as_capture c = rowcap_capture(cap, NULL);
    c.value_norms.fn = NULL;
    const int32_t *seqs[1] = {ids};
    struct as_batch b = {1, seqs, &T0};
    struct as_forward_out out = {NULL, logits};
    TU_CHECK(as_forward_prefill(m, &rs, &b, &kv, &c, &out, &err) == AS_OK, "prefill: %s", err.msg);
    for (int k = 0, slot = 0; k < steps; k++)
        TU_CHECK(as_decode_step(m, &rs, &kv, 1, &slot, &ids[T0 + k], &c, logits, &err) == AS_OK,
                 "decode: %s", err.msg);
    as_kvcache_free(&kv);
    as_runstate_free(&rs);
    free(ids);
    openblas_set_num_threads(1);
}

static void thread_independence(const struct as_model *m) {
    const struct as_config *c = &m->cfg;
    struct rowcap a, b;
    rowcap_init(&a, 1, c->n_layers, c->n_heads, 30);
    rowcap_init(&b, 1, c->n_layers, c->n_heads, 30);
    float *la = malloc(sizeof(float) * c->vocab_size), *lb = malloc(sizeof(float) * c->vocab_size);
    run_threads(m, 1, la, &a);
    run_threads(m, 2, lb, &b);
    int same = memcmp(la, lb, sizeof(float) * c->vocab_size) == 0 &&
               memcmp(a.probs, b.probs, sizeof(float) * c->n_layers * c->n_heads * 30 * 30) == 0;
    printf("prefill + decode on 1 and 2 OpenBLAS threads: %s\n",
           same ? "bit-identical" : "DIFFERENT");
    TU_CHECK(same, "results depend on the OpenBLAS thread count");
    rowcap_free(&a), rowcap_free(&b);
    free(la), free(lb);
}

/* Test 4: every bad input is an error with a message, and changes nothing. */
static void errors(const struct as_model *m) {
    const struct as_config *c = &m->cfg;
    struct as_err err = {0};
    struct as_runstate rs;
    struct as_kvcache kv;
    as_runstate_init(&rs, c, 16, 8, 2, AS_KERNEL_BLAS, &err);
    as_kvcache_init(&kv, c, 2, 6, &err);
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const int32_t *seqs[2] = {ids, ids};
    int lens[2] = {4, 7};
    struct as_batch b = {2, seqs, lens};
    /* prefill longer than the cache */
    TU_CHECK(as_forward_prefill(m, &rs, &b, &kv, NULL, NULL, &err) == AS_ERR_INVALID,
             "a prefill of 7 tokens into a 6-token cache must fail");
    printf("error: %s\n", err.msg);
    lens[1] = 5;
    TU_CHECK(as_forward_prefill(m, &rs, &b, &kv, NULL, NULL, &err) == AS_OK, "prefill: %s",
             err.msg);
    int slots[2] = {0, 1};
    int32_t feed[2] = {1, 2};
    struct {
        int n;
        int slots[2];
        int32_t ids[2];
        const char *what;
    } bad[] = {{0, {0, 1}, {1, 2}, "no active sequence"},
               {3, {0, 1}, {1, 2}, "more sequences than slots"},
               {1, {2, 0}, {1, 2}, "slot outside the cache"},
               {1, {-1, 0}, {1, 2}, "negative slot"},
               {2, {1, 1}, {1, 2}, "the same slot twice"},
               {1, {0, 1}, {-1, 2}, "negative token id"},
               {1, {0, 1}, {(int32_t)c->vocab_size, 2}, "token id outside the vocabulary"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        as_err_clear(&err);
        as_status st =
            as_decode_step(m, &rs, &kv, bad[i].n, bad[i].slots, bad[i].ids, NULL, NULL, &err);
        TU_CHECK(st == AS_ERR_INVALID && err.msg[0], "%s: status %d", bad[i].what, st);
        printf("error (%s): %s\n", bad[i].what, err.msg);
    }
    TU_CHECK(kv.len[0] == 4 && kv.len[1] == 5, "a failed step changed the cache lengths");
    /* slot 1 holds 5 of 6: one more step fills it, the next is refused */
    TU_CHECK(as_decode_step(m, &rs, &kv, 2, slots, feed, NULL, NULL, &err) == AS_OK, "step: %s",
             err.msg);
    TU_CHECK(as_decode_step(m, &rs, &kv, 2, slots, feed, NULL, NULL, &err) == AS_ERR_INVALID,
             "a step into a full slot must fail");
    printf("error (full slot): %s\n", err.msg);
    /* value norms without the Gram matrices */
    struct rowcap rc;
    rowcap_init(&rc, 2, c->n_layers, c->n_heads, 6);
    struct as_capture cap = rowcap_capture(&rc, NULL);
    TU_CHECK(as_decode_step(m, &rs, &kv, 1, slots, feed, &cap, NULL, &err) == AS_ERR_INVALID,
             "value norms without a struct as_vnorm must fail");
    printf("error (no vnorm): %s\n", err.msg);
    TU_CHECK(as_forward_prefill(m, &rs, &b, &kv, &cap, NULL, &err) == AS_ERR_INVALID,
             "value norms without a struct as_vnorm must fail in the prefill too");
    rowcap_free(&rc);
    /* a cache of another model */
    struct as_config other = *c;
    other.n_layers += 1;
    struct as_kvcache kv2;
    as_kvcache_init(&kv2, &other, 2, 6, &err);
    TU_CHECK(as_decode_step(m, &rs, &kv2, 1, slots, feed, NULL, NULL, &err) == AS_ERR_INVALID,
             "a cache of another model must be refused");
    as_kvcache_free(&kv2);
    TU_CHECK(as_kvcache_init(&kv2, c, 0, 6, &err) == AS_ERR_INVALID, "0 slots must fail");
    TU_CHECK(as_kvcache_init(&kv2, c, 1 << 30, 1 << 30, &err) != AS_OK,
             "an impossible cache must fail");
    printf("error (huge cache): %s\n", err.msg);
    as_kvcache_free(&kv);
    as_runstate_free(&rs);
}

static void synthetic(struct as_model *m, int L, int H, int Hkv, int hd, int D, int F, int V,
                      enum as_rope_style rope, uint64_t seed) {
    struct as_config c;
    as_config_tinyllama(&c);
    c.n_layers = L, c.n_heads = H, c.n_kv_heads = Hkv, c.head_dim = hd, c.dim = D;
    c.hidden_dim = F, c.vocab_size = V, c.max_position = 256, c.rope = rope;
    struct as_err err = {0};
    TU_CHECK(as_model_init_synthetic(m, &c, seed, &err) == AS_OK, "synthetic: %s", err.msg);
}

int main(void) {
    struct as_model m;
    struct as_err err = {0};
    /* head_dim 16 and 64: whole 16-lane chunks in as_linear_rows; D 72: a tail of 8 */
    synthetic(&m, 2, 8, 2, 16, 72, 100, 97, AS_ROPE_INTERLEAVED, 11);
    decode_vs_prefill(&m, "synthetic hd16", AS_KERNEL_BLAS, AS_KERNEL_BLAS, 5, 30, 1);
    decode_vs_prefill(&m, "synthetic hd16", AS_KERNEL_BLAS, AS_KERNEL_NAIVE, 5, 30, 1);
    decode_vs_prefill(&m, "synthetic hd16", AS_KERNEL_NAIVE, AS_KERNEL_NAIVE, 1, 12, 2);
    decode_vs_prefill(&m, "synthetic hd16", AS_KERNEL_BLAS, AS_KERNEL_BLAS, 0, 6, 3);
    batch_independence(&m, "synthetic hd16");
    thread_independence(&m);
    errors(&m);
    as_model_free(&m);
    synthetic(&m, 2, 4, 1, 64, 256, 300, 200, AS_ROPE_HALF, 12);
    decode_vs_prefill(&m, "synthetic hd64 MQA", AS_KERNEL_BLAS, AS_KERNEL_BLAS, 7, 40, 4);
    decode_vs_prefill(&m, "synthetic hd64 MQA", AS_KERNEL_BLAS, AS_KERNEL_NAIVE, 7, 40, 4);
    batch_independence(&m, "synthetic hd64 MQA");
    as_model_free(&m);

    if (as_model_init(&m, tu_data_path("models/stories260K/stories260K.bin"), &err) == AS_OK) {
        decode_vs_prefill(&m, "stories260K", AS_KERNEL_BLAS, AS_KERNEL_BLAS, 5, 64, 5);
        decode_vs_prefill(&m, "stories260K", AS_KERNEL_BLAS, AS_KERNEL_NAIVE, 5, 64, 5);
        decode_vs_prefill(&m, "stories260K", AS_KERNEL_NAIVE, AS_KERNEL_NAIVE, 3, 20, 6);
        batch_independence(&m, "stories260K");
        as_model_free(&m);
    } else {
        printf("SKIPPED stories260K (reference data absent: %s)\n", err.msg);
    }
    if (as_model_init(&m, tu_data_path("reference/hf-tiny-gqa/model-fp32"), &err) == AS_OK) {
        decode_vs_prefill(&m, "hf-tiny-gqa fp32", AS_KERNEL_BLAS, AS_KERNEL_BLAS, 4, 40, 8);
        decode_vs_prefill(&m, "hf-tiny-gqa fp32", AS_KERNEL_BLAS, AS_KERNEL_NAIVE, 4, 40, 8);
        decode_vs_prefill(&m, "hf-tiny-gqa fp32", AS_KERNEL_NAIVE, AS_KERNEL_NAIVE, 4, 20, 9);
        as_model_free(&m);
    } else {
        printf("SKIPPED hf-tiny-gqa (reference data absent: %s)\n", err.msg);
    }
    return tu_finish("test_decode");
}
