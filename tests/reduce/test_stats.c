/* test_stats.c - the statistics across prompts (docs/METRICS.md "Statistics across prompts")
 * on synthetic per-prompt metric columns whose answers are known by construction:
 *   - two labels (/sweep column "style" = a | b) whose span masses differ by DELTA plus noise
 *     that sums to zero within each label, so each label's mean is exactly the truth: the
 *     means, standard deviations (an independent two-pass computation here) and intervals
 *     cover the truth; interval widths match the normal theory within 25%;
 *   - the contrast b - a paired on group: mean DELTA, interval containing DELTA and not 0,
 *     every pair with the sign of the mean; quantities without a difference (sink, prev
 *     token) have intervals containing 0;
 *   - prompt sensitivity: layer 0's entropy differs a lot between labels, layer 1 a little,
 *     layer 2 not at all: the ratio equals an independent one-way ANOVA, the ranks are 0, 1, 2;
 *   - labels of a numeric column sort numerically (2 before 10), NaN values are left out;
 *   - per-(layer, head) intervals are mean -+ 1.96 sd / sqrt(n);
 *   - keyword masses, counts, one-prompt labels, the settings attributes;
 *   - bit-identical twice; another seed changes the intervals but still covers the truth;
 *   - clear errors: an unknown by column, a non-number a for a numeric column, a == b;
 *   - JS divergence: a pair sharing fewer than js_min_shared tokens is left out.
 * And the cost at 100,000 prompts x 22 layers (printed, bounded by the test's timeout). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attnsweep/reduce.h"
#include "attnsweep/table.h"
#include "testutil.h"

#define TW    8
#define SW    12
#define DELTA 0.1  /* span mass b - a */
#define SIGMA 0.02 /* noise half-width */

/* ------------------------------------------------------------ a synthetic file */

struct syn {
    int64_t N, NT;
    int L, H, T, G;
    int8_t *status, *input, *span_kind, *flag;
    int32_t *group_of, *n_tokens, *head_focus, *span_count, *span_tokens, *token_id;
    int32_t *occ_count, *occ_kw, *shots;
    int64_t *token_start, *span_start, *occ_start;
    double *layer_entropy, *head[4], *last_row_mean, *span_mass, *span_lift, *occ_mass,
        *occ_mass_layer, *level;
    char *token_str, *span_name, *style, *keyword, **ids, **variants, **group_names;
    struct as_table metrics, sweep;
};

static uint64_t rng_state;
static double urand(void) { /* xorshift64 in (-1, 1) */
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return 2.0 * (((double)(rng_state >> 11) + 0.5) / 9007199254740992.0) - 1.0;
}

/* noise of prompt (g, side) at component c: antithetic over groups g and g + G/2, so it sums
 * to exactly 0 over the groups of each side (G even) */
static double noise(struct syn *s, int g, int side, int c, double *tab) {
    const int half = s->G / 2, gg = g < half ? g : g - half;
    const double v = tab[((size_t)gg * 2 + side) * 64 + c];
    return g < half ? v : -v;
}

/* N = 2 G prompts: group g has variant "a" (style a) and "b" (style b). Every prompt has T
 * tokens, spans "question" [1, T) and, for style b, "extra" [1, 2); keyword 0 occurs once
 * in every prompt, keyword 1 only in style a. */
