/* bpe_train.c - trains the default model's tokenizer and writes it as an HF
 * tokenizer.json in the same shape as TinyLlama's (SentencePiece-style BPE
 * with byte fallback: Prepend("▁") + Replace(" " -> "▁") normalizer, no
 * pre-tokenizer, the Replace/ByteFallback/Fuse/Strip decoder).
 *
 * Vocabulary layout (like Llama-2's): 0 <unk>, 1 <s>, 2 </s>, 3..258 the byte
 * pieces <0x00>..<0xFF>, then "▁" and the printable ASCII characters, then one
 * piece per merge in merge order. Like Llama, digits are never merged, so
 * numbers tokenize digit by digit. Training is classic BPE over words (a word
 * starts at "▁"): repeatedly merge the most frequent adjacent pair, ties broken
 * by the smaller (left id, right id), so the result is deterministic. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/defaults.h"
#include "attnsweep/fileio.h"

#define SP        "\xe2\x96\x81" /* U+2581, SentencePiece's word-boundary marker */
#define MAX_SYM   1024
#define MAX_PIECE 64

struct word {
    int *sym; /* symbol ids */
    int n;
    int freq;
};

struct trainer {
    char piece[MAX_SYM][MAX_PIECE];
    int n_sym;    /* symbols known to the trainer (base chars + merges) */
    int first_id; /* vocab id of trainer symbol 0 (after specials and bytes) */
    struct word *words;
    int n_words, cap_words;
    char (*merges)[2 * MAX_PIECE + 2];
    int n_merges;
};

static int sym_of_char(const struct trainer *t, const char *s, size_t len) {
    for (int i = 0; i < t->n_sym; i++)
        if (strlen(t->piece[i]) == len && memcmp(t->piece[i], s, len) == 0) return i;
    return -1;
}

static int is_digit_piece(const char *p) {
    for (; *p; p++)
        if (*p >= '0' && *p <= '9') return 1;
    return 0;
}

/* Adds word (symbol ids) to the table, merging duplicates. */
static as_status add_word(struct trainer *t, const int *sym, int n, struct as_err *err) {
    for (int w = 0; w < t->n_words; w++)
        if (t->words[w].n == n && memcmp(t->words[w].sym, sym, sizeof(int) * n) == 0) {
            t->words[w].freq++;
            return AS_OK;
        }
    if (t->n_words == t->cap_words) {
        int cap = t->cap_words ? 2 * t->cap_words : 256;
        struct word *nw = realloc(t->words, sizeof *nw * cap);
        if (!nw) return as_err_set(err, AS_ERR_NOMEM, "bpe training: out of memory");
        t->words = nw;
        t->cap_words = cap;
    }
    int *copy = malloc(sizeof(int) * n);
    if (!copy) return as_err_set(err, AS_ERR_NOMEM, "bpe training: out of memory");
    memcpy(copy, sym, sizeof(int) * n);
    t->words[t->n_words++] = (struct word){copy, n, 1};
    return AS_OK;
}

/* Normalizes text like the HF normalizer and splits it into words of base symbols. */
static as_status collect_words(struct trainer *t, const char *text, struct as_err *err) {
    int buf[4096], n = 0;
    int sp = sym_of_char(t, SP, 3);
    buf[n++] = sp; /* Prepend("▁") */
    for (const char *p = text;; p++) {
        int s = -1;
        if (*p == ' ')
            s = sp;
        else if (*p > ' ' && *p < 127)
            s = sym_of_char(t, p, 1);
        /* a word ends before "▁", and at any character without a base piece */
        if ((s == sp || s < 0) && n > 0) {
            as_status st = add_word(t, buf, n, err);
            if (st != AS_OK) return st;
            n = 0;
        }
        if (!*p) break;
        if (s >= 0 && n < (int)(sizeof buf / sizeof buf[0])) buf[n++] = s;
    }
    return AS_OK;
}

