/* fault.c - the ATTNSWEEP_FAULT_SITE test hook (attnsweep/fault.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fault.h"

as_status as_fault_check(const char *site, int rank, struct as_err *err) {
    const char *v = getenv("ATTNSWEEP_FAULT_SITE");
    if (!v || !*v) return AS_OK;
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    if (n != strlen(site) || strncmp(v, site, n) != 0) return AS_OK;
    if (colon && atoi(colon + 1) != rank) return AS_OK;
    return as_err_set(err, AS_ERR_INTERNAL,
                      "fault injected at %s on rank %d (ATTNSWEEP_FAULT_SITE, a test hook)", site,
                      rank);
}
