/* test_sweep_chat.c - chat prompts (docs/SWEEP.md "Chat prompts"): chat_template / chat /
 * system at the top level and per group, the byte offsets of the user's prompt and of spans
 * inside the templated text, `chat: true` with TinyLlama-Chat's tokenizer_config.json, the
 * errors, pack/unpack, and the tokens of a templated prompt against the reference encoding
 * (encode_vectors.json: HF tokenizers on the reference tokenizer.json). */
#include "sweep_test.h" /* first: it defines _GNU_SOURCE */

#include <jansson.h>

#include "attnsweep/tokenizer.h"

/* Zephyr, byte by byte: "<|user|>\n" is 9 bytes, "</s>\n<|assistant|>\n" is 19. */
#define Q      "What is 15 plus 27?"
#define ZEPHYR "<|user|>\n" Q "</s>\n<|assistant|>\n"

static void test_template_offsets(void) {
    struct as_sweep s;
    struct as_err err;
    const char *y = "chat_template: \"<|user|>\\n{prompt}</s>\\n<|assistant|>\\n\"\n"
                    "groups:\n"
                    "  - name: g\n    vars: {question: \"" Q "\"}\n"
                    "    prompts: {plain: \"{question}\"}\n"
                    "    spans: {sum: \"15 plus 27\", question: \"{question}\"}\n"
                    "  - name: raw\n    chat: false\n    prompts: {a: \"" Q "\"}\n"
                    "  - name: own\n    chat_template: \"[{{x}}]{prompt}|{system}.\"\n"
                    "    system: \"Be brief\"\n    prompts: {a: \"hi\"}\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    if (s.n_prompts != 3) {
        TU_CHECK(0, "expected 3 prompts, got %lld", (long long)s.n_prompts);
        as_sweep_free(&s);
        return;
    }
    const struct as_sweep_prompt *p = &s.prompts[0];
    TU_CHECK(p->text_len == strlen(ZEPHYR) && !strcmp(p->text, ZEPHYR), "text '%s'", p->text);
    TU_CHECK(p->prompt_start == 9 && p->prompt_len == 19, "prompt [%zu, +%zu)", p->prompt_start,
             p->prompt_len);
    size_t b = 0, e = 0;
    TU_CHECK(as_sweep_span_find(&s, 0, 0, &b, &e) && b == 17 && e == 27, "sum [%zu, %zu)", b, e);
    TU_CHECK(as_sweep_span_find(&s, 0, 1, &b, &e) && b == 9 && e == 28, "question [%zu, %zu)", b,
             e);
    TU_CHECK(s.groups[0].chat &&
                 !strcmp(s.groups[0].chat, "<|user|>\n{prompt}</s>\n<|assistant|>\n"),
             "group chat '%s'", s.groups[0].chat ? s.groups[0].chat : "(null)");
    /* chat: false in a group: raw */
    p = &s.prompts[1];
    TU_CHECK(!strcmp(p->text, Q) && p->prompt_start == 0 && p->prompt_len == 19 &&
                 !s.groups[1].chat,
             "raw '%s' %zu %zu", p->text, p->prompt_start, p->prompt_len);
    /* the group's own template, literal braces, {system} after {prompt} */
    p = &s.prompts[2];
    TU_CHECK(!strcmp(p->text, "[{x}]hi|Be brief.") && p->prompt_start == 5 && p->prompt_len == 2,
             "own '%s' %zu %zu", p->text, p->prompt_start, p->prompt_len);
    /* the effective configuration shows each group's template, escaped */
    char *out = NULL;
    size_t outlen = 0;
    FILE *fp = open_memstream(&out, &outlen);
    if (fp) {
        as_sweep_print(&s, fp);
        fclose(fp);
    }
    TU_CHECK(out && strstr(out, "chat: \"<|user|>\\n{prompt}</s>\\n<|assistant|>\\n\"") &&
                 strstr(out, "chat: \"[{x}]{prompt}|Be brief.\""),
             "print:\n%s", out ? out : "");
    free(out);
    /* pack / unpack keeps the offsets and the templates */
    void *buf = NULL;
    size_t len = 0;
    struct as_sweep u;
    TU_CHECK(as_sweep_pack(&s, &buf, &len, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_sweep_unpack(&u, buf, len, &err) == AS_OK, "%s", err.msg);
    for (int64_t i = 0; i < s.n_prompts && i < u.n_prompts; i++)
        TU_CHECK(u.prompts[i].prompt_start == s.prompts[i].prompt_start &&
                     u.prompts[i].prompt_len == s.prompts[i].prompt_len &&
                     !strcmp(u.prompts[i].text, s.prompts[i].text),
                 "unpacked prompt %lld differs", (long long)i);
    TU_CHECK(u.groups[0].chat && !strcmp(u.groups[0].chat, s.groups[0].chat) && !u.groups[1].chat,
             "unpacked chat templates differ");
    as_sweep_free(&u);
    free(buf);
    as_sweep_free(&s);
}

