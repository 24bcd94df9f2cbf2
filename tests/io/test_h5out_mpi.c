/* test_h5out_mpi.c - the sweep write pattern on N ranks (format 2):
 *   rank 0 creates the file whole; every rank opens it -> each rank writes
 *   the one-prompt batches i with i % N == rank, layer by layer,
 *   independently, and commits them -> collective close -> every rank reads
 *   everything back.
 * Half-way (after prompts 0-2 are committed, prompt 3 has one layer written
 * and nothing else) rank 0 copies the file as it is on disk to
 * <path>.crash.h5: what a job killed at that point leaves behind. The copy
 * must open, with status done for 0-2 and correct data for them.
 * Usage: mpiexec -n N test_h5out_mpi OUT.h5 STORE DTYPE  (check_h5out.py reads OUT.h5 after) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "attnsweep/h5out.h"
#include "h5test_data.h"
#include "testutil.h"

static int copy_file(const char *from, const char *to) {
    char *buf = NULL;
    size_t n = 0;
    struct as_err err;
    if (as_file_read_all(from, &buf, &n, &err) != AS_OK) return -1;
    int rc = tu_write_file(to, buf, n);
    free(buf);
    return rc;
}

static void write_file(const char *path, const char *crash_path, struct h5t_set *s, int rank,
                       int size) {
    struct as_err err = {0};
    struct as_h5file f;
    remove(crash_path);
    /* only rank 0 reads the spec */
    as_status st = as_h5file_create(&f, path, MPI_COMM_WORLD, 1, rank == 0 ? &s->cs : NULL, &err);
    TU_CHECK(st == AS_OK, "rank %d create %s: %s", rank, path, err.msg);
    if (st != AS_OK) return;
    for (int p = 0; p < 3; p++) {
        if (p % size != rank) continue;
        st = h5t_write_batch(&f, p, 1, &err);
        TU_CHECK(st == AS_OK, "rank %d write prompt %d: %s", rank, p, err.msg);
    }
    if (3 % size == rank && f.store != AS_STORE_NONE) { /* prompt 3 is "in flight" */
        struct as_h5batch b;
        float buf[H5T_H * 4 * 4];
        h5t_fill_layer(3, 0, H5T_H, 4, buf);
        st = as_h5batch_begin(&f, 3, 1, &b, &err);
        if (st == AS_OK) st = as_h5batch_write_layer(&b, 3, 0, buf, H5T_H, 4, &err);
        TU_CHECK(st == AS_OK, "rank %d partial prompt 3: %s", rank, err.msg);
        as_h5batch_free(&b);
    }
    st = as_h5file_flush(&f, &err);
    TU_CHECK(st == AS_OK, "rank %d flush: %s", rank, err.msg);
    if (rank == 0) TU_CHECK(copy_file(path, crash_path) == 0, "copy to %s failed", crash_path);
    MPI_Barrier(MPI_COMM_WORLD);
    for (int p = 3; p < H5T_NP; p++) {
        if (p % size != rank) continue;
        st = h5t_write_batch(&f, p, 1, &err);
        TU_CHECK(st == AS_OK, "rank %d write prompt %d: %s", rank, p, err.msg);
    }
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "rank %d close: %s", rank, err.msg);
}

static void verify(const char *path, int n_done, int rank) {
    struct as_err err = {0};
    struct as_h5file f;
    as_status st = as_h5file_open_read(&f, path, MPI_COMM_WORLD, &err);
    TU_CHECK(st == AS_OK, "rank %d open_read %s: %s", rank, path, err.msg);
    if (st != AS_OK) return;
    int8_t status[H5T_NP];
    st = as_h5file_read_status(&f, status, &err);
    TU_CHECK(st == AS_OK, "rank %d read status: %s", rank, err.msg);
    for (int p = 0; p < H5T_NP; p++) {
        int8_t want = p < n_done ? AS_PROMPT_DONE : AS_PROMPT_PENDING;
        TU_CHECK(status[p] == want, "%s: status[%d] = %d; expected %d", path, p, status[p], want);
        if (status[p] == AS_PROMPT_DONE && f.store != AS_STORE_NONE) h5t_check_prompt(&f, p);
    }
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "rank %d close after read: %s", rank, err.msg);
}

/* Resume: reopen read-write, mark the pending prompts failed, close. */
static void resume(const char *path, int rank) {
    struct as_err err = {0};
    struct as_h5file f;
    as_status st = as_h5file_open_rw(&f, path, MPI_COMM_WORLD, &err);
    TU_CHECK(st == AS_OK, "rank %d open_rw %s: %s", rank, path, err.msg);
    if (st != AS_OK) return;
    int8_t status[H5T_NP];
    st = as_h5file_read_status(&f, status, &err);
    TU_CHECK(st == AS_OK, "rank %d read status: %s", rank, err.msg);
    if (rank == 0)
        for (int p = 0; p < H5T_NP; p++)
            if (status[p] != AS_PROMPT_DONE) {
                st = as_h5file_set_status(&f, p, AS_PROMPT_FAILED, &err);
                TU_CHECK(st == AS_OK, "set failed: %s", err.msg);
            }
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "rank %d close after resume: %s", rank, err.msg);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int store = argc == 4 ? as_store_from_name(argv[2]) : -1;
    int dtype = argc == 4 ? as_out_dtype_from_name(argv[3]) : -1;
    if (store < 0 || dtype < 0) {
        if (rank == 0)
            fprintf(stderr, "usage: %s OUT.h5 full|last_row|none float32|float16\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    char crash[4200];
    snprintf(crash, sizeof crash, "%s.crash.h5", argv[1]);
    struct h5t_set s;
    h5t_set_init(&s, (enum as_store)store, (enum as_out_dtype)dtype);
    write_file(argv[1], crash, &s, rank, size);
    verify(argv[1], H5T_NP, rank);
    MPI_Barrier(MPI_COMM_WORLD);
    verify(crash, 3, rank);
    resume(crash, rank);

    char name[64];
    snprintf(name, sizeof name, "test_h5out_mpi[rank %d/%d]", rank, size);
    int rc = tu_finish(name), worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return worst;
}
