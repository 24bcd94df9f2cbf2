/* worker.c - computes this rank's prompts, one forward call per prompt,
 * streaming each layer's attention into the HDF5 file as it is produced. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attnsweep/metrics.h"
#include "attnsweep/reduce.h"
#include "run_internal.h"

/* per-prompt state seen by the attention sink */
struct sink_ctx {
    struct as_h5prompt *hp;
    struct as_progress *pr;
    const int *layer_slot;      /* (L) stored index of each model layer, -1 = not stored */
    const int *heads;           /* (n_heads) head subset, NULL = all */
    int n_heads;                /* heads stored */
    float *gather;              /* (n_heads, T, T) when a head subset is stored */
    struct as_metrics *metrics; /* per-prompt metrics, accumulated from the same layers */
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
        if (c->hp->attention >= 0) {
            st = as_h5prompt_write_attention_layer(c->hp, slot, src, c->n_heads, T, err);
            const struct as_h5_prompt_info *in = c->hp->info;
            c->stats->write_bytes += (double)c->n_heads * T * (in->store == AS_STORE_FULL ? T : 1) *
                                     (in->dtype == AS_OUT_F16 ? 2 : 4);
        }
        double t1 = MPI_Wtime();
        /* the metrics see exactly what is stored, so `attnsweep reduce` reproduces them */
        if (st == AS_OK) st = as_metrics_add_layer(c->metrics, slot, src, err);
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
    int *slot = NULL, fd = -1;
    float *gather = NULL;
    memset(stats, 0, sizeof *stats);

    int Tmax = 0;
    for (int64_t i = 0; i < j->n; i++)
        if (j->rank[i] == me && j->n_tokens[i] > Tmax) Tmax = j->n_tokens[i];
    if (Tmax == 0) goto done; /* nothing to do on this rank */

    slot = malloc(sizeof(int) * (size_t)c->n_layers);
    if (!slot) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int l = 0; l < c->n_layers; l++)
        slot[l] = s->n_layers ? -1 : l;
    for (int k = 0; k < s->n_layers; k++)
        slot[s->layers[k]] = k;
    int n_heads = s->n_heads ? s->n_heads : c->n_heads;
    if (s->n_heads) {
        gather = malloc(sizeof(float) * (size_t)n_heads * Tmax * Tmax);
        if (!gather) {
            ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the head subset buffer");
            goto done;
        }
    }
    AS_TRY(as_runstate_init(&rs, c, Tmax, Tmax, 1, o->kernel, err));
    /* a plain descriptor of the output file, used only to make data durable
     * (fdatasync) before a prompt is marked done */
    fd = open(f->path, O_RDONLY);
    /* fault injection for the failure-path tests (docs/ARCHITECTURE.md) */
    const char *fault = getenv("ATTNSWEEP_FAULT_PROMPT");

    for (int64_t i = 0; i < j->n; i++) {
        if (j->rank[i] != me) continue;
        if (o->stop_flag && *o->stop_flag) break;
        const int T = j->n_tokens[i];
        const int32_t *ids = j->ids + j->tok_start[i];
        struct as_err perr = {0};
        struct as_h5prompt hp;
        memset(&hp, 0, sizeof hp);
        struct as_metrics met;
        memset(&met, 0, sizeof met);
        struct sink_ctx ctx = {&hp,     pr,     slot, s->n_heads ? s->heads : NULL,
                               n_heads, gather, &met, stats};
        struct as_attn_sink sink = {sink_fn, &ctx};
        struct as_batch b = {1, &ids, &T};
        struct as_metrics_ctx mctx;
        as_job_metrics_ctx(jm, j, i, &mctx);
        as_status st = as_h5prompt_open(f, i, &hp, &perr);
        if (st == AS_OK) st = as_metrics_init(&met, &mctx, AS_METRICS_FULL, &perr);
        if (st == AS_OK && fault && strcmp(fault, s->prompts[i].id) == 0)
            st = as_err_set(&perr, AS_ERR_INTERNAL,
                            "fault injected by ATTNSWEEP_FAULT_PROMPT (testing hook)");
        if (st == AS_OK) st = as_forward(m, &rs, &b, &sink, NULL, &perr);
        if (hp.f) {
            as_status cs = as_h5prompt_close(&hp, st == AS_OK ? &perr : NULL);
            if (st == AS_OK) st = cs;
        }
        if (st == AS_OK) st = as_metrics_finish(&met, &perr);
        if (st == AS_OK) st = as_metrics_h5_write(f, i, &met, &perr);
        as_metrics_free(&met);
        if (st == AS_OK && fd >= 0 && fdatasync(fd) != 0)
            st = as_err_set(&perr, AS_ERR_IO, "%s: fdatasync failed", f->path);
        if (st == AS_OK) st = as_h5file_set_status(f, i, AS_PROMPT_DONE, &perr);
        if (st == AS_OK) {
            stats->computed++;
            as_progress_report(pr, i, AS_PROMPT_DONE, NULL);
        } else {
            stats->failed++;
            struct as_err ignore;
            as_h5file_set_message(f, i, perr.msg, &ignore);
            as_h5file_set_status(f, i, AS_PROMPT_FAILED, &ignore);
            as_progress_report(pr, i, AS_PROMPT_FAILED, perr.msg);
        }
    }
    if (fd >= 0) fdatasync(fd);
done:
    if (fd >= 0) close(fd);
    as_runstate_free(&rs);
    free(slot);
    free(gather);
    return ret;
}
