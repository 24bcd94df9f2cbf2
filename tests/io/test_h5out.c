/* test_h5out.c - the HDF5 output file on one rank: write 5 synthetic prompts
 * (full/last_row/none x float32/float16) through MPI-IO on MPI_COMM_SELF,
 * read them back serially and through MPI-IO, and check the refusal to
 * overwrite, id validation, argument checks and error messages. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

static void write_file(const char *path, const struct h5t_set *s) {
    struct as_err err = {0};
    struct as_h5file f;
    as_status st = as_h5file_create(&f, path, MPI_COMM_SELF, 0, &err);
    TU_CHECK(st == AS_OK, "create %s: %s", path, err.msg);
    if (st != AS_OK) return;
    struct as_h5_provenance pv = {.version = "0.1.0",
                                  .git_commit = "abc123",
                                  .model_path = "/nonexistent/model",
                                  .command_line = "attnsweep extract --prompt \"Hello\"",
                                  .model_size = -1,
                                  .model_mtime = -1,
                                  .config_text = "model: {path: m}\n"};
    st = as_h5file_write_provenance(&f, &pv, &err);
    TU_CHECK(st == AS_OK, "provenance: %s", err.msg);
    struct as_config c = h5t_config();
    st = as_h5file_write_model(&f, &c, &err);
    TU_CHECK(st == AS_OK, "model: %s", err.msg);
    st = as_h5file_create_prompts(&f, s->specs, H5T_NP, &err);
    TU_CHECK(st == AS_OK, "create prompts: %s", err.msg);
    st = as_h5file_create_prompts(&f, s->specs, H5T_NP, &err);
    TU_CHECK(st == AS_ERR_INVALID, "second create_prompts gave %d; expected invalid", (int)st);

    for (int p = 0; p < H5T_NP; p++) {
        st = h5t_write_prompt(&f, p, s, &err);
        TU_CHECK(st == AS_OK, "write prompt %d: %s", p, err.msg);
        st = as_h5file_set_status(&f, p, AS_PROMPT_DONE, &err);
        TU_CHECK(st == AS_OK, "status %d: %s", p, err.msg);
    }
    /* argument checks on the write path */
    float dummy[H5T_H * 5 * 5] = {0};
    st = as_h5file_write_attention_layer(&f, "alpha", H5T_L, dummy, H5T_H, 5, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "alpha") && strstr(err.msg, path),
             "layer out of range gave %d: %s", (int)st, err.msg);
    st = as_h5file_write_attention_layer(&f, "alpha", 0, dummy, H5T_H, 6, &err);
    TU_CHECK(st == AS_ERR_INVALID, "wrong T gave %d: %s", (int)st, err.msg);
    st = as_h5file_write_attention_layer(&f, "nope", 0, dummy, H5T_H, 5, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "nope"), "unknown id gave %d: %s", (int)st,
             err.msg);
    st = as_h5file_set_status(&f, H5T_NP, AS_PROMPT_DONE, &err);
    TU_CHECK(st == AS_ERR_INVALID, "status index out of range gave %d", (int)st);
    st = as_h5file_set_status(&f, 4, AS_PROMPT_PENDING, &err); /* epsilon stays pending */
    TU_CHECK(st == AS_OK, "status reset: %s", err.msg);
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
    TU_CHECK(f.n_prompts == H5T_NP, "n_prompts = %lld", (long long)f.n_prompts);
    int8_t status[H5T_NP] = {0};
    st = as_h5file_read_status(&f, status, &err);
    TU_CHECK(st == AS_OK, "read status: %s", err.msg);
    for (int p = 0; p < H5T_NP; p++) {
        int8_t want = p == 4 ? AS_PROMPT_PENDING : AS_PROMPT_DONE;
        TU_CHECK(status[p] == want, "status[%d] = %d; expected %d", p, status[p], want);
        h5t_verify_prompt(&f, p, s);
    }
    struct as_h5prompt h;
    st = as_h5prompt_open(&f, 1, &h, &err);
    char *text = NULL;
    if (st == AS_OK) st = as_h5prompt_read_text(&h, &text, &err);
    TU_CHECK(st == AS_OK && text && !strcmp(text, s->specs[1].text), "text of prompt 1: %s",
             text ? text : err.msg);
    free(text);
    float x[H5T_H * 36] = {0};
    st = as_h5prompt_write_attention_layer(&h, 0, x, H5T_H, 6, &err);
    TU_CHECK(st == AS_ERR_INVALID, "write on a read-only file gave %d", (int)st);
    as_h5prompt_close(&h, NULL);
    st = as_h5prompt_open(&f, 99, &h, &err);
    TU_CHECK(st == AS_ERR_INVALID, "open of prompt 99 gave %d", (int)st);
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "close: %s", err.msg);
}

