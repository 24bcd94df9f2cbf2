/* test_tables.c - the column tables of src/reduce/ (no HDF5): as_table
 * bookkeeping and its dimension check; the /metrics layout of hand-built
 * layouts (shapes, counts, starts, scales); the rows of a batch of three
 * prompts with one not computed; the summary on hand-built columns with known
 * answers (two interleaved groups: entropy std, JS of two variants, the
 * overall focus token with a tie, example spans, top-K padding); the JS
 * divergence of large groups (V = 64 all pairs, V > 64 fixed pairs,
 * deterministic); the /summary table against its size estimate; the exports;
 * and 20,000 prompts in one group and in 20,000 groups (linear cost). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attnsweep/reduce.h"
#include "attnsweep/table.h"
#include "testutil.h"

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol))

/* ------------------------------------------------------------ as_table */

static void test_table_basics(void) {
    struct as_table t;
    struct as_err err = {0};
    as_table_init(&t);
    double v[3] = {1, 2, 3};
    struct as_col *c = as_table_add(&t, "x", AS_COL_F64, "prompt", (const int64_t[]){3}, v, 1);
    TU_CHECK(c && c->owned && c->data != v && c->nd == 1, "copied column");
    v[0] = 99;
    TU_CHECK(c && ((double *)c->data)[0] == 1.0, "the copy does not follow the source");
    c = as_table_add(&t, "y", AS_COL_I32, "prompt,layer,head", (const int64_t[]){3, 2, 4}, NULL, 0);
    TU_CHECK(c && c->nd == 3 && !strcmp(c->dims[2], "head") && c->shape[1] == 2 && !c->data,
             "three dims parsed");
    TU_CHECK(c && as_col_count(c) == 24 && as_col_elsize(c) == 4, "count / elsize");
    int32_t w[3] = {4, 5, 6};
    c = as_table_add(&t, "z", AS_COL_I32, "prompt", (const int64_t[]){3}, w, 0);
    TU_CHECK(c && c->data == w && !c->owned, "borrowed column");
    const char *s[3] = {"a", "bcd", NULL};
    c = as_table_add_strings(&t, "names", "prompt", (const int64_t[]){3}, s);
    TU_CHECK(c && c->type == AS_COL_STR && c->width == 3 && as_col_elsize(c) == 3, "width %zu",
             c ? c->width : 0);
    TU_CHECK(c && !memcmp(c->data, "a\0\0bcd\0\0\0", 9), "null-padded records");
    const char *e[2] = {"", ""};
    c = as_table_add_strings(&t, "empty", "two", (const int64_t[]){2}, e);
    TU_CHECK(c && c->width == 1, "empty strings: width 1");
    c = as_table_add_range(&t, "token", 4);
    TU_CHECK(c && c->type == AS_COL_I32 && !strcmp(c->name, "token") &&
                 !strcmp(c->dims[0], "token") && ((int32_t *)c->data)[3] == 3,
             "range");
    TU_CHECK(as_table_find(&t, "names") && !as_table_find(&t, "nope"), "find");
    TU_CHECK(as_table_check(&t, "basics", &err) == AS_OK, "%s", err.msg);

    /* a dimension with two lengths */
    as_table_add(&t, "bad", AS_COL_F64, "token,layer", (const int64_t[]){5, 2}, NULL, 0);
    TU_CHECK(as_table_check(&t, "basics", &err) == AS_ERR_INVALID, "two lengths refused");
    TU_CHECK(strstr(err.msg, "'token'") && strstr(err.msg, "'bad'"), "message names them: %s",
             err.msg);
    as_table_free(&t);

    /* failed adds: too many dims, an empty name; duplicate names */
    as_table_init(&t);
    TU_CHECK(!as_table_add(&t, "a", AS_COL_F64, "p,q,r,s", (const int64_t[]){1, 1, 1, 1}, NULL, 0),
             "four dims refused");
    TU_CHECK(t.oom && as_table_check(&t, "x", &err) == AS_ERR_NOMEM, "a failed add is reported");
    as_table_free(&t);
    as_table_init(&t);
    as_table_add(&t, "a", AS_COL_F64, "p", (const int64_t[]){1}, NULL, 0);
    as_table_add(&t, "a", AS_COL_F64, "p", (const int64_t[]){1}, NULL, 0);
    TU_CHECK(as_table_check(&t, "x", &err) == AS_ERR_INVALID, "duplicate names refused");
    as_table_free(&t);
}

/* ------------------------------------------------------------ /metrics layout */

static const struct as_col *need(const struct as_table *t, const char *name, enum as_col_type type,
                                 const char *dims) {
    const struct as_col *c = as_table_find(t, name);
    TU_CHECK(c != NULL, "column %s present", name);
    if (!c) return NULL;
    char d[200] = "";
    for (int i = 0; i < c->nd; i++) {
        if (i) strcat(d, ",");
        strcat(d, c->dims[i]);
    }
    TU_CHECK(c->type == type && !strcmp(d, dims), "%s: type %d dims %s; want %d %s", name, c->type,
             d, type, dims);
    return c;
}

static int shape_is(const struct as_col *c, int64_t a, int64_t b, int64_t d) {
    const int64_t w[3] = {a, b, d};
    for (int i = 0; c && i < c->nd; i++)
        if (c->shape[i] != w[i]) return 0;
    return c != NULL;
}

