/* test_gen_text.c - the text side of generation, against hand-computed bytes:
 * the answer span (declared regex / the last number), the derived spans
 * reasoning and answer and their tokens, stop strings over token ends, and
 * (with stories260K's tokenizer) the generated text and its per-token byte
 * ends, whose tokens the golden greedy run lists. */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/metrics.h"
#include "attnsweep/tokenizer.h"
#include "run_internal.h"
#include "testutil.h"

static void answer(const char *text, size_t gs, const char *re, int64_t b, int64_t e) {
    int64_t gb, ge;
    int found = as_metrics_answer_span(text, strlen(text), gs, re, &gb, &ge);
    TU_CHECK(found == (b >= 0) && gb == b && ge == e,
             "answer of '%s' from %zu with %s: [%lld, %lld), expected [%lld, %lld)", text, gs,
             re ? re : "(last number)", (long long)gb, (long long)ge, (long long)b, (long long)e);
}

/* "Q: 15+27?" (9 bytes) then the generated " 15 plus 27 is 42. So 42" (24 bytes) */
#define TXT "Q: 15+27? 15 plus 27 is 42. So 42"

static void test_answer_span(void) {
    answer(TXT, 9, NULL, 31, 33);                  /* the last number, not the prompt's */
    answer(TXT, 9, "is (-?[0-9]+)", 24, 26);       /* the first match's capture group */
    answer(TXT, 9, "[0-9]+ plus", 10, 17);         /* no group: the whole match */
    answer(TXT, 27, NULL, 31, 33);                 /* generated text " So 42" */
    answer(TXT, 9, "answer: ([0-9]+)", -1, -1);    /* no match */
    answer("x is -3.5, y", 0, NULL, 5, 9);         /* sign and decimals */
    answer("Q? no numbers here", 2, NULL, -1, -1); /* nothing numeric */
    answer(TXT, strlen(TXT), NULL, -1, -1);        /* nothing generated */
    answer(TXT, 9, "(", -1, -1);                   /* a bad regex matches nothing */
}

/* The derived spans of a generating prompt through the public accumulator. */
static void test_spans(void) {
    const int32_t offsets[] = {0, 0, 0, 9, 9, 27, 27, 33}; /* BOS, prompt, 2 generated */
    const int32_t ids[] = {1, 5, 6, 7};
    const char *toks[] = {"", "Q: 15+27?", " 15 plus 27 is", " 42. So 42"};
    struct as_metrics_ctx c;
    memset(&c, 0, sizeof c);
    c.L = 1, c.H = 1, c.T = 4;
    c.token_ids = ids, c.tokens = toks, c.offsets = offsets;
    c.text = TXT, c.text_len = strlen(TXT);
    c.prompt_start = 0, c.prompt_len = 9, c.prefix_len = 9;
    c.generates = 1, c.gen_start = 9;
    struct as_metrics m;
    struct as_err err;
    as_status st = as_metrics_init(&m, &c, AS_METRICS_FULL, &err);
    TU_CHECK(st == AS_OK, "metrics init: %s", err.msg);
    if (st != AS_OK) return;
    int seen = 0;
    for (int s = 0; s < m.lay.n_spans; s++) {
        const struct as_metrics_span *sp = &m.spans[s];
        if (!strcmp(sp->name, "reasoning")) {
            seen |= 1;
            TU_CHECK(sp->kind == AS_SPAN_DERIVED && sp->bytes[0] == 9 && sp->bytes[1] == 31 &&
                         sp->tokens[0] == 2 && sp->tokens[1] == 4,
                     "reasoning bytes [%d, %d) tokens [%d, %d), expected [9, 31) [2, 4)",
                     sp->bytes[0], sp->bytes[1], sp->tokens[0], sp->tokens[1]);
        } else if (!strcmp(sp->name, "answer")) {
            seen |= 2;
            TU_CHECK(sp->bytes[0] == 31 && sp->bytes[1] == 33 && sp->tokens[0] == 3 &&
                         sp->tokens[1] == 4,
                     "answer bytes [%d, %d) tokens [%d, %d), expected [31, 33) [3, 4)",
                     sp->bytes[0], sp->bytes[1], sp->tokens[0], sp->tokens[1]);
        } else if (!strcmp(sp->name, "prefix")) {
            TU_CHECK(sp->bytes[0] == 0 && sp->bytes[1] == 9, "prefix [%d, %d) is the prompt",
                     sp->bytes[0], sp->bytes[1]);
        }
    }
    TU_CHECK(seen == 3, "spans reasoning and answer listed (%d)", seen);
    as_metrics_free(&m);
    /* no answer: both absent ([-1, -1]); a prompt without generation has neither */
    c.answer_regex = "answer: ([0-9]+)";
    st = as_metrics_init(&m, &c, AS_METRICS_FULL, &err);
    TU_CHECK(st == AS_OK, "metrics init: %s", err.msg);
    for (int s = 0; st == AS_OK && s < m.lay.n_spans; s++)
        if (!strcmp(m.spans[s].name, "reasoning") || !strcmp(m.spans[s].name, "answer"))
            TU_CHECK(m.spans[s].bytes[0] == -1 && m.spans[s].tokens[0] == -1,
                     "%s is absent without an answer", m.spans[s].name);
    if (st == AS_OK) as_metrics_free(&m);
    c.generates = 0;
    st = as_metrics_init(&m, &c, AS_METRICS_FULL, &err);
    for (int s = 0; st == AS_OK && s < m.lay.n_spans; s++)
        TU_CHECK(strcmp(m.spans[s].name, "reasoning") && strcmp(m.spans[s].name, "answer"),
                 "span %s without generation", m.spans[s].name);
    if (st == AS_OK) as_metrics_free(&m);
}

