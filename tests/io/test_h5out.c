/* test_h5out.c - the format-2 output file on one rank: every store mode and
 * dtype written in batches through MPI-IO on MPI_COMM_SELF, read back
 * serially and through MPI-IO; refusal to overwrite, atomic creation, id and
 * spec validation, format-1 and foreign files, and the error messages. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attnsweep/fileio.h"
#include "attnsweep/h5out.h"
#include "h5test_data.h"
#include "testutil.h"

static char *slurp(const char *path, size_t *n) {
    char *buf = NULL;
    struct as_err err;
    if (as_file_read_all(path, &buf, n, &err) != AS_OK) return NULL;
    return buf;
}

static void write_file(const char *path, struct h5t_set *s) {
    struct as_err err = {0};
    struct as_h5file f;
    as_status st = as_h5file_create(&f, path, MPI_COMM_SELF, 1, &s->cs, &err);
    TU_CHECK(st == AS_OK, "create %s: %s", path, err.msg);
    if (st != AS_OK) return;
    char partial[700];
    snprintf(partial, sizeof partial, "%.600s.partial", path);
    TU_CHECK(access(partial, F_OK) != 0, "the .partial file is gone after creation");
    st = h5t_write_batch(&f, 0, 2, &err);
    TU_CHECK(st == AS_OK, "batch 0-1: %s", err.msg);
    st = h5t_write_batch(&f, 2, 3, &err);
    TU_CHECK(st == AS_OK, "batch 2-4: %s", err.msg);
    /* argument checks on the write path */
    struct as_h5batch b;
    float dummy[H5T_H * 6 * 6] = {0};
    st = as_h5batch_begin(&f, 4, 2, &b, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, path), "batch past the end gave %d: %s",
             (int)st, err.msg);
    st = as_h5batch_begin(&f, 0, 1, &b, &err);
    TU_CHECK(st == AS_OK, "batch: %s", err.msg);
    if (s->cs.store != AS_STORE_NONE) {
        st = as_h5batch_write_layer(&b, 0, H5T_L, dummy, H5T_H, 5, &err);
        TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "g/alpha"), "layer out of range: %s",
                 err.msg);
        st = as_h5batch_write_layer(&b, 0, 0, dummy, H5T_H, 6, &err);
        TU_CHECK(st == AS_ERR_INVALID, "wrong T gave %d", (int)st);
    }
    st = as_h5batch_write_layer(&b, 1, 0, dummy, H5T_H, 6, &err);
    TU_CHECK(st == AS_ERR_INVALID, "prompt outside the batch gave %d", (int)st);
    as_h5batch_free(&b);
    st = as_h5file_set_status(&f, H5T_NP, AS_PROMPT_DONE, &err);
    TU_CHECK(st == AS_ERR_INVALID, "status index out of range gave %d", (int)st);
    st = as_h5file_set_message(&f, 3, "it broke", &err);
    TU_CHECK(st == AS_OK, "message: %s", err.msg);
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "close: %s", err.msg);
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "second close is a no-op: %s", err.msg);
}