static void test_metrics_layout(void) {
    enum { L = 2, H = 3 };
    struct as_metrics_layout lay[3] = {
        {.L = L,
         .H = H,
         .T = 4,
         .input = AS_METRICS_FULL,
         .n_keywords = 2,
         .n_occ = 2,
         .n_nb = 1,
         .n_spans = 3,
         .keyword_width = 4,
         .span_width = 8,
         .token_width = 3},
        /* no metrics: its counts are ignored */
        {.L = 0, .n_occ = 7, .n_nb = 7, .n_spans = 7, .span_width = 50},
        {.L = L,
         .H = H,
         .T = 5,
         .input = AS_METRICS_LAST_ROW,
         .n_keywords = 2,
         .n_occ = 0,
         .n_nb = 2,
         .n_spans = 2,
         .keyword_width = 4,
         .span_width = 5,
         .token_width = 3}};
    const char *ids[3] = {"g/a", "g/bb", "h/c"};
    const int32_t nt[3] = {4, 3, 5}, lid[L] = {3, 7}, hid[H] = {0, 2, 5};
    const char *kw[2] = {"15", "plus"};
    struct as_table t;
    struct as_err err = {0};
    TU_CHECK(as_metrics_table_layout(&t, 3, lay, ids, nt, L, H, lid, hid, kw, 2, &err) == AS_OK,
             "%s", err.msg);
    const struct as_col *c;
    c = need(&t, "prompt", AS_COL_STR, "prompt");
    TU_CHECK(c && c->width == 4 && !memcmp((char *)c->data + 4, "g/bb", 4), "prompt scale");
    c = need(&t, "layer", AS_COL_I32, "layer");
    TU_CHECK(c && ((int32_t *)c->data)[1] == 7, "layer ids");
    c = need(&t, "head", AS_COL_I32, "head");
    TU_CHECK(c && ((int32_t *)c->data)[2] == 5, "head ids");
    c = need(&t, "token", AS_COL_I32, "token");
    TU_CHECK(shape_is(c, 12, 0, 0) && ((int32_t *)c->data)[11] == 11, "token 0..NT-1");
    c = need(&t, "bound", AS_COL_I32, "bound");
    TU_CHECK(shape_is(c, 2, 0, 0) && ((int32_t *)c->data)[1] == 1, "bound");
    c = need(&t, "keyword", AS_COL_STR, "keyword");
    TU_CHECK(shape_is(c, 2, 0, 0) && c->width == 4, "keyword scale");
    c = need(&t, "occ", AS_COL_I32, "occ");
    TU_CHECK(shape_is(c, 2, 0, 0), "occ length");
    c = need(&t, "substr", AS_COL_I32, "substr");
    TU_CHECK(shape_is(c, 3, 0, 0), "substr length");
    c = need(&t, "span", AS_COL_I32, "span");
    TU_CHECK(shape_is(c, 5, 0, 0) && ((int32_t *)c->data)[4] == 4, "span length");

    c = need(&t, "input", AS_COL_I8, "prompt");
    TU_CHECK(c && c->data && ((int8_t *)c->data)[0] == 0 && ((int8_t *)c->data)[1] == -1 &&
                 ((int8_t *)c->data)[2] == 1,
             "input 0 -1 1");
    TU_CHECK(c && !strcmp(c->flag_meanings, "none full last_row") && c->flag_base == -1,
             "input flags");
    const int32_t want_cnt[3][3] = {{2, 0, 0}, {1, 0, 2}, {3, 0, 2}};
    const int64_t want_start[3][3] = {{0, 2, 2}, {0, 1, 1}, {0, 3, 3}};
    const char *cn[3] = {"keyword_occ_count", "keyword_substr_count", "span_count"};
    const char *sn[3] = {"keyword_occ_start", "keyword_substr_start", "span_start"};
    const char *sd[3] = {"occ", "substr", "span"};
    for (int r = 0; r < 3; r++) {
        const struct as_col *cc = need(&t, cn[r], AS_COL_I32, "prompt");
        const struct as_col *ss = need(&t, sn[r], AS_COL_I64, "prompt");
        TU_CHECK(cc && !strcmp(cc->sample_dimension, sd[r]), "%s sample_dimension", cn[r]);
        for (int i = 0; cc && ss && i < 3; i++)
            TU_CHECK(((int32_t *)cc->data)[i] == want_cnt[r][i] &&
                         ((int64_t *)ss->data)[i] == want_start[r][i],
                     "%s[%d] = %d, start %lld", cn[r], i, ((int32_t *)cc->data)[i],
                     (long long)((int64_t *)ss->data)[i]);
    }
    /* metric columns: full shapes, no data */
    const char *plh[] = {"head_entropy", "head_max",     "sink_last", "sink_mean",
                         "prev_token",   "norm_entropy", "dup_token", "induction"};
    for (int k = 0; k < 8; k++) {
        c = need(&t, plh[k], AS_COL_F64, "prompt,layer,head");
        TU_CHECK(shape_is(c, 3, L, H) && !c->data, "%s shape", plh[k]);
    }
    c = need(&t, "head_focus", AS_COL_I32, "prompt,layer,head");
    c = need(&t, "layer_entropy", AS_COL_F64, "prompt,layer");
    TU_CHECK(shape_is(c, 3, L, 0) && !c->data, "layer_entropy");
    c = need(&t, "last_row_mean", AS_COL_F64, "token,layer");
    TU_CHECK(shape_is(c, 12, L, 0), "last_row_mean [NT, L]");
    need(&t, "keyword_occ_keyword", AS_COL_I32, "occ");
    c = need(&t, "keyword_occ_bytes", AS_COL_I32, "occ,bound");
    TU_CHECK(shape_is(c, 2, 2, 0), "occ bytes");
    need(&t, "keyword_occ_tokens", AS_COL_I32, "occ,bound");
    need(&t, "keyword_occ_mass", AS_COL_F64, "occ");
    need(&t, "keyword_occ_mass_layer", AS_COL_F64, "occ,layer");
    need(&t, "keyword_substr_keyword", AS_COL_I32, "substr");
    need(&t, "keyword_substr_position", AS_COL_I32, "substr");
    need(&t, "keyword_substr_mass", AS_COL_F64, "substr");
    c = need(&t, "span_name", AS_COL_STR, "span");
    TU_CHECK(c && c->width == 8 && !c->data, "span_name width %zu (prompts with metrics only)",
             c ? c->width : 0);
    need(&t, "span_kind", AS_COL_I8, "span");
    need(&t, "span_bytes", AS_COL_I32, "span,bound");
    need(&t, "span_tokens", AS_COL_I32, "span,bound");
    c = need(&t, "span_mass", AS_COL_F64, "span,layer,head");
    TU_CHECK(shape_is(c, 5, L, H), "span_mass");
    need(&t, "span_lift", AS_COL_F64, "span,layer,head");
    TU_CHECK(!as_table_find(&t, "head_focus_token") && !as_table_find(&t, "agg_mean") &&
                 !as_table_find(&t, "aggregate_mean") && !as_table_find(&t, "keyword_substr_token"),
             "derived / aggregate columns are not stored");
    TU_CHECK(t.n == 9 + 1 + 10 + 1 + 6 + 5 + 3 + 6, "%d columns", t.n);
    as_table_free(&t);

    /* no keywords: the keyword dimension has length 0, the column is still there */
    struct as_metrics_layout one = lay[0];
    one.n_keywords = 0, one.n_occ = 0, one.n_nb = 0;
    TU_CHECK(as_metrics_table_layout(&t, 1, &one, ids, nt, L, H, lid, hid, NULL, 0, &err) == AS_OK,
             "%s", err.msg);
    c = as_table_find(&t, "keyword");
    TU_CHECK(c && c->type == AS_COL_STR && shape_is(c, 0, 0, 0) && c->width == 1,
             "empty keyword scale");
    as_table_free(&t);

    /* a layout that disagrees with the file is refused, naming the prompt */
    struct as_metrics_layout badl[3] = {lay[0], lay[1], lay[2]};
    badl[2].T = 99;
    TU_CHECK(as_metrics_table_layout(&t, 3, badl, ids, nt, L, H, lid, hid, kw, 2, &err) ==
                 AS_ERR_INVALID,
             "T mismatch refused");
    TU_CHECK(strstr(err.msg, "h/c") != NULL, "message names the prompt: %s", err.msg);
}

/* ------------------------------------------------------------ /metrics rows */

/* One prompt with one token per character after BOS ("" for BOS). */
struct cprompt {
    char tok[64][2];
    const char *toks[64];
    int32_t off[128];
    struct as_metrics_ctx c;
};

