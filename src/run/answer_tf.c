/* answer_tf.c - the expected answer's probability under teacher forcing
 * (docs/FORMAT.md "Behaviour"): for a prompt with analysis.answer tokens
 * a_0 .. a_{n-1},
 *     answer_logprob = sum_t log P(a_t | prompt, a_0 .. a_{t-1}).
 * The batch's prefill is the one whose attention is stored (as_forward_prefill
 * gives as_forward's probabilities bit for bit and fills a KV cache); then one
 * decode step per answer position feeds a_t to every answered sequence that
 * still has tokens left, together (decode.h). Nothing of a decode step reaches
 * the attention sinks, so the stored attention is the prompt's alone. A
 * sequence's decode does not depend on the rest of the batch, and the batch's
 * composition does not depend on the rank count, so neither do the results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"
#include "run_internal.h"

void as_answer_tf_layout(struct as_table *t, const struct as_job *j) {
    const int64_t n = j->n, na = j->answer_start[n], sn[1] = {n}, sa[1] = {na};
    int32_t *count = malloc(((size_t)n + 1) * sizeof *count);
    for (int64_t i = 0; count && i < n; i++)
        count[i] = (int32_t)(j->answer_start[i + 1] - j->answer_start[i]);
    as_table_add_range(t, "answer_token", na);
    as_table_add(t, "answer_ids", AS_COL_I32, "answer_token", sa, j->answer_tok, 1);
    as_table_add(t, "answer_start", AS_COL_I64, "prompt", sn, j->answer_start, 1);
    struct as_col *c = as_table_add_owned(t, "answer_n_tokens", AS_COL_I32, "prompt", sn, count);
    if (c) snprintf(c->sample_dimension, sizeof c->sample_dimension, "answer_token");
    as_table_add(t, "answer_logprob", AS_COL_F64, "prompt", sn, NULL, 0); /* by the workers */
}

int64_t as_answer_tf_ctx(const struct as_job *j, const struct as_config *c, const int64_t *index,
                         int n_seq) {
    int64_t ctx = 1;
    for (int q = 0; q < n_seq; q++) {
        const int64_t i = index[q], T = j->n_tokens[i];
        const int64_t na = j->answer_start ? j->answer_start[i + 1] - j->answer_start[i] : 0;
        int64_t need = T + (na > 0 ? na - 1 : 0);
        if (need > c->max_position) need = T; /* no room for its answer: NaN (FORMAT.md) */
        ctx = need > ctx ? need : ctx;
    }
    return ctx;
}

void as_answer_tf_print_size(const struct as_job *j, FILE *fp) {
    if (!j->answer_start) return;
    double peak = 0;
    int64_t *index = NULL;
    int n_max = 0;
    for (int64_t b = 0; b < j->n_batches; b++)
        n_max = j->batch_len[b] > n_max ? j->batch_len[b] : n_max;
    if (n_max == 0 || !(index = malloc(sizeof *index * (size_t)n_max))) return;
    for (int64_t b = 0; b < j->n_batches; b++) { /* the largest batch's cache: the peak */
        for (int q = 0; q < j->batch_len[b]; q++)
            index[q] = j->batch_start[b] + q;
        const int64_t ctx = as_answer_tf_ctx(j, &j->cfg, index, j->batch_len[b]);
        const double by = (double)as_kvcache_bytes(&j->cfg, j->batch_len[b], (int)ctx);
        peak = by > peak ? by : peak;
    }
    free(index);
    fprintf(fp, "teacher-forced answers: %lld answer tokens; KV cache per rank up to %.1f MiB\n",
            (long long)j->answer_start[j->n], peak / 1048576.0);
}

void as_answer_tf_free(struct as_answer_tf *a) {
    as_kvcache_free(&a->kv);
    free(a->slots);
    free(a->ids);
    free(a->seq);
    free(a->need);
    free(a->logits);
    memset(a, 0, sizeof *a);
}

as_status as_answer_tf_init(struct as_answer_tf *a, const struct as_job *j,
                            const struct as_config *c, int active, int n_cap, struct as_err *err) {
    memset(a, 0, sizeof *a);
    if (!active || !j->answer_start) return AS_OK;
    a->active = 1, a->V = c->vocab_size;
    a->slots = malloc(sizeof(int) * (size_t)n_cap);
    a->ids = malloc(sizeof(int32_t) * (size_t)n_cap);
    a->seq = malloc(sizeof(int) * (size_t)n_cap);
    a->need = malloc(sizeof(int64_t) * (size_t)n_cap);
    a->logits = malloc(sizeof(float) * (size_t)n_cap * (size_t)c->vocab_size);
    if (!a->slots || !a->ids || !a->seq || !a->need || !a->logits) {
        as_answer_tf_free(a);
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for the teacher-forced answers");
    }
    return AS_OK;
}

/* The cache for this batch: n_seq slots of its longest prompt + answer. Rebuilt when too small,
 * or when more than twice too large (one large batch does not hold its memory for the rest). */
