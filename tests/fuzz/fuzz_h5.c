/* fuzz_h5.c - the reader that --resume and reduce use (src/io), on mutated output files: open,
 * the prompt table and its checks, the texts and tokens, the /metrics columns, one attention
 * layer of the first and the last prompt. Bad files must give errors, never crashes. */
#include "attnsweep/h5out.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char p[512];
    if (!fz_file("out.h5", data, size, p, sizeof p)) return 0;
    struct as_h5file f;
    struct as_err err;
    memset(&f, 0, sizeof f);
    if (as_h5file_open_read(&f, p, MPI_COMM_NULL, &err) != AS_OK) return 0;
    struct as_h5_tokens t;
    if (as_h5file_read_tokens(&f, &t, &err) == AS_OK) as_h5_tokens_free(&t);
    static const char *const cols[] = {"layer_entropy", "head_entropy",  "span_name",
                                       "span_mass",     "last_row_mean", "keyword"};
    struct as_table tab;
    as_table_init(&tab);
    as_h5file_read_columns(&f, "metrics", cols, 6, 1, &tab, &err);
    as_table_free(&tab);
    int8_t *st = f.n_prompts > 0 && f.n_prompts < (1 << 24) ? malloc((size_t)f.n_prompts) : NULL;
    if (st) as_h5file_read_status(&f, st, &err), free(st);
    char *yaml = NULL;
    size_t yl = 0;
    if (as_h5file_read_config(&f, &yaml, &yl, &err) == AS_OK) free(yaml);
    for (int k = 0; k < 2 && f.n_prompts > 0 && f.store != AS_STORE_NONE; k++) {
        int64_t i = k ? f.n_prompts - 1 : 0;
        size_t T = (size_t)f.prompts[i].n_tokens, H = (size_t)f.n_heads;
        if (T > 4096 || H > 1024) continue;
        float *buf = malloc(H * T * (f.store == AS_STORE_FULL ? T : 1) * sizeof(float));
        if (buf) as_h5file_read_attention_layer(&f, i, 0, buf, &err), free(buf);
    }
    as_h5file_close(&f, &err);
    return 0;
}