static void make_ctx(struct cprompt *p, const char *text, const char *const *kw, int nkw, int L,
                     int H, const struct as_metrics_span_def *spans, int n_spans) {
    const int n = (int)strlen(text);
    memset(p, 0, sizeof *p);
    p->toks[0] = "";
    for (int i = 0; i < n; i++) {
        p->tok[i + 1][0] = text[i];
        p->toks[i + 1] = p->tok[i + 1];
        p->off[2 * (i + 1)] = i, p->off[2 * (i + 1) + 1] = i + 1;
    }
    p->c = (struct as_metrics_ctx){.L = L,
                                   .H = H,
                                   .T = n + 1,
                                   .tokens = p->toks,
                                   .offsets = p->off,
                                   .text = text,
                                   .text_len = (size_t)n,
                                   .keywords = kw,
                                   .n_keywords = nkw,
                                   .spans = spans,
                                   .n_spans = n_spans,
                                   .prefix_len = (size_t)n};
}

/* Runs the accumulator on deterministic causal rows. */
static void run_metrics(struct as_metrics *m, const struct cprompt *p, enum as_metrics_input in) {
    struct as_err err = {0};
    const int L = p->c.L, H = p->c.H, T = p->c.T;
    float *buf = calloc((size_t)H * T * T, sizeof *buf);
    TU_CHECK(as_metrics_init(m, &p->c, in, &err) == AS_OK, "%s", err.msg);
    for (int l = 0; l < L; l++) {
        for (int h = 0; h < H; h++)
            for (int q = 0; q < T; q++) {
                if (in == AS_METRICS_LAST_ROW && q != T - 1) continue;
                float *r = buf + (size_t)h * T * (in == AS_METRICS_FULL ? T : 1) +
                           (size_t)(in == AS_METRICS_FULL ? q : 0) * T;
                double z = 0;
                for (int k = 0; k <= q; k++)
                    z += k + 1 + h + l;
                for (int k = 0; k < T; k++)
                    r[k] = k <= q ? (float)((k + 1 + h + l) / z) : 0.0f;
            }
        TU_CHECK(as_metrics_add_layer(m, l, buf, &err) == AS_OK, "%s", err.msg);
    }
    TU_CHECK(as_metrics_finish(m, &err) == AS_OK, "%s", err.msg);
    free(buf);
}

static void test_metrics_rows(void) {
    enum { L = 2, H = 2 };
    const char *kw[2] = {"15", "s"};
    const struct as_metrics_span_def sp[1] = {{"question", "15 plus", 7}};
    static struct cprompt a, b, c;
    make_ctx(&a, "is 15 plus 15", kw, 2, L, H, sp, 1);
    make_ctx(&b, "15 s", kw, 2, L, H, sp, 1);
    make_ctx(&c, "ss", kw, 2, L, H, NULL, 0);
    struct as_metrics ma, mc;
    run_metrics(&ma, &a, AS_METRICS_FULL);
    run_metrics(&mc, &c, AS_METRICS_LAST_ROW);
    struct as_metrics_layout lay[3];
    struct as_err err = {0};
    lay[0] = ma.lay, lay[2] = mc.lay;
    TU_CHECK(as_metrics_layout_compute(&b.c, AS_METRICS_FULL, &lay[1], &err) == AS_OK, "%s",
             err.msg);
    const struct as_metrics *m[3] = {&ma, NULL, &mc};
    const int32_t nt[3] = {a.c.T, b.c.T, c.c.T};
    struct as_table t;
    TU_CHECK(as_metrics_table_rows(&t, 3, m, lay, nt, L, H, &err) == AS_OK, "%s", err.msg);
    const int64_t NT = nt[0] + nt[1] + nt[2];
    const int occ0 = lay[0].n_occ, occ1 = lay[1].n_occ, occ2 = lay[2].n_occ;
    const int nb0 = lay[0].n_nb, nb1 = lay[1].n_nb, nb2 = lay[2].n_nb;
    const int s0 = lay[0].n_spans, s1 = lay[1].n_spans, s2 = lay[2].n_spans;
    TU_CHECK(occ0 == 4 && occ1 == 2 && nb1 == 1 && s1 == 2, "layouts: occ %d %d nb %d spans %d",
             occ0, occ1, nb1, s1);
    TU_CHECK(!as_table_find(&t, "prompt") && !as_table_find(&t, "span_count") &&
                 !as_table_find(&t, "keyword_occ_start") && !as_table_find(&t, "keyword"),
             "rows hold no scales, counts or starts");
    const struct as_col *col = need(&t, "input", AS_COL_I8, "prompt");
    TU_CHECK(col && ((int8_t *)col->data)[0] == 0 && ((int8_t *)col->data)[1] == -1 &&
                 ((int8_t *)col->data)[2] == 1,
             "input rows 0 -1 1");
    col = need(&t, "layer_entropy", AS_COL_F64, "prompt,layer");
    if (shape_is(col, 3, L, 0)) {
        const double *v = col->data;
        TU_CHECK(v[0] == ma.layer_entropy[0] && v[1] == ma.layer_entropy[1] && isnan(v[2]) &&
                     isnan(v[3]) && v[4] == mc.layer_entropy[0],
                 "layer_entropy rows");
    }
    col = need(&t, "head_focus", AS_COL_I32, "prompt,layer,head");
    if (shape_is(col, 3, L, H)) {
        const int32_t *v = col->data;
        TU_CHECK(v[3] == ma.head_focus[3] && v[4] == -1 && v[8 + 1] == mc.head_focus[1],
                 "head_focus rows");
    }
    col = need(&t, "sink_mean", AS_COL_F64, "prompt,layer,head");
    if (shape_is(col, 3, L, H)) {
        const double *v = col->data;
        TU_CHECK(v[2] == ma.sink_mean[2] && isnan(v[5]) && isnan(v[9]),
                 "sink_mean: NaN for the missing prompt and for last_row input");
    }
    col = need(&t, "sink_last", AS_COL_F64, "prompt,layer,head");
    TU_CHECK(col && ((double *)col->data)[8 + 3] == mc.sink_last[3], "sink_last from last_row");
    col = need(&t, "last_row_mean", AS_COL_F64, "token,layer");
    if (shape_is(col, NT, L, 0)) {
        const double *v = col->data;
        int ok = 1;
        for (int tt = 0; tt < nt[0]; tt++)
            for (int l = 0; l < L; l++)
                ok &= v[tt * L + l] == ma.last_row_mean[l * nt[0] + tt];
        for (int tt = 0; tt < nt[1]; tt++)
            ok &= isnan(v[(nt[0] + tt) * L]) && isnan(v[(nt[0] + tt) * L + 1]);
        for (int tt = 0; tt < nt[2]; tt++)
            for (int l = 0; l < L; l++)
                ok &= v[(nt[0] + nt[1] + tt) * L + l] == mc.last_row_mean[l * nt[2] + tt];
        TU_CHECK(ok, "last_row_mean transposed to (token, layer), NaN for the missing prompt");
    }
    col = need(&t, "keyword_occ_bytes", AS_COL_I32, "occ,bound");
    if (shape_is(col, occ0 + occ1 + occ2, 2, 0)) {
        const int32_t *v = col->data;
        TU_CHECK(v[0] == ma.occ[0].bytes[0] && v[1] == ma.occ[0].bytes[1] && v[2 * occ0] == -1 &&
                     v[2 * occ0 + 1] == -1,
                 "occ bytes rows");
    }
    col = need(&t, "keyword_occ_mass_layer", AS_COL_F64, "occ,layer");
    TU_CHECK(shape_is(col, occ0 + occ1 + occ2, L, 0) &&
                 ((double *)col->data)[1] == ma.occ_mass_layer[1] &&
                 isnan(((double *)col->data)[2 * occ0]),
             "occ mass per layer");
    col = need(&t, "keyword_substr_position", AS_COL_I32, "substr");
    TU_CHECK(shape_is(col, nb0 + nb1 + nb2, 0, 0) && ((int32_t *)col->data)[nb0] == -1 &&
                 ((int32_t *)col->data)[nb0 + nb1] == mc.nb_position[0],
             "substr rows");
    col = need(&t, "span_name", AS_COL_STR, "span");
    if (shape_is(col, s0 + s1 + s2, 0, 0)) {
        const char *v = col->data;
        const size_t w = col->width;
        TU_CHECK(w == 8, "span_name width %zu: the batch's longest", w);
        TU_CHECK(!strncmp(v, "question", w) && !strncmp(v + w, "prefix", w) &&
                     v[(size_t)s0 * w] == '\0' && v[(size_t)(s0 + 1) * w] == '\0' &&
                     !strncmp(v + (size_t)(s0 + s1) * w, "prefix", w),
                 "span names; \"\" for the missing prompt");
    }
    col = need(&t, "span_kind", AS_COL_I8, "span");
    TU_CHECK(col && ((int8_t *)col->data)[0] == 0 && ((int8_t *)col->data)[1] == 1 &&
                 ((int8_t *)col->data)[s0] == -1,
             "span kinds");
    col = need(&t, "span_lift", AS_COL_F64, "span,layer,head");
    TU_CHECK(shape_is(col, s0 + s1 + s2, L, H) && ((double *)col->data)[3] == ma.span_lift[3] &&
                 isnan(((double *)col->data)[(size_t)s0 * L * H]),
             "span_lift rows");
    TU_CHECK(as_table_check(&t, "rows", &err) == AS_OK, "%s", err.msg);
    as_table_free(&t);

    /* an accumulator that does not match its layout is refused */
    struct as_metrics_layout bad[3] = {lay[0], lay[1], lay[2]};
    bad[0].n_occ += 1;
    TU_CHECK(as_metrics_table_rows(&t, 3, m, bad, nt, L, H, &err) == AS_ERR_INVALID,
             "count mismatch refused");
    as_metrics_free(&ma);
    as_metrics_free(&mc);
}

