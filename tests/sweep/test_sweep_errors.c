/* test_sweep_errors.c - every validation error of the sweep YAML.
 *
 * Each case loads a small YAML and checks the status and that the message
 * names "t.yaml:<line>:<col>" (or the prompt file and line) and the key words
 * of the problem. The YAML strings are written one line per source line so
 * that the expected positions can be read off directly. */
#include "sweep_test.h"

#include "attnsweep/model.h"

#define G "groups:\n  - name: g\n    prompts: {a: x, b: y}\n" /* lines 1-3 */

static void test_unknown_keys(void) {
    ST_FAIL(G "grups: 1\n", AS_ERR_INVALID, "t.yaml:4:1:", "unknown key 'grups' in the top level",
            "expected one of: model, output, ranks, groups, analysis", "did you mean 'groups'");
    ST_FAIL("groups:\n"
            "  - name: instructions\n"
            "    promts: {a: x}\n",
            AS_ERR_INVALID,
            "t.yaml:3:5: unknown key 'promts' in group 'instructions'; expected one of: name, "
            "vars, tags, prompts, template, product, file, spans, id");
    ST_FAIL("model: {path: m, tokenzier: t}\n" G, AS_ERR_INVALID,
            "t.yaml:1:18:", "unknown key 'tokenzier' in model", "path, tokenizer");
    ST_FAIL("output:\n  path: results/x.h5\n  stor: full\n" G, AS_ERR_INVALID,
            "t.yaml:3:3:", "unknown key 'stor' in output", "path, store, dtype, layers, heads");
    ST_FAIL("ranks: {asign: balanced}\n" G, AS_ERR_INVALID,
            "t.yaml:1:9:", "unknown key 'asign' in ranks", "assign, explicit");
    ST_FAIL(G "analysis:\n  keyword: [a]\n", AS_ERR_INVALID,
            "t.yaml:5:3:", "unknown key 'keyword' in analysis", "keywords");
    /* JSONL objects need a "text" (other keys are metadata fields) */
    st_write("k.jsonl", "{\"text\": \"a\"}\n{\"txt\": \"b\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: k.jsonl\n", AS_ERR_INVALID,
            "k.jsonl:2:1:", "the object has no \"text\"", "is \"txt\" a typo of \"text\"?",
            "t.yaml:3:11");
}

static void test_wrong_types(void) {
    ST_FAIL("model: models/x\n" G, AS_ERR_INVALID, "t.yaml:1:8:", "model is a scalar",
            "expected a mapping");
    ST_FAIL("groups: {a: 1}\n", AS_ERR_INVALID, "t.yaml:1:9:", "groups is a mapping",
            "expected a list of groups");
    ST_FAIL("groups: [abc]\n", AS_ERR_INVALID, "t.yaml:1:10:", "groups[0] is a scalar",
            "expected a mapping");
    ST_FAIL("ranks: {assign: explicit, explicit: {zero: [g]}}\n" G, AS_ERR_INVALID,
            "t.yaml:1:38:", "ranks.explicit key (a rank) is 'zero'", "expected an integer");
    ST_FAIL("ranks: {assign: explicit, explicit: {0: g}}\n" G, AS_ERR_INVALID,
            "t.yaml:1:41:", "ranks.explicit.0 is a scalar", "expected a list");
    ST_FAIL("ranks: {assign: explicit, explicit: {-1: [g]}}\n" G, AS_ERR_INVALID,
            "t.yaml:1:38:", "is -1", "expected an integer in [0,");
    ST_FAIL("output: {layers: \"0,1\"}\n" G, AS_ERR_INVALID,
            "t.yaml:1:18:", "output.layers is a scalar", "expected a list of integers");
    ST_FAIL("output: {layers: [0, x]}\n" G, AS_ERR_INVALID,
            "t.yaml:1:22:", "output.layers[1] is 'x'", "expected an integer");
    ST_FAIL("output: {heads: []}\n" G, AS_ERR_INVALID,
            "t.yaml:1:17:", "output.heads is an empty list");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: [1, 2]}\n", AS_ERR_INVALID,
            "t.yaml:3:18:", "group 'g', prompt 'a' is a list", "expected a string");
    ST_FAIL("groups:\n  - name: g\n    prompts: [x, y]\n", AS_ERR_INVALID,
            "t.yaml:3:14:", "prompts of group 'g' is a list", "expected a non-empty mapping");
    ST_FAIL("groups:\n  - name: g\n    vars: [q]\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:3:11:", "vars of group 'g' is a list", "expected a mapping");
    ST_FAIL("groups:\n  - name: g\n    vars: {q: {x: 1}}\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:3:15:", "variable 'q' of group 'g' is a mapping", "expected a string");
    ST_FAIL("groups:\n  - name: g\n    template: \"{a}\"\n    product: [1, 2]\n", AS_ERR_INVALID,
            "t.yaml:4:14:", "product of group 'g' is a list", "expected a non-empty mapping");
    ST_FAIL("groups:\n  - name: g\n    template: \"{a}\"\n    product: {a: 3}\n", AS_ERR_INVALID,
            "t.yaml:4:18:", "product key 'a' of group 'g' is a scalar",
            "expected a non-empty list");
    ST_FAIL("groups:\n  - name: g\n    template: \"{a}\"\n    product: {a: [1, [2]]}\n",
            AS_ERR_INVALID, "t.yaml:4:22:", "product value a[1] of group 'g' is a list");
    ST_FAIL(G "analysis: {keywords: plus}\n", AS_ERR_INVALID,
            "t.yaml:4:22:", "analysis.keywords is a scalar", "expected a list of strings");
    ST_FAIL("groups:\n  - name: [g]\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:2:11:", "groups[0].name is a list", "expected a string");
    ST_FAIL("groups:\n  - prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:2:5:", "groups[0] has no name:");
    ST_FAIL("groups:\n  - name: g\n    file: [a.txt]\n", AS_ERR_INVALID,
            "t.yaml:3:11:", "file is a list", "expected a string");
    ST_FAIL("- a\n- b\n", AS_ERR_INVALID, "t.yaml:1:1:", "the top level is a list",
            "expected a mapping");
}

