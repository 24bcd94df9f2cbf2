/* test_sweep_meta.c - prompt metadata (JSONL fields, tags, product keys, vars
 * -> typed columns) and spans from any variable (docs/SWEEP.md "Metadata",
 * "spans"): types, missing values, clashes, per-prompt span texts, byte
 * positions with multi-digit numbers and non-ASCII text, pack/unpack.
 *
 * Expected values are written out by hand from the YAML and JSONL below. */
#include "sweep_test.h"

#include <math.h>

static void check_str(int line, const char *got, const char *want) {
    tu_checks++;
    if (got && !strcmp(got, want)) return;
    tu_failures++;
    fprintf(stderr, "FAIL %s:%d: got \"%s\", want \"%s\"\n", __FILE__, line, got ? got : "(null)",
            want);
}
#define CHECK_STR(got, want) check_str(__LINE__, (got), (want))

static int load(struct as_sweep *s, const char *yaml) {
    struct as_err err;
    as_status st = st_load(s, yaml, NULL, &err);
    TU_CHECK(st == AS_OK, "load: %s", err.msg);
    return st == AS_OK;
}

static const struct as_sweep_column *col(const struct as_sweep *s, const char *name) {
    int k = as_sweep_column_find(s, name);
    TU_CHECK(k >= 0, "no column '%s'", name);
    return k >= 0 ? &s->columns[k] : NULL;
}

/* The text of prompt i's cell of column name. */
static const char *cell(const struct as_sweep *s, const char *name, int64_t i) {
    static char buf[64];
    return as_sweep_cell_text(s, as_sweep_column_find(s, name), i, buf, sizeof buf);
}

/* Span `name` of prompt i: its byte range, or [-1, -1) when absent. */
static void span_at(const struct as_sweep *s, int64_t i, const char *name, long *b, long *e) {
    const struct as_sweep_group *g = &s->groups[s->prompts[i].group_index];
    *b = *e = -1;
    for (int k = 0; k < g->n_spans; k++) {
        if (strcmp(g->spans[k].name, name)) continue;
        size_t x, y;
        if (as_sweep_span_find(s, i, k, &x, &y)) *b = (long)x, *e = (long)y;
    }
}
#define CHECK_SPAN(s, i, name, wb, we)                                                             \
    do {                                                                                           \
        long b_, e_;                                                                               \
        span_at(s, i, name, &b_, &e_);                                                             \
        TU_CHECK(b_ == (wb) && e_ == (we), "prompt %d span %s: [%ld, %ld), want [%ld, %ld)",       \
                 (int)(i), name, b_, e_, (long)(wb), (long)(we));                                  \
    } while (0)

/* Product keys, vars and tags become typed columns; a value missing from a
 * group is NaN (numbers; integers then become float64), -1 (bools) or ""
 * (strings). */
