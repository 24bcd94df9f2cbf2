/* agree.c - IOR-style error agreement: before any collective step every rank
 * learns whether some rank failed, and the message of the lowest failing
 * rank, so all ranks take the same branch. */
#include <string.h>

#include "run_internal.h"

as_status as_mpi_agree(MPI_Comm comm, as_status local, struct as_err *err) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = local == AS_OK ? size : rank, first;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return as_err_set(err, AS_ERR_MPI, "MPI_Allreduce failed while agreeing on a status");
    if (first == size) return AS_OK;
    struct as_err msg = {0};
    int st = local;
    if (rank == first) {
        msg = err ? *err : (struct as_err){local, "unknown error"};
        msg.status = local;
    }
    if (MPI_Bcast(&st, 1, MPI_INT, first, comm) != MPI_SUCCESS ||
        MPI_Bcast(msg.msg, (int)sizeof msg.msg, MPI_CHAR, first, comm) != MPI_SUCCESS)
        return as_err_set(err, AS_ERR_MPI, "MPI_Bcast failed while agreeing on a status");
    if (rank != first && err) {
        if (local != AS_OK) /* keep our own message but prefer the first rank's */
            as_err_set(err, (as_status)st, "%s", msg.msg);
        else
            as_err_set(err, (as_status)st, "rank %d: %s", first, msg.msg);
    }
    return (as_status)st;
}
