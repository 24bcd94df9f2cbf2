/* test_h5out_mpi.c - the sweep write pattern on N ranks:
 *   collective create (provenance, model, all prompts) -> each rank writes
 *   the prompts i with i % N == rank, layer by layer, independently, then
 *   marks them done -> collective close -> every rank reads everything back.
 * Half-way (after prompts 0-2 are done, prompt 3 has one layer written and
 * nothing else is written) rank 0 copies the file as it is on disk to
 * <path>.crash.h5: what a job killed at that point leaves behind. The copy
 * must open, with status done for 0-2 and correct data for them.
 * Usage: mpiexec -n N test_h5out_mpi OUT.h5   (check_h5out.py reads OUT.h5 after) */
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

/* every rank must call the same sequence; a failed check on one rank is
 * reported at the end through the exit code */
static int write_file(const char *path, const char *crash_path, const struct h5t_set *s, int rank,
                      int size) {
    struct as_err err = {0};
    struct as_h5file f;
    remove(crash_path);
    as_status st = as_h5file_create(&f, path, MPI_COMM_WORLD, 1, &err);
    TU_CHECK(st == AS_OK, "rank %d create %s: %s", rank, path, err.msg);
    if (st != AS_OK) return 1;
    struct as_h5_provenance pv = {.version = "0.1.0",
                                  .git_commit = "abc123",
                                  .model_path = "/nonexistent/model",
                                  .command_line = "mpirun attnsweep run sweep.yaml",
                                  .model_size = 1234,
                                  .model_mtime = 1700000000,
                                  .config_sha256 = "00ff",
                                  .config_text = "groups: []\n"};
    st = as_h5file_write_provenance(&f, &pv, &err);
    TU_CHECK(st == AS_OK, "rank %d provenance: %s", rank, err.msg);
    struct as_config c = h5t_config();
    st = as_h5file_write_model(&f, &c, &err);
    TU_CHECK(st == AS_OK, "rank %d model: %s", rank, err.msg);

    /* arguments that differ between ranks are caught before touching the file */
    struct h5t_set odd = *s;
    if (rank == size - 1 && size > 1) odd.specs[2].text = "The quick brown fix";
    st = as_h5file_create_prompts(&f, odd.specs, H5T_NP, &err);
    TU_CHECK(size == 1 || (st == AS_ERR_INVALID && strstr(err.msg, "differ between ranks")),
             "rank %d: differing specs gave %d: %s", rank, (int)st, err.msg);
    if (size == 1) { /* nothing differed: the file has its prompts already */
        TU_CHECK(st == AS_OK, "create prompts: %s", err.msg);
    } else {
        st = as_h5file_create_prompts(&f, s->specs, H5T_NP, &err);
        TU_CHECK(st == AS_OK, "rank %d create prompts: %s", rank, err.msg);
    }
    if (st != AS_OK) return as_h5file_close(&f, NULL), 1;

    for (int p = 0; p < 3; p++) {
        if (p % size != rank) continue;
        st = h5t_write_prompt(&f, p, s, &err);
        TU_CHECK(st == AS_OK, "rank %d write prompt %d: %s", rank, p, err.msg);
        st = as_h5file_set_status(&f, p, AS_PROMPT_DONE, &err);
        TU_CHECK(st == AS_OK, "rank %d status %d: %s", rank, p, err.msg);
    }
    if (3 % size == rank) { /* prompt 3 is "in flight": one layer, no status */
        float buf[H5T_H * 4 * 4];
        h5t_fill_layer(3, 0, H5T_H, 4, buf);
        st = as_h5file_write_attention_layer(&f, "delta", 0, buf, H5T_H, 4, &err);
        TU_CHECK(st == AS_OK, "rank %d partial prompt 3: %s", rank, err.msg);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) TU_CHECK(copy_file(path, crash_path) == 0, "copy to %s failed", crash_path);
    MPI_Barrier(MPI_COMM_WORLD);

    for (int p = 3; p < H5T_NP; p++) {
        if (p % size != rank) continue;
        st = h5t_write_prompt(&f, p, s, &err);
        TU_CHECK(st == AS_OK, "rank %d write prompt %d: %s", rank, p, err.msg);
        st = as_h5file_set_status(&f, p, AS_PROMPT_DONE, &err);
        TU_CHECK(st == AS_OK, "rank %d status %d: %s", rank, p, err.msg);
    }
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "rank %d close: %s", rank, err.msg);
    return 0;
}

static void verify(const char *path, const struct h5t_set *s, int n_done, int rank) {
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
        if (status[p] == AS_PROMPT_DONE) h5t_verify_prompt(&f, p, s);
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
    if (argc != 2) {
        if (rank == 0) fprintf(stderr, "usage: %s OUT.h5\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    char crash[4200];
    snprintf(crash, sizeof crash, "%s.crash.h5", argv[1]);
    struct h5t_set s;
    h5t_set_init(&s);
    write_file(argv[1], crash, &s, rank, size);
    verify(argv[1], &s, H5T_NP, rank);
    MPI_Barrier(MPI_COMM_WORLD);
    verify(crash, &s, 3, rank);
    resume(crash, rank);

    char name[64];
    snprintf(name, sizeof name, "test_h5out_mpi[rank %d/%d]", rank, size);
    int rc = tu_finish(name), worst = rc;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return worst;
}