static void test_spans_stay_in_prompt(void) {
    /* "user" occurs only in the template: the span is found in no prompt */
    ST_FAIL("chat_template: \"<|user|>\\n{prompt}</s>\\n<|assistant|>\\n\"\n"
            "groups:\n  - name: g\n    prompts: {a: \"hi there\"}\n    spans: {u: user}\n",
            AS_ERR_INVALID, "t.yaml:5:16:", "span 'u'", "occurs in no prompt");
    /* a JSONL line's own span must be in its text, not in the template */
    st_write("c.jsonl", "{\"text\": \"hi there\", \"spans\": {\"a\": \"assistant\"}}\n");
    ST_FAIL("chat_template: \"<|user|>\\n{prompt}</s>\\n<|assistant|>\\n\"\n"
            "groups:\n  - name: g\n    file: c.jsonl\n",
            AS_ERR_INVALID, "c.jsonl:1:", "does not occur in the text");
}

/* A group's keys override the top level's one by one; system: null drops the system text. */
static void test_inherit(void) {
    struct as_sweep s;
    struct as_err err;
    const char *y = "chat_template: \"S={system} U={prompt}.\"\nsystem: sys\n"
                    "groups:\n  - name: a\n    prompts: {p: hi}\n"
                    "  - name: b\n    system: other\n    prompts: {p: hi}\n"
                    "  - name: c\n    chat_template: \"[{prompt}]\"\n    system: null\n"
                    "    prompts: {p: hi}\n";
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    if (s.n_prompts == 3) {
        TU_CHECK(!strcmp(s.prompts[0].text, "S=sys U=hi.") && s.prompts[0].prompt_start == 8,
                 "a: '%s' %zu", s.prompts[0].text, s.prompts[0].prompt_start);
        TU_CHECK(!strcmp(s.prompts[1].text, "S=other U=hi.") && s.prompts[1].prompt_start == 10,
                 "b: '%s' %zu", s.prompts[1].text, s.prompts[1].prompt_start);
        TU_CHECK(!strcmp(s.prompts[2].text, "[hi]") && s.prompts[2].prompt_start == 1 &&
                     s.prompts[2].prompt_len == 2,
                 "c: '%s' %zu", s.prompts[2].text, s.prompts[2].prompt_start);
    }
    as_sweep_free(&s);
    /* without system: null the inherited system text needs a {system} */
    ST_FAIL("chat_template: \"{system}{prompt}\"\nsystem: sys\ngroups:\n  - name: c\n"
            "    chat_template: \"[{prompt}]\"\n    prompts: {p: hi}\n",
            AS_ERR_INVALID, "t.yaml:2:9:", "has no {system}");
}

static void test_errors(void) {
    ST_FAIL("chat_template: \"<|user|>\\n</s>\"\ngroups:\n  - name: g\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:1:16:", "has 0 {prompt}", "expected exactly one");
    ST_FAIL("groups:\n  - name: g\n    chat_template: \"{prompt}{prompt}\"\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:3:20:", "has 2 {prompt}");
    ST_FAIL("chat_template: \"{user}: {prompt}\"\ngroups:\n  - name: g\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:1:16:", "'{user}", "expected only {prompt}, {system}");
    ST_FAIL("chat_template: \"{system} {prompt}\"\ngroups:\n  - name: g\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:1:16:", "uses {system} but no system:");
    ST_FAIL("system: hi\ngroups:\n  - name: g\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:1:9:", "no chat template");
    ST_FAIL(
        "chat_template: \"A {prompt}\"\nsystem: hi\ngroups:\n  - name: g\n    prompts: {a: x}\n",
        AS_ERR_INVALID, "t.yaml:2:9:", "has no {system}");
    ST_FAIL("chat: true\nchat_template: \"{prompt}\"\ngroups:\n  - name: g\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:1:7:", "both chat: and chat_template:");
    ST_FAIL("chat: maybe\ngroups:\n  - name: g\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:1:7:", "expected true or false");
    ST_FAIL("groups:\n  - name: g\n    chat_tempalte: x\n    prompts: {a: x}\n", AS_ERR_INVALID,
            "t.yaml:3:", "did you mean 'chat_template'");
}

