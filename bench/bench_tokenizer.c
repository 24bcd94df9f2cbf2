/* bench_tokenizer.c - tokenizer throughput (MB/s, tokens/s) on ~1 MB of mixed
 * English text, and how the time per byte grows from 1 KB to 1 MB (it must stay
 * near-linear: the BPE engine is O(n log n)).
 *
 * usage: bench_tokenizer [VOCAB [TEXT_FILE]]
 *   VOCAB      HF dir / tokenizer.json / .gguf / tokenizer.bin
 *              (default: $ATTNSWEEP_DATA_DIR/tokenizers/llama2)
 *   TEXT_FILE  text to use instead of the generated one (e.g. a Debian license
 *              text); it is repeated up to 1 MiB. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attnsweep/tokenizer.h"

#ifndef ATTNSWEEP_BENCH_DATA_DIR
#define ATTNSWEEP_BENCH_DATA_DIR "../shared/data"
#endif

#define TEXT_BYTES (1u << 20)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

static const char *WORDS[] = {
    "the",          "of",
    "and",          "to",
    "in",           "is",
    "that",         "for",
    "it",           "as",
    "was",          "with",
    "be",           "by",
    "on",           "not",
    "he",           "this",
    "are",          "or",
    "his",          "from",
    "at",           "which",
    "but",          "have",
    "an",           "had",
    "they",         "you",
    "were",         "their",
    "one",          "all",
    "we",           "can",
    "her",          "has",
    "there",        "been",
    "if",           "more",
    "when",         "will",
    "would",        "who",
    "so",           "no",
    "attention",    "model",
    "layer",        "head",
    "token",        "prompt",
    "entropy",      "question",
    "answer",       "mathematician",
    "expert",       "step",
    "think",        "because",
    "through",      "between",
    "however",      "language",
    "distribution", "probability",
    "computation",  "parallel",
    "network",      "transformer",
    "sequence",     "position",
    "embedding",    "weather",
    "morning",      "library",
    "history",      "government",
    "university",   "important",
    "different",    "following",
    "children",     "development",
    "information",  "experience",
    "people",       "little",
    "system",       "program",
    "number",       "world",
    "house",        "water",
    "light",        "river",
    "city",         "café",
    "naïve",        "résumé",
    "Zürich",       "São",
    "Paulo",        "don't",
    "it's",         "we'll",
    "e.g.",         "i.e.",
};
#define N_WORDS (sizeof WORDS / sizeof WORDS[0])
static const char *RARE[] = {"你好", "世界", "🦙", "🚀", "—", "…", "€", "½", "Ωmega", "naïveté"};
#define N_RARE (sizeof RARE / sizeof RARE[0])

/* Deterministic English-like prose: sentences, numbers, punctuation, paragraphs,
 * a few accented words and rare non-Latin characters. */
static size_t gen_text(char *buf, size_t cap) {
    size_t n = 0;
#define PUT(s)                                                                                     \
    do {                                                                                           \
        size_t l_ = strlen(s);                                                                     \
        if (n + l_ >= cap) goto out;                                                               \
        memcpy(buf + n, s, l_);                                                                    \
        n += l_;                                                                                   \
    } while (0)
    for (;;) {
        int words = 6 + (int)rnd(18);
        for (int w = 0; w < words; w++) {
            char tmp[64];
            uint32_t r = rnd(1000);
            if (r < 30)
                snprintf(tmp, sizeof tmp, "%u", rnd(r < 10 ? 100 : 100000));
            else if (r < 33)
                snprintf(tmp, sizeof tmp, "%s", RARE[rnd(N_RARE)]);
            else
                snprintf(tmp, sizeof tmp, "%s", WORDS[rnd(N_WORDS)]);
            if (w == 0 && tmp[0] >= 'a' && tmp[0] <= 'z') tmp[0] = (char)(tmp[0] - 'a' + 'A');
            if (w > 0) PUT(rnd(40) == 0 ? "  " : " ");
            if (rnd(60) == 0) PUT("(");
            PUT(tmp);
            if (rnd(12) == 0) PUT(",");
        }
        static const char *END[] = {".", ".", ".", "?", "!", ":", ";"};
        PUT(END[rnd(7)]);
        PUT(rnd(8) == 0 ? "\n\n" : " ");
    }
out:
    buf[n] = '\0';
    return n;
#undef PUT
}

static size_t load_text(const char *path, char *buf, size_t cap) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "bench_tokenizer: cannot open %s\n", path);
        exit(1);
    }
    size_t n = fread(buf, 1, cap - 1, fp);
    fclose(fp);
    if (n == 0) {
        fprintf(stderr, "bench_tokenizer: %s is empty\n", path);
        exit(1);
    }
    for (size_t k = n; k < cap - 1; k++)
        buf[k] = buf[k % n]; /* repeat up to 1 MiB */
    buf[cap - 1] = '\0';
    return cap - 1;
}

