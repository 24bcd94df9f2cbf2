/* job_metrics.c - the reduce stage's per-prompt context, built identically on
 * every rank from the broadcast job (see include/attnsweep/metrics.h): text,
 * tokens, offsets, keywords, the prompt's spans (its own texts of its group's
 * spans) and the variant prefix; and the
 * prompts' metric layouts and the /metrics table that creation allocates. */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/reduce.h"
#include "run_internal.h"

as_status as_run_prefixes(const struct as_sweep *s, size_t *out, struct as_err *err) {
    for (int g = 0; g < s->n_groups; g++) {
        const struct as_sweep_group *gr = &s->groups[g];
        int64_t n = gr->n_prompts;
        if (n <= 0) continue;
        const char **texts = malloc((size_t)n * sizeof *texts);
        size_t *lens = malloc((size_t)n * sizeof *lens);
        if (!texts || !lens) {
            free(texts), free(lens);
            return as_err_set(err, AS_ERR_NOMEM, "no memory for %lld prompt texts", (long long)n);
        }
        for (int64_t i = 0; i < n; i++) {
            const struct as_sweep_prompt *p = &s->prompts[gr->first_prompt + i];
            texts[i] = p->text + p->prompt_start; /* the user's prompt, not the chat template */
            lens[i] = p->prompt_len;
        }
        as_metrics_variant_prefixes(texts, lens, (int)n, out + gr->first_prompt);
        free(texts), free(lens);
    }
    return AS_OK;
}

void as_run_span_defs(const struct as_sweep *s, int64_t i, struct as_metrics_span_def *out) {
    const struct as_sweep_group *gr = &s->groups[s->prompts[i].group_index];
    for (int k = 0; k < gr->n_spans; k++) {
        out[k].name = gr->spans[k].name;
        if (!as_sweep_span_text(s, i, k, &out[k].text, &out[k].text_len))
            out[k].text = NULL, out[k].text_len = 0; /* absent from this prompt */
    }
}

void as_job_metrics_free(struct as_job_metrics *jm) {
    free(jm->prefix);
    free(jm->layouts);
    memset(jm, 0, sizeof *jm);
}

as_status as_job_metrics_init(struct as_job_metrics *jm, const struct as_job *j,
                              struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_sweep *s = &j->sweep;
    memset(jm, 0, sizeof *jm);
    jm->max_spans = 0;
    for (int g = 0; g < s->n_groups; g++)
        if (s->groups[g].n_spans > jm->max_spans) jm->max_spans = s->groups[g].n_spans;
    jm->prefix = calloc((size_t)j->n + 1, sizeof *jm->prefix);
    jm->layouts = calloc((size_t)j->n + 1, sizeof *jm->layouts);
    struct as_metrics_span_def *spans = calloc((size_t)jm->max_spans + 1, sizeof *spans);
    if (!jm->prefix || !jm->layouts || !spans) {
        free(spans);
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the metrics contexts");
        goto done;
    }
    ret = as_run_prefixes(s, jm->prefix, err);
    for (int64_t i = 0; ret == AS_OK && i < j->n; i++) {
        struct as_metrics_ctx ctx;
        as_job_metrics_ctx(jm, j, i, spans, &ctx);
        /* the forward pass has the full maps even when only the last row is stored */
        ret = as_metrics_layout_compute(&ctx, AS_METRICS_FULL, &jm->layouts[i], err);
    }
    free(spans);
done:
    if (ret != AS_OK) as_job_metrics_free(jm);
    return ret;
}

void as_job_metrics_ctx(const struct as_job_metrics *jm, const struct as_job *j, int64_t i,
                        struct as_metrics_span_def *spans, struct as_metrics_ctx *ctx) {
    const struct as_sweep *s = &j->sweep;
    const struct as_job_store st = as_job_store_of(j);
    const struct as_job_prompt v = as_job_prompt_of(j, i);
    const struct as_sweep_prompt *p = v.p;
    memset(ctx, 0, sizeof *ctx);
    /* metrics describe what is stored: the layer/head subset when there is one */
    ctx->L = st.L;
    ctx->H = st.H;
    ctx->T = v.T;
    ctx->token_ids = v.ids;
    ctx->tokens = v.tokens;
    ctx->offsets = v.offsets;
    ctx->text = p->text;
    ctx->text_len = p->text_len;
    ctx->keywords = (const char *const *)s->keywords;
    ctx->n_keywords = s->n_keywords;
    as_run_span_defs(s, i, spans);
    ctx->spans = spans;
    ctx->n_spans = s->groups[p->group_index].n_spans;
    ctx->prompt_start = p->prompt_start, ctx->prompt_len = p->prompt_len;
    ctx->chat = s->groups[p->group_index].chat != NULL;
    ctx->prefix_len = jm->prefix[i];
    ctx->answer_mass = j->gen_start != NULL;    /* the sweep generates: span_mass_from_answer */
    if (j->gen_start && j->gen_start[i] >= 0) { /* generation (job_generate.c) */
        ctx->generates = 1;
        ctx->gen_start = (size_t)j->gen_start[i];
        ctx->answer_regex = s->groups[p->group_index].gen.answer_regex;
    }
}
