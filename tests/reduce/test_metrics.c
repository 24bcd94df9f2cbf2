/* test_metrics.c - the per-prompt metrics on hand-built attention tensors
 * with known answers: a pure previous-token head, a pure BOS head, an
 * induction head and a duplicate-token head on a repeated sequence, uniform
 * rows (entropy log(i+1)); aggregates; last_row mode == full mode on the
 * metrics it has; keyword and span mapping on hand-made offsets; derived
 * prefixes (with a UTF-8 boundary case). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/metrics.h"
#include "testutil.h"

#define NEAR(a, b, tol) (fabs((double)(a) - (double)(b)) <= (tol))

/* Fills head h of a (H, T, T) layer with a pattern. */
enum pat { P_PREV, P_BOS, P_UNIFORM, P_INDUCTION, P_DUP };
static void fill(float *layer, int h, int T, enum pat p) {
    float *A = layer + (size_t)h * T * T;
    memset(A, 0, sizeof(float) * T * T);
    for (int i = 0; i < T; i++) {
        float *r = A + (size_t)i * T;
        switch (p) {
        case P_PREV: r[i == 0 ? 0 : i - 1] = 1.0f; break;
        case P_BOS: r[0] = 1.0f; break;
        case P_UNIFORM:
            for (int j = 0; j <= i; j++)
                r[j] = 1.0f / (float)(i + 1);
            break;
        case P_INDUCTION: /* repeated block of 4 after BOS: attend to the token after the previous
                             copy */
            if (i >= 5)
                r[i - 3] = 1.0f;
            else
                r[0] = 1.0f;
            break;
        case P_DUP: /* attend to the previous copy of the current token */
            if (i >= 5)
                r[i - 4] = 1.0f;
            else
                r[0] = 1.0f;
            break;
        }
    }
}