/* An existing file is never touched without force. */
static void test_refuse_overwrite(const char *dir, const char *h5path) {
    struct as_err err = {0};
    struct as_h5file f;
    size_t n0 = 0, n1 = 0;
    char *before = slurp(h5path, &n0);
    as_status st = as_h5file_create(&f, h5path, MPI_COMM_SELF, 0, &err);
    TU_CHECK(st == AS_ERR_EXISTS, "create over an existing file gave %d; expected exists", (int)st);
    TU_CHECK(strstr(err.msg, "--force") && strstr(err.msg, h5path), "message: %s", err.msg);
    printf("  overwrite refused: %s\n", err.msg);
    char *after = slurp(h5path, &n1);
    TU_CHECK(before && after && n0 == n1 && !memcmp(before, after, n0),
             "existing HDF5 file changed (%zu -> %zu bytes)", n0, n1);
    free(before);
    free(after);

    char txt[4200];
    snprintf(txt, sizeof txt, "%s/notes.txt", dir);
    tu_write_file(txt, "keep me\n", 8);
    st = as_h5file_create(&f, txt, MPI_COMM_SELF, 0, &err);
    TU_CHECK(st == AS_ERR_EXISTS, "create over a text file gave %d", (int)st);
    after = slurp(txt, &n1);
    TU_CHECK(after && n1 == 8 && !memcmp(after, "keep me\n", 8), "text file changed");
    free(after);

    /* open_read of a non-HDF5 file / a missing file names the path */
    st = as_h5file_open_read(&f, txt, MPI_COMM_NULL, &err);
    TU_CHECK(st == AS_ERR_HDF5 && strstr(err.msg, txt) && strstr(err.msg, "HDF5:"),
             "open of a text file gave %d: %s", (int)st, err.msg);
    printf("  not HDF5: %s\n", err.msg);
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/missing.h5", dir);
    st = as_h5file_open_read(&f, missing, MPI_COMM_NULL, &err);
    TU_CHECK(st == AS_ERR_HDF5 && strstr(err.msg, missing), "open of a missing file: %s", err.msg);

    /* force replaces it */
    st = as_h5file_create(&f, txt, MPI_COMM_SELF, 1, &err);
    TU_CHECK(st == AS_OK, "create with force: %s", err.msg);
    as_h5file_close(&f, &err);
    /* a file without /sweep is not a complete attnsweep file */
    st = as_h5file_open_read(&f, txt, MPI_COMM_NULL, &err);
    TU_CHECK(st != AS_OK && strstr(err.msg, "/sweep"), "open of an empty output: %s", err.msg);
}

static void test_invalid_specs(const char *dir, const struct h5t_set *s) {
    struct as_err err = {0};
    struct as_h5file f;
    char path[4200];
    snprintf(path, sizeof path, "%s/invalid.h5", dir);
    as_status st = as_h5file_create(&f, path, MPI_COMM_SELF, 0, &err);
    TU_CHECK(st == AS_OK, "create: %s", err.msg);
    if (st != AS_OK) return;
    struct as_h5_prompt_spec sp[2];
    const char *bad[] = {"a/b/c", "a/", "/b", "a/..", ".", "", "..", "tab\there", "bad\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sp[0] = s->specs[0];
        sp[0].id = bad[i];
        st = as_h5file_create_prompts(&f, sp, 1, &err);
        TU_CHECK(st == AS_ERR_INVALID, "id '%s' gave %d", bad[i], (int)st);
    }
    sp[0] = s->specs[0], sp[1] = s->specs[2];
    sp[1].id = sp[0].id;
    st = as_h5file_create_prompts(&f, sp, 2, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "unique"), "duplicate ids: %s", err.msg);
    sp[1] = s->specs[2];
    int32_t off[10];
    memcpy(off, h5t_off2, sizeof off);
    off[9] = 99; /* end beyond the text */
    sp[1].offsets = off;
    st = as_h5file_create_prompts(&f, sp, 2, &err);
    TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, "offsets[4]"), "bad offsets: %s", err.msg);
    sp[1] = s->specs[2];
    sp[1].n_tokens = 0;
    st = as_h5file_create_prompts(&f, sp, 2, &err);
    TU_CHECK(st == AS_ERR_INVALID, "T = 0 gave %d", (int)st);
    /* after rejected specs the file is still usable */
    st = as_h5file_create_prompts(&f, s->specs, H5T_NP, &err);
    TU_CHECK(st == AS_OK, "valid specs after invalid ones: %s", err.msg);
    st = as_h5file_close(&f, &err);
    TU_CHECK(st == AS_OK, "close: %s", err.msg);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    TU_CHECK(as_h5_id_validate("beta caf\xc3\xa9", NULL) == AS_OK, "UTF-8 id rejected");
    TU_CHECK(as_store_from_name("last_row") == AS_STORE_LAST_ROW, "store name");
    TU_CHECK(as_out_dtype_from_name("float16") == AS_OUT_F16, "dtype name");
    TU_CHECK(as_store_from_name("bogus") == -1, "bogus store name");
    const char *dir = tu_tmpdir("h5out");
    char path[4200];
    snprintf(path, sizeof path, "%s/one.h5", dir);
    struct h5t_set s;
    h5t_set_init(&s);
    write_file(path, &s);
    verify_file(path, &s, MPI_COMM_NULL); /* serial sec2 driver */
    verify_file(path, &s, MPI_COMM_SELF); /* MPI-IO on one rank */
    test_refuse_overwrite(dir, path);
    test_invalid_specs(dir, &s);
    int rc = tu_finish("test_h5out");
    if (rc == 0) { /* keep the files for inspection when something failed */
        const char *names[] = {"one.h5", "notes.txt", "invalid.h5"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            remove(path);
        }
        remove(dir);
    }
    MPI_Finalize();
    return rc;
}