/* chat: true reads model.tokenizer's (or the model's) tokenizer_config.json. */
static void test_chat_true(void) {
    /* an unknown template: the message shows how to write chat_template */
    mkdir("unk", 0755);
    st_write("unk/tokenizer_config.json",
             "{\"chat_template\": \"{% for m in messages %}[INST] {{ m['content'] }} [/INST]"
             "{% endfor %}\"}");
    ST_FAIL("model: {path: unk}\nchat: true\ngroups:\n  - name: g\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:2:7:", "unk/tokenizer_config.json", "attnsweep does not know",
            "zephyr", "chat_template: \"<|user|>\\n{prompt}</s>");
    mkdir("none", 0755);
    st_write("none/tokenizer_config.json", "{\"bos_token\": \"<s>\"}");
    ST_FAIL("model: {path: none}\ngroups:\n  - name: g\n    chat: true\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:4:11:", "has no \"chat_template\"", "HINT: write the format");
    ST_FAIL("model: {path: missing}\nchat: true\ngroups:\n  - name: g\n    prompts: {a: x}\n",
            AS_ERR_INVALID, "t.yaml:2:7:", "cannot be read", "HINT: write the format");

    const char *dir = tu_data_path("tokenizers/llama2");
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dir);
    if (access(cfg, R_OK) != 0) {
        printf("  SKIP chat: true with the reference tokenizer_config.json (%s absent)\n", cfg);
        return;
    }
    char y[9000];
    struct as_sweep s;
    struct as_err err;
    snprintf(y, sizeof y,
             "model: {tokenizer: \"%s/tokenizer.json\"}\nchat: true\n"
             "groups:\n  - name: g\n    prompts: {a: \"" Q "\"}\n"
             "  - name: sys\n    system: You are a helpful assistant.\n    prompts: {a: \"" Q
             "\"}\n",
             dir);
    TU_CHECK(st_load(&s, y, NULL, &err) == AS_OK, "%s", err.msg);
    if (s.n_prompts == 2) {
        TU_CHECK(!strcmp(s.prompts[0].text, ZEPHYR) && s.prompts[0].prompt_start == 9,
                 "chat: true text '%s'", s.prompts[0].text);
        const char *want = "<|system|>\nYou are a helpful assistant.</s>\n" ZEPHYR;
        TU_CHECK(!strcmp(s.prompts[1].text, want) && s.prompts[1].prompt_start == 53 &&
                     s.prompts[1].prompt_len == 19,
                 "system text '%s' at %zu", s.prompts[1].text, s.prompts[1].prompt_start);
    }
    as_sweep_free(&s);
    /* --tokenizer overrides model.tokenizer before chat: true looks */
    struct as_sweep_overrides ov = {NULL, dir, NULL};
    TU_CHECK(st_load(&s,
                     "model: {path: unk}\nchat: true\ngroups:\n  - name: g\n"
                     "    prompts: {a: \"" Q "\"}\n",
                     &ov, &err) == AS_OK &&
                 !strcmp(s.prompts[0].text, ZEPHYR),
             "--tokenizer: %s", err.msg);
    as_sweep_free(&s);
}

/* The templated text through the reference tokenizer gives HF's ids (</s> -> EOS id 2), and
 * the user's prompt and a span inside it map to the tokens the reference pieces say. */