static as_status train(struct trainer *t, int n_merges_max, struct as_err *err) {
    static int count[MAX_SYM][MAX_SYM];
    t->merges = calloc(n_merges_max > 0 ? n_merges_max : 1, sizeof *t->merges);
    if (!t->merges) return as_err_set(err, AS_ERR_NOMEM, "bpe training: out of memory");
    while (t->n_merges < n_merges_max && t->n_sym < MAX_SYM) {
        memset(count, 0, sizeof(count[0]) * t->n_sym);
        for (int w = 0; w < t->n_words; w++)
            for (int i = 0; i + 1 < t->words[w].n; i++)
                count[t->words[w].sym[i]][t->words[w].sym[i + 1]] += t->words[w].freq;
        int ba = -1, bb = -1, best = 0;
        for (int a = 0; a < t->n_sym; a++)
            for (int b = 0; b < t->n_sym; b++)
                if (count[a][b] > best && !is_digit_piece(t->piece[a]) &&
                    !is_digit_piece(t->piece[b]) &&
                    strlen(t->piece[a]) + strlen(t->piece[b]) < MAX_PIECE &&
                    b != sym_of_char(t, SP, 3)) {
                    best = count[a][b];
                    ba = a;
                    bb = b;
                }
        if (ba < 0) break;
        int ns = t->n_sym++;
        size_t la = strlen(t->piece[ba]), lb = strlen(t->piece[bb]);
        memcpy(t->piece[ns], t->piece[ba], la);
        memcpy(t->piece[ns] + la, t->piece[bb], lb + 1);
        snprintf(t->merges[t->n_merges++], sizeof t->merges[0], "%s %s", t->piece[ba],
                 t->piece[bb]);
        for (int w = 0; w < t->n_words; w++) {
            struct word *wd = &t->words[w];
            int o = 0;
            for (int i = 0; i < wd->n; i++) {
                if (i + 1 < wd->n && wd->sym[i] == ba && wd->sym[i + 1] == bb) {
                    wd->sym[o++] = ns;
                    i++;
                } else {
                    wd->sym[o++] = wd->sym[i];
                }
            }
            wd->n = o;
        }
    }
    return AS_OK;
}

static json_t *added_token(int id, const char *content) {
    return json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", id, "content", content,
                     "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1);
}

static json_t *tokenizer_json(const struct trainer *t) {
    json_t *vocab = json_object(), *merges = json_array();
    json_object_set_new(vocab, "<unk>", json_integer(0));
    json_object_set_new(vocab, "<s>", json_integer(1));
    json_object_set_new(vocab, "</s>", json_integer(2));
    for (int b = 0; b < 256; b++) {
        char name[16];
        snprintf(name, sizeof name, "<0x%02X>", b);
        json_object_set_new(vocab, name, json_integer(3 + b));
    }
    for (int i = 0; i < t->n_sym; i++)
        json_object_set_new(vocab, t->piece[i], json_integer(t->first_id + i));
    for (int i = 0; i < t->n_merges; i++)
        json_array_append_new(merges, json_string(t->merges[i]));
    json_t *added = json_array();
    json_array_append_new(added, added_token(0, "<unk>"));
    json_array_append_new(added, added_token(1, "<s>"));
    json_array_append_new(added, added_token(2, "</s>"));
    json_t *normalizer = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:{s:s}, s:s}]}", "type", "Sequence",
                                   "normalizers", "type", "Prepend", "prepend", SP, "type",
                                   "Replace", "pattern", "String", " ", "content", SP);
    json_t *post = json_pack(
        "{s:s, s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}, "
        "{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:{s:{s:s, s:[i], s:[s]}}}",
        "type", "TemplateProcessing", "single", "SpecialToken", "id", "<s>", "type_id", 0,
        "Sequence", "id", "A", "type_id", 0, "pair", "SpecialToken", "id", "<s>", "type_id", 0,
        "Sequence", "id", "A", "type_id", 0, "SpecialToken", "id", "<s>", "type_id", 1, "Sequence",
        "id", "B", "type_id", 1, "special_tokens", "<s>", "id", "<s>", "ids", 1, "tokens", "<s>");
    json_t *decoder = json_pack(
        "{s:s, s:[{s:s, s:{s:s}, s:s}, {s:s}, {s:s}, {s:s, s:s, s:i, s:i}]}", "type", "Sequence",
        "decoders", "type", "Replace", "pattern", "String", SP, "content", " ", "type",
        "ByteFallback", "type", "Fuse", "type", "Strip", "content", " ", "start", 1, "stop", 0);
    json_t *model =
        json_pack("{s:s, s:n, s:s, s:n, s:n, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout",
                  "unk_token", "<unk>", "continuing_subword_prefix", "end_of_word_suffix",
                  "fuse_unk", 1, "byte_fallback", 1, "vocab", vocab, "merges", merges);
    return json_pack("{s:s, s:n, s:n, s:o, s:o, s:n, s:o, s:o, s:o}", "version", "1.0",
                     "truncation", "padding", "added_tokens", added, "normalizer", normalizer,
                     "pre_tokenizer", "post_processor", post, "decoder", decoder, "model", model);
}

