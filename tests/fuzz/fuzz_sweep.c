/* fuzz_sweep.c - the sweep YAML (libyaml, templates, products, validation) on arbitrary bytes. */
#include "attnsweep/sweep.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct as_sweep s;
    struct as_err err;
    struct as_sweep_overrides ov = {0};
    char out[512];
    snprintf(out, sizeof out, "%s/out.h5", fz_dir()); /* the output folder must exist */
    ov.output_path = out;
    if (as_sweep_load_string(&s, (const char *)data, size, "fuzz.yaml", fz_dir(), &ov, &err) ==
        AS_OK)
        as_sweep_free(&s);
    return 0;
}
