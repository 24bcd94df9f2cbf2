/* test_tok_roundtrip.c - offsets, decoded strings and bad input.
 *   - for ASCII, accented, CJK, emoji and whitespace texts and every source:
 *     offsets tile the text; every token's span holds exactly its piece (less the
 *     "▁" prefix, which has no bytes); tokens[i] is HF decode([id]); decoding
 *     all ids gives the text back;
 *   - special tokens, empty text, a text with NUL, 1 MB of text (timed);
 *   - invalid UTF-8 is rejected naming the byte offset;
 *   - tokenizer.json, GGUF and tokenizer.bin agree on random texts;
 *   - two threads encoding with one tokenizer get the single-threaded result. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <time.h>

#include "tok_test_common.h"

static const char *TEXTS[] = {
    "The quick brown fox jumps over the lazy dog. 0123456789 (a+b)*c = d; e/f!?",
    "Façade, naïve café, Übermensch, smørrebrød, crème brûlée, jalapeño, Ørsted",
    "你好，世界。日本語のテキストと한국어 텍스트, 中文标点符号！",
    "🦙 llamas 🚀 rockets 👍🏽 thumbs, 🇫🇷 flags and 👨‍👩‍👧 families",
    "  leading spaces,\ttabs\t\tand\nnew\n\nlines   trailing   ",
    " Hello world",
    "\n",
    "a",
    "x\u2028y \u00a0z\u2581w", /* line separator, NBSP and a literal ▁ */
    "Question: What is 15 plus 27?\nAnswer: 42",
};
#define N_TEXTS (int)(sizeof TEXTS / sizeof TEXTS[0])

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* piece with the source's space marker turned into ' ' */
static size_t raw_piece(const struct as_tokenizer *t, int32_t id, char *out, size_t cap) {
    const char *p = as_tokenizer_piece(t, id);
    size_t n = 0;
    for (size_t i = 0; p[i] && n + 1 < cap;) {
        if (t->source != AS_TOK_SOURCE_LLAMA2C && strncmp(p + i, "\xE2\x96\x81", 3) == 0) {
            out[n++] = ' ';
            i += 3;
        } else {
            out[n++] = p[i++];
        }
    }
    out[n] = '\0';
    return n;
}

static void check_tokens(const char *what, const struct as_tokenizer *t,
                         const struct as_encoding *e, const char *text) {
    char raw[256];
    int bad = 0;
    for (int i = 0; i < e->n && bad < 3; i++) {
        int32_t id = e->ids[i], s = e->offsets[2 * i], en = e->offsets[2 * i + 1];
        const char *span = text + s;
        size_t sl = (size_t)(en - s);
        /* decoded string = the precomputed decode([id]) */
        int ok = e->token_lens[i] == (int32_t)strlen(as_tokenizer_token_str(t, id)) ||
                 id == t->byte_id[0];
        ok &= memcmp(e->tokens[i], as_tokenizer_token_str(t, id), (size_t)e->token_lens[i]) == 0;
        if (t->type[id] == AS_TOK_TYPE_BYTE) {
            /* the k-th byte piece of a character is that character's k-th byte */
            int k = 0;
            while (i - k - 1 >= 0 && e->offsets[2 * (i - k - 1)] == s &&
                   e->offsets[2 * (i - k - 1) + 1] == en)
                k++;
            int b = -1;
            for (int v = 0; v < 256; v++)
                if (t->byte_id[v] == id) b = v;
            ok &= k < (int)sl && (unsigned char)span[k] == b;
            /* decode([byte]) is the byte when it is ASCII, else U+FFFD */
            ok &= b < 0x80 ? (e->token_lens[i] == 1 && (unsigned char)e->tokens[i][0] == b)
                           : strcmp(e->tokens[i], "\xEF\xBF\xBD") == 0;
        } else if (t->type[id] == AS_TOK_TYPE_CONTROL) {
            if (i == 0 && id == t->bos_id && sl == 0)
                ok &= strcmp(e->tokens[i], "<s>") == 0; /* BOS */
            else
                ok &= strlen(e->tokens[i]) == sl && memcmp(e->tokens[i], span, sl) == 0;
        } else {
            size_t rl = raw_piece(t, id, raw, sizeof raw);
            /* the span holds the piece, or the piece minus the inserted " " prefix */
            /* (a literal "▁" in the text stays "▁": compare with the piece itself too) */
            const char *pc = e->pieces[i];
            int direct = (rl == sl && memcmp(raw, span, sl) == 0) ||
                         (strlen(pc) == sl && memcmp(pc, span, sl) == 0);
            int prefixed = rl == sl + 1 && raw[0] == ' ' && memcmp(raw + 1, span, sl) == 0;
            ok &= direct || prefixed;
            /* HF decode([id]) strips one leading space */
            const char *want = raw[0] == ' ' ? raw + 1 : raw;
            ok &= strcmp(e->tokens[i], want) == 0;
        }
        if (!ok) {
            bad++;
            TU_CHECK(0,
                     "%s: token %d (id %d, piece \"%s\", decoded \"%s\") vs span [%d, %d) \"%.*s\"",
                     what, i, (int)id, e->pieces[i], e->tokens[i], (int)s, (int)en, (int)sl, span);
        }
    }
    tu_checks++;
}