static void test_columns(void) {
    struct as_sweep s;
    const char *y = "groups:\n"
                    "  - name: sums\n"
                    "    vars: {unit: apples}\n"
                    "    tags: {dataset: gsm8k, cot: true, shots: 2, weight: 0.5, level: 1}\n"
                    "    template: \"What is {a} plus {b} {unit}?\"\n"
                    "    product: {a: [15, 150], b: [27, 2.5]}\n"
                    "    id: \"a{a}_b{b}\"\n"
                    "  - name: plain\n"
                    "    tags: {dataset: \"svamp\", cot: false, level: 3, code: \"007\"}\n"
                    "    prompts: {p: \"hello\"}\n";
    if (!load(&s, y)) return;
    TU_CHECK(s.n_prompts == 5, "n_prompts %lld", (long long)s.n_prompts);
    CHECK_STR(s.prompts[3].id, "sums/a150_b2.5");
    CHECK_STR(s.prompts[3].text, "What is 150 plus 2.5 apples?");
    /* order of first definition: vars, tags, product keys, then the next group's new keys */
    static const char *const names[] = {"unit",  "dataset", "cot", "shots", "weight",
                                        "level", "a",       "b",   "code"};
    static const enum as_sweep_col_type types[] = {
        AS_SWEEP_COL_STRING, AS_SWEEP_COL_STRING, AS_SWEEP_COL_BOOL,
        AS_SWEEP_COL_FLOAT,  AS_SWEEP_COL_FLOAT,  AS_SWEEP_COL_INT,
        AS_SWEEP_COL_FLOAT,  AS_SWEEP_COL_FLOAT,  AS_SWEEP_COL_STRING};
    static const int64_t missing[] = {1, 0, 0, 1, 1, 0, 1, 1, 4};
    TU_CHECK(s.n_columns == 9, "n_columns %d", s.n_columns);
    for (int k = 0; k < 9 && k < s.n_columns; k++) {
        CHECK_STR(s.columns[k].name, names[k]);
        TU_CHECK(s.columns[k].type == types[k], "%s: type %s", names[k],
                 as_sweep_col_type_name(s.columns[k].type));
        TU_CHECK(s.columns[k].n_missing == missing[k], "%s: %lld missing", names[k],
                 (long long)s.columns[k].n_missing);
    }
    static const char *const want[][5] = {{"apples", "apples", "apples", "apples", ""},
                                          {"gsm8k", "gsm8k", "gsm8k", "gsm8k", "svamp"},
                                          {"true", "true", "true", "true", "false"},
                                          {"2", "2", "2", "2", "nan"},
                                          {"0.5", "0.5", "0.5", "0.5", "nan"},
                                          {"1", "1", "1", "1", "3"},
                                          {"15", "15", "150", "150", "nan"},
                                          {"27", "2.5", "27", "2.5", "nan"},
                                          {"", "", "", "", "007"}};
    for (int k = 0; k < 9 && k < s.n_columns; k++)
        for (int i = 0; i < 5; i++)
            CHECK_STR(cell(&s, names[k], i), want[k][i]);
    const struct as_sweep_column *d = col(&s, "dataset");
    TU_CHECK(d && d->n_strs == 2 && d->width == 5 && d->cells[4].i == 1, "dataset dictionary");
    const struct as_sweep_column *sh = col(&s, "shots");
    TU_CHECK(sh && sh->cells[0].f == 2.0 && isnan(sh->cells[4].f), "shots cells");
    const struct as_sweep_column *lv = col(&s, "level");
    TU_CHECK(lv && lv->cells[0].i == 1 && lv->cells[4].i == 3, "level cells");
    TU_CHECK(s.columns[0].mark.line == 3 && s.columns[1].mark.line == 4, "column marks");
    as_sweep_free(&s);

    /* a bool missing from a group is -1 */
    y = "groups:\n"
        "  - name: a\n    tags: {cot: true}\n    prompts: {x: x}\n"
        "  - name: b\n    prompts: {y: y}\n";
    if (!load(&s, y)) return;
    const struct as_sweep_column *c = col(&s, "cot");
    TU_CHECK(c && c->type == AS_SWEEP_COL_BOOL && c->cells[0].i == 1 && c->cells[1].i == -1 &&
                 c->n_missing == 1,
             "bool with a missing value");
    as_sweep_free(&s);
}

/* JSONL fields: strings, numbers, booleans, null; any order of keys. */
static void test_jsonl_fields(void) {
    struct as_sweep s;
    st_write("f.jsonl", "{\"text\": \"What is 15 plus 27?\", \"item\": 7, \"gold\": \"42\", "
                        "\"hard\": true, \"score\": 0.25}\n"
                        "{\"item\": 1234567890123, \"text\": \"Q2\", \"gold\": \"x\", \"hard\": "
                        "false, \"score\": null}\n"
                        "\"a bare string\"\n"
                        "{\"text\": \"Q4\", \"item\": -3, \"gold\": \"é\", \"hard\": false, "
                        "\"score\": 1e300}\n");
    const char *y = "groups:\n  - name: f\n    tags: {split: test}\n    file: f.jsonl\n";
    if (!load(&s, y)) return;
    TU_CHECK(s.n_prompts == 4, "n_prompts %lld", (long long)s.n_prompts);
    const struct as_sweep_column *c;
    if ((c = col(&s, "item")))
        TU_CHECK(c->type == AS_SWEEP_COL_FLOAT && c->n_missing == 1, "item: %s, %lld missing",
                 as_sweep_col_type_name(c->type), (long long)c->n_missing);
    CHECK_STR(cell(&s, "item", 1), "1234567890123");
    CHECK_STR(cell(&s, "item", 3), "-3");
    if ((c = col(&s, "gold")))
        TU_CHECK(c->type == AS_SWEEP_COL_STRING && c->n_missing == 1 && c->width == 2,
                 "gold: a string column 2 bytes wide (é)");
    CHECK_STR(cell(&s, "gold", 3), "é");
    CHECK_STR(cell(&s, "gold", 2), "");
    if ((c = col(&s, "hard"))) TU_CHECK(c->type == AS_SWEEP_COL_BOOL, "hard is bool");
    CHECK_STR(cell(&s, "hard", 2), "");
    if ((c = col(&s, "score")))
        TU_CHECK(c->type == AS_SWEEP_COL_FLOAT && c->n_missing == 2 && c->cells[3].f == 1e300,
                 "score: float, null and the bare string missing");
    CHECK_STR(cell(&s, "split", 2), "test");
    as_sweep_free(&s);

    /* every line has the integer: int64 */
    st_write("g.jsonl", "{\"text\": \"a\", \"n\": 1}\n{\"text\": \"b\", \"n\": 22}\n");
    if (!load(&s, "groups:\n  - name: g\n    file: g.jsonl\n")) return;
    if ((c = col(&s, "n")))
        TU_CHECK(c->type == AS_SWEEP_COL_INT && c->cells[1].i == 22, "n is int64");
    as_sweep_free(&s);
}

