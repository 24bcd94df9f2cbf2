/* metrics.c - the streaming per-prompt metrics accumulator (metrics.h).
 * Formulas and sources: docs/METRICS.md. Every sum is a double accumulated
 * in ascending (layer, head, query, key) order, so results are bit-identical
 * wherever they are computed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "metrics_internal.h"

/* Carves n elements of size sz (8-byte aligned) from *p; with base == NULL only counts. */
static void *carve(char *base, size_t *off, size_t n, size_t sz) {
    size_t at = (*off + 7) & ~(size_t)7;
    *off = at + n * sz;
    return base ? base + at : NULL;
}

/* Lays out every numeric array of m in `base` (NULL: just measure). */
static size_t layout_arrays(struct as_metrics *m, char *base) {
    const struct as_metrics_layout *y = &m->lay;
    const size_t L = (size_t)y->L, H = (size_t)y->H, T = (size_t)y->T, S = (size_t)y->n_spans;
    const size_t TT = y->input == AS_METRICS_FULL ? T * T : 0;
    size_t off = 0;
    m->token_ids = carve(base, &off, T, sizeof(int32_t));
    m->occ = carve(base, &off, (size_t)y->n_occ, sizeof *m->occ);
    m->nb_keyword = carve(base, &off, (size_t)y->n_nb, sizeof(int32_t));
    m->nb_position = carve(base, &off, (size_t)y->n_nb, sizeof(int32_t));
    m->spans = carve(base, &off, S, sizeof *m->spans);
    m->layer_entropy = carve(base, &off, L, sizeof(double));
    m->head_entropy = carve(base, &off, L * H, sizeof(double));
    m->head_max = carve(base, &off, L * H, sizeof(double));
    m->head_focus = carve(base, &off, L * H, sizeof(int32_t));
    m->last_row_mean = carve(base, &off, L * T, sizeof(double));
    m->occ_mass = carve(base, &off, (size_t)y->n_occ, sizeof(double));
    m->occ_mass_layer = carve(base, &off, (size_t)y->n_occ * L, sizeof(double));
    m->nb_mass = carve(base, &off, (size_t)y->n_nb, sizeof(double));
    m->sink_last = carve(base, &off, L * H, sizeof(double));
    m->sink_mean = TT ? carve(base, &off, L * H, sizeof(double)) : NULL;
    m->prev_token = TT ? carve(base, &off, L * H, sizeof(double)) : NULL;
    m->norm_entropy = TT ? carve(base, &off, L * H, sizeof(double)) : NULL;
    m->dup_token = TT ? carve(base, &off, L * H, sizeof(double)) : NULL;
    m->induction = TT ? carve(base, &off, L * H, sizeof(double)) : NULL;
    m->span_mass = carve(base, &off, S * L * H, sizeof(double));
    m->span_lift = carve(base, &off, S * L * H, sizeof(double));
    m->span_mass_from_answer = carve(base, &off, S * L * H, sizeof(double));
    m->dup = TT ? carve(base, &off, TT, 1) : NULL;
    return off;
}

void as_metrics_free(struct as_metrics *m) {
    free(m->mem);
    free(m->strings);
    free(m->keywords);
    free(m->tokens);
    memset(m, 0, sizeof *m);
}

