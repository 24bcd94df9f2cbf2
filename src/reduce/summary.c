/* summary.c - the sweep-level statistics (rank 0), from the small per-prompt
 * metrics in prompt-index order; definitions in docs/METRICS.md
 * ("Sweep-level statistics"). Pure computation: no MPI, no HDF5. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "summary_internal.h"

as_status as_reduce_prefixes(const struct as_sweep *s, size_t *out, struct as_err *err) {
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
            texts[i] = s->prompts[gr->first_prompt + i].text;
            lens[i] = s->prompts[gr->first_prompt + i].text_len;
        }
        as_metrics_variant_prefixes(texts, lens, (int)n, out + gr->first_prompt);
        free(texts), free(lens);
    }
    return AS_OK;
}

void as_reduce_span_defs(const struct as_sweep *s, int g, struct as_metrics_span_def *out) {
    const struct as_sweep_group *gr = &s->groups[g];
    for (int i = 0; i < gr->n_spans; i++) {
        out[i].name = gr->spans[i].name;
        out[i].text = gr->spans[i].text;
        out[i].text_len = gr->spans[i].text_len;
    }
}

/* ------------------------------------------------------------ helpers */

static int find_span(const struct as_metrics_small *m, const char *name) {
    for (int s = 0; s < m->n_spans; s++)
        if (!strcmp(m->span_name[s], name)) return s;
    return -1;
}

/* Sorts idx[0..n) by key: descending when desc, NaN last, ties by index. */
struct keyed {
    double key;
    int32_t idx;
    int desc;
};
static int cmp_keyed(const void *a, const void *b) {
    const struct keyed *x = a, *y = b;
    int nx = isnan(x->key), ny = isnan(y->key);
    if (nx != ny) return nx - ny;
    if (!nx && x->key != y->key) {
        int less = x->key < y->key;
        return x->desc ? (less ? 1 : -1) : (less ? -1 : 1);
    }
    return (x->idx > y->idx) - (x->idx < y->idx);
}
static void rank_by(const double *v, int n, int desc, struct keyed *tmp, int32_t *out, int k) {
    for (int i = 0; i < n; i++)
        tmp[i] = (struct keyed){v[i], i, desc};
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_keyed);
    for (int i = 0; i < k && i < n; i++)
        out[i] = tmp[i].idx;
}

/* Jensen-Shannon divergence (natural log) of two distributions of n entries. */
static double jsd(const double *p, const double *q, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        double m = 0.5 * (p[i] + q[i]);
        if (p[i] > 0) s += 0.5 * p[i] * log(p[i] / m);
        if (q[i] > 0) s += 0.5 * q[i] * log(q[i] / m);
    }
    return s;
}

static char *sdup(const char *s) {
    return strdup(s ? s : "");
}

void as_summary_free(struct as_summary *sm) {
    if (!sm) return;
    for (int64_t i = 0; i < sm->n; i++) {
        if (sm->ids) free(sm->ids[i]);
        if (sm->small) as_metrics_small_free(&sm->small[i]);
    }
    for (int g = 0; g < sm->n_groups; g++) {
        struct as_summary_group *gr = &sm->groups[g];
        free(gr->name);
        for (int v = 0; v < gr->n_variants; v++)
            free(gr->variants[v]);
        free(gr->variants), free(gr->prompts), free(gr->entropy_std), free(gr->js);
        free(gr->rank_js), free(gr->rank_std), free(gr->prefix_mass), free(gr->question_mass);
        free(gr->example_mass), free(gr->example_top);
    }
    free(sm->groups);
    free(sm->ids), free(sm->index), free(sm->small);
    free(sm->layer_entropy), free(sm->head_entropy), free(sm->head_entropy_mean);
    free(sm->focused), free(sm->distributed);
    free(sm);
}

/* Top-K heads of one (L, H) entropy table; tokens from `tok` (L*H strings). */
static void top_heads(const double *ent, char *const *tok, int L, int H, int desc,
                      struct keyed *tmp, struct as_summary_head *out) {
    int32_t idx[AS_METRICS_TOP_K];
    int n = L * H, k = n < AS_METRICS_TOP_K ? n : AS_METRICS_TOP_K;
    rank_by(ent, n, desc, tmp, idx, k);
    for (int i = 0; i < AS_METRICS_TOP_K; i++) {
        if (i >= k) {
            out[i] = (struct as_summary_head){-1, -1, NAN, ""};
            continue;
        }
        out[i].layer = idx[i] / H, out[i].head = idx[i] % H, out[i].entropy = ent[idx[i]];
        out[i].token = tok ? tok[idx[i]] : "";
    }
}

