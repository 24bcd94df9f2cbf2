/* fuzz_encode.c - encode and decode arbitrary bytes with a real tokenizer
 * ($ATTNSWEEP_FUZZ_TOKENIZER, default: the TinyLlama tokenizer.json of ../shared/data): invalid
 * UTF-8 must be an error, never a crash, and valid text must give offsets that tile it. */
#include "attnsweep/tokenizer.h"
#include "fuzz_common.h"

static struct as_tokenizer tok;
static int have;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct as_err err;
    if (!have) {
        const char *p = getenv("ATTNSWEEP_FUZZ_TOKENIZER");
        if (!p) p = "../shared/data/tokenizers/llama2/tokenizer.json";
        if (as_tokenizer_load(&tok, p, &err) != AS_OK) {
            fprintf(stderr, "fuzz_encode: %s\n", err.msg);
            abort();
        }
        have = 1;
    }
    struct as_encoding e;
    if (as_tokenizer_encode(&tok, (const char *)data, size, 1, &e, &err) == AS_OK) {
        for (int i = 0; i < e.n; i++)
            if (e.offsets[2 * i] < 0 || e.offsets[2 * i + 1] < e.offsets[2 * i] ||
                (size_t)e.offsets[2 * i + 1] > size)
                abort(); /* an offset outside the text is a bug */
        as_encoding_free(&e);
    }
    return 0;
}