static void verify_file(const char *path, const struct h5t_set *s, MPI_Comm comm) {
    struct as_err err = {0};
    struct as_h5file f;
    as_status st = as_h5file_open_read(&f, path, comm, &err);
    TU_CHECK(st == AS_OK, "open_read %s: %s", path, err.msg);
    if (st != AS_OK) return;
    TU_CHECK(f.n_prompts == H5T_NP && f.store == s->cs.store && f.dtype == s->cs.dtype &&
                 f.n_layers == H5T_L && f.n_heads == H5T_H,
             "layout: n=%lld store=%d dtype=%d L=%d H=%d", (long long)f.n_prompts, (int)f.store,
             (int)f.dtype, f.n_layers, f.n_heads);
    int8_t status[H5T_NP];
    st = as_h5file_read_status(&f, status, &err);
    TU_CHECK(st == AS_OK, "read status: %s", err.msg);
    for (int p = 0; p < H5T_NP; p++) {
        TU_CHECK(status[p] == AS_PROMPT_DONE, "status[%d] = %d", p, status[p]);
        TU_CHECK(!strcmp(f.prompts[p].id, s->specs[p].id), "id %d = %s", p, f.prompts[p].id);
        TU_CHECK(as_h5file_find_prompt(&f, s->specs[p].id) == p, "find %s", s->specs[p].id);
        if (s->cs.store != AS_STORE_NONE) h5t_check_prompt(&f, p);
    }
    TU_CHECK(as_h5file_find_prompt(&f, "nope") == -1, "find of a missing id");
    char msg[AS_H5_MESSAGE_MAX + 1];
    st = as_h5file_read_message(&f, 3, msg, &err);
    TU_CHECK(st == AS_OK && !strcmp(msg, "it broke"), "message 3: '%s'", msg);
    st = as_h5file_read_message(&f, 2, msg, &err);
    TU_CHECK(st == AS_OK && !strcmp(msg, ""), "message 2 is empty: '%s'", msg);
    struct as_h5_tokens t;
    st = as_h5file_read_tokens(&f, &t, &err);
    TU_CHECK(st == AS_OK, "read tokens: %s", err.msg);
    if (st == AS_OK) {
        for (int p = 0; p < H5T_NP; p++) {
            TU_CHECK(!strcmp(t.texts[p], s->specs[p].text), "text %d: %s", p, t.texts[p]);
            TU_CHECK(!strcmp(t.group[p], s->specs[p].group), "group %d: %s", p, t.group[p]);
            int64_t t0 = f.prompts[p].tok_start;
            for (int k = 0; k < s->specs[p].n_tokens; k++) {
                TU_CHECK(t.token_id[t0 + k] == s->specs[p].token_ids[k], "token id %d.%d", p, k);
                TU_CHECK(!strcmp(t.tokens[t0 + k], s->specs[p].tokens[k]), "token %d.%d: %s", p, k,
                         t.tokens[t0 + k]);
                TU_CHECK(t.offsets[2 * (t0 + k) + 1] == s->specs[p].offsets[2 * k + 1],
                         "offset %d.%d", p, k);
            }
        }
        as_h5_tokens_free(&t);
    }
    char *yaml = NULL;
    size_t yl = 0;
    st = as_h5file_read_config(&f, &yaml, &yl, &err);
    TU_CHECK(st == AS_OK && yaml && !strcmp(yaml, "groups: []\n"), "config: %s", yaml);
    free(yaml);
    if (s->cs.store != AS_STORE_NONE) {
        float out[H5T_H * 8 * 8];
        st = as_h5file_read_attention_layer(&f, 99, 0, out, &err);
        TU_CHECK(st == AS_ERR_INVALID, "read of prompt 99 gave %d", (int)st);
    }
    struct as_h5batch b;
    st = as_h5batch_begin(&f, 0, 1, &b, &err);
    TU_CHECK(st == AS_ERR_INVALID, "a batch on a read-only file gave %d", (int)st);
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "close: %s", err.msg);
}

static void test_refusals(const char *dir, const char *h5path, struct h5t_set *s) {
    struct as_err err = {0};
    struct as_h5file f;
    size_t n0 = 0, n1 = 0;
    char *before = slurp(h5path, &n0);
    as_status st = as_h5file_create(&f, h5path, MPI_COMM_SELF, 0, &s->cs, &err);
    TU_CHECK(st == AS_ERR_EXISTS, "create over an existing file gave %d; expected exists", (int)st);
    TU_CHECK(strstr(err.msg, "--force") && strstr(err.msg, h5path), "message: %s", err.msg);
    char *after = slurp(h5path, &n1);
    TU_CHECK(before && after && n0 == n1 && !memcmp(before, after, n0),
             "the existing file changed");
    free(before), free(after);
    /* a directory as the output */
    st = as_h5file_create(&f, dir, MPI_COMM_SELF, 1, &s->cs, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "is a directory"), "directory: %s", err.msg);
    st = as_h5file_open_rw(&f, dir, MPI_COMM_SELF, &err);
    TU_CHECK(st != AS_OK && strstr(err.msg, "directory"), "open of a directory: %s", err.msg);
    /* a missing directory */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir/out.h5", dir);
    st = as_h5file_create(&f, missing, MPI_COMM_SELF, 0, &s->cs, &err);
    TU_CHECK(st == AS_ERR_IO && strstr(err.msg, "does not exist") && strstr(err.msg, missing),
             "missing directory: %s", err.msg);
    /* not an HDF5 file */
    char txt[600];
    snprintf(txt, sizeof txt, "%s/notes.txt", dir);
    tu_write_file(txt, "keep me\n", 8);
    st = as_h5file_open_read(&f, txt, MPI_COMM_NULL, &err);
    TU_CHECK(st == AS_ERR_HDF5 && strstr(err.msg, txt), "open of a text file: %s", err.msg);
    st = as_h5file_open_read(&f, missing, MPI_COMM_NULL, &err);
    TU_CHECK(st == AS_ERR_IO && strstr(err.msg, missing), "open of a missing file: %s", err.msg);
    /* a format-1 file and a foreign HDF5 file are refused and left alone */
    char v1[600], foreign[600];
    snprintf(v1, sizeof v1, "%s/v1.h5", dir);
    snprintf(foreign, sizeof foreign, "%s/foreign.h5", dir);
    for (int k = 0; k < 2; k++) {
        hid_t h = H5Fcreate(k ? foreign : v1, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (!k) {
            hid_t sp = H5Screate(H5S_SCALAR), t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, 10);
            hid_t a = H5Acreate2(h, "format", t, sp, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, t, "attnsweep");
            H5Aclose(a);
            int32_t one = 1;
            a = H5Acreate2(h, "format_version", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
            H5Awrite(a, H5T_NATIVE_INT32, &one);
            H5Aclose(a), H5Tclose(t), H5Sclose(sp);
        }
        H5Fclose(h);
    }
    n0 = 0;
    before = slurp(v1, &n0);
    st = as_h5file_open_rw(&f, v1, MPI_COMM_SELF, &err);
    TU_CHECK(st == AS_ERR_UNSUPPORTED && strstr(err.msg, "format_version is 1") &&
                 strstr(err.msg, v1),
             "format 1: %s", err.msg);
    after = slurp(v1, &n1);
    TU_CHECK(before && after && n0 == n1 && !memcmp(before, after, n0), "the v1 file changed");
    free(before), free(after);
    st = as_h5file_open_read(&f, foreign, MPI_COMM_NULL, &err);
    TU_CHECK(st == AS_ERR_FORMAT && strstr(err.msg, "not an attnsweep"), "foreign: %s", err.msg);
    /* a stale .partial from an interrupted creation is replaced */
    char out[600], partial[620];
    snprintf(out, sizeof out, "%s/fresh.h5", dir);
    snprintf(partial, sizeof partial, "%s.partial", out);
    tu_write_file(partial, "half", 4);
    st = as_h5file_create(&f, out, MPI_COMM_SELF, 0, &s->cs, &err);
    TU_CHECK(st == AS_OK && access(partial, F_OK) != 0, "stale partial: %s", err.msg);
    as_h5file_close(&f, NULL);
}

