/* sweep_test.h - helpers shared by the tests of src/sweep.
 *
 * Every test runs inside a fresh temporary directory that has a results/
 * folder, so that default output paths (results/<name>.h5) validate. */
#ifndef AS_SWEEP_TEST_H
#define AS_SWEEP_TEST_H

#define _GNU_SOURCE
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attnsweep/sweep.h"
#include "testutil.h"

#ifndef AS_SOURCE_DIR
#error "AS_SOURCE_DIR must point at the repository"
#endif

static char st_dir[4096];

static inline int st_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Creates and enters a temporary directory with a results/ folder. */
static inline void st_setup(const char *tag) {
    const char *d = tu_tmpdir(tag);
    if (!d) {
        fprintf(stderr, "cannot create a temporary directory\n");
        exit(1);
    }
    snprintf(st_dir, sizeof st_dir, "%s", d);
    if (chdir(st_dir) != 0 || mkdir("results", 0755) != 0) {
        fprintf(stderr, "cannot prepare %s\n", st_dir);
        exit(1);
    }
}

static inline void st_teardown(void) {
    if (chdir("/") == 0 && st_dir[0]) nftw(st_dir, st_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to <st_dir>/<rel>. */
static inline void st_write(const char *rel, const char *text) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", st_dir, rel);
    if (tu_write_file(p, text, strlen(text)) != 0) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(1);
    }
}

/* Loads yaml from memory as "t.yaml" with base dir st_dir. */
static inline as_status st_load(struct as_sweep *s, const char *yaml,
                                const struct as_sweep_overrides *ov, struct as_err *err) {
    as_err_clear(err);
    return as_sweep_load_string(s, yaml, strlen(yaml), "t.yaml", st_dir, ov, err);
}

/* Checks that loading yaml fails with status want and a message containing
 * every NULL-terminated needle. Returns 1 when it does. */
static inline int st_expect_fail_at(int line, const char *yaml, as_status want, ...) {
    struct as_sweep s;
    struct as_err err;
    as_status st = st_load(&s, yaml, NULL, &err);
    int ok = 1;
    tu_checks++;
    if (st != want) {
        fprintf(stderr, "FAIL line %d: status %s, expected %s; message: %s\n", line,
                as_status_str(st), as_status_str(want), err.msg);
        ok = 0;
    }
    va_list ap;
    va_start(ap, want);
    for (const char *n = va_arg(ap, const char *); n; n = va_arg(ap, const char *))
        if (!strstr(err.msg, n)) {
            fprintf(stderr, "FAIL line %d: message lacks \"%s\":\n  %s\n", line, n, err.msg);
            ok = 0;
        }
    va_end(ap);
    if (!ok)
        tu_failures++;
    else
        printf("  ok (line %d): %s\n", line, err.msg);
    as_sweep_free(&s);
    return ok;
}
#define ST_FAIL(yaml, status, ...) st_expect_fail_at(__LINE__, yaml, status, __VA_ARGS__, NULL)

#endif