static void test_duplicates(void) {
    /* duplicate prompt ids from an id template that ignores a product key */
    ST_FAIL("groups:\n"
            "  - name: g\n"
            "    template: \"{a} + {b}\"\n"
            "    product: {a: [1, 2], b: [3, 4]}\n"
            "    id: \"a{a}\"\n",
            AS_ERR_INVALID, "t.yaml:3:15:", "duplicate prompt id 'g/a1'",
            "first defined at t.yaml:3:15", "expected unique ids");
    /* duplicate ids in a JSONL file, and an explicit id colliding with a default one */
    st_write("d.jsonl",
             "{\"id\": \"x\", \"text\": \"one\"}\n\n{\"id\": \"x\", \"text\": \"two\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: d.jsonl\n", AS_ERR_INVALID,
            "d.jsonl:3 (file: at t.yaml:3:11)", "duplicate prompt id 'f/x'", "first defined at ",
            "d.jsonl:1");
    st_write("e.jsonl", "\"zero\"\n{\"id\": \"0000\", \"text\": \"one\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: e.jsonl\n", AS_ERR_INVALID,
            "duplicate prompt id 'f/0000'");
    /* duplicate group names */
    ST_FAIL(G "  - name: g\n    prompts: {c: z}\n", AS_ERR_INVALID,
            "t.yaml:4:11:", "duplicate group name 'g'", "first defined at 2:5");
    /* duplicate YAML keys, in a prompts map and at the top level */
    ST_FAIL("groups:\n  - name: g\n    prompts:\n      a: x\n      a: y\n", AS_ERR_INVALID,
            "t.yaml:5:7:", "duplicate key 'a'", "first defined at 4:7");
    ST_FAIL(G "groups: []\n", AS_ERR_INVALID, "t.yaml:4:1:", "duplicate key 'groups'",
            "first defined at 1:1");
    /* analysis keywords */
    ST_FAIL(G "analysis: {keywords: [a, b, a]}\n", AS_ERR_INVALID,
            "t.yaml:4:29:", "repeats analysis.keywords[0]");
}

static void test_templates(void) {
    ST_FAIL("groups:\n  - name: g\n    vars: {e: \"\"}\n    prompts: {a: x, b: \"{e}\"}\n",
            AS_ERR_INVALID, "t.yaml:4:24:", "'g/b' is empty after substitution",
            "expected a non-empty text");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: \"\"}\n", AS_ERR_INVALID,
            "t.yaml:3:18:", "is empty after substitution");
    ST_FAIL("groups:\n  - name: g\n    prompts:\n      a:\n", AS_ERR_INVALID,
            "t.yaml:4:9:", "'g/a' is empty");
    ST_FAIL("groups:\n"
            "  - name: g\n"
            "    vars: {question: \"What?\", tone: calm}\n"
            "    prompts: {a: \"{questoin}\"}\n",
            AS_ERR_INVALID, "t.yaml:4:18:", "unknown variable '{questoin}'",
            "known variables: question, tone");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: \"{q}\"}\n", AS_ERR_INVALID,
            "t.yaml:3:18:", "unknown variable '{q}'", "none are defined");
    ST_FAIL("groups:\n"
            "  - name: g\n"
            "    vars: {x: 1}\n"
            "    template: \"{x} {y} {z}\"\n"
            "    product: {y: [1]}\n",
            AS_ERR_INVALID, "unknown variable '{z}'", "known variables: x, y");
    ST_FAIL("groups:\n  - name: g\n    vars: {q: a}\n    prompts: {a: \"What {q\"}\n",
            AS_ERR_INVALID, "t.yaml:4:18:", "unterminated '{' at byte 5",
            "write '{{' for a literal brace");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: \"f(x) } \"}\n", AS_ERR_INVALID,
            "t.yaml:3:18:", "single '}' at byte 5", "expected '}}'");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: '{\"k\": 1}'}\n", AS_ERR_INVALID,
            "t.yaml:3:18:", "invalid placeholder '{\"k\": 1}'", "'{{' and '}}'");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: x}\n    spans: {s: \"{nope}\"}\n",
            AS_ERR_INVALID, "t.yaml:4:16:", "group 'g', span 's': unknown variable '{nope}'");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: x}\n    spans: {s: \"zz\"}\n", AS_ERR_INVALID,
            "t.yaml:4:16:", "span 's' = \"zz\" occurs in no prompt");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: xy}\n    spans: {s: x, \"t/u\": y}\n",
            AS_ERR_INVALID, "t.yaml:4:19:", "span name 't/u' of group 'g' contains '/'");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: xy}\n    spans: {s: x, t: [y]}\n",
            AS_ERR_INVALID, "t.yaml:4:22:", "span 't' of group 'g' is a list");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: xy}\n    spans: {s: x, t: \"\"}\n",
            AS_ERR_INVALID, "t.yaml:4:22:", "span 't' is empty");
    ST_FAIL("groups:\n"
            "  - name: g\n"
            "    vars: {a: 1}\n"
            "    template: \"{a}\"\n"
            "    product: {a: [1, 2]}\n",
            AS_ERR_INVALID, "t.yaml:5:15:", "product key 'a' of group 'g' is also one of its vars");
    ST_FAIL("groups:\n  - name: g\n    vars: {2x: 1}\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:3:12:", "variable name '2x'");
}