static void syn_init(struct syn *s, int G, int L, int H, int T) {
    memset(s, 0, sizeof *s);
    const int64_t N = 2 * (int64_t)G;
    s->N = N, s->L = L, s->H = H, s->T = T, s->G = G, s->NT = N * T;
    const size_t n = (size_t)N, LH = (size_t)L * H, NT = (size_t)s->NT, S = 2 * n;
    s->status = calloc(n, 1), s->input = calloc(n, 1), s->span_kind = calloc(S, 1);
    s->flag = calloc(n, 1);
    s->group_of = calloc(n, 4), s->n_tokens = calloc(n, 4), s->head_focus = calloc(n * LH, 4);
    s->span_count = calloc(n, 4), s->span_tokens = calloc(2 * S, 4), s->token_id = calloc(NT, 4);
    s->occ_count = calloc(n, 4), s->occ_kw = calloc(2 * n, 4), s->shots = calloc(n, 4);
    s->token_start = calloc(n, 8), s->span_start = calloc(n, 8), s->occ_start = calloc(n, 8);
    s->layer_entropy = calloc(n * L, 8);
    for (int k = 0; k < 4; k++)
        s->head[k] = calloc(n * LH, 8);
    s->last_row_mean = calloc(NT * L, 8), s->span_mass = calloc(S * LH, 8);
    s->span_lift = calloc(S * LH, 8), s->occ_mass = calloc(2 * n, 8);
    s->occ_mass_layer = calloc(2 * n * L, 8), s->level = calloc(n, 8);
    s->token_str = calloc(NT, TW), s->span_name = calloc(S, SW), s->style = calloc(n, 2);
    s->keyword = calloc(2, 4);
    strcpy(s->keyword, "kw0"), strcpy(s->keyword + 4, "kw1");
    s->ids = calloc(n, sizeof(char *)), s->variants = calloc(n, sizeof(char *));
    s->group_names = calloc((size_t)G, sizeof(char *));
    double *tab = malloc(sizeof(double) * (size_t)G * 2 * 64);
    rng_state = 0x9e3779b97f4a7c15ull;
    for (size_t k = 0; k < (size_t)G * 2 * 64; k++)
        tab[k] = SIGMA * urand();
    int64_t sp = 0, oc = 0;
    for (int64_t i = 0; i < N; i++) {
        const int g = (int)(i / 2), side = (int)(i % 2); /* 0 = a, 1 = b */
        if (side == 0) {
            s->group_names[g] = malloc(16);
            snprintf(s->group_names[g], 16, "q%d", g);
        }
        s->status[i] = 1, s->n_tokens[i] = T, s->token_start[i] = i * T, s->group_of[i] = g;
        s->ids[i] = malloc(32), s->variants[i] = malloc(4);
        snprintf(s->ids[i], 32, "q%d/%c", g, side ? 'b' : 'a');
        snprintf(s->variants[i], 4, "%c", side ? 'b' : 'a');
        s->style[2 * i] = side ? 'b' : 'a';
        s->shots[i] = g % 3 == 0 ? 2 : g % 3 == 1 ? 10 : 0;
        s->level[i] = g % 4 == 3 ? NAN : (double)(g % 4) / 2; /* 0, 0.5, 1, NaN */
        s->flag[i] = (int8_t)(g % 5 == 4 ? -1 : g % 2);       /* missing, false, true */
        /* layer entropy: layer 0 differs by 1.0 between the styles, layer 1 by 0.05 */
        const double shift[3] = {1.0, 0.05, 0.0};
        for (int l = 0; l < L; l++)
            s->layer_entropy[i * L + l] =
                2.0 + (side ? shift[l % 3] : 0) + noise(s, g, side, l, tab);
        for (size_t k = 0; k < LH; k++) {
            s->head[0][i * LH + k] = 1.0 + 0.1 * (double)k + noise(s, g, side, 8 + (int)k % 8, tab);
            s->head[1][i * LH + k] = 0.5 + noise(s, g, side, 16 + (int)k % 8, tab); /* sink */
            s->head[2][i * LH + k] = 0.2 + noise(s, g, side, 24 + (int)k % 8, tab); /* prev */
            s->head[3][i * LH + k] = NAN;                                           /* induction */
            s->head_focus[i * LH + k] = 0;
        }
        for (int t = 0; t < T; t++) {
            snprintf(s->token_str + (size_t)(i * T + t) * TW, TW, "t%d", t);
            s->token_id[i * T + t] = t == 0 ? 1 : 100 + t;
            for (int l = 0; l < L; l++)
                s->last_row_mean[(size_t)(i * T + t) * L + l] = 1.0 / T;
        }
        /* spans: question everywhere, extra only in style b */
        s->span_start[i] = sp, s->span_count[i] = side ? 2 : 1;
        for (int k = 0; k < s->span_count[i]; k++, sp++) {
            strcpy(s->span_name + sp * SW, k == 0 ? "question" : "extra");
            s->span_kind[sp] = k == 0;
            s->span_tokens[2 * sp] = 1, s->span_tokens[2 * sp + 1] = k == 0 ? T : 2;
            for (int l = 0; l < L; l++)
                for (int h = 0; h < H; h++) {
                    /* the head mean of question is 0.3 + 0.1 l (+ DELTA for b) + noise */
                    const double hv = h % 2 ? 0.01 : -0.01;
                    const double v = k == 0 ? 0.3 + 0.1 * l + (side ? DELTA : 0) +
                                                  noise(s, g, side, 32 + l, tab) + hv
                                            : 0.05;
                    s->span_mass[((size_t)sp * L + l) * H + h] = v;
                    s->span_lift[((size_t)sp * L + l) * H + h] = 1;
                }
        }
        /* keywords: kw0 in every prompt (mass 0.2 + 0.01 l), kw1 twice in style a (0.05 each) */
        s->occ_start[i] = oc, s->occ_count[i] = side ? 1 : 3;
        for (int k = 0; k < s->occ_count[i]; k++, oc++) {
            s->occ_kw[oc] = k == 0 ? 0 : 1;
            for (int l = 0; l < L; l++)
                s->occ_mass_layer[oc * L + l] = k == 0 ? 0.2 + 0.01 * l : 0.05;
            s->occ_mass[oc] = s->occ_mass_layer[oc * L + L - 1];
        }
    }
    free(tab);
    /* /metrics */
    struct as_table *m = &s->metrics;
    as_table_init(m);
    const int64_t SS = sp, NO = oc, NTT = s->NT;
    as_table_add(m, "input", AS_COL_I8, "prompt", (const int64_t[]){N}, s->input, 0);
    as_table_add(m, "layer_entropy", AS_COL_F64, "prompt,layer", (const int64_t[]){N, L},
                 s->layer_entropy, 0);
    static const char *const hn[4] = {"head_entropy", "sink_last", "prev_token", "induction"};
    for (int k = 0; k < 4; k++)
        as_table_add(m, hn[k], AS_COL_F64, "prompt,layer,head", (const int64_t[]){N, L, H},
                     s->head[k], 0);
    as_table_add(m, "head_focus", AS_COL_I32, "prompt,layer,head", (const int64_t[]){N, L, H},
                 s->head_focus, 0);
    as_table_add(m, "last_row_mean", AS_COL_F64, "token,layer", (const int64_t[]){NTT, L},
                 s->last_row_mean, 0);
    as_table_add(m, "span_count", AS_COL_I32, "prompt", (const int64_t[]){N}, s->span_count, 0);
    as_table_add(m, "span_start", AS_COL_I64, "prompt", (const int64_t[]){N}, s->span_start, 0);
    struct as_col *c =
        as_table_add(m, "span_name", AS_COL_STR, "span", (const int64_t[]){SS}, s->span_name, 0);
    if (c) c->width = SW;
    as_table_add(m, "span_kind", AS_COL_I8, "span", (const int64_t[]){SS}, s->span_kind, 0);
    as_table_add(m, "span_tokens", AS_COL_I32, "span,bound", (const int64_t[]){SS, 2},
                 s->span_tokens, 0);
    as_table_add(m, "span_mass", AS_COL_F64, "span,layer,head", (const int64_t[]){SS, L, H},
                 s->span_mass, 0);
    as_table_add(m, "span_lift", AS_COL_F64, "span,layer,head", (const int64_t[]){SS, L, H},
                 s->span_lift, 0);
    c = as_table_add(m, "keyword", AS_COL_STR, "keyword", (const int64_t[]){2}, s->keyword, 0);
    if (c) c->width = 4;
    as_table_add(m, "keyword_occ_count", AS_COL_I32, "prompt", (const int64_t[]){N}, s->occ_count,
                 0);
    as_table_add(m, "keyword_occ_start", AS_COL_I64, "prompt", (const int64_t[]){N}, s->occ_start,
                 0);
    as_table_add(m, "keyword_occ_keyword", AS_COL_I32, "occ", (const int64_t[]){NO}, s->occ_kw, 0);
    as_table_add(m, "keyword_occ_mass", AS_COL_F64, "occ", (const int64_t[]){NO}, s->occ_mass, 0);
    as_table_add(m, "keyword_occ_mass_layer", AS_COL_F64, "occ,layer", (const int64_t[]){NO, L},
                 s->occ_mass_layer, 0);
    /* /sweep columns: style (string), shots (int32), level (float64 with NaN) */
    as_table_init(&s->sweep);
    c = as_table_add(&s->sweep, "style", AS_COL_STR, "prompt", (const int64_t[]){N}, s->style, 0);
    if (c) c->width = 2;
    as_table_add(&s->sweep, "shots", AS_COL_I32, "prompt", (const int64_t[]){N}, s->shots, 0);
    as_table_add(&s->sweep, "level", AS_COL_F64, "prompt", (const int64_t[]){N}, s->level, 0);
    /* a boolean as the sweep writes it: int8 CF flags -1 missing, 0 false, 1 true */
    c = as_table_add(&s->sweep, "flag", AS_COL_I8, "prompt", (const int64_t[]){N}, s->flag, 0);
    if (c) strcpy(c->flag_meanings, "missing false true"), c->flag_base = -1;
}

