/* tok_internal.h - shared between the files of src/tokenizer (not public API).
 *
 * Load order used by every vocabulary source:
 *   as_tok_vocab_build()   pieces, types, scores -> piece index, byte and char tables
 *   as_tok_pairs_*()       merge ranks (tokenizer.json) or scores -> pair table
 *   set t->norm / t->metaspace / t->dec, then as_tok_special_*() and as_tok_decoded_build(). */
#ifndef ATTNSWEEP_TOK_INTERNAL_H
#define ATTNSWEEP_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/status.h"
#include "attnsweep/tokenizer.h"

#define AS_TOK_METASPACE_CP 0x2581u /* U+2581 LOWER ONE EIGHTH BLOCK, "▁" */
#define AS_TOK_TYPE_BIT(ty) (1u << (ty))

/* ---------------------------------------------------------------- utf8.c */
/* Checks that s[0, n) is UTF-8 (no overlongs, surrogates or code points above
 * U+10FFFF). On failure: AS_ERR_INVALID "<what>: invalid UTF-8 at byte offset N: ...". */
/* Grows *p (capacity *cap elements of elem bytes) to hold need elements, doubling. */
as_status as_tok_grow(void **p, size_t *cap, size_t need, size_t elem, struct as_err *err);
/* "<0xXX>" -> XX (0..255), else -1. HF and sentencepiece write upper-case hex;
 * lower_ok also accepts lower case (HF's ByteFallback decoder does). */
int as_tok_parse_byte_piece(const char *s, size_t n, int lower_ok);

as_status as_tok_utf8_validate(const char *s, size_t n, const char *what, struct as_err *err);
/* Decodes the code point at s (valid UTF-8 assumed); returns its byte length. */
static inline int as_tok_utf8_next(const unsigned char *s, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xE0) {
        *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (c < 0xF0) {
        *cp = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        return 3;
    }
    *cp = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    return 4;
}
/* Writes the UTF-8 encoding of cp (<= U+10FFFF) to out; returns its length (1-4). */
int as_tok_utf8_encode(uint32_t cp, char out[4]);
/* Unicode White_Space (what Rust's char::is_whitespace accepts). */
int as_tok_is_whitespace(uint32_t cp);
/* Decodes valid UTF-8 into code points; *out is malloc'd (n_out entries). */
as_status as_tok_utf8_to_cps(const char *s, size_t n, uint32_t **out, int *n_out,
                             struct as_err *err);

/* ---------------------------------------------------------------- vocab.c */
uint64_t as_tok_hash_bytes(const void *p, size_t n);
/* Copies n pieces (strings s[i] of len[i] bytes) into t; types may be NULL
 * (all NORMAL, <0xXX> pieces BYTE), scores may be NULL (all 0). Rejects pieces
 * that are not UTF-8 or contain NUL, naming `what` and the id. Builds the
 * piece index, byte_id[] and the single-code-point table (bmp_id). */
as_status as_tok_vocab_build(struct as_tokenizer *t, int32_t n, const char *const *s,
                             const size_t *len, const uint8_t *types, const float *scores,
                             const char *what, struct as_err *err);
/* Pair table from merge list: left[i] + right[i] at rank i (later duplicates win, as in HF). */
as_status as_tok_pairs_from_merges(struct as_tokenizer *t, const int32_t *left,
                                   const int32_t *right, const int32_t *merged, int64_t n,
                                   struct as_err *err);
/* Pair table from scores: every split of an allowed piece into two allowed
 * pieces; priority = dense rank of the merged piece's score, highest first. */
as_status as_tok_pairs_from_scores(struct as_tokenizer *t, struct as_err *err);
/* Multiplicative hash folded so that both ids reach the low (index) bits. */
static inline uint64_t as_tok_pair_hash(uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29) ^ (h >> 43);
}
static inline int as_tok_pair_find(const struct as_tokenizer *t, int32_t l, int32_t r,
                                   int32_t *merged, int32_t *rank) {
    if (!t->pairs) return 0;
    uint64_t key = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    uint64_t h = as_tok_pair_hash(key);
    for (uint64_t i = h & t->pair_mask;; i = (i + 1) & t->pair_mask) {
        const struct as_tok_pair *p = &t->pairs[i];
        if (p->key == key) {
            *merged = p->merged;
            *rank = p->rank;
            return 1;
        }
        if (p->key == UINT64_MAX) return 0;
    }
}
/* 1 if some merge may join a symbol ending in code point a to one starting with b. */
static inline int as_tok_junction(const struct as_tokenizer *t, uint32_t a, uint32_t b) {
    uint64_t key = ((uint64_t)a << 32) | b;
    for (uint64_t i = as_tok_pair_hash(key) & t->junction_mask;; i = (i + 1) & t->junction_mask) {
        if (t->junctions[i] == key) return 1;
        if (t->junctions[i] == UINT64_MAX) return 0;
    }
}
/* Id of the single-code-point piece for cp (restricted to merge_types), or -1. */
int32_t as_tok_char_id(const struct as_tokenizer *t, uint32_t cp);
/* Registers a special (split-out) text. */
as_status as_tok_special_add(struct as_tokenizer *t, int32_t id, const char *text, size_t len,
                             int lstrip, int rstrip, int special, struct as_err *err);