static void test_names(void) {
    ST_FAIL("groups:\n  - name: a/b\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:2:11:", "group name 'a/b' contains '/'");
    ST_FAIL("groups:\n  - name: ..\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:2:11:", "is '.' or '..'");
    ST_FAIL("groups:\n  - name: g\n    prompts: {\"x/y\": x}\n", AS_ERR_INVALID,
            "t.yaml:3:22:", "prompt name 'x/y' contains '/'");
    ST_FAIL("groups:\n  - name: g\n    prompts: {\"a\\tb\": x}\n", AS_ERR_INVALID,
            "contains a control character");
    ST_FAIL("groups:\n  - name: g\n    template: \"t {a}\"\n    product: {a: [\"x/y\"]}\n    id: "
            "\"{a}\"\n",
            AS_ERR_INVALID, "t.yaml:3:15:", "prompt name 'x/y' contains '/'");
    char yaml[1024];
    char name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    snprintf(yaml, sizeof yaml, "groups:\n  - name: %s\n    prompts: {a: x}\n", name);
    ST_FAIL(yaml, AS_ERR_INVALID, "t.yaml:2:11:", "is too long");
    name[150] = '\0';
    snprintf(yaml, sizeof yaml, "groups:\n  - name: %s\n    prompts: {%s: x}\n", name, name);
    ST_FAIL(yaml, AS_ERR_INVALID, "is 301 bytes; expected fewer than 256");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: x}\n    file: x.txt\n", AS_ERR_INVALID,
            "t.yaml:4:11:", "group 'g' has both prompts: and file:");
    ST_FAIL("groups:\n  - name: g\n    vars: {a: 1}\n", AS_ERR_INVALID,
            "t.yaml:2:5:", "group 'g' defines no prompts");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: x}\n    id: \"{a}\"\n", AS_ERR_INVALID,
            "t.yaml:4:9:", "id: names expanded prompts");
    ST_FAIL("groups:\n  - name: g\n    file: x.txt\n    product: {a: [1]}\n", AS_ERR_INVALID,
            "t.yaml:4:14:", "product: cannot be used with file:");
}

static void test_explicit(void) {
    ST_FAIL("ranks:\n  assign: explicit\n  explicit: {0: [g/a, g/zz]}\n" G, AS_ERR_INVALID,
            "t.yaml:3:23:", "names prompt 'g/zz', which does not exist", "group 'g' has: a, b");
    ST_FAIL("ranks:\n  assign: explicit\n  explicit: {0: [h/a]}\n" G, AS_ERR_INVALID,
            "t.yaml:3:18:", "there is no group 'h'", "groups: g");
    ST_FAIL("ranks:\n  assign: explicit\n  explicit: {0: [h]}\n" G, AS_ERR_INVALID,
            "t.yaml:3:18:", "'h', which is neither a group nor a prompt id");
    ST_FAIL("ranks:\n  assign: explicit\n  explicit: {0: [g/a]}\n" G, AS_ERR_INVALID,
            "t.yaml:3:13:", "leaves 1 prompt unassigned: g/b");
    ST_FAIL("ranks:\n  assign: explicit\n  explicit: {0: [g], 1: [g/a]}\n" G, AS_ERR_INVALID,
            "t.yaml:3:26:", "assigns prompt 'g/a' to rank 1", "already assigned to rank 0 at 3:18",
            "expected each prompt once");
    ST_FAIL("ranks:\n  explicit: {0: [g]}\n" G, AS_ERR_INVALID,
            "t.yaml:2:13:", "ranks.explicit is given but ranks.assign is 'balanced'");
    ST_FAIL("ranks:\n  assign: explicit\n" G, AS_ERR_INVALID,
            "t.yaml:2:11:", "ranks.explicit is missing");
    ST_FAIL("ranks:\n  assign: greedy\n" G, AS_ERR_INVALID,
            "t.yaml:2:11:", "ranks.assign is 'greedy'", "balanced, round_robin, explicit");

    /* rank >= n_ranks needs the job size */
    struct as_sweep s;
    struct as_err err;
    const char *y = "ranks:\n  assign: explicit\n  explicit: {0: [g/a], 3: [g/b]}\n" G;
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_sweep_check_ranks(&s, 4, &err) == AS_OK, "%s", err.msg);
    as_err_clear(&err);
    TU_CHECK(as_sweep_check_ranks(&s, 2, &err) == AS_ERR_INVALID, "status %d", err.status);
    TU_CHECK(strstr(err.msg, "t.yaml:3:28:") && strstr(err.msg, "to rank 3") &&
                 strstr(err.msg, "has 2 ranks (0..1)") && strstr(err.msg, "mpirun -n 4"),
             "%s", err.msg);
    printf("  ok: %s\n", err.msg);
    TU_CHECK(as_sweep_check_ranks(&s, 0, &err) == AS_ERR_INVALID, "0 ranks accepted");
    as_sweep_free(&s);
}