static struct as_summary_input syn_input(struct syn *s, const struct as_analysis *an) {
    struct as_summary_input in = {0};
    in.n = s->N, in.L = s->L, in.H = s->H, in.status = s->status;
    in.ids = (const char *const *)s->ids, in.group_of = s->group_of, in.n_groups = s->G;
    in.group_names = (const char *const *)s->group_names;
    in.variants = (const char *const *)s->variants, in.n_tokens = s->n_tokens;
    in.token_start = s->token_start, in.metrics = &s->metrics, in.token_str = s->token_str;
    in.token_str_width = TW, in.token_id = s->token_id, in.analysis = an, in.sweep = &s->sweep;
    return in;
}

static void syn_free(struct syn *s) {
    for (int64_t i = 0; i < s->N; i++)
        free(s->ids[i]), free(s->variants[i]);
    for (int g = 0; g < s->G; g++)
        free(s->group_names[g]);
    free(s->status), free(s->input), free(s->span_kind), free(s->group_of), free(s->n_tokens);
    free(s->flag);
    free(s->head_focus), free(s->span_count), free(s->span_tokens), free(s->token_id);
    free(s->occ_count), free(s->occ_kw), free(s->shots), free(s->token_start);
    free(s->span_start), free(s->occ_start), free(s->layer_entropy);
    for (int k = 0; k < 4; k++)
        free(s->head[k]);
    free(s->last_row_mean), free(s->span_mass), free(s->span_lift), free(s->occ_mass);
    free(s->occ_mass_layer), free(s->level), free(s->token_str), free(s->span_name);
    free(s->style), free(s->keyword), free(s->ids), free(s->variants), free(s->group_names);
    as_table_free(&s->metrics), as_table_free(&s->sweep);
}

