/* test_forward_value_norms.c - ||W_O^h v_j|| (Kobayashi et al. 2020) against
 * an independent float64 computation from the weights.
 *
 * Truth: HF transformers' own hidden states (reference/hf-tiny-gqa,
 * hidden_states.npy [L+1, T, D]: entry l is the input of layer l), from which
 * this test computes, in double and with its own loops, RMSNorm, the value
 * projection and each head's o_proj slice: norm[l][h][j] = ||W_O^h v_j||. The
 * prefill's value norms (Gram path and naive path) must match within 1e-5
 * relative to the largest norm, and so must the norms of keys that a decode
 * step produced (teacher-forced from a 2-token prefill). On stories260K (no
 * hidden-state reference) the Gram path is checked against the naive one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"
#include "attnsweep/forward.h"
#include "attnsweep/model.h"
#include "rowcap.h"
#include "testutil.h"

static const char *cases[] = {"T007",          "T033",     "seed1_plain",  "seed2_cot",
                              "seed3_persona", "seed4_qa", "seed5_fewshot"};

/* truth (L, H, T) from HF's hidden states and the model's weights, all in double */
static double *truth_norms(const struct as_model *m, const struct tu_npy *hs, int T) {
    const struct as_config *c = &m->cfg;
    const int L = c->n_layers, H = c->n_heads, Hkv = c->n_kv_heads, hd = c->head_dim, D = c->dim;
    const int qd = H * hd, group = H / Hkv;
    double *out = malloc(sizeof(double) * L * H * T), *xn = malloc(sizeof(double) * D);
    double *v = malloc(sizeof(double) * Hkv * hd);
    for (int l = 0; l < L; l++) {
        const struct as_layer_weights *w = &m->w.layers[l];
        for (int j = 0; j < T; j++) {
            const float *x = hs->f + ((size_t)l * T + j) * D;
            double ss = 0;
            for (int d = 0; d < D; d++)
                ss += (double)x[d] * x[d];
            double inv = 1.0 / sqrt(ss / D + c->rms_eps);
            for (int d = 0; d < D; d++)
                xn[d] = x[d] * inv * w->attn_norm[d];
            for (int o = 0; o < Hkv * hd; o++) {
                double a = 0;
                for (int d = 0; d < D; d++)
                    a += (double)w->wv[(size_t)o * D + d] * xn[d];
                v[o] = a;
            }
            for (int h = 0; h < H; h++) {
                const double *vg = v + (size_t)(h / group) * hd;
                double n2 = 0;
                for (int o = 0; o < D; o++) {
                    double f = 0;
                    for (int a = 0; a < hd; a++)
                        f += (double)w->wo[(size_t)o * qd + h * hd + a] * vg[a];
                    n2 += f * f;
                }
                out[((size_t)l * H + h) * T + j] = sqrt(n2);
            }
        }
    }
    free(xn), free(v);
    return out;
}

/* max |got - want| / max(1e-30, max |want|) over (L, H, T) of sequence 0, keys [k0, T) */
static double diff_norms(const struct rowcap *rc, const double *want, int L, int H, int T, int k0) {
    double d = 0, scale = 1e-30;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++)
            for (int j = k0; j < T; j++) {
                double g = rowcap_vnorm(rc, 0, l)[(size_t)h * rc->T + j];
                double t = want[((size_t)l * H + h) * T + j];
                scale = fmax(scale, fabs(t));
                double e = fabs(g - t);
                if (!(e <= d)) d = e;
            }
    return d / scale;
}

