/* test_tok_vectors.c - exact ids against independent references:
 *   - llama.cpp's 46 test vectors (ggml-vocab-llama-spm.gguf.inp/.out, no BOS), with
 *     the vocabulary from the GGUF file, from tokenizer.json and from tokenizer.bin;
 *   - encode_vectors.json (HF tokenizers with BOS, sentencepiece without): ids,
 *     pieces and HF decode(skip_special_tokens) of every case, for all three sources. */
#include <jansson.h>

#include "tok_test_common.h"

#define SEP "\n__ggml_vocab_test__\n"

struct vcase {
    const char *text;
    size_t len;
    int32_t ids[512];
    int n;
};

static int load_llamacpp(struct vcase *cases, int cap, char **inp_buf, char **out_buf) {
    size_t inl, outl;
    char *inp = tt_read(tu_data_path("tokenizers/vectors/ggml-vocab-llama-spm.gguf.inp"), &inl);
    char *out = tt_read(tu_data_path("tokenizers/vectors/ggml-vocab-llama-spm.gguf.out"), &outl);
    *inp_buf = inp;
    *out_buf = out;
    int n = 0;
    char *p = inp;
    for (char *q; (q = strstr(p, SEP)) != NULL && n < cap; p = q + strlen(SEP)) {
        *q = '\0';
        cases[n].text = p;
        cases[n].len = (size_t)(q - p);
        n++;
    }
    char *line = out;
    for (int i = 0; i < n; i++) {
        char *nl = strchr(line, '\n');
        if (!nl) {
            fprintf(stderr, "FAIL: .out has fewer lines than .inp has tests\n");
            exit(1);
        }
        *nl = '\0';
        cases[i].n = 0;
        for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " "))
            cases[i].ids[cases[i].n++] = (int32_t)atoi(tok);
        line = nl + 1;
    }
    return n;
}

static int run_llamacpp(const char *vocab_rel, const struct vcase *cases, int n) {
    struct as_tokenizer t;
    tt_load(&t, tu_data_path(vocab_rel));
    int pass = 0;
    for (int i = 0; i < n; i++) {
        struct as_encoding e;
        struct as_err err = {0};
        char what[128];
        snprintf(what, sizeof what, "%s: llama.cpp case %d", vocab_rel, i);
        if (as_tokenizer_encode(&t, cases[i].text, cases[i].len, 0, &e, &err) != AS_OK) {
            TU_CHECK(0, "%s: %s", what, err.msg);
            as_encoding_free(&e);
            continue;
        }
        if (tt_ids_equal(what, e.ids, e.n, cases[i].ids, cases[i].n)) pass++;
        tt_offsets_tile(what, &e, cases[i].len, 0);
        as_encoding_free(&e);
    }
    printf("  %-48s %d/%d llama.cpp vectors exact\n", vocab_rel, pass, n);
    as_tokenizer_free(&t);
    return pass;
}

static int json_ids(const json_t *a, int32_t *out, int cap) {
    int n = 0;
    for (size_t i = 0; i < json_array_size(a) && n < cap; i++)
        out[n++] = (int32_t)json_integer_value(json_array_get(a, i));
    return n;
}

/* mode: 0 = HF ids with BOS (tokenizer.json, GGUF), 1 = sentencepiece ids without BOS
 * (llama2.c tokenizer.bin: no special-token splitting, like sentencepiece) */