/* ------------------------------------------------------------ helpers */

static int find_label(const struct as_summary_stats *st, const char *label) {
    for (int k = 0; k < st->NL; k++)
        if (!strcmp(st->label[k], label)) return k;
    return -1;
}
static int find_name(const char *const *names, int n, const char *name) {
    for (int k = 0; k < n; k++)
        if (!strcmp(names[k], name)) return k;
    return -1;
}

/* The head-mean question span mass of prompt i at layer l, and the sample std (ddof 1) of
 * the prompts of one side, computed here independently. */
static double q_mass(const struct syn *s, int64_t i, int l) {
    const int64_t sp = s->span_start[i];
    double a = 0;
    for (int h = 0; h < s->H; h++)
        a += s->span_mass[((size_t)sp * s->L + l) * s->H + h];
    return a / s->H;
}
static void side_moments(const struct syn *s, int side, int l, double *mean, double *sd) {
    double a = 0, v = 0;
    for (int64_t i = side; i < s->N; i += 2)
        a += q_mass(s, i, l);
    a /= (double)s->G;
    for (int64_t i = side; i < s->N; i += 2)
        v += (q_mass(s, i, l) - a) * (q_mass(s, i, l) - a);
    *mean = a, *sd = sqrt(v / (double)(s->G - 1));
}

/* One-way ANOVA F of layer entropy at layer l between the two styles (independent). */
static double anova(const struct syn *s, int l) {
    double m[2] = {0, 0}, all = 0;
    for (int64_t i = 0; i < s->N; i++)
        m[i % 2] += s->layer_entropy[i * s->L + l], all += s->layer_entropy[i * s->L + l];
    m[0] /= s->G, m[1] /= s->G, all /= (double)s->N;
    double ssb = s->G * ((m[0] - all) * (m[0] - all) + (m[1] - all) * (m[1] - all)), ssw = 0;
    for (int64_t i = 0; i < s->N; i++) {
        const double d = s->layer_entropy[i * s->L + l] - m[i % 2];
        ssw += d * d;
    }
    return (ssb / 1.0) / (ssw / (double)(s->N - 2));
}

/* ------------------------------------------------------------ known answers */

