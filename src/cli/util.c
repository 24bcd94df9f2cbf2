/* util.c - see util.h. */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double as_cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

char *as_cli_join_argv(int argc, char **argv, const char *prog) {
    size_t cap = strlen(prog) + 1;
    for (int i = 0; i < argc; i++)
        cap += 4 * strlen(argv[i]) + 4;
    char *s = malloc(cap), *p = s;
    if (!s) return NULL;
    p += sprintf(p, "%s", prog);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a != '\0';
        for (const char *q = a; *q; q++)
            if (!(strchr("-_./=,:+@%", *q) || (*q >= '0' && *q <= '9') ||
                  (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
                plain = 0;
        *p++ = ' ';
        if (plain) {
            p += sprintf(p, "%s", a);
        } else {
            *p++ = '\'';
            for (const char *q = a; *q; q++) {
                if (*q == '\'')
                    p += sprintf(p, "'\\''");
                else
                    *p++ = *q;
            }
            *p++ = '\'';
        }
    }
    *p = '\0';
    return s;
}

as_status as_cli_read_stream(FILE *fp, char **out, size_t *len, struct as_err *err) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return as_err_set(err, AS_ERR_NOMEM, "standard input: out of memory");
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return as_err_set(err, AS_ERR_NOMEM, "standard input: out of memory");
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, fp);
        n += r;
        if (r == 0) break;
    }
    if (ferror(fp)) {
        free(buf);
        return as_err_set(err, AS_ERR_IO, "standard input: read error");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return AS_OK;
}

as_status as_cli_parse_ids(const char *s, int32_t **ids, int *n, struct as_err *err) {
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    int32_t *v = malloc(sizeof(int32_t) * cap);
    if (!v) return as_err_set(err, AS_ERR_NOMEM, "--ids: out of memory");
    int k = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || (*end && *end != ',')) {
            free(v);
            return as_err_set(err, AS_ERR_INVALID,
                              "--ids: expected comma-separated non-negative integers, found '%s' "
                              "at character %ld",
                              p, (long)(p - s));
        }
        v[k++] = (int32_t)x;
        p = *end ? end + 1 : end;
    }
    *ids = v;
    *n = k;
    return AS_OK;
}
