/* test_gen_attention.c FILE.h5 - the stored attention of every generating
 * prompt of a store: full file written by `attnsweep run` on stories260K
 * (test_generate.sh attention) against an independent path: the prompt alone
 * decoded token by token with as_generate_greedy (one prefill of the prompt,
 * then one KV-cache decode step per generated token), whose captured rows are
 * "what token i attended to when it was produced". Every row of the stored
 * [L, H, T_total, T_total] map must match within 1e-5, every row must sum to
 * 1 and the causal upper triangle must be 0; the regenerated ids must equal
 * the stored ones. */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"
#include "attnsweep/h5out.h"
#include "attnsweep/model.h"
#include "../forward/rowcap.h"
#include "testutil.h"

static void check_prompt(const struct as_model *m, struct as_h5file *f,
                         const struct as_h5_tokens *tk, int64_t i, int ng) {
    const struct as_h5_prompt_info *in = &f->prompts[i];
    const int T = in->n_tokens, Tp = T - ng, L = f->n_layers, H = f->n_heads;
    const int32_t *ids = tk->token_id + in->tok_start;
    struct as_runstate rs;
    struct as_kvcache kv;
    struct as_err err = {0};
    struct rowcap rc;
    int32_t *gen = malloc(sizeof(int32_t) * (size_t)(ng + 1));
    float *logits = malloc(sizeof(float) * (size_t)m->cfg.vocab_size);
    float *stored = malloc(sizeof(float) * (size_t)H * T * T);
    int n_gen = 0, reason = 0;
    TU_CHECK(L == m->cfg.n_layers && H == m->cfg.n_heads, "all layers and heads stored");
    if (rowcap_init(&rc, 1, L, H, T) != 0 || !gen || !logits || !stored) {
        TU_CHECK(0, "out of memory");
        return;
    }
    as_status st = as_runstate_init(&rs, &m->cfg, Tp, Tp, 1, AS_KERNEL_BLAS, &err);
    if (st == AS_OK) st = as_kvcache_init(&kv, &m->cfg, 1, T, &err);
    TU_CHECK(st == AS_OK, "init: %s", err.msg);
    if (st != AS_OK) return;
    const int32_t eos = 2;
    const int32_t *p[1] = {ids};
    struct as_batch b = {1, p, &Tp};
    struct as_generate_opts o = {ng, &eos, 1, NULL, NULL};
    struct as_capture cap = rowcap_capture(&rc, NULL);
    cap.value_norms.fn = NULL;
    struct as_generate_out out = {gen, &n_gen, logits, &reason};
    st = as_generate_greedy(m, &rs, &kv, &b, &o, &cap, &out, &err);
    TU_CHECK(st == AS_OK, "generate %s: %s", in->id, err.msg);
    TU_CHECK(n_gen == ng && !memcmp(gen, ids + Tp, sizeof(int32_t) * (size_t)ng),
             "%s: regenerated %d ids, the file has %d generated (equal: %d)", in->id, n_gen, ng,
             n_gen == ng && !memcmp(gen, ids + Tp, sizeof(int32_t) * (size_t)ng));
    rowcap_check_complete(&rc, 0, T, in->id);
    double worst_sum = 0, worst_upper = 0;
    for (int l = 0; st == AS_OK && l < L; l++) {
        st = as_h5file_read_attention_layer(f, i, l, stored, &err);
        TU_CHECK(st == AS_OK, "read %s layer %d: %s", in->id, l, err.msg);
        if (st != AS_OK) break;
        char what[300];
        snprintf(what, sizeof what, "%s layer %d: stored vs decode capture", in->id, l);
        tu_compare_f32(what, stored, rowcap_probs(&rc, 0, l), (size_t)H * T * T, 1e-5);
        for (int h = 0; h < H; h++)
            for (int r = 0; r < T; r++) {
                const float *row = stored + ((size_t)h * T + r) * T;
                double s = 0;
                for (int k = 0; k < T; k++) {
                    s += row[k];
                    if (k > r && fabs(row[k]) > worst_upper) worst_upper = fabs(row[k]);
                }
                if (fabs(s - 1.0) > worst_sum) worst_sum = fabs(s - 1.0);
            }
    }
    printf("%s: %d prompt + %d generated tokens; rows sum to 1 within %.2g, upper triangle max "
           "%.2g\n",
           in->id, Tp, ng, worst_sum, worst_upper);
    TU_CHECK(worst_sum <= 1e-5 && worst_upper == 0.0, "%s: row sums / causal mask", in->id);
    as_kvcache_free(&kv);
    as_runstate_free(&rs);
    rowcap_free(&rc);
    free(gen), free(logits), free(stored);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    if (argc != 2) {
        fprintf(stderr, "usage: test_gen_attention FILE.h5\n");
        MPI_Finalize();
        return 2;
    }
    tu_require_data("models/stories260K/stories260K.bin");
    struct as_model m;
    struct as_h5file f;
    struct as_h5_tokens tk;
    struct as_table cols;
    struct as_err err = {0};
    memset(&f, 0, sizeof f), memset(&tk, 0, sizeof tk);
    as_table_init(&cols);
    static const char *const names[] = {"n_generated"};
    as_status st = as_model_init(&m, tu_data_path("models/stories260K/stories260K.bin"), &err);
    TU_CHECK(st == AS_OK, "model: %s", err.msg);
    if (st == AS_OK) st = as_h5file_open_read(&f, argv[1], MPI_COMM_NULL, &err);
    if (st == AS_OK) st = as_h5file_read_tokens(&f, &tk, &err);
    if (st == AS_OK) st = as_h5file_read_columns(&f, "sweep", names, 1, 0, &cols, &err);
    TU_CHECK(st == AS_OK, "%s: %s", argv[1], err.msg);
    int checked = 0;
    for (int64_t i = 0; st == AS_OK && i < f.n_prompts; i++) {
        const int ng = ((const int32_t *)cols.cols[0].data)[i];
        if (ng <= 0) continue;
        check_prompt(&m, &f, &tk, i, ng);
        checked++;
    }
    TU_CHECK(checked > 0, "no generating prompt in %s", argv[1]);
    as_table_free(&cols);
    as_h5_tokens_free(&tk);
    as_h5file_close(&f, NULL);
    if (st == AS_OK || m.cfg.n_layers) as_model_free(&m);
    int rc = tu_finish("test_gen_attention");
    MPI_Finalize();
    return rc;
}
