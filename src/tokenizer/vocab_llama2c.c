/* vocab_llama2c.c - llama2.c tokenizer.bin source (tok512.bin, tokenizer.bin).
 *
 * Layout (little-endian): int32 max_token_length, then for every piece
 * float32 score, int32 len, len bytes (no NUL), until the end of the file; the
 * vocabulary size is the record count (llama2.c takes it from the model).
 * Pieces use an ASCII space where sentencepiece has "▁"; BOS/EOS are stored
 * as "\n<s>\n" / "\n</s>\n". The encoder is llama2.c's: prepend one " " to a
 * non-empty text, look up every character, fall back to bytes (id = byte + 3),
 * then merge the pair whose concatenation has the highest score. No special
 * tokens are split out and spaces are not replaced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "tok_internal.h"

as_status as_tok_load_llama2c(struct as_tokenizer *t, const char *path, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_mapped_file f;
    memset(&f, 0, sizeof f);
    const char **pieces = NULL;
    size_t *plen = NULL;
    float *scores = NULL;
    uint8_t *types = NULL;
    t->source = AS_TOK_SOURCE_LLAMA2C;
    snprintf(t->path, sizeof t->path, "%s", path);
    AS_TRY(as_file_map(&f, path, err));

    struct as_cursor c;
    as_cursor_init(&c, f.data, f.size, path);
    int32_t max_len;
    AS_TRY(as_cursor_i32(&c, &max_len, "max_token_length (int32 header)", err));
    if (max_len <= 0 || max_len > 1 << 16) {
        ret =
            as_err_set(err, AS_ERR_FORMAT,
                       "%s: max_token_length = %d, expected 1..65536: not a llama2.c tokenizer.bin "
                       "(HINT: for a llama2.c model .bin, pass its tokenizer with --tokenizer)",
                       path, (int)max_len);
        goto done;
    }
    /* each record is at least 8 bytes: bounds the count before allocating */
    size_t cap = as_cursor_left(&c) / 8 + 1;
    pieces = malloc(cap * sizeof *pieces);
    plen = malloc(cap * sizeof *plen);
    scores = malloc(cap * sizeof *scores);
    types = malloc(cap);
    if (!pieces || !plen || !scores || !types) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate %zu pieces", path, cap);
        goto done;
    }
    int32_t n = 0;
    while (as_cursor_left(&c) > 0) {
        char field[64];
        snprintf(field, sizeof field, "score of piece %d", (int)n);
        AS_TRY(as_cursor_f32(&c, &scores[n], field, err));
        int32_t len;
        snprintf(field, sizeof field, "length of piece %d", (int)n);
        AS_TRY(as_cursor_i32(&c, &len, field, err));
        if (len < 0 || len > max_len) {
            ret =
                as_err_set(err, AS_ERR_FORMAT,
                           "%s: piece %d at byte %zu has length %d, expected 0..%d "
                           "(max_token_length): not a llama2.c tokenizer.bin "
                           "(HINT: for a llama2.c model .bin, pass its tokenizer with --tokenizer)",
                           path, (int)n, c.off - 4, (int)len, (int)max_len);
            goto done;
        }
        const void *p;
        snprintf(field, sizeof field, "bytes of piece %d", (int)n);
        AS_TRY(as_cursor_take(&c, (size_t)len, &p, field, err));
        pieces[n] = p;
        plen[n] = (size_t)len;
        types[n] = AS_TOK_TYPE_NORMAL;
        if (len >= 3 && ((const char *)p)[0] == '\n' && ((const char *)p)[len - 1] == '\n' &&
            ((const char *)p)[1] == '<')
            types[n] = AS_TOK_TYPE_CONTROL; /* "\n<s>\n", "\n</s>\n" */
        else if (as_tok_parse_byte_piece(p, (size_t)len, 0) >= 0)
            types[n] = AS_TOK_TYPE_BYTE;
        else if (n == 0 && len == 5 && memcmp(p, "<unk>", 5) == 0)
            types[n] = AS_TOK_TYPE_UNKNOWN;
        n++;
    }
    t->merge_types = 0xFFFFFFFFu; /* llama2.c merges any concatenation found in the vocab */
    AS_TRY(as_tok_vocab_build(t, n, pieces, plen, types, scores, path, err));
    /* llama2.c hard-codes byte b -> id b + 3 */
    for (int b = 0; b < 256; b++)
        t->byte_id[b] = n > b + 3 ? b + 3 : -1;
    t->byte_fallback = 1;
    t->fuse_unk = 0;
    t->unk_id = n > 0 ? 0 : -1;
    t->bos_id = n > 1 ? 1 : -1;
    t->eos_id = n > 2 ? 2 : -1;
    t->add_bos = 1;
    AS_TRY(as_tok_pairs_from_scores(t, err));
    /* normalizer: Prepend(" "); decoder: ByteFallback, Fuse, Strip(" ", 1, 0) */
    AS_TRY(as_tok_set_llama_rules(t, ' ', 0, 1, err));
    ret = as_tok_decoded_build(t, err);
done:
    free(pieces);
    free(plen);
    free(scores);
    free(types);
    as_file_unmap(&f);
    return ret;
}