static void test_output(void) {
    ST_FAIL("output: {path: nodir/x.h5}\n" G, AS_ERR_IO,
            "t.yaml:1:16:", "the folder 'nodir' of output.path 'nodir/x.h5' does not exist",
            "mkdir -p nodir");
    ST_FAIL("output: {path: results/}\n" G, AS_ERR_INVALID, "names a folder");
    ST_FAIL("output: {store: fulll}\n" G, AS_ERR_INVALID, "t.yaml:1:17:", "output.store is 'fulll'",
            "expected one of: full, last_row, none");
    ST_FAIL("output: {dtype: float64}\n" G, AS_ERR_INVALID,
            "t.yaml:1:17:", "output.dtype is 'float64'", "expected one of: float32, float16");
    ST_FAIL("output: {layers: [0, -1]}\n" G, AS_ERR_INVALID,
            "t.yaml:1:18:", "output.layers[1] is -1", "expected a non-negative index");
    ST_FAIL("output: {heads: [1, 2, 1]}\n" G, AS_ERR_INVALID,
            "t.yaml:1:17:", "output.heads[2] = 1 repeats output.heads[0]",
            "expected each index once");

    /* an override pointing at a missing folder names the flag */
    struct as_sweep s;
    struct as_err err;
    struct as_sweep_overrides ov = {.output_path = "missing/out.h5"};
    TU_CHECK(st_load(&s, G, &ov, &err) == AS_ERR_IO, "status %d", err.status);
    TU_CHECK(strstr(err.msg, "t.yaml (--output)") && strstr(err.msg, "'missing'"), "%s", err.msg);

    /* layer / head subsets against the model */
    TU_CHECK(st_load(&s, "output: {layers: [0, 21, 22], heads: [31]}\n" G, NULL, &err) == AS_OK,
             "%s", err.msg);
    struct as_config cfg = {.n_layers = 22, .n_heads = 32};
    TU_CHECK(as_sweep_check_model(&s, &cfg, &err) == AS_ERR_INVALID, "layer 22 accepted");
    TU_CHECK(strstr(err.msg, "t.yaml:1:18:") && strstr(err.msg, "output.layers[2] = 22") &&
                 strstr(err.msg, "22 layers (0..21)"),
             "%s", err.msg);
    cfg.n_layers = 23;
    cfg.n_heads = 31;
    TU_CHECK(as_sweep_check_model(&s, &cfg, &err) == AS_ERR_INVALID, "head 31 accepted");
    TU_CHECK(strstr(err.msg, "output.heads[0] = 31"), "%s", err.msg);
    cfg.n_heads = 32;
    TU_CHECK(as_sweep_check_model(&s, &cfg, &err) == AS_OK, "%s", err.msg);
    as_sweep_free(&s);
}

static void test_files(void) {
    ST_FAIL("groups:\n  - name: f\n    file: nope.jsonl\n", AS_ERR_IO,
            "t.yaml:3:11:", "prompt file", "nope.jsonl' does not exist",
            "relative to the YAML's folder");
    st_write("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"a\",}\n");
    ST_FAIL("groups:\n  - name: f\n    file: bad.jsonl\n", AS_ERR_FORMAT,
            "bad.jsonl:2:", "malformed JSON", "(group 'f', file: at t.yaml:3:11)");
    st_write("num.jsonl", "{\"text\": 5}\n");
    ST_FAIL("groups:\n  - name: f\n    file: num.jsonl\n", AS_ERR_INVALID,
            "num.jsonl:1:", "\"text\" is an integer", "expected a string");
    st_write("arr.jsonl", "\n[1, 2]\n");
    ST_FAIL("groups:\n  - name: f\n    file: arr.jsonl\n", AS_ERR_INVALID,
            "arr.jsonl:2:", "the line is an array");
    st_write("notext.jsonl", "{\"id\": \"a\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: notext.jsonl\n", AS_ERR_INVALID,
            "notext.jsonl:1:", "has no \"text\"");
    st_write("empty.jsonl", "{\"text\": \"\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: empty.jsonl\n", AS_ERR_INVALID,
            "empty.jsonl:1:", "empty prompt text");
    st_write("badid.jsonl", "{\"id\": \"a/b\", \"text\": \"x\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: badid.jsonl\n", AS_ERR_INVALID,
            "badid.jsonl:1:", "\"id\" 'a/b' contains '/'");
    st_write("nul.jsonl", "{\"text\": \"a\\u0000b\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: nul.jsonl\n", AS_ERR_FORMAT,
            "nul.jsonl:1:", "malformed JSON");
    st_write("bad.txt", "fine\nab\xff\n");
    ST_FAIL("groups:\n  - name: f\n    file: bad.txt\n", AS_ERR_FORMAT,
            "bad.txt:2:3:", "invalid UTF-8");
    st_write("blank.txt", "\n   \n\t\n");
    ST_FAIL("groups:\n  - name: f\n    file: blank.txt\n", AS_ERR_INVALID,
            "t.yaml:3:11:", "has no prompts");
}

