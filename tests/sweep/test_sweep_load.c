/* test_sweep_load.c - loading sweeps: the shipped jobs, expansion order,
 * prompt files, overrides, printing, spans, SHA-256, pack/unpack. */
#include "sweep_test.h"

#include "attnsweep/h5out.h"

static void check_str(int line, const char *got, const char *want) {
    tu_checks++;
    if (got && !strcmp(got, want)) return;
    tu_failures++;
    fprintf(stderr, "FAIL %s:%d: got \"%s\", want \"%s\"\n", __FILE__, line, got ? got : "(null)",
            want);
}
#define CHECK_STR(got, want) check_str(__LINE__, (got), (want))

static void load_job(struct as_sweep *s, const char *rel) {
    char path[4200];
    struct as_err err;
    snprintf(path, sizeof path, "%s/%s", AS_SOURCE_DIR, rel);
    as_err_clear(&err);
    as_status st = as_sweep_load(s, path, NULL, &err);
    TU_CHECK(st == AS_OK, "%s: %s", rel, err.msg);
}

static char *read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, fp);
    fclose(fp);
    return b;
}

static void test_sha256(void) {
    char hex[65];
    as_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    as_sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_exp8(void) {
    struct as_sweep s;
    load_job(&s, "jobs/exp8.yaml");
    if (s.n_prompts == 0) return;
    static const char *const ids[] = {
        "instructions/plain", "instructions/cot", "instructions/expert", "instructions/structured",
        "fewshot/0-shot",     "fewshot/1-shot",   "fewshot/2-shot"};
    static const char *const texts[] = {
        "What is 15 plus 27?",
        "Let's think step by step.\n\nWhat is 15 plus 27?",
        "You are an expert mathematician.\n\nWhat is 15 plus 27?",
        "Question: What is 15 plus 27?\nAnswer:",
        "What is 15 plus 27?",
        "Q: What is 3 plus 4?\nA: 7\n\nQ: What is 15 plus 27?\nA:",
        "Q: What is 3 plus 4?\nA: 7\n\nQ: What is 10 plus 5?\nA: 15\n\nQ: What is 15 plus 27?\nA:"};
    TU_CHECK(s.n_prompts == 7, "n_prompts %lld", (long long)s.n_prompts);
    TU_CHECK(s.n_groups == 2, "n_groups %d", s.n_groups);
    for (int i = 0; i < 7 && i < s.n_prompts; i++) {
        CHECK_STR(s.prompts[i].id, ids[i]);
        CHECK_STR(s.prompts[i].text, texts[i]);
        TU_CHECK(s.prompts[i].text_len == strlen(texts[i]), "text_len");
        TU_CHECK(s.prompts[i].explicit_rank == -1, "explicit_rank");
    }
    CHECK_STR(s.prompts[1].group, "instructions");
    CHECK_STR(s.prompts[1].variant, "cot");
    CHECK_STR(s.model_path, "models/TinyLlama-1.1B-Chat-v1.0");
    CHECK_STR(s.output_path, "results/exp8.h5");
    CHECK_STR(s.tokenizer_path, "");
    TU_CHECK(s.store == 0 && s.dtype == 0 && s.n_layers == 0 && s.n_heads == 0, "output");
    TU_CHECK(s.assign == AS_ASSIGN_BALANCED, "assign");
    static const char *const kw[] = {"15",     "27",   "plus",     "step",
                                     "expert", "math", "Question", "Answer"};
    TU_CHECK(s.n_keywords == 8, "n_keywords %d", s.n_keywords);
    for (int i = 0; i < 8 && i < s.n_keywords; i++)
        CHECK_STR(s.keywords[i], kw[i]);
    /* spans and their positions */
    const struct as_sweep_group *fs = &s.groups[1];
    TU_CHECK(fs->n_spans == 3 && fs->first_prompt == 4 && fs->n_prompts == 3, "fewshot group");
    CHECK_STR(fs->spans[0].name, "question");
    CHECK_STR(fs->spans[0].text, "What is 15 plus 27?");
    CHECK_STR(fs->spans[2].name, "example_answer_2");
    size_t b = 0, e = 0;
    TU_CHECK(as_sweep_span_find(&s, 6, 2, &b, &e) == 1 && b == 49 && e == 54, "span [%zu, %zu)", b,
             e);
    TU_CHECK(as_sweep_span_find(&s, 6, 1, &b, &e) == 1 && b == 21 && e == 25, "span [%zu, %zu)", b,
             e);
    TU_CHECK(as_sweep_span_find(&s, 4, 1, &b, &e) == 0, "0-shot has no example answer");
    TU_CHECK(as_sweep_span_find(&s, 5, 0, &b, &e) == 1 && b == 30 && e == 49, "question span");
    TU_CHECK(as_sweep_span_find(&s, 99, 0, &b, &e) == 0, "out of range");
    /* raw bytes and hash */
    char path[4200];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/jobs/exp8.yaml", AS_SOURCE_DIR);
    char *raw = read_file(path, &len);
    TU_CHECK(raw && s.yaml_len == len && !memcmp(s.yaml, raw, len), "yaml bytes differ");
    char hex[65];
    as_sha256_hex(raw, len, hex);
    CHECK_STR(s.sha256, hex);
    free(raw);
    /* lookups */
    TU_CHECK(as_sweep_find_prompt(&s, "fewshot/1-shot") == 5, "find");
    TU_CHECK(as_sweep_find_prompt(&s, "fewshot/9-shot") == -1, "find missing");
    char where[4200];
    as_sweep_prompt_where(&s, 0, where, sizeof where);
    TU_CHECK(strstr(where, "jobs/exp8.yaml:31:14") != NULL, "where %s", where);
    as_sweep_print(&s, stdout);
    as_sweep_free(&s);
}

static void test_smoke_and_large(void) {
    struct as_sweep s;
    load_job(&s, "jobs/smoke.yaml");
    TU_CHECK(s.n_prompts == 5, "smoke n_prompts %lld", (long long)s.n_prompts);
    CHECK_STR(s.model_path, "models/default");
    CHECK_STR(s.output_path, "results/smoke.h5");
    if (s.n_prompts == 5) {
        CHECK_STR(s.prompts[0].id, "arithmetic/plain");
        CHECK_STR(s.prompts[4].id, "story/long");
    }
    as_sweep_free(&s);

    load_job(&s, "jobs/large.yaml");
    TU_CHECK(s.n_prompts == 1280, "large n_prompts %lld", (long long)s.n_prompts);
    TU_CHECK(s.n_groups == 1 && s.groups[0].n_product == 640, "n_product");
    if (s.n_prompts == 1280) {
        CHECK_STR(s.prompts[0].id, "arithmetic/plain_a0_b10");
        CHECK_STR(s.prompts[0].text, "What is 0 plus 10?");
        CHECK_STR(s.prompts[1].id, "arithmetic/plain_a0_b20"); /* the last key is fastest */
        CHECK_STR(s.prompts[20].id, "arithmetic/plain_a1_b10");
        CHECK_STR(s.prompts[639].id, "arithmetic/plain_a31_b200");
        CHECK_STR(s.prompts[640].id, "arithmetic/qa_a0_b10");
        CHECK_STR(s.prompts[640].text, "Q: What is 0 plus 10?\nA:");
        CHECK_STR(s.prompts[1279].text, "Q: What is 31 plus 200?\nA:");
    }
    TU_CHECK(s.store == 1 && s.dtype == 1, "store/dtype %d %d", s.store, s.dtype);
    as_sweep_free(&s);

    /* the chat example: templated groups, one with a system prompt (11 + 32 + 5 + 9 bytes before
     * the user's prompt), and a raw one */
    load_job(&s, "jobs/exp8-chat.yaml");
    TU_CHECK(s.n_prompts == 7, "exp8-chat n_prompts %lld", (long long)s.n_prompts);
    if (s.n_prompts == 7) {
        CHECK_STR(s.prompts[0].text, "<|user|>\nWhat is 15 plus 27?</s>\n<|assistant|>\n");
        CHECK_STR(s.prompts[3].text, "<|system|>\nYou are an expert mathematician.</s>\n<|user|>\n"
                                     "What is 15 plus 27?</s>\n<|assistant|>\n");
        CHECK_STR(s.prompts[4].text, "What is 15 plus 27?");
        TU_CHECK(s.prompts[3].prompt_start == 57 && s.prompts[4].prompt_start == 0,
                 "exp8-chat prompt_start %zu %zu", s.prompts[3].prompt_start,
                 s.prompts[4].prompt_start);
    }
    as_sweep_free(&s);

    /* the documented template loads as it is */
    load_job(&s, "config/sweep-template.yaml");
    TU_CHECK(s.n_prompts == 8, "template n_prompts %lld", (long long)s.n_prompts);
    CHECK_STR(s.output_path, "results/sweep-template.h5");
    if (s.n_prompts == 8) {
        CHECK_STR(s.prompts[2].id, "sums/a1_b10");
        CHECK_STR(s.prompts[7].id, "sums/a3_b20");
        CHECK_STR(s.prompts[7].text, "Q: What is 3 plus 20?\nA:");
    }
    as_sweep_free(&s);
}

static void test_expansion(void) {
    struct as_sweep s;
    struct as_err err;
    /* template x product with default ids; {{ }} are literal; vars + product keys */
    const char *y = "groups:\n"
                    "  - name: p\n"
                    "    vars: {op: plus}\n"
                    "    template: \"{{{a} {op} {b}}}\"\n"
                    "    product:\n"
                    "      a: [1, 2, 3]\n"
                    "      b: [x, \"y z\"]\n"
                    "  - name: q\n"
                    "    prompts: {one: \"{a}!\", two: \"{a}?\"}\n"
                    "    product: {a: [7, 8]}\n"
                    "  - name: r\n"
                    "    template: \"single\"\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    static const char *const ids[] = {"p/0000",     "p/0001",     "p/0002",     "p/0003",
                                      "p/0004",     "p/0005",     "q/one_0000", "q/one_0001",
                                      "q/two_0000", "q/two_0001", "r/0000"};
    static const char *const texts[] = {"{1 plus x}", "{1 plus y z}", "{2 plus x}", "{2 plus y z}",
                                        "{3 plus x}", "{3 plus y z}", "7!",         "8!",
                                        "7?",         "8?",           "single"};
    TU_CHECK(s.n_prompts == 11, "n_prompts %lld", (long long)s.n_prompts);
    for (int i = 0; i < 11 && i < s.n_prompts; i++) {
        CHECK_STR(s.prompts[i].id, ids[i]);
        CHECK_STR(s.prompts[i].text, texts[i]);
    }
    TU_CHECK(s.groups[0].source == AS_GROUP_TEMPLATE && s.groups[0].n_product == 6, "group p");
    TU_CHECK(s.groups[1].source == AS_GROUP_PROMPTS && s.groups[1].first_prompt == 6, "group q");
    CHECK_STR(s.output_path, "results/t.h5"); /* default: results/<yaml stem>.h5 */
    as_sweep_free(&s);

    /* zero-padding widens past 10,000 combinations */
    y = "groups:\n  - name: w\n    template: \"{a}{b}\"\n"
        "    product: {a: [0,1,2,3,4,5,6,7,8,9,10], b: &v [0,1,2,3,4,5,6,7,8,9]}\n"
        "  - name: w2\n    template: \"{a}{b}{c}{d}\"\n"
        "    product: {a: *v, b: *v, c: *v, d: *v}\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(s.n_prompts == 110 + 10000, "n %lld", (long long)s.n_prompts);
    if (s.n_prompts == 10110) {
        CHECK_STR(s.prompts[109].id, "w/0109");
        CHECK_STR(s.prompts[109].text, "109");
        CHECK_STR(s.prompts[110 + 9999].id, "w2/9999");
    }
    as_sweep_free(&s);

    /* anchors and aliases share definitions */
    y = "groups:\n"
        "  - name: a\n"
        "    vars: &common {question: \"What is 1 plus 1?\"}\n"
        "    prompts: {plain: \"{question}\"}\n"
        "  - name: b\n"
        "    vars: *common\n"
        "    prompts: {qa: \"Q: {question}\"}\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    if (s.n_prompts == 2) CHECK_STR(s.prompts[1].text, "Q: What is 1 plus 1?");
    as_sweep_free(&s);

    /* explicit assignment by group and by id */
    y = "ranks:\n  assign: explicit\n  explicit:\n    0: [g/b]\n    1: [g/a, h]\n"
        "groups:\n  - name: g\n    prompts: {a: x, b: y}\n  - name: h\n    prompts: {c: z, d: w}\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    if (s.n_prompts == 4) {
        TU_CHECK(s.prompts[0].explicit_rank == 1 && s.prompts[1].explicit_rank == 0 &&
                     s.prompts[2].explicit_rank == 1 && s.prompts[3].explicit_rank == 1,
                 "explicit ranks %d %d %d %d", s.prompts[0].explicit_rank,
                 s.prompts[1].explicit_rank, s.prompts[2].explicit_rank,
                 s.prompts[3].explicit_rank);
        TU_CHECK(s.prompts[1].assign_mark.line == 4 && s.prompts[1].assign_mark.col == 9,
                 "assign mark %d:%d", s.prompts[1].assign_mark.line, s.prompts[1].assign_mark.col);
        TU_CHECK(as_sweep_check_ranks(&s, 2, &err) == AS_OK, "%s", err.msg);
    }
    as_sweep_free(&s);
}