as_status as_metrics_init(struct as_metrics *m, const struct as_metrics_ctx *c,
                          enum as_metrics_input in, struct as_err *err) {
    as_status ret = AS_OK;
    struct mx_span *sp = NULL;
    memset(m, 0, sizeof *m);
    AS_TRY(as_metrics_layout_compute(c, in, &m->lay, err));
    const struct as_metrics_layout *y = &m->lay;
    const int T = y->T;
    /* size math: (T, T) doubles and (S + n_occ, L, H) doubles must fit in size_t */
    size_t tt = 0, slh = 0;
    if (!as_mul_size((size_t)T, (size_t)T, &tt) || !as_mul_size(tt, 4 * sizeof(double), &tt) ||
        !as_mul_size((size_t)y->n_spans + (size_t)y->n_occ + 1, (size_t)y->L, &slh) ||
        !as_mul_size(slh, (size_t)y->H * 3 * sizeof(double), &slh) || tt > SIZE_MAX / 2 ||
        slh > SIZE_MAX / 2) {
        ret = as_err_set(err, AS_ERR_INVALID, "metrics: sizes L=%d H=%d T=%d overflow", y->L, y->H,
                         T);
        goto done;
    }
    size_t bytes = layout_arrays(m, NULL);
    if (!(m->mem = calloc(1, bytes ? bytes : 1))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "metrics: no memory for %zu bytes (T=%d)", bytes, T);
        goto done;
    }
    layout_arrays(m, m->mem);

    /* owned strings: keywords, tokens, span names */
    if (!(sp = calloc((size_t)y->n_spans + 1, sizeof *sp))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "metrics: no memory for spans");
        goto done;
    }
    mx_list_spans(c, sp);
    size_t sbytes = 0;
    for (int k = 0; k < c->n_keywords; k++)
        sbytes += strlen(c->keywords[k]) + 1;
    for (int t = 0; t < T; t++)
        sbytes += (c->tokens && c->tokens[t] ? strlen(c->tokens[t]) : 0) + 1;
    for (int s = 0; s < y->n_spans; s++)
        sbytes += strlen(sp[s].name) + 1;
    m->keywords = calloc((size_t)c->n_keywords + 1, sizeof(char *));
    m->tokens = calloc((size_t)T, sizeof(char *));
    m->strings = malloc(sbytes + 1);
    if (!m->keywords || !m->tokens || !m->strings) {
        ret = as_err_set(err, AS_ERR_NOMEM, "metrics: no memory for %zu bytes of strings", sbytes);
        goto done;
    }
    char *w = m->strings;
#define MX_COPY(dst, src)                                                                          \
    do {                                                                                           \
        size_t n_ = strlen(src);                                                                   \
        memcpy(w, (src), n_ + 1);                                                                  \
        (dst) = w;                                                                                 \
        w += n_ + 1;                                                                               \
    } while (0)
    for (int k = 0; k < c->n_keywords; k++)
        MX_COPY(m->keywords[k], c->keywords[k]);
    for (int t = 0; t < T; t++)
        MX_COPY(m->tokens[t], c->tokens && c->tokens[t] ? c->tokens[t] : "");
    for (int s = 0; s < y->n_spans; s++)
        MX_COPY(m->spans[s].name, sp[s].name);
#undef MX_COPY

    int ids_known = c->token_ids != NULL;
    for (int t = 0; t < T; t++) {
        m->token_ids[t] = c->token_ids ? c->token_ids[t] : -1;
        if (m->token_ids[t] < 0) ids_known = 0;
    }
    mx_count_occurrences(c, m->occ);
    mx_count_notebook(c, m->nb_keyword, m->nb_position);
    for (int s = 0; s < y->n_spans; s++) {
        struct as_metrics_span *o = &m->spans[s];
        o->kind = sp[s].kind;
        o->bytes[0] = (int32_t)sp[s].begin, o->bytes[1] = (int32_t)sp[s].end;
        o->tokens[0] = o->tokens[1] = -1;
        if (sp[s].begin >= 0)
            as_metrics_span_tokens(c->offsets, T, (size_t)sp[s].begin, (size_t)sp[s].end,
                                   &o->tokens[0], &o->tokens[1]);
    }
    for (size_t k = 0; k < (size_t)y->n_spans * y->L * y->H; k++)
        m->span_mass_from_answer[k] = NAN; /* until a full map says otherwise */
    if (m->dup) {
        /* TransformerLens get_duplicate_token_head_detection_pattern: tokens[j] == tokens[i], j < i
         */
        for (int i = 0; i < T; i++)
            for (int j = 0; j < i; j++)
                m->dup[(size_t)i * T + j] = ids_known && m->token_ids[i] == m->token_ids[j];
        if (!ids_known) { /* patterns undefined: scores are NaN */
            m->dup = NULL;
        }
    }
done:
    free(sp);
    if (ret != AS_OK) as_metrics_free(m);
    return ret;
}