/* ------------------------------------------------------------ summary input */

/* Hand-made columns of a file: every prompt has T tokens and two spans,
 * "prefix" [1, 2) and "question" [2, T) (overridable). */
struct gen {
    int64_t N;
    int L, H, T, G;
    int8_t *status, *input, *span_kind;
    int32_t *group_of, *n_tokens, *head_focus, *span_count, *span_tokens, *token_id;
    int64_t *token_start, *span_start;
    double *layer_entropy, *head_entropy, *last_row_mean, *span_mass, *span_lift;
    char *token_str, *span_name, **ids, **variants, **group_names;
    int64_t S;
    struct as_table t;
};
#define TW 8  /* token_str record width */
#define SW 20 /* span_name record width */

static uint64_t rng = 88172645463325252ull;
static double urand(void) { /* xorshift64, in (0, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static void gen_init(struct gen *g, int64_t N, int L, int H, int T, int G, int spans_per) {
    memset(g, 0, sizeof *g);
    g->N = N, g->L = L, g->H = H, g->T = T, g->G = G;
    const size_t n = (size_t)N, LH = (size_t)L * H, NT = n * T;
    g->S = N * spans_per;
    const size_t S = (size_t)g->S;
    g->status = calloc(n, 1), g->input = calloc(n, 1), g->span_kind = calloc(S + 1, 1);
    g->group_of = calloc(n, 4), g->n_tokens = calloc(n, 4), g->head_focus = calloc(n * LH, 4);
    g->span_count = calloc(n, 4), g->span_tokens = calloc(2 * S + 1, 4);
    g->token_start = calloc(n, 8), g->span_start = calloc(n, 8);
    g->layer_entropy = calloc(n * L, 8), g->head_entropy = calloc(n * LH, 8);
    g->last_row_mean = calloc(NT * L, 8), g->span_mass = calloc(S * LH + 1, 8);
    g->span_lift = calloc(S * LH + 1, 8);
    g->token_str = calloc(NT, TW), g->span_name = calloc(S + 1, SW);
    g->token_id = calloc(NT, 4);
    g->ids = calloc(n, sizeof(char *)), g->variants = calloc(n, sizeof(char *));
    g->group_names = calloc((size_t)G, sizeof(char *));
    for (int k = 0; k < G; k++) {
        g->group_names[k] = malloc(16);
        snprintf(g->group_names[k], 16, "g%d", k);
    }
    for (size_t i = 0; i < n; i++) {
        g->status[i] = 1, g->input[i] = 0, g->n_tokens[i] = T;
        g->token_start[i] = (int64_t)i * T;
        g->group_of[i] = (int32_t)(i % (size_t)G);
        g->ids[i] = malloc(48), g->variants[i] = malloc(24);
        snprintf(g->ids[i], 48, "g%d/v%zu", g->group_of[i], i);
        snprintf(g->variants[i], 24, "v%zu", i);
        for (int l = 0; l < L; l++)
            g->layer_entropy[i * L + l] = urand();
        for (size_t k = 0; k < LH; k++) {
            g->head_entropy[i * LH + k] = urand();
            g->head_focus[i * LH + k] = (int32_t)(urand() * T);
        }
        for (int t = 0; t < T; t++) {
            snprintf(g->token_str + (i * T + t) * TW, TW, "t%d", (int)((i * T + t) % 5));
            for (int l = 0; l < L; l++)
                g->last_row_mean[(i * T + t) * L + l] = urand();
        }
        /* token ids: the "question" tokens [2, T) are the same for every prompt, aligned from
         * the end (so JS pairs share exactly them); every other token is unique */
        for (int t = 0; t < T; t++)
            g->token_id[i * T + t] = t >= 2 ? 500 + (T - t) : 10000 + (int32_t)(i * T) + t;
        g->span_count[i] = spans_per, g->span_start[i] = (int64_t)i * spans_per;
        for (int s = 0; s < spans_per; s++) {
            const size_t r = i * spans_per + s;
            strcpy(g->span_name + r * SW, s == 0 ? "prefix" : s == 1 ? "question" : "example_x");
            g->span_kind[r] = s < 2;
            g->span_tokens[2 * r] = s == 0 ? 1 : 2, g->span_tokens[2 * r + 1] = s == 0 ? 2 : T;
            for (size_t k = 0; k < LH; k++)
                g->span_mass[r * LH + k] = urand(), g->span_lift[r * LH + k] = urand();
        }
    }
}

