/* fuzz_tokenizer.c - tokenizer files on arbitrary bytes (tokenizer.json, llama2.c tokenizer.bin,
 * a GGUF vocabulary read from memory), each followed by an encode of a fixed text. */
#include "attnsweep/gguf.h"
#include "attnsweep/tokenizer.h"
#include "fuzz_common.h"

static void try_tok(const char *path) {
    struct as_tokenizer t;
    struct as_err err;
    if (as_tokenizer_load(&t, path, &err) == AS_OK) {
        struct as_encoding e;
        static const char text[] = "What is 15 plus 27? Caf\xc3\xa9 \xe6\x97\xa5";
        if (as_tokenizer_encode(&t, text, sizeof text - 1, 1, &e, &err) == AS_OK)
            as_encoding_free(&e);
        as_tokenizer_free(&t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (4u << 20)) return 0;
    char p[512];
    if (fz_file("tokenizer.json", data, size, p, sizeof p)) try_tok(p);
    if (fz_file("tokenizer.bin", data, size, p, sizeof p)) try_tok(p);
    if (fz_file("vocab.gguf", data, size, p, sizeof p)) try_tok(p);
    struct as_gguf g;
    struct as_err err;
    if (as_gguf_load_mem(&g, data, size, "fuzz.gguf", &err) == AS_OK) as_gguf_free(&g);
    return 0;
}