static void test_known(void) {
    enum { G = 100, L = 3, H = 2, T = 6 };
    struct syn s;
    syn_init(&s, G, L, H, T);
    static char *by[] = {"style", "shots", "level", "flag"};
    static char *on_group[] = {"group"};
    static char *on_style[] = {"style"};
    struct as_contrast ct[3] = {{"b-a", "style", "b", "a", on_group, 1},
                                {"a-b", "variant", "a", "b", NULL, 0},
                                {"t-f", "flag", "true", "false", on_style, 1}};
    struct as_analysis an;
    as_analysis_defaults(&an);
    an.by = by, an.n_by = 4, an.contrasts = ct, an.n_contrasts = 3;
    struct as_summary_input in = syn_input(&s, &an);
    struct as_summary *sm = NULL, *sm2 = NULL;
    struct as_err err = {0};
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_summary_compute(&in, &sm2, &err) == AS_OK, "%s", err.msg);
    if (!sm || !sm2) goto out;
    const struct as_summary_stats *st = sm->stats;
    TU_CHECK(st && st->NB == 4 && st->n_boot == AS_ANALYSIS_BOOT_DEFAULT &&
                 st->seed == AS_ANALYSIS_SEED_DEFAULT,
             "settings");
    /* labels: style a, b; shots 0, 2, 10 (numeric order); level 0, 0.5, 1 (NaN left out);
     * flag false, true (missing left out) */
    static const char *const want_labels[] = {"style=a",    "style=b",  "shots=0",   "shots=2",
                                              "shots=10",   "level=0",  "level=0.5", "level=1",
                                              "flag=false", "flag=true"};
    TU_CHECK(st->NL == 10, "10 labels, got %d", st->NL);
    for (int k = 0; k < 10 && k < st->NL; k++)
        TU_CHECK(!strcmp(st->label[k], want_labels[k]), "label %d: %s, want %s", k, st->label[k],
                 want_labels[k]);
    const int la = find_label(st, "style=a"), lb = find_label(st, "style=b");
    const int l10 = find_label(st, "shots=10"), lnan = find_label(st, "level=1");
    TU_CHECK(la >= 0 && lb >= 0 && st->label_count[la] == G && st->label_count[lb] == G,
             "style labels of %d prompts", G);
    TU_CHECK(l10 >= 0 && st->label_count[l10] == 2 * 33 &&
                 !strcmp(st->label_column[l10], "shots") && !strcmp(st->label_value[l10], "10"),
             "shots=10: %d prompts", l10 >= 0 ? st->label_count[l10] : -1);
    TU_CHECK(lnan >= 0 && st->label_count[lnan] == 2 * 25, "level=1 (NaN rows left out)");
    const int lt = find_label(st, "flag=true");
    TU_CHECK(lt >= 0 && st->label_count[lt] == 2 * 40, "flag=true: odd groups not 4 mod 5 (%d)",
             lt >= 0 ? st->label_count[lt] : -1);
    /* t - f paired on style: one pair per style, both sides averaged over their groups */
    TU_CHECK(st->NC == 3 && st->c_pairs[2] == 2, "flag contrast: 2 pairs");
    if (la < 0 || lb < 0) goto out;
    const int sq = find_name(st->span_name, st->NS, "question"),
              sx = find_name(st->span_name, st->NS, "extra");
    TU_CHECK(st->NS == 2 && sx == 0 && sq == 1, "span names: extra (declared) then question");
    TU_CHECK(st->NK == 2 && !strcmp(st->keyword[1], "kw1"), "keywords");
    /* span mass: means exact, std = the independent two-pass std, intervals cover the truth,
     * widths ~ 2 z sd / sqrt(n) */
    for (int side = 0; side < 2; side++)
        for (int l = 0; l < L; l++) {
            const int lab = side ? lb : la;
            const size_t off = ((size_t)lab * st->NS + sq) * L + l;
            const double truth = 0.3 + 0.1 * l + (side ? DELTA : 0);
            double mean, sd;
            side_moments(&s, side, l, &mean, &sd);
            TU_CHECK(fabs(st->span.mean[off] - truth) < 1e-12 && fabs(mean - truth) < 1e-12,
                     "side %d l%d: mean %.15g, truth %.15g", side, l, st->span.mean[off], truth);
            TU_CHECK(fabs(st->span.std[off] - sd) < 1e-12 * sd, "std %.15g, want %.15g",
                     st->span.std[off], sd);
            const double lo = st->span.lo[off], hi = st->span.hi[off];
            TU_CHECK(lo < truth && truth < hi, "side %d l%d: [%g, %g] covers %g", side, l, lo, hi,
                     truth);
            const double w = 2 * 1.959963984540054 * sd / sqrt((double)G);
            TU_CHECK(fabs((hi - lo) - w) < 0.25 * w, "width %g, normal theory %g", hi - lo, w);
            TU_CHECK(st->span_count[(size_t)lab * st->NS + sq] == G, "span count");
        }
    TU_CHECK(st->span_count[(size_t)la * st->NS + sx] == 0 &&
                 st->span_count[(size_t)lb * st->NS + sx] == G &&
                 isnan(st->span.mean[((size_t)la * st->NS + sx) * L]) &&
                 fabs(st->span.mean[((size_t)lb * st->NS + sx) * L] - 0.05) < 1e-15,
             "a span a label lacks: count 0, NaN; the other: its mass");
    /* keywords: kw0 everywhere 0.2 + 0.01 l; kw1 only in style a, twice: 0.1 */
    for (int l = 0; l < L; l++) {
        TU_CHECK(fabs(st->kw.mean[((size_t)lb * 2 + 0) * L + l] - (0.2 + 0.01 * l)) < 1e-14,
                 "kw0 mass");
        TU_CHECK(fabs(st->kw.mean[((size_t)la * 2 + 1) * L + l] - 0.1) < 1e-14 &&
                     isnan(st->kw.mean[((size_t)lb * 2 + 1) * L + l]),
                 "kw1: summed per prompt, absent in style b");
    }
    TU_CHECK(st->kw_count[(size_t)la * 2 + 1] == G && st->kw_count[(size_t)lb * 2 + 1] == 0,
             "kw counts");
    /* per-(layer, head): normal intervals, exactly mean -+ z sd / sqrt(n); NaN induction */
    for (int k = 0; k < L * H; k++) {
        const size_t off = (size_t)la * L * H + k;
        double a = 0, v = 0;
        for (int64_t i = 0; i < s.N; i += 2)
            a += s.head[0][i * L * H + k];
        a /= G;
        for (int64_t i = 0; i < s.N; i += 2)
            v += (s.head[0][i * L * H + k] - a) * (s.head[0][i * L * H + k] - a);
        const double sd = sqrt(v / (G - 1)), hw = 1.959963984540054 * sd / sqrt((double)G);
        const struct as_stats_q4 *q = &st->head[AS_STAT_ENTROPY];
        TU_CHECK(fabs(q->mean[off] - a) < 1e-12 && fabs(q->std[off] - sd) < 1e-12 &&
                     fabs(q->lo[off] - (a - hw)) < 1e-12 && fabs(q->hi[off] - (a + hw)) < 1e-12,
                 "head %d: %g %g [%g %g], want %g %g [%g %g]", k, q->mean[off], q->std[off],
                 q->lo[off], q->hi[off], a, sd, a - hw, a + hw);
        TU_CHECK(isnan(st->head[AS_STAT_INDUCTION].mean[off]), "NaN induction: NaN");
    }
    /* contrast b - a paired on group: DELTA on the span, 0 on sink and prev token */
    TU_CHECK(st->NC == 3 && st->c_pairs[0] == G && st->c_pairs[1] == G, "pairs %d %d",
             st->NC > 0 ? st->c_pairs[0] : -1, st->NC > 1 ? st->c_pairs[1] : -1);
    for (int l = 0; l < L; l++) {
        const size_t off = ((size_t)0 * st->NS + sq) * L + l;
        const double m = st->c_span.mean[off], lo = st->c_span.lo[off], hi = st->c_span.hi[off];
        TU_CHECK(fabs(m - DELTA) < 1e-12 && lo < DELTA && DELTA < hi && lo > 0,
                 "b-a span l%d: %g [%g, %g]; want %g inside and 0 outside", l, m, lo, hi, DELTA);
        TU_CHECK(st->c_span.same_sign[off] == 1.0, "every pair has the sign: %g",
                 st->c_span.same_sign[off]);
        /* the reversed contrast on variant (pairs on group by default): -DELTA */
        const double mr = st->c_span.mean[((size_t)1 * st->NS + sq) * L + l];
        TU_CHECK(fabs(mr + DELTA) < 1e-12, "a-b on variant: %g", mr);
        for (int q = AS_STAT_SINK; q <= AS_STAT_PREV; q++) {
            const struct as_stats_c4 *c = &st->c_q[q];
            TU_CHECK(fabs(c->mean[l]) < 1e-12 && c->lo[l] < 0 && 0 < c->hi[l],
                     "no difference (quantity %d) l%d: %g [%g, %g] contains 0", q, l, c->mean[l],
                     c->lo[l], c->hi[l]);
        }
        TU_CHECK(isnan(st->c_q[AS_STAT_INDUCTION].mean[l]), "NaN quantity: no pair");
    }
    TU_CHECK(st->c_span_count[0 * st->NS + sx] == 0 && st->c_span_count[0 * st->NS + sq] == G,
             "a span only one side has: no pairs");
    /* sensitivity of layer entropy to style: the independent ANOVA; ranks 0, 1, 2 */
    for (int l = 0; l < L; l++) {
        const double f = anova(&s, l);
        TU_CHECK(fabs(st->sens_ratio[l] - f) <= 1e-9 * fabs(f) + 1e-12,
                 "sensitivity l%d: %.12g, ANOVA %.12g", l, st->sens_ratio[l], f);
        /* every layer, layer 2 without an effect included: the bias-corrected interval
         * covers the observed ratio (the raw percentile interval lies above ~0 there) */
        TU_CHECK(st->sens_lo[l] <= st->sens_ratio[l] && st->sens_ratio[l] <= st->sens_hi[l],
                 "interval [%g, %g] of %g", st->sens_lo[l], st->sens_hi[l], st->sens_ratio[l]);
        TU_CHECK(st->sens_rank[l] == l, "rank of layer %d: %d", l, st->sens_rank[l]);
    }
    TU_CHECK(st->sens_lo[0] > 100, "layer 0 clearly sensitive: lo %g", st->sens_lo[0]);
    /* bit-identical twice */
    const struct as_summary_stats *s2 = sm2->stats;
    TU_CHECK(!memcmp(st->span.lo, s2->span.lo, sizeof(double) * st->NL * st->NS * L) &&
                 !memcmp(st->c_span.hi, s2->c_span.hi, sizeof(double) * st->NC * st->NS * L) &&
                 !memcmp(st->sens_lo, s2->sens_lo, sizeof(double) * st->NB * L),
             "deterministic");
    /* the table: columns with their dims and the settings attributes */
    struct as_table t;
    TU_CHECK(as_summary_table(sm, &t, &err) == AS_OK, "%s", err.msg);
    const struct as_col *c = as_table_find(&t, "by_span_mass_lo");
    TU_CHECK(c && c->nd == 3 && !strcmp(c->dims[0], "label") && !strcmp(c->dims[1], "span_name") &&
                 c->data == st->span.lo,
             "by_span_mass_lo [label, span_name, layer]");
    c = as_table_find(&t, "contrast_prev_token_same_sign");
    TU_CHECK(c && c->nd == 2 && !strcmp(c->dims[0], "contrast"), "contrast_prev_token_same_sign");
    c = as_table_find(&t, "sensitivity_rank");
    TU_CHECK(c && c->type == AS_COL_I32 && !strcmp(c->dims[0], "by"), "sensitivity_rank");
    c = as_table_find(&t, "label");
    TU_CHECK(c && c->type == AS_COL_STR && c->nd == 1 && c->shape[0] == 10, "label scale");
    int got_attrs = 0;
    for (int k = 0; k < t.n_attrs; k++)
        got_attrs +=
            (!strcmp(t.attrs[k].name, "bootstrap_resamples") && t.attrs[k].kind == AS_ATTR_I64 &&
             t.attrs[k].i64 == 1000) +
            (!strcmp(t.attrs[k].name, "bootstrap_seed") && t.attrs[k].kind == AS_ATTR_U64 &&
             t.attrs[k].u64 == AS_ANALYSIS_SEED_DEFAULT) +
            (!strcmp(t.attrs[k].name, "confidence") && t.attrs[k].f64 == 0.95) +
            (!strcmp(t.attrs[k].name, "js_min_shared") && t.attrs[k].i64 == 4);
    TU_CHECK(got_attrs == 4, "settings attributes (%d of 4)", got_attrs);
    as_table_free(&t);
    /* another seed: different intervals, still covering */
    as_summary_free(sm2);
    sm2 = NULL;
    an.seed = 7;
    TU_CHECK(as_summary_compute(&in, &sm2, &err) == AS_OK, "%s", err.msg);
    if (sm2) {
        const size_t off = ((size_t)lb * sm2->stats->NS + sq) * L;
        TU_CHECK(sm2->stats->span.lo[off] != st->span.lo[off] &&
                     sm2->stats->span.lo[off] < 0.3 + DELTA &&
                     0.3 + DELTA < sm2->stats->span.hi[off],
                 "seed 7: another interval that covers");
    }
