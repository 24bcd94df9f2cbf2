/* output.c - rank 0's description of the job's output file: the create spec
 * (prompt table, tokens, the /metrics layout) that creation and the --dry-run
 * size estimate both use. */
#define _DEFAULT_SOURCE /* realpath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/reduce.h"
#include "attnsweep/version.h"
#include "attnsweep/norm_metrics.h"
#include "run_internal.h"

/* the sweep (pure) and the file (src/io) agree on the id limit without including each other */
_Static_assert(AS_SWEEP_ID_MAX == AS_H5_ID_MAX, "sweep ids must fit the HDF5 prompt table");

void as_job_spec_free(struct as_job_spec *js) {
    free(js->prompts);
    free(js->layer_ids);
    free(js->head_ids);
    as_table_free(&js->metrics);
    as_table_free(&js->behaviour);
    as_table_free(&js->meta);
    memset(js, 0, sizeof *js);
}

as_status as_run_meta_table(const struct as_sweep *s, struct as_table *t, struct as_err *err) {
    const int64_t n = s->n_prompts, shape[1] = {n};
    const char **strs = NULL;
    for (int k = 0; k < s->n_columns; k++) {
        const struct as_sweep_column *m = &s->columns[k];
        if (m->type == AS_SWEEP_COL_STRING) {
            if (!strs && !(strs = malloc(((size_t)n + 1) * sizeof *strs))) {
                t->oom = 1;
                break;
            }
            for (int64_t i = 0; i < n; i++)
                strs[i] = m->cells[i].i >= 0 ? m->strs[m->cells[i].i] : "";
            as_table_add_strings(t, m->name, "prompt", shape, strs);
            continue;
        }
        size_t es = m->type == AS_SWEEP_COL_BOOL ? 1 : 8;
        void *data = malloc(((size_t)n + 1) * es);
        if (!data) {
            t->oom = 1;
            break;
        }
        for (int64_t i = 0; i < n; i++) {
            if (m->type == AS_SWEEP_COL_BOOL)
                ((int8_t *)data)[i] = (int8_t)m->cells[i].i;
            else
                memcpy((char *)data + 8 * i, &m->cells[i], 8); /* int64 or double */
        }
        enum as_col_type ct = m->type == AS_SWEEP_COL_BOOL  ? AS_COL_I8
                              : m->type == AS_SWEEP_COL_INT ? AS_COL_I64
                                                            : AS_COL_F64;
        struct as_col *c = as_table_add_owned(t, m->name, ct, "prompt", shape, data);
        if (c && m->type == AS_SWEEP_COL_BOOL) {
            c->flag_base = m->n_missing ? -1 : 0;
            snprintf(c->flag_meanings, sizeof c->flag_meanings, "%s",
                     m->n_missing ? "missing false true" : "false true");
        }
    }
    free(strs);
    /* chat prompts: where the user's prompt is in each templated text (docs/FORMAT.md) */
    int chat = 0;
    for (int g = 0; g < s->n_groups; g++)
        chat |= s->groups[g].chat != NULL;
    if (chat && !t->oom) {
        int64_t *ps = malloc(((size_t)n + 1) * sizeof *ps);
        int32_t *pl = malloc(((size_t)n + 1) * sizeof *pl);
        if (!ps || !pl) {
            free(ps), free(pl);
            t->oom = 1;
        } else {
            for (int64_t i = 0; i < n; i++)
                ps[i] = (int64_t)s->prompts[i].prompt_start,
                pl[i] = (int32_t)s->prompts[i].prompt_len;
            as_table_add_owned(t, "prompt_start", AS_COL_I64, "prompt", shape, ps);
            as_table_add_owned(t, "prompt_length", AS_COL_I32, "prompt", shape, pl);
        }
    }
    return as_table_check(t, "/sweep metadata", err);
}

