/* fuzz_model.c - model files on arbitrary bytes: an HF folder whose model.safetensors is the
 * input (with a fixed, valid tiny config.json), an HF folder whose config.json is the input,
 * and a llama2.c .bin checkpoint. Loading converts and checks every tensor. */
#include "attnsweep/model.h"
#include "fuzz_common.h"

static const char config[] =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 8, \"intermediate_size\": 16,"
    " \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"num_hidden_layers\": 1,"
    " \"vocab_size\": 16, \"max_position_embeddings\": 32, \"rms_norm_eps\": 1e-5,"
    " \"tie_word_embeddings\": true}";

static void try_model(const char *path) {
    struct as_model m;
    struct as_err err;
    if (as_model_open(&m, path, &err) == AS_OK) {
        if (as_model_load(&m, &err) == AS_OK) as_model_check_finite(&m, &err);
        as_model_free(&m);
    }
}

/* $ATTNSWEEP_FUZZ_CONFIG: the config.json that goes with the seed safetensors (run_fuzz.sh), so
 * that mutations of the weights file reach the tensor checks; else a tiny built-in one */
static char *cfg;
static size_t cfg_len;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (4u << 20)) return 0;
    char p[512], d[512];
    if (!cfg) {
        const char *path = getenv("ATTNSWEEP_FUZZ_CONFIG");
        FILE *f = path ? fopen(path, "rb") : NULL;
        static char buf[65536];
        cfg_len = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f) fclose(f);
        if (!cfg_len) memcpy(buf, config, cfg_len = sizeof config - 1);
        cfg = buf;
    }
    snprintf(d, sizeof d, "%s/hf", fz_dir());
    mkdir(d, 0700);
    /* 1: safetensors */
    fz_file("hf/config.json", cfg, cfg_len, p, sizeof p);
    fz_file("hf/model.safetensors", data, size, p, sizeof p);
    try_model(d);
    /* 2: config.json (the weights file is then almost never consistent: the config parser runs) */
    fz_file("hf/config.json", data, size, p, sizeof p);
    try_model(d);
    /* 3: llama2.c */
    if (fz_file("model.bin", data, size, p, sizeof p)) try_model(p);
    return 0;
}