out:
    as_summary_free(sm);
    as_summary_free(sm2);
    syn_free(&s);
}

/* ------------------------------------------------------------ errors and edges */

static void test_errors(void) {
    enum { G = 4, L = 2, H = 2, T = 6 };
    struct syn s;
    syn_init(&s, G, L, H, T);
    struct as_summary *sm = NULL;
    struct as_err err = {0};
    struct as_analysis an;
    as_analysis_defaults(&an);
    static char *by_bad[] = {"stlye"};
    an.by = by_bad, an.n_by = 1;
    struct as_summary_input in = syn_input(&s, &an);
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_ERR_INVALID && !sm &&
                 strstr(err.msg, "'stlye'") && strstr(err.msg, "analysis.by"),
             "unknown by column named: %s", err.msg);
    static char *by_ok[] = {"style"};
    an.by = by_ok;
    struct as_contrast ct = {"x", "shots", "two", "0", NULL, 0};
    an.contrasts = &ct, an.n_contrasts = 1;
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_ERR_INVALID && strstr(err.msg, "'two'") &&
                 strstr(err.msg, "numeric"),
             "non-number for a numeric column: %s", err.msg);
    ct.a = "0", ct.b = "0";
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_ERR_INVALID && strstr(err.msg, "both"),
             "a == b: %s", err.msg);
    ct.a = "2.0", ct.b = "0"; /* numbers compare as numbers */
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_OK, "%s", err.msg);
    if (sm) {
        /* groups 0 (shots 2) and 2 (shots 0)... differ: no group has both, so no pair */
        TU_CHECK(sm->stats->c_pairs[0] == 0 && isnan(sm->stats->c_q[0].mean[0]),
                 "no pair: NaN, n_pairs 0");
        as_summary_free(sm), sm = NULL;
    }
    an.n_boot = AS_ANALYSIS_BOOT_MAX + 1;
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_ERR_INVALID && strstr(err.msg, "bootstrap"),
             "too many resamples: %s", err.msg);
    /* one prompt per label: std and intervals NaN; JS: pairs share 5 tokens */
    an.n_boot = 50, an.n_contrasts = 0;
    static char *by_var[] = {"variant", "group"};
    an.by = by_var, an.n_by = 2;
    an.js_min_shared = T; /* every pair shares all T tokens (same ids) */
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_OK, "%s", err.msg);
    if (sm) {
        const struct as_summary_stats *st = sm->stats;
        const int lq = find_label(st, "group=q0");
        TU_CHECK(lq >= 0 && st->label_count[lq] == 2, "group label of 2");
        TU_CHECK(st->NL == 2 + G && st->n_boot == 50, "labels %d", st->NL);
        /* all of a prompt's 6 tokens are shared by its pair: js_min_shared 6 keeps it */
        TU_CHECK(sm->groups[0].js_pairs == 1 && sm->groups[0].n_shared == T &&
                     isfinite(sm->groups[0].js[0]),
                 "js pair of %d shared tokens: pairs %d", sm->groups[0].n_shared,
                 sm->groups[0].js_pairs);
        as_summary_free(sm), sm = NULL;
    }
    an.js_min_shared = T + 1;
    an.by = by_ok, an.n_by = 1;
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_OK, "%s", err.msg);
    if (sm) {
        TU_CHECK(sm->groups[0].js_pairs == 0 && sm->groups[0].n_shared == 0 &&
                     isnan(sm->groups[0].js[0]),
                 "fewer shared tokens than js_min_shared: no JS (pairs %d)",
                 sm->groups[0].js_pairs);
        as_summary_free(sm), sm = NULL;
    }
    /* a single-prompt label: only one style-a prompt is done */
    for (int64_t i = 2; i < s.N; i += 2)
        s.status[i] = 0;
    an.js_min_shared = 4;
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_OK, "%s", err.msg);
    if (sm) {
        const struct as_summary_stats *st = sm->stats;
        const int la = find_label(st, "style=a");
        TU_CHECK(la >= 0 && st->label_count[la] == 1 && isnan(st->layer_entropy.std[la * L]) &&
                     isnan(st->layer_entropy.lo[la * L]) &&
                     isfinite(st->layer_entropy.mean[la * L]),
                 "one prompt: mean, no std or interval");
        as_summary_free(sm), sm = NULL;
    }
    syn_free(&s);
}