/* Largest prefix length <= want that ends on a UTF-8 character boundary. */
static size_t utf8_prefix(const char *s, size_t want) {
    while (want > 0 && ((unsigned char)s[want] & 0xC0) == 0x80)
        want--;
    return want;
}

/* Encodes text[0, len) repeatedly for at least min_s seconds; returns the best
 * (fastest) time of one call and its token count. */
static double time_encode(const struct as_tokenizer *t, const char *text, size_t len, double min_s,
                          int *n_tokens) {
    double best = 1e30, t_start = now();
    int reps = 0;
    do {
        struct as_encoding e;
        struct as_err err = {0};
        double t0 = now();
        if (as_tokenizer_encode(t, text, len, 1, &e, &err) != AS_OK) {
            fprintf(stderr, "bench_tokenizer: encode failed: %s\n", err.msg);
            exit(1);
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
        *n_tokens = e.n;
        as_encoding_free(&e);
        reps++;
    } while (now() - t_start < min_s || reps < 3);
    return best;
}

int main(int argc, char **argv) {
    char vocab_default[4096];
    const char *dd = getenv("ATTNSWEEP_DATA_DIR");
    snprintf(vocab_default, sizeof vocab_default, "%s/tokenizers/llama2",
             dd && *dd ? dd : ATTNSWEEP_BENCH_DATA_DIR);
    const char *vocab = argc > 1 ? argv[1] : vocab_default;
    char *text = malloc(TEXT_BYTES + 1);
    if (!text) return 1;
    size_t len =
        argc > 2 ? load_text(argv[2], text, TEXT_BYTES + 1) : gen_text(text, TEXT_BYTES + 1);
    len = utf8_prefix(text, len);

    struct as_tokenizer t;
    struct as_err err = {0};
    double t0 = now();
    if (as_tokenizer_load(&t, vocab, &err) != AS_OK) {
        fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
        return 1;
    }
    double t_load = now() - t0;
    printf("tokenizer benchmark\n");
    printf("  vocabulary : %s (%s, %d pieces), loaded in %.1f ms\n", vocab,
           as_tokenizer_source_name(t.source), (int)t.n_vocab, 1e3 * t_load);
    printf("  text       : %s, %zu bytes\n", argc > 2 ? argv[2] : "generated mixed English", len);

    int ntok = 0;
    double dt = time_encode(&t, text, len, 2.0, &ntok);
    printf("\nthroughput on the whole text (best of repeated runs, BOS included)\n");
    printf("  %zu bytes -> %d tokens in %.1f ms: %.2f MB/s, %.0f tokens/s\n", len, ntok, 1e3 * dt,
           (double)len / dt / 1e6, (double)ntok / dt);

    printf(
        "\nscaling (time per byte relative to 1 KB; near-linear means the ratio stays near 1)\n");
    printf("  %10s %9s %12s %10s %10s %8s\n", "bytes", "tokens", "time", "ns/byte", "MB/s",
           "ratio");
    double base = 0;
    for (size_t sz = 1024; sz <= TEXT_BYTES; sz *= 4) {
        size_t n = utf8_prefix(text, sz < len ? sz : len);
        double d = time_encode(&t, text, n, 0.5, &ntok);
        double nsb = 1e9 * d / (double)n;
        if (base == 0) base = nsb;
        printf("  %10zu %9d %9.3f ms %10.1f %10.2f %8.2f\n", n, ntok, 1e3 * d, nsb,
               (double)n / d / 1e6, nsb / base);
    }

    /* the coordinator's case: many short prompts */
    {
        int n_prompts = 2000;
        size_t total = 0;
        long tokens = 0;
        double s = now();
        for (int i = 0; i < n_prompts; i++) {
            size_t off = (size_t)(i * 997) % (len - 512);
            off = utf8_prefix(text, off);
            size_t l = utf8_prefix(text + off, 64 + (size_t)(i % 7) * 48);
            struct as_encoding e;
            if (as_tokenizer_encode(&t, text + off, l, 1, &e, &err) != AS_OK) {
                fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
                return 1;
            }
            total += l;
            tokens += e.n;
            as_encoding_free(&e);
        }
        double d = now() - s;
        printf("\nshort prompts: %d prompts (%zu bytes, %ld tokens) in %.1f ms: %.0f prompts/s, "
               "%.2f MB/s\n",
               n_prompts, total, tokens, 1e3 * d, n_prompts / d, (double)total / d / 1e6);
    }
    as_tokenizer_free(&t);
    free(text);
    return 0;
}
