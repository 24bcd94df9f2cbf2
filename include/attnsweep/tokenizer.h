/* tokenizer.h - exact Llama (SentencePiece-style BPE) tokenizer with byte offsets.
 *
 * One BPE engine fed by three vocabulary sources:
 *   - a Hugging Face tokenizer.json (TinyLlama / Llama-2), plus tokenizer_config.json
 *     when it sits beside it (add_bos_token, bos_token);
 *   - a llama2.c tokenizer.bin (score-ordered merges, llama2.c's encoder);
 *   - a GGUF vocabulary (tokenizer.ggml.* keys, tokenizer.ggml.model = "llama").
 * The pair priority is the merge rank (tokenizer.json) or the merged piece's
 * score (tokenizer.bin, GGUF); merging uses a priority queue over adjacent
 * pairs, so encoding is O(n log n). The ids equal HF transformers' for the
 * tokenizer.json source, llama2.c's for tokenizer.bin and sentencepiece's (=
 * llama.cpp's) for GGUF; docs/TOKENIZER.md has the rules and the offsets.
 *
 * Ownership: struct as_tokenizer owns every table below (load/free). It is
 * read-only after as_tokenizer_load, so any number of threads may call
 * as_tokenizer_encode on one tokenizer at once (no global or hidden state).
 * struct as_encoding owns one allocation holding all of its arrays and strings;
 * it does not reference the tokenizer after encode returns. */
#ifndef ATTNSWEEP_TOKENIZER_H
#define ATTNSWEEP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum as_tok_source {
    AS_TOK_SOURCE_HF = 1,  /* tokenizer.json */
    AS_TOK_SOURCE_LLAMA2C, /* llama2.c tokenizer.bin */
    AS_TOK_SOURCE_GGUF     /* tokenizer.ggml.* of a .gguf file */
};

/* Piece types, numbered as GGUF's tokenizer.ggml.token_type (= sentencepiece's). */
enum as_tok_type {
    AS_TOK_TYPE_NORMAL = 1,
    AS_TOK_TYPE_UNKNOWN = 2,
    AS_TOK_TYPE_CONTROL = 3,
    AS_TOK_TYPE_USER_DEFINED = 4,
    AS_TOK_TYPE_UNUSED = 5,
    AS_TOK_TYPE_BYTE = 6
};

/* One normalizer step, applied in order to each text segment (HF normalizers). */
enum as_tok_norm_kind {
    AS_TOK_NORM_PREPEND = 1, /* prepend `content` if the segment is non-empty */
    AS_TOK_NORM_REPLACE      /* replace every `pattern` with `content` */
};
struct as_tok_norm_step {
    enum as_tok_norm_kind kind;
    uint32_t *pattern; /* (n_pattern) code points; REPLACE only */
    int n_pattern;
    uint32_t *content; /* (n_content) code points */
    int n_content;
};

/* The Metaspace pre-tokenizer (newer Llama tokenizer.json files). */
enum as_tok_prepend_scheme {
    AS_TOK_PREPEND_ALWAYS = 0,
    AS_TOK_PREPEND_FIRST, /* only for the segment that starts at byte 0 of the text */
    AS_TOK_PREPEND_NEVER
};
struct as_tok_metaspace {
    int enabled;
    uint32_t replacement; /* code point, usually U+2581 */
    enum as_tok_prepend_scheme prepend_scheme;
    int split; /* split into words before each replacement char (merges never cross words) */
};

/* One decoder step (HF decoders), applied to the list of token strings. */
enum as_tok_dec_kind {
    AS_TOK_DEC_REPLACE = 1,   /* every `pattern` -> `content`, in each token */
    AS_TOK_DEC_BYTE_FALLBACK, /* runs of <0xXX> tokens -> their bytes if valid UTF-8, else U+FFFD
                                 each */
    AS_TOK_DEC_FUSE,          /* concatenate all tokens into one */
    AS_TOK_DEC_STRIP,    /* remove up to `start` leading / `stop` trailing `cp` chars per token */
    AS_TOK_DEC_METASPACE /* `cp` -> ' ', but removed from the first token unless prepend_scheme
                            NEVER */
};
struct as_tok_dec_step {
    enum as_tok_dec_kind kind;
    char *pattern; /* REPLACE: NUL-terminated UTF-8 */
    char *content; /* REPLACE: NUL-terminated UTF-8 */
    uint32_t cp;   /* STRIP / METASPACE */
    int start, stop;
    enum as_tok_prepend_scheme prepend_scheme;
};

/* Text that is split out of the input before normalization (HF added_tokens;
 * GGUF control/unknown/user-defined pieces). */
struct as_tok_special {
    int32_t id;
    char *text; /* (len) NUL-terminated */
    int32_t len;
    int lstrip, rstrip; /* absorb whitespace on that side into the token */
    int special;        /* skipped by as_tokenizer_decode(skip_special = 1) */
};

/* Open-addressing hash tables, built at load, read-only afterwards. */
struct as_tok_pair {
    uint64_t key;   /* (left id << 32) | right id; UINT64_MAX = empty slot */
    int32_t merged; /* id of the merged piece */
    int32_t rank;   /* priority: lower merges first (merge rank, or dense rank of -score) */
};

struct as_tokenizer {
    enum as_tok_source source;
    char path[4096]; /* the vocabulary file read */

