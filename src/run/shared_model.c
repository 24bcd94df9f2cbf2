/* shared_model.c - one copy of the weights per node.
 *
 * All-F32 aligned safetensors / llama2.c files are mapped read-only by every
 * rank: the kernel's page cache holds one copy per node. Anything that needs
 * conversion (BF16, F16, misaligned F32) is converted once, by the first rank
 * of each node, into an MPI-3 shared-memory window
 * (MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) + MPI_Win_allocate_shared); the
 * other ranks of the node attach their weight pointers to the same memory. */
#include <string.h>

#include "run_internal.h"

as_status as_shared_model_init(struct as_shared_model *sm, MPI_Comm comm, const char *path,
                               struct as_err *err) {
    as_status st = AS_OK;
    memset(sm, 0, sizeof *sm);
    sm->win = MPI_WIN_NULL;
    sm->node = MPI_COMM_NULL;
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &sm->node) != MPI_SUCCESS)
        st = as_err_set(err, AS_ERR_MPI, "MPI_Comm_split_type(SHARED) failed");
    st = as_mpi_agree(comm, st, err);
    if (st != AS_OK) return st;
    MPI_Comm_set_errhandler(sm->node, MPI_ERRORS_RETURN);
    MPI_Comm_rank(sm->node, &sm->node_rank);
    MPI_Comm_size(sm->node, &sm->node_size);

    /* every rank parses the headers (cheap: mappings are lazy) */
    st = as_model_open(&sm->m, path, err);
    st = as_mpi_agree(comm, st, err);
    if (st != AS_OK) return st;
    if (as_model_can_map(&sm->m)) {
        st = as_model_load(&sm->m, err); /* zero copy: page cache shared by the node */
        /* numbers are checked once per node (a scan of the mapped weights) */
        if (st == AS_OK && sm->node_rank == 0) st = as_model_check_finite(&sm->m, err);
        return as_mpi_agree(comm, st, err);
    }
    MPI_Aint bytes = sm->node_rank == 0 ? (MPI_Aint)(sm->m.weights_floats * sizeof(float)) : 0;
    float *base = NULL;
    MPI_Info info;
    MPI_Info_create(&info);
    MPI_Info_set(info, "alloc_shared_noncontig", "false");
    int rc = MPI_Win_allocate_shared(bytes, (int)sizeof(float), info, sm->node, &base, &sm->win);
    MPI_Info_free(&info);
    if (rc != MPI_SUCCESS) {
        sm->win = MPI_WIN_NULL;
        st = as_err_set(err, AS_ERR_NOMEM,
                        "cannot allocate a %.2f GB shared-memory window for the weights of %s. "
                        "HINT: check the node's free memory and /dev/shm",
                        sm->m.weights_floats * 4e-9, path);
    }
    st = as_mpi_agree(comm, st, err);
    if (st != AS_OK) return st;
    MPI_Aint qsize;
    int disp;
    if (MPI_Win_shared_query(sm->win, 0, &qsize, &disp, &base) != MPI_SUCCESS)
        st = as_err_set(err, AS_ERR_MPI, "MPI_Win_shared_query failed");
    if (st == AS_OK && sm->node_rank == 0) st = as_model_load_into(&sm->m, base, err);
    if (st == AS_OK && sm->node_rank == 0) st = as_model_check_finite(&sm->m, err);
    st = as_mpi_agree(comm, st, err); /* the leader has filled the window before anyone reads */
    if (st != AS_OK) return st;
    if (sm->node_rank != 0) st = as_model_attach(&sm->m, base, err);
    return as_mpi_agree(comm, st, err);
}

void as_shared_model_free(struct as_shared_model *sm) {
    as_model_free(&sm->m);
    if (sm->win != MPI_WIN_NULL) MPI_Win_free(&sm->win);
    if (sm->node != MPI_COMM_NULL) MPI_Comm_free(&sm->node);
    sm->win = MPI_WIN_NULL;
    sm->node = MPI_COMM_NULL;
}