static void gen_table(struct gen *g) {
    const int64_t N = g->N, L = g->L, H = g->H, S = g->S, NT = N * g->T;
    struct as_table *t = &g->t;
    as_table_init(t);
    as_table_add(t, "input", AS_COL_I8, "prompt", (const int64_t[]){N}, g->input, 0);
    as_table_add(t, "layer_entropy", AS_COL_F64, "prompt,layer", (const int64_t[]){N, L},
                 g->layer_entropy, 0);
    as_table_add(t, "head_entropy", AS_COL_F64, "prompt,layer,head", (const int64_t[]){N, L, H},
                 g->head_entropy, 0);
    as_table_add(t, "head_focus", AS_COL_I32, "prompt,layer,head", (const int64_t[]){N, L, H},
                 g->head_focus, 0);
    as_table_add(t, "last_row_mean", AS_COL_F64, "token,layer", (const int64_t[]){NT, L},
                 g->last_row_mean, 0);
    as_table_add(t, "span_count", AS_COL_I32, "prompt", (const int64_t[]){N}, g->span_count, 0);
    as_table_add(t, "span_start", AS_COL_I64, "prompt", (const int64_t[]){N}, g->span_start, 0);
    struct as_col *c =
        as_table_add(t, "span_name", AS_COL_STR, "span", (const int64_t[]){S}, g->span_name, 0);
    if (c) c->width = SW;
    as_table_add(t, "span_kind", AS_COL_I8, "span", (const int64_t[]){S}, g->span_kind, 0);
    as_table_add(t, "span_tokens", AS_COL_I32, "span,bound", (const int64_t[]){S, 2},
                 g->span_tokens, 0);
    as_table_add(t, "span_mass", AS_COL_F64, "span,layer,head", (const int64_t[]){S, L, H},
                 g->span_mass, 0);
    as_table_add(t, "span_lift", AS_COL_F64, "span,layer,head", (const int64_t[]){S, L, H},
                 g->span_lift, 0);
}

static struct as_summary_input gen_input(struct gen *g) {
    gen_table(g);
    return (struct as_summary_input){.n = g->N,
                                     .L = g->L,
                                     .H = g->H,
                                     .status = g->status,
                                     .ids = (const char *const *)g->ids,
                                     .group_of = g->group_of,
                                     .n_groups = g->G,
                                     .group_names = (const char *const *)g->group_names,
                                     .variants = (const char *const *)g->variants,
                                     .n_tokens = g->n_tokens,
                                     .token_start = g->token_start,
                                     .metrics = &g->t,
                                     .token_str = g->token_str,
                                     .token_str_width = TW,
                                     .token_id = g->token_id};
}

static void gen_free(struct gen *g) {
    for (int64_t i = 0; i < g->N; i++)
        free(g->ids[i]), free(g->variants[i]);
    for (int k = 0; k < g->G; k++)
        free(g->group_names[k]);
    free(g->status), free(g->input), free(g->span_kind), free(g->group_of), free(g->n_tokens);
    free(g->head_focus), free(g->span_count), free(g->span_tokens), free(g->token_start);
    free(g->span_start), free(g->layer_entropy), free(g->head_entropy), free(g->last_row_mean);
    free(g->span_mass), free(g->span_lift), free(g->token_str), free(g->span_name);
    free(g->token_id);
    free(g->ids), free(g->variants), free(g->group_names);
    as_table_free(&g->t);
}

/* Independent JS divergence of members mem[0..V) at layer l, by the
 * documented pair rule: gen's prompts share their "question" tokens at their ends, so
 * every pair's common suffix is the shorter question. */
static double ref_jsd(const double *p, const double *q, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        const double m = (p[i] + q[i]) / 2;
        if (p[i] > 0) s += p[i] * log(p[i] / m) / 2;
        if (q[i] > 0) s += q[i] * log(q[i] / m) / 2;
    }
    return s;
}
static double ref_js(const struct gen *g, const int64_t *mem, int V, int l) {
    int ns = -1;
    for (int v = 0; v < V; v++) {
        const int64_t r = g->span_start[mem[v]] + 1; /* "question" */
        int c = g->span_tokens[2 * r + 1] - g->span_tokens[2 * r];
        if (ns < 0 || c < ns) ns = c;
    }
    double *p = malloc(sizeof(double) * (size_t)V * ns);
    for (int v = 0; v < V; v++) {
        const int64_t r = g->span_start[mem[v]] + 1;
        const int end = g->span_tokens[2 * r + 1];
        double z = 0;
        for (int t = 0; t < ns; t++)
            z += p[v * ns + t] =
                g->last_row_mean[(g->token_start[mem[v]] + end - ns + t) * g->L + l];
        for (int t = 0; t < ns; t++)
            p[v * ns + t] /= z;
    }
    double acc = 0;
    long pairs = 0;
    if (V <= 64) {
        for (int v = 0; v < V; v++)
            for (int u = v + 1; u < V; u++, pairs++)
                acc += ref_jsd(p + v * ns, p + u * ns, ns);
    } else {
        for (int v = 0; v < V; v++)
            for (int k = 1; k <= 32; k++, pairs++)
                acc += ref_jsd(p + v * ns, p + ((v + k) % V) * ns, ns);
    }
    free(p);
    return acc / pairs;
}

/* ------------------------------------------------------------ summary: known answers */

