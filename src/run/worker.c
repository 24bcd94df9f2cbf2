/* worker.c - computes this rank's batches: runs of consecutive prompts
 * packed into one forward call (every projection is one GEMM over all the
 * batch's tokens), each (prompt, layer) attention block streamed into the
 * file and into the prompt's metrics as it is produced; at the end of a
 * batch its last rows and metric rows are written in one transfer per
 * dataset (with the /behaviour rows: each prompt's top-k next tokens from
 * the same forward call's last-position logits), made durable with one
 * fdatasync, and its status range is written once. A batch's composition never depends on the rank
 * count (plan.c), so neither do its results. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attnsweep/metrics.h"
#include "attnsweep/norm_metrics.h"
#include "attnsweep/reduce.h"
#include "capture.h"
#include "run_internal.h"

/* per-batch state seen by the attention sink */
struct sink_ctx {
    struct as_h5batch *hb;
    const int64_t *index;        /* (n_seq) prompt of each packed sequence */
    struct as_metrics *const *m; /* (n_seq) its metrics */
    struct as_progress *pr;
    const int *layer_slot; /* (L) stored index of each model layer, -1 = not stored */
    const int *heads;      /* (n_heads) head subset, NULL = all */
    int n_heads;           /* heads stored */
    float *gather;         /* (n_heads, T, T) when a head subset is stored */
    struct as_worker_stats *stats;
};

static as_status sink_fn(void *vctx, int seq, int layer, const float *probs, int T,
                         struct as_err *err) {
    struct sink_ctx *c = vctx;
    as_status st = AS_OK;
    int slot = c->layer_slot[layer]; /* stored index; subsets are in ascending layer order */
    if (slot >= 0) {
        const float *src = probs;
        if (c->heads) {
            size_t tt = (size_t)T * T;
            for (int k = 0; k < c->n_heads; k++)
                memcpy(c->gather + k * tt, probs + (size_t)c->heads[k] * tt, tt * sizeof(float));
            src = c->gather;
        }
        double t0 = MPI_Wtime();
        const struct as_h5file *f = c->hb->f;
        if (f->store != AS_STORE_NONE) {
            st = as_h5batch_write_layer(c->hb, c->index[seq], slot, src, c->n_heads, T, err);
            c->stats->write_bytes += (double)c->n_heads * T * (f->store == AS_STORE_FULL ? T : 1) *
                                     (f->dtype == AS_OUT_F16 ? 2 : 4);
        }
        double t1 = MPI_Wtime();
        /* the metrics see exactly what is stored, so `attnsweep reduce` reproduces them */
        if (st == AS_OK) st = as_metrics_add_layer(c->m[seq], slot, src, err);
        c->stats->write_s += t1 - t0;
        c->stats->metrics_s += MPI_Wtime() - t1;
    }
    as_progress_poll(c->pr); /* rank 0 only: keeps progress lines flowing during long prompts */
    return st;
}