static as_status reserve(struct as_answer_tf *a, const struct as_config *c, const struct as_job *j,
                         const int64_t *index, int n_seq, struct as_err *err) {
    const int64_t ctx = as_answer_tf_ctx(j, c, index, n_seq);
    const size_t want = as_kvcache_bytes(c, n_seq, (int)ctx);
    if (a->kv.mem && a->kv.n_slots >= n_seq && a->kv.max_ctx >= ctx && a->kv.mem_bytes <= 2 * want)
        return AS_OK;
    as_kvcache_free(&a->kv);
    as_status st = as_kvcache_init(&a->kv, c, n_seq, (int)ctx, err);
    if (st != AS_OK)
        as_err_prefix(err,
                      "the KV cache of the teacher-forced answers (%d sequences of %lld "
                      "tokens)",
                      n_seq, (long long)ctx);
    return st;
}

/* the stored attention comes from the prefill's probability rows: (H, T, T) per layer */
static as_status rows_to_attn(void *ctx, int seq, int layer, int first_row, int n_rows, int n_keys,
                              const float *block, struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_attn_sink *sink = ctx;
    AS_ASSERT(first_row == 0 && n_rows == n_keys);
    ret = sink->fn(sink->ctx, seq, layer, block, n_keys, err);
done:
    return ret;
}

as_status as_answer_tf_forward(struct as_answer_tf *a, const struct as_model *m,
                               struct as_runstate *rs, const struct as_job *j, const int64_t *index,
                               const struct as_batch *b, const struct as_attn_sink *sink,
                               const struct as_capture *capture, struct as_forward_out *out,
                               struct as_err *err) {
    if (!a->active)
        return capture ? as_forward_prefill(m, rs, b, NULL, capture, out, err)
                       : as_forward(m, rs, b, sink, out, err);
    as_status st = reserve(a, &m->cfg, j, index, b->n_seq, err);
    if (st != AS_OK) return st;
    struct as_capture cap;
    memset(&cap, 0, sizeof cap);
    if (sink && sink->fn) cap.probs.fn = rows_to_attn, cap.probs.ctx = (void *)sink;
    return as_forward_prefill(m, rs, b, &a->kv, capture ? capture : &cap, out, err);
}

/* log softmax(z)[id] in double, the maximum subtracted, summed in id order */
static double log_prob(const float *z, int V, int32_t id) {
    double mx = -INFINITY, sum = 0.0;
    for (int v = 0; v < V; v++)
        mx = z[v] > mx ? z[v] : mx;
    for (int v = 0; v < V; v++)
        sum += exp((double)z[v] - mx);
    return ((double)z[id] - mx) - log(sum);
}

as_status as_answer_tf_run(struct as_answer_tf *a, const struct as_model *m, struct as_runstate *rs,
                           const struct as_job *j, const int64_t *index, int n_seq, int64_t first,
                           const float *last, double *logprob, struct as_err *err) {
    if (!a->active) return AS_OK;
    const int V = a->V;
    int64_t steps = 0;
    for (int q = 0; q < n_seq; q++) {
        const int64_t i = index[q], a0 = j->answer_start[i], na = j->answer_start[i + 1] - a0;
        a->need[q] = 0;
        /* no answer, or no room to feed it (answer_logprob stays NaN, FORMAT.md) */
        if (na < 1 || j->n_tokens[i] + na - 1 > a->kv.max_ctx) continue;
        if (j->answer_tok[a0] < 0 || j->answer_tok[a0] >= V)
            return as_err_set(err, AS_ERR_INVALID,
                              "analysis.answer's token %d is outside the vocabulary (%d)",
                              (int)j->answer_tok[a0], V);
        logprob[i - first] = log_prob(last + (size_t)q * V, V, j->answer_tok[a0]);
        a->need[q] = na - 1;
        steps = na - 1 > steps ? na - 1 : steps;
    }
    /* step t feeds a_t and scores a_{t+1}, for every sequence with tokens left */
    for (int64_t t = 0; t < steps; t++) {
        int n = 0;
        for (int q = 0; q < n_seq; q++)
            if (a->need[q] > t) {
                const int64_t i = index[q];
                a->slots[n] = q, a->seq[n] = q, a->ids[n] = j->answer_tok[j->answer_start[i] + t];
                n++;
            }
        as_status st = as_decode_step(m, rs, &a->kv, n, a->slots, a->ids, NULL, a->logits, err);
        if (st != AS_OK) {
            as_err_prefix(err, "teacher-forced answer, position %lld", (long long)t + 1);
            return st;
        }
        for (int r = 0; r < n; r++) {
            const int64_t i = index[a->seq[r]];
            const int32_t next = j->answer_tok[j->answer_start[i] + t + 1];
            if (next < 0 || next >= V)
                return as_err_set(err, AS_ERR_INVALID,
                                  "analysis.answer's token %d is outside the vocabulary (%d)",
                                  (int)next, V);
            logprob[i - first] += log_prob(a->logits + (size_t)r * V, V, next);
        }
    }
    return AS_OK;
}
