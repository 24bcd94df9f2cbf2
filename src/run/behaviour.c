/* behaviour.c - what the model does next to what it attends to: each prompt's
 * last-position top-k next tokens and greedy next token (docs/FORMAT.md,
 * "Behaviour"). The creation layout of /behaviour, and a batch's rows: the
 * worker hands each prompt's last-position logits to as_behaviour_set, and
 * commits the rows with the batch's other rows (no extra transfer per prompt). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/decode.h"
#include "run_internal.h"

int as_behaviour_k(int vocab_size, int topk) {
    if (topk > 0) return topk; /* output.topk, checked against the vocabulary (sweep.c) */
    return vocab_size < AS_TOPK_DEFAULT ? vocab_size : AS_TOPK_DEFAULT;
}

as_status as_behaviour_layout(struct as_table *t, const struct as_job *j, const char *const *ids,
                              struct as_err *err) {
    as_table_init(t);
    const struct as_sweep *s = &j->sweep;
    const int64_t n = j->n;
    const int k = as_behaviour_k(j->cfg.vocab_size, s->topk);
    const int str_width = j->vocab_str ? j->vocab_width : 1;
    const int32_t *answer_id = s->analysis.answer ? j->answer_id : NULL;
    const int64_t sn[1] = {n}, snk[2] = {n, k};
    as_table_add_strings(t, "prompt", "prompt", sn, ids);
    as_table_add_range(t, "topk", k);
    /* written by the workers with each batch; never pre-filled (undefined until status done) */
    as_table_add(t, "topk_id", AS_COL_I32, "prompt,topk", snk, NULL, 0);
    as_table_add(t, "topk_prob", AS_COL_F32, "prompt,topk", snk, NULL, 0);
    as_table_add(t, "next_id", AS_COL_I32, "prompt", sn, NULL, 0);
    /* as wide as the vocabulary's longest decoded string, since any id can come */
    struct as_col *sc = as_table_add(t, "topk_str", AS_COL_STR, "prompt,topk", snk, NULL, 0);
    if (sc) sc->width = (size_t)str_width;
    if ((sc = as_table_add(t, "next_str", AS_COL_STR, "prompt", sn, NULL, 0)))
        sc->width = (size_t)str_width;
    if (answer_id) { /* analysis.answer: known at creation (rank 0 tokenized the answers) */
        as_table_add(t, "answer_first_id", AS_COL_I32, "prompt", sn, answer_id, 1);
        as_table_add(t, "answer_prob", AS_COL_F32, "prompt", sn, NULL, 0);
        as_table_add(t, "answer_rank", AS_COL_I32, "prompt", sn, NULL, 0);
        struct as_col *c = as_table_add(t, "answer_correct", AS_COL_I8, "prompt", sn, NULL, 0);
        if (c) {
            snprintf(c->flag_meanings, sizeof c->flag_meanings, "missing false true");
            c->flag_base = -1;
        }
        if (j->answer_start) as_answer_tf_layout(t, j);
    }
    if (s->logits) { /* output.logits: the last position's raw logits, by the workers */
        const int64_t snv[2] = {n, j->cfg.vocab_size};
        as_table_add_range(t, "vocab", j->cfg.vocab_size);
        as_table_add(t, "logits", AS_COL_F32, "prompt,vocab", snv, NULL, 0);
    }
    return as_table_check(t, "/behaviour", err);
}

void as_behaviour_free(struct as_behaviour *b) {
    free(b->logits);
    free(b->topk_id);
    free(b->topk_prob);
    free(b->next_id);
    free(b->topk_str);
    free(b->next_str);
    free(b->answer_prob);
    free(b->answer_rank);
    free(b->answer_correct);
    free(b->answer_logprob);
    free(b->logits_row);
    memset(b, 0, sizeof *b);
}

as_status as_behaviour_init(struct as_behaviour *b, int n_cap, int vocab_size, int k, int answers,
                            int store_logits, const char *vocab, int str_width,
                            struct as_err *err) {
    memset(b, 0, sizeof *b);
    b->answers = answers, b->store_logits = store_logits;
    b->vocab = vocab, b->width = str_width > 0 ? str_width : 1;
    if (answers) {
        b->answer_prob = malloc(sizeof(float) * (size_t)n_cap);
        b->answer_rank = malloc(sizeof(int32_t) * (size_t)n_cap);
        b->answer_correct = malloc((size_t)n_cap);
        b->answer_logprob = malloc(sizeof(double) * (size_t)n_cap);
        if (!b->answer_prob || !b->answer_rank || !b->answer_correct || !b->answer_logprob) {
            as_behaviour_free(b);
            return as_err_set(err, AS_ERR_NOMEM, "out of memory for the answers of %d prompts",
                              n_cap);
        }
    }
    b->n_cap = n_cap, b->V = vocab_size, b->k = k;
    b->logits = malloc(sizeof(float) * (size_t)n_cap * (size_t)vocab_size);
    if (store_logits &&
        !(b->logits_row = malloc(sizeof(float) * (size_t)n_cap * (size_t)vocab_size))) {
        as_behaviour_free(b);
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for the stored logits of %d prompts",
                          n_cap);
    }
    b->topk_id = malloc(sizeof(int32_t) * (size_t)n_cap * (size_t)b->k);
    b->topk_prob = malloc(sizeof(float) * (size_t)n_cap * (size_t)b->k);
    b->next_id = malloc(sizeof(int32_t) * (size_t)n_cap);
    b->topk_str = malloc((size_t)n_cap * (size_t)b->k * (size_t)b->width);
    b->next_str = malloc((size_t)n_cap * (size_t)b->width);
    if (!b->logits || !b->topk_id || !b->topk_prob || !b->next_id || !b->topk_str || !b->next_str) {
        as_behaviour_free(b);
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for the logits of %d prompts", n_cap);
    }
    return AS_OK;
}

