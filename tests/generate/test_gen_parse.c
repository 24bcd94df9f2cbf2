/* test_gen_parse.c - the generate: mapping of the sweep YAML (docs/SWEEP.md
 * "Generation"): every error names t.yaml:line:col and the key; a valid
 * sweep gives each group the top level's settings with its own keys over
 * them; pack/unpack (the MPI broadcast) keeps them. */
#include "../sweep/sweep_test.h"

#define G "groups:\n  - name: g\n    prompts: {a: x}\n" /* lines 1-3 after the first */

static void test_errors(void) {
    ST_FAIL("generate: {max_new_tokens: -1}\n" G, AS_ERR_INVALID,
            "t.yaml:1:28:", "generate.max_new_tokens is -1", "expected an integer in [0, 4096]");
    ST_FAIL("generate: {max_new_tokens: 5000}\n" G, AS_ERR_INVALID, "t.yaml:1:28:", "is 5000");
    ST_FAIL("generate: {max_new_tokens: many}\n" G, AS_ERR_INVALID,
            "t.yaml:1:28:", "generate.max_new_tokens is 'many'", "expected an integer");
    ST_FAIL("generate: {stop: [x]}\n" G, AS_ERR_INVALID,
            "t.yaml:1:11:", "the top level generate has no max_new_tokens");
    ST_FAIL("generate: {max_new_tokens: 4, stopp: [x]}\n" G, AS_ERR_INVALID,
            "t.yaml:1:31:", "unknown key 'stopp' in the top level generate",
            "max_new_tokens, stop, answer_regex");
    ST_FAIL("generate: {max_new_tokens: 4, stop: x}\n" G, AS_ERR_INVALID,
            "t.yaml:1:37:", "generate.stop is a scalar", "expected a list of strings");
    ST_FAIL("generate: {max_new_tokens: 4, stop: [a, \"\"]}\n" G, AS_ERR_INVALID,
            "t.yaml:1:41:", "generate.stop[1] is 0 bytes long", "expected 1 to 256 bytes");
    ST_FAIL("generate: {max_new_tokens: 4, answer_regex: \"(\"}\n" G, AS_ERR_INVALID,
            "t.yaml:1:45:", "generate.answer_regex '('",
            "is not a POSIX extended regular expression");
    ST_FAIL("generate: 3\n" G, AS_ERR_INVALID, "t.yaml:1:11:", "generate is a scalar",
            "expected a mapping");
    /* generation's /sweep columns are built-in names */
    ST_FAIL("groups:\n"
            "  - name: g\n"
            "    tags: {stop_reason: x}\n"
            "    prompts: {a: x}\n",
            AS_ERR_INVALID, "metadata key 'stop_reason' is the name of a built-in /sweep column");
    /* a group's generate: without a top level needs its own max_new_tokens */
    ST_FAIL("groups:\n"
            "  - name: g\n"
            "    generate: {stop: [\"\\n\"]}\n"
            "    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:3:15:", "group 'g' generate has no max_new_tokens");
    ST_FAIL("groups:\n"
            "  - name: g\n"
            "    generate: {max_new_tokens: 2, sampling: true}\n"
            "    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:3:35:", "unknown key 'sampling' in group 'g' generate");
}

static void check_groups(const struct as_sweep *s, const char *what) {
    TU_CHECK(s->n_groups == 4, "%s: %d groups", what, s->n_groups);
    if (s->n_groups != 4) return;
    const struct as_sweep_generate *a = &s->groups[0].gen, *b = &s->groups[1].gen,
                                   *c = &s->groups[2].gen, *d = &s->groups[3].gen;
    /* a: the top level's */
    TU_CHECK(a->max_new_tokens == 16 && a->n_stop == 2 && !strcmp(a->stop[0], "\n\n") &&
                 !strcmp(a->stop[1], "Q:") && a->answer_regex == NULL,
             "%s: group a inherits the top level (%d, %d stops)", what, a->max_new_tokens,
             a->n_stop);
    TU_CHECK(a->mark.line == 1 && a->mark.col == 28, "%s: mark %d:%d", what, a->mark.line,
             a->mark.col);
    /* b: its own max_new_tokens and regex, the top level's stops */
    TU_CHECK(b->max_new_tokens == 3 && b->n_stop == 2 && b->answer_regex &&
                 !strcmp(b->answer_regex, "is (-?[0-9]+)"),
             "%s: group b overrides (%d, %s)", what, b->max_new_tokens,
             b->answer_regex ? b->answer_regex : "(null)");
    /* c: generate: null turns it off; d: max_new_tokens 0 too, with no stops */
    TU_CHECK(c->max_new_tokens == 0 && c->n_stop == 0, "%s: group c off", what);
    TU_CHECK(d->max_new_tokens == 0 && d->n_stop == 0, "%s: group d 0 (%d stops)", what, d->n_stop);
    TU_CHECK(as_sweep_generates(s), "%s: the sweep generates", what);
}