/* Sorts specials longest-first and fills special_first[]. */
void as_tok_special_finish(struct as_tokenizer *t);
/* Default Llama normalizer/decoder: Prepend(prefix) [+ Replace(" " -> "▁")],
 * decoder [Replace("▁" -> " ")], ByteFallback, Fuse, Strip(" ", strip, 0). */
as_status as_tok_set_llama_rules(struct as_tokenizer *t, uint32_t prefix_cp, int replace_space,
                                 int add_prefix, struct as_err *err);

/* ---------------------------------------------------------------- decode.c */
/* Fills dec_data/dec_off/dec_len with decode([id]) for every id. */
as_status as_tok_decoded_build(struct as_tokenizer *t, struct as_err *err);

/* ---------------------------------------------------------------- normalize.c */
/* One normalized character: code point and the byte span in the original text
 * it came from (empty for inserted characters such as the "▁" prefix). */
struct as_tok_nchar {
    uint32_t cp;
    int32_t start, end;
};
/* Scratch buffers reused across the segments of one encode call. */
struct as_tok_work {
    struct as_tok_nchar *nc, *nc2; /* (cap_nc) ping-pong normalization buffers */
    size_t cap_nc, cap_nc2;
    struct as_tok_sym *sym; /* (cap_sym) */
    size_t cap_sym;
    struct as_tok_heap_entry *heap; /* (cap_heap) */
    size_t cap_heap;
    char *word; /* (cap_word) UTF-8 of one word (ignore_merges) */
    size_t cap_word;
};
void as_tok_work_free(struct as_tok_work *w);
/* Normalizes the window text[a, b) of the segment that starts at seg (valid
 * UTF-8): normalizer steps then the Metaspace replacement/prepend; prefixes are
 * added only in the segment's first window (a == seg). Result in w->nc[0, *n). */
as_status as_tok_normalize(const struct as_tokenizer *t, const char *text, int32_t seg, int32_t a,
                           int32_t b, struct as_tok_work *w, size_t *n, struct as_err *err);
/* 1 if the segment can be normalized window by window (only single-character,
 * non-deleting Replace steps and no ignore_merges). */
int as_tok_can_window(const struct as_tokenizer *t);

/* ---------------------------------------------------------------- bpe.c */
struct as_tok_sym {
    int32_t id;
    int32_t prev, next; /* live neighbours, -1 at the ends */
    int32_t start, end; /* byte span in the text */
};
struct as_tok_heap_entry {
    uint64_t key; /* (rank << 32) | left position: lowest first */
    int32_t left_id, right_id, merged;
};
/* Output token list of one encode call. */
struct as_tok_out {
    int32_t *ids;  /* (cap) */
    int32_t *span; /* (cap, 2) */
    size_t n, cap;
};
as_status as_tok_out_push(struct as_tok_out *o, int32_t id, int32_t start, int32_t end,
                          struct as_err *err);
/* Streaming BPE over one text segment: feed the normalized characters window
 * by window (w->nc[0, n) each time), then finish. The current chunk's symbols
 * stay in w->sym between calls; completed chunks are appended to o. */
enum as_tok_char_kind { AS_TOK_CK_NONE = 0, AS_TOK_CK_PIECE, AS_TOK_CK_BYTES, AS_TOK_CK_UNK };
struct as_tok_bpe_state {
    size_t ns;       /* symbols of the current chunk in w->sym */
    size_t chunk_nc; /* its first character in w->nc (ignore_merges: single window) */
    enum as_tok_char_kind prev_kind;
    int prev_barrier;
    uint32_t prev_cp;
};
as_status as_tok_bpe_feed(const struct as_tokenizer *t, struct as_tok_work *w, size_t n,
                          struct as_tok_bpe_state *st, struct as_tok_out *o, struct as_err *err);
as_status as_tok_bpe_finish(const struct as_tokenizer *t, struct as_tok_work *w, size_t n,
                            struct as_tok_bpe_state *st, struct as_tok_out *o, struct as_err *err);

/* ---------------------------------------------------------------- sources */
as_status as_tok_load_hf(struct as_tokenizer *t, const char *json_path, const char *config_path,
                         struct as_err *err);
as_status as_tok_load_llama2c(struct as_tokenizer *t, const char *path, struct as_err *err);
as_status as_tok_load_gguf(struct as_tokenizer *t, const char *path, struct as_err *err);

#endif
