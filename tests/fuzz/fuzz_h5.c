/* fuzz_h5.c - the reader that --resume and reduce use (src/io), on mutated output files: open,
 * the prompt table and its checks, the texts and tokens, the /sweep, /metrics and /behaviour
 * columns (generation and answers included), the status and message columns, the provenance
 * attributes, one attention layer, the last rows and the value-norm rows of the first and the
 * last prompt. Bad files must give errors, never crashes. */
#include "attnsweep/h5capture.h"
#include "attnsweep/h5out.h"
#include "fuzz_common.h"

static void read_cols(struct as_h5file *f, const char *group, const char *const *names, int n) {
    struct as_table tab;
    struct as_err err;
    as_table_init(&tab);
    as_h5file_read_columns(f, group, names, n, 1, &tab, &err);
    as_table_free(&tab);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char p[512];
    if (!fz_file("out.h5", data, size, p, sizeof p)) return 0;
    struct as_h5file f;
    struct as_err err;
    memset(&f, 0, sizeof f);
    if (as_h5file_open_read(&f, p, MPI_COMM_NULL, &err) != AS_OK) return 0;
    struct as_h5_tokens t;
    if (as_h5file_read_tokens(&f, &t, &err) == AS_OK) as_h5_tokens_free(&t);
    static const char *const mcols[] = {"layer_entropy",  "head_entropy",         "span_name",
                                        "span_mass",      "last_row_mean",        "keyword",
                                        "sink_last_norm", "span_mass_from_answer"};
    static const char *const scols[] = {"group",       "n_generated", "generated_start",
                                        "stop_reason", "answer",      "answer_correct"};
    static const char *const bcols[] = {"topk_id", "topk_prob", "answer_logprob", "answer_ids"};
    read_cols(&f, "metrics", mcols, 8);
    read_cols(&f, "sweep", scols, 6);
    read_cols(&f, "behaviour", bcols, 4);
    int8_t *st = f.n_prompts > 0 && f.n_prompts < (1 << 24) ? malloc((size_t)f.n_prompts) : NULL;
    if (st) as_h5file_read_status(&f, st, &err), free(st);
    char *yaml = NULL, *sha = NULL;
    size_t yl = 0;
    if (as_h5file_read_config(&f, &yaml, &yl, &err) == AS_OK) free(yaml);
    if (as_h5file_read_attr_str(&f, "config_sha256", &sha, &err) == AS_OK) free(sha);
    for (int k = 0; k < 2 && f.n_prompts > 0; k++) {
        int64_t i = k ? f.n_prompts - 1 : 0;
        char msg[AS_H5_MESSAGE_MAX + 1];
        as_h5file_read_message(&f, i, msg, &err);
        size_t T = (size_t)f.prompts[i].n_tokens, H = (size_t)f.n_heads, L = (size_t)f.n_layers;
        if (T > 4096 || H > 1024 || L > 1024) continue;
        /* one layer [H, T, T] (full), or the rows [T, L, H] (last rows, value norms) */
        const size_t layer = H * T * T, rows = T * L * H;
        float *buf =
            malloc((f.store == AS_STORE_FULL && layer > rows ? layer : rows) * sizeof(float));
        if (!buf) continue;
        if (f.store == AS_STORE_FULL)
            as_h5file_read_attention_layer(&f, i, 0, buf, &err);
        else if (f.store == AS_STORE_LAST_ROW)
            as_h5file_read_last_rows(&f, i, 1, buf, &err);
        as_h5file_read_capture_rows(&f, "value_norm", i, 1, buf, &err);
        free(buf);
    }
    as_h5file_close(&f, &err);
    return 0;
}