/* ------------------------------------------------------------ cost */

/* 100,000 prompts x 22 layers x 4 heads, by = [style, group] (2 + 50,000 labels) and one
 * contrast: the per-layer bootstrap dominates (B * n * D), measured and printed. */
static void test_cost(void) {
    enum { G = 50000, L = 22, H = 4, T = 6 };
    struct syn s;
    syn_init(&s, G, L, H, T);
    static char *by[] = {"style", "group"};
    static char *on_group[] = {"group"};
    struct as_contrast ct = {"b-a", "style", "b", "a", on_group, 1};
    struct as_analysis an;
    as_analysis_defaults(&an);
    an.by = by, an.n_by = 2, an.contrasts = &ct, an.n_contrasts = 1;
    if (getenv("TS_BY")) an.n_by = 1, an.n_contrasts = 0, by[0] = getenv("TS_BY");
    struct as_summary_input in = syn_input(&s, &an);
    struct as_summary *sm = NULL;
    struct as_err err = {0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_OK, "%s", err.msg);
    clock_gettime(CLOCK_MONOTONIC, &b);
    const double sec = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
    printf("cost: summary of %lld prompts (L=%d, H=%d, %d labels, 1 contrast, B=%d) in %.2f s\n",
           (long long)s.N, L, H, sm ? sm->stats->NL : -1, AS_ANALYSIS_BOOT_DEFAULT, sec);
    if (sm) {
        const struct as_summary_stats *st = sm->stats;
        const int lb = find_label(st, "style=b"), sq = find_name(st->span_name, st->NS, "question");
        TU_CHECK(lb >= 0 && sq >= 0 && st->span.lo[((size_t)lb * st->NS + sq) * L] < 0.3 + DELTA &&
                     0.3 + DELTA < st->span.hi[((size_t)lb * st->NS + sq) * L],
                 "covers at 100,000 prompts");
    }
    as_summary_free(sm);
    syn_free(&s);
}

int main(void) {
    test_known();
    test_errors();
    test_cost();
    return tu_finish("test_stats");
}
