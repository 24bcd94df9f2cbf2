/* cmd_inspect.c - `attnsweep inspect --model PATH`: validates a model and prints its config. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>

#include "attnsweep/model.h"
#include "cli.h"

int as_cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        if (c == 'm')
            path = optarg;
        else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: attnsweep inspect --model PATH   (HF directory or llama2.c .bin)\n");
            return c == 'h' ? AS_EXIT_OK : AS_EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: attnsweep inspect --model PATH\n");
        return AS_EXIT_USAGE;
    }
    struct as_model m;
    struct as_err err = {0};
    if (as_model_open(&m, path, &err) != AS_OK) {
        as_cli_error("inspect", &err);
        return AS_EXIT_FAIL;
    }
    printf("model: %s\n", path);
    as_config_print(&m.cfg, stdout);
    printf("  %-24s %d\n", "tensors", m.n_tensors);
    as_model_free(&m);
    return AS_EXIT_OK;
}