/* Spans over product keys (multi-digit numbers, non-ASCII values) and
 * constant spans over vars; positions are UTF-8 byte offsets. */
static void test_spans_product(void) {
    struct as_sweep s;
    const char *y = "groups:\n"
                    "  - name: p\n"
                    "    vars: {q: \"What is\"}\n"
                    "    template: \"{q} {a} plus {b}? ({w})\"\n"
                    "    product: {a: [15, 1500], b: [27], w: [\"naïve\", \"你好\"]}\n"
                    "    spans: {sum: \"{a} plus {b}\", word: \"({w})\", q: \"{q}\", b: \"{b}\"}\n";
    if (!load(&s, y)) return;
    TU_CHECK(s.n_prompts == 4, "n_prompts");
    const struct as_sweep_group *g = &s.groups[0];
    TU_CHECK(g->n_spans == 4, "n_spans %d", g->n_spans);
    if (g->n_spans == 4) {
        TU_CHECK(g->spans[0].text == NULL && g->spans[0].texts, "sum varies per prompt");
        TU_CHECK(g->spans[2].text && !strcmp(g->spans[2].text, "What is"), "q is constant");
    }
    CHECK_STR(s.prompts[3].text, "What is 1500 plus 27? (你好)");
    /* "What is 15 plus 27? (naïve)": "15 plus 27" = bytes [8, 18), "(naïve)" = [20, 28) */
    CHECK_SPAN(&s, 0, "sum", 8, 18);
    CHECK_SPAN(&s, 0, "word", 20, 28);
    CHECK_SPAN(&s, 0, "q", 0, 7);
    CHECK_SPAN(&s, 0, "b", 16, 18);
    /* "What is 1500 plus 27? (你好)": "1500 plus 27" = [8, 20), "(你好)" = [22, 30) */
    CHECK_SPAN(&s, 3, "sum", 8, 20);
    CHECK_SPAN(&s, 3, "word", 22, 30);
    CHECK_SPAN(&s, 3, "b", 18, 20);
    const char *t;
    size_t n;
    TU_CHECK(as_sweep_span_text(&s, 2, 0, &t, &n) && n == 12 && !memcmp(t, "1500 plus 27", 12),
             "span text of prompt 2");
    as_sweep_free(&s);
}

/* Spans over JSONL fields (absent where the field is missing), and spans a
 * JSONL line gives itself. */
static void test_spans_jsonl(void) {
    struct as_sweep s;
    st_write("s.jsonl",
             "{\"id\": \"sum\", \"text\": \"What is 15 plus 27?\", \"a\": 15, \"b\": 27}\n"
             "{\"id\": \"nonascii\", \"text\": \"  leading spaces\\tand\\nnewline 你好 é\", "
             "\"word\": \"你好\", \"spans\": {\"accent\": \"é\"}}\n"
             "{\"id\": \"llama\", \"text\": \"🦙 llama\", \"spans\": {\"animal\": \"🦙\", "
             "\"none\": null}}\n"
             "{\"id\": \"big\", \"text\": \"What is 1234 plus 5678?\", \"a\": 1234, \"b\": 5678, "
             "\"word\": \"absent here\"}\n");
    const char *y = "groups:\n"
                    "  - name: f\n"
                    "    file: s.jsonl\n"
                    "    spans: {sum: \"{a} plus {b}\", word: \"{word}\"}\n";
    if (!load(&s, y)) return;
    const struct as_sweep_group *g = &s.groups[0];
    TU_CHECK(g->n_spans == 4, "spans: sum, word, then the JSONL ones accent, animal: %d",
             g->n_spans);
    if (g->n_spans == 4) {
        CHECK_STR(g->spans[2].name, "accent");
        CHECK_STR(g->spans[3].name, "animal");
    }
    CHECK_SPAN(&s, 0, "sum", 8, 18);
    CHECK_SPAN(&s, 0, "word", -1, -1); /* no "word" field */
    CHECK_SPAN(&s, 1, "sum", -1, -1);  /* no a, b */
    /* "  leading spaces\tand\nnewline 你好 é": 你好 starts at byte 29, é at 36 */
    CHECK_SPAN(&s, 1, "word", 29, 35);
    CHECK_SPAN(&s, 1, "accent", 36, 38);
    CHECK_SPAN(&s, 2, "animal", 0, 4);
    CHECK_SPAN(&s, 2, "accent", -1, -1);
    CHECK_SPAN(&s, 3, "sum", 8, 22);
    CHECK_SPAN(&s, 3, "word", -1, -1); /* its text does not occur */
    CHECK_STR(s.prompts[2].id, "f/llama");
    as_sweep_free(&s);
}

