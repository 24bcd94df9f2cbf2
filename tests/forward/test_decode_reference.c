/* test_decode_reference.c - KV-cache decoding against independent references.
 *
 *  - stories260K, golden_greedy_and_attention.json (llama2.c run.c and a
 *    float64 numpy re-implementation): as_generate_greedy reproduces the golden
 *    greedy ids exactly (200 steps from BOS, 60 and 57 after a prompt), each
 *    run alone and the three runs together in one batch; teacher-forced decode
 *    of "Once upon a time" (BOS prefilled, 4 tokens decoded) matches the golden
 *    attention (1e-4) and per-position logits (1e-3) row by row.
 *  - Stop semantics, with the golden ids as truth: a stop id ends the sequence
 *    at its first occurrence and is kept; stop_fn ends it after the token it
 *    is shown; max_new_tokens = 0 returns the prefill's logits.
 *  - HF GQA fixture (HF transformers eager fp32, rotate-half RoPE, untied
 *    lm_head): a 3-token prefill and teacher-forced decode of the rest of each
 *    case gives HF's attention rows (1e-4) and last-position logits (1e-3),
 *    with the BLAS and the naive kernels. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"
#include "attnsweep/forward.h"
#include "attnsweep/model.h"
#include "rowcap.h"
#include "testutil.h"

/* Greedy generation of a batch; gen (n, max_new), n_gen (n), reason (n), logits (n, V). */
static as_status generate(const struct as_model *m, int n, const int32_t *const *prompts,
                          const int *lens, const struct as_generate_opts *o, int32_t *gen,
                          int *n_gen, int *reason, float *logits, struct rowcap *rc,
                          struct as_err *err) {
    int total = 0, longest = 0;
    for (int s = 0; s < n; s++)
        total += lens[s], longest = lens[s] > longest ? lens[s] : longest;
    struct as_runstate rs;
    struct as_kvcache kv;
    as_status st = as_runstate_init(&rs, &m->cfg, total, longest, n, AS_KERNEL_BLAS, err);
    if (st != AS_OK) return st;
    st = as_kvcache_init(&kv, &m->cfg, n, longest + (o->max_new_tokens ? o->max_new_tokens : 1),
                         err);
    if (st == AS_OK) {
        struct as_batch b = {n, prompts, lens};
        struct as_capture cap = {0};
        if (rc) cap = rowcap_capture(rc, NULL), cap.value_norms.fn = NULL;
        struct as_generate_out out = {gen, n_gen, logits, reason};
        st = as_generate_greedy(m, &rs, &kv, &b, o, rc ? &cap : NULL, &out, err);
        as_kvcache_free(&kv);
    }
    as_runstate_free(&rs);
    return st;
}

static int first_diff(const int32_t *a, const int32_t *b, int n) {
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) return i;
    return -1;
}

enum { NRUN = 3 };
static const char *run_names[NRUN] = {"bos_only_steps200", "once_upon_a_time_steps64",
                                      "zoo_steps60"};

