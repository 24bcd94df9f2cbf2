/* test_forward_hf.c - exactness against HF transformers (eager, fp32).
 *
 * Reference: ../shared/data/reference/hf-tiny-gqa (computed by HF transformers
 * 4.40.2, not by attnsweep). For every case in outputs/fp32 the ids are fed to
 * model-fp32 and model-sharded, and for every case in outputs/bf16 to
 * model-bf16; attentions must match within 1e-4, the final hidden state within
 * 1e-4 and the last-position logits within 1e-3, with both the BLAS and the
 * naive kernels. */
#include <stdio.h>
#include <stdlib.h>

#include "attnsweep/forward.h"
#include "attnsweep/model.h"
#include "capture.h"
#include "testutil.h"

static const char *cases[] = {"T007",          "T033",     "seed1_plain",  "seed2_cot",
                              "seed3_persona", "seed4_qa", "seed5_fewshot"};

static void run_case(const struct as_model *m, const char *model_name, const char *outdir,
                     const char *cname, enum as_kernel kern) {
    char rel[512], label[256];
    struct tu_npy ids = {0}, att = {0}, hid = {0}, logits = {0};
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/ids.npy", outdir, cname);
    if (tu_npy_load(tu_data_path(rel), &ids) != 0) goto fail_load;
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/attentions.npy", outdir, cname);
    if (tu_npy_load(tu_data_path(rel), &att) != 0) goto fail_load;
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/last_hidden_state.npy", outdir,
             cname);
    if (tu_npy_load(tu_data_path(rel), &hid) != 0) goto fail_load;
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/logits_last.npy", outdir, cname);
    if (tu_npy_load(tu_data_path(rel), &logits) != 0) goto fail_load;

    const struct as_config *c = &m->cfg;
    int T = (int)ids.numel;
    int32_t *tok = malloc(sizeof(int32_t) * T);
    for (int t = 0; t < T; t++)
        tok[t] = (int32_t)ids.i[t];
    TU_CHECK(att.numel == (size_t)c->n_layers * c->n_heads * T * T, "attentions.npy shape");

    struct capture cap;
    capture_init(&cap, c->n_layers, c->n_heads, T);
    struct as_runstate rs;
    struct as_err err = {0};
    float *hidden = malloc(sizeof(float) * T * c->dim);
    float *lg = malloc(sizeof(float) * c->vocab_size);
    as_status st = as_runstate_init(&rs, c, T, T, 1, kern, &err);
    TU_CHECK(st == AS_OK, "runstate_init: %s", err.msg);
    const int32_t *seqs[1] = {tok};
    struct as_batch b = {1, seqs, &T};
    struct as_attn_sink sink = {capture_sink, &cap};
    struct as_forward_out out = {hidden, lg};
    st = as_forward(m, &rs, &b, &sink, &out, &err);
    TU_CHECK(st == AS_OK, "forward: %s", err.msg);
    const char *kn = kern == AS_KERNEL_BLAS ? "blas" : "naive";
    printf("%s %s/%s (T=%d, %s)\n", model_name, outdir, cname, T, kn);
    snprintf(label, sizeof label, "attention");
    tu_compare_f32(label, cap.att, att.f, att.numel, 1e-4);
    tu_compare_f32("last_hidden_state", hidden, hid.f, hid.numel, 1e-4);
    tu_compare_f32("logits_last", lg, logits.f, logits.numel, 1e-3);
    capture_check_invariants(&cap, cname);

    as_runstate_free(&rs);
    capture_free(&cap);
    free(hidden);
    free(lg);
    free(tok);
    tu_npy_free(&ids);
    tu_npy_free(&att);
    tu_npy_free(&hid);
    tu_npy_free(&logits);
    return;
fail_load:
    TU_CHECK(0, "cannot load reference arrays of case %s/%s", outdir, cname);
    tu_npy_free(&ids);
    tu_npy_free(&att);
    tu_npy_free(&hid);
    tu_npy_free(&logits);
}

int main(void) {
    tu_require_data("reference/hf-tiny-gqa");
    struct {
        const char *dir, *outputs;
    } models[] = {{"model-fp32", "fp32"}, {"model-sharded", "fp32"}, {"model-bf16", "bf16"}};
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        char rel[256];
        snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/%s", models[mi].dir);
        struct as_model m;
        struct as_err err = {0};
        as_status st = as_model_init(&m, tu_data_path(rel), &err);
        TU_CHECK(st == AS_OK, "load %s: %s", rel, err.msg);
        if (st != AS_OK) continue;
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
            run_case(&m, models[mi].dir, models[mi].outputs, cases[ci], AS_KERNEL_BLAS);
            run_case(&m, models[mi].dir, models[mi].outputs, cases[ci], AS_KERNEL_NAIVE);
        }
        as_model_free(&m);
    }
    return tu_finish("test_forward_hf");
}