/* Pack / unpack keeps the columns and the per-prompt span texts. */
static void test_pack(void) {
    struct as_sweep s, u;
    struct as_err err;
    st_write("pk.jsonl", "{\"text\": \"x 12 y\", \"n\": 12, \"spans\": {\"num\": \"12\"}}\n"
                         "{\"text\": \"z\", \"tag2\": \"v\"}\n");
    const char *y = "groups:\n"
                    "  - name: g\n    tags: {t: 1.5}\n    template: \"{a}!\"\n"
                    "    product: {a: [x, yy]}\n    spans: {s: \"{a}\"}\n"
                    "  - name: f\n    file: pk.jsonl\n";
    if (!load(&s, y)) return;
    void *buf = NULL;
    size_t len = 0;
    TU_CHECK(as_sweep_pack(&s, &buf, &len, &err) == AS_OK, "%s", err.msg);
    if (as_sweep_unpack(&u, buf, len, &err) != AS_OK) {
        TU_CHECK(0, "unpack: %s", err.msg);
        free(buf);
        as_sweep_free(&s);
        return;
    }
    TU_CHECK(u.n_columns == s.n_columns && u.n_columns == 4, /* t, a, n, tag2 */ "columns %d %d",
             u.n_columns, s.n_columns);
    char b1[64], b2[64];
    for (int k = 0; k < s.n_columns && k < u.n_columns; k++) {
        CHECK_STR(u.columns[k].name, s.columns[k].name);
        TU_CHECK(u.columns[k].type == s.columns[k].type &&
                     u.columns[k].n_missing == s.columns[k].n_missing &&
                     u.columns[k].width == s.columns[k].width,
                 "column %s", s.columns[k].name);
        for (int64_t i = 0; i < s.n_prompts; i++)
            CHECK_STR(as_sweep_cell_text(&u, k, i, b1, sizeof b1),
                      as_sweep_cell_text(&s, k, i, b2, sizeof b2));
    }
    for (int64_t i = 0; i < s.n_prompts; i++)
        for (int k = 0; k < s.groups[s.prompts[i].group_index].n_spans; k++) {
            size_t x0 = 0, y0 = 0, x1 = 1, y1 = 1;
            int f0 = as_sweep_span_find(&s, i, k, &x0, &y0);
            int f1 = as_sweep_span_find(&u, i, k, &x1, &y1);
            TU_CHECK(f0 == f1 && (!f0 || (x0 == x1 && y0 == y1)), "span %d of prompt %lld", k,
                     (long long)i);
        }
    CHECK_SPAN(&u, 1, "s", 0, 2);
    CHECK_SPAN(&u, 2, "num", 2, 4);
    as_sweep_free(&u);
    /* truncations fail cleanly */
    int ok = 1;
    for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
        struct as_err e2;
        if (as_sweep_unpack(&u, buf, cut, &e2) == AS_OK) ok = 0, as_sweep_free(&u);
    }
    TU_CHECK(ok, "a truncated buffer unpacked");
    free(buf);
    as_sweep_free(&s);
}

/* analysis: by and contrasts name /sweep columns; values are normalized as
 * the column writes them. */