static int run_encode_vectors(const char *vocab_rel, const json_t *cases, int mode) {
    struct as_tokenizer t;
    tt_load(&t, tu_data_path(vocab_rel));
    int pass = 0, n = (int)json_array_size(cases);
    for (int i = 0; i < n; i++) {
        const json_t *c = json_array_get(cases, i);
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t len = json_string_length(json_object_get(c, "text"));
        int32_t want[1024];
        int nw = json_ids(json_object_get(c, mode == 0 ? "hf_ids_add_special" : "spm_ids_no_bos"),
                          want, 1024);
        struct as_encoding e;
        struct as_err err = {0};
        char what[160];
        snprintf(what, sizeof what, "%s: encode_vectors case %d", vocab_rel, i);
        if (as_tokenizer_encode(&t, text, len, mode == 0, &e, &err) != AS_OK) {
            TU_CHECK(0, "%s: %s", what, err.msg);
            as_encoding_free(&e);
            continue;
        }
        int ok = tt_ids_equal(what, e.ids, e.n, want, nw);
        ok &= tt_offsets_tile(what, &e, len, mode == 0);
        if (mode == 0 && ok) {
            /* pieces equal HF's tokens (the GGUF and tokenizer.json pieces are identical) */
            const json_t *toks = json_object_get(c, "hf_tokens");
            for (int k = 0; k < e.n && ok; k++) {
                const char *w = json_string_value(json_array_get(toks, (size_t)k));
                ok = w && strcmp(e.pieces[k], w) == 0;
                TU_CHECK(ok, "%s: piece %d is \"%s\", HF says \"%s\"", what, k, e.pieces[k],
                         w ? w : "?");
            }
            /* HF decode(ids, skip_special_tokens=True) */
            const char *wd = json_string_value(json_object_get(c, "hf_decode_skip_special"));
            char *d = NULL;
            size_t dl = 0;
            if (as_tokenizer_decode(&t, e.ids, e.n, 1, &d, &dl, &err) != AS_OK) {
                TU_CHECK(0, "%s: decode: %s", what, err.msg);
                ok = 0;
            } else {
                ok = strcmp(d, wd) == 0;
                TU_CHECK(ok, "%s: decode gives \"%s\", HF \"%s\"", what, d, wd);
            }
            free(d);
        }
        if (ok) pass++;
        as_encoding_free(&e);
    }
    printf("  %-48s %d/%d encode_vectors cases exact (%s)\n", vocab_rel, pass, n,
           mode == 0 ? "HF ids with BOS, pieces, decode" : "sentencepiece ids");
    as_tokenizer_free(&t);
    return pass;
}

int main(void) {
    tu_require_data("tokenizers/vectors/ggml-vocab-llama-spm.gguf");
    tu_require_data("tokenizers/llama2/tokenizer.json");
    static struct vcase cases[64];
    char *inp, *out;
    int n = load_llamacpp(cases, 64, &inp, &out);
    TU_CHECK(n == 46, "expected 46 llama.cpp test strings, found %d", n);
    int p1 = run_llamacpp("tokenizers/vectors/ggml-vocab-llama-spm.gguf", cases, n);
    int p2 = run_llamacpp("tokenizers/llama2/tokenizer.json", cases, n);
    int p3 = run_llamacpp("tokenizers/llama2/tokenizer.bin", cases, n);
    int p4 = run_llamacpp("tokenizers/llama2", cases, n); /* HF directory */
    free(inp);
    free(out);

    json_error_t je;
    json_t *root = json_load_file(tu_data_path("tokenizers/llama2/encode_vectors.json"), 0, &je);
    TU_CHECK(root != NULL, "cannot parse encode_vectors.json: %s", je.text);
    if (root) {
        const json_t *cs = json_object_get(root, "cases");
        int m = (int)json_array_size(cs);
        TU_CHECK(m == 18, "expected 18 encode_vectors cases, found %d", m);
        int q1 = run_encode_vectors("tokenizers/llama2/tokenizer.json", cs, 0);
        int q2 = run_encode_vectors("tokenizers/vectors/ggml-vocab-llama-spm.gguf", cs, 0);
        int q3 = run_encode_vectors("tokenizers/llama2/tokenizer.bin", cs, 1);
        printf(
            "SUMMARY llama.cpp vectors: gguf %d/%d, tokenizer.json %d/%d, tokenizer.bin %d/%d, "
            "HF dir %d/%d; encode_vectors: tokenizer.json %d/%d, gguf %d/%d, tokenizer.bin %d/%d\n",
            p1, n, p2, n, p3, n, p4, n, q1, m, q2, m, q3, m);
        json_decref(root);
    }
    return tu_finish("test_tok_vectors");
}
