/* runstate.c - scratch memory of the forward pass: one allocation, carved
 * into the buffers of struct as_runstate (llm.c's malloc_and_point style). */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/forward.h"

enum {
    RS_X,
    RS_XB,
    RS_Q,
    RS_K,
    RS_V,
    RS_ATT,
    RS_HB,
    RS_HB2,
    RS_PROBS,
    RS_COS,
    RS_SIN,
    RS_LAST,
    RS_N
};

static int rs_sizes(const struct as_config *c, int max_tokens, int max_seq_len, int max_seqs,
                    size_t sz[RS_N]) {
    size_t N = (size_t)max_tokens, T = (size_t)max_seq_len;
    size_t D = (size_t)c->dim, F = (size_t)c->hidden_dim, hd = (size_t)c->head_dim;
    size_t qd = (size_t)c->n_heads * hd, kvd = (size_t)c->n_kv_heads * hd;
    sz[RS_X] = N * D;
    sz[RS_XB] = N * (D > qd ? D : qd);
    sz[RS_Q] = N * qd;
    sz[RS_K] = N * kvd;
    sz[RS_V] = N * kvd;
    sz[RS_ATT] = N * qd;
    sz[RS_HB] = N * F;
    sz[RS_HB2] = N * F;
    sz[RS_PROBS] = (size_t)c->n_heads * T * T;
    sz[RS_COS] = T * (hd / 2);
    sz[RS_SIN] = T * (hd / 2);
    sz[RS_LAST] = (size_t)max_seqs * D;
    return 1;
}

size_t as_runstate_bytes(const struct as_config *c, int max_tokens, int max_seq_len, int max_seqs) {
    size_t sz[RS_N], total = 0;
    rs_sizes(c, max_tokens, max_seq_len, max_seqs, sz);
    for (int i = 0; i < RS_N; i++)
        total += sz[i];
    return total * sizeof(float);
}

as_status as_runstate_init(struct as_runstate *rs, const struct as_config *c, int max_tokens,
                           int max_seq_len, int max_seqs, enum as_kernel kernel,
                           struct as_err *err) {
    memset(rs, 0, sizeof *rs);
    if (max_tokens < 1 || max_seq_len < 1 || max_seqs < 1 || max_seq_len > max_tokens)
        return as_err_set(err, AS_ERR_INVALID,
                          "runstate: invalid capacity (max_tokens %d, max_seq_len %d, max_seqs %d)",
                          max_tokens, max_seq_len, max_seqs);
    size_t sz[RS_N], total = 0;
    rs_sizes(c, max_tokens, max_seq_len, max_seqs, sz);
    for (int i = 0; i < RS_N; i++)
        total += sz[i];
    rs->mem = malloc(total * sizeof(float));
    if (!rs->mem)
        return as_err_set(err, AS_ERR_NOMEM,
                          "runstate: cannot allocate %.1f MiB of scratch for %d tokens "
                          "(longest sequence %d)",
                          total * 4.0 / 1048576.0, max_tokens, max_seq_len);
    rs->mem_floats = total;
    float *p = rs->mem;
    float **slots[RS_N] = {&rs->x,     &rs->xb,       &rs->q,        &rs->k,
                           &rs->v,     &rs->att_out,  &rs->hb,       &rs->hb2,
                           &rs->probs, &rs->rope_cos, &rs->rope_sin, &rs->last};
    for (int i = 0; i < RS_N; i++) {
        *slots[i] = p;
        p += sz[i];
    }
    rs->max_tokens = max_tokens;
    rs->max_seq_len = max_seq_len;
    rs->n_seq_cap = max_seqs;
    rs->kernel = kernel;
    return AS_OK;
}

void as_runstate_free(struct as_runstate *rs) {
    free(rs->mem);
    memset(rs, 0, sizeof *rs);
}
