/* rowcap.h - a struct as_capture for tests: assembles the blocks a prefill
 * and decode steps deliver into full per-sequence maps, and counts how often
 * each row arrived (every row of a final sequence must arrive exactly once). */
#ifndef ATTNSWEEP_TEST_ROWCAP_H
#define ATTNSWEEP_TEST_ROWCAP_H

#include "attnsweep/forward.h"

struct rowcap {
    int n_seq, L, H, T; /* T: capacity, the final sequence length */
    float *probs;       /* (n_seq, L, H, T, T), zeros where nothing arrived */
    float *scores;      /* (n_seq, L, H, T, T) */
    float *vnorm;       /* (n_seq, L, H, T) */
    int *seen;          /* (n_seq, L, T) probability rows received per (seq, layer, row) */
};

int rowcap_init(struct rowcap *c, int n_seq, int L, int H, int T);
void rowcap_free(struct rowcap *c);
/* all three sinks into c; vn is the model's struct as_vnorm (may be NULL with the naive kernel) */
struct as_capture rowcap_capture(struct rowcap *c, const struct as_vnorm *vn);
float *rowcap_probs(const struct rowcap *c, int seq, int layer);  /* (H, T, T) */
float *rowcap_scores(const struct rowcap *c, int seq, int layer); /* (H, T, T) */
float *rowcap_vnorm(const struct rowcap *c, int seq, int layer);  /* (H, T) */
/* every row 0..n-1 of every layer of seq arrived exactly once; counts a failure otherwise */
void rowcap_check_complete(const struct rowcap *c, int seq, int n, const char *what);

#endif
