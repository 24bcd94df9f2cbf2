/* capture.h - the worker's optional captures (output.weights: norms|both,
 * output.scores: true; docs/FORMAT.md "Value norms and scores"): one struct
 * per rank that turns the forward pass's value-norm and score blocks into the
 * file's layout, and the probability blocks into the worker's own sink. */
#ifndef ATTNSWEEP_RUN_CAPTURE_H
#define ATTNSWEEP_RUN_CAPTURE_H

#include "attnsweep/forward.h"
#include "run_internal.h"

struct as_capbuf {
    int active;       /* value norms or scores are stored: use as_forward_prefill */
    int norms;        /* /attention/value_norm */
    int scores;       /* /attention/scores_full or scores_last_row */
    int L, H;         /* stored layers and heads */
    const int *slot;  /* (model L) stored index of each model layer, -1 = not stored */
    const int *heads; /* (H) model head of each stored head, NULL = all */
    struct as_vnorm vn;
    struct as_h5file *f;
    struct as_attn_sink probs; /* the worker's (H, T, T) probability sink */
    /* the open batch */
    const int64_t *index; /* (n_seq) prompt of each packed sequence */
    int64_t first, tok0, n_tok;
    size_t cap_tok;   /* capacity of the row buffers in tokens */
    float *norm32;    /* (cap_tok, L, H) value norms */
    float *last32;    /* (cap_tok, L, H) last query rows (with value norms) */
    void *norm_rows;  /* (cap_tok, L, H) in the file's dtype (= norm32 for float32) */
    void *score_rows; /* (cap_tok, L, H) in the file's dtype (store last_row) */
    float *gather;    /* (H, Tmax, Tmax) stored heads of one score block */
};

/* Zero-initialise, then init: inactive (no allocation) unless the sweep
 * stores value norms or scores. max_tok: tokens of the largest batch, Tmax
 * the longest prompt of this rank. */
as_status as_capbuf_init(struct as_capbuf *cb, const struct as_job *j, const struct as_model *m,
                         struct as_h5file *f, const int *slot, const int *heads, int max_tok,
                         int Tmax, struct as_err *err);
void as_capbuf_free(struct as_capbuf *cb);
/* A new batch (rows zeroed, grown if the batch has more tokens); index: (n_seq) the prompt of
 * each packed sequence. */
as_status as_capbuf_begin(struct as_capbuf *cb, const struct as_h5batch *hb, const int64_t *index,
                          struct as_err *err);
/* The capture of the batch's forward call: probabilities to `probs`, value
 * norms and scores into the batch's rows (or, full scores, the file). */
void as_capbuf_capture(struct as_capbuf *cb, struct as_attn_sink probs, struct as_capture *cap);
/* Prompt `index`'s (T, L, H) last rows and value norms in the open batch
 * (NULL without value norms); valid after the batch's forward call. */
void as_capbuf_prompt(const struct as_capbuf *cb, int64_t index, const float **last,
                      const float **norms);
/* Writes the batch's value-norm and last-row score rows (before its commit). */
as_status as_capbuf_flush(struct as_capbuf *cb, struct as_err *err);

#endif
