/* vocab_gguf.c - GGUF vocabulary source (tokenizer.ggml.* keys).
 *
 * Only tokenizer.ggml.model = "llama" (sentencepiece BPE with scores) is
 * supported. Behaviour follows sentencepiece / llama.cpp, which for the Llama
 * vocab equals HF's tokenizer.json: "▁" prefix per text segment
 * (tokenizer.ggml.add_space_prefix, default true), spaces -> "▁", merges by
 * score among normal/user-defined pieces, byte fallback through the <0xXX>
 * pieces, and control/unknown/user-defined pieces split out of the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/gguf.h"
#include "tok_internal.h"

static as_status opt_id(const struct as_gguf *g, const char *key, int32_t n, int32_t *out,
                        struct as_err *err) {
    if (!as_gguf_kv_find(g, key)) return AS_OK;
    int64_t v;
    as_status ret = as_gguf_get_i64(g, key, &v, err);
    if (ret != AS_OK) return ret;
    if (v < 0 || v >= n)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: key %s: id %lld is outside the vocabulary [0, %d)", g->name, key,
                          (long long)v, (int)n);
    *out = (int32_t)v;
    return AS_OK;
}

static as_status opt_bool(const struct as_gguf *g, const char *key, int *out, struct as_err *err) {
    if (!as_gguf_kv_find(g, key)) return AS_OK;
    return as_gguf_get_bool(g, key, out, err);
}

as_status as_tok_load_gguf(struct as_tokenizer *t, const char *path, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_gguf g;
    memset(&g, 0, sizeof g);
    const char **pieces = NULL;
    size_t *plen = NULL;
    float *scores = NULL;
    uint8_t *types = NULL;
    t->source = AS_TOK_SOURCE_GGUF;
    snprintf(t->path, sizeof t->path, "%s", path);
    AS_TRY(as_gguf_load(&g, path, err));

    struct as_gguf_str model;
    AS_TRY(as_gguf_get_str(&g, "tokenizer.ggml.model", &model, err));
    if (model.len != 5 || memcmp(model.p, "llama", 5) != 0) {
        ret = as_err_set(err, AS_ERR_UNSUPPORTED,
                         "%s: key tokenizer.ggml.model: \"%.*s\" is not supported (expected "
                         "\"llama\", a sentencepiece BPE vocabulary)",
                         path, (int)(model.len > 64 ? 64 : model.len), model.p);
        goto done;
    }
    const struct as_gguf_kv *tok, *sc, *ty = NULL;
    AS_TRY(as_gguf_get_arr(&g, "tokenizer.ggml.tokens", AS_GGUF_TYPE_STRING, &tok, err));
    AS_TRY(as_gguf_get_arr(&g, "tokenizer.ggml.scores", AS_GGUF_TYPE_FLOAT32, &sc, err));
    if (as_gguf_kv_find(&g, "tokenizer.ggml.token_type"))
        AS_TRY(as_gguf_get_arr(&g, "tokenizer.ggml.token_type", AS_GGUF_TYPE_INT32, &ty, err));
    uint64_t n = tok->arr_n;
    if (n == 0 || n > (1u << 24)) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: key tokenizer.ggml.tokens: %llu pieces, expected 1..%u", path,
                         (unsigned long long)n, 1u << 24);
        goto done;
    }
    if (sc->arr_n != n || (ty && ty->arr_n != n)) {
        ret = as_err_set(
            err, AS_ERR_FORMAT,
            "%s: key %s: %llu entries, expected %llu (one per tokenizer.ggml.tokens)", path,
            sc->arr_n != n ? "tokenizer.ggml.scores" : "tokenizer.ggml.token_type",
            (unsigned long long)(sc->arr_n != n ? sc->arr_n : ty->arr_n), (unsigned long long)n);
        goto done;
    }
    pieces = malloc(n * sizeof *pieces);
    plen = malloc(n * sizeof *plen);
    scores = malloc(n * sizeof *scores);
    types = malloc(n);
    if (!pieces || !plen || !scores || !types) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate %llu pieces", path,
                         (unsigned long long)n);
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        struct as_gguf_str s = as_gguf_arr_str(tok, i);
        pieces[i] = s.p;
        plen[i] = (size_t)s.len;
        scores[i] = (float)as_gguf_arr_f64(sc, i);
        if (ty) {
            int64_t v = as_gguf_arr_i64(ty, i);
            if (v < AS_TOK_TYPE_NORMAL || v > AS_TOK_TYPE_BYTE) {
                ret = as_err_set(err, AS_ERR_FORMAT,
                                 "%s: key tokenizer.ggml.token_type[%llu]: %lld, expected 1..6",
                                 path, (unsigned long long)i, (long long)v);
                goto done;
            }
            types[i] = (uint8_t)v;
        } else {
            types[i] = as_tok_parse_byte_piece(s.p, (size_t)s.len, 0) >= 0 ? AS_TOK_TYPE_BYTE
                                                                           : AS_TOK_TYPE_NORMAL;
        }
    }
    /* sentencepiece: only normal and user-defined pieces take part in BPE */
    t->merge_types =
        AS_TOK_TYPE_BIT(AS_TOK_TYPE_NORMAL) | AS_TOK_TYPE_BIT(AS_TOK_TYPE_USER_DEFINED);
    AS_TRY(as_tok_vocab_build(t, (int32_t)n, pieces, plen, types, scores, path, err));
    t->byte_fallback = 1; /* used when all of a character's <0xXX> pieces exist */
    t->fuse_unk = 1;
    t->unk_id = t->bos_id = t->eos_id = -1;
    for (int32_t i = 0; i < (int32_t)n && t->unk_id < 0; i++)
        if (t->type[i] == AS_TOK_TYPE_UNKNOWN) t->unk_id = i;
    AS_TRY(opt_id(&g, "tokenizer.ggml.unknown_token_id", (int32_t)n, &t->unk_id, err));
    AS_TRY(opt_id(&g, "tokenizer.ggml.bos_token_id", (int32_t)n, &t->bos_id, err));
    AS_TRY(opt_id(&g, "tokenizer.ggml.eos_token_id", (int32_t)n, &t->eos_id, err));
    if (t->bos_id < 0) t->bos_id = as_tokenizer_piece_id(t, "<s>", 3);
    if (t->eos_id < 0) t->eos_id = as_tokenizer_piece_id(t, "</s>", 4);
    t->add_bos = 1;
    AS_TRY(opt_bool(&g, "tokenizer.ggml.add_bos_token", &t->add_bos, err));
    int add_prefix = 1;
    AS_TRY(opt_bool(&g, "tokenizer.ggml.add_space_prefix", &add_prefix, err));
    AS_TRY(as_tok_pairs_from_scores(t, err));
    for (int32_t i = 0; i < (int32_t)n; i++) {
        uint8_t k = t->type[i];
        if (k == AS_TOK_TYPE_CONTROL || k == AS_TOK_TYPE_UNKNOWN || k == AS_TOK_TYPE_USER_DEFINED)
            AS_TRY(as_tok_special_add(t, i, t->piece_data + t->piece_off[i],
                                      (size_t)t->piece_len[i], 0, 0, k != AS_TOK_TYPE_USER_DEFINED,
                                      err));
    }
    as_tok_special_finish(t);
    AS_TRY(as_tok_set_llama_rules(t, AS_TOK_METASPACE_CP, 1, add_prefix, err));
    ret = as_tok_decoded_build(t, err);
done:
    free(pieces);
    free(plen);
    free(scores);
    free(types);
    as_gguf_free(&g);
    return ret;
}