static void test_syntax_and_limits(void) {
    ST_FAIL("groups: [a, b\n", AS_ERR_FORMAT, "t.yaml:2:1:", "YAML syntax error",
            "did not find expected ',' or ']'");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: b: c}\n", AS_ERR_FORMAT,
            "t.yaml:3:", "YAML syntax error");
    ST_FAIL("a: b: c\n", AS_ERR_FORMAT, "t.yaml:1:5:", "mapping values are not allowed");
    ST_FAIL("groups:\n\t- name: g\n", AS_ERR_FORMAT, "t.yaml:2:1:", "YAML syntax error");
    ST_FAIL("groups:\n  - name: \xff\n", AS_ERR_FORMAT, "t.yaml:2:11:", "YAML syntax error",
            "invalid");
    ST_FAIL(G "---\nx: 1\n", AS_ERR_FORMAT, "t.yaml:4:1:", "a second YAML document");
    ST_FAIL(G "analysis: *nope\n", AS_ERR_INVALID, "t.yaml:4:11:", "alias '*nope'");
    ST_FAIL("groups:\n  - name: g\n    prompts: {a: \"x\\0y\"}\n", AS_ERR_INVALID,
            "t.yaml:3:18:", "NUL character");
    ST_FAIL("", AS_ERR_INVALID, "t.yaml: the sweep is empty");
    ST_FAIL("# just a comment\n", AS_ERR_INVALID, "the sweep is empty");
    ST_FAIL("model: {path: m}\n", AS_ERR_INVALID, "t.yaml:1:1:", "no `groups:` key");
    ST_FAIL("groups: []\n", AS_ERR_INVALID, "t.yaml:1:9:", "groups is an empty list");
    ST_FAIL("groups:\n  - name: g\n    prompts: {? [a]: x}\n", AS_ERR_INVALID,
            "t.yaml:3:17:", "a mapping key is a list");

    /* deep nesting is refused, not a stack overflow */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 32);
    char *p = deep;
    p += sprintf(p, "groups: ");
    for (size_t i = 0; i < depth; i++)
        *p++ = '[';
    for (size_t i = 0; i < depth; i++)
        *p++ = ']';
    *p++ = '\n';
    *p = '\0';
    ST_FAIL(deep, AS_ERR_INVALID, "t.yaml:1:", "nested deeper than 64 levels");
    free(deep);

    /* a product of 10^9 prompts (through aliases: three short lines) */
    char *big = malloc(16384);
    p = big;
    p += sprintf(p,
                 "groups:\n  - name: g\n    template: \"{a}{b}{c}\"\n    product:\n      a: &v [");
    for (int i = 0; i < 1000; i++)
        p += sprintf(p, "%s%d", i ? "," : "", i);
    p += sprintf(p, "]\n      b: *v\n      c: *v\n");
    ST_FAIL(big, AS_ERR_INVALID, "t.yaml:5:7:", "expands to 1000000000 prompts",
            "expected at most 10000000");
    /* 10^7 prompts of 200 bytes each: within the count limit but over the text limit */
    p = big;
    p += sprintf(p, "groups:\n  - name: g\n    vars: {pad: \"");
    for (int i = 0; i < 200; i++)
        *p++ = 'x';
    p += sprintf(p, "\"}\n    template: \"%s{a}{b}{c}\"\n    product:\n      a: &v [",
                 "0123456789012345678901234567890123456789012345678901234567890123456789"
                 "0123456789012345678901234567890123456789012345678901234567890123456789"
                 "012345678901234567890123456789012345678901234567890123456789");
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "%s%d", i ? "," : "", i);
    p += sprintf(p, "]\n      b: *v\n      c: [");
    for (int i = 0; i < 1000; i++)
        p += sprintf(p, "%s%d", i ? "," : "", i);
    p += sprintf(p, "]\n");
    ST_FAIL(big, AS_ERR_INVALID, "t.yaml:4:15:", "bytes of text", "expected at most");
    free(big);

    /* a missing YAML file */
    struct as_sweep s;
    struct as_err err;
    TU_CHECK(as_sweep_load(&s, "does/not/exist.yaml", NULL, &err) == AS_ERR_IO, "status %d",
             err.status);
    TU_CHECK(strstr(err.msg, "does/not/exist.yaml") != NULL, "%s", err.msg);
    as_sweep_free(&s);
}

