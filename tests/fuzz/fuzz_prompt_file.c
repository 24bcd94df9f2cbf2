/* fuzz_prompt_file.c - a `file:` prompt list (JSONL, and plain text) with arbitrary bytes. */
#include "attnsweep/sweep.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char p[512];
    struct as_sweep_overrides ov = {0};
    char out[512];
    snprintf(out, sizeof out, "%s/out.h5", fz_dir());
    ov.output_path = out;
    for (int k = 0; k < 2; k++) {
        const char *name = k ? "prompts.txt" : "prompts.jsonl";
        if (!fz_file(name, data, size, p, sizeof p)) return 0;
        char yaml[256];
        int n = snprintf(yaml, sizeof yaml, "groups:\n  - name: g\n    file: %s\n", name);
        struct as_sweep s;
        struct as_err err;
        if (as_sweep_load_string(&s, yaml, (size_t)n, "fuzz.yaml", fz_dir(), &ov, &err) == AS_OK)
            as_sweep_free(&s);
    }
    return 0;
}
