/* test_tok_badfiles.c - missing, malformed and truncated vocabulary files give a
 * clear error naming the file and the key (never a crash), and small hand-made
 * tokenizer.json files exercise the BPE options (pair-form merges, unk, fuse_unk,
 * byte_fallback off, add_bos_token from tokenizer_config.json). */
#define _POSIX_C_SOURCE 200809L
#include <sys/stat.h>

#include "tok_test_common.h"

static char dir[1024];

static const char *tmp(const char *name) {
    static char bufs[4][4096];
    static int k = 0;
    char *b = bufs[k++ % 4];
    snprintf(b, 4096, "%s/%s", dir, name);
    return b;
}

static const char *write_tmp(const char *name, const void *data, size_t n) {
    const char *p = tmp(name);
    if (tu_write_file(p, data, n) != 0) {
        fprintf(stderr, "FAIL: cannot write %s\n", p);
        exit(1);
    }
    return p;
}

/* Loading path must fail with status st and a message holding every needle. */
static void expect_load_error(const char *what, const char *path, as_status st, const char *n1,
                              const char *n2) {
    struct as_tokenizer t;
    struct as_err err = {0};
    as_status got = as_tokenizer_load(&t, path, &err);
    int ok = got == st && strstr(err.msg, n1) && (!n2 || strstr(err.msg, n2));
    TU_CHECK(ok, "%s: status %d (%s), message \"%s\"; expected status %d with \"%s\"%s%s", what,
             (int)got, as_status_str(got), err.msg, (int)st, n1, n2 ? " and " : "", n2 ? n2 : "");
    if (ok) printf("  ok  %-34s %s\n", what, err.msg);
    as_tokenizer_free(&t); /* safe after a failed load */
}

static void expect_ids(const char *what, const char *path, const char *text, int bos,
                       const int32_t *want, int n) {
    struct as_tokenizer t;
    struct as_err err = {0};
    if (as_tokenizer_load(&t, path, &err) != AS_OK) {
        TU_CHECK(0, "%s: load: %s", what, err.msg);
        return;
    }
    struct as_encoding e;
    if (as_tokenizer_encode(&t, text, strlen(text), bos, &e, &err) != AS_OK)
        TU_CHECK(0, "%s: %s", what, err.msg);
    else
        tt_ids_equal(what, e.ids, e.n, want, n);
    as_encoding_free(&e);
    as_tokenizer_free(&t);
}