/* -Σ a·log(a + eps) over n values (the notebook's head entropy when eps = 1e-10). */
static double entropy_f32(const float *a, int n, double eps) {
    double s = 0.0;
    for (int k = 0; k < n; k++)
        s += (double)a[k] * log((double)a[k] + eps);
    return -s;
}

/* Metrics of one head's last row (both input modes). */
static void last_row_stats(struct as_metrics *m, int l, int h, const float *row) {
    const struct as_metrics_layout *y = &m->lay;
    const int T = y->T, H = y->H, L = y->L;
    const size_t lh = (size_t)l * H + h;
    m->head_entropy[lh] = entropy_f32(row, T, 1e-10);
    int best = 0;
    for (int k = 1; k < T; k++)
        if (row[k] > row[best]) best = k; /* np.argmax: the first maximum */
    m->head_max[lh] = row[best];
    m->head_focus[lh] = best;
    m->sink_last[lh] = row[0];
    double *mean = m->last_row_mean + (size_t)l * T;
    for (int k = 0; k < T; k++)
        mean[k] += row[k];
    for (int s = 0; s < y->n_spans; s++) {
        const struct as_metrics_span *sp = &m->spans[s];
        size_t at = ((size_t)s * L + l) * H + h;
        if (sp->tokens[0] < 0) {
            m->span_mass[at] = 0.0;
            m->span_lift[at] = NAN;
            continue;
        }
        double mass = 0.0;
        for (int t = sp->tokens[0]; t < sp->tokens[1]; t++)
            mass += row[t];
        m->span_mass[at] = mass;
        m->span_lift[at] = mass / ((double)(sp->tokens[1] - sp->tokens[0]) / (double)T);
    }
}

/* Whole-map metrics of one head (FULL input). A: (T, T). */
static void full_map_stats(struct as_metrics *m, int l, int h, const float *A) {
    const struct as_metrics_layout *y = &m->lay;
    const int T = y->T, H = y->H;
    const size_t lh = (size_t)l * H + h;
    double sink = 0.0, prev = 0.0, nent = 0.0, total = 0.0, dup = 0.0, ind = 0.0;
    for (int i = 0; i < T; i++) {
        const float *r = A + (size_t)i * T;
        sink += r[0];
        if (i >= 1) prev += r[i - 1];
        double ent = 0.0;
        for (int j = 0; j < T; j++) {
            const double a = r[j];
            total += a;
            if (a > 0.0) ent -= a * log(a);
        }
        if (i >= 1) nent += ent / log((double)(i + 1));
        if (m->dup) {
            const uint8_t *dr = m->dup + (size_t)i * T;
            for (int j = 0; j < i; j++)
                if (dr[j]) dup += r[j];
            /* induction pattern: column j is 1 where dup[i, j-1] is (shifted right by one), j <= i
             */
            for (int j = 1; j <= i; j++)
                if (dr[j - 1]) ind += r[j];
        }
    }
    m->sink_mean[lh] = sink / T;
    m->prev_token[lh] = T >= 2 ? prev / (T - 1) : NAN;
    m->norm_entropy[lh] = T >= 2 ? nent / (T - 1) : NAN;
    m->dup_token[lh] = m->dup && total > 0.0 ? dup / total : NAN;
    m->induction[lh] = m->dup && total > 0.0 ? ind / total : NAN;
}

/* span_mass_from_answer of one head (FULL input): for every span, the mean
 * over the answer's query tokens q of sum_{k in span} A[q, k] (docs/METRICS.md). */
static void answer_mass_stats(struct as_metrics *m, int l, int h, const float *A) {
    const struct as_metrics_layout *y = &m->lay;
    const int T = y->T, H = y->H, L = y->L;
    int a = -1;
    for (int s = 0; s < y->n_spans && a < 0; s++)
        if (!strcmp(m->spans[s].name, "answer") && m->spans[s].tokens[0] >= 0) a = s;
    if (a < 0) return; /* no answer: NaN */
    const int q0 = m->spans[a].tokens[0], q1 = m->spans[a].tokens[1];
    for (int s = 0; s < y->n_spans; s++) {
        const struct as_metrics_span *sp = &m->spans[s];
        if (sp->tokens[0] < 0) continue;
        double sum = 0.0;
        for (int q = q0; q < q1; q++) {
            const float *r = A + (size_t)q * T;
            for (int k = sp->tokens[0]; k < sp->tokens[1]; k++)
                sum += r[k];
        }
        m->span_mass_from_answer[((size_t)s * L + l) * H + h] = sum / (double)(q1 - q0);
    }
}