static void test_stop_at(void) {
    const char *t = "ab. cd. ef";
    const int32_t ends[] = {2, 3, 6, 7, 10}; /* "ab" "." " cd" "." " ef" */
    const char *dot[] = {"."}, *cd[] = {"cd"}, *across[] = {"b. c"}, *none[] = {"zz"};
    const char *two[] = {"zz", " ef"};
    TU_CHECK(as_gen_stop_at(t, ends, 5, dot, 1) == 2, "stop '.' keeps 2 tokens");
    TU_CHECK(as_gen_stop_at(t, ends, 5, cd, 1) == 3, "stop 'cd' keeps 3 tokens");
    TU_CHECK(as_gen_stop_at(t, ends, 5, across, 1) == 3, "a stop across tokens keeps 3");
    TU_CHECK(as_gen_stop_at(t, ends, 5, none, 1) == 0, "no stop: 0");
    TU_CHECK(as_gen_stop_at(t, ends, 5, two, 2) == 5, "' ef' ends in the last token: 5");
    TU_CHECK(as_gen_stop_at(t, ends, 5, NULL, 0) == 0, "no stop strings: 0");
    /* idempotent: the kept tokens stop at the same place again */
    TU_CHECK(as_gen_stop_at(t, ends, 2, dot, 1) == 2, "stop again keeps 2");
}

static void decode_case(const struct as_tokenizer *t, const int32_t *ctx, int nc,
                        const int32_t *gen, int n, const char *want, const int32_t *want_ends) {
    char *text = NULL;
    size_t len = 0;
    int32_t ends[16];
    struct as_err err;
    as_status st = as_gen_decode(t, ctx, nc, gen, n, &text, &len, ends, &err);
    TU_CHECK(st == AS_OK, "decode: %s", err.msg);
    if (st != AS_OK) return;
    TU_CHECK(len == strlen(want) && !memcmp(text, want, len), "text '%s', expected '%s'", text,
             want);
    for (int k = 0; k < n; k++)
        TU_CHECK(ends[k] == want_ends[k], "end of token %d is %d, expected %d", k, ends[k],
                 want_ends[k]);
    free(text);
}

/* The naive reference of as_gen_decode's ends: the whole prefix decoded for every token. */
static int naive_ends(const struct as_tokenizer *t, const int32_t *ctx, int nc, const int32_t *gen,
                      int n, const char *g, size_t gl, int32_t *ends) {
    int32_t *all = malloc(sizeof(int32_t) * (size_t)(nc + n));
    char *b = NULL, *p = NULL;
    size_t bl = 0, pl = 0;
    struct as_err err;
    memcpy(all, ctx, sizeof(int32_t) * (size_t)nc);
    memcpy(all + nc, gen, sizeof(int32_t) * (size_t)n);
    if (as_tokenizer_decode(t, all, nc, 1, &b, &bl, &err) != AS_OK) return 0;
    int32_t prev = 0;
    for (int k = 0; k < n; k++) {
        size_t e = gl;
        if (k + 1 < n) {
            free(p);
            if (as_tokenizer_decode(t, all, nc + k + 1, 1, &p, &pl, &err) != AS_OK) return 0;
            e = 0;
            while (bl + e < pl && e < gl && p[bl + e] == g[e])
                e++;
            while (e > 0 && e < gl && ((unsigned char)g[e] & 0xC0) == 0x80)
                e--;
        }
        ends[k] = prev = (int32_t)e > prev ? (int32_t)e : prev;
    }
    free(all), free(b), free(p);
    return 1;
}

