/* test_tok_stories.c - stories260K with its 512-piece llama2.c tokenizer (tok512.bin):
 * the prompt ids of golden_greedy_and_attention.json (llama2.c run.c, -i "PROMPT")
 * and the generated text, which is HF-style decode of the ids after BOS. */
#include <jansson.h>

#include "tok_test_common.h"

/* The -i "PROMPT" argument of a run.c command line, or "" when there is none. */
static int prompt_of(const char *cmd, char *out, size_t cap) {
    const char *p = strstr(cmd, "-i \"");
    out[0] = '\0';
    if (!p) return 1;
    p += 4;
    const char *q = strchr(p, '"');
    if (!q || (size_t)(q - p) >= cap) return 0;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return 1;
}

int main(void) {
    tu_require_data("models/stories260K/tok512.bin");
    tu_require_data("models/stories260K/golden_greedy_and_attention.json");
    struct as_tokenizer t;
    tt_load(&t, tu_data_path("models/stories260K/tok512.bin"));
    TU_CHECK(t.n_vocab == 512 && t.source == AS_TOK_SOURCE_LLAMA2C,
             "tok512.bin: %d pieces, source %d", (int)t.n_vocab, (int)t.source);

    json_error_t je;
    json_t *root =
        json_load_file(tu_data_path("models/stories260K/golden_greedy_and_attention.json"), 0, &je);
    if (!root) {
        fprintf(stderr, "FAIL: cannot parse the golden file: %s\n", je.text);
        return 1;
    }
    const json_t *runs = json_object_get(root, "runs");
    const char *name;
    const json_t *run;
    int n_runs = 0, pass = 0;
    json_object_foreach((json_t *)runs, name, run) {
        char prompt[1024], what[256];
        const char *cmd = json_string_value(json_object_get(run, "cmd"));
        TU_CHECK(cmd && prompt_of(cmd, prompt, sizeof prompt), "%s: no usable cmd", name);
        if (!cmd) continue;
        n_runs++;
        int32_t want[256], all[1024];
        const json_t *pids = json_object_get(run, "prompt_ids"), *ids = json_object_get(run, "ids");
        int nw = 0, na = 0;
        for (size_t i = 0; i < json_array_size(pids) && nw < 256; i++)
            want[nw++] = (int32_t)json_integer_value(json_array_get(pids, i));
        for (size_t i = 0; i < json_array_size(ids) && na < 1024; i++)
            all[na++] = (int32_t)json_integer_value(json_array_get(ids, i));

        struct as_encoding e;
        struct as_err err = {0};
        snprintf(what, sizeof what, "stories260K %s: encode(\"%s\") with tok512.bin", name, prompt);
        int ok = 0;
        if (as_tokenizer_encode(&t, prompt, strlen(prompt), as_tokenizer_add_bos_default(&t), &e,
                                &err) != AS_OK) {
            TU_CHECK(0, "%s: %s", what, err.msg);
        } else {
            ok = tt_ids_equal(what, e.ids, e.n, want, nw);
            ok &= tt_offsets_tile(what, &e, strlen(prompt), 1);
        }
        as_encoding_free(&e);

        /* the generated text is decode(ids[1:]) (run.c strips the space after BOS) */
        const char *text = json_string_value(json_object_get(run, "text"));
        char *d = NULL;
        size_t dl = 0;
        snprintf(what, sizeof what, "stories260K %s: decode of %d generated ids", name, na - 1);
        if (as_tokenizer_decode(&t, all + 1, na - 1, 0, &d, &dl, &err) != AS_OK) {
            TU_CHECK(0, "%s: %s", what, err.msg);
            ok = 0;
        } else {
            int same = text && strcmp(d, text) == 0;
            TU_CHECK(same, "%s:\n  got  \"%s\"\n  want \"%s\"", what, d, text ? text : "?");
            ok &= same;
        }
        free(d);
        pass += ok;
        printf("  %-28s prompt \"%s\" -> %d ids %s\n", name, prompt, nw, ok ? "exact" : "MISMATCH");
    }
    const json_t *tf = json_object_get(root, "teacher_forced_once_upon_a_time");
    if (tf) {
        int32_t want[16];
        int nw = 0;
        const json_t *pids = json_object_get(tf, "prompt_ids");
        for (size_t i = 0; i < json_array_size(pids) && nw < 16; i++)
            want[nw++] = (int32_t)json_integer_value(json_array_get(pids, i));
        struct as_encoding e;
        struct as_err err = {0};
        if (as_tokenizer_encode(&t, "Once upon a time", 16, 1, &e, &err) == AS_OK)
            tt_ids_equal("teacher_forced_once_upon_a_time prompt ids", e.ids, e.n, want, nw);
        else
            TU_CHECK(0, "teacher forced: %s", err.msg);
        as_encoding_free(&e);
    }
    printf("SUMMARY stories260K: %d/%d runs exact (prompt ids and decoded text)\n", pass, n_runs);
    TU_CHECK(n_runs == 3, "expected 3 runs, found %d", n_runs);
    json_decref(root);
    as_tokenizer_free(&t);
    return tu_finish("test_tok_stories");
}