static void test_summary_small(void) {
    enum { L = 2, H = 2, T = 5 };
    struct gen g;
    /* 6 prompts, two interleaved groups: g0 = rows 0, 2, 4; g1 = rows 1, 3, 5.
     * Row 3 failed and row 4 has no metrics: g0 = {0, 2}, g1 = {1, 5}. */
    gen_init(&g, 6, L, H, T, 2, 3);
    g.status[3] = 2;
    g.input[4] = -1;
    g.input[5] = 1;
    const double le[6][L] = {{1, 2}, {0.5, 0.5}, {3, 2}, {9, 9}, {9, 9}, {1.5, 0.25}};
    memcpy(g.layer_entropy, le, sizeof le);
    /* prompt 2's question is one token shorter: g0 compares 2 tokens, g1 3 */
    g.span_tokens[2 * (2 * 3 + 1)] = 3;
    g.token_id[2 * T + 2] = 99999; /* so the pair (0, 2) shares only its last 2 tokens */
    /* example spans: only row 5's covers a token */
    for (int i = 0; i < 6; i++) {
        const int64_t r = g.span_start[i] + 2;
        strcpy(g.span_name + r * SW, i == 5 ? "example_answer_1" : "example_answerless");
        if (i != 5) g.span_tokens[2 * r] = g.span_tokens[2 * r + 1] = -1;
    }
    /* "example_answerless" also starts with example_answer: counted, but has no token */
    /* head (0, 0) focus tokens over the summarized prompts 0, 1, 2, 5:
     * "A", "B", "A", "B" (the last at another position): a tie, "A" seen first */
    const char *tk[6][T] = {{"<s>", "A", "x", "y", "z"}, {"<s>", "B", "x", "y", "z"},
                            {"<s>", "A", "x", "y", "z"}, {"<s>", "q", "q", "q", "q"},
                            {"<s>", "q", "q", "q", "q"}, {"<s>", "w", "x", "B", "z"}};
    for (int i = 0; i < 6; i++)
        for (int t = 0; t < T; t++)
            snprintf(g.token_str + (size_t)(i * T + t) * TW, TW, "%s", tk[i][t]);
    const int32_t f00[6] = {1, 1, 1, 0, 0, 3};
    for (int i = 0; i < 6; i++) {
        g.head_focus[i * L * H + 0] = f00[i];
        g.head_focus[i * L * H + 1] = 2;              /* "x" in every summarized prompt */
        g.head_focus[i * L * H + 2] = i == 5 ? 4 : 0; /* "<s>" x3, "z" */
        g.head_focus[i * L * H + 3] = i == 0 ? 4 : i % 4;
    }
    /* head entropies of prompt 0: focused = ascending */
    const double he0[4] = {0.3, 0.1, 0.2, 0.1};
    memcpy(g.head_entropy, he0, sizeof he0);
    struct as_summary_input in = gen_input(&g);
    struct as_analysis an;
    as_analysis_defaults(&an);
    an.js_min_shared = 2; /* the pairs share 2 and 3 tokens */
    in.analysis = &an;
    struct as_summary *sm = NULL;
    struct as_err err = {0};
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_OK, "%s", err.msg);
    if (!sm) {
        gen_free(&g);
        return;
    }
    TU_CHECK(sm->n == 4 && sm->index[0] == 0 && sm->index[1] == 1 && sm->index[2] == 2 &&
                 sm->index[3] == 5,
             "summarized rows 0 1 2 5 (n = %lld)", (long long)sm->n);
    TU_CHECK(!strcmp(sm->ids[3], "g1/v5"), "ids point at the input: %s", sm->ids[3]);
    TU_CHECK(sm->n_groups == 2 && !strcmp(sm->groups[0].name, "g0") &&
                 !strcmp(sm->groups[1].name, "g1"),
             "two groups");
    const struct as_summary_group *g0 = &sm->groups[0], *g1 = &sm->groups[1];
    TU_CHECK(g0->n_variants == 2 && g0->prompts[0] == 0 && g0->prompts[1] == 2 &&
                 g1->n_variants == 2 && g1->prompts[0] == 1 && g1->prompts[1] == 5,
             "members in file order");
    TU_CHECK(!strcmp(g0->variants[1], "v2") && !strcmp(g1->variants[1], "v5"), "variants");
    /* entropy std, ddof 0: g0 |1-3|/2, |2-2|/2; g1 |0.5-1.5|/2, |0.5-0.25|/2 */
    TU_CHECK(g0->entropy_std[0] == 1.0 && g0->entropy_std[1] == 0.0 && g1->entropy_std[0] == 0.5 &&
                 g1->entropy_std[1] == 0.125,
             "entropy std %g %g %g %g", g0->entropy_std[0], g0->entropy_std[1], g1->entropy_std[0],
             g1->entropy_std[1]);
    TU_CHECK(g0->rank_std[0] == 0 && g0->rank_std[1] == 1, "rank by std");
    /* JS of two variants = the JSD of their renormalised shared tails */
    TU_CHECK(g0->n_shared == 2 && g1->n_shared == 3, "n_shared %d %d", g0->n_shared, g1->n_shared);
    TU_CHECK(g0->js_pairs == 1 && g1->js_pairs == 1, "js_pairs %d %d", g0->js_pairs, g1->js_pairs);
    for (int l = 0; l < L; l++) {
        const int64_t m0[2] = {0, 2}, m1[2] = {1, 5};
        const double j0 = ref_js(&g, m0, 2, l), j1 = ref_js(&g, m1, 2, l);
        TU_CHECK(NEAR(g0->js[l], j0, 1e-14) && NEAR(g1->js[l], j1, 1e-14),
                 "js l%d: %.17g %.17g want %.17g %.17g", l, g0->js[l], g1->js[l], j0, j1);
        TU_CHECK(g0->js[l] > 0 && g0->js[l] <= log(2.0), "0 < js <= log 2");
    }
    TU_CHECK(g0->rank_js[0] == (g0->js[1] > g0->js[0] ? 1 : 0), "rank by js");
    /* prefix / question mass: head means of span 0 / 1 */
    const double *pm = g.span_mass + (size_t)g.span_start[2] * L * H; /* row 2 prefix */
    TU_CHECK(NEAR(g0->prefix_mass[1 * L + 1], (pm[2] + pm[3]) / 2, 1e-15), "prefix mass");
    const double *qm = g.span_mass + (size_t)(g.span_start[5] + 1) * L * H;
    TU_CHECK(NEAR(g1->question_mass[1 * L + 0], (qm[0] + qm[1]) / 2, 1e-15), "question mass");
    /* examples: only g1 */
    TU_CHECK(!g0->has_examples && g1->has_examples, "has_examples %d %d", g0->has_examples,
             g1->has_examples);
    TU_CHECK(isnan(g0->example_mass[0]) && g0->example_top[0].layer == -1,
             "no examples: NaN mass, no top heads");
    const double *ex1 = g.span_mass + (size_t)(g.span_start[1] + 2) * L * H; /* "answerless" */
    const double *ex5 = g.span_mass + (size_t)(g.span_start[5] + 2) * L * H;
    TU_CHECK(g1->example_mass[0] == ex1[0] && g1->example_mass[L * H + 3] == ex5[3],
             "example mass sums every example_answer* span");
    /* per-prompt top heads of prompt 0: entropies 0.3 0.1 0.2 0.1 -> 1, 3, 2, 0, pad */
    const struct as_summary_head *f = sm->focused;
    TU_CHECK(f[0].layer == 0 && f[0].head == 1 && f[1].layer == 1 && f[1].head == 1 &&
                 f[2].layer == 1 && f[2].head == 0 && f[3].layer == 0 && f[3].head == 0 &&
                 f[4].layer == -1 && isnan(f[4].entropy),
             "focused order with the tie to the lower index, padded");
    TU_CHECK(!strcmp(f[0].token, "x") && !strcmp(f[3].token, "A") && !strcmp(f[1].token, "z"),
             "focus tokens from token_str: %s %s %s", f[0].token, f[3].token, f[1].token);
    TU_CHECK(sm->distributed[0].layer == 0 && sm->distributed[0].head == 0, "distributed");
    /* overall: head (0, 0) tie A/B -> A; head (1, 0) "<s>" */
    for (int t = 0; t < AS_METRICS_TOP_K; t++) {
        const struct as_summary_head *o = &sm->overall_focused[t];
        if (o->layer == 0 && o->head == 0)
            TU_CHECK(!strcmp(o->token, "A"), "mode of head (0,0): %s, want A (tie, first)",
                     o->token);
        if (o->layer == 1 && o->head == 0)
            TU_CHECK(!strcmp(o->token, "<s>"), "mode of head (1,0): %s", o->token);
        if (o->layer == 0 && o->head == 1)
            TU_CHECK(!strcmp(o->token, "x"), "mode of head (0,1): %s", o->token);
    }
    TU_CHECK(sm->overall_focused[4].layer == -1, "overall padded");
    double mean00 =
        (g.head_entropy[0] + g.head_entropy[4] + g.head_entropy[8] + g.head_entropy[20]);
    TU_CHECK(sm->head_entropy_mean[0] == mean00 / 4, "head_entropy_mean");
    TU_CHECK(isnan(sm->small[0].head[AS_HM_SINK_MEAN][0]), "missing head metrics read as NaN");

    /* the /summary table */
    struct as_table t;
    TU_CHECK(as_summary_table(sm, &t, &err) == AS_OK, "%s", err.msg);
    const struct as_col *c;
    c = need(&t, "prompt", AS_COL_STR, "prompt");
    TU_CHECK(shape_is(c, 4, 0, 0), "prompt scale");
    need(&t, "layer", AS_COL_I32, "layer");
    c = need(&t, "top", AS_COL_I32, "top");
    TU_CHECK(shape_is(c, 5, 0, 0), "top");
    c = need(&t, "group", AS_COL_STR, "group");
    TU_CHECK(shape_is(c, 2, 0, 0) && !memcmp(c->data, "g0g1", 4), "group scale");
    need(&t, "member", AS_COL_I32, "member");
    c = need(&t, "prompt_index", AS_COL_I32, "prompt");
    TU_CHECK(c && ((int32_t *)c->data)[3] == 5, "prompt_index");
    need(&t, "head_entropy_mean", AS_COL_F64, "layer,head");
    const char *hb[4] = {"most_focused", "most_distributed", "overall_most_focused",
                         "overall_most_distributed"};
    for (int k = 0; k < 4; k++) {
        char nm[64];
        const char *d = k < 2 ? "prompt,top" : "top";
        snprintf(nm, sizeof nm, "%s_layer", hb[k]), need(&t, nm, AS_COL_I32, d);
        snprintf(nm, sizeof nm, "%s_head", hb[k]), need(&t, nm, AS_COL_I32, d);
        snprintf(nm, sizeof nm, "%s_entropy", hb[k]), need(&t, nm, AS_COL_F64, d);
        snprintf(nm, sizeof nm, "%s_token", hb[k]), need(&t, nm, AS_COL_STR, d);
    }
    c = need(&t, "most_focused_layer", AS_COL_I32, "prompt,top");
    TU_CHECK(c && ((int32_t *)c->data)[4] == -1 && ((int32_t *)c->data)[2] == 1, "top layer");
    c = need(&t, "group_count", AS_COL_I32, "group");
    TU_CHECK(c && !strcmp(c->sample_dimension, "member") && ((int32_t *)c->data)[1] == 2,
             "group_count");
    c = need(&t, "group_start", AS_COL_I64, "group");
    TU_CHECK(c && ((int64_t *)c->data)[1] == 2, "group_start");
    need(&t, "n_shared_tokens", AS_COL_I32, "group");
    c = need(&t, "js_divergence", AS_COL_F64, "group,layer");
    TU_CHECK(c && ((double *)c->data)[L + 1] == g1->js[1], "js column");
    need(&t, "layer_entropy_std", AS_COL_F64, "group,layer");
    need(&t, "sensitivity_rank_js", AS_COL_I32, "group,layer");
    need(&t, "sensitivity_rank_entropy_std", AS_COL_I32, "group,layer");
    c = need(&t, "has_examples", AS_COL_I8, "group");
    TU_CHECK(c && ((int8_t *)c->data)[0] == 0 && ((int8_t *)c->data)[1] == 1, "has_examples");
    c = need(&t, "member_prompt_index", AS_COL_I32, "member");
    TU_CHECK(c && ((int32_t *)c->data)[0] == 0 && ((int32_t *)c->data)[1] == 2 &&
                 ((int32_t *)c->data)[2] == 1 && ((int32_t *)c->data)[3] == 5,
             "members ordered by group");
    c = need(&t, "member_variant", AS_COL_STR, "member");
    TU_CHECK(c && c->width == 2 && !memcmp(c->data, "v0v2v1v5", 8), "member_variant");
    need(&t, "prefix_mass", AS_COL_F64, "member,layer");
    need(&t, "question_mass", AS_COL_F64, "member,layer");
    c = need(&t, "example_mass", AS_COL_F64, "member,layer,head");
    TU_CHECK(c && isnan(((double *)c->data)[0]) && !isnan(((double *)c->data)[2 * L * H]),
             "example_mass NaN for g0");
    need(&t, "example_top_layer", AS_COL_I32, "member,top");
    need(&t, "example_top_head", AS_COL_I32, "member,top");
    need(&t, "example_top_mass", AS_COL_F64, "member,top");
    TU_CHECK(!as_table_find(&t, "layer_entropy") && !as_table_find(&t, "head_entropy"),
             "per-prompt entropies are not copied into /summary");
    /* the estimate is the same column list: equal bytes with the table's widths */
    size_t idw = 0, vw = 0, gw = 0, tw = 0;
    double bytes = 0;
    for (int i = 0; i < t.n; i++) {
        const struct as_col *k = &t.cols[i];
        bytes += (double)as_col_count(k) * (double)as_col_elsize(k);
        if (k->type != AS_COL_STR) continue;
        size_t *w = !strcmp(k->name, "prompt")           ? &idw
                    : !strcmp(k->name, "member_variant") ? &vw
                    : !strcmp(k->name, "group")          ? &gw
                    : strstr(k->name, "_token")          ? &tw
                                                         : NULL; /* the statistics' names */
        if (!w) continue;
        if (k->width > *w) *w = k->width;
    }
    double tok_extra = 0; /* token columns narrower than the widest get padded by the estimate */
    for (int i = 0; i < t.n; i++) {
        const struct as_col *k = &t.cols[i];
        if (k->type == AS_COL_STR && strstr(k->name, "_token"))
            tok_extra += (double)as_col_count(k) * (double)(tw - k->width);
    }
    const struct as_summary_stats *sst = sm->stats;
    size_t nw = 1; /* the statistics' names: one width bound (labels get twice it) */
    double name_extra = 0;
    for (int i = 0; i < t.n; i++) {
        const struct as_col *k = &t.cols[i];
        if (k->type == AS_COL_STR && k->width > nw && strcmp(k->name, "label") &&
            (!strcmp(k->dims[0], "label") || !strcmp(k->dims[0], "by") ||
             !strcmp(k->dims[0], "span_name") || !strcmp(k->dims[0], "keyword") ||
             !strcmp(k->dims[0], "contrast")))
            nw = k->width;
    }
    for (int i = 0; i < t.n; i++) {
        const struct as_col *k = &t.cols[i];
        if (k->type != AS_COL_STR) continue;
        if (!strcmp(k->name, "label"))
            name_extra += (double)as_col_count(k) * (double)(2 * nw - k->width);
        else if (!strcmp(k->dims[0], "label") || !strcmp(k->dims[0], "by") ||
                 !strcmp(k->dims[0], "span_name") || !strcmp(k->dims[0], "keyword") ||
                 !strcmp(k->dims[0], "contrast"))
            name_extra += (double)as_col_count(k) * (double)(nw - k->width);
    }
    struct as_summary_dims sd = {4,  2,       L,       H,       idw,     vw,      gw,
                                 tw, sst->NB, sst->NL, sst->NS, sst->NK, sst->NC, nw};
    int n_cols = 0;
    const double est = as_summary_estimate_bytes(&sd, &n_cols);
    TU_CHECK(est == bytes + tok_extra + name_extra, "estimate %.0f, table %.0f + %.0f + %.0f", est,
             bytes, tok_extra, name_extra);
    TU_CHECK(n_cols == t.n, "estimate: %d columns, table %d", n_cols, t.n);
    as_table_free(&t);

    /* exports */
    const char *dir = tu_tmpdir("tables");
    char path[4200];
    snprintf(path, sizeof path, "%s/s.json", dir);
    TU_CHECK(as_summary_write_json(sm, path, &err) == AS_OK, "%s", err.msg);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    TU_CHECK(root != NULL, "JSON parses: %s", je.text);
    if (root) {
        json_t *le0 = json_object_get(json_object_get(root, "layer_entropies"), "v2");
        TU_CHECK(json_array_size(le0) == L && json_real_value(json_array_get(le0, 0)) == 3.0,
                 "layer_entropies from the views, keyed by the (unique) variant names");
        TU_CHECK(!strcmp(json_string_value(json_object_get(root, "prompt_keys")), "variant"),
                 "prompt_keys = variant");
        json_t *mf =
            json_object_get(json_object_get(root, "head_specialization_summary"), "most_focused");
        TU_CHECK(json_array_size(mf) == 4, "4 heads listed (padding dropped)");
        json_t *gj = json_object_get(json_object_get(root, "groups"), "g1");
        TU_CHECK(gj && json_object_get(gj, "example_top_heads") &&
                     !json_object_get(json_object_get(json_object_get(root, "groups"), "g0"),
                                      "example_top_heads"),
                 "example_top_heads only for g1");
        json_decref(root);
    }
    snprintf(path, sizeof path, "%s/csv", dir);
    TU_CHECK(as_summary_write_csv(sm, path, &err) == AS_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/csv/metrics.csv", dir);
    FILE *fp = fopen(path, "r");
    char line[512] = "";
    int n_lines = 0, has_span = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        n_lines++;
        has_span |= strstr(line, "\"span_lift:example_answer_1\"") != NULL;
    }
    if (fp) fclose(fp);
    /* 1 header + per prompt: L layer_entropy + 8 L H head metrics + 3 spans x 2 x L H */
    TU_CHECK(n_lines == 1 + 4 * (L + 8 * L * H + 3 * 2 * L * H) && has_span,
             "metrics.csv: %d lines", n_lines);
    as_summary_free(sm);

    /* nothing to summarize; a missing column */
    for (int i = 0; i < 6; i++)
        g.status[i] = 0;
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_ERR_INVALID && !sm, "no done prompt");
    gen_free(&g);
    gen_init(&g, 2, L, H, T, 1, 2);
    in = gen_input(&g);
    strcpy(g.t.cols[3].name, "head_focusx");
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_ERR_INVALID && strstr(err.msg, "head_focus"),
             "missing column named: %s", err.msg);
    strcpy(g.t.cols[3].name, "head_focus");
    g.head_focus[1] = T;
    TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_ERR_FORMAT, "focus out of range refused");
    gen_free(&g);
}

