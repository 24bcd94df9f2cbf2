/* util.h - small helpers shared by the CLI subcommands. */
#ifndef ATTNSWEEP_CLI_UTIL_H
#define ATTNSWEEP_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "attnsweep/status.h"

/* Monotonic time in seconds. */
double as_cli_now(void);
/* "prog arg1 arg2 ..." with shell-unsafe arguments single-quoted (malloc'd). */
char *as_cli_join_argv(int argc, char **argv, const char *prog);
/* Reads a whole stream byte for byte (malloc'd, NUL-terminated). */
as_status as_cli_read_stream(FILE *fp, char **out, size_t *len, struct as_err *err);
/* Parses "1,2,3" into a malloc'd id array. */
as_status as_cli_parse_ids(const char *s, int32_t **ids, int *n, struct as_err *err);

#endif
