/* cmd_make_model.c - `attnsweep make-model --out DIR [--seed N] [--force]`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "attnsweep/defaults.h"
#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: attnsweep make-model --out DIR [--seed N] [--force]\n"
            "Writes the built-in default model: a small seeded random-weight Llama in HF format\n"
            "(config.json, model.safetensors, tokenizer.json, tokenizer_config.json).\n"
            "  --out DIR   output folder (created if missing)\n"
            "  --seed N    weight seed (default %u); same seed, same bytes\n"
            "  --force     overwrite existing files in DIR\n",
            AS_DEFAULT_MODEL_SEED);
}

int as_cmd_make_model(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"seed", required_argument, 0, 's'},
                                         {"force", no_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    unsigned long long seed = AS_DEFAULT_MODEL_SEED;
    int force = 0, c;
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
        case 'h': usage(stdout); return AS_EXIT_OK;
        default: usage(stderr); return AS_EXIT_USAGE;
        }
    }
    if (!out || optind != argc) {
        usage(stderr);
        return AS_EXIT_USAGE;
    }
    struct as_err err = {0};
    if (as_default_model_write(out, seed, force, &err) != AS_OK) {
        as_cli_error("make-model", &err);
        return AS_EXIT_FAIL;
    }
    printf("attnsweep make-model: wrote the default model (seed %llu) to %s\n", seed, out);
    return AS_EXIT_OK;
}
