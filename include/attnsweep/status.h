/* status.h - status codes and error messages shared by every attnsweep module.
 *
 * Library functions that can fail return an as_status and, when given a
 * non-NULL struct as_err, fill it with a human-readable message naming the
 * file, key or tensor, what was found and what was expected (optionally
 * followed by "HINT: ..."). Library code never exits or aborts; only the
 * command-line front end decides to stop. The caller owns the as_err. */
#ifndef ATTNSWEEP_STATUS_H
#define ATTNSWEEP_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum as_status {
    AS_OK = 0,
    AS_ERR_IO,          /* a file could not be opened, read, mapped or written */
    AS_ERR_FORMAT,      /* input exists but is malformed (bad JSON, truncated, bad offsets, ...) */
    AS_ERR_INVALID,     /* a value is well-formed but not acceptable (shape mismatch, bad option) */
    AS_ERR_UNSUPPORTED, /* valid input we deliberately do not handle (rope_scaling, unknown dtype)
                         */
    AS_ERR_NOMEM,       /* allocation failed */
    AS_ERR_EXISTS,      /* refusing to overwrite existing output */
    AS_ERR_HDF5,        /* the HDF5 library reported an error */
    AS_ERR_MPI,         /* an MPI call failed */
    AS_ERR_INTERNAL,    /* an internal invariant was violated: a bug in attnsweep */
    AS_ERR_INTERRUPTED  /* a graceful stop was requested */
} as_status;

#define AS_ERR_MSG_MAX 2048

struct as_err {
    as_status status;
    char msg[AS_ERR_MSG_MAX];
};

/* Records status s and a printf-style message in e (if e != NULL); returns s so
 * that callers can write `return as_err_set(e, AS_ERR_IO, "...")`. */
as_status as_err_set(struct as_err *e, as_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with more context ("while loading X: ..."). */
void as_err_prefix(struct as_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void as_err_clear(struct as_err *e);

/* Short stable name of a status code, e.g. "format error". */
const char *as_status_str(as_status s);

/* Always-on invariant check (never compiled out by NDEBUG, never aborts):
 * records AS_ERR_INTERNAL with file:line and jumps to the function's `done:`
 * label. The enclosing function must have `as_status ret` and `struct as_err *err`. */
#define AS_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ret = as_err_set(err, AS_ERR_INTERNAL, "%s:%d: internal invariant failed: %s",         \
                             __FILE__, __LINE__, #cond);                                           \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/* Evaluates a call returning as_status; on failure stores it in ret and jumps to done. */
#define AS_TRY(call)                                                                               \
    do {                                                                                           \
        ret = (call);                                                                              \
        if (ret != AS_OK) goto done;                                                               \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
