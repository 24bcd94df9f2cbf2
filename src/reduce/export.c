/* export.c - rank 0 exports of a summary: JSON (jansson) in the shape of the
 * notebook's exp8_attention_results.json plus the new statistics, and tidy
 * CSV tables for pandas. NaN is written as JSON null and CSV "nan". The
 * per-prompt values come from the summary's views into the /metrics columns
 * (sm->small). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

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

as_status as_summary_write_json(const struct as_summary *sm, const char *path, struct as_err *err) {
    const int L = sm->L, H = sm->H, K = AS_METRICS_TOP_K;
    json_t *root = json_object(), *le = json_object(), *per = json_object(),
           *groups = json_object();
    for (int64_t i = 0; i < sm->n; i++) {
        json_object_set_new(le, sm->ids[i], jarr(sm->small[i].layer_entropy, L));
        json_t *o = json_object();
        json_object_set_new(o, "most_focused", jheads(sm->focused + i * K, 1, "entropy"));
        json_object_set_new(o, "most_distributed", jheads(sm->distributed + i * K, 0, "entropy"));
        json_object_set_new(per, sm->ids[i], o);
    }
    json_object_set_new(root, "layer_entropies", le);
    json_t *hs = json_object();
    json_object_set_new(hs, "most_focused", jheads(sm->overall_focused, 1, "entropy"));
    json_object_set_new(hs, "most_distributed", jheads(sm->overall_distributed, 0, "entropy"));
    json_object_set_new(root, "head_specialization_summary", hs);
    json_object_set_new(root, "head_specialization_per_prompt", per);
    json_t *hm = json_array();
    for (int l = 0; l < L; l++)
        json_array_append_new(hm, jarr(sm->head_entropy_mean + (size_t)l * H, H));
    json_object_set_new(root, "head_entropy_mean", hm);
    for (int g = 0; g < sm->n_groups; g++) {
        const struct as_summary_group *gr = &sm->groups[g];
        json_t *o = json_object(), *vars = json_array(), *pm = json_object(), *qm = json_object();
        json_t *ex = json_object();
        for (int v = 0; v < gr->n_variants; v++) {
            json_array_append_new(vars, json_string(gr->variants[v]));
            json_object_set_new(pm, gr->variants[v], jarr(gr->prefix_mass + (size_t)v * L, L));
            json_object_set_new(qm, gr->variants[v], jarr(gr->question_mass + (size_t)v * L, L));
            if (gr->has_examples)
                json_object_set_new(ex, gr->variants[v],
                                    jheads(gr->example_top + v * K, 0, "mass"));
        }
        json_object_set_new(o, "variants", vars);
        json_object_set_new(o, "layer_entropy_std", jarr(gr->entropy_std, L));
        json_object_set_new(o, "js_divergence", jarr(gr->js, L));
        json_object_set_new(o, "n_shared_tokens", json_integer(gr->n_shared));
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
    json_object_set_new(root, "groups", groups);
    int rc =
        json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
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