/* Deterministic mutations of a real sweep: every load either succeeds or
 * fails with a message that starts with the file name (never a crash; the
 * sanitizer build checks memory). */
static void test_mutations(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/jobs/exp8.yaml", AS_SOURCE_DIR);
    FILE *fp = fopen(path, "rb");
    TU_CHECK(fp != NULL, "cannot open %s", path);
    if (!fp) return;
    char base[8192];
    size_t n = fread(base, 1, sizeof base - 1, fp);
    fclose(fp);
    static const char tokens[] = "{}[]:,-'\"\\\n #&*!|>?%@`\t0123456789abc/.";
    char buf[8300];
    uint64_t seed = 42;
    int ok = 0, failed = 0, bad_msg = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, base, n);
        size_t len = n;
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(seed >> 33) % len;
            int kind = (int)((seed >> 20) % 4);
            char ch = tokens[(seed >> 40) % (sizeof tokens - 1)];
            if (kind == 0)
                buf[pos] = ch;               /* replace */
            else if (kind == 1 && len > 1) { /* delete */
                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                len--;
            } else if (kind == 2 && len + 1 < sizeof buf) { /* insert */
                memmove(buf + pos + 1, buf + pos, len - pos);
                buf[pos] = ch;
                len++;
            } else {
                len = pos + 1; /* truncate */
            }
        }
        struct as_sweep s;
        struct as_err err;
        as_err_clear(&err);
        as_status st = as_sweep_load_string(&s, buf, len, "m.yaml", st_dir, NULL, &err);
        if (st == AS_OK) {
            ok++;
        } else {
            failed++;
            if (strncmp(err.msg, "m.yaml", 6) != 0) {
                if (bad_msg++ < 5) fprintf(stderr, "message without the file name: %s\n", err.msg);
            }
        }
        as_sweep_free(&s);
    }
    printf("  mutations: %d loaded, %d refused\n", ok, failed);
    TU_CHECK(bad_msg == 0, "%d error messages do not start with the file name", bad_msg);
    TU_CHECK(failed > 1000, "only %d of 3000 mutations refused", failed);
}