static void test_valid(void) {
    const char *y = "generate: {max_new_tokens: 16, stop: [\"\\n\\n\", \"Q:\"]}\n"
                    "groups:\n"
                    "  - name: a\n"
                    "    prompts: {p: x}\n"
                    "  - name: b\n"
                    "    generate: {max_new_tokens: 3, answer_regex: \"is (-?[0-9]+)\"}\n"
                    "    prompts: {p: x}\n"
                    "  - name: c\n"
                    "    generate: null\n"
                    "    prompts: {p: x}\n"
                    "  - name: d\n"
                    "    generate: {max_new_tokens: 0, stop: []}\n"
                    "    prompts: {p: x}\n";
    struct as_sweep s, u;
    struct as_err err;
    as_status st = st_load(&s, y, NULL, &err);
    TU_CHECK(st == AS_OK, "load: %s", err.msg);
    if (st != AS_OK) return;
    check_groups(&s, "loaded");
    void *buf = NULL;
    size_t len = 0;
    st = as_sweep_pack(&s, &buf, &len, &err);
    TU_CHECK(st == AS_OK, "pack: %s", err.msg);
    if (st == AS_OK) {
        st = as_sweep_unpack(&u, buf, len, &err);
        TU_CHECK(st == AS_OK, "unpack: %s", err.msg);
        if (st == AS_OK) check_groups(&u, "unpacked");
        if (st == AS_OK) as_sweep_free(&u);
        /* a truncated buffer is an error, never a crash */
        for (size_t cut = len / 2; cut < len; cut += 7) {
            struct as_sweep v;
            as_status sv = as_sweep_unpack(&v, buf, cut, &err);
            TU_CHECK(sv != AS_OK, "unpack of %zu of %zu bytes succeeded", cut, len);
            if (sv == AS_OK) as_sweep_free(&v);
        }
    }
    free(buf);
    as_sweep_free(&s);
    /* no generate: anywhere: nothing generates */
    st = st_load(&s, G, NULL, &err);
    TU_CHECK(st == AS_OK && !as_sweep_generates(&s) && s.groups[0].gen.max_new_tokens == 0,
             "a sweep without generate: %s", err.msg);
    if (st == AS_OK) as_sweep_free(&s);
}

/* the shipped sample job loads and generates */
static void test_job(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/jobs/exp-generate.yaml", AS_SOURCE_DIR);
    struct as_sweep s;
    struct as_err err;
    as_status st = as_sweep_load(&s, path, NULL, &err);
    TU_CHECK(st == AS_OK, "jobs/exp-generate.yaml: %s", err.msg);
    if (st != AS_OK) return;
    TU_CHECK(s.n_groups == 2 && s.groups[0].gen.max_new_tokens == 48 &&
                 s.groups[1].gen.max_new_tokens == 96 && s.groups[1].gen.n_stop == 2 &&
                 s.groups[0].gen.answer_regex == NULL && s.groups[1].gen.answer_regex,
             "jobs/exp-generate.yaml settings");
    as_sweep_print(&s, stdout);
    as_sweep_free(&s);
}

int main(void) {
    st_setup("gen_parse");
    test_errors();
    test_valid();
    test_job();
    st_teardown();
    return tu_finish("test_gen_parse");
}
