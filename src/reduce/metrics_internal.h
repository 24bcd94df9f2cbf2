/* metrics_internal.h - helpers shared by the src/reduce/ files (not public API). */
#ifndef ATTNSWEEP_REDUCE_METRICS_INTERNAL_H
#define ATTNSWEEP_REDUCE_METRICS_INTERNAL_H

#include <stdint.h>

#include "attnsweep/metrics.h"

/* One span of a prompt before token mapping; name points into the context
 * (declared) or is a string literal (derived). bytes -1 when absent. */
struct mx_span {
    const char *name;
    int kind;
    int64_t begin, end;
};

/* Fills out (if non-NULL) and returns the number of keyword occurrences /
 * notebook matches / spans of the context. */
int mx_count_occurrences(const struct as_metrics_ctx *c, struct as_metrics_occ *out);
int mx_count_notebook(const struct as_metrics_ctx *c, int32_t *kw, int32_t *pos);
int mx_list_spans(const struct as_metrics_ctx *c, struct mx_span *out);

#endif