as_status as_metrics_add_layer(struct as_metrics *m, int layer, const float *probs,
                               struct as_err *err) {
    const struct as_metrics_layout *y = &m->lay;
    if (!m->mem || m->finished)
        return as_err_set(err, AS_ERR_INVALID,
                          "metrics: accumulator is not initialised or finished");
    if (layer != m->layers_done || layer >= y->L || !probs)
        return as_err_set(err, AS_ERR_INVALID,
                          "metrics: got layer %d; expected layer %d of %d (layers come in order)",
                          layer, m->layers_done, y->L);
    const int T = y->T, H = y->H;
    const size_t TT = (size_t)T * T;
    /* numbers are checked: a NaN or Inf probability (NaN weights, an overflow, a corrupt file)
     * fails the prompt with the layer and head named, instead of metrics full of NaN */
    const size_t per = y->input == AS_METRICS_FULL ? TT : (size_t)T;
    for (int h = 0; h < H; h++)
        for (size_t i = 0; i < per; i++)
            if (!isfinite(probs[(size_t)h * per + i]))
                return as_err_set(err, AS_ERR_FORMAT,
                                  "attention of layer %d, head %d is not finite (%g at query %d, "
                                  "key %d); expected probabilities in [0, 1]. HINT: check the "
                                  "model's weights (NaN or Inf) or the stored file",
                                  layer, h, (double)probs[(size_t)h * per + i],
                                  y->input == AS_METRICS_FULL ? (int)(i / (size_t)T) : T - 1,
                                  (int)(i % (size_t)T));
    for (int h = 0; h < H; h++) {
        const float *row;
        if (y->input == AS_METRICS_FULL) {
            const float *A = probs + (size_t)h * TT;
            row = A + (size_t)(T - 1) * T;
            full_map_stats(m, layer, h, A);
            if (y->answer_mass) answer_mass_stats(m, layer, h, A);
        } else {
            row = probs + (size_t)h * T;
        }
        last_row_stats(m, layer, h, row);
    }
    double *mean = m->last_row_mean + (size_t)layer * T;
    double ent = 0.0;
    for (int k = 0; k < T; k++) {
        mean[k] /= H;
        const double a = mean[k] + 1e-10; /* the notebook adds 1e-10 before both factors */
        ent -= a * log(a);
    }
    m->layer_entropy[layer] = ent;
    for (int o = 0; o < y->n_occ; o++) {
        const struct as_metrics_occ *oc = &m->occ[o];
        double s = 0.0;
        for (int t = oc->tokens[0]; oc->tokens[0] >= 0 && t < oc->tokens[1]; t++)
            s += mean[t];
        m->occ_mass_layer[(size_t)o * y->L + layer] = s;
    }
    m->layers_done++;
    return AS_OK;
}

as_status as_metrics_finish(struct as_metrics *m, struct as_err *err) {
    const struct as_metrics_layout *y = &m->lay;
    if (!m->mem || m->finished || m->layers_done != y->L)
        return as_err_set(err, AS_ERR_INVALID, "metrics: finish after %d of %d layers",
                          m->layers_done, y->L);
    const int L = y->L, T = y->T;
    const double *last = m->last_row_mean + (size_t)(L - 1) * T;
    for (int o = 0; o < y->n_occ; o++)
        m->occ_mass[o] = m->occ_mass_layer[(size_t)o * L + (L - 1)];
    for (int r = 0; r < y->n_nb; r++)
        m->nb_mass[r] = last[m->nb_position[r]];
    m->finished = 1;
    return AS_OK;
}