/* ------------------------------------------------------------ summary: large groups */

static void test_summary_js_large(void) {
    enum { L = 2, H = 2, T = 6 };
    const int Vs[3] = {64, 65, 150};
    for (int c = 0; c < 3; c++) {
        const int V = Vs[c];
        struct gen g;
        gen_init(&g, V, L, H, T, 1, 2);
        struct as_summary_input in = gen_input(&g);
        struct as_summary *a = NULL, *b = NULL;
        struct as_err err = {0};
        TU_CHECK(as_summary_compute(&in, &a, &err) == AS_OK, "%s", err.msg);
        TU_CHECK(as_summary_compute(&in, &b, &err) == AS_OK, "%s", err.msg);
        if (a && b) {
            int64_t *mem = malloc(sizeof *mem * (size_t)V);
            for (int v = 0; v < V; v++)
                mem[v] = v;
            for (int l = 0; l < L; l++) {
                const double want = ref_js(&g, mem, V, l);
                TU_CHECK(isfinite(a->groups[0].js[l]) && NEAR(a->groups[0].js[l], want, 1e-13),
                         "V=%d js l%d %.17g want %.17g (%s)", V, l, a->groups[0].js[l], want,
                         V <= 64 ? "all pairs" : "pairs v, v+1..32");
                TU_CHECK(!memcmp(&a->groups[0].js[l], &b->groups[0].js[l], sizeof(double)),
                         "V=%d: deterministic", V);
            }
            free(mem);
        }
        as_summary_free(a);
        as_summary_free(b);
        gen_free(&g);
    }
}

