/* contrast.c - paired contrasts (analysis.contrasts; docs/METRICS.md "Paired contrasts"):
 * for `a - b` on a column, paired on pair_on columns (default: group), the prompts that
 * agree on every pair_on value form a pair when some have column == a and some column == b;
 * the pair's difference is (mean over its a prompts) - (mean over its b prompts) of every
 * per-layer quantity. Per quantity and layer: the mean difference over the pairs, its
 * percentile bootstrap interval (resampling pairs), and the fraction of pairs whose
 * difference has the sign of the mean.
 *
 * Cost: a sort of the prompts on one side or the other (O(n log n)) and O(B * pairs * D). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

/* Candidate rows ordered by their pair key (every pair_on value), then side, then row. */
struct pair_ctx {
    const struct sm_colview *on;
    int n_on;
    const int64_t *index; /* summary row -> /sweep row */
    const int8_t *side;   /* (n) 0 = a, 1 = b */
};
static int key_cmp(const struct pair_ctx *c, int64_t x, int64_t y) {
    for (int p = 0; p < c->n_on; p++) {
        int r = sm_cv_cmp(&c->on[p], c->index[x], c->index[y]);
        if (r) return r;
    }
    return 0;
}
static int pair_cmp(const void *ctx, int64_t x, int64_t y) {
    const struct pair_ctx *c = ctx;
    int r = key_cmp(c, x, y);
    return r ? r : c->side[x] - c->side[y];
}

/* The component-wise mean of the present values of rows rows[0..k) of r (0 where none is
 * present) and their count. */
static void side_mean(const struct sm_rows *r, const int64_t *rows, int64_t k, double *mean,
                      int32_t *cnt) {
    const int D = r->D;
    memset(mean, 0, (size_t)D * sizeof *mean);
    memset(cnt, 0, (size_t)D * sizeof *cnt);
    for (int64_t j = 0; j < k; j++) {
        const double *x = r->x + (size_t)rows[j] * D;
        const uint8_t *m = r->m + (size_t)rows[j] * D;
        for (int d = 0; d < D; d++)
            mean[d] += x[d], cnt[d] += m[d];
    }
    for (int d = 0; d < D; d++)
        mean[d] = cnt[d] > 0 ? mean[d] / cnt[d] : 0;
}