static void roundtrip(const struct as_tokenizer *t, const char *name, const char *text, size_t len,
                      int idx) {
    char what[160];
    snprintf(what, sizeof what, "%s text %d", name, idx);
    for (int bos = 0; bos <= 1; bos++) {
        struct as_encoding e;
        struct as_err err = {0};
        if (as_tokenizer_encode(t, text, len, bos, &e, &err) != AS_OK) {
            TU_CHECK(0, "%s: %s", what, err.msg);
            continue;
        }
        tt_offsets_tile(what, &e, len, bos);
        check_tokens(what, t, &e, text);
        char *d = NULL;
        size_t dl = 0;
        /* without BOS all ids; with BOS skip the special tokens */
        if (as_tokenizer_decode(t, e.ids, e.n, bos, &d, &dl, &err) != AS_OK)
            TU_CHECK(0, "%s: decode: %s", what, err.msg);
        else if (t->source != AS_TOK_SOURCE_LLAMA2C && strstr(text, "\u2581")) {
            /* HF decodes a literal ▁ in the text to a space as well */
            char want[512];
            size_t wl = 0;
            for (size_t k = 0; k < len && wl + 1 < sizeof want;)
                if (strncmp(text + k, "\u2581", 3) == 0)
                    want[wl++] = ' ', k += 3;
                else
                    want[wl++] = text[k++];
            TU_CHECK(dl == wl && memcmp(d, want, wl) == 0, "%s (bos %d): decode gives \"%s\"", what,
                     bos, d);
        } else
            TU_CHECK(dl == len && memcmp(d, text, len) == 0, "%s (bos %d): decode gives \"%s\"",
                     what, bos, d);
        free(d);
        as_encoding_free(&e);
    }
}

static void check_encode(const struct as_tokenizer *t, const char *what, const char *text,
                         size_t len, int bos, const int32_t *want, int n_want,
                         const int32_t *want_offsets) {
    struct as_encoding e;
    struct as_err err = {0};
    if (as_tokenizer_encode(t, text, len, bos, &e, &err) != AS_OK) {
        TU_CHECK(0, "%s: %s", what, err.msg);
        return;
    }
    tt_ids_equal(what, e.ids, e.n, want, n_want);
    if (want_offsets && e.n == n_want)
        for (int i = 0; i < 2 * e.n; i++)
            TU_CHECK(e.offsets[i] == want_offsets[i], "%s: offsets[%d] = %d, expected %d", what, i,
                     (int)e.offsets[i], (int)want_offsets[i]);
    tt_offsets_tile(what, &e, len, bos);
    as_encoding_free(&e);
}