/* Metadata (docs/SWEEP.md "Metadata") and spans from any variable. */
static void test_metadata(void) {
    ST_FAIL("groups:\n"
            "  - name: a\n"
            "    tags: {shots: 2}\n"
            "    prompts: {x: x}\n"
            "  - name: b\n"
            "    tags: {shots: few}\n"
            "    prompts: {y: y}\n",
            AS_ERR_INVALID,
            "t.yaml:6:19: metadata key 'shots' is a string here but an integer at "
            "t.yaml:3:19 (prompt 'a/x'); expected one type per key",
            "HINT: quote");
    ST_FAIL("groups:\n  - name: a\n    tags: {cot: true}\n    template: \"{n}\"\n"
            "    product: {n: [1, 2]}\n  - name: b\n    tags: {n: yes}\n    prompts: {y: y}\n",
            AS_ERR_INVALID,
            "t.yaml:7:15: metadata key 'n' is a string here but an integer at "
            "t.yaml:5:19");
    ST_FAIL("groups:\n  - name: g\n    tags: {status: x}\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:3:12: metadata key 'status' is the name of a built-in /sweep column");
    ST_FAIL("groups:\n  - name: g\n    vars: {variant: x}\n    prompts: {a: \"{variant}\"}\n",
            AS_ERR_INVALID, "t.yaml:3:12: metadata key 'variant' is the name of a built-in");
    ST_FAIL("groups:\n  - name: g\n    vars: {q: hi}\n    tags: {q: 1}\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:4:12: tag 'q' of group 'g' is also one of its vars (at 3:12)");
    ST_FAIL("groups:\n  - name: g\n    tags: {a: 1}\n    template: \"{a}\"\n"
            "    product: {a: [1]}\n",
            AS_ERR_INVALID, "t.yaml:5:15: product key 'a' of group 'g' is also one of its tags");
    ST_FAIL("groups:\n  - name: g\n    tags: {k: [1]}\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:3:15: tag 'k' of group 'g' is a list; expected a string, number, boolean or "
            "null");
    ST_FAIL("groups:\n  - name: g\n    tags: {a-b: 1}\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:3:12: tag name 'a-b' in group 'g'; expected letters, digits and '_'");
    /* JSONL fields */
    st_write("m1.jsonl", "{\"text\": \"a\", \"split\": 1}\n");
    ST_FAIL("groups:\n  - name: f\n    tags: {split: x}\n    file: m1.jsonl\n", AS_ERR_INVALID,
            "m1.jsonl:1:1: field \"split\" is also a tag of the group (at t.yaml:3:12)",
            "file: at t.yaml:4:11");
    st_write("m2.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\", \"group\": \"x\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: m2.jsonl\n", AS_ERR_INVALID,
            "m2.jsonl:2:1: metadata key 'group' is the name of a built-in /sweep column",
            "(group 'f', file: at t.yaml:3:11)");
    st_write("m3.jsonl", "{\"text\": \"a\", \"gold-answer\": 1}\n");
    ST_FAIL("groups:\n  - name: f\n    file: m3.jsonl\n", AS_ERR_INVALID,
            "m3.jsonl:1:1: metadata key 'gold-answer' is not a valid column name");
    st_write("m4.jsonl", "{\"text\": \"a\", \"spnas\": {\"q\": \"a\"}}\n");
    ST_FAIL("groups:\n  - name: f\n    file: m4.jsonl\n", AS_ERR_INVALID,
            "m4.jsonl:1:1: field \"spnas\" is an object; expected a string, number, boolean or "
            "null",
            "did you mean \"spans\"?");
    st_write("m5.jsonl", "{\"text\": \"a\", \"n\": 1}\n{\"text\": \"b\", \"n\": \"x\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: m5.jsonl\n", AS_ERR_INVALID,
            "m5.jsonl:2:1: metadata key 'n' is a string here but an integer at ",
            "m5.jsonl:1 (prompt 'f/0000'); expected one type per key");
    st_write("m6.jsonl", "{\"text\": \"a\", \"b\": [1]}\n");
    ST_FAIL("groups:\n  - name: f\n    file: m6.jsonl\n", AS_ERR_INVALID,
            "m6.jsonl:1:1: field \"b\" is an array");
    {
        char line[8192];
        size_t off = (size_t)snprintf(line, sizeof line, "{\"text\": \"a\"");
        for (int k = 0; k < 257; k++)
            off += (size_t)snprintf(line + off, sizeof line - off, ", \"k%d\": %d", k, k);
        snprintf(line + off, sizeof line - off, "}\n");
        st_write("m7.jsonl", line);
        ST_FAIL("groups:\n  - name: f\n    file: m7.jsonl\n", AS_ERR_INVALID,
                "m7.jsonl:1:1:", "would be column 257; expected at most 256 distinct keys");
    }
    /* spans over product keys and fields; JSONL spans */
    ST_FAIL("groups:\n  - name: g\n    template: \"{a}\"\n    product: {a: [x, y]}\n"
            "    spans: {s: \"{a}!\"}\n",
            AS_ERR_INVALID,
            "t.yaml:5:16: group 'g', span 's' occurs in no prompt of the group "
            "(rendered for each prompt");
    ST_FAIL("groups:\n  - name: g\n    template: \"{a}\"\n    product: {a: [x]}\n"
            "    spans: {s: \"{b}\"}\n",
            AS_ERR_INVALID, "t.yaml:5:16:", "unknown variable '{b}'; known variables: a");
    st_write("s1.jsonl", "{\"text\": \"abc\", \"spans\": {\"s\": \"zz\"}}\n");
    ST_FAIL("groups:\n  - name: f\n    file: s1.jsonl\n", AS_ERR_INVALID,
            "s1.jsonl:1:1: span 's' = \"zz\" does not occur in the text; expected a substring of "
            "the line's \"text\"");
    st_write("s2.jsonl", "{\"text\": \"abc\", \"spans\": {\"s\": \"a\"}}\n");
    ST_FAIL("groups:\n  - name: f\n    file: s2.jsonl\n    spans: {s: \"b\"}\n", AS_ERR_INVALID,
            "s2.jsonl:1:1: span 's' is given by this line and by the group's spans: at "
            "t.yaml:4:16");
    st_write("s3.jsonl", "{\"text\": \"abc\", \"spans\": {\"a/b\": \"a\"}}\n");
    ST_FAIL("groups:\n  - name: f\n    file: s3.jsonl\n", AS_ERR_INVALID,
            "s3.jsonl:1:1: span name 'a/b' contains '/'");
    st_write("s4.jsonl", "{\"text\": \"abc\", \"spans\": [\"a\"]}\n");
    ST_FAIL("groups:\n  - name: f\n    file: s4.jsonl\n", AS_ERR_INVALID,
            "s4.jsonl:1:1: \"spans\" is an array; expected an object");
    st_write("s5.jsonl", "{\"text\": \"abc\", \"q\": \"zz\"}\n");
    ST_FAIL("groups:\n  - name: f\n    file: s5.jsonl\n    spans: {q: \"{q}\"}\n", AS_ERR_INVALID,
            "t.yaml:4:16: group 'f', span 'q' occurs in no prompt");
}

/* analysis: by, contrasts and the bootstrap settings. */
#define A                                                                                          \
    "groups:\n  - name: g\n    tags: {shots: 2, flag: true}\n    prompts: {plain: \"x\", "         \
    "cot: \"y\"}\nanalysis:\n" /* lines 1-5 */
