/* export.c - rank 0 exports of a summary: JSON (jansson) in the shape of the
 * notebook's exp8_attention_results.json (keyed like the notebook: variant names when they
 * are unique) plus the new statistics under their own keys, and tidy CSV tables for pandas. NaN is
 * written as JSON null and CSV "nan". The per-prompt values come from the summary's views into the
 * /metrics columns (sm->small). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "stats_internal.h"
#include "summary_internal.h"

static json_t *jnum(double v) {
    return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static json_t *jarr(const double *v, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, jnum(v[i]));
    return a;
}

static json_t *jarr_i(const int32_t *v, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    return a;
}

/* The notebook's records: {layer, head, entropy[, focus_token]} */
static json_t *jheads(const struct as_summary_head *h, int with_token, const char *value) {
    json_t *a = json_array();
    for (int i = 0; i < AS_METRICS_TOP_K; i++) {
        if (h[i].layer < 0) continue;
        json_t *o = json_object();
        json_object_set_new(o, "layer", json_integer(h[i].layer));
        json_object_set_new(o, "head", json_integer(h[i].head));
        json_object_set_new(o, value, jnum(h[i].entropy));
        if (with_token)
            json_object_set_new(o, "focus_token", json_string(h[i].token ? h[i].token : ""));
        json_array_append_new(a, o);
    }
    return a;
}

