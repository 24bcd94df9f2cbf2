/* main.c - attnsweep command-line entry point: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "attnsweep/version.h"
#include "cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"run", as_cmd_run, "run a YAML sweep over MPI ranks into one HDF5 file"},
    {"reduce", as_cmd_reduce,
     "recompute per-prompt metrics and the sweep summary of an output file"},
    {"extract", as_cmd_extract, "run one prompt and write its attention to an HDF5 file"},
    {"tokenize", as_cmd_tokenize, "show how a text is tokenized (ids, pieces, strings, offsets)"},
    {"make-model", as_cmd_make_model, "write the built-in default model (HF format) to a folder"},
    {"inspect", as_cmd_inspect, "print a model's configuration"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: attnsweep <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
    fprintf(f,
            "\n'attnsweep <command> --help' shows a command's options.\n"
            "attnsweep %s (%s)\n",
            ATTNSWEEP_VERSION, ATTNSWEEP_GIT_COMMIT);
}

void as_cli_error(const char *cmd, const struct as_err *err) {
    fprintf(stderr, "attnsweep %s: error: %s\n", cmd,
            err && err->msg[0] ? err->msg : as_status_str(err ? err->status : AS_ERR_INTERNAL));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return AS_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return AS_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("attnsweep %s (%s)\n", ATTNSWEEP_VERSION, ATTNSWEEP_GIT_COMMIT);
        return AS_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "attnsweep: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return AS_EXIT_USAGE;
}