static json_t *tokenizer_config_json(void) {
    return json_pack("{s:b, s:b, s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:s}", "add_bos_token", 1,
                     "add_eos_token", 0, "bos_token", "<s>", "eos_token", "</s>", "unk_token",
                     "<unk>", "tokenizer_class", "LlamaTokenizer", "legacy", 0,
                     "clean_up_tokenization_spaces", 0, "model_max_length", 512, "pad_token",
                     "</s>");
}

static as_status dump(json_t *j, const char *dir, const char *name, struct as_err *err) {
    char path[4096];
    as_status st = as_path_join(path, sizeof path, dir, name, err);
    if (st != AS_OK) return st;
    if (!j) return as_err_set(err, AS_ERR_INTERNAL, "%s: cannot build JSON", path);
    if (json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return as_err_set(err, AS_ERR_IO, "%s: cannot write", path);
    return AS_OK;
}

as_status as_bpe_train_write(const char *text, int vocab_size, const char *dir,
                             struct as_err *err) {
    as_status ret = AS_OK;
    json_t *tok = NULL, *cfg = NULL;
    struct trainer *t = calloc(1, sizeof *t);
    if (!t) return as_err_set(err, AS_ERR_NOMEM, "bpe training: out of memory");
    t->first_id = 3 + 256;
    snprintf(t->piece[t->n_sym++], MAX_PIECE, SP);
    for (int ch = 0x21; ch < 0x7f; ch++)
        snprintf(t->piece[t->n_sym++], MAX_PIECE, "%c", ch);
    int n_merges = vocab_size - t->first_id - t->n_sym;
    if (n_merges < 0 || vocab_size > t->first_id + MAX_SYM) {
        ret = as_err_set(err, AS_ERR_INVALID, "bpe training: vocab_size %d out of range [%d, %d]",
                         vocab_size, t->first_id + t->n_sym, t->first_id + MAX_SYM);
        goto done;
    }
    AS_TRY(collect_words(t, text, err));
    AS_TRY(train(t, n_merges, err));
    if (t->first_id + t->n_sym != vocab_size) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "bpe training: the corpus only supports %d merges, %d needed for "
                         "vocab_size %d",
                         t->n_merges, n_merges, vocab_size);
        goto done;
    }
    tok = tokenizer_json(t);
    cfg = tokenizer_config_json();
    AS_TRY(dump(tok, dir, "tokenizer.json", err));
    AS_TRY(dump(cfg, dir, "tokenizer_config.json", err));
done:
    json_decref(tok);
    json_decref(cfg);
    for (int w = 0; w < t->n_words; w++)
        free(t->words[w].sym);
    free(t->words);
    free(t->merges);
    free(t);
    return ret;
}
