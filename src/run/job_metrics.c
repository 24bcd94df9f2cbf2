/* job_metrics.c - the reduce stage's per-prompt context, built identically on
 * every rank from the broadcast job (see include/attnsweep/metrics.h): text,
 * tokens, offsets, keywords, the group's spans and the variant prefix. */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/reduce.h"
#include "run_internal.h"

void as_job_metrics_free(struct as_job_metrics *jm) {
    if (jm->group_spans)
        for (int g = 0; g < jm->n_groups; g++)
            free(jm->group_spans[g]);
    free(jm->group_spans);
    free(jm->prefix);
    memset(jm, 0, sizeof *jm);
}

as_status as_job_metrics_init(struct as_job_metrics *jm, const struct as_job *j,
                              struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_sweep *s = &j->sweep;
    memset(jm, 0, sizeof *jm);
    jm->n_groups = s->n_groups;
    jm->prefix = calloc((size_t)j->n + 1, sizeof *jm->prefix);
    jm->group_spans = calloc((size_t)s->n_groups + 1, sizeof *jm->group_spans);
    if (!jm->prefix || !jm->group_spans) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the metrics contexts");
        goto done;
    }
    AS_TRY(as_reduce_prefixes(s, jm->prefix, err));
    for (int g = 0; g < s->n_groups; g++) {
        jm->group_spans[g] = calloc((size_t)s->groups[g].n_spans + 1, sizeof **jm->group_spans);
        if (!jm->group_spans[g]) {
            ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the span definitions");
            goto done;
        }
        as_reduce_span_defs(s, g, jm->group_spans[g]);
    }
done:
    if (ret != AS_OK) as_job_metrics_free(jm);
    return ret;
}

void as_job_metrics_ctx(const struct as_job_metrics *jm, const struct as_job *j, int64_t i,
                        struct as_metrics_ctx *ctx) {
    const struct as_sweep *s = &j->sweep;
    const struct as_sweep_prompt *p = &s->prompts[i];
    memset(ctx, 0, sizeof *ctx);
    /* metrics describe what is stored: the layer/head subset when there is one */
    ctx->L = s->n_layers ? s->n_layers : j->cfg.n_layers;
    ctx->H = s->n_heads ? s->n_heads : j->cfg.n_heads;
    ctx->T = j->n_tokens[i];
    ctx->token_ids = j->ids + j->tok_start[i];
    ctx->tokens = j->tok + j->tok_start[i];
    ctx->offsets = j->offsets + 2 * j->tok_start[i];
    ctx->text = p->text;
    ctx->text_len = p->text_len;
    ctx->keywords = (const char *const *)s->keywords;
    ctx->n_keywords = s->n_keywords;
    ctx->spans = jm->group_spans[p->group_index];
    ctx->n_spans = s->groups[p->group_index].n_spans;
    ctx->prefix_len = jm->prefix[i];
}

as_status as_job_metrics_create(const struct as_job_metrics *jm, const struct as_job *j,
                                struct as_h5file *f, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_metrics_layout *lay = calloc((size_t)j->n + 1, sizeof *lay);
    if (!lay) return as_err_set(err, AS_ERR_NOMEM, "out of memory for the metrics layouts");
    for (int64_t i = 0; i < j->n; i++) {
        struct as_metrics_ctx ctx;
        as_job_metrics_ctx(jm, j, i, &ctx);
        /* the forward pass has the full maps even when only the last row is stored */
        AS_TRY(as_metrics_layout_compute(&ctx, AS_METRICS_FULL, &lay[i], err));
    }
    AS_TRY(as_metrics_h5_create(f, lay, j->n, err));
done:
    free(lay);
    return ret;
}
