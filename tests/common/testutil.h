/* testutil.h - tiny test harness shared by every C test.
 *
 * Tests exit 0 on success, 1 on any failed check, and 77 (CTest
 * SKIP_RETURN_CODE) when the reference data they need is absent, after
 * printing why. Checks never stop at the first failure: each prints what it
 * found and what it expected, and the test's exit code counts them. */
#ifndef ATTNSWEEP_TESTUTIL_H
#define ATTNSWEEP_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TU_SKIP 77

extern int tu_failures;
extern int tu_checks;

#define TU_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        tu_checks++;                                                                               \
        if (!(cond)) {                                                                             \
            tu_failures++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Prints a summary line "name: N checks, M failed" and returns the exit code. */
int tu_finish(const char *name);

/* The reference data folder: $ATTNSWEEP_DATA_DIR, else the CMake cache value. */
const char *tu_data_dir(void);
/* Joins tu_data_dir() and rel into a static buffer (one of 8 rotating buffers). */
const char *tu_data_path(const char *rel);
/* Exits with TU_SKIP and a visible message if tu_data_path(rel) does not exist. */
void tu_require_data(const char *rel);

/* Compares n floats; prints the first few mismatches and the max abs diff.
 * Returns 1 if every |got - want| <= tol, else 0 (and counts a failure). */
int tu_compare_f32(const char *what, const float *got, const float *want, size_t n, double tol);

/* Minimal .npy reader: little-endian <f4, <f8 (converted to float), <i4, <i8
 * (converted to int64), C order, version 1.0-3.0. */
struct tu_npy {
    int ndim;
    size_t shape[8];
    size_t numel;
    char kind;  /* 'f' or 'i' */
    float *f;   /* (numel) when kind == 'f' */
    int64_t *i; /* (numel) when kind == 'i' */
};
int tu_npy_load(const char *path, struct tu_npy *out); /* 0 on success */
void tu_npy_free(struct tu_npy *a);

/* Makes a fresh empty temporary directory; returns its path (static storage). */
const char *tu_tmpdir(const char *tag);
/* Writes n bytes to path; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t n);

/* A JSON array of integers / numbers (jansson) as a malloc'd int32 / float array (at least one
 * element allocated); returns the length. The caller frees *out / the result. */
struct json_t;
int tu_json_ints(struct json_t *arr, int32_t **out);
float *tu_json_floats(struct json_t *arr, size_t *n);

#endif
