/* test_decode_topk.c - the next-token choice: as_argmax and as_topk.
 *
 *  - Hand-computed cases: known probabilities (logits 0 and ln 3 give 1/4 and
 *    3/4), ties broken by the lowest id, -Inf logits, k = n.
 *  - Bad input (k out of range, NaN, +Inf, every logit -Inf) is an error.
 *  - HF transformers' last-position logits (reference/hf-tiny-gqa, vocabulary
 *    32000): the test's own reference top-10 (qsort of (logit, id), softmax in
 *    long double) equals as_topk of HF's logits (ids exactly, probabilities
 *    within 1e-6); and as_topk of attnsweep's own prefill logits gives HF's
 *    top-10 ids and probabilities within 1e-4 (and 1e-3 relative), and HF's
 *    greedy next token. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"
#include "attnsweep/forward.h"
#include "attnsweep/model.h"
#include "testutil.h"

static void hand_computed(void) {
    struct as_err err = {0};
    int32_t ids[8];
    float probs[8];
    /* softmax(0, ln 3) = (1/4, 3/4) */
    const float two[2] = {0.0f, (float)log(3.0)};
    TU_CHECK(as_topk(two, 2, 2, ids, probs, &err) == AS_OK, "topk: %s", err.msg);
    TU_CHECK(ids[0] == 1 && ids[1] == 0 && fabs(probs[0] - 0.75) < 1e-7 &&
                 fabs(probs[1] - 0.25) < 1e-7,
             "softmax(0, ln 3): ids %d %d probs %.8f %.8f (want 1 0, 0.75 0.25)", ids[0], ids[1],
             probs[0], probs[1]);
    /* ties go to the lowest id; -Inf has probability 0 */
    const float lg[6] = {1.0f, 3.0f, 3.0f, 2.0f, -INFINITY, 0.5f};
    TU_CHECK(as_topk(lg, 6, 6, ids, probs, &err) == AS_OK, "topk: %s", err.msg);
    const int32_t want[6] = {1, 2, 3, 0, 5, 4};
    const double Z = exp(1.0) + 2 * exp(3.0) + exp(2.0) + exp(0.5);
    const double wp[6] = {exp(3.0) / Z, exp(3.0) / Z, exp(2.0) / Z, exp(1.0) / Z, exp(0.5) / Z, 0};
    for (int r = 0; r < 6; r++)
        TU_CHECK(ids[r] == want[r] && fabs(probs[r] - wp[r]) < 1e-7,
                 "rank %d: id %d p %.8f (want %d, %.8f)", r, ids[r], probs[r], want[r], wp[r]);
    TU_CHECK(as_argmax(lg, 6) == 1, "argmax with a tie: %d (want 1, the lowest)", as_argmax(lg, 6));
    /* all equal: the first k ids, 1/n each */
    const float flat[5] = {2.5f, 2.5f, 2.5f, 2.5f, 2.5f};
    TU_CHECK(as_topk(flat, 5, 3, ids, probs, &err) == AS_OK, "topk: %s", err.msg);
    TU_CHECK(ids[0] == 0 && ids[1] == 1 && ids[2] == 2 && fabs(probs[2] - 0.2) < 1e-7,
             "flat: ids %d %d %d p %.8f", ids[0], ids[1], ids[2], probs[2]);
    TU_CHECK(as_argmax(flat, 5) == 0, "argmax of equal logits: %d", as_argmax(flat, 5));
    /* the k-th place decided late: a larger logit at the end displaces the smallest kept */
    const float late[5] = {0.0f, 1.0f, 2.0f, -1.0f, 5.0f};
    TU_CHECK(as_topk(late, 5, 2, ids, probs, &err) == AS_OK && ids[0] == 4 && ids[1] == 2,
             "late maximum: ids %d %d (want 4 2)", ids[0], ids[1]);
    /* errors */
    const float nan_lg[3] = {0.0f, NAN, 1.0f}, inf_lg[3] = {0.0f, INFINITY, 1.0f};
    const float ninf[2] = {-INFINITY, -INFINITY};
    TU_CHECK(as_topk(lg, 6, 0, ids, probs, &err) == AS_ERR_INVALID, "k = 0 must fail");
    printf("error: %s\n", err.msg);
    TU_CHECK(as_topk(lg, 6, 7, ids, probs, &err) == AS_ERR_INVALID, "k > n must fail");
    TU_CHECK(as_topk(nan_lg, 3, 2, ids, probs, &err) == AS_ERR_INVALID && strstr(err.msg, "1"),
             "a NaN logit must fail, naming its id");
    printf("error: %s\n", err.msg);
    TU_CHECK(as_topk(inf_lg, 3, 2, ids, probs, &err) == AS_ERR_INVALID, "+Inf must fail");
    TU_CHECK(as_topk(ninf, 2, 1, ids, probs, &err) == AS_ERR_INVALID, "all -Inf must fail");
    printf("error: %s\n", err.msg);
    TU_CHECK(as_argmax(nan_lg, 3) == -1 && as_argmax(lg, 0) == -1, "argmax of NaN / nothing");
}