void as_behaviour_reset(struct as_behaviour *b, int n) {
    for (size_t i = 0; i < (size_t)n * (size_t)b->k; i++)
        b->topk_id[i] = -1, b->topk_prob[i] = NAN;
    for (int i = 0; i < n; i++)
        b->next_id[i] = -1;
    memset(b->topk_str, 0, (size_t)n * (size_t)b->k * (size_t)b->width);
    memset(b->next_str, 0, (size_t)n * (size_t)b->width);
    for (int i = 0; b->answers && i < n; i++)
        b->answer_prob[i] = NAN, b->answer_rank[i] = -1, b->answer_correct[i] = -1,
        b->answer_logprob[i] = NAN;
    for (size_t i = 0; b->store_logits && i < (size_t)n * (size_t)b->V; i++)
        b->logits_row[i] = NAN;
}

as_status as_behaviour_set(struct as_behaviour *b, int row, const float *logits, int32_t answer_id,
                           struct as_err *err) {
    int32_t *ids = b->topk_id + (size_t)row * b->k;
    float *probs = b->topk_prob + (size_t)row * b->k;
    as_status st = as_topk(logits, b->V, b->k, ids, probs, err);
    if (st != AS_OK) {
        as_err_prefix(err, "next-token top-%d", b->k);
        for (int i = 0; i < b->k; i++)
            ids[i] = -1, probs[i] = NAN;
        return st;
    }
    b->next_id[row] = ids[0]; /* as_topk: ids[0] == as_argmax(logits) */
    if (b->store_logits)
        memcpy(b->logits_row + (size_t)row * b->V, logits, sizeof(float) * (size_t)b->V);
    if (b->vocab) {
        const size_t w = (size_t)b->width;
        for (int i = 0; i < b->k; i++)
            memcpy(b->topk_str + ((size_t)row * b->k + i) * w, b->vocab + (size_t)ids[i] * w, w);
        memcpy(b->next_str + (size_t)row * w, b->vocab + (size_t)ids[0] * w, w);
    }
    if (!b->answers || answer_id < 0) return AS_OK;
    if (answer_id >= b->V)
        return as_err_set(err, AS_ERR_INVALID,
                          "analysis.answer's first token %d is outside the vocabulary (%d)",
                          (int)answer_id, b->V);
    /* the same softmax as as_topk (double, maximum subtracted, summed in id order), so an
     * answer inside the top-k has exactly its topk_prob; the rank orders as as_topk does
     * (decreasing logit, ties to the lowest id): 1 = the greedy next token */
    const double mx = logits[ids[0]];
    const float za = logits[answer_id];
    double sum = 0.0;
    int32_t rank = 1;
    for (int v = 0; v < b->V; v++) {
        sum += exp((double)logits[v] - mx);
        rank += logits[v] > za || (logits[v] == za && v < answer_id);
    }
    b->answer_prob[row] = (float)(exp((double)za - mx) / sum);
    b->answer_rank[row] = rank;
    b->answer_correct[row] = (int8_t)(ids[0] == answer_id);
    return AS_OK;
}

void as_behaviour_rows(const struct as_behaviour *b, int n, struct as_table *rows) {
    as_table_init(rows);
    const int64_t sn[1] = {n}, snk[2] = {n, b->k};
    as_table_add(rows, "topk_id", AS_COL_I32, "prompt,topk", snk, b->topk_id, 0);
    as_table_add(rows, "topk_prob", AS_COL_F32, "prompt,topk", snk, b->topk_prob, 0);
    as_table_add(rows, "next_id", AS_COL_I32, "prompt", sn, b->next_id, 0);
    struct as_col *c =
        as_table_add(rows, "topk_str", AS_COL_STR, "prompt,topk", snk, b->topk_str, 0);
    if (c) c->width = (size_t)b->width;
    if ((c = as_table_add(rows, "next_str", AS_COL_STR, "prompt", sn, b->next_str, 0)))
        c->width = (size_t)b->width;
    if (b->store_logits) {
        const int64_t snv[2] = {n, b->V};
        as_table_add(rows, "logits", AS_COL_F32, "prompt,vocab", snv, b->logits_row, 0);
    }
    if (!b->answers) return;
    as_table_add(rows, "answer_prob", AS_COL_F32, "prompt", sn, b->answer_prob, 0);
    as_table_add(rows, "answer_rank", AS_COL_I32, "prompt", sn, b->answer_rank, 0);
    as_table_add(rows, "answer_correct", AS_COL_I8, "prompt", sn, b->answer_correct, 0);
    if (b->answers > 1) /* the file has the teacher-forced answer columns */
        as_table_add(rows, "answer_logprob", AS_COL_F64, "prompt", sn, b->answer_logprob, 0);
}

void as_behaviour_print_size(const struct as_job *j, FILE *fp) {
    as_answer_tf_print_size(j, fp);
    if (!j->sweep.logits) return;
    const double b = (double)j->n * (double)j->cfg.vocab_size * 4.0;
    fprintf(fp,
            "warning: output.logits: true stores /behaviour/logits, %lld prompts x %d vocab x 4 "
            "bytes = %.0f bytes (%.1f MB) of the estimate\n",
            (long long)j->n, j->cfg.vocab_size, b, b / 1e6);
}