static void test_analysis(void) {
    struct as_sweep s, u;
    struct as_err err;
    /* defaults */
    if (!load(&s, "groups:\n  - name: g\n    prompts: {a: x}\n")) return;
    TU_CHECK(s.analysis.n_by == 1 && !strcmp(s.analysis.by[0], "group") &&
                 s.analysis.n_contrasts == 0 && s.analysis.n_boot == 1000 &&
                 s.analysis.seed == 20260131 && s.analysis.js_min_shared == 4 && !s.analysis.answer,
             "analysis defaults");
    as_sweep_free(&s);
    if (!load(&s, "groups:\n  - name: g\n    prompts: {a: x}\nanalysis: {by: []}\n")) return;
    TU_CHECK(s.analysis.n_by == 0, "by: [] splits nothing");
    as_sweep_free(&s);

    const char *y = "groups:\n"
                    "  - name: g\n"
                    "    tags: {shots: 2}\n"
                    "    prompts: {plain: \"What is 15?\", cot: \"Think. What is 15?\"}\n"
                    "  - name: h\n"
                    "    tags: {shots: 0}\n"
                    "    template: \"Sum {a}\"\n"
                    "    product: {a: [3, 15]}\n"
                    "    id: \"a{a}\"\n"
                    "analysis:\n"
                    "  keywords: [\"15\"]\n"
                    "  by: [group, shots]\n"
                    "  contrasts:\n"
                    "    - \"cot - plain\"\n"
                    "    - {name: more_shots, column: shots, a: 2, b: 0, pair_on: [variant]}\n"
                    "    - {column: a, a: 15, b: 3.0, pair_on: group}\n"
                    "  bootstrap: 200\n"
                    "  seed: 7\n"
                    "  js_min_shared: 2\n"
                    "  answer: a\n";
    if (!load(&s, y)) return;
    const struct as_analysis *a = &s.analysis;
    TU_CHECK(a->n_by == 2 && !strcmp(a->by[0], "group") && !strcmp(a->by[1], "shots"), "by");
    TU_CHECK(a->n_boot == 200 && a->seed == 7 && a->js_min_shared == 2, "bootstrap settings");
    TU_CHECK(a->answer && !strcmp(a->answer, "a"), "analysis.answer");
    TU_CHECK(a->n_contrasts == 3, "n_contrasts %d", a->n_contrasts);
    static const char *const want[3][4] = {{"cot-plain", "variant", "cot", "plain"},
                                           {"more_shots", "shots", "2", "0"},
                                           {"15-3", "a", "15", "3"}};
    static const int want_pairs[3] = {0, 1, 1};
    static const char *const want_pair[3] = {NULL, "variant", "group"};
    for (int i = 0; i < 3 && i < a->n_contrasts; i++) {
        const struct as_contrast *c = &a->contrasts[i];
        CHECK_STR(c->name, want[i][0]);
        CHECK_STR(c->column, want[i][1]);
        CHECK_STR(c->a, want[i][2]);
        CHECK_STR(c->b, want[i][3]);
        TU_CHECK(c->n_pair_on == want_pairs[i], "contrast %d pair_on %d", i, c->n_pair_on);
        if (c->n_pair_on == 1) CHECK_STR(c->pair_on[0], want_pair[i]);
    }
    void *buf = NULL;
    size_t len = 0;
    TU_CHECK(as_sweep_pack(&s, &buf, &len, &err) == AS_OK, "%s", err.msg);
    if (as_sweep_unpack(&u, buf, len, &err) == AS_OK) {
        const struct as_analysis *b = &u.analysis;
        TU_CHECK(b->n_by == 2 && !strcmp(b->by[1], "shots") && b->n_contrasts == 3 &&
                     b->n_boot == 200 && b->seed == 7 && b->js_min_shared == 2 &&
                     !strcmp(b->contrasts[2].name, "15-3") && b->contrasts[1].n_pair_on == 1 &&
                     !strcmp(b->contrasts[1].pair_on[0], "variant") &&
                     !strcmp(b->contrasts[0].a, "cot") && b->answer && !strcmp(b->answer, "a"),
                 "analysis after pack/unpack");
        as_sweep_free(&u);
    } else {
        TU_CHECK(0, "unpack: %s", err.msg);
    }
    free(buf);
    as_sweep_free(&s);
}

/* The effective configuration lists the columns. */
static void test_print(void) {
    struct as_sweep s;
    if (!load(&s, "groups:\n  - name: g\n    tags: {k: 1}\n    prompts: {a: x}\n"
                  "  - name: h\n    prompts: {b: y}\n"))
        return;
    char *out = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&out, &n);
    as_sweep_print(&s, fp);
    fclose(fp);
    TU_CHECK(out && strstr(out, "metadata columns (/sweep): k (float64, 1 missing)"), "print: %s",
             out ? out : "");
    free(out);
    as_sweep_free(&s);
}

int main(void) {
    st_setup("sweep_meta");
    test_columns();
    test_jsonl_fields();
    test_spans_product();
    test_spans_jsonl();
    test_pack();
    test_analysis();
    test_print();
    st_teardown();
    return tu_finish("test_sweep_meta");
}
