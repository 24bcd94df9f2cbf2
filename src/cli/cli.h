/* cli.h - the attnsweep subcommands. Each takes the argv that starts at the
 * subcommand name and returns the process exit code; all real work happens in
 * the library, these only parse options and print. */
#ifndef ATTNSWEEP_CLI_H
#define ATTNSWEEP_CLI_H

#include "attnsweep/status.h"

int as_cmd_extract(int argc, char **argv);
int as_cmd_reduce(int argc, char **argv);
int as_cmd_run(int argc, char **argv);
int as_cmd_tokenize(int argc, char **argv);
int as_cmd_make_model(int argc, char **argv);
int as_cmd_inspect(int argc, char **argv);

/* Prints "attnsweep <cmd>: error: <msg>" (and the status name) to stderr. */
void as_cli_error(const char *cmd, const struct as_err *err);

/* Exit codes shared by every subcommand. */
enum {
    AS_EXIT_OK = 0,
    AS_EXIT_FAIL = 1,           /* a runtime error (bad input, I/O, ...) */
    AS_EXIT_USAGE = 2,          /* bad command line */
    AS_EXIT_PROMPTS_FAILED = 3, /* run: the sweep finished but some prompts failed */
    AS_EXIT_STOPPED = 75, /* run: stopped on request (SIGUSR1/SIGTERM); resumable (EX_TEMPFAIL) */
};

#endif