static void golden_greedy(const struct as_model *m, json_t *runs) {
    const int V = m->cfg.vocab_size;
    int32_t *prompt[NRUN], *want[NRUN];
    int np[NRUN], nw[NRUN], maxgen = 0;
    for (int r = 0; r < NRUN; r++) {
        json_t *run = json_object_get(runs, run_names[r]);
        np[r] = tu_json_ints(json_object_get(run, "prompt_ids"), &prompt[r]);
        nw[r] = tu_json_ints(json_object_get(run, "ids"), &want[r]);
        if (nw[r] - np[r] > maxgen) maxgen = nw[r] - np[r];
    }
    TU_CHECK(nw[0] - np[0] == 200, "the BOS-only golden run has %d steps (want 200)",
             nw[0] - np[0]);
    const int32_t stop_bos = 1; /* run.c stops when it would emit BOS */
    int32_t *gen = malloc(sizeof(int32_t) * NRUN * maxgen);
    int n_gen[NRUN], reason[NRUN];
    float *logits = malloc(sizeof(float) * NRUN * V);
    struct as_err err = {0};
    /* each run alone, max_new_tokens = the golden number of steps */
    for (int r = 0; r < NRUN; r++) {
        const int steps = nw[r] - np[r];
        struct as_generate_opts o = {steps, &stop_bos, 1, NULL, NULL};
        const int32_t *p[1] = {prompt[r]};
        struct rowcap rc;
        rowcap_init(&rc, 1, m->cfg.n_layers, m->cfg.n_heads, nw[r]);
        as_status st = generate(m, 1, p, &np[r], &o, gen, n_gen, reason, logits, &rc, &err);
        TU_CHECK(st == AS_OK, "generate %s: %s", run_names[r], err.msg);
        int d = first_diff(gen, want[r] + np[r], n_gen[0] < steps ? n_gen[0] : steps);
        printf("greedy %-26s alone:    %3d ids generated (golden %3d), first difference at %d\n",
               run_names[r], n_gen[0], steps, d);
        TU_CHECK(n_gen[0] == steps && d < 0 && reason[0] == AS_STOP_LENGTH,
                 "%s: generated %d ids, first difference at %d (got %d, want %d)", run_names[r],
                 n_gen[0], d, d >= 0 ? gen[d] : -1, d >= 0 ? want[r][np[r] + d] : -1);
        /* every row of the final sequence, prompt and generated, was captured exactly once */
        rowcap_check_complete(&rc, 0, nw[r], run_names[r]);
        rowcap_free(&rc);
    }
    /* the three runs in one batch: greedy of n steps is the prefix of greedy of more steps */
    struct as_generate_opts o = {maxgen, &stop_bos, 1, NULL, NULL};
    const int32_t *p[NRUN] = {prompt[0], prompt[1], prompt[2]};
    as_status st = generate(m, NRUN, p, np, &o, gen, n_gen, reason, logits, NULL, &err);
    TU_CHECK(st == AS_OK, "generate batch: %s", err.msg);
    for (int r = 0; r < NRUN; r++) {
        const int steps = nw[r] - np[r];
        int d = first_diff(gen + (size_t)r * maxgen, want[r] + np[r], steps);
        printf("greedy %-26s in batch: %3d ids generated, first difference at %d of the golden "
               "%d\n",
               run_names[r], n_gen[r], d, steps);
        TU_CHECK(n_gen[r] == maxgen && d < 0, "%s in a batch: first difference at %d", run_names[r],
                 d);
    }
    /* stop id: the golden id at position 10 of the BOS run ends it there and is kept */
    {
        const int32_t stop = want[0][1 + 10];
        int first = 0;
        while (want[0][1 + first] != stop)
            first++;
        struct as_generate_opts os = {200, &stop, 1, NULL, NULL};
        const int32_t *p1[1] = {prompt[0]};
        st = generate(m, 1, p1, &np[0], &os, gen, n_gen, reason, logits, NULL, &err);
        TU_CHECK(st == AS_OK && n_gen[0] == first + 1 && gen[first] == stop &&
                     reason[0] == AS_STOP_TOKEN && first_diff(gen, want[0] + 1, first + 1) < 0,
                 "stop id %d: %d ids generated (want %d, the first occurrence kept), reason %d",
                 (int)stop, n_gen[0], first + 1, reason[0]);
        printf("stop id %d ends the BOS run after %d ids (its first occurrence, kept)\n", (int)stop,
               n_gen[0]);
    }
    free(gen), free(logits);
    for (int r = 0; r < NRUN; r++)
        free(prompt[r]), free(want[r]);
}

struct stop_after {
    int n, calls;
};
static int stop_after_fn(void *ctx, int seq, const int32_t *gen, int n_gen) {
    struct stop_after *s = ctx;
    s->calls++;
    return n_gen >= s->n;
}