    int32_t n_vocab;
    char *piece_data; /* (piece_bytes) every piece, NUL-terminated, back to back */
    size_t piece_bytes;
    int64_t *piece_off; /* (n_vocab) offset of piece i in piece_data */
    int32_t *piece_len; /* (n_vocab) bytes, without the NUL */
    uint8_t *type;      /* (n_vocab) enum as_tok_type */
    float *score;       /* (n_vocab) piece scores (0 for tokenizer.json) */
    char *dec_data;     /* (dec_bytes) decode([id]) strings, NUL-terminated, back to back */
    size_t dec_bytes;
    int64_t *dec_off; /* (n_vocab) */
    int32_t *dec_len; /* (n_vocab) bytes; a string may contain NUL only for <0x00> */

    int32_t unk_id, bos_id, eos_id; /* -1 when absent */
    int32_t byte_id[256];           /* id of <0xXX>, -1 when absent */
    int add_bos;                    /* default for encode (tokenizer_config.json add_bos_token) */
    int byte_fallback;              /* unknown chars -> <0xXX> pieces */
    int fuse_unk;                   /* consecutive unknown chars -> one unk token */
    int ignore_merges;              /* HF BPE ignore_merges: a whole word in vocab is one token */
    uint32_t merge_types;           /* bit (1 << type): piece types allowed as BPE symbols */

    int n_norm;
    struct as_tok_norm_step *norm; /* (n_norm) */
    struct as_tok_metaspace metaspace;
    int n_dec;
    struct as_tok_dec_step *dec; /* (n_dec) */
    int n_special;
    struct as_tok_special *special; /* (n_special) sorted by length, longest first */
    uint8_t special_first[256];     /* 1 if some special text starts with this byte */

    uint32_t index_mask;
    int32_t *index; /* (index_mask + 1) piece -> id hash, -1 = empty */
    uint64_t pair_mask;
    struct as_tok_pair *pairs; /* (pair_mask + 1) (left, right) -> merged, rank */
    int32_t *bmp_id;           /* (65536) id of the single-code-point piece, -1 */
    /* Chunking: a text position between code points a and b can be crossed by a
     * merge only if some pair joins a piece ending in a to a piece starting with b
     * (its "junction"). Positions that no merge can cross split the text into
     * independent chunks, each merged with its own small heap. */
    uint64_t junction_mask;
    uint64_t *junctions; /* (junction_mask + 1) (a << 32) | b, UINT64_MAX = empty */
    uint8_t *paired;     /* (n_vocab) 1 if the piece is an operand of some pair */
};

struct as_encoding {
    int n;               /* number of tokens */
    int32_t *ids;        /* (n) */
    char **pieces;       /* (n) vocabulary pieces, NUL-terminated UTF-8 */
    char **tokens;       /* (n) decoded strings as HF decode([id]), NUL-terminated UTF-8 */
    int32_t *token_lens; /* (n) byte length of tokens[i] (differs from strlen only for <0x00>) */
    int32_t *offsets;    /* (n, 2) byte span [start, end) in the text; BOS [0, 0] */
};

/* Loads a vocabulary: an HF directory (tokenizer.json, plus tokenizer_config.json
 * if present), a tokenizer.json file (plus a tokenizer_config.json beside it), a
 * .gguf file, or a llama2.c tokenizer.bin. The kind is detected from the
 * content (GGUF magic, a JSON object), not the name. t is zeroed first; on
 * failure it is left freed. */
as_status as_tokenizer_load(struct as_tokenizer *t, const char *path, struct as_err *err);
void as_tokenizer_free(struct as_tokenizer *t);

/* Encodes len bytes of UTF-8 text (need not be NUL-terminated). add_bos prepends
 * the BOS token (span [0, 0]). Invalid UTF-8 gives AS_ERR_INVALID naming the
 * byte offset. out is zeroed first and must be released with as_encoding_free
 * (also after a failure). Reentrant. */
as_status as_tokenizer_encode(const struct as_tokenizer *t, const char *text, size_t len,
                              int add_bos, struct as_encoding *out, struct as_err *err);
void as_encoding_free(struct as_encoding *e);

/* tokenizer_config.json add_bos_token (GGUF: tokenizer.ggml.add_bos_token), else 1;
 * 0 when the vocabulary has no BOS piece. */
int as_tokenizer_add_bos_default(const struct as_tokenizer *t);

/* HF tokenizer.decode(ids, skip_special_tokens): the decoder applied to the whole
 * sequence. *out is a malloc'd NUL-terminated string of *len bytes. */
as_status as_tokenizer_decode(const struct as_tokenizer *t, const int32_t *ids, int n,
                              int skip_special, char **out, size_t *len, struct as_err *err);

/* Piece / decode([id]) string of one id (NULL when id is out of range). */
const char *as_tokenizer_piece(const struct as_tokenizer *t, int32_t id);
const char *as_tokenizer_token_str(const struct as_tokenizer *t, int32_t id);
/* Id of a piece string, or -1. */
int32_t as_tokenizer_piece_id(const struct as_tokenizer *t, const char *piece, size_t len);

/* "tokenizer.json", "llama2.c tokenizer.bin" or "GGUF". */
const char *as_tokenizer_source_name(enum as_tok_source s);

#ifdef __cplusplus
}
#endif
#endif