struct pair {
    float v;
    int32_t id;
};
static int by_rank(const void *a, const void *b) {
    const struct pair *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The test's own top-k: full sort, softmax in long double. */
static void ref_topk(const float *lg, int n, int k, int32_t *ids, double *probs) {
    struct pair *p = malloc(sizeof *p * n);
    for (int i = 0; i < n; i++)
        p[i].v = lg[i], p[i].id = i;
    qsort(p, n, sizeof *p, by_rank);
    long double z = 0, mx = p[0].v;
    for (int i = 0; i < n; i++)
        z += expl((long double)lg[i] - mx);
    for (int r = 0; r < k; r++)
        ids[r] = p[r].id, probs[r] = (double)(expl((long double)p[r].v - mx) / z);
    free(p);
}

static const char *cases[] = {"T007",          "T033",     "seed1_plain",  "seed2_cot",
                              "seed3_persona", "seed4_qa", "seed5_fewshot"};

static void hf(const char *model_dir, const char *outdir) {
    char rel[256];
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/%s", model_dir);
    struct as_model m;
    struct as_err err = {0};
    if (as_model_init(&m, tu_data_path(rel), &err) != AS_OK) {
        TU_CHECK(0, "load %s: %s", rel, err.msg);
        return;
    }
    const int V = m.cfg.vocab_size, K = AS_TOPK_DEFAULT;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        struct tu_npy ids = {0}, lgr = {0};
        snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/ids.npy", outdir, cases[ci]);
        int ok = tu_npy_load(tu_data_path(rel), &ids) == 0;
        snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/logits_last.npy", outdir,
                 cases[ci]);
        ok = ok && tu_npy_load(tu_data_path(rel), &lgr) == 0 && lgr.numel == (size_t)V;
        TU_CHECK(ok, "cannot load the HF reference of %s", cases[ci]);
        if (!ok) continue;
        int32_t want[AS_TOPK_DEFAULT], got[AS_TOPK_DEFAULT], mine[AS_TOPK_DEFAULT];
        double wp[AS_TOPK_DEFAULT];
        float gp[AS_TOPK_DEFAULT], mp[AS_TOPK_DEFAULT];
        ref_topk(lgr.f, V, K, want, wp);
        /* as_topk of HF's own logits */
        TU_CHECK(as_topk(lgr.f, V, K, got, gp, &err) == AS_OK, "topk: %s", err.msg);
        /* as_topk of attnsweep's prefill logits */
        const int T = (int)ids.numel;
        int32_t *tok = malloc(sizeof(int32_t) * T);
        for (int t = 0; t < T; t++)
            tok[t] = (int32_t)ids.i[t];
        float *lg = malloc(sizeof(float) * V);
        struct as_runstate rs;
        as_runstate_init(&rs, &m.cfg, T, T, 1, AS_KERNEL_BLAS, &err);
        const int32_t *seqs[1] = {tok};
        struct as_batch b = {1, seqs, &T};
        struct as_forward_out out = {NULL, lg};
        TU_CHECK(as_forward(&m, &rs, &b, NULL, &out, &err) == AS_OK, "forward: %s", err.msg);
        TU_CHECK(as_topk(lg, V, K, mine, mp, &err) == AS_OK, "topk: %s", err.msg);
        double d_hf = 0, d_mine = 0, rel_mine = 0;
        int ids_hf = 1, ids_mine = 1;
        for (int r = 0; r < K; r++) {
            ids_hf &= got[r] == want[r];
            ids_mine &= mine[r] == want[r];
            d_hf = fmax(d_hf, fabs(gp[r] - wp[r]));
            d_mine = fmax(d_mine, fabs(mp[r] - wp[r]));
            rel_mine = fmax(rel_mine, fabs(mp[r] - wp[r]) / wp[r]);
        }
        printf("%s/%-14s top-%d of HF logits: ids %s, probs %.2g; of attnsweep's logits: ids %s, "
               "probs %.2g (top id %d, p %.4f)\n",
               outdir, cases[ci], K, ids_hf ? "equal" : "DIFFER", d_hf,
               ids_mine ? "equal" : "DIFFER", d_mine, want[0], wp[0]);
        TU_CHECK(ids_hf && d_hf <= 1e-6, "%s: as_topk of HF's logits", cases[ci]);
        /* the fixture's probabilities are small (random weights, 32000 tokens): 1e-4 absolute,
         * and 1e-3 relative so that the check still means something */
        TU_CHECK(ids_mine && d_mine <= 1e-4 && rel_mine <= 1e-3,
                 "%s: top-k of attnsweep's logits vs HF's (%.3g absolute, %.3g relative)",
                 cases[ci], d_mine, rel_mine);
        TU_CHECK(as_argmax(lg, V) == want[0], "%s: greedy next token %d (HF %d)", cases[ci],
                 as_argmax(lg, V), want[0]);
        as_runstate_free(&rs);
        free(tok), free(lg);
        tu_npy_free(&ids), tu_npy_free(&lgr);
    }
    as_model_free(&m);
}

int main(void) {
    hand_computed();
    FILE *f = fopen(tu_data_path("reference/hf-tiny-gqa/model-fp32/config.json"), "r");
    if (f) {
        fclose(f);
        hf("model-fp32", "fp32");
        hf("model-bf16", "bf16");
    } else {
        printf("SKIPPED the HF comparison (reference data absent)\n");
    }
    return tu_finish("test_decode_topk");
}