static void test_heads(void) {
    enum { L = 2, H = 5, T = 9 };
    const int32_t ids[T] = {1, 10, 11, 12, 13, 10, 11, 12, 13};
    struct as_metrics_ctx c = {.L = L, .H = H, .T = T, .token_ids = ids};
    static float layers[L][H * T * T];
    const enum pat pats[H] = {P_PREV, P_BOS, P_UNIFORM, P_INDUCTION, P_DUP};
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++)
            fill(layers[l], h, T, pats[(h + l) % H]); /* layer 1 rotates the heads */
    struct as_metrics m;
    struct as_err err = {0};
    TU_CHECK(as_metrics_init(&m, &c, AS_METRICS_FULL, &err) == AS_OK, "%s", err.msg);
    for (int l = 0; l < L; l++)
        TU_CHECK(as_metrics_add_layer(&m, l, layers[l], &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_add_layer(&m, 0, layers[0], &err) != AS_OK, "a third layer is refused");
    TU_CHECK(as_metrics_finish(&m, &err) == AS_OK, "%s", err.msg);

    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            const size_t lh = (size_t)l * H + h;
            const enum pat p = pats[(h + l) % H];
            double sink = 0, prev = 0, nent = 0, dup = 0, ind = 0, hent = 0, sink_last = 0;
            int focus = 0;
            switch (p) {
            case P_PREV:
                sink = 2.0 / T, prev = 1.0, nent = 0.0, dup = 0.0, ind = 0.0;
                focus = T - 2;
                break;
            case P_BOS:
                sink = 1.0, prev = 1.0 / (T - 1), nent = 0.0, focus = 0, sink_last = 1.0;
                break;
            case P_UNIFORM: {
                sink = 0.0;
                for (int i = 0; i < T; i++)
                    sink += 1.0 / (i + 1);
                sink /= T;
                prev = 0.0;
                for (int i = 1; i < T; i++)
                    prev += 1.0 / (i + 1);
                prev /= T - 1;
                nent = 1.0;
                hent = log((double)T);
                sink_last = 1.0 / T;
                /* uniform rows put 1/(i+1) on each earlier copy: dup at rows 5..8 (one copy each)
                 */
                for (int i = 5; i < T; i++)
                    dup += 1.0 / (i + 1), ind += 1.0 / (i + 1);
                dup /= T, ind /= T;
                break;
            }
            case P_INDUCTION:
                sink = 5.0 / T, prev = 1.0 / (T - 1), nent = 0.0, ind = 4.0 / T, dup = 0.0;
                focus = T - 4;
                break;
            case P_DUP:
                sink = 5.0 / T, prev = 1.0 / (T - 1), nent = 0.0, dup = 4.0 / T, ind = 0.0;
                focus = T - 5;
                break;
            }
            TU_CHECK(NEAR(m.sink_mean[lh], sink, 1e-7), "l%d h%d sink_mean %g want %g", l, h,
                     m.sink_mean[lh], sink);
            TU_CHECK(NEAR(m.prev_token[lh], prev, 1e-7), "l%d h%d prev_token %g want %g", l, h,
                     m.prev_token[lh], prev);
            TU_CHECK(NEAR(m.norm_entropy[lh], nent, 1e-6), "l%d h%d norm_entropy %g want %g", l, h,
                     m.norm_entropy[lh], nent);
            TU_CHECK(NEAR(m.dup_token[lh], dup, 1e-7), "l%d h%d dup_token %g want %g", l, h,
                     m.dup_token[lh], dup);
            TU_CHECK(NEAR(m.induction[lh], ind, 1e-7), "l%d h%d induction %g want %g", l, h,
                     m.induction[lh], ind);
            TU_CHECK(NEAR(m.head_entropy[lh], hent, 1e-6), "l%d h%d head_entropy %g want %g", l, h,
                     m.head_entropy[lh], hent);
            TU_CHECK(NEAR(m.sink_last[lh], sink_last, 1e-7), "l%d h%d sink_last %g want %g", l, h,
                     m.sink_last[lh], sink_last);
            TU_CHECK(m.head_focus[lh] == focus, "l%d h%d head_focus %d want %d", l, h,
                     m.head_focus[lh], focus);
        }
    /* last_row mode reproduces the last-row metrics exactly */
    struct as_metrics r;
    TU_CHECK(as_metrics_init(&r, &c, AS_METRICS_LAST_ROW, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(r.sink_mean == NULL && r.induction == NULL, "last_row has no full-map metrics");
    static float rows[H * T];
    for (int l = 0; l < L; l++) {
        for (int h = 0; h < H; h++)
            memcpy(rows + h * T, layers[l] + (size_t)h * T * T + (size_t)(T - 1) * T,
                   sizeof(float) * T);
        TU_CHECK(as_metrics_add_layer(&r, l, rows, &err) == AS_OK, "%s", err.msg);
    }
    TU_CHECK(as_metrics_finish(&r, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(!memcmp(r.layer_entropy, m.layer_entropy, sizeof(double) * L), "layer_entropy same");
    TU_CHECK(!memcmp(r.head_entropy, m.head_entropy, sizeof(double) * L * H), "head_entropy same");
    TU_CHECK(!memcmp(r.head_focus, m.head_focus, sizeof(int32_t) * L * H), "head_focus same");
    TU_CHECK(!memcmp(r.last_row_mean, m.last_row_mean, sizeof(double) * L * T), "last_row_mean");
    as_metrics_free(&r);
    as_metrics_free(&m);
}

/* layer_entropy of uniform heads is log(T); T = 1 and unknown ids give NaN scores, no crash */
static void test_uniform_layer(void) {
    enum { H = 3, T = 7 };
    static float layer[H * T * T];
    for (int h = 0; h < H; h++)
        fill(layer, h, T, P_UNIFORM);
    struct as_metrics_ctx c = {.L = 1, .H = H, .T = T};
    struct as_metrics m;
    struct as_err err = {0};
    TU_CHECK(as_metrics_init(&m, &c, AS_METRICS_FULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_add_layer(&m, 0, layer, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_finish(&m, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(NEAR(m.layer_entropy[0], log((double)T), 1e-6), "layer_entropy %g want %g",
             m.layer_entropy[0], log((double)T));
    TU_CHECK(isnan(m.dup_token[0]) && isnan(m.induction[0]), "no ids -> NaN pattern scores");
    as_metrics_free(&m);

    float one[1] = {1.0f};
    struct as_metrics_ctx c1 = {.L = 1, .H = 1, .T = 1};
    TU_CHECK(as_metrics_init(&m, &c1, AS_METRICS_FULL, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_add_layer(&m, 0, one, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_finish(&m, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(isnan(m.prev_token[0]) && m.sink_mean[0] == 1.0, "T=1");
    as_metrics_free(&m);
}

/* Keyword occurrences and spans on hand-made Llama-style offsets:
 * "What is 15 plus 27? 15!" -> BOS ▁What ▁is ▁ 1 5 ▁plus ▁ 2 7 ? ▁ 1 5 ! */
static void test_keywords_spans(void) {
    const char *text = "What is 15 plus 27? 15!";
    enum { T = 15, H = 2 };
    const int32_t off[T * 2] = {0,  0,  0,  4,  4,  7,  7,  8,  8,  9,  9,  10, 10, 15, 15,
                                16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 22, 22, 23};
    const char *toks[T] = {"<s>", "What", " is", " ", "1", "5", " plus", " ",
                           "2",   "7",    "?",   " ", "1", "5", "!"};
    const char *kws[] = {"15", "PLUS", "5", "zzz"};
    struct as_metrics_span_def spans[] = {{"question", "What is 15 plus 27?", 19},
                                          {"missing", "nope", 4}};
    struct as_metrics_ctx c = {.L = 1,
                               .H = H,
                               .T = T,
                               .tokens = toks,
                               .offsets = off,
                               .text = text,
                               .text_len = strlen(text),
                               .keywords = kws,
                               .n_keywords = 4,
                               .spans = spans,
                               .n_spans = 2,
                               .prefix_len = strlen(text)};
    struct as_metrics_layout lay;
    struct as_err err = {0};
    TU_CHECK(as_metrics_layout_compute(&c, AS_METRICS_LAST_ROW, &lay, &err) == AS_OK, "%s",
             err.msg);
    /* "15" x2, "plus" x1 (case-insensitive), "5" x2 (inside both "15") */
    TU_CHECK(lay.n_occ == 5, "n_occ %d want 5", lay.n_occ);
    /* notebook rule: token "5" contains "5" (x2), " plus" contains "plus"; "15" matches no token */
    TU_CHECK(lay.n_nb == 3, "n_nb %d want 3", lay.n_nb);
    TU_CHECK(lay.n_spans == 3, "n_spans %d want 3 (question, missing, derived prefix)",
             lay.n_spans);
    TU_CHECK(lay.token_width == 5 && lay.keyword_width == 4, "widths %zu %zu", lay.token_width,
             lay.keyword_width);

    float rows[H * T];
    for (int h = 0; h < H; h++)
        for (int k = 0; k < T; k++)
            rows[h * T + k] = (float)(k + 1 + h) / (float)(T * (T + 1) / 2 + h * T);
    struct as_metrics m;
    TU_CHECK(as_metrics_init(&m, &c, AS_METRICS_LAST_ROW, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_add_layer(&m, 0, rows, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_finish(&m, &err) == AS_OK, "%s", err.msg);
    double mean[T];
    for (int k = 0; k < T; k++)
        mean[k] = ((double)rows[k] + rows[T + k]) / 2;
    const int want_occ[5][5] = {/* kw, bytes, tokens */
                                {0, 8, 10, 4, 6},
                                {0, 20, 22, 12, 14},
                                {1, 11, 15, 6, 7},
                                {2, 9, 10, 5, 6},
                                {2, 21, 22, 13, 14}};
    for (int o = 0; o < 5 && o < lay.n_occ; o++) {
        const struct as_metrics_occ *oc = &m.occ[o];
        TU_CHECK(oc->keyword == want_occ[o][0] && oc->bytes[0] == want_occ[o][1] &&
                     oc->bytes[1] == want_occ[o][2] && oc->tokens[0] == want_occ[o][3] &&
                     oc->tokens[1] == want_occ[o][4],
                 "occ %d = kw %d bytes [%d,%d) tokens [%d,%d)", o, oc->keyword, oc->bytes[0],
                 oc->bytes[1], oc->tokens[0], oc->tokens[1]);
        double s = 0;
        for (int t = want_occ[o][3]; t < want_occ[o][4]; t++)
            s += mean[t];
        TU_CHECK(NEAR(m.occ_mass[o], s, 1e-12), "occ %d mass %g want %g", o, m.occ_mass[o], s);
    }
    const int want_nb[3][2] = {{2, 5}, {1, 6}, {2, 13}};
    for (int r = 0; r < 3 && r < lay.n_nb; r++) {
        TU_CHECK(m.nb_keyword[r] == want_nb[r][0] && m.nb_position[r] == want_nb[r][1],
                 "nb %d = kw %d pos %d", r, m.nb_keyword[r], m.nb_position[r]);
        TU_CHECK(NEAR(m.nb_mass[r], mean[want_nb[r][1]], 1e-12), "nb mass %d", r);
    }
    /* spans: question = tokens 1..10 ("What" .. "?"), missing absent, prefix absent (q at 0) */
    TU_CHECK(!strcmp(m.spans[0].name, "question") && m.spans[0].tokens[0] == 1 &&
                 m.spans[0].tokens[1] == 11,
             "question tokens [%d,%d)", m.spans[0].tokens[0], m.spans[0].tokens[1]);
    TU_CHECK(m.spans[1].bytes[0] == -1 && m.spans[1].tokens[0] == -1, "missing span");
    TU_CHECK(!strcmp(m.spans[2].name, "prefix") && m.spans[2].kind == AS_SPAN_DERIVED &&
                 m.spans[2].tokens[0] == -1,
             "derived prefix is empty");
    for (int h = 0; h < H; h++) {
        double s = 0;
        for (int t = 1; t < 11; t++)
            s += rows[h * T + t];
        TU_CHECK(NEAR(m.span_mass[h], s, 1e-12), "span_mass h%d", h);
        TU_CHECK(NEAR(m.span_lift[h], s / (10.0 / T), 1e-12), "span_lift h%d", h);
    }
    TU_CHECK(isnan(m.span_lift[H]) && m.span_mass[H] == 0.0, "absent span: mass 0, lift NaN");
    as_metrics_free(&m);
}

/* A chat-templated text (docs/SWEEP.md "Chat prompts"): "U: " + the user's "15 x" + "|A: 15".
 * Keywords, declared spans and prefix / question come from bytes [3, 7) only; the template is
 * the derived spans template [0, 3) and template_end [7, 13). Tokens by hand:
 * BOS U : ▁ 1 5 ▁x | A : ▁ 1 5 */
static void test_chat_prompt(void) {
    const char *text = "U: 15 x|A: 15";
    enum { T = 13 };
    const int32_t off[T * 2] = {0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,
                                7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13};
    const char *toks[T] = {"<s>", "U", ":", " ", "1", "5", " x", "|", "A", ":", " ", "1", "5"};
    const char *kws[] = {"15", "A"};
    struct as_metrics_span_def spans[] = {{"x", "x", 1}, {"u", "U", 1}};
    struct as_metrics_ctx c = {.L = 1,
                               .H = 1,
                               .T = T,
                               .tokens = toks,
                               .offsets = off,
                               .text = text,
                               .text_len = strlen(text),
                               .keywords = kws,
                               .n_keywords = 2,
                               .spans = spans,
                               .n_spans = 2,
                               .prompt_start = 3,
                               .prompt_len = 4,
                               .chat = 1,
                               .prefix_len = 2};
    struct as_metrics_layout lay;
    struct as_err err = {0};
    TU_CHECK(as_metrics_layout_compute(&c, AS_METRICS_LAST_ROW, &lay, &err) == AS_OK, "%s",
             err.msg);
    /* "15" once (not the template's), "A" never (the template's "A" token is skipped too) */
    TU_CHECK(lay.n_occ == 1 && lay.n_nb == 0, "n_occ %d n_nb %d, want 1 0", lay.n_occ, lay.n_nb);
    TU_CHECK(lay.n_spans == 6, "n_spans %d want 6", lay.n_spans);
    float row[T];
    for (int k = 0; k < T; k++)
        row[k] = 1.0f / T;
    struct as_metrics m;
    TU_CHECK(as_metrics_init(&m, &c, AS_METRICS_LAST_ROW, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_add_layer(&m, 0, row, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(as_metrics_finish(&m, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(lay.n_occ < 1 ||
                 (m.occ[0].keyword == 0 && m.occ[0].bytes[0] == 3 && m.occ[0].bytes[1] == 5 &&
                  m.occ[0].tokens[0] == 4 && m.occ[0].tokens[1] == 6),
             "occ: kw %d bytes [%d, %d) tokens [%d, %d)", m.occ[0].keyword, m.occ[0].bytes[0],
             m.occ[0].bytes[1], m.occ[0].tokens[0], m.occ[0].tokens[1]);
    const struct {
        const char *name;
        int kind, b0, b1, t0, t1;
    } want[6] = {
        {"x", AS_SPAN_DECLARED, 6, 7, 6, 7},       {"u", AS_SPAN_DECLARED, -1, -1, -1, -1},
        {"prefix", AS_SPAN_DERIVED, 3, 5, 4, 6},   {"question", AS_SPAN_DERIVED, 5, 7, 6, 7},
        {"template", AS_SPAN_DERIVED, 0, 3, 1, 4}, {"template_end", AS_SPAN_DERIVED, 7, 13, 7, 13}};
    for (int k = 0; k < 6 && k < lay.n_spans; k++) {
        const struct as_metrics_span *sp = &m.spans[k];
        TU_CHECK(!strcmp(sp->name, want[k].name) && sp->kind == want[k].kind &&
                     sp->bytes[0] == want[k].b0 && sp->bytes[1] == want[k].b1 &&
                     sp->tokens[0] == want[k].t0 && sp->tokens[1] == want[k].t1,
                 "span %d = %s kind %d bytes [%d, %d) tokens [%d, %d)", k, sp->name, sp->kind,
                 sp->bytes[0], sp->bytes[1], sp->tokens[0], sp->tokens[1]);
    }
    as_metrics_free(&m);
}

static void test_prefixes(void) {
    const char *t[] = {"What is 15?", "Let's think.\n\nWhat is 15?", "Q: What is 15?"};
    size_t lens[3], pl[3];
    for (int i = 0; i < 3; i++)
        lens[i] = strlen(t[i]);
    as_metrics_variant_prefixes(t, lens, 3, pl);
    TU_CHECK(pl[0] == 0 && pl[1] == 14 && pl[2] == 3, "prefixes %zu %zu %zu", pl[0], pl[1], pl[2]);
    as_metrics_variant_prefixes(t, lens, 1, pl);
    TU_CHECK(pl[0] == 0, "single variant: empty prefix");
    /* "é" = C3 A9, "©" = C2 A9: the one shared byte is a continuation byte -> no shared suffix */
    const char *u[] = {"x\xc3\xa9", "y\xc2\xa9"};
    size_t ul[2] = {3, 3};
    as_metrics_variant_prefixes(u, ul, 2, pl);
    TU_CHECK(pl[0] == 3 && pl[1] == 3, "UTF-8 boundary: %zu %zu", pl[0], pl[1]);
    const char *v[] = {"a: caf\xc3\xa9", "bb: caf\xc3\xa9"};
    size_t vl[2] = {strlen(v[0]), strlen(v[1])};
    as_metrics_variant_prefixes(v, vl, 2, pl);
    TU_CHECK(pl[0] == 1 && pl[1] == 2, "shared non-ASCII suffix: %zu %zu", pl[0], pl[1]);

    /* derived spans of a group without declared spans */
    const char *text = t[1];
    enum { T = 4 };
    const int32_t off[T * 2] = {0, 0, 0, 12, 12, 14, 14, 25};
    struct as_metrics_ctx c = {.L = 1,
                               .H = 1,
                               .T = T,
                               .offsets = off,
                               .text = text,
                               .text_len = lens[1],
                               .prefix_len = 14};
    struct as_metrics m;
    struct as_err err = {0};
    TU_CHECK(as_metrics_init(&m, &c, AS_METRICS_LAST_ROW, &err) == AS_OK, "%s", err.msg);
    TU_CHECK(m.lay.n_spans == 2, "two derived spans, got %d", m.lay.n_spans);
    TU_CHECK(!strcmp(m.spans[0].name, "prefix") && m.spans[0].bytes[0] == 0 &&
                 m.spans[0].bytes[1] == 14 && m.spans[0].tokens[0] == 1 &&
                 m.spans[0].tokens[1] == 3,
             "prefix bytes [%d,%d) tokens [%d,%d)", m.spans[0].bytes[0], m.spans[0].bytes[1],
             m.spans[0].tokens[0], m.spans[0].tokens[1]);
    TU_CHECK(!strcmp(m.spans[1].name, "question") && m.spans[1].bytes[0] == 14 &&
                 m.spans[1].tokens[0] == 3 && m.spans[1].tokens[1] == 4,
             "question tokens [%d,%d)", m.spans[1].tokens[0], m.spans[1].tokens[1]);
    as_metrics_free(&m);
}

static void test_bad_input(void) {
    struct as_err err = {0};
    struct as_metrics m;
    struct as_metrics_ctx c = {.L = 0, .H = 1, .T = 1};
    TU_CHECK(as_metrics_init(&m, &c, AS_METRICS_FULL, &err) == AS_ERR_INVALID, "L=0 refused");
    const int32_t off[2] = {0, 99};
    struct as_metrics_ctx d = {.L = 1, .H = 1, .T = 1, .offsets = off, .text = "ab", .text_len = 2};
    TU_CHECK(as_metrics_init(&m, &d, AS_METRICS_FULL, &err) == AS_ERR_INVALID,
             "offset past the text refused");
    TU_CHECK(strstr(err.msg, "offsets[0]") != NULL, "message names the offset: %s", err.msg);
}

int main(void) {
    test_heads();
    test_uniform_layer();
    test_keywords_spans();
    test_chat_prompt();
    test_prefixes();
    test_bad_input();
    return tu_finish("test_metrics");
}