/* A long generation (the golden 200-step BOS run) with byte-fallback runs spliced in: the
 * windowed ends equal the naive whole-prefix ends, and the text is the sequence's decode. */
static void test_decode_long(const struct as_tokenizer *t) {
    int32_t gen[260], n = 0;
    static const int32_t golden[] = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298,
                                     315, 421, 395, 317, 426, 338, 401, 396, 267, 337,
                                     410, 408, 419, 292, 411, 322, 265, 282, 295};
    for (int r = 0; r < 8; r++) /* 8 x 29 golden ids, with "é" = <0xC3><0xA9> and "€" inside */
        for (int k = 0; k < 29; k++) {
            gen[n++] = golden[k];
            if (k == 5 && r % 2) gen[n++] = 3 + 0xC3, gen[n++] = 3 + 0xA9;
            if (k == 9 && r == 4) gen[n++] = 3 + 0xE2, gen[n++] = 3 + 0x82, gen[n++] = 3 + 0xAC;
        }
    gen[n++] = 2; /* EOS */
    const int32_t ctx[] = {1, 403, 407, 261, 378};
    char *text = NULL;
    size_t len = 0;
    int32_t ends[260], want[260];
    struct as_err err;
    as_status st = as_gen_decode(t, ctx, 5, gen, n, &text, &len, ends, &err);
    TU_CHECK(st == AS_OK, "decode: %s", err.msg);
    if (st != AS_OK) return;
    TU_CHECK(naive_ends(t, ctx, 5, gen, n, text, len, want), "naive decode");
    int bad = 0;
    for (int k = 0; k < n; k++)
        if (ends[k] != want[k]) {
            if (bad++ < 5) fprintf(stderr, "token %d: end %d, naive %d\n", k, ends[k], want[k]);
        }
    TU_CHECK(bad == 0, "%d of %d token ends differ from the naive whole-prefix decode", bad, n);
    TU_CHECK(strstr(text, "\xC3\xA9") && strstr(text, "\xE2\x82\xAC") && ends[n - 1] == (int)len,
             "the text holds the byte runs and the last end is its length");
    if (!bad) printf("long generation: %d tokens, %zu bytes, windowed ends = naive ends\n", n, len);
    free(text);
}

static void test_decode(void) {
    if (!fopen(tu_data_path("models/stories260K/tok512.bin"), "rb")) {
        printf("SKIP part: %s absent (generated text vs the golden tokens)\n",
               tu_data_path("models/stories260K/tok512.bin"));
        return;
    }
    struct as_tokenizer t;
    struct as_err err;
    as_status st = as_tokenizer_load(&t, tu_data_path("models/stories260K/tok512.bin"), &err);
    TU_CHECK(st == AS_OK, "tokenizer: %s", err.msg);
    if (st != AS_OK) return;
    /* golden_greedy_and_attention.json once_upon_a_time: prompt [1 403 407 261 378] "Once upon
     * a time", then 432 383 286 261 376 = ",", " there", " was", " a", " little" */
    const int32_t ctx[] = {1, 403, 407, 261, 378}, gen[] = {432, 383, 286, 261, 376};
    decode_case(&t, ctx, 5, gen, 5, ", there was a little", (const int32_t[]){1, 7, 11, 13, 20});
    decode_case(&t, ctx + 3, 2, gen, 5, ", there was a little",
                (const int32_t[]){1, 7, 11, 13, 20}); /* a shorter context: the same */
    /* byte fallback: <0xC3> <0xA9> = "é" only once both bytes are there; EOS adds nothing */
    const int32_t bytes[] = {3 + 0xC3, 3 + 0xA9, 2};
    decode_case(&t, ctx, 5, bytes, 3, "\xC3\xA9", (const int32_t[]){0, 2, 2});
    test_decode_long(&t);
    as_tokenizer_free(&t);
}

int main(void) {
    test_answer_span();
    test_spans();
    test_stop_at();
    test_decode();
    return tu_finish("test_gen_text");
}