as_status sm_contrasts_compute(const struct as_summary_input *in, const struct as_summary *sm,
                               struct as_summary_stats *st, const struct sm_rows *rows,
                               const char *const *group_strs, struct sm_boot *bt,
                               struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_analysis *an = in->analysis;
    const int NC = st->NC, L = st->L, NS = st->NS, NK = st->NK, D = rows->D;
    const int64_t n = sm->n;
    const size_t uNC = (size_t)NC;
    int64_t *cand = malloc(((size_t)n + 1) * sizeof *cand);
    int8_t *side = malloc((size_t)n + 1);
    double *ma = malloc(((size_t)D + 1) * sizeof *ma), *mb = malloc(((size_t)D + 1) * 8);
    double *mean = malloc(((size_t)D + 1) * 8), *sd = malloc(((size_t)D + 1) * 8);
    int32_t *ca = malloc(((size_t)D + 1) * 4), *cb = malloc(((size_t)D + 1) * 4);
    int32_t *cnt = malloc(((size_t)D + 1) * 4), *same = malloc(((size_t)D + 1) * 4);
    struct sm_colview *on = NULL;
    struct sm_rows pr = {0};
    if (!cand || !side || !ma || !mb || !mean || !sd || !ca || !cb || !cnt || !same) goto nomem;
    if (!(st->c_name = sm_alloc(st, uNC * sizeof(char *))) ||
        !(st->c_column = sm_alloc(st, uNC * sizeof(char *))) ||
        !(st->c_a = sm_alloc(st, uNC * sizeof(char *))) ||
        !(st->c_b = sm_alloc(st, uNC * sizeof(char *))) ||
        !(st->c_pair_on = sm_alloc(st, uNC * sizeof(char *))) ||
        !(st->c_pairs = sm_alloc(st, uNC * sizeof(int32_t))) ||
        !(st->c_span_count = sm_alloc(st, uNC * NS * sizeof(int32_t))) ||
        !(st->c_kw_count = sm_alloc(st, uNC * NK * sizeof(int32_t))))
        goto nomem;
    for (int q = 0; q < AS_STAT_COUNT; q++)
        if (!(st->c_q[q] = sm_c4_alloc(st, uNC * L)).same_sign) goto nomem;
    if (!(st->c_span = sm_c4_alloc(st, uNC * NS * L)).same_sign ||
        !(st->c_kw = sm_c4_alloc(st, uNC * NK * L)).same_sign)
        goto nomem;
    for (int c = 0; c < NC; c++) {
        const struct as_contrast *ct = &an->contrasts[c];
        char what[300];
        snprintf(what, sizeof what, "analysis.contrasts '%s'", ct->name ? ct->name : "");
        if (!ct->name || !ct->column || !ct->a || !ct->b || (ct->n_pair_on > 0 && !ct->pair_on)) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: incomplete (name, column, a, b and pair_on are needed)", what);
            goto done;
        }
        if (!(st->c_name[c] = sm_strdup(st, ct->name, strlen(ct->name))) ||
            !(st->c_column[c] = sm_strdup(st, ct->column, strlen(ct->column))) ||
            !(st->c_a[c] = sm_strdup(st, ct->a, strlen(ct->a))) ||
            !(st->c_b[c] = sm_strdup(st, ct->b, strlen(ct->b))))
            goto nomem;
        if (!strcmp(ct->a, ct->b)) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: a and b are both '%s'; expected two different values of '%s'",
                             what, ct->a, ct->column);
            goto done;
        }
        struct sm_colview col;
        AS_TRY(sm_colview_get(in, group_strs, ct->column, what, &col, err));
        static const char *const dflt[] = {"group"};
        const int n_on = ct->n_pair_on > 0 ? ct->n_pair_on : 1;
        const char *const *on_names = ct->n_pair_on > 0 ? (const char *const *)ct->pair_on : dflt;
        free(on);
        if (!(on = calloc((size_t)n_on, sizeof *on))) goto nomem;
        size_t pl = 1;
        for (int p = 0; p < n_on; p++) {
            if (!on_names[p]) {
                ret = as_err_set(err, AS_ERR_INVALID, "%s: pair_on[%d] is empty", what, p);
                goto done;
            }
            AS_TRY(sm_colview_get(in, group_strs, on_names[p], what, &on[p], err));
            pl += strlen(on_names[p]) + 1;
        }
        char *po = sm_alloc(st, pl);
        if (!po) goto nomem;
        for (int p = 0; p < n_on; p++)
            strcat(p ? strcat(po, ",") : po, on_names[p]);
        st->c_pair_on[c] = po;
        /* the prompts on either side with every pair_on value */
        int64_t nc = 0;
        for (int64_t j = 0; j < n; j++) {
            const int64_t i = sm->index[j];
            if (sm_cv_missing(&col, i)) continue;
            int s = -1;
            for (int w = 0; w < 2 && s < 0; w++) {
                int e = sm_cv_equals(&col, i, w ? ct->b : ct->a);
                if (e < 0) {
                    ret = as_err_set(err, AS_ERR_INVALID,
                                     "%s: '%s' is not a number, but /sweep/%s is numeric; "
                                     "expected a and b as numbers",
                                     what, w ? ct->b : ct->a, ct->column);
                    goto done;
                }
                if (e) s = w;
            }
            int ok = s >= 0;
            for (int p = 0; ok && p < n_on; p++)
                ok = !sm_cv_missing(&on[p], i);
            if (!ok) continue;
            side[j] = (int8_t)s, cand[nc++] = j;
        }
        struct pair_ctx ctx = {on, n_on, sm->index, side};
        if (sm_sort(cand, nc, pair_cmp, &ctx) != 0) goto nomem;
        /* pairs: runs of one key with both sides */
        int64_t np = 0;
        for (int64_t k0 = 0, k1; k0 < nc; k0 = k1) {
            for (k1 = k0 + 1; k1 < nc && key_cmp(&ctx, cand[k0], cand[k1]) == 0; k1++)
                ;
            np += side[cand[k0]] == 0 && side[cand[k1 - 1]] == 1;
        }
        st->c_pairs[c] = (int32_t)np;
        free(pr.x), free(pr.m);
        pr.n = np, pr.D = D;
        pr.x = malloc(((size_t)np * D + 1) * sizeof *pr.x);
        pr.m = malloc((size_t)np * D + 1);
        if (!pr.x || !pr.m) goto nomem;
        int64_t p = 0;
        for (int64_t k0 = 0, k1; k0 < nc; k0 = k1) {
            for (k1 = k0 + 1; k1 < nc && key_cmp(&ctx, cand[k0], cand[k1]) == 0; k1++)
                ;
            if (!(side[cand[k0]] == 0 && side[cand[k1 - 1]] == 1)) continue;
            int64_t kb = k0;
            while (side[cand[kb]] == 0)
                kb++;
            side_mean(rows, cand + k0, kb - k0, ma, ca);
            side_mean(rows, cand + kb, k1 - kb, mb, cb);
            double *x = pr.x + (size_t)p * D;
            uint8_t *m = pr.m + (size_t)p * D;
            for (int d = 0; d < D; d++) {
                m[d] = ca[d] > 0 && cb[d] > 0;
                x[d] = m[d] ? ma[d] - mb[d] : 0;
            }
            p++;
        }
        /* the mean difference, the fraction of pairs with its sign, the interval */
        sm_moments(&pr, D, NULL, np, mean, sd, cnt);
        for (int d = 0; d < D; d++)
            same[d] = 0;
        for (int64_t q = 0; q < np; q++)
            for (int d = 0; d < D; d++) {
                const double v = pr.x[(size_t)q * D + d];
                if (!pr.m[(size_t)q * D + d]) continue;
                same[d] += ((v > 0) - (v < 0)) == ((mean[d] > 0) - (mean[d] < 0));
            }
        const int boot = np >= 2;
        if (boot && sm_boot_run(bt, sm_key(st->seed, "\x01contrast", ct->name), &pr, D, NULL, np,
                                NULL, 0) != 0)
            goto nomem;
        for (int q = 0; q < 1 + NS + NK + 3; q++) {
            struct as_stats_c4 *dst;
            size_t off;
            if (q == 0 || q > NS + NK) {
                const int Q = q == 0 ? AS_STAT_ENTROPY : q - NS - NK; /* AS_STAT_SINK.. */
                dst = &st->c_q[Q], off = (size_t)c * L;
            } else if (q <= NS) {
                dst = &st->c_span, off = ((size_t)c * NS + (size_t)(q - 1)) * L;
                st->c_span_count[(size_t)c * NS + (q - 1)] = cnt[q * L];
            } else {
                dst = &st->c_kw, off = ((size_t)c * NK + (size_t)(q - 1 - NS)) * L;
                st->c_kw_count[(size_t)c * NK + (q - 1 - NS)] = cnt[q * L];
            }
            for (int l = 0; l < L; l++) {
                const int d = q * L + l;
                dst->mean[off + l] = mean[d];
                dst->same_sign[off + l] = cnt[d] > 0 ? (double)same[d] / cnt[d] : NAN;
                if (boot && cnt[d] >= 2)
                    sm_boot_interval(bt, d, st->confidence, &dst->lo[off + l], &dst->hi[off + l]);
            }
        }
    }
    goto done;
nomem:
    ret = as_err_set(err, AS_ERR_NOMEM, "summary: out of memory for the contrasts");
done:
    free(cand), free(side), free(ma), free(mb), free(mean), free(sd), free(ca), free(cb);
    free(cnt), free(same), free(on), free(pr.x), free(pr.m);
    return ret;
}
