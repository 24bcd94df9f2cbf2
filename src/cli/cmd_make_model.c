/* cmd_make_model.c - `attnsweep make-model --out DIR [--preset P] [sizes] [--seed N] [--force]`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/defaults.h"
#include "attnsweep/dtype.h"
#include "attnsweep/synthetic.h"
#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: attnsweep make-model --out DIR [--preset default|tinyllama] [--layers N]\n"
            "                            [--dim D] [--heads H] [--kv-heads K] [--ffn F]\n"
            "                            [--dtype f32|bf16] [--seed N] [--force]\n"
            "Writes a seeded random-weight Llama in HF format (config.json, model.safetensors,\n"
            "tokenizer.json, tokenizer_config.json) with the built-in %d-piece tokenizer.\n"
            "  --out DIR        output folder (created if missing)\n"
            "  --preset P       default (4 layers, D 64, 8 heads, 2 kv heads; the built-in\n"
            "                   default model) or tinyllama (TinyLlama-1.1B shapes, 4.4 GB F32)\n"
            "  --layers --dim --heads --kv-heads --ffn   override the preset's sizes\n"
            "                   (head_dim = dim / heads)\n"
            "  --dtype T        stored weight type: f32 (default) or bf16 (as TinyLlama ships)\n"
            "  --seed N         weight seed (default %u); same seed, same bytes\n"
            "  --force          overwrite existing files in DIR\n",
            AS_DEFAULT_TOKENIZER_VOCAB, AS_DEFAULT_MODEL_SEED);
}

static int parse_pos(const char *opt, const char *v, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || !*v || x < 1 || x > 1 << 20) {
        fprintf(stderr, "attnsweep make-model: %s expects a positive integer, got '%s'\n", opt, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

int as_cmd_make_model(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},    {"seed", required_argument, 0, 's'},
        {"force", no_argument, 0, 'f'},        {"preset", required_argument, 0, 'p'},
        {"layers", required_argument, 0, 'L'}, {"dim", required_argument, 0, 'D'},
        {"heads", required_argument, 0, 'H'},  {"kv-heads", required_argument, 0, 'K'},
        {"ffn", required_argument, 0, 'F'},    {"dtype", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *out = NULL;
    unsigned long long seed = AS_DEFAULT_MODEL_SEED;
    int force = 0, c, layers = 0, dim = 0, heads = 0, kv = 0, ffn = 0, dtype = AS_DTYPE_F32;
    struct as_config cfg;
    as_default_config(&cfg);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's': {
            char *end;
            seed = strtoull(optarg, &end, 10);
            if (*end || !*optarg) {
                fprintf(stderr, "attnsweep make-model: --seed expects an integer, got '%s'\n",
                        optarg);
                return AS_EXIT_USAGE;
            }
            break;
        }
        case 'f': force = 1; break;
        case 'p':
            if (!strcmp(optarg, "default"))
                as_default_config(&cfg);
            else if (!strcmp(optarg, "tinyllama"))
                as_config_tinyllama(&cfg);
            else {
                fprintf(stderr,
                        "attnsweep make-model: --preset expects default or tinyllama, "
                        "got '%s'\n",
                        optarg);
                return AS_EXIT_USAGE;
            }
            break;
        case 'L':
            if (parse_pos("--layers", optarg, &layers)) return AS_EXIT_USAGE;
            break;
        case 'D':
            if (parse_pos("--dim", optarg, &dim)) return AS_EXIT_USAGE;
            break;
        case 'H':
            if (parse_pos("--heads", optarg, &heads)) return AS_EXIT_USAGE;
            break;
        case 'K':
            if (parse_pos("--kv-heads", optarg, &kv)) return AS_EXIT_USAGE;
            break;
        case 'F':
            if (parse_pos("--ffn", optarg, &ffn)) return AS_EXIT_USAGE;
            break;
        case 'T':
            if (!strcmp(optarg, "f32") || !strcmp(optarg, "float32"))
                dtype = AS_DTYPE_F32;
            else if (!strcmp(optarg, "bf16") || !strcmp(optarg, "bfloat16"))
                dtype = AS_DTYPE_BF16;
            else {
                fprintf(stderr, "attnsweep make-model: --dtype expects f32 or bf16, got '%s'\n",
                        optarg);
                return AS_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return AS_EXIT_OK;
        default: usage(stderr); return AS_EXIT_USAGE;
        }
    }
    if (!out || optind != argc) {
        usage(stderr);
        return AS_EXIT_USAGE;
    }
    if (layers) cfg.n_layers = layers;
    if (dim) cfg.dim = dim;
    if (heads) cfg.n_heads = heads;
    if (kv) cfg.n_kv_heads = kv;
    if (ffn) cfg.hidden_dim = ffn;
    if (dim || heads) cfg.head_dim = cfg.dim / cfg.n_heads;
    struct as_err err = {0};
    if (cfg.head_dim * cfg.n_heads != cfg.dim || cfg.head_dim % 2) {
        fprintf(stderr, "attnsweep make-model: dim %d must be an even multiple of heads %d\n",
                cfg.dim, cfg.n_heads);
        return AS_EXIT_USAGE;
    }
    if (as_config_validate(&cfg, "make-model", &err) != AS_OK ||
        as_default_model_write(out, &cfg, seed, dtype, force, &err) != AS_OK) {
        as_cli_error("make-model", &err);
        return AS_EXIT_FAIL;
    }
    printf("attnsweep make-model: wrote a %d-layer, dim %d, %d-head (%d kv) model (seed %llu) "
           "to %s\n",
           cfg.n_layers, cfg.dim, cfg.n_heads, cfg.n_kv_heads, seed, out);
    return AS_EXIT_OK;
}