static void test_tokens(void) {
    const char *dir = tu_data_path("tokenizers/llama2");
    char p[4200];
    snprintf(p, sizeof p, "%s/encode_vectors.json", dir);
    json_t *j = json_load_file(p, 0, NULL);
    if (!j) {
        printf("  SKIP tokens of a templated prompt (%s absent)\n", p);
        return;
    }
    json_t *ref = NULL, *cases = json_object_get(j, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *t = json_object_get(json_array_get(cases, i), "text");
        if (json_is_string(t) && !strcmp(json_string_value(t), ZEPHYR))
            ref = json_array_get(cases, i);
    }
    TU_CHECK(ref != NULL, "encode_vectors.json has no case for the zephyr prompt");
    struct as_tokenizer tok;
    struct as_err err;
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    if (!ref || as_tokenizer_load(&tok, p, &err) != AS_OK) {
        TU_CHECK(!ref, "%s", err.msg);
        json_decref(j);
        return;
    }
    struct as_sweep s;
    TU_CHECK(st_load(&s,
                     "chat_template: \"<|user|>\\n{prompt}</s>\\n<|assistant|>\\n\"\n"
                     "groups:\n  - name: g\n    prompts: {a: \"" Q "\"}\n"
                     "    spans: {sum: \"15 plus 27\"}\n",
                     NULL, &err) == AS_OK,
             "%s", err.msg);
    struct as_encoding e = {0};
    const struct as_sweep_prompt *pr = &s.prompts[0];
    TU_CHECK(as_tokenizer_encode(&tok, pr->text, pr->text_len, 1, &e, &err) == AS_OK, "%s",
             err.msg);
    json_t *ids = json_object_get(ref, "hf_ids_add_special");
    json_t *pieces = json_object_get(ref, "hf_tokens");
    int same = e.n == (int)json_array_size(ids);
    for (int t = 0; same && t < e.n; t++)
        same = e.ids[t] == json_integer_value(json_array_get(ids, t));
    TU_CHECK(same, "ids of the templated prompt differ from HF's (%d vs %zu tokens)", e.n,
             json_array_size(ids));
    /* tokens whose non-empty byte span overlaps [b, e) -> [first, last + 1) */
    size_t rb[2][2] = {{pr->prompt_start, pr->prompt_start + pr->prompt_len}, {0, 0}};
    TU_CHECK(as_sweep_span_find(&s, 0, 0, &rb[1][0], &rb[1][1]), "span not found");
    const char *want[2] = {Q, "15 plus 27"};
    for (int r = 0; r < 2; r++) {
        int first = -1, last = -1;
        for (int t = 0; t < e.n; t++) {
            size_t ob = (size_t)e.offsets[2 * t], oe = (size_t)e.offsets[2 * t + 1];
            if (oe > ob && ob < rb[r][1] && oe > rb[r][0]) {
                if (first < 0) first = t;
                last = t;
            }
        }
        /* the reference pieces of those tokens, "▁" as a space, spell the text */
        char got[256] = "";
        size_t n = 0;
        for (int t = first; first >= 0 && t <= last; t++) {
            const char *pc = json_string_value(json_array_get(pieces, (size_t)t));
            for (; pc && *pc && n + 2 < sizeof got; pc++) {
                if (!strncmp(pc, "\xe2\x96\x81", 3)) {
                    got[n++] = ' ', pc += 2;
                } else {
                    got[n++] = *pc;
                }
            }
        }
        got[n] = '\0';
        const char *g = got[0] == ' ' && want[r][0] != ' ' ? got + 1 : got;
        TU_CHECK(!strcmp(g, want[r]), "tokens [%d, %d] spell '%s', expected '%s'", first, last, g,
                 want[r]);
        /* hand-counted in the reference pieces: What..? = 7..16, 1..7 = 10..15 */
        TU_CHECK(first == (r ? 10 : 7) && last == (r ? 15 : 16), "range %d: tokens [%d, %d]", r,
                 first, last);
    }
    TU_CHECK(e.n > 17 && e.ids[17] == 2, "</s> is not the EOS id 2");
    as_encoding_free(&e);
    as_sweep_free(&s);
    as_tokenizer_free(&tok);
    json_decref(j);
}

int main(void) {
    st_setup("sweep-chat");
    test_template_offsets();
    test_spans_stay_in_prompt();
    test_inherit();
    test_errors();
    test_chat_true();
    test_tokens();
    st_teardown();
    return tu_finish("test_sweep_chat");
}