as_status as_worker_run(const struct as_job *j, const struct as_job_metrics *jm,
                        const struct as_model *m, struct as_h5file *f, struct as_progress *pr,
                        const struct as_run_opts *o, struct as_worker_stats *stats,
                        struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_sweep *s = &j->sweep;
    const struct as_config *c = &m->cfg;
    int me;
    MPI_Comm_rank(pr->comm, &me);
    struct as_runstate rs;
    memset(&rs, 0, sizeof rs);
    int *slot = NULL, maxn = 0, *lens = NULL;
    float *gather = NULL;
    struct as_metrics *met = NULL, **seq_m = NULL;
    const struct as_metrics **mp = NULL;
    const int32_t **seq_ids = NULL;
    int64_t *seq_index = NULL;
    int8_t *status = NULL;
    struct as_metrics_span_def *spans = NULL; /* scratch of the metrics contexts */
    struct as_behaviour beh;
    struct as_answer_tf tf;
    memset(&beh, 0, sizeof beh);
    struct as_capbuf cb;
    memset(&cb, 0, sizeof cb);
    memset(&tf, 0, sizeof tf);
    memset(stats, 0, sizeof *stats);

    int Tmax = 0, max_tok = 0;
    for (int64_t b = 0; b < j->n_batches; b++) {
        if (j->batch_rank[b] != me) continue;
        if (j->batch_len[b] > maxn) maxn = j->batch_len[b];
        int tok = 0;
        for (int64_t i = j->batch_start[b]; i < j->batch_start[b] + j->batch_len[b]; i++) {
            if (j->n_tokens[i] > Tmax) Tmax = j->n_tokens[i];
            tok += j->n_tokens[i];
        }
        if (tok > max_tok) max_tok = tok;
    }
    if (Tmax == 0) goto done; /* nothing to do on this rank */

    slot = malloc(sizeof(int) * (size_t)c->n_layers);
    met = calloc((size_t)maxn, sizeof *met);
    mp = calloc((size_t)maxn, sizeof *mp);
    status = calloc((size_t)maxn, 1);
    seq_m = calloc((size_t)maxn, sizeof *seq_m);
    seq_ids = calloc((size_t)maxn, sizeof *seq_ids);
    seq_index = calloc((size_t)maxn, sizeof *seq_index);
    lens = calloc((size_t)maxn, sizeof *lens);
    spans = calloc((size_t)jm->max_spans + 1, sizeof *spans);
    if (!slot || !met || !mp || !status || !seq_m || !seq_ids || !seq_index || !lens || !spans) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory");
        goto done;
    }
    const struct as_job_store sto = as_job_store_of(j);
    for (int l = 0; l < c->n_layers; l++)
        slot[l] = sto.layers ? -1 : l;
    for (int k = 0; sto.layers && k < sto.L; k++)
        slot[sto.layers[k]] = k;
    const int n_heads = sto.H, L = sto.L;
    if (sto.heads) {
        gather = malloc(sizeof(float) * (size_t)n_heads * Tmax * Tmax);
        if (!gather) {
            ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the head subset buffer");
            goto done;
        }
    }
    /* one runstate for this rank's largest batch: the packed activations plus
     * one layer of attention of the longest prompt */
    AS_TRY(as_runstate_init(&rs, c, max_tok, Tmax, maxn, o->kernel, err));
    AS_TRY(as_capbuf_init(&cb, j, m, f, slot, sto.heads, max_tok, Tmax, err));
    /* files created before /behaviour existed are resumed without it */
    const int has_beh = as_h5file_exists(f, "behaviour") > 0;
    const int has_tf = has_beh && as_h5file_exists(f, "behaviour/answer_logprob") > 0;
    if (has_beh)
        AS_TRY(as_behaviour_init(&beh, maxn, c->vocab_size, as_behaviour_k(c->vocab_size, s->topk),
                                 (as_h5file_exists(f, "behaviour/answer_prob") > 0) + has_tf,
                                 as_h5file_exists(f, "behaviour/logits") > 0, j->vocab_str,
                                 j->vocab_str ? j->vocab_width : 1, err));
    AS_TRY(as_answer_tf_init(&tf, j, c, has_tf, maxn, err));
    /* test hooks (docs/ARCHITECTURE.md): a prompt that fails, and a fixed pause after each
     * batch so that tests of concurrent access never depend on compute speed */
    const char *fault = getenv("ATTNSWEEP_FAULT_PROMPT");
    const char *pause_s = getenv("ATTNSWEEP_TEST_BATCH_PAUSE");
    const double pause = pause_s ? atof(pause_s) : 0.0;

    for (int64_t b = 0; b < j->n_batches; b++) {
        if (j->batch_rank[b] != me) continue;
        if (o->stop_flag && *o->stop_flag) break;
        const int64_t first = j->batch_start[b];
        const int n = j->batch_len[b];
        struct as_h5batch hb;
        struct as_err berr = {0};
        as_status bst = as_h5batch_begin(f, first, n, &hb, &berr);
        if (bst == AS_OK) bst = as_capbuf_begin(&cb, &hb, seq_index, &berr);
        struct as_norm_rows nr; /* norm-weighted masses (value norms stored) */
        memset(&nr, 0, sizeof nr);
        if (bst == AS_OK && cb.norms)
            bst = as_norm_rows_init(&nr, n, L, n_heads, jm->layouts + first, &berr);
        /* every prompt's metrics; a prompt that cannot start is failed and left out */
        int n_seq = 0;
        if (has_beh) as_behaviour_reset(&beh, n);
        for (int k = 0; k < n; k++) {
            const int64_t i = first + k;
            struct as_err perr = {0};
            memset(&met[k], 0, sizeof met[k]);
            mp[k] = NULL;
            status[k] = AS_PROMPT_FAILED;
            struct as_metrics_ctx mctx;
            as_job_metrics_ctx(jm, j, i, spans, &mctx);
            as_status st = bst;
            if (st == AS_OK) st = as_metrics_init(&met[k], &mctx, AS_METRICS_FULL, &perr);
            if (st == AS_OK && fault && strcmp(fault, s->prompts[i].id) == 0)
                st = as_err_set(&perr, AS_ERR_INTERNAL,
                                "fault injected by ATTNSWEEP_FAULT_PROMPT (testing hook)");
            if (st != AS_OK) {
                struct as_err ignore;
                as_h5file_set_message(f, i, bst != AS_OK ? berr.msg : perr.msg, &ignore);
                continue;
            }
            const struct as_job_prompt v = as_job_prompt_of(j, i);
            seq_index[n_seq] = i, seq_m[n_seq] = &met[k];
            seq_ids[n_seq] = v.ids, lens[n_seq] = v.T;
            n_seq++;
        }
        /* one forward call for the whole batch */
        if (n_seq > 0) {
            struct sink_ctx ctx = {&hb,       seq_index, seq_m,  pr,   slot,
                                   sto.heads, n_heads,   gather, stats};
            struct as_attn_sink sink = {sink_fn, &ctx};
            struct as_batch fb = {n_seq, seq_ids, lens};
            struct as_err ferr = {0};
            struct as_forward_out fo = {NULL, has_beh ? beh.logits : NULL};
            struct as_capture cap;
            const struct as_capture *capp = NULL;
            if (cb.active) { /* value norms / scores too (capture.c); the same probabilities */
                as_capbuf_capture(&cb, sink, &cap);
                capp = &cap;
            }
            as_status st =
                as_answer_tf_forward(&tf, m, &rs, j, seq_index, &fb, &sink, capp, &fo, &ferr);
            if (st == AS_OK) /* the answers' teacher-forced log-probabilities */
                st = as_answer_tf_run(&tf, m, &rs, j, seq_index, n_seq, first, beh.logits,
                                      beh.answer_logprob, &ferr);
            for (int q = 0; q < n_seq; q++) {
                const int k = (int)(seq_index[q] - first);
                struct as_err perr = ferr;
                as_status ps = st;
                if (ps == AS_OK) ps = as_metrics_finish(&met[k], &perr);
                if (ps == AS_OK && has_beh)
                    ps = as_behaviour_set(&beh, k, beh.logits + (size_t)q * c->vocab_size,
                                          j->answer_id[seq_index[q]], &perr);
                /* a generating prompt is correct when its generated answer is the expected one */
                const int gc = has_beh && beh.answers ? as_job_gen_correct(j, seq_index[q]) : -1;
                if (ps == AS_OK && gc >= 0) beh.answer_correct[k] = (int8_t)gc;
                if (ps == AS_OK && cb.norms) {
                    const float *last, *norms;
                    as_capbuf_prompt(&cb, seq_index[q], &last, &norms);
                    as_norm_rows_set(&nr, k, &met[k], last, norms);
                }
                if (ps == AS_OK) {
                    mp[k] = &met[k];
                    status[k] = AS_PROMPT_DONE;
                    if (j->status0[seq_index[q]] ==
                        AS_PROMPT_FAILED) { /* an earlier failure is over */
                        struct as_err ignore;
                        as_h5file_set_message(f, seq_index[q], "", &ignore);
                    }
                } else {
                    struct as_err ignore;
                    as_h5file_set_message(f, seq_index[q], perr.msg, &ignore);
                }
            }
        }
        /* the batch's rows, durable, then its status: one commit */
        struct as_table rows, brows;
        as_table_init(&rows);
        as_table_init(&brows);
        if (has_beh) as_behaviour_rows(&beh, n, &brows);
        if (bst == AS_OK)
            bst = as_metrics_table_rows(&rows, n, mp, jm->layouts + first, j->n_tokens + first, L,
                                        n_heads, &berr);
        if (bst == AS_OK && cb.norms) as_norm_rows_table(&nr, &rows);
        double t0 = MPI_Wtime();
        if (bst == AS_OK) bst = as_capbuf_flush(&cb, &berr);
        if (bst == AS_OK)
            bst = as_h5batch_commit(&hb, &rows, has_beh ? &brows : NULL, status, &berr);
        stats->write_s += MPI_Wtime() - t0;
        as_table_free(&rows);
        as_table_free(&brows);
        as_norm_rows_free(&nr);
        as_h5batch_free(&hb);
        if (pause > 0) {
            struct timespec ts = {(time_t)pause, (long)((pause - (double)(time_t)pause) * 1e9)};
            nanosleep(&ts, NULL);
        }
        for (int k = 0; k < n; k++) {
            const int64_t i = first + k;
            if (bst != AS_OK) { /* the batch could not be committed: every prompt failed */
                struct as_err ignore;
                if (status[k] == AS_PROMPT_DONE) as_h5file_set_message(f, i, berr.msg, &ignore);
                status[k] = AS_PROMPT_FAILED;
                as_h5file_set_status(f, i, AS_PROMPT_FAILED, &ignore);
            }
            if (status[k] == AS_PROMPT_DONE) {
                stats->computed++;
                as_progress_report(pr, i, AS_PROMPT_DONE, NULL);
            } else {
                char msg[AS_H5_MESSAGE_MAX + 1];
                struct as_err ignore;
                if (as_h5file_read_message(f, i, msg, &ignore) != AS_OK) msg[0] = '\0';
                stats->failed++;
                as_progress_report(pr, i, AS_PROMPT_FAILED, msg[0] ? msg : berr.msg);
            }
            as_metrics_free(&met[k]);
        }
    }
    struct as_err ignore;
    as_h5file_sync(f, &ignore);
done:
    as_runstate_free(&rs);
    as_behaviour_free(&beh);
    as_capbuf_free(&cb);
    as_answer_tf_free(&tf);
    free(slot);
    free(gather);
    free(met);
    free(mp);
    free(status);
    free(seq_m);
    free(seq_ids);
    free(seq_index);
    free(lens);
    free(spans);
    return ret;
}
