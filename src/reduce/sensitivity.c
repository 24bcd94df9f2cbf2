/* sensitivity.c - prompt sensitivity of layer entropy to a `by` column (docs/METRICS.md
 * "Prompt sensitivity"): the one-way ANOVA ratio of between-label to within-label variance,
 * per layer, its percentile bootstrap interval (resampling prompts within each label, with
 * the same resamples as the label statistics), and the layer ranking.
 *
 * The sums are centred on the mean layer entropy of all summarized prompts (shift), so the
 * differences a1 - a3^2 / N and a2 - a1 do not cancel catastrophically. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_internal.h"

int sm_sens_init(struct sm_sens *s, int B, int L) {
    memset(s, 0, sizeof *s);
    s->B = B, s->L = L;
    const size_t rl = (size_t)(B + 1) * L;
    s->N = calloc((size_t)L, sizeof *s->N), s->k = calloc((size_t)L, sizeof *s->k);
    s->a1 = calloc(rl, sizeof *s->a1), s->a2 = calloc(rl, sizeof *s->a2);
    s->a3 = calloc(rl, sizeof *s->a3);
    s->c1 = calloc((size_t)L, sizeof *s->c1), s->c2 = calloc((size_t)L, sizeof *s->c2);
    s->c3 = calloc((size_t)L, sizeof *s->c3);
    if (!s->N || !s->k || !s->a1 || !s->a2 || !s->a3 || !s->c1 || !s->c2 || !s->c3) {
        sm_sens_free(s);
        return -1;
    }
    return 0;
}

void sm_sens_free(struct sm_sens *s) {
    free(s->N), free(s->k), free(s->a1), free(s->a2), free(s->a3);
    free(s->c1), free(s->c2), free(s->c3);
    memset(s, 0, sizeof *s);
}

void sm_sens_reset(struct sm_sens *s, const double *shift) {
    const size_t L = (size_t)s->L, rl = (size_t)(s->B + 1) * L;
    s->shift = shift;
    memset(s->N, 0, L * sizeof *s->N), memset(s->k, 0, L * sizeof *s->k);
    memset(s->a1, 0, rl * sizeof *s->a1), memset(s->a2, 0, rl * sizeof *s->a2);
    memset(s->a3, 0, rl * sizeof *s->a3);
    memset(s->c1, 0, L * sizeof *s->c1), memset(s->c2, 0, L * sizeof *s->c2);
    memset(s->c3, 0, L * sizeof *s->c3);
}

void sm_sens_add(struct sm_sens *s, const int32_t *n, const double *sx, const double *sq,
                 const struct sm_boot *bt) {
    const int L = s->L;
    for (int l = 0; l < L; l++) {
        if (n[l] < 1) continue;
        s->N[l] += n[l], s->k[l]++;
        const double d1 = sx[l] * sx[l] / n[l];
        s->a1[l] += d1, s->a2[l] += sq[l], s->a3[l] += sx[l];
        if (!bt) s->c1[l] += d1, s->c2[l] += sq[l], s->c3[l] += sx[l];
    }
    if (!bt) return;
    for (int b = 0; b < s->B; b++) { /* resample b's sums: row u of the bootstrap */
        const size_t u = (size_t)bt->map[b];
        const double *S = bt->S + u * bt->D, *W = bt->W + u * bt->D, *Q = bt->Q + u * bt->n_sq;
        double *r1 = s->a1 + (size_t)(b + 1) * L, *r2 = s->a2 + (size_t)(b + 1) * L,
               *r3 = s->a3 + (size_t)(b + 1) * L;
        for (int l = 0; l < L; l++) {
            if (n[l] < 1) continue;
            const double e = S[l] - W[l] * s->shift[l]; /* sum of x' over the resample */
            r1[l] += W[l] > 0 ? e * e / W[l] : 0;
            r2[l] += Q[l];
            r3[l] += e;
        }
    }
}

/* The ratio of one row of sums, NaN where undefined, +inf for between > 0 = within. */
static double ratio_of(double a1, double a2, double a3, int64_t N, int64_t k) {
    if (k < 2 || N - k < 1) return NAN;
    double between = a1 - a3 * a3 / (double)N, within = a2 - a1;
    if (between < 0) between = 0; /* rounding */
    if (!(within > 0)) return between > 0 ? INFINITY : NAN;
    return (between / (double)(k - 1)) / (within / (double)(N - k));
}

void sm_sens_finish(struct sm_sens *s, double confidence, double *ratio, double *lo, double *hi,
                    int32_t *rank) {
    const int L = s->L, B = s->B;
    double *v = malloc((size_t)(B > 0 ? B : 1) * sizeof *v);
    for (int l = 0; l < L; l++) {
        ratio[l] = ratio_of(s->a1[l], s->a2[l], s->a3[l], s->N[l], s->k[l]);
        lo[l] = hi[l] = NAN;
        if (!v || isnan(ratio[l])) continue;
        for (int b = 0; b < B; b++) {
            const size_t r = (size_t)(b + 1) * L + l;
            v[b] = ratio_of(s->a1[r] + s->c1[l], s->a2[r] + s->c2[l], s->a3[r] + s->c3[l], s->N[l],
                            s->k[l]);
        }
        /* Resampling within labels adds each label mean's own sampling variance to the
         * between-label variance, so the resampled ratios sit about 1 above the observed one
         * when labels are small. The interval is shifted back by that bias, measured by the
         * median resampled ratio minus the observed ratio (the median, because a ratio of
         * variances has a heavy right tail), and clamped at 0 (docs/METRICS.md). So it always
         * covers the observed ratio. */
        int nf = 0;
        for (int b = 0; b < B; b++)
            nf += isfinite(v[b]) != 0;
        sm_percentile_interval(v, B, confidence, &lo[l], &hi[l]);
        if (nf == B && nf > 0 && isfinite(ratio[l])) {
            double med, med2;
            sm_percentile_interval(v, B, 0.0, &med, &med2); /* all finite: v is intact */
            const double bias = med - ratio[l];
            lo[l] = fmax(0, lo[l] - bias), hi[l] = fmax(0, hi[l] - bias);
        }
    }
    free(v);
    /* rank: 0 for the largest ratio; NaN last; ties keep the lower layer first */
    for (int l = 0; l < L; l++) {
        int r = 0;
        for (int m = 0; m < L; m++) {
            if (m == l) continue;
            const int nl = isnan(ratio[l]), nm = isnan(ratio[m]);
            if (nm && !nl) continue;
            if (nl && !nm) {
                r++;
                continue;
            }
            if ((!nl && ratio[m] > ratio[l]) || ((nl || ratio[m] == ratio[l]) && m < l)) r++;
        }
        rank[l] = r;
    }
}
