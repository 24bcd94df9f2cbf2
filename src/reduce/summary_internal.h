/* summary_internal.h - pieces shared by summary.c, summary_h5.c and export.c (not public API). */
#ifndef ATTNSWEEP_REDUCE_SUMMARY_INTERNAL_H
#define ATTNSWEEP_REDUCE_SUMMARY_INTERNAL_H

#include "attnsweep/reduce.h"

/* Grouping of the summary's prompts (rows of sm->small). */
struct sm_input {
    int n_groups;
    char **group_names;   /* (n_groups) */
    int *group_of;        /* (sm->n) group of each row */
    char **variant_names; /* (sm->n) */
};

/* Fills every statistic of sm from sm->small / sm->index (rank 0). */
as_status sm_compute(struct as_summary *sm, const struct sm_input *in, struct as_err *err);

#endif
