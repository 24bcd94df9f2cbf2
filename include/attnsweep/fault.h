/* fault.h - fault injection at named sites (a test hook, documented in
 * docs/ARCHITECTURE.md). ATTNSWEEP_FAULT_SITE=<site>:<rank> makes the site
 * fail on that rank of the communicator; sites: create, open, commit, flush,
 * summary, close, generate (after the rank's first journaled decode group). The tests use it to
 * prove that a failure on one rank at any collective step gives a clear error on every rank, no
 * hang, and a file that --resume completes. */
#ifndef ATTNSWEEP_FAULT_H
#define ATTNSWEEP_FAULT_H

#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* AS_ERR_INTERNAL with a message naming the site and rank when the hook asks
 * this rank to fail at `site`, else AS_OK (err untouched). */
as_status as_fault_check(const char *site, int rank, struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
