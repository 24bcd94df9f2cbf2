/* encode.c - as_tokenizer_encode: UTF-8 check, splitting out special tokens
 * (HF added tokens: leftmost-longest match on the raw text), normalizing and
 * BPE-encoding each remaining segment, then packing ids, pieces, decoded
 * strings and offsets into one allocation (struct as_encoding). */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "tok_internal.h"

/* Leftmost-longest special-token match in text[from, len): sets [*ms, *me) and
 * the special's index; returns 0 when there is none. */
static int find_special(const struct as_tokenizer *t, const char *text, size_t from, size_t len,
                        size_t *ms, size_t *me, int *which) {
    if (t->n_special == 0) return 0;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = from; i < len; i++) {
        if (!t->special_first[p[i]]) continue;
        for (int k = 0; k < t->n_special; k++) { /* longest first */
            const struct as_tok_special *s = &t->special[k];
            if ((size_t)s->len <= len - i && memcmp(text + i, s->text, (size_t)s->len) == 0) {
                *ms = i;
                *me = i + (size_t)s->len;
                *which = k;
                return 1;
            }
        }
    }
    return 0;
}

/* Length of the whitespace character ending at / starting at a position. */
static size_t ws_before(const char *text, size_t lo, size_t pos) {
    size_t b = pos;
    while (b > lo) {
        size_t k = b - 1;
        while (k > lo && ((unsigned char)text[k] & 0xC0) == 0x80)
            k--;
        uint32_t cp;
        as_tok_utf8_next((const unsigned char *)text + k, &cp);
        if (!as_tok_is_whitespace(cp)) break;
        b = k;
    }
    return b;
}

static size_t ws_after(const char *text, size_t pos, size_t len) {
    size_t e = pos;
    while (e < len) {
        uint32_t cp;
        int l = as_tok_utf8_next((const unsigned char *)text + e, &cp);
        if (!as_tok_is_whitespace(cp)) break;
        e += (size_t)l;
    }
    return e;
}

/* Normalizes and encodes text[a, b) in windows of about 16 KB, so that the
 * work buffers stay small and cache-resident whatever the segment length. */
#define AS_TOK_WINDOW 16384
static as_status encode_segment(const struct as_tokenizer *t, const char *text, size_t a, size_t b,
                                struct as_tok_work *w, struct as_tok_out *o, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_tok_bpe_state st;
    memset(&st, 0, sizeof st);
    size_t win = as_tok_can_window(t) ? AS_TOK_WINDOW : b - a, n = 0;
    for (size_t p = a; p < b;) {
        size_t q = b - p > win ? p + win : b;
        while (q < b && ((unsigned char)text[q] & 0xC0) == 0x80)
            q--; /* whole characters */
        AS_TRY(as_tok_normalize(t, text, (int32_t)a, (int32_t)p, (int32_t)q, w, &n, err));
        AS_TRY(as_tok_bpe_feed(t, w, n, &st, o, err));
        p = q;
    }
    AS_TRY(as_tok_bpe_finish(t, w, n, &st, o, err));
done:
    return ret;
}

static as_status pack(const struct as_tokenizer *t, const struct as_tok_out *o,
                      struct as_encoding *out, struct as_err *err) {
    size_t n = o->n, strings = 0;
    for (size_t i = 0; i < n; i++)
        strings += (size_t)t->piece_len[o->ids[i]] + 1 + (size_t)t->dec_len[o->ids[i]] + 1;
    /* one block: pieces[n], tokens[n] (pointers first for alignment), ids[n],
     * token_lens[n], offsets[2n], then the strings */
    size_t ptrs = 2 * n * sizeof(char *), ints = 4 * n * sizeof(int32_t),
           total = ptrs + ints + strings;
    char *blk = malloc(total ? total : 1);
    if (!blk)
        return as_err_set(err, AS_ERR_NOMEM, "tokenizer: cannot allocate %zu bytes for %zu tokens",
                          total, n);
    out->pieces = (char **)blk;
    out->tokens = out->pieces + n;
    out->ids = (int32_t *)(blk + ptrs);
    out->token_lens = out->ids + n;
    out->offsets = out->token_lens + n;
    char *s = blk + ptrs + ints;
    for (size_t i = 0; i < n; i++) {
        int32_t id = o->ids[i];
        out->ids[i] = id;
        out->offsets[2 * i] = o->span[2 * i];
        out->offsets[2 * i + 1] = o->span[2 * i + 1];
        size_t pl = (size_t)t->piece_len[id] + 1, dl = (size_t)t->dec_len[id] + 1;
        out->pieces[i] = s;
        memcpy(s, t->piece_data + t->piece_off[id], pl);
        s += pl;
        out->tokens[i] = s;
        memcpy(s, t->dec_data + t->dec_off[id], dl);
        out->token_lens[i] = t->dec_len[id];
        s += dl;
    }
    out->n = (int)n;
    return AS_OK;
}

as_status as_tokenizer_encode(const struct as_tokenizer *t, const char *text, size_t len,
                              int add_bos, struct as_encoding *out, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_tok_work w;
    struct as_tok_out o;
    memset(&w, 0, sizeof w);
    memset(&o, 0, sizeof o);
    memset(out, 0, sizeof *out);
    if (!t || !t->n_vocab || !t->dec_data) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "tokenizer: encode called on a tokenizer that is not loaded");
        goto done;
    }
    if (!text && len > 0) {
        ret = as_err_set(err, AS_ERR_INVALID, "tokenizer: text is NULL but its length is %zu", len);
        goto done;
    }
    if (len > (size_t)INT32_MAX / 2) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "prompt: %zu bytes is too long (offsets are int32; at most %d bytes)", len,
                         INT32_MAX / 2);
        goto done;
    }
    if (!text) text = "";
    AS_TRY(as_tok_utf8_validate(text, len, "prompt", err));
    if (add_bos) {
        if (t->bos_id < 0) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: BOS requested but the vocabulary has no BOS token "
                             "(HINT: encode without BOS, e.g. --no-bos)",
                             t->path);
            goto done;
        }
        AS_TRY(as_tok_out_push(&o, t->bos_id, 0, 0, err));
    }
    size_t pos = 0;
    while (pos < len) {
        size_t ms = len, me = len;
        int which = -1;
        int found = find_special(t, text, pos, len, &ms, &me, &which);
        if (found) {
            const struct as_tok_special *s = &t->special[which];
            if (s->lstrip) ms = ws_before(text, pos, ms);
            if (s->rstrip) me = ws_after(text, me, len);
        }
        if (ms > pos) AS_TRY(encode_segment(t, text, pos, ms, &w, &o, err));
        if (!found) break;
        AS_TRY(as_tok_out_push(&o, t->special[which].id, (int32_t)ms, (int32_t)me, err));
        pos = me;
    }
    AS_TRY(pack(t, &o, out, err));
done:
    as_tok_work_free(&w);
    free(o.ids);
    free(o.span);
    return ret;
}

void as_encoding_free(struct as_encoding *e) {
    if (!e) return;
    free(e->pieces); /* the block starts with pieces[] */
    memset(e, 0, sizeof *e);
}