/* ------------------------------------------------------------ the statistics */

as_status sm_compute(struct as_summary *sm, const struct sm_input *in, struct as_err *err) {
    as_status ret = AS_OK;
    struct keyed *tmp = NULL;
    double *pv = NULL, *qv = NULL;
    const int64_t n = sm->n;
    const int L = sm->L, H = sm->H, LH = L * H;
    char **mode_tok = NULL;
    if (!(tmp = calloc((size_t)LH + (size_t)L + 1, sizeof *tmp)) ||
        !(sm->layer_entropy = calloc((size_t)n * L + 1, sizeof(double))) ||
        !(sm->head_entropy = calloc((size_t)n * LH + 1, sizeof(double))) ||
        !(sm->head_entropy_mean = calloc((size_t)LH, sizeof(double))) ||
        !(sm->focused = calloc((size_t)n * AS_METRICS_TOP_K + 1, sizeof *sm->focused)) ||
        !(sm->distributed = calloc((size_t)n * AS_METRICS_TOP_K + 1, sizeof *sm->distributed)) ||
        !(mode_tok = calloc((size_t)LH, sizeof *mode_tok)))
        goto nomem;

    /* head specialization, per prompt and overall */
    for (int64_t i = 0; i < n; i++) {
        const struct as_metrics_small *m = &sm->small[i];
        memcpy(sm->layer_entropy + i * L, m->layer_entropy, sizeof(double) * L);
        memcpy(sm->head_entropy + i * LH, m->head[AS_HM_HEAD_ENTROPY], sizeof(double) * LH);
        for (int k = 0; k < LH; k++)
            sm->head_entropy_mean[k] += m->head[AS_HM_HEAD_ENTROPY][k];
        top_heads(m->head[AS_HM_HEAD_ENTROPY], m->focus_token, L, H, 0, tmp,
                  sm->focused + i * AS_METRICS_TOP_K);
        top_heads(m->head[AS_HM_HEAD_ENTROPY], m->focus_token, L, H, 1, tmp,
                  sm->distributed + i * AS_METRICS_TOP_K);
    }
    for (int k = 0; k < LH; k++) {
        sm->head_entropy_mean[k] = n > 0 ? sm->head_entropy_mean[k] / (double)n : NAN;
        /* the most frequent focus token of this head over prompts (first seen wins ties) */
        int best = 0;
        mode_tok[k] = "";
        for (int64_t i = 0; i < n; i++) {
            const char *t = sm->small[i].focus_token[k];
            int c = 0;
            for (int64_t j = 0; j < n; j++)
                c += !strcmp(sm->small[j].focus_token[k], t);
            if (c > best) best = c, mode_tok[k] = (char *)t;
        }
    }
    top_heads(sm->head_entropy_mean, mode_tok, L, H, 0, tmp, sm->overall_focused);
    top_heads(sm->head_entropy_mean, mode_tok, L, H, 1, tmp, sm->overall_distributed);

    /* groups */
    if (!(sm->groups = calloc((size_t)in->n_groups + 1, sizeof *sm->groups))) goto nomem;
    sm->n_groups = in->n_groups;
    for (int g = 0; g < in->n_groups; g++) {
        struct as_summary_group *gr = &sm->groups[g];
        if (!(gr->name = sdup(in->group_names[g]))) goto nomem;
        int V = 0;
        for (int64_t i = 0; i < n; i++)
            V += in->group_of[i] == g;
        gr->n_variants = V;
        size_t v1 = (size_t)V + 1;
        if (!(gr->prompts = calloc(v1, sizeof *gr->prompts)) ||
            !(gr->variants = calloc(v1, sizeof *gr->variants)) ||
            !(gr->entropy_std = calloc((size_t)L, sizeof(double))) ||
            !(gr->js = calloc((size_t)L, sizeof(double))) ||
            !(gr->rank_js = calloc((size_t)L, sizeof(int32_t))) ||
            !(gr->rank_std = calloc((size_t)L, sizeof(int32_t))) ||
            !(gr->prefix_mass = calloc(v1 * L, sizeof(double))) ||
            !(gr->question_mass = calloc(v1 * L, sizeof(double))) ||
            !(gr->example_mass = calloc(v1 * LH, sizeof(double))) ||
            !(gr->example_top = calloc(v1 * AS_METRICS_TOP_K, sizeof *gr->example_top)))
            goto nomem;
        int64_t *mem = gr->prompts; /* summary rows (indices into sm->small) of the group */
        int v = 0;
        for (int64_t i = 0; i < n; i++)
            if (in->group_of[i] == g) {
                mem[v] = i;
                if (!(gr->variants[v] = sdup(in->variant_names[i]))) goto nomem;
                v++;
            }
        /* layer_entropy std over variants (ddof = 0) */
        for (int l = 0; l < L; l++) {
            double mu = 0, var = 0;
            for (v = 0; v < V; v++)
                mu += sm->small[mem[v]].layer_entropy[l];
            mu /= V;
            for (v = 0; v < V; v++) {
                double d = sm->small[mem[v]].layer_entropy[l] - mu;
                var += d * d;
            }
            gr->entropy_std[l] = V > 0 ? sqrt(var / V) : NAN;
        }
        /* JS divergence on the shared question tokens, aligned from their end */
        int shared = -1;
        for (v = 0; v < V; v++) {
            const struct as_metrics_small *m = &sm->small[mem[v]];
            int s = find_span(m, "question"), c = 0;
            if (s >= 0 && m->span_tokens[2 * s] >= 0)
                c = m->span_tokens[2 * s + 1] - m->span_tokens[2 * s];
            if (shared < 0 || c < shared) shared = c;
        }
        gr->n_shared = shared < 0 ? 0 : shared;
        free(pv), free(qv);
        pv = calloc((size_t)V * (gr->n_shared + 1), sizeof(double));
        qv = NULL;
        if (!pv) goto nomem;
        for (int l = 0; l < L; l++) {
            int ok = V >= 2 && gr->n_shared > 0;
            for (v = 0; v < V && ok; v++) {
                const struct as_metrics_small *m = &sm->small[mem[v]];
                int s = find_span(m, "question");
                int end = m->span_tokens[2 * s + 1];
                const double *row = m->last_row_mean + (size_t)l * m->T;
                double *p = pv + (size_t)v * gr->n_shared, z = 0;
                for (int t = 0; t < gr->n_shared; t++)
                    z += (p[t] = row[end - gr->n_shared + t]);
                if (!(z > 0)) ok = 0;
                for (int t = 0; t < gr->n_shared && ok; t++)
                    p[t] /= z;
            }
            double acc = 0;
            int pairs = 0;
            for (v = 0; v < V && ok; v++)
                for (int w = v + 1; w < V; w++, pairs++)
                    acc += jsd(pv + (size_t)v * gr->n_shared, pv + (size_t)w * gr->n_shared,
                               gr->n_shared);
            gr->js[l] = ok && pairs > 0 ? acc / pairs : NAN;
        }
        rank_by(gr->js, L, 1, tmp, gr->rank_js, L);
        rank_by(gr->entropy_std, L, 1, tmp, gr->rank_std, L);
        /* instruction effect and few-shot effect */
        for (v = 0; v < V; v++) {
            const struct as_metrics_small *m = &sm->small[mem[v]];
            int sp = find_span(m, "prefix"), sq = find_span(m, "question");
            for (int l = 0; l < L; l++) {
                double a = 0, b = 0;
                for (int h = 0; h < H; h++) {
                    if (sp >= 0) a += m->span_mass[((size_t)sp * L + l) * H + h];
                    if (sq >= 0) b += m->span_mass[((size_t)sq * L + l) * H + h];
                }
                gr->prefix_mass[(size_t)v * L + l] = a / H;
                gr->question_mass[(size_t)v * L + l] = b / H;
            }
            double *ex = gr->example_mass + (size_t)v * LH;
            for (int s = 0; s < m->n_spans; s++) {
                if (strncmp(m->span_name[s], "example_answer", 14) != 0) continue;
                if (m->span_tokens[2 * s] >= 0) gr->has_examples = 1;
                for (int k = 0; k < LH; k++)
                    ex[k] += m->span_mass[(size_t)s * LH + k];
            }
        }
        for (v = 0; v < V; v++)
            top_heads(gr->example_mass + (size_t)v * LH, NULL, L, H, 1, tmp,
                      gr->example_top + (size_t)v * AS_METRICS_TOP_K);
        /* indices into the file, not into sm->small */
        for (v = 0; v < V; v++)
            gr->prompts[v] = sm->index[gr->prompts[v]];
    }
    goto done;
nomem:
    ret = as_err_set(err, AS_ERR_NOMEM, "summary: out of memory");
done:
    free(tmp), free(pv), free(qv), free(mode_tok);
    return ret;
}
