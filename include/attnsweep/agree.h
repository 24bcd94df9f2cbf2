/* agree.h - the one cross-rank error agreement (IOR style).
 *
 * The rule: a collective block is preceded by local preparation and then by
 * as_mpi_agree. Every rank of comm returns the same status: the worst is not
 * chosen; the status of the LOWEST failing rank wins, and every rank ends with
 * that rank's message (a rank that failed itself keeps its own message, but
 * returns the agreed status). Ranks that did not fail get "rank R: <message>".
 * With comm == MPI_COMM_NULL it returns `local` unchanged (serial use). */
#ifndef ATTNSWEEP_AGREE_H
#define ATTNSWEEP_AGREE_H

#include <mpi.h>

#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

as_status as_mpi_agree(MPI_Comm comm, as_status local, struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