static void bad_utf8(const struct as_tokenizer *t) {
    struct {
        const char *s;
        size_t n;
        int off;
    } cases[] = {
        {"abc\x80", 4, 3},
        {"\xC3", 1, 0},
        {"ok\xE4\xBD", 4, 2},
        {"\xC0\xAF", 2, 0},
        {"\xE0\x80\x80", 3, 0},
        {"\xED\xA0\x80", 3, 0},
        {"\xF4\x90\x80\x80", 4, 0},
        {"x\xFF", 2, 1},
        {"ab\xF0\x9F\x98", 5, 2},
        {"12345678\xC3(", 10, 8},
        {"\xE4\xBD\xA0\xE5\xA5", 5, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct as_encoding e;
        struct as_err err = {0};
        as_status st = as_tokenizer_encode(t, cases[i].s, cases[i].n, 1, &e, &err);
        char want[64];
        snprintf(want, sizeof want, "byte offset %d", cases[i].off);
        TU_CHECK(st == AS_ERR_INVALID && strstr(err.msg, want) && e.n == 0,
                 "invalid UTF-8 case %zu: status %d, message \"%s\", expected \"%s\"", i, (int)st,
                 err.msg, want);
        as_encoding_free(&e);
    }
}

/* ---------------------------------------------------------------- threads */
struct job {
    const struct as_tokenizer *t;
    const char *text;
    size_t len;
    const struct as_encoding *ref;
    int mismatches;
};

static void *job_run(void *arg) {
    struct job *j = arg;
    for (int it = 0; it < 20; it++) {
        struct as_encoding e;
        struct as_err err = {0};
        if (as_tokenizer_encode(j->t, j->text, j->len, 1, &e, &err) != AS_OK || e.n != j->ref->n ||
            memcmp(e.ids, j->ref->ids, (size_t)e.n * 4) != 0 ||
            memcmp(e.offsets, j->ref->offsets, (size_t)e.n * 8) != 0)
            j->mismatches++;
        as_encoding_free(&e);
    }
    return NULL;
}

static void threads(const struct as_tokenizer *t, const char *a, size_t al, const char *b,
                    size_t bl) {
    struct as_encoding ra, rb;
    struct as_err err = {0};
    if (as_tokenizer_encode(t, a, al, 1, &ra, &err) != AS_OK ||
        as_tokenizer_encode(t, b, bl, 1, &rb, &err) != AS_OK) {
        TU_CHECK(0, "threads: %s", err.msg);
        return;
    }
    struct job ja = {t, a, al, &ra, 0}, jb = {t, b, bl, &rb, 0};
    pthread_t x, y;
    pthread_create(&x, NULL, job_run, &ja);
    pthread_create(&y, NULL, job_run, &jb);
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    TU_CHECK(ja.mismatches == 0 && jb.mismatches == 0,
             "concurrent encodes differ from single-threaded ones (%d, %d mismatches)",
             ja.mismatches, jb.mismatches);
    as_encoding_free(&ra);
    as_encoding_free(&rb);
}

/* ---------------------------------------------------------------- random texts */
static const char *ALPHABET[] = {" ",      "  ",  "\n", "\t", "a",  "e",  "t",  "h",
                                 "the",    "ing", "er", "1",  "27", ".",  ",",  "<",
                                 ">",      "/",   "s",  "é",  "ü",  "你", "好", "🦙",
                                 "\u2028", "\r",  "A",  "Z",  "'",  "0x", "__", "…"};

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void agree(struct as_tokenizer *hf, struct as_tokenizer *gg, struct as_tokenizer *l2) {
    int n_texts = 400, same_gg = 0, same_l2 = 0;
    char buf[512];
    for (int k = 0; k < n_texts; k++) {
        size_t n = 0;
        int parts = 1 + (int)(rnd() % 24);
        for (int p = 0; p < parts; p++) {
            const char *s = ALPHABET[rnd() % (sizeof ALPHABET / sizeof ALPHABET[0])];
            size_t l = strlen(s);
            if (n + l >= sizeof buf) break;
            memcpy(buf + n, s, l);
            n += l;
        }
        buf[n] = '\0';
        struct as_encoding a, b, c;
        struct as_err err = {0};
        as_status s1 = as_tokenizer_encode(hf, buf, n, 1, &a, &err);
        as_status s2 = as_tokenizer_encode(gg, buf, n, 1, &b, &err);
        as_status s3 = as_tokenizer_encode(l2, buf, n, 1, &c, &err);
        int eq_gg = s1 == AS_OK && s2 == AS_OK && a.n == b.n &&
                    !memcmp(a.ids, b.ids, (size_t)a.n * 4) &&
                    !memcmp(a.offsets, b.offsets, (size_t)a.n * 8);
        int eq_l2 = s1 == AS_OK && s3 == AS_OK && a.n == c.n &&
                    !memcmp(a.ids, c.ids, (size_t)a.n * 4) &&
                    !memcmp(a.offsets, c.offsets, (size_t)a.n * 8);
        /* llama2.c splits no special tokens: only texts without <s>, </s>, <unk> compare */
        int has_special = strstr(buf, "<s>") || strstr(buf, "</s>") || strstr(buf, "<unk>");
        same_gg += eq_gg;
        same_l2 += eq_l2 || has_special;
        if (!eq_gg) TU_CHECK(0, "tokenizer.json and GGUF differ on \"%s\"", buf);
        if (!eq_l2 && !has_special)
            TU_CHECK(0, "tokenizer.json and tokenizer.bin differ on \"%s\"", buf);
        as_encoding_free(&a);
        as_encoding_free(&b);
        as_encoding_free(&c);
    }
    printf("  random texts: tokenizer.json == GGUF on %d/%d, == tokenizer.bin on %d/%d\n", same_gg,
           n_texts, same_l2, n_texts);
}

int main(void) {
    tu_require_data("tokenizers/llama2/tokenizer.json");
    tu_require_data("tokenizers/vectors/ggml-vocab-llama-spm.gguf");
    struct as_tokenizer hf, gg, l2;
    tt_load(&hf, tu_data_path("tokenizers/llama2"));
    tt_load(&gg, tu_data_path("tokenizers/vectors/ggml-vocab-llama-spm.gguf"));
    tt_load(&l2, tu_data_path("tokenizers/llama2/tokenizer.bin"));
    struct as_tokenizer *all[3] = {&hf, &gg, &l2};
    const char *names[3] = {"tokenizer.json", "gguf", "tokenizer.bin"};

    for (int s = 0; s < 3; s++)
        for (int i = 0; i < N_TEXTS; i++) {
            if (s == 2 && strstr(TEXTS[i], "\u2581")) continue; /* llama2.c has no "▁" piece */
            roundtrip(all[s], names[s], TEXTS[i], strlen(TEXTS[i]), i);
        }

    /* special tokens are split out of the raw text; the next segment gets its own "▁" */
    {
        const char *txt = "a</s>b<s><unk>";
        int32_t want[] = {1, 263, 2, 289, 1, 0}; /* <s> ▁a </s> ▁b <s> <unk> */
        int32_t offs[] = {0, 0, 0, 1, 1, 5, 5, 6, 6, 9, 9, 14};
        check_encode(&hf, "specials (tokenizer.json)", txt, strlen(txt), 1, want, 6, offs);
        check_encode(&gg, "specials (gguf)", txt, strlen(txt), 1, want, 6, offs);
    }
    /* empty text: only BOS, or nothing */
    {
        int32_t bos[] = {1}, offs[] = {0, 0};
        for (int s = 0; s < 3; s++) {
            check_encode(all[s], "empty text with BOS", "", 0, 1, bos, 1, offs);
            check_encode(all[s], "empty text without BOS", "", 0, 0, NULL, 0, NULL);
            check_encode(all[s], "NULL text of length 0", NULL, 0, 1, bos, 1, offs);
        }
        TU_CHECK(as_tokenizer_add_bos_default(&hf) == 1,
                 "tokenizer_config.json add_bos_token is true");
    }
    /* a NUL byte is valid UTF-8: <0x00>, decoded to a 1-byte string holding NUL */
    {
        const char txt[] = "a\0b";
        struct as_encoding e;
        struct as_err err = {0};
        TU_CHECK(as_tokenizer_encode(&hf, txt, 3, 0, &e, &err) == AS_OK, "NUL text: %s", err.msg);
        int found = 0;
        for (int i = 0; i < e.n; i++)
            if (e.ids[i] == hf.byte_id[0]) found = e.token_lens[i] == 1 && e.tokens[i][0] == '\0';
        TU_CHECK(found, "NUL text: expected a <0x00> token decoding to one NUL byte");
        tt_offsets_tile("NUL text", &e, 3, 0);
        as_encoding_free(&e);
    }
    bad_utf8(&hf);
    bad_utf8(&l2);

    /* 1 MB of mixed text */
    {
        size_t cap = 1 << 20, n = 0;
        char *big = malloc(cap + 1);
        for (int k = 0; n < cap; k++) {
            if (strstr(TEXTS[k % N_TEXTS], "\u2581")) continue; /* a literal ▁ decodes to a space */
            const char *s = TEXTS[k % N_TEXTS];
            size_t l = strlen(s);
            if (n + l + 1 > cap) break;
            memcpy(big + n, s, l);
            n += l;
            big[n++] = ' ';
        }
        big[n] = '\0';
        for (int s = 0; s < 3; s++) {
            struct as_encoding e;
            struct as_err err = {0};
            double t0 = now();
            as_status st = as_tokenizer_encode(all[s], big, n, 1, &e, &err);
            double dt = now() - t0;
            TU_CHECK(st == AS_OK, "1 MB text (%s): %s", names[s], err.msg);
            printf("  1 MB text, %-15s %zu bytes -> %d tokens in %.3f s\n", names[s], n, e.n, dt);
            TU_CHECK(dt < 3.0, "1 MB text (%s) took %.2f s", names[s], dt);
            if (st == AS_OK) {
                tt_offsets_tile("1 MB text", &e, n, 1);
                char *d = NULL;
                size_t dl = 0;
                if (s < 2 && as_tokenizer_decode(all[s], e.ids, e.n, 1, &d, &dl, &err) == AS_OK)
                    TU_CHECK(dl == n && memcmp(d, big, n) == 0, "1 MB text (%s): decode differs",
                             names[s]);
                free(d);
            }
            as_encoding_free(&e);
        }
        size_t cut = 200000;
        while (((unsigned char)big[cut] & 0xC0) == 0x80)
            cut--;
        threads(&hf, big, cut, TEXTS[3], strlen(TEXTS[3]));
        free(big);
    }
    agree(&hf, &gg, &l2);

    as_tokenizer_free(&hf);
    as_tokenizer_free(&gg);
    as_tokenizer_free(&l2);
    return tu_finish("test_tok_roundtrip");
}
