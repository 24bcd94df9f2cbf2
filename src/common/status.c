/* status.c - error message recording (see include/attnsweep/status.h). */
#define _POSIX_C_SOURCE 200809L
#include "attnsweep/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

as_status as_err_set(struct as_err *e, as_status s, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->status = s;
    }
    return s;
}

void as_err_prefix(struct as_err *e, const char *fmt, ...) {
    if (!e) return;
    char head[AS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    const size_t cap = sizeof e->msg, hl = strlen(head);
    if (hl + 2 >= cap) {
        memcpy(e->msg, head, cap - 1);
        e->msg[cap - 1] = '\0';
        return;
    }
    size_t ol = strnlen(e->msg, cap - 1);
    if (ol > cap - 1 - hl - 2) ol = cap - 1 - hl - 2;
    memmove(e->msg + hl + 2, e->msg, ol);
    e->msg[hl + 2 + ol] = '\0';
    memcpy(e->msg, head, hl);
    e->msg[hl] = ':';
    e->msg[hl + 1] = ' ';
}

void as_err_clear(struct as_err *e) {
    if (!e) return;
    e->status = AS_OK;
    e->msg[0] = '\0';
}

const char *as_status_str(as_status s) {
    switch (s) {
    case AS_OK: return "ok";
    case AS_ERR_IO: return "I/O error";
    case AS_ERR_FORMAT: return "format error";
    case AS_ERR_INVALID: return "invalid input";
    case AS_ERR_UNSUPPORTED: return "unsupported";
    case AS_ERR_NOMEM: return "out of memory";
    case AS_ERR_EXISTS: return "already exists";
    case AS_ERR_HDF5: return "HDF5 error";
    case AS_ERR_MPI: return "MPI error";
    case AS_ERR_INTERNAL: return "internal error";
    case AS_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}