static void hf_case(const struct as_model *m, const struct as_vnorm *vn, const char *outdir,
                    const char *cname) {
    char rel[256];
    struct tu_npy ids = {0}, hs = {0};
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/ids.npy", outdir, cname);
    int ok = tu_npy_load(tu_data_path(rel), &ids) == 0;
    snprintf(rel, sizeof rel, "reference/hf-tiny-gqa/outputs/%s/%s/hidden_states.npy", outdir,
             cname);
    ok = ok && tu_npy_load(tu_data_path(rel), &hs) == 0;
    TU_CHECK(ok, "cannot load %s/%s", outdir, cname);
    const struct as_config *c = &m->cfg;
    const int L = c->n_layers, H = c->n_heads, T = ok ? (int)ids.numel : 0;
    if (!ok || hs.numel != (size_t)(L + 1) * T * c->dim) {
        TU_CHECK(!ok, "hidden_states.npy of %s has %zu values", cname, hs.numel);
        goto done;
    }
    int32_t *tok = malloc(sizeof(int32_t) * T);
    for (int t = 0; t < T; t++)
        tok[t] = (int32_t)ids.i[t];
    double *want = truth_norms(m, &hs, T);
    for (int kern = 0; kern <= 1; kern++) {
        struct as_err err = {0};
        struct as_runstate rs;
        struct as_kvcache kv;
        as_runstate_init(&rs, c, T, T, 1, (enum as_kernel)kern, &err);
        as_kvcache_init(&kv, c, 1, T, &err);
        /* prefill of the whole case */
        struct rowcap rc;
        rowcap_init(&rc, 1, L, H, T);
        struct as_capture cap = rowcap_capture(&rc, vn);
        const int32_t *seqs[1] = {tok};
        struct as_batch b = {1, seqs, &T};
        TU_CHECK(as_forward_prefill(m, &rs, &b, NULL, &cap, NULL, &err) == AS_OK, "prefill: %s",
                 err.msg);
        double dp = diff_norms(&rc, want, L, H, T, 0);
        /* prefill of 2 tokens, the rest decoded one by one */
        struct rowcap rd;
        rowcap_init(&rd, 1, L, H, T);
        struct as_capture capd = rowcap_capture(&rd, vn);
        int T0 = T < 2 ? T : 2, slot = 0;
        struct as_batch b0 = {1, seqs, &T0};
        TU_CHECK(as_forward_prefill(m, &rs, &b0, &kv, &capd, NULL, &err) == AS_OK, "prefill: %s",
                 err.msg);
        for (int t = T0; t < T; t++)
            TU_CHECK(as_decode_step(m, &rs, &kv, 1, &slot, &tok[t], &capd, NULL, &err) == AS_OK,
                     "decode: %s", err.msg);
        double dd = diff_norms(&rd, want, L, H, T, T0);
        printf(
            "%s/%-14s T=%2d %-5s value norms vs float64 truth: prefill %.2g, decoded keys %.2g\n",
            outdir, cname, T, kern ? "naive" : "blas", dp, dd);
        TU_CHECK(dp <= 1e-5 && dd <= 1e-5, "%s/%s %s: value norms differ from truth by %.3g / %.3g",
                 outdir, cname, kern ? "naive" : "blas", dp, dd);
        rowcap_free(&rc), rowcap_free(&rd);
        as_kvcache_free(&kv);
        as_runstate_free(&rs);
    }
    free(want), free(tok);
done:
    tu_npy_free(&ids);
    tu_npy_free(&hs);
}

/* Gram path vs naive path on the trained stories260K: every key of a 40-token prefill. */
static void stories(void) {
    struct as_model m;
    struct as_err err = {0};
    if (as_model_init(&m, tu_data_path("models/stories260K/stories260K.bin"), &err) != AS_OK) {
        printf("SKIPPED stories260K (reference data absent: %s)\n", err.msg);
        return;
    }
    const struct as_config *c = &m.cfg;
    const int T = 40, L = c->n_layers, H = c->n_heads;
    int32_t tok[40];
    for (int t = 0; t < T; t++)
        tok[t] = (int32_t)((t * 37 + 1) % c->vocab_size);
    struct as_vnorm vn;
    TU_CHECK(as_vnorm_init(&vn, &m, &err) == AS_OK, "vnorm: %s", err.msg);
    struct rowcap r[2];
    for (int kern = 0; kern <= 1; kern++) {
        struct as_runstate rs;
        as_runstate_init(&rs, c, T, T, 1, (enum as_kernel)kern, &err);
        rowcap_init(&r[kern], 1, L, H, T);
        struct as_capture cap = rowcap_capture(&r[kern], &vn);
        const int32_t *seqs[1] = {tok};
        int n = T;
        struct as_batch b = {1, seqs, &n};
        TU_CHECK(as_forward_prefill(&m, &rs, &b, NULL, &cap, NULL, &err) == AS_OK, "prefill: %s",
                 err.msg);
        as_runstate_free(&rs);
    }
    double d = 0, scale = 0, mn = 1e30;
    for (size_t i = 0; i < (size_t)L * H * T; i++) {
        d = fmax(d, fabs(r[0].vnorm[i] - r[1].vnorm[i]));
        scale = fmax(scale, r[1].vnorm[i]);
        mn = fmin(mn, r[1].vnorm[i]);
    }
    printf("stories260K value norms (range %.3g..%.3g): Gram path vs naive %.2g relative\n", mn,
           scale, d / scale);
    TU_CHECK(d / scale <= 1e-5 && mn > 0, "stories260K: Gram vs naive value norms %.3g", d / scale);
    rowcap_free(&r[0]), rowcap_free(&r[1]);
    as_vnorm_free(&vn);
    as_model_free(&m);
}

int main(void) {
    tu_require_data("reference/hf-tiny-gqa");
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
        struct as_vnorm vn;
        TU_CHECK(as_vnorm_init(&vn, &m, &err) == AS_OK, "vnorm: %s", err.msg);
        for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
            hf_case(&m, &vn, models[mi].outputs, cases[ci]);
        as_vnorm_free(&vn);
        as_model_free(&m);
    }
    stories();
    return tu_finish("test_forward_value_norms");
}