as_status as_job_spec_init(struct as_job_spec *js, const struct as_job *j,
                           const struct as_job_metrics *jm, const struct as_run_opts *o,
                           int n_ranks, struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_sweep *s = &j->sweep;
    const struct as_job_store st = as_job_store_of(j);
    const int L = st.L, H = st.H;
    const char **ids = NULL;
    memset(js, 0, sizeof *js);
    as_table_init(&js->metrics);
    as_table_init(&js->behaviour);
    as_table_init(&js->meta);
    js->prompts = calloc((size_t)j->n + 1, sizeof *js->prompts);
    js->layer_ids = calloc((size_t)L, sizeof *js->layer_ids);
    js->head_ids = calloc((size_t)H, sizeof *js->head_ids);
    ids = calloc((size_t)j->n + 1, sizeof *ids);
    if (!js->prompts || !js->layer_ids || !js->head_ids || !ids) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for %lld prompt specs", (long long)j->n);
        goto done;
    }
    for (int l = 0; l < L; l++)
        js->layer_ids[l] = st.layers ? st.layers[l] : l;
    for (int h = 0; h < H; h++)
        js->head_ids[h] = st.heads ? st.heads[h] : h;
    for (int64_t i = 0; i < j->n; i++) {
        const struct as_job_prompt v = as_job_prompt_of(j, i);
        struct as_h5_prompt_spec *x = &js->prompts[i];
        x->id = v.p->id;
        x->text = v.p->text;
        x->text_len = v.p->text_len;
        x->group = v.p->group;
        x->variant = v.p->variant;
        x->n_tokens = v.T;
        x->rank = j->rank[i];
        x->token_ids = v.ids;
        x->tokens = v.tokens;
        x->offsets = v.offsets;
        x->skipped = j->status0[i] == AS_PROMPT_SKIPPED;
        x->tokens_dropped = j->dropped ? j->dropped[i] : 0;
        ids[i] = v.p->id;
    }
    AS_TRY(as_metrics_table_layout(&js->metrics, j->n, jm->layouts, ids, j->n_tokens, L, H,
                                   js->layer_ids, js->head_ids, (const char *const *)s->keywords,
                                   s->n_keywords, err));
    if (s->weights != AS_WEIGHTS_PROBS) AS_TRY(as_norm_metrics_layout(&js->metrics, err));
    AS_TRY(as_behaviour_layout(&js->behaviour, j, ids, err));
    struct as_h5_provenance *pv = &js->prov;
    pv->version = ATTNSWEEP_VERSION;
    pv->git_commit = ATTNSWEEP_GIT_COMMIT;
    pv->model_path = s->model_path;
    pv->model_size = -1;
    pv->model_mtime = -1;
    pv->command_line = o->command_line;
    pv->config_sha256 = s->sha256;
    pv->config_text = s->yaml;
    /* the base of `file:` paths, so that `attnsweep reduce` can re-read the sweep */
    char dir[AS_SWEEP_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", s->path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    if (!s->yaml || !realpath(slash ? dir : ".", js->config_dir)) js->config_dir[0] = '\0';
    pv->config_dir = js->config_dir[0] ? js->config_dir : NULL;
    if (!s->yaml) pv->config_sha256 = NULL; /* a job made in memory (extract) has no sweep */
    pv->n_ranks = n_ranks;
    struct as_h5_create_spec *c = &js->spec;
    c->prov = pv;
    c->model = &j->cfg;
    c->n_prompts = j->n;
    c->prompts = js->prompts;
    c->store = (enum as_store)s->store;
    c->dtype = (enum as_out_dtype)s->dtype;
    c->value_norms = s->weights != AS_WEIGHTS_PROBS;
    c->scores = s->scores && c->store != AS_STORE_NONE;
    c->n_layers = L;
    c->n_heads = H;
    c->layer_index = st.layers;
    c->head_index = st.heads;
    c->metrics = &js->metrics;
    c->behaviour = &js->behaviour;
    AS_TRY(as_run_meta_table(s, &js->meta, err));
    AS_TRY(as_job_gen_columns(j, &js->meta, err)); /* generation only (job_generate.c) */
    c->sweep_meta = js->meta.n ? &js->meta : NULL;
done:
    free(ids);
    if (ret != AS_OK) as_job_spec_free(js);
    return ret;
}

as_status as_job_estimate(const struct as_job_spec *js, const struct as_job *j, double *bytes,
                          double *meta, struct as_err *err) {
    const struct as_sweep *s = &j->sweep;
    size_t idw = 1, gw = 1, vw = 1, tw = 1;
    for (int64_t i = 0; i < j->n; i++) {
        const struct as_sweep_prompt *p = &s->prompts[i];
        size_t a = strlen(p->id), g = strlen(p->group), v = strlen(p->variant);
        idw = a > idw ? a : idw, gw = g > gw ? g : gw, vw = v > vw ? v : vw;
    }
    for (int64_t t = 0; t < j->n_tok; t++) {
        size_t w = strlen(j->tok[t]);
        tw = w > tw ? w : tw;
    }
    /* the statistics' dimensions: labels as many as groups per `by` column (exact for the
     * default by = [group]), every declared span name plus the derived two */
    const struct as_analysis *an = &s->analysis;
    int64_t n_spans = 2;
    for (int g = 0; g < s->n_groups; g++)
        n_spans += s->groups[g].n_spans;
    struct as_summary_dims d = {0};
    d.n = j->n, d.n_groups = s->n_groups, d.L = js->spec.n_layers, d.H = js->spec.n_heads;
    d.id_width = idw, d.variant_width = vw, d.group_width = gw, d.token_width = tw;
    d.n_by = (an->n_by > 0 ? an->n_by : 1) + (an->answer != NULL);
    d.n_labels = d.n_by * s->n_groups;
    d.n_spans = n_spans, d.n_keywords = s->n_keywords, d.n_contrasts = an->n_contrasts;
    d.name_width = gw > 32 ? gw : 32;
    int n_cols = 0;
    double sb = as_summary_estimate_bytes(&d, &n_cols);
    return as_h5_estimate(&js->spec, sb, n_cols, bytes, meta, err);
}