static void test_files(void) {
    struct as_sweep s;
    struct as_err err;
    st_write("data.jsonl", "{\"id\": \"first\", \"text\": \"Alpha\"}\r\n"
                           "\n"
                           "\"Beta \\\"quoted\\\" \\u00e9\"\n"
                           "  \n"
                           "{\"text\": \"Gamma {not a var}\"}\n");
    st_write("lines.txt", "one line\r\n\n  two  \n\t\nthree {x}");
    mkdir("sub", 0755);
    st_write("sub/more.txt", "nested\n");
    const char *y = "groups:\n"
                    "  - name: j\n"
                    "    file: data.jsonl\n"
                    "  - name: t\n"
                    "    file: lines.txt\n"
                    "    spans: {tw: two}\n"
                    "  - name: s\n"
                    "    file: sub/more.txt\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(s.n_prompts == 7, "n_prompts %lld", (long long)s.n_prompts);
    if (s.n_prompts == 7) {
        CHECK_STR(s.prompts[0].id, "j/first");
        CHECK_STR(s.prompts[0].text, "Alpha");
        CHECK_STR(s.prompts[1].id, "j/0001");
        CHECK_STR(s.prompts[1].text, "Beta \"quoted\" \xc3\xa9");
        CHECK_STR(s.prompts[2].id, "j/0002");
        CHECK_STR(s.prompts[2].text, "Gamma {not a var}"); /* file texts are verbatim */
        TU_CHECK(s.prompts[2].file_line == 5, "file_line %lld", (long long)s.prompts[2].file_line);
        CHECK_STR(s.prompts[3].id, "t/0000");
        CHECK_STR(s.prompts[3].text, "one line");
        CHECK_STR(s.prompts[4].text, "  two  ");
        TU_CHECK(s.prompts[4].file_line == 3, "file_line %lld", (long long)s.prompts[4].file_line);
        CHECK_STR(s.prompts[5].text, "three {x}");
        CHECK_STR(s.prompts[6].text, "nested");
        TU_CHECK(s.groups[0].source == AS_GROUP_FILE, "source");
        char want[4200], where[4200];
        snprintf(want, sizeof want, "%s/lines.txt:3 (file: at t.yaml:5:11)", st_dir);
        CHECK_STR(as_sweep_prompt_where(&s, 4, where, sizeof where), want);
        size_t b, e;
        TU_CHECK(as_sweep_span_find(&s, 4, 0, &b, &e) && b == 2 && e == 5, "span");
    }
    as_sweep_free(&s);

    /* the YAML's own folder is the base of file: paths */
    char yml[4200];
    snprintf(yml, sizeof yml, "%s/sub/job.yaml", st_dir);
    st_write("sub/job.yaml", "groups:\n  - name: s\n    file: more.txt\n");
    TU_CHECK(as_sweep_load(&s, yml, NULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(s.n_prompts == 1 && !strcmp(s.prompts[0].text, "nested"), "relative file");
    CHECK_STR(s.output_path, "results/job.h5");
    as_sweep_free(&s);

    /* 10,000+ prompts from JSONL and from text */
    const int n = 12000;
    char *buf = malloc((size_t)n * 64);
    char *p = buf;
    for (int i = 0; i < n; i++)
        p += sprintf(p, "{\"id\": \"q%05d\", \"text\": \"What is %d plus %d?\"}\n", i, i, 2 * i);
    st_write("many.jsonl", buf);
    p = buf;
    for (int i = 0; i < n; i++)
        p += sprintf(p, "Prompt number %d\n", i);
    st_write("many.txt", buf);
    free(buf);
    y = "groups:\n  - name: mj\n    file: many.jsonl\n  - name: mt\n    file: many.txt\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(s.n_prompts == 2 * n, "n_prompts %lld", (long long)s.n_prompts);
    if (s.n_prompts == 2 * n) {
        CHECK_STR(s.prompts[11999].id, "mj/q11999");
        CHECK_STR(s.prompts[11999].text, "What is 11999 plus 23998?");
        CHECK_STR(s.prompts[n].id, "mt/00000"); /* 12000 prompts: five digits */
        CHECK_STR(s.prompts[2 * n - 1].id, "mt/11999");
    }
    as_sweep_free(&s);
}

static void test_overrides(void) {
    struct as_sweep s;
    struct as_err err;
    mkdir("out", 0755);
    const char *y = "model: {path: m1, tokenizer: tok.json}\noutput: {path: results/a.h5}\n"
                    "groups:\n  - name: g\n    prompts: {a: x}\n";
    struct as_sweep_overrides ov = {.model_path = "m2", .output_path = "out/b.h5"};
    TU_CHECK(st_load(&s, y, &ov, &err) == AS_OK, "%s", err.msg);
    CHECK_STR(s.model_path, "m2");
    CHECK_STR(s.output_path, "out/b.h5");
    CHECK_STR(s.tokenizer_path, "tok.json");
    TU_CHECK(s.overridden == (AS_SWEEP_OV_MODEL | AS_SWEEP_OV_OUTPUT), "bits %u", s.overridden);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    as_sweep_print(&s, fp);
    fclose(fp);
    TU_CHECK(strstr(text, "m2") && strstr(text, "(--model)") && strstr(text, "(--output)") &&
                 strstr(text, "(line 1)") && strstr(text, "tok.json"),
             "print:\n%s", text);
    free(text);
    /* settings may change after load; validation runs again */
    snprintf(s.output_path, sizeof s.output_path, "nowhere/x.h5");
    TU_CHECK(as_sweep_validate(&s, &err) == AS_ERR_IO, "missing folder accepted");
    snprintf(s.output_path, sizeof s.output_path, "x.h5");
    TU_CHECK(as_sweep_validate(&s, &err) == AS_OK, "%s", err.msg);
    s.store = 7;
    TU_CHECK(as_sweep_validate(&s, &err) == AS_ERR_INVALID, "store 7 accepted");
    as_sweep_free(&s);

    /* defaults when the YAML says nothing */
    TU_CHECK(st_load(&s, "groups:\n  - name: g\n    prompts: {a: x}\n", NULL, &err) == AS_OK, "%s",
             err.msg);
    CHECK_STR(s.model_path, "models/default");
    CHECK_STR(s.output_path, "results/t.h5");
    TU_CHECK(s.store == 0 && s.dtype == 0 && s.assign == AS_ASSIGN_BALANCED && s.n_keywords == 0 &&
                 s.overridden == 0,
             "defaults");
    as_sweep_free(&s);
}

static int same_sweep(const struct as_sweep *a, const struct as_sweep *b) {
    if (strcmp(a->path, b->path) || a->yaml_len != b->yaml_len ||
        memcmp(a->yaml, b->yaml, a->yaml_len) || strcmp(a->sha256, b->sha256) ||
        strcmp(a->model_path, b->model_path) || strcmp(a->output_path, b->output_path) ||
        strcmp(a->tokenizer_path, b->tokenizer_path) || a->store != b->store ||
        a->dtype != b->dtype || a->assign != b->assign || a->n_layers != b->n_layers ||
        a->n_heads != b->n_heads || a->n_groups != b->n_groups || a->n_prompts != b->n_prompts ||
        a->n_keywords != b->n_keywords || a->text_bytes != b->text_bytes ||
        a->overridden != b->overridden || memcmp(&a->marks, &b->marks, sizeof a->marks))
        return 0;
    for (int i = 0; i < a->n_layers; i++)
        if (a->layers[i] != b->layers[i]) return 0;
    for (int i = 0; i < a->n_keywords; i++)
        if (strcmp(a->keywords[i], b->keywords[i])) return 0;
    for (int g = 0; g < a->n_groups; g++) {
        const struct as_sweep_group *x = &a->groups[g], *y = &b->groups[g];
        if (strcmp(x->name, y->name) || x->n_spans != y->n_spans || x->n_prompts != y->n_prompts ||
            x->first_prompt != y->first_prompt || x->source != y->source ||
            (x->file == NULL) != (y->file == NULL) || (x->file && strcmp(x->file, y->file)))
            return 0;
        for (int k = 0; k < x->n_spans; k++)
            if (strcmp(x->spans[k].name, y->spans[k].name) ||
                strcmp(x->spans[k].text, y->spans[k].text))
                return 0;
    }
    for (int64_t i = 0; i < a->n_prompts; i++) {
        const struct as_sweep_prompt *x = &a->prompts[i], *y = &b->prompts[i];
        if (strcmp(x->id, y->id) || strcmp(x->group, y->group) || strcmp(x->variant, y->variant) ||
            strcmp(x->text, y->text) || x->text_len != y->text_len ||
            x->explicit_rank != y->explicit_rank || x->file_line != y->file_line ||
            x->mark.line != y->mark.line || x->assign_mark.col != y->assign_mark.col)
            return 0;
    }
    return 1;
}

/* The YAML names of store / dtype are those of the HDF5 writer. */
static void test_enum_names(void) {
    static const char *const stores[] = {"full", "last_row", "none"};
    static const char *const dtypes[] = {"float32", "float16"};
    struct as_sweep s;
    struct as_err err;
    char y[256];
    for (int i = 0; i < 3; i++) {
        snprintf(y, sizeof y,
                 "output: {store: %s, dtype: %s}\ngroups:\n  - name: g\n    template: x\n",
                 stores[i], dtypes[i % 2]);
        TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
        TU_CHECK((int)s.store == as_store_from_name(stores[i]), "store %s", stores[i]);
        TU_CHECK((int)s.dtype == as_out_dtype_from_name(dtypes[i % 2]), "dtype %s", dtypes[i % 2]);
        as_sweep_free(&s);
    }
}

static void test_pack(void) {
    struct as_sweep s, u;
    struct as_err err;
    st_write("pk.txt", "from a file\n");
    const char *y = "output: {layers: [1, 0], heads: [2], store: last_row}\n"
                    "ranks:\n  assign: explicit\n  explicit: {0: [g], 1: [f]}\n"
                    "groups:\n  - name: g\n    vars: {q: hi}\n    prompts: {a: \"{q} x\", b: y}\n"
                    "    spans: {q: \"{q}\"}\n"
                    "  - name: f\n    file: pk.txt\n"
                    "analysis: {keywords: [x, y]}\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    void *buf = NULL;
    size_t len = 0;
    TU_CHECK(as_sweep_pack(&s, &buf, &len, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_sweep_unpack(&u, buf, len, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(same_sweep(&s, &u), "unpacked sweep differs");
    as_sweep_free(&u);
    /* every truncation and many corruptions fail cleanly */
    int truncated_ok = 1;
    for (size_t n = 0; n < len; n++) {
        if (as_sweep_unpack(&u, buf, n, &err) != AS_ERR_FORMAT) truncated_ok = 0;
        as_sweep_free(&u);
    }
    TU_CHECK(truncated_ok, "a truncated buffer was accepted");
    unsigned char *copy = malloc(len);
    for (size_t k = 0; k < len; k++) {
        memcpy(copy, buf, len);
        copy[k] ^= 0x5A;
        if (as_sweep_unpack(&u, copy, len, &err) == AS_OK) {
            /* some bytes (marks, ranks) may legally change; the result must still be sane */
            TU_CHECK(u.n_prompts == s.n_prompts && u.prompts[0].id != NULL, "corrupt unpack");
        }
        as_sweep_free(&u);
    }
    free(copy);
    free(buf);
    as_sweep_free(&s);
}

/* output.weights / output.scores (issue 13): values, defaults, weights: norms -> store none, and
 * both survive pack / unpack (the job's broadcast) */
static void test_capture_keys(void) {
    struct as_sweep s, u;
    struct as_err err;
    const char *g = "groups:\n  - name: g\n    template: x\n";
    char y[256];
    TU_CHECK(st_load(&s, g, NULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(s.weights == AS_WEIGHTS_PROBS && s.scores == 0 && s.store == AS_STORE_FULL,
             "defaults: weights %d scores %d store %d", (int)s.weights, s.scores, (int)s.store);
    as_sweep_free(&s);
    snprintf(y, sizeof y, "output: {store: last_row, weights: both, scores: true}\n%s", g);
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(s.weights == AS_WEIGHTS_BOTH && s.scores == 1 && s.store == AS_STORE_LAST_ROW,
             "both: weights %d scores %d store %d", (int)s.weights, s.scores, (int)s.store);
    void *buf = NULL;
    size_t len = 0;
    TU_CHECK(as_sweep_pack(&s, &buf, &len, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_sweep_unpack(&u, buf, len, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(u.weights == AS_WEIGHTS_BOTH && u.scores == 1, "unpacked weights %d scores %d",
             (int)u.weights, u.scores);
    free(buf);
    as_sweep_free(&u);
    as_sweep_free(&s);
    snprintf(y, sizeof y, "output: {weights: norms, scores: false}\n%s", g);
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(s.weights == AS_WEIGHTS_NORMS && s.store == AS_STORE_NONE && s.scores == 0,
             "norms: weights %d store %d", (int)s.weights, (int)s.store);
    as_sweep_free(&s);
    TU_CHECK(as_weights_from_name("both") == AS_WEIGHTS_BOTH && as_weights_from_name("x") < 0 &&
                 !strcmp(as_weights_name(AS_WEIGHTS_NORMS), "norms"),
             "weights names");
}

int main(void) {
    st_setup("sweep-load");
    test_sha256();
    test_exp8();
    test_smoke_and_large();
    test_expansion();
    test_files();
    test_overrides();
    test_enum_names();
    test_pack();
    test_capture_keys();
    st_teardown();
    return tu_finish("test_sweep_load");
}