static void test_invalid_specs(const char *dir) {
    struct as_err err = {0};
    struct as_h5file f;
    char path[600];
    snprintf(path, sizeof path, "%s/invalid.h5", dir);
    static const char *bad[] = {"", ".", "a/b/c", "x\ny", "a/", "/b", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct h5t_set s;
        h5t_set_init(&s, AS_STORE_FULL, AS_OUT_F32);
        s.specs[1].id = bad[i];
        as_status st = as_h5file_create(&f, path, MPI_COMM_SELF, 1, &s.cs, &err);
        TU_CHECK(st == AS_ERR_INVALID, "id '%s' gave %d", bad[i], (int)st);
        TU_CHECK(access(path, F_OK) != 0, "an invalid spec left %s behind", path);
    }
    struct h5t_set s;
    h5t_set_init(&s, AS_STORE_FULL, AS_OUT_F32);
    s.specs[3].id = s.specs[0].id;
    as_status st = as_h5file_create(&f, path, MPI_COMM_SELF, 1, &s.cs, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "unique"), "duplicate ids: %s", err.msg);
    h5t_set_init(&s, AS_STORE_FULL, AS_OUT_F32);
    static const int32_t bad_off[] = {0, 0, 0, 5, 5, 7, 7, 10, 10, 99};
    s.specs[0].offsets = bad_off;
    st = as_h5file_create(&f, path, MPI_COMM_SELF, 1, &s.cs, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "offsets[4]"), "bad offsets: %s", err.msg);
    h5t_set_init(&s, AS_STORE_FULL, AS_OUT_F32);
    s.specs[2].n_tokens = 0;
    st = as_h5file_create(&f, path, MPI_COMM_SELF, 1, &s.cs, &err);
    TU_CHECK(st == AS_ERR_INVALID, "T = 0 gave %d", (int)st);
    st = as_h5file_create(&f, path, MPI_COMM_SELF, 1, NULL, &err);
    TU_CHECK(st == AS_ERR_INVALID, "no spec gave %d", (int)st);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    TU_CHECK(as_h5_id_validate("beta caf\xc3\xa9", NULL) == AS_OK, "UTF-8 id rejected");
    TU_CHECK(as_store_from_name("last_row") == AS_STORE_LAST_ROW, "store name");
    TU_CHECK(as_out_dtype_from_name("float16") == AS_OUT_F16, "dtype name");
    TU_CHECK(as_store_from_name("bogus") == -1, "bogus store name");
    const char *dir = tu_tmpdir("h5out");
    static const enum as_store st[] = {AS_STORE_FULL, AS_STORE_FULL, AS_STORE_LAST_ROW,
                                       AS_STORE_LAST_ROW, AS_STORE_NONE};
    static const enum as_out_dtype dt[] = {AS_OUT_F32, AS_OUT_F16, AS_OUT_F32, AS_OUT_F16,
                                           AS_OUT_F32};
    char path[600];
    for (int k = 0; k < 5; k++) {
        struct h5t_set s;
        h5t_set_init(&s, st[k], dt[k]);
        snprintf(path, sizeof path, "%s/out_%s_%s.h5", dir, as_store_name(st[k]),
                 as_out_dtype_name(dt[k]));
        write_file(path, &s);
        verify_file(path, &s, MPI_COMM_NULL);
        verify_file(path, &s, MPI_COMM_SELF);
        if (k == 0) test_refusals(dir, path, &s);
    }
    test_invalid_specs(dir);
    int rc = tu_finish("test_h5out");
    MPI_Finalize();
    return rc;
}