static void test_analysis(void) {
    ST_FAIL(A "  by: [grup]\n", AS_ERR_INVALID,
            "t.yaml:6:8: analysis.by[0] is 'grup', which is not a /sweep column; expected one of: "
            "group, variant, shots, flag. HINT: did you mean 'group'?");
    ST_FAIL(A "  by: [group, group]\n", AS_ERR_INVALID,
            "t.yaml:6:15: analysis.by[1] 'group' repeats analysis.by[0]");
    ST_FAIL(A "  by: {group: 1}\n", AS_ERR_INVALID, "t.yaml:6:7: analysis.by is a mapping");
    ST_FAIL(A "  answer: gold\n", AS_ERR_INVALID,
            "t.yaml:6:11: analysis.answer is 'gold', which is not a /sweep column; expected one "
            "of: group, variant, shots, flag");
    ST_FAIL(A "  answer: variant\n", AS_ERR_INVALID,
            "t.yaml:6:11: analysis.answer is 'variant'; expected a metadata column");
    ST_FAIL(A "  answer: [shots]\n", AS_ERR_INVALID, "t.yaml:6:11: analysis.answer is not a name");
    ST_FAIL(A "  contrasts: [\"cot - nope\"]\n", AS_ERR_INVALID,
            "t.yaml:6:15: analysis.contrasts[0] (B) is 'nope', which no prompt has in column "
            "'variant'; expected one of: 'plain', 'cot'");
    ST_FAIL(A "  contrasts: [cot-plain]\n", AS_ERR_INVALID,
            "t.yaml:6:15: analysis.contrasts[0] is 'cot-plain'; expected \"A - B\"");
    ST_FAIL(A "  contrasts: [{a: cot}]\n", AS_ERR_INVALID,
            "t.yaml:6:15: analysis.contrasts[0] has no b:");
    ST_FAIL(A "  contrasts: [{column: colr, a: x, b: y}]\n", AS_ERR_INVALID,
            "t.yaml:6:24: analysis.contrasts[0].column is 'colr', which is not a /sweep column");
    ST_FAIL(A "  contrasts: [{colum: shots, a: x, b: y}]\n", AS_ERR_INVALID,
            "t.yaml:6:16: unknown key 'colum' in analysis.contrasts[0]", "did you mean 'column'");
    ST_FAIL(A "  contrasts: [\"cot - cot\"]\n", AS_ERR_INVALID,
            "t.yaml:6:15: analysis.contrasts[0] compares 'cot' with itself");
    ST_FAIL(A "  contrasts: [{a: cot, b: plain, pair_on: [variant]}]\n", AS_ERR_INVALID,
            "t.yaml:6:44: analysis.contrasts[0].pair_on[0] is 'variant', the column the contrast "
            "compares");
    ST_FAIL(A "  contrasts: [\"cot - plain\", {a: cot, b: plain}]\n", AS_ERR_INVALID,
            "t.yaml:6:30: analysis.contrasts[1] is named 'cot-plain' like analysis.contrasts[0]");
    ST_FAIL(A "  contrasts: [{column: flag, a: maybe, b: true}]\n", AS_ERR_INVALID,
            "t.yaml:6:33: analysis.contrasts[0].a is 'maybe', which no prompt has in column "
            "'flag'; expected one of: 'true'");
    ST_FAIL(A "  contrasts: [{column: shots, a: 2, b: 5}]\n", AS_ERR_INVALID,
            "t.yaml:6:40: analysis.contrasts[0].b is '5', which no prompt has in column 'shots'; "
            "expected one of: '2'");
    ST_FAIL(A "  contrasts: {a: 1}\n", AS_ERR_INVALID,
            "t.yaml:6:14: analysis.contrasts is a mapping; expected a list");
    ST_FAIL(A "  bootstrap: 0\n", AS_ERR_INVALID,
            "t.yaml:6:14: analysis.bootstrap is 0; expected an integer in [1, 100000]");
    ST_FAIL(A "  seed: -1\n", AS_ERR_INVALID, "t.yaml:6:9: analysis.seed is -1");
    ST_FAIL(A "  js_min_shared: x\n", AS_ERR_INVALID,
            "t.yaml:6:18: analysis.js_min_shared is 'x'; expected an integer");
    ST_FAIL(A "  bys: [group]\n", AS_ERR_INVALID, "t.yaml:6:3: unknown key 'bys' in analysis",
            "keywords, by, contrasts, bootstrap, seed, js_min_shared", "did you mean 'by'");
    ST_FAIL("groups:\n  - name: g\n    tags: {src: \"a/b\"}\n    prompts: {x: x}\n"
            "  - name: h\n    tags: {src: c}\n    prompts: {y: y}\n"
            "analysis:\n  contrasts: [{column: src, a: \"a/b\", b: c}]\n",
            AS_ERR_INVALID,
            "t.yaml:9:15: analysis.contrasts[0]: the contrast's name 'a/b-c' contains '/'",
            "HINT: give it a name:");
}

int main(void) {
    st_setup("sweep-errors");
    test_unknown_keys();
    test_wrong_types();
    test_duplicates();
    test_templates();
    test_names();
    test_explicit();
    test_output();
    test_files();
    test_syntax_and_limits();
    test_mutations();
    test_metadata();
    test_analysis();
    st_teardown();
    return tu_finish("test_sweep_errors");
}