/* stop_fn and max_new_tokens = 0, on the golden "Once upon a time" prompt */
static void stop_semantics(const struct as_model *m, json_t *tf) {
    const int V = m->cfg.vocab_size;
    int32_t *ids, gen[32];
    int T = tu_json_ints(json_object_get(tf, "prompt_ids"), &ids);
    size_t nl;
    float *lg_all = tu_json_floats(json_object_get(tf, "logits_flat_row_major"), &nl);
    float *logits = malloc(sizeof(float) * V);
    int n_gen, reason;
    struct as_err err = {0};
    const int32_t *p[1] = {ids};
    struct stop_after sa = {7, 0};
    struct as_generate_opts o = {30, NULL, 0, stop_after_fn, &sa};
    as_status st = generate(m, 1, p, &T, &o, gen, &n_gen, &reason, logits, NULL, &err);
    TU_CHECK(st == AS_OK && n_gen == 7 && reason == AS_STOP_CALLBACK && sa.calls == 7,
             "stop_fn after 7: %d ids, reason %d, %d calls", n_gen, reason, sa.calls);
    /* max_new_tokens = 0: the prefill's last logits, = the golden last row */
    struct as_generate_opts o0 = {0, NULL, 0, NULL, NULL};
    st = generate(m, 1, p, &T, &o0, NULL, &n_gen, &reason, logits, NULL, &err);
    TU_CHECK(st == AS_OK && n_gen == 0 && reason == AS_STOP_LENGTH, "max_new_tokens 0: %s",
             err.msg);
    if (nl == (size_t)T * V)
        tu_compare_f32("max_new_tokens 0: logits = golden last row", logits,
                       lg_all + (size_t)(T - 1) * V, V, 1e-3);
    TU_CHECK(as_argmax(logits, V) == 432,
             "greedy next token after 'Once upon a time': %d (want "
             "432)",
             as_argmax(logits, V));
    /* bad options are errors */
    struct as_generate_opts bad = {-1, NULL, 0, NULL, NULL};
    TU_CHECK(generate(m, 1, p, &T, &bad, gen, &n_gen, &reason, logits, NULL, &err) ==
                 AS_ERR_INVALID,
             "max_new_tokens -1 must fail");
    printf("error: %s\n", err.msg);
    int32_t bad_stop = V;
    struct as_generate_opts bad2 = {3, &bad_stop, 1, NULL, NULL};
    TU_CHECK(generate(m, 1, p, &T, &bad2, gen, &n_gen, &reason, logits, NULL, &err) ==
                 AS_ERR_INVALID,
             "a stop id outside the vocabulary must fail");
    printf("error: %s\n", err.msg);
    struct as_generate_opts too_long = {m->cfg.max_position, NULL, 0, NULL, NULL};
    int32_t *big = malloc(sizeof(int32_t) * m->cfg.max_position);
    TU_CHECK(generate(m, 1, p, &T, &too_long, big, &n_gen, &reason, logits, NULL, &err) ==
                 AS_ERR_INVALID,
             "generating past max_position_embeddings must fail");
    printf("error: %s\n", err.msg);
    free(big), free(ids), free(lg_all), free(logits);
}

/* BOS prefilled, "Once upon a time" decoded teacher-forced: rows and logits vs golden. */
static void golden_teacher_forced(const struct as_model *m, json_t *tf) {
    const struct as_config *c = &m->cfg;
    const int L = c->n_layers, H = c->n_heads, V = c->vocab_size;
    int32_t *ids;
    int T = tu_json_ints(json_object_get(tf, "prompt_ids"), &ids);
    size_t na, nl;
    float *att = tu_json_floats(json_object_get(tf, "attention_probs_flat_row_major"), &na);
    float *lg_all = tu_json_floats(json_object_get(tf, "logits_flat_row_major"), &nl);
    if (na != (size_t)L * H * T * T || nl != (size_t)T * V) {
        TU_CHECK(0, "golden teacher-forced arrays have %zu / %zu values", na, nl);
        goto done;
    }
    for (int kern = 0; kern <= 1; kern++) {
        struct as_err err = {0};
        struct as_runstate rs;
        struct as_kvcache kv;
        struct rowcap rc;
        as_runstate_init(&rs, c, T, T, 1, (enum as_kernel)kern, &err);
        as_kvcache_init(&kv, c, 1, T, &err);
        rowcap_init(&rc, 1, L, H, T);
        struct as_capture cap = rowcap_capture(&rc, NULL);
        cap.value_norms.fn = NULL;
        float *lg = malloc(sizeof(float) * V);
        const int32_t *seqs[1] = {ids};
        int one = 1, slot = 0;
        struct as_batch b = {1, seqs, &one};
        struct as_forward_out out = {NULL, lg};
        TU_CHECK(as_forward_prefill(m, &rs, &b, &kv, &cap, &out, &err) == AS_OK, "prefill: %s",
                 err.msg);
        char what[96];
        snprintf(what, sizeof what, "%s logits at position 0 (prefill)", kern ? "naive" : "blas");
        tu_compare_f32(what, lg, lg_all, V, 1e-3);
        for (int t = 1; t < T; t++) {
            TU_CHECK(as_decode_step(m, &rs, &kv, 1, &slot, &ids[t], &cap, lg, &err) == AS_OK,
                     "decode: %s", err.msg);
            snprintf(what, sizeof what, "%s logits at position %d (decoded)",
                     kern ? "naive" : "blas", t);
            tu_compare_f32(what, lg, lg_all + (size_t)t * V, V, 1e-3);
        }
        snprintf(what, sizeof what, "%s attention, BOS prefilled + 4 rows decoded",
                 kern ? "naive" : "blas");
        tu_compare_f32(what, rc.probs, att, na, 1e-4);
        rowcap_check_complete(&rc, 0, T, "teacher-forced");
        free(lg);
        rowcap_free(&rc);
        as_kvcache_free(&kv);
        as_runstate_free(&rs);
    }
done:
    free(ids), free(att), free(lg_all);
}

