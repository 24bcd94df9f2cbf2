/* agree.c - IOR-style error agreement (see attnsweep/agree.h): before any
 * collective step every rank learns whether some rank failed, and the status
 * and message of the lowest failing rank, so all ranks take the same branch. */
#include <stdio.h>
#include <string.h>

#include "attnsweep/agree.h"

as_status as_mpi_agree(MPI_Comm comm, as_status local, struct as_err *err) {
    if (comm == MPI_COMM_NULL) return local;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (size <= 1) return local;
    int mine = local == AS_OK ? size : rank, first;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return as_err_set(err, AS_ERR_MPI, "MPI_Allreduce failed while agreeing on a status");
    if (first == size) return AS_OK;
    struct {
        int status;
        char msg[AS_ERR_MSG_MAX];
    } buf;
    memset(&buf, 0, sizeof buf);
    if (rank == first) {
        buf.status = (int)local;
        if (err)
            memcpy(buf.msg, err->msg, sizeof buf.msg);
        else
            snprintf(buf.msg, sizeof buf.msg, "unknown error");
    }
    if (MPI_Bcast(&buf, (int)sizeof buf, MPI_BYTE, first, comm) != MPI_SUCCESS)
        return as_err_set(err, AS_ERR_MPI, "MPI_Bcast failed while agreeing on a status");
    buf.msg[AS_ERR_MSG_MAX - 1] = '\0';
    if (rank == first) return local;
    if (local != AS_OK) { /* keep this rank's own message, return the agreed status */
        if (err) err->status = (as_status)buf.status;
        return (as_status)buf.status;
    }
    return as_err_set(err, (as_status)buf.status, "rank %d: %s", first, buf.msg);
}
