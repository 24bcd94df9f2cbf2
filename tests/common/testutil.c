/* testutil.c - see testutil.h. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ATTNSWEEP_TEST_DATA_DIR
#define ATTNSWEEP_TEST_DATA_DIR "../shared/data"
#endif

int tu_failures = 0;
int tu_checks = 0;

int tu_finish(const char *name) {
    printf("%s: %d checks, %d failed\n", name, tu_checks, tu_failures);
    if (tu_checks == 0) {
        printf("%s: no check ran, which counts as a failure\n", name);
        return 1;
    }
    return tu_failures ? 1 : 0;
}

const char *tu_data_dir(void) {
    const char *e = getenv("ATTNSWEEP_DATA_DIR");
    return (e && *e) ? e : ATTNSWEEP_TEST_DATA_DIR;
}

const char *tu_data_path(const char *rel) {
    static char bufs[8][4096];
    static int next = 0;
    char *b = bufs[next++ % 8];
    snprintf(b, 4096, "%s/%s", tu_data_dir(), rel);
    return b;
}

void tu_require_data(const char *rel) {
    const char *p = tu_data_path(rel);
    struct stat st;
    if (stat(p, &st) != 0) {
        printf("SKIP: reference data %s not found (set -DATTNSWEEP_DATA_DIR=... or "
               "$ATTNSWEEP_DATA_DIR to the shared/data folder)\n",
               p);
        fflush(stdout);
        exit(TU_SKIP);
    }
}

int tu_compare_f32(const char *what, const float *got, const float *want, size_t n, double tol) {
    double maxd = 0;
    size_t maxi = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= tol)) { /* also catches NaN */
            if (bad < 5)
                fprintf(stderr, "  %s[%zu]: got %.9g want %.9g (|diff| %.3g > %.3g)\n", what, i,
                        got[i], want[i], d, tol);
            bad++;
        }
        if (d > maxd || d != d) {
            maxd = d;
            maxi = i;
        }
    }
    tu_checks++;
    printf("  %-48s n=%-9zu max|diff|=%.3g at %zu (tol %.1g)%s\n", what, n, maxd, maxi, tol,
           bad ? "  FAIL" : "");
    if (bad) {
        tu_failures++;
        fprintf(stderr, "FAIL %s: %zu of %zu elements differ by more than %.3g\n", what, bad, n,
                tol);
        return 0;
    }
    return 1;
}

static int parse_shape(const char *h, struct tu_npy *a) {
    const char *s = strstr(h, "'shape'");
    if (!s) return -1;
    s = strchr(s, '(');
    if (!s) return -1;
    s++;
    a->ndim = 0;
    a->numel = 1;
    while (*s && *s != ')') {
        while (*s == ' ' || *s == ',')
            s++;
        if (*s == ')') break;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || a->ndim >= 8) return -1;
        a->shape[a->ndim++] = (size_t)v;
        a->numel *= (size_t)v;
        s = end;
    }
    return 0;
}

int tu_npy_load(const char *path, struct tu_npy *a) {
    memset(a, 0, sizeof *a);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "npy: cannot open %s\n", path);
        return -1;
    }
    unsigned char pre[10];
    int rc = -1;
    char *hdr = NULL;
    void *raw = NULL;
    if (fread(pre, 1, 8, fp) != 8 || memcmp(pre, "\x93NUMPY", 6) != 0) goto out;
    size_t hlen;
    if (pre[6] == 1) {
        unsigned char b[2];
        if (fread(b, 1, 2, fp) != 2) goto out;
        hlen = b[0] | (size_t)b[1] << 8;
    } else {
        unsigned char b[4];
        if (fread(b, 1, 4, fp) != 4) goto out;
        hlen = b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
    }
    hdr = calloc(1, hlen + 1);
    if (!hdr || fread(hdr, 1, hlen, fp) != hlen) goto out;
    if (strstr(hdr, "'fortran_order': True")) goto out;
    int esize;
    if (strstr(hdr, "'<f4'"))
        a->kind = 'f', esize = 4;
    else if (strstr(hdr, "'<f8'"))
        a->kind = 'f', esize = 8;
    else if (strstr(hdr, "'<i4'"))
        a->kind = 'i', esize = 4;
    else if (strstr(hdr, "'<i8'"))
        a->kind = 'i', esize = 8;
    else
        goto out;
    if (parse_shape(hdr, a) != 0) goto out;
    raw = malloc(a->numel * esize + 1);
    if (!raw || fread(raw, esize, a->numel, fp) != a->numel) goto out;
    if (a->kind == 'f') {
        a->f = malloc(a->numel * sizeof(float) + 1);
        for (size_t i = 0; i < a->numel; i++)
            a->f[i] = esize == 4 ? ((float *)raw)[i] : (float)((double *)raw)[i];
    } else {
        a->i = malloc(a->numel * sizeof(int64_t) + 1);
        for (size_t i = 0; i < a->numel; i++)
            a->i[i] = esize == 4 ? ((int32_t *)raw)[i] : ((int64_t *)raw)[i];
    }
    rc = 0;
out:
    if (rc != 0) fprintf(stderr, "npy: cannot parse %s\n", path);
    free(hdr);
    free(raw);
    fclose(fp);
    return rc;
}

void tu_npy_free(struct tu_npy *a) {
    free(a->f);
    free(a->i);
    memset(a, 0, sizeof *a);
}

const char *tu_tmpdir(const char *tag) {
    static char buf[4096];
    const char *base = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/attnsweep-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(buf)) return NULL;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = fwrite(data, 1, n, fp);
    return (fclose(fp) == 0 && w == n) ? 0 : -1;
}

int tu_json_ints(json_t *arr, int32_t **out) {
    size_t n = json_array_size(arr);
    *out = malloc(sizeof(int32_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        (*out)[i] = (int32_t)json_integer_value(json_array_get(arr, i));
    return (int)n;
}

float *tu_json_floats(json_t *arr, size_t *n) {
    *n = json_array_size(arr);
    float *f = malloc(sizeof(float) * (*n ? *n : 1));
    for (size_t i = 0; i < *n; i++)
        f[i] = (float)json_number_value(json_array_get(arr, i));
    return f;
}