static void stories(void) {
    struct as_model m;
    struct as_err err = {0};
    if (as_model_init(&m, tu_data_path("models/stories260K/stories260K.bin"), &err) != AS_OK) {
        TU_CHECK(0, "load stories260K: %s", err.msg);
        return;
    }
    json_error_t jerr;
    json_t *root = json_load_file(
        tu_data_path("models/stories260K/golden_greedy_and_attention.json"), 0, &jerr);
    TU_CHECK(root != NULL, "golden json: %s (line %d)", jerr.text, jerr.line);
    if (root) {
        json_t *tf = json_object_get(root, "teacher_forced_once_upon_a_time");
        golden_greedy(&m, json_object_get(root, "runs"));
        stop_semantics(&m, tf);
        golden_teacher_forced(&m, tf);
        json_decref(root);
    }
    as_model_free(&m);
}

static const char *hf_cases[] = {"T007",          "T033",     "seed1_plain",  "seed2_cot",
                                 "seed3_persona", "seed4_qa", "seed5_fewshot"};

/* HF case: 3-token prefill, the rest decoded; rows vs attentions.npy, last logits. */
static void hf_case(const struct as_model *m, const char *outdir, const char *cname,
                    enum as_kernel kern) {
    char rel[256];
    struct tu_npy ids = {0}, att = {0}, lgr = {0};
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/ids.npy", outdir, cname);
    int ok = tu_npy_load(tu_data_path(rel), &ids) == 0;
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/attentions.npy", outdir, cname);
    ok = ok && tu_npy_load(tu_data_path(rel), &att) == 0;
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/logits_last.npy", outdir, cname);
    ok = ok && tu_npy_load(tu_data_path(rel), &lgr) == 0;
    TU_CHECK(ok, "cannot load the HF reference of %s/%s", outdir, cname);
    const struct as_config *c = &m->cfg;
    const int L = c->n_layers, H = c->n_heads, T = ok ? (int)ids.numel : 0;
    if (ok && att.numel == (size_t)L * H * T * T) {
        int32_t *tok = malloc(sizeof(int32_t) * T);
        for (int t = 0; t < T; t++)
            tok[t] = (int32_t)ids.i[t];
        struct as_err err = {0};
        struct as_runstate rs;
        struct as_kvcache kv;
        struct rowcap rc;
        as_runstate_init(&rs, c, T, T, 1, kern, &err);
        as_kvcache_init(&kv, c, 1, T, &err);
        rowcap_init(&rc, 1, L, H, T);
        struct as_capture cap = rowcap_capture(&rc, NULL);
        cap.value_norms.fn = NULL;
        float *lg = malloc(sizeof(float) * c->vocab_size);
        const int32_t *seqs[1] = {tok};
        int T0 = 3, slot = 0;
        struct as_batch b = {1, seqs, &T0};
        TU_CHECK(as_forward_prefill(m, &rs, &b, &kv, &cap, NULL, &err) == AS_OK, "prefill: %s",
                 err.msg);
        for (int t = T0; t < T; t++)
            TU_CHECK(as_decode_step(m, &rs, &kv, 1, &slot, &tok[t], &cap, lg, &err) == AS_OK,
                     "decode: %s", err.msg);
        printf("%s/%s (T=%d: 3 prefilled + %d decoded, %s)\n", outdir, cname, T, T - T0,
               kern == AS_KERNEL_NAIVE ? "naive" : "blas");
        tu_compare_f32("attention", rc.probs, att.f, att.numel, 1e-4);
        tu_compare_f32("logits_last", lg, lgr.f, lgr.numel, 1e-3);
        rowcap_check_complete(&rc, 0, T, cname);
        free(lg), free(tok);
        rowcap_free(&rc);
        as_kvcache_free(&kv);
        as_runstate_free(&rs);
    }
    tu_npy_free(&ids), tu_npy_free(&att), tu_npy_free(&lgr);
}

int main(void) {
    tu_require_data("models/stories260K/golden_greedy_and_attention.json");
    tu_require_data("reference/hf-tiny-gqa");
    stories();
    struct {
        const char *dir, *outputs;
    } models[] = {{"model-fp32", "fp32"}, {"model-bf16", "bf16"}};
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        char rel[256];
        snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/%s", models[mi].dir);
        struct as_model m;
        struct as_err err = {0};
        if (as_model_init(&m, tu_data_path(rel), &err) != AS_OK) {
            TU_CHECK(0, "load %s: %s", rel, err.msg);
            continue;
        }
        for (size_t ci = 0; ci < sizeof hf_cases / sizeof hf_cases[0]; ci++) {
            hf_case(&m, models[mi].outputs, hf_cases[ci], AS_KERNEL_BLAS);
            hf_case(&m, models[mi].outputs, hf_cases[ci], AS_KERNEL_NAIVE);
        }
        as_model_free(&m);
    }
    return tu_finish("test_decode_reference");
}