#define TINY_HEAD                                                                                  \
    "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": "  \
    "true}, "                                                                                      \
    "{\"id\": 1, \"content\": \"<s>\", \"special\": true}], "

int main(void) {
    const char *d = tu_tmpdir("tokbad");
    if (!d) {
        fprintf(stderr, "FAIL: no temporary directory\n");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s", d);

    /* ---- paths */
    expect_load_error("missing file", tmp("nope.json"), AS_ERR_IO, "nope.json", NULL);
    expect_load_error("directory without tokenizer.json", dir, AS_ERR_IO, "no tokenizer.json", dir);
    expect_load_error("empty file", write_tmp("empty.bin", "", 0), AS_ERR_FORMAT, "empty",
                      "empty.bin");

    /* ---- tokenizer.json */
    const char *p = write_tmp("notjson.json", "{ not json", 10);
    expect_load_error("not JSON", p, AS_ERR_FORMAT, "notjson.json", "not valid JSON");
    p = write_tmp("nomodel.json", "{\"added_tokens\": []}", 20);
    expect_load_error("no model", p, AS_ERR_FORMAT, "nomodel.json", "key model");
    const char *s = "{\"model\": {\"type\": \"BPE\", \"vocab\": [1, 2], \"merges\": []}}";
    expect_load_error("vocab not an object", write_tmp("vocab.json", s, strlen(s)), AS_ERR_FORMAT,
                      "vocab.json", "key model.vocab");
    s = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": -3}, \"merges\": []}}";
    expect_load_error("negative id", write_tmp("negid.json", s, strlen(s)), AS_ERR_FORMAT,
                      "negid.json", "model.vocab[\"b\"]");
    s = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}";
    expect_load_error("duplicate id", write_tmp("dupid.json", s, strlen(s)), AS_ERR_FORMAT,
                      "dupid.json", "id 0 is used by both");
    s = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": "
        "[\"a b c\"]}}";
    expect_load_error("bad merge string", write_tmp("merge1.json", s, strlen(s)), AS_ERR_FORMAT,
                      "merge1.json", "model.merges[0]");
    s = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": "
        "[\"a b\", [\"a\", \"x\"]]}}";
    expect_load_error("merge of unknown piece", write_tmp("merge2.json", s, strlen(s)),
                      AS_ERR_FORMAT, "model.merges[1]", "\"x\" is not in model.vocab");
    s = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [17]}}";
    expect_load_error("merge of wrong type", write_tmp("merge3.json", s, strlen(s)), AS_ERR_FORMAT,
                      "merge3.json", "model.merges[0]");
    s = "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}";
    expect_load_error("Unigram model", write_tmp("unigram.json", s, strlen(s)), AS_ERR_UNSUPPORTED,
                      "unigram.json", "model.type");
    s = "{\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": "
        "0}, \"merges\": []}}";
    expect_load_error("NFKC normalizer", write_tmp("nfkc.json", s, strlen(s)), AS_ERR_UNSUPPORTED,
                      "nfkc.json", "normalizer.type");
    s = "{\"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"model\": {\"type\": \"BPE\", \"vocab\": "
        "{\"a\": 0}, \"merges\": []}}";
    expect_load_error("ByteLevel pre-tokenizer", write_tmp("bl.json", s, strlen(s)),
                      AS_ERR_UNSUPPORTED, "bl.json", "pre_tokenizer.type");
    s = "{\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"WordPiece\"}]}, "
        "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}";
    expect_load_error("WordPiece decoder", write_tmp("wp.json", s, strlen(s)), AS_ERR_UNSUPPORTED,
                      "wp.json", "decoder.decoders[0].type");

    /* the real file, truncated at several points */
    const char *real_json = tu_data_path("tokenizers/llama2/tokenizer.json");
    tu_require_data("tokenizers/llama2/tokenizer.json");
    size_t real_n;
    char *real = tt_read(real_json, &real_n);
    size_t cuts[] = {1, 100, 1000, real_n / 3, real_n / 2, real_n - 2};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        char name[64], what[64];
        snprintf(name, sizeof name, "trunc%zu.json", k);
        snprintf(what, sizeof what, "tokenizer.json cut at %zu", cuts[k]);
        expect_load_error(what, write_tmp(name, real, cuts[k]), AS_ERR_FORMAT, name,
                          "not valid JSON");
    }
    free(real);

    /* tokenizer_config.json beside a tokenizer.json */
    char sub[2048];
    snprintf(sub, sizeof sub, "%s/hf", dir);
    mkdir(sub, 0755);
    {
        char path[4096];
        const char *tj = TINY_HEAD
            "\"normalizer\": null, \"pre_tokenizer\": null, \"decoder\": null, "
            "\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, "
            "\"byte_fallback\": false, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"a\": 2, "
            "\"b\": 3, \"ab\": 4, \"abb\": 5}, \"merges\": [[\"a\", \"b\"], \"ab b\"]}}";
        snprintf(path, sizeof path, "%s/tokenizer.json", sub);
        tu_write_file(path, tj, strlen(tj));
        snprintf(path, sizeof path, "%s/tokenizer_config.json", sub);
        tu_write_file(path, "{\"add_bos_token\": 3}", 20);
        expect_load_error("bad add_bos_token", sub, AS_ERR_FORMAT, "tokenizer_config.json",
                          "add_bos_token");
        tu_write_file(path, "{\"add_bos_token\": false, \"bos_token\": {\"content\": \"<s>\"}}",
                      57);
        struct as_tokenizer t;
        struct as_err err = {0};
        TU_CHECK(as_tokenizer_load(&t, sub, &err) == AS_OK, "tiny HF dir: %s", err.msg);
        TU_CHECK(as_tokenizer_add_bos_default(&t) == 0 && t.bos_id == 1,
                 "add_bos_token false, bos 1");
        as_tokenizer_free(&t);
        /* pair-form and string-form merges; unk fused over consecutive unknown chars */
        int32_t w1[] = {1, 5, 2, 0, 4};
        expect_ids("tiny BPE: abbacca ab", sub, "abbaccab", 1, w1, 5);
        int32_t w2[] = {0, 3};
        expect_ids("tiny BPE: unknown chars", sub, "xyzb", 0, w2, 2);
    }
    {
        /* no byte fallback and no unk: an unknown character is an error naming it */
        const char *tj = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}";
        const char *path = write_tmp("nounk.json", tj, strlen(tj));
        struct as_tokenizer t;
        struct as_err err = {0};
        TU_CHECK(as_tokenizer_load(&t, path, &err) == AS_OK, "nounk: %s", err.msg);
        struct as_encoding e;
        as_status st = as_tokenizer_encode(&t, "aé", 3, 0, &e, &err);
        TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "U+00E9") &&
                     strstr(err.msg, "byte offset 1"),
                 "unknown char: %s", err.msg);
        st = as_tokenizer_encode(&t, "a", 1, 1, &e, &err);
        TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "BOS"), "BOS without a BOS piece: %s",
                 err.msg);
        as_encoding_free(&e);
        as_tokenizer_free(&t);
    }

    /* ---- GGUF */
    const char *gg_rel = "tokenizers/vectors/ggml-vocab-llama-spm.gguf";
    tu_require_data(gg_rel);
    size_t gn;
    char *gbuf = tt_read(tu_data_path(gg_rel), &gn);
    expect_load_error("GGUF cut in the header", write_tmp("cut1.gguf", gbuf, 20), AS_ERR_FORMAT,
                      "cut1.gguf", "truncated");
    expect_load_error("GGUF cut in the tokens", write_tmp("cut2.gguf", gbuf, gn / 3), AS_ERR_FORMAT,
                      "cut2.gguf", "tokenizer.ggml.tokens");
    expect_load_error("GGUF cut in the scores", write_tmp("cut3.gguf", gbuf, gn - 150000),
                      AS_ERR_FORMAT, "cut3.gguf", "tokenizer.ggml.scores");
    {
        /* a GGUF without tokenizer keys, and one with a non-llama tokenizer */
        uint8_t b[256];
        size_t n = 0;
#define PUTN(p, k) (memcpy(b + n, (p), (k)), n += (k))
        uint32_t v3 = 3, tstr = 8;
        uint64_t zero = 0, one = 1, l;
        PUTN("GGUF", 4);
        PUTN(&v3, 4);
        PUTN(&zero, 8);
        PUTN(&one, 8);
        l = 20;
        PUTN(&l, 8);
        PUTN("tokenizer.ggml.model", 20);
        PUTN(&tstr, 4);
        l = 4;
        PUTN(&l, 8);
        PUTN("gpt2", 4);
        expect_load_error("GGUF gpt2 vocabulary", write_tmp("gpt2.gguf", b, n), AS_ERR_UNSUPPORTED,
                          "gpt2.gguf", "tokenizer.ggml.model");
        memcpy(b + 24 + 8, "tokenizer.ggml.mode_", 20);
        expect_load_error("GGUF without tokenizer", write_tmp("novocab.gguf", b, n), AS_ERR_FORMAT,
                          "novocab.gguf", "tokenizer.ggml.model is missing");
#undef PUTN
    }
    free(gbuf);

    /* ---- llama2.c tokenizer.bin */
    tu_require_data("models/stories260K/tok512.bin");
    size_t bn;
    char *bbuf = tt_read(tu_data_path("models/stories260K/tok512.bin"), &bn);
    expect_load_error("tokenizer.bin cut in a record", write_tmp("cut.bin", bbuf, 1003),
                      AS_ERR_FORMAT, "cut.bin", "truncated");
    expect_load_error("tokenizer.bin with 2 bytes", write_tmp("cut2.bin", bbuf, 2), AS_ERR_FORMAT,
                      "cut2.bin", "max_token_length");
    /* every prefix either loads (a record boundary) or fails with a message */
    int clean = 1, loaded = 0;
    for (size_t k = 1; k < bn; k += 7) {
        const char *path = write_tmp("prefix.bin", bbuf, k);
        struct as_tokenizer t;
        struct as_err err = {0};
        as_status st = as_tokenizer_load(&t, path, &err);
        if (st == AS_OK)
            loaded++;
        else if (!strstr(err.msg, "prefix.bin"))
            clean = 0;
        as_tokenizer_free(&t);
    }
    TU_CHECK(clean, "every truncated tok512.bin fails with a message naming the file");
    printf("  ok  %-34s (%d of them load: they end on a record boundary)\n", "tok512.bin prefixes",
           loaded);
    free(bbuf);
    expect_load_error("llama2.c model as tokenizer",
                      tu_data_path("models/stories260K/stories260K.bin"), AS_ERR_FORMAT,
                      "stories260K.bin", "--tokenizer");
    return tu_finish("test_tok_badfiles");
}