/* 20,000 prompts in one group, then in 20,000 groups: must finish well
 * under the test timeout (the old loops were quadratic). */
static void test_summary_linear(void) {
    enum { N = 20000, L = 4, H = 4, T = 8 };
    for (int c = 0; c < 2; c++) {
        struct gen g;
        gen_init(&g, N, L, H, T, c == 0 ? 1 : N, 2);
        struct as_summary_input in = gen_input(&g);
        struct as_summary *sm = NULL;
        struct as_err err = {0};
        TU_CHECK(as_summary_compute(&in, &sm, &err) == AS_OK, "%s", err.msg);
        if (sm) {
            TU_CHECK(sm->n == N && sm->n_groups == (c == 0 ? 1 : N), "n %lld groups %d",
                     (long long)sm->n, sm->n_groups);
            TU_CHECK(c == 1 || isfinite(sm->groups[0].js[0]), "js of 20,000 variants");
            TU_CHECK(c == 0 || isnan(sm->groups[0].js[0]), "js of one variant is NaN");
            struct as_table t;
            TU_CHECK(as_summary_table(sm, &t, &err) == AS_OK, "%s", err.msg);
            as_table_free(&t);
        }
        as_summary_free(sm);
        gen_free(&g);
    }
}

int main(void) {
    test_table_basics();
    test_metrics_layout();
    test_metrics_rows();
    test_summary_small();
    test_summary_js_large();
    test_summary_linear();
    return tu_finish("test_tables");
}
