/* generate.c - greedy generation for a batch: one prefill, then one decode
 * step per token for every sequence that still has a token to feed. */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"

static int is_stop(const struct as_generate_opts *o, int32_t id) {
    for (int i = 0; i < o->n_stop; i++)
        if (o->stop_ids[i] == id) return 1;
    return 0;
}

static as_status check_generate(const struct as_model *m, const struct as_kvcache *kv,
                                const struct as_batch *b, const struct as_generate_opts *o,
                                const struct as_generate_out *out, struct as_err *err) {
    const struct as_config *c = &m->cfg;
    if (o->max_new_tokens < 0)
        return as_err_set(err, AS_ERR_INVALID, "generate: max_new_tokens is %d (expected >= 0)",
                          o->max_new_tokens);
    if (o->n_stop < 0 || (o->n_stop > 0 && !o->stop_ids))
        return as_err_set(err, AS_ERR_INVALID, "generate: %d stop ids but no array", o->n_stop);
    for (int i = 0; i < o->n_stop; i++)
        if (o->stop_ids[i] < 0 || o->stop_ids[i] >= c->vocab_size)
            return as_err_set(err, AS_ERR_INVALID,
                              "generate: stop id %d is outside the vocabulary [0, %d)",
                              (int)o->stop_ids[i], c->vocab_size);
    if (!out || !out->n_gen || !out->logits || (o->max_new_tokens > 0 && !out->ids))
        return as_err_set(err, AS_ERR_INVALID,
                          "generate: out->n_gen, out->logits and (max_new_tokens > 0) out->ids "
                          "are required");
    if (b->n_seq > kv->n_slots)
        return as_err_set(err, AS_ERR_INVALID, "generate: %d sequences, the KV cache has %d slots",
                          b->n_seq, kv->n_slots);
    for (int s = 0; s < b->n_seq; s++) {
        const long need = (long)b->lens[s] + o->max_new_tokens;
        if (need > c->max_position)
            return as_err_set(err, AS_ERR_INVALID,
                              "generate: sequence %d needs %ld positions (%d prompt + %d new), "
                              "more than the model's max_position_embeddings %d "
                              "(HINT: lower max_new_tokens)",
                              s, need, b->lens[s], o->max_new_tokens, c->max_position);
        if (need > kv->max_ctx)
            return as_err_set(err, AS_ERR_INVALID,
                              "generate: sequence %d needs %ld positions (%d prompt + %d new), "
                              "the KV cache holds %d per sequence",
                              s, need, b->lens[s], o->max_new_tokens, kv->max_ctx);
    }
    return AS_OK;
}

/* Greedy choice for sequence s from its logits; records the id and whether it ends s. */
static as_status choose(const struct as_generate_opts *o, struct as_generate_out *out, int s,
                        int pos, const float *lg, int V, int *done_s, struct as_err *err) {
    int32_t next = as_argmax(lg, V);
    if (next < 0)
        return as_err_set(err, AS_ERR_INVALID,
                          "generate: sequence %d: the logits after position %d are NaN", s, pos);
    int32_t *gen = out->ids + (size_t)s * o->max_new_tokens;
    gen[out->n_gen[s]++] = next;
    int reason = -1;
    if (is_stop(o, next))
        reason = AS_STOP_TOKEN;
    else if (o->stop_fn && o->stop_fn(o->stop_ctx, s, gen, out->n_gen[s]))
        reason = AS_STOP_CALLBACK;
    else if (out->n_gen[s] == o->max_new_tokens)
        reason = AS_STOP_LENGTH;
    if (reason >= 0) {
        *done_s = 1;
        if (out->stop_reason) out->stop_reason[s] = reason;
    }
    return AS_OK;
}

as_status as_generate_greedy(const struct as_model *m, struct as_runstate *rs,
                             struct as_kvcache *kv, const struct as_batch *b,
                             const struct as_generate_opts *opts, const struct as_capture *cap,
                             struct as_generate_out *out, struct as_err *err) {
    as_status ret = AS_OK;
    const int V = m->cfg.vocab_size, n_seq = b->n_seq;
    int *slots = NULL, *done_s = NULL;
    int32_t *feed = NULL;
    float *step_logits = NULL;
    AS_TRY(check_generate(m, kv, b, opts, out, err));
    for (int s = 0; s < n_seq; s++) {
        out->n_gen[s] = 0;
        if (out->stop_reason) out->stop_reason[s] = AS_STOP_LENGTH;
    }
    struct as_forward_out fo = {NULL, out->logits};
    AS_TRY(as_forward_prefill(m, rs, b, kv, cap, &fo, err));
    if (opts->max_new_tokens == 0) goto done;

    slots = malloc(sizeof(int) * n_seq);
    done_s = calloc(n_seq, sizeof(int));
    feed = malloc(sizeof(int32_t) * n_seq);
    step_logits = malloc(sizeof(float) * (size_t)n_seq * V);
    if (!slots || !done_s || !feed || !step_logits) {
        ret = as_err_set(err, AS_ERR_NOMEM, "generate: cannot allocate %.1f MiB of logits",
                         (double)n_seq * V * 4.0 / 1048576.0);
        goto done;
    }
    for (int s = 0; s < n_seq; s++)
        AS_TRY(
            choose(opts, out, s, b->lens[s] - 1, out->logits + (size_t)s * V, V, &done_s[s], err));
    /* every generated id is fed exactly once, the ending one too (its attention row and the
     * final logits); a sequence leaves the batch after its ending id has been fed */
    for (;;) {
        int n = 0;
        for (int s = 0; s < n_seq; s++)
            if (kv->len[s] < b->lens[s] + out->n_gen[s]) {
                slots[n] = s;
                feed[n++] = out->ids[(size_t)s * opts->max_new_tokens + out->n_gen[s] - 1];
            }
        if (n == 0) break;
        AS_TRY(as_decode_step(m, rs, kv, n, slots, feed, cap, step_logits, err));
        for (int i = 0; i < n; i++) {
            const int s = slots[i];
            float *lg = out->logits + (size_t)s * V;
            memcpy(lg, step_logits + (size_t)i * V, (size_t)V * sizeof(float));
            if (!done_s[s]) AS_TRY(choose(opts, out, s, kv->len[s] - 1, lg, V, &done_s[s], err));
        }
    }
done:
    free(slots);
    free(done_s);
    free(feed);
    free(step_logits);
    return ret;
}