/* ------------------------------------------------------------ JSON keys */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The key of each summarized prompt: its variant name when every variant name is unique
 * (the notebook's d["layer_entropies"]["cot"]), else its full id. *use_variant tells which.
 * variant[j] is each prompt's variant. Returns NULL when out of memory. */
static const char **prompt_keys(const struct as_summary *sm, const char **variant,
                                int *use_variant) {
    const size_t n = (size_t)sm->n;
    const char **keys = calloc(n + 1, sizeof *keys), **sorted = calloc(n + 1, sizeof *sorted);
    if (!keys || !sorted) {
        free(keys), free(sorted);
        return NULL;
    }
    int uniq = 1;
    for (size_t j = 0; j < n; j++) {
        sorted[j] = variant[j] ? variant[j] : "";
        uniq &= sorted[j][0] != '\0';
    }
    qsort(sorted, n, sizeof *sorted, cmp_str);
    for (size_t j = 1; uniq && j < n; j++)
        uniq = strcmp(sorted[j - 1], sorted[j]) != 0;
    for (size_t j = 0; j < n; j++)
        keys[j] = uniq ? variant[j] : sm->ids[j];
    free(sorted);
    *use_variant = uniq;
    return keys;
}

/* Summary row of /sweep row r (sm->index is ascending), or -1. */
static int64_t row_of(const struct as_summary *sm, int64_t r) {
    int64_t lo = 0, hi = sm->n - 1;
    while (lo <= hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (sm->index[mid] == r) return mid;
        if (sm->index[mid] < r)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* {mean, std, lo, hi} of element off of each array, or {mean, lo, hi, same_sign}. */
static json_t *jq4(const struct as_stats_q4 *q, size_t off, int L) {
    json_t *o = json_object();
    json_object_set_new(o, "mean", jarr(q->mean + off, L));
    json_object_set_new(o, "std", jarr(q->std + off, L));
    json_object_set_new(o, "lo", jarr(q->lo + off, L));
    json_object_set_new(o, "hi", jarr(q->hi + off, L));
    return o;
}
static json_t *jc4(const struct as_stats_c4 *q, size_t off, int L) {
    json_t *o = json_object();
    json_object_set_new(o, "mean", jarr(q->mean + off, L));
    json_object_set_new(o, "lo", jarr(q->lo + off, L));
    json_object_set_new(o, "hi", jarr(q->hi + off, L));
    json_object_set_new(o, "same_sign", jarr(q->same_sign + off, L));
    return o;
}
/* [L][H] of a (NL, L, H) array at label lab */
static json_t *jlh(const double *v, int64_t lab, int L, int H) {
    json_t *a = json_array();
    for (int l = 0; l < L; l++)
        json_array_append_new(a, jarr(v + ((size_t)lab * L + l) * H, H));
    return a;
}

/* "statistics": the statistics across prompts (docs/METRICS.md), per-layer values in full,
 * per-(layer, head) values as their means (the rest is in /summary). */
static json_t *jstats(const struct as_summary *sm) {
    const struct as_summary_stats *st = sm->stats;
    const int L = st->L, H = st->H, NS = st->NS, NK = st->NK;
    json_t *o = json_object(), *set = json_object(), *by = json_object(), *cs = json_object(),
           *sens = json_object();
    json_object_set_new(set, "bootstrap_resamples", json_integer(st->n_boot));
    json_object_set_new(set, "bootstrap_seed", json_integer((json_int_t)st->seed));
    json_object_set_new(set, "confidence", json_real(st->confidence));
    json_object_set_new(set, "js_min_shared", json_integer(st->js_min_shared));
    json_object_set_new(o, "settings", set);
    for (int b = 0; b < st->NB; b++) {
        json_t *col = json_object();
        for (int lab = 0; lab < st->NL; lab++) {
            if (st->label_by[lab] != b) continue;
            json_t *e = json_object(), *sp = json_object(), *kw = json_object();
            json_object_set_new(e, "count", json_integer(st->label_count[lab]));
            json_object_set_new(e, "layer_entropy", jq4(&st->layer_entropy, (size_t)lab * L, L));
            for (int s = 0; s < NS; s++) {
                if (st->span_count[(size_t)lab * NS + s] == 0) continue;
                json_t *q = jq4(&st->span, ((size_t)lab * NS + s) * L, L);
                json_object_set_new(q, "count", json_integer(st->span_count[(size_t)lab * NS + s]));
                json_object_set_new(sp, st->span_name[s], q);
            }
            for (int k = 0; k < NK; k++) {
                if (st->kw_count[(size_t)lab * NK + k] == 0) continue;
                json_t *q = jq4(&st->kw, ((size_t)lab * NK + k) * L, L);
                json_object_set_new(q, "count", json_integer(st->kw_count[(size_t)lab * NK + k]));
                json_object_set_new(kw, st->keyword[k], q);
            }
            json_object_set_new(e, "span_mass", sp);
            json_object_set_new(e, "keyword_mass", kw);
            json_object_set_new(e, "head_entropy_mean",
                                jlh(st->head[AS_STAT_ENTROPY].mean, lab, L, H));
            json_object_set_new(e, "sink_mean", jlh(st->head[AS_STAT_SINK].mean, lab, L, H));
            json_object_set_new(e, "prev_token_mean", jlh(st->head[AS_STAT_PREV].mean, lab, L, H));
            json_object_set_new(e, "induction_mean",
                                jlh(st->head[AS_STAT_INDUCTION].mean, lab, L, H));
            json_object_set_new(col, st->label_value[lab], e);
        }
        json_object_set_new(by, st->by[b], col);
        json_t *z = json_object();
        json_object_set_new(z, "ratio", jarr(st->sens_ratio + (size_t)b * L, L));
        json_object_set_new(z, "lo", jarr(st->sens_lo + (size_t)b * L, L));
        json_object_set_new(z, "hi", jarr(st->sens_hi + (size_t)b * L, L));
        json_object_set_new(z, "rank", jarr_i(st->sens_rank + (size_t)b * L, L));
        json_object_set_new(sens, st->by[b], z);
    }
    static const char *const qn[AS_STAT_COUNT] = {"layer_entropy", "sink", "prev_token",
                                                  "induction"};
    for (int c = 0; c < st->NC; c++) {
        json_t *e = json_object(), *sp = json_object(), *kw = json_object();
        json_object_set_new(e, "column", json_string(st->c_column[c]));
        json_object_set_new(e, "a", json_string(st->c_a[c]));
        json_object_set_new(e, "b", json_string(st->c_b[c]));
        json_object_set_new(e, "pair_on", json_string(st->c_pair_on[c]));
        json_object_set_new(e, "n_pairs", json_integer(st->c_pairs[c]));
        for (int q = 0; q < AS_STAT_COUNT; q++)
            json_object_set_new(e, qn[q], jc4(&st->c_q[q], (size_t)c * L, L));
        for (int s = 0; s < NS; s++) {
            const int32_t np = st->c_span_count[(size_t)c * NS + s];
            if (np == 0) continue;
            json_t *q = jc4(&st->c_span, ((size_t)c * NS + s) * L, L);
            json_object_set_new(q, "n_pairs", json_integer(np));
            json_object_set_new(sp, st->span_name[s], q);
        }
        for (int k = 0; k < NK; k++) {
            const int32_t np = st->c_kw_count[(size_t)c * NK + k];
            if (np == 0) continue;
            json_t *q = jc4(&st->c_kw, ((size_t)c * NK + k) * L, L);
            json_object_set_new(q, "n_pairs", json_integer(np));
            json_object_set_new(kw, st->keyword[k], q);
        }
        json_object_set_new(e, "span_mass", sp);
        json_object_set_new(e, "keyword_mass", kw);
        json_object_set_new(cs, st->c_name[c], e);
    }
    json_object_set_new(o, "by", by);
    json_object_set_new(o, "contrasts", cs);
    json_object_set_new(o, "sensitivity", sens);
    return o;
}

/* 1 if the span record names an example answer (example_answer*). */
static int is_example(const char *rec, size_t w) {
    return sm_rec_len(rec, w) >= 14 && !memcmp(rec, "example_answer", 14);
}

as_status as_summary_write_json(const struct as_summary *sm, const char *path, struct as_err *err) {
    const int L = sm->L, H = sm->H, K = AS_METRICS_TOP_K;
    const size_t n = (size_t)sm->n;
    const struct as_summary_stats *st = sm->stats;
    const char **variant = calloc(n + 1, sizeof *variant), **keys = NULL;
    if (!variant) return as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", path);
    for (int g = 0; g < sm->n_groups; g++)
        for (int v = 0; v < sm->groups[g].n_variants; v++) {
            int64_t j = row_of(sm, sm->groups[g].prompts[v]);
            if (j >= 0) variant[j] = sm->groups[g].variants[v];
        }
    int use_variant = 0;
    if (!(keys = prompt_keys(sm, variant, &use_variant))) {
        free(variant);
        return as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", path);
    }
    json_t *root = json_object(), *le = json_object(), *per = json_object(),
           *groups = json_object(), *ids = json_object(), *kwa = json_object(),
           *kwm = json_object(), *fst = json_object(), *fsa = json_object();
    /* the notebook's head_specialization_summary is the CoT prompt's */
    int64_t focus = 0;
    for (size_t j = 0; j < n; j++)
        if (variant[j] && !strcmp(variant[j], "cot")) {
            focus = (int64_t)j;
            break;
        }
    for (size_t j = 0; j < n; j++) {
        const struct as_metrics_small *m = &sm->small[j];
        json_object_set_new(ids, keys[j], json_string(sm->ids[j]));
        json_object_set_new(le, keys[j], jarr(m->layer_entropy, L));
        json_t *o = json_object();
        json_object_set_new(o, "most_focused", jheads(sm->focused + j * K, 1, "entropy"));
        json_object_set_new(o, "most_distributed", jheads(sm->distributed + j * K, 0, "entropy"));
        json_object_set_new(per, keys[j], o);
        /* keyword attention: the notebook's dict "kw ('token')" (token rule, last row of
         * the last layer, head mean; a repeated key keeps the last value, as in Python) */
        json_t *ka = json_object();
        for (int s = 0; st && st->NK > 0 && s < m->n_substr; s++) {
            const int kidx = m->substr_keyword[s];
            const char *tok = m->token_str + (size_t)m->substr_position[s] * m->token_str_width;
            char key[600];
            snprintf(key, sizeof key, "%s ('%.*s')", st->keyword[kidx],
                     (int)sm_rec_len(tok, m->token_str_width), tok);
            json_object_set_new(ka, key, jnum(m->substr_mass[s]));
        }
        json_object_set_new(kwa, keys[j], ka);
        /* keyword mass by the text rule: every occurrence of each keyword, last layer */
        json_t *km = json_object();
        for (int k = 0; st && k < st->NK; k++) {
            double v = 0;
            int seen = 0;
            for (int o2 = 0; o2 < m->n_occ; o2++)
                if (m->occ_keyword[o2] == k) v += m->occ_mass[o2], seen = 1;
            if (seen) json_object_set_new(km, st->keyword[k], jnum(v));
        }
        json_object_set_new(kwm, keys[j], km);
    }
    json_object_set_new(root, "layer_entropies", le);
    json_t *hs = json_object();
    json_object_set_new(hs, "prompt", json_string(keys[focus]));
    json_object_set_new(hs, "most_focused", jheads(sm->focused + focus * K, 1, "entropy"));
    json_object_set_new(hs, "most_distributed", jheads(sm->distributed + focus * K, 0, "entropy"));
    json_object_set_new(root, "head_specialization_summary", hs);
    json_t *ho = json_object();
    json_object_set_new(ho, "most_focused", jheads(sm->overall_focused, 1, "entropy"));
    json_object_set_new(ho, "most_distributed", jheads(sm->overall_distributed, 0, "entropy"));
    json_object_set_new(root, "head_specialization_overall", ho);
    json_object_set_new(root, "head_specialization_per_prompt", per);
    json_t *hm = json_array();
    for (int l = 0; l < L; l++)
        json_array_append_new(hm, jarr(sm->head_entropy_mean + (size_t)l * H, H));
    json_object_set_new(root, "head_entropy_mean", hm);
    json_object_set_new(root, "keyword_attention", kwa);
    json_object_set_new(root, "keyword_mass", kwm);
    for (int g = 0; g < sm->n_groups; g++) {
        const struct as_summary_group *gr = &sm->groups[g];
        json_t *o = json_object(), *vars = json_array(), *pm = json_object(), *qm = json_object();
        json_t *ex = json_object();
        for (int v = 0; v < gr->n_variants; v++) {
            json_array_append_new(vars, json_string(gr->variants[v]));
            json_object_set_new(pm, gr->variants[v], jarr(gr->prefix_mass + (size_t)v * L, L));
            json_object_set_new(qm, gr->variants[v], jarr(gr->question_mass + (size_t)v * L, L));
            if (!gr->has_examples) continue;
            json_object_set_new(ex, gr->variants[v], jheads(gr->example_top + v * K, 0, "mass"));
            /* few-shot totals: head-mean last-layer mass on the example answers */
            const int64_t j = row_of(sm, gr->prompts[v]);
            if (j < 0) continue;
            const struct as_metrics_small *m = &sm->small[j];
            json_t *per_span = json_object();
            double total = 0;
            for (int s = 0; s < m->n_spans; s++) {
                const char *rec = m->span_names + (size_t)s * m->span_name_width;
                if (!is_example(rec, m->span_name_width) || m->span_tokens[2 * s] < 0) continue;
                double a = 0;
                for (int h = 0; h < H; h++)
                    a += m->span_mass[((size_t)s * L + (L - 1)) * H + h];
                a /= H;
                total += a;
                char nm[600];
                snprintf(nm, sizeof nm, "%.*s", (int)sm_rec_len(rec, m->span_name_width), rec);
                json_object_set_new(per_span, nm, jnum(a));
            }
            json_object_set_new(fst, keys[j], jnum(total));
            json_object_set_new(fsa, keys[j], per_span);
        }
        json_object_set_new(o, "variants", vars);
        json_object_set_new(o, "layer_entropy_std", jarr(gr->entropy_std, L));
        json_object_set_new(o, "js_divergence", jarr(gr->js, L));
        json_object_set_new(o, "n_shared_tokens", json_integer(gr->n_shared));
        json_object_set_new(o, "js_pairs", json_integer(gr->js_pairs));
        json_object_set_new(o, "sensitivity_rank_js", jarr_i(gr->rank_js, L));
        json_object_set_new(o, "sensitivity_rank_entropy_std", jarr_i(gr->rank_std, L));
        json_object_set_new(o, "prefix_mass", pm);
        json_object_set_new(o, "question_mass", qm);
        if (gr->has_examples)
            json_object_set_new(o, "example_top_heads", ex);
        else
            json_decref(ex);
        json_object_set_new(groups, gr->name, o);
    }
    json_object_set_new(root, "fewshot_totals", fst);
    json_object_set_new(root, "fewshot_attention", fsa);
    json_object_set_new(root, "groups", groups);
    json_object_set_new(root, "prompt_keys", json_string(use_variant ? "variant" : "id"));
    json_object_set_new(root, "prompt_ids", ids);
    if (st) json_object_set_new(root, "statistics", jstats(sm));
    int rc =
        json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    free(variant), free(keys);
    if (rc != 0) return as_err_set(err, AS_ERR_IO, "%s: cannot write the JSON summary", path);
    return AS_OK;
}

/* A CSV field, always quoted ("" inside). */
static void csv_str(FILE *fp, const char *s) {
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static void csv_num(FILE *fp, double v) {
    if (isnan(v))
        fputs("nan", fp);
    else
        fprintf(fp, "%.17g", v);
}

/* prompt, layer, head (-1 = whole layer), metric, value */
static void row(FILE *fp, const char *a, const char *b, int layer, int head, const char *metric,
                double v) {
    csv_str(fp, a);
    fputc(',', fp);
    if (b) {
        csv_str(fp, b);
        fputc(',', fp);
    }
    fprintf(fp, "%d,", layer);
    if (head >= 0) fprintf(fp, "%d", head);
    fputc(',', fp);
    csv_str(fp, metric);
    fputc(',', fp);
    csv_num(fp, v);
    fputc('\n', fp);
}

as_status as_summary_write_csv(const struct as_summary *sm, const char *dir, struct as_err *err) {
    char path[4200];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return as_err_set(err, AS_ERR_IO, "%s: cannot create the CSV folder: %s", dir,
                          strerror(errno));
    const int L = sm->L, H = sm->H;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *fp = fopen(path, "w");
    if (!fp) return as_err_set(err, AS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fputs("prompt,layer,head,metric,value\n", fp);
    for (int64_t i = 0; i < sm->n; i++) {
        const struct as_metrics_small *m = &sm->small[i];
        for (int l = 0; l < L; l++)
            row(fp, sm->ids[i], NULL, l, -1, "layer_entropy", m->layer_entropy[l]);
        for (int k = 0; k < AS_HM_COUNT; k++)
            for (int l = 0; l < L; l++)
                for (int h = 0; h < H; h++)
                    row(fp, sm->ids[i], NULL, l, h, as_head_metric_names[k],
                        m->head[k][(size_t)l * H + h]);
        for (int s = 0; s < m->n_spans; s++) {
            char name[600];
            const char *rec = m->span_names + (size_t)s * m->span_name_width;
            const int len = (int)sm_rec_len(rec, m->span_name_width);
            for (int which = 0; which < 2; which++) {
                snprintf(name, sizeof name, "%s:%.*s", which ? "span_lift" : "span_mass", len, rec);
                const double *v = (which ? m->span_lift : m->span_mass) + (size_t)s * L * H;
                for (int l = 0; l < L; l++)
                    for (int h = 0; h < H; h++)
                        row(fp, sm->ids[i], NULL, l, h, name, v[(size_t)l * H + h]);
            }
        }
    }
    int bad = ferror(fp);
    bad |= fclose(fp) != 0;
    if (bad) return as_err_set(err, AS_ERR_IO, "%s: write failed", path);

    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (!(fp = fopen(path, "w")))
        return as_err_set(err, AS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fputs("group,variant,layer,head,metric,value\n", fp);
    for (int g = 0; g < sm->n_groups; g++) {
        const struct as_summary_group *gr = &sm->groups[g];
        for (int l = 0; l < L; l++) {
            row(fp, gr->name, "", l, -1, "layer_entropy_std", gr->entropy_std[l]);
            row(fp, gr->name, "", l, -1, "js_divergence", gr->js[l]);
        }
        for (int v = 0; v < gr->n_variants; v++)
            for (int l = 0; l < L; l++) {
                row(fp, gr->name, gr->variants[v], l, -1, "prefix_mass",
                    gr->prefix_mass[(size_t)v * L + l]);
                row(fp, gr->name, gr->variants[v], l, -1, "question_mass",
                    gr->question_mass[(size_t)v * L + l]);
                for (int h = 0; gr->has_examples && h < H; h++)
                    row(fp, gr->name, gr->variants[v], l, h, "example_mass",
                        gr->example_mass[((size_t)v * L + l) * H + h]);
            }
    }
    bad = ferror(fp);
    bad |= fclose(fp) != 0;
    if (bad) return as_err_set(err, AS_ERR_IO, "%s: write failed", path);
    return AS_OK;
}
