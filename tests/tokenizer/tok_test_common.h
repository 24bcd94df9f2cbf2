/* tok_test_common.h - helpers shared by the tokenizer tests (header-only). */
#ifndef ATTNSWEEP_TOK_TEST_COMMON_H
#define ATTNSWEEP_TOK_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/tokenizer.h"
#include "testutil.h"

/* Loads a vocabulary or fails the test (exit 1) with the library's message. */
static inline void tt_load(struct as_tokenizer *t, const char *path) {
    struct as_err err = {0};
    if (as_tokenizer_load(t, path, &err) != AS_OK) {
        fprintf(stderr, "FAIL: cannot load %s: %s\n", path, err.msg);
        exit(1);
    }
}

/* Compares an id list; prints both on mismatch. Returns 1 when equal. */
static inline int tt_ids_equal(const char *what, const int32_t *got, int n_got, const int32_t *want,
                               int n_want) {
    int ok = n_got == n_want;
    for (int i = 0; ok && i < n_got; i++)
        ok = got[i] == want[i];
    tu_checks++;
    if (!ok) {
        tu_failures++;
        fprintf(stderr, "FAIL %s\n  got  (%d):", what, n_got);
        for (int i = 0; i < n_got; i++)
            fprintf(stderr, " %d", (int)got[i]);
        fprintf(stderr, "\n  want (%d):", n_want);
        for (int i = 0; i < n_want; i++)
            fprintf(stderr, " %d", (int)want[i]);
        fputc('\n', stderr);
    }
    return ok;
}

/* Checks that offsets tile text[0, len): tokens in order, each span either
 * equal to the previous one (byte pieces of one character) or starting where
 * the previous ended, the last ending at len; BOS (first, when has_bos) is [0, 0]. */
static inline int tt_offsets_tile(const char *what, const struct as_encoding *e, size_t len,
                                  int has_bos) {
    int64_t prev_s = 0, prev_e = 0;
    int i0 = 0, ok = 1;
    if (has_bos) {
        ok = e->n > 0 && e->offsets[0] == 0 && e->offsets[1] == 0;
        i0 = 1;
    }
    for (int i = i0; ok && i < e->n; i++) {
        int32_t s = e->offsets[2 * i], en = e->offsets[2 * i + 1];
        int same = i > i0 && s == prev_s && en == prev_e;
        if (!(s <= en && (same || s == prev_e))) {
            fprintf(stderr, "  %s: token %d span [%d, %d) after [%lld, %lld)\n", what, i, (int)s,
                    (int)en, (long long)prev_s, (long long)prev_e);
            ok = 0;
        }
        prev_s = s;
        prev_e = en;
    }
    if (ok && (size_t)prev_e != len) {
        fprintf(stderr, "  %s: spans end at %lld, text has %zu bytes\n", what, (long long)prev_e,
                len);
        ok = 0;
    }
    TU_CHECK(ok, "%s: offsets do not tile the text", what);
    return ok;
}

/* Reads a whole file (NUL-terminated); exits 1 on failure. */
static inline char *tt_read(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "FAIL: cannot open %s\n", path);
        exit(1);
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, fp) != (size_t)n) {
        fprintf(stderr, "FAIL: cannot read %s\n", path);
        exit(1);
    }
    fclose(fp);
    b[n] = '\0';
    if (len) *len = (size_t)n;
    return b;
}

#endif
