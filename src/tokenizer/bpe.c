/* bpe.c - the BPE engine: normalized characters -> initial symbols (with byte
 * fallback / unk) -> merges by priority -> tokens with byte spans.
 *
 * Merging keeps a binary min-heap of candidate adjacent pairs keyed by
 * (rank, left position): the lowest merge rank (tokenizer.json) or the highest
 * merged-piece score (tokenizer.bin, GGUF; ranks are dense score ranks) first,
 * and among equals the leftmost. That is the order of HF's BPE::merge_word,
 * of sentencepiece's bpe_model agenda and of llama2.c's rescanning loop. Heap
 * entries are invalidated lazily: a popped entry is used only if both symbols
 * are still live, adjacent and carry the ids it was built from (ids only grow
 * longer, so a stale entry can never match again). Each merge pushes at most
 * two pairs, hence O(n log n) for n characters.
 *
 * Chunks: the text is cut wherever no merge can ever cross (no pair joins a
 * piece ending in the left character to one starting with the right one; see
 * as_tok_junction), and each chunk is merged with its own heap. Chunks do not
 * interact, so the result is the same as one global heap, but the heap stays
 * small and cache-resident. With the Llama vocab a chunk is about one word,
 * because no piece has a "▁" after another character (only "▁" runs do). */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "tok_internal.h"

as_status as_tok_out_push(struct as_tok_out *o, int32_t id, int32_t start, int32_t end,
                          struct as_err *err) {
    if (o->n == o->cap) {
        size_t nc = o->cap ? 2 * o->cap : 256;
        int32_t *ni = realloc(o->ids, nc * sizeof *ni);
        if (!ni) return as_err_set(err, AS_ERR_NOMEM, "tokenizer: cannot allocate %zu tokens", nc);
        o->ids = ni;
        int32_t *ns = realloc(o->span, 2 * nc * sizeof *ns);
        if (!ns) return as_err_set(err, AS_ERR_NOMEM, "tokenizer: cannot allocate %zu tokens", nc);
        o->span = ns;
        o->cap = nc;
    }
    o->ids[o->n] = id;
    o->span[2 * o->n] = start;
    o->span[2 * o->n + 1] = end;
    o->n++;
    return AS_OK;
}

/* ---------------------------------------------------------------- heap */
struct heap {
    struct as_tok_heap_entry *v;
    size_t n;
};

static void heap_down(struct heap *h, size_t i) {
    struct as_tok_heap_entry x = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->v[c + 1].key < h->v[c].key) c++;
        if (h->v[c].key >= x.key) break;
        h->v[i] = h->v[c];
        i = c;
    }
    h->v[i] = x;
}

static void heap_push(struct heap *h, struct as_tok_heap_entry e) {
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p].key <= e.key) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
}

static struct as_tok_heap_entry heap_pop(struct heap *h) {
    struct as_tok_heap_entry top = h->v[0];
    h->v[0] = h->v[--h->n];
    if (h->n) heap_down(h, 0);
    return top;
}

/* Pushes the pair (i, sym[i].next) if it is a known merge. */
static void try_pair(const struct as_tokenizer *t, struct heap *h, const struct as_tok_sym *sym,
                     int32_t i, int push) {
    int32_t j = sym[i].next;
    if (j < 0) return;
    int32_t merged, rank;
    if (!as_tok_pair_find(t, sym[i].id, sym[j].id, &merged, &rank)) return;
    struct as_tok_heap_entry e;
    e.key = ((uint64_t)(uint32_t)rank << 32) | (uint32_t)i;
    e.left_id = sym[i].id;
    e.right_id = sym[j].id;
    e.merged = merged;
    if (push)
        heap_push(h, e);
    else
        h->v[h->n++] = e;
}

/* ---------------------------------------------------------------- symbols */
static as_status add_sym(struct as_tok_work *w, size_t *ns, int32_t id, int32_t start, int32_t end,
                         struct as_err *err) {
    as_status ret = as_tok_grow((void **)&w->sym, &w->cap_sym, *ns + 1, sizeof *w->sym, err);
    if (ret != AS_OK) return ret;
    struct as_tok_sym *s = &w->sym[*ns];
    s->id = id;
    s->start = start;
    s->end = end;
    (*ns)++;
    return AS_OK;
}

/* Merges the symbols of one chunk, w->sym[0, ns), and appends the tokens to o. */
static as_status merge_chunk(const struct as_tokenizer *t, struct as_tok_work *w, size_t ns,
                             struct as_tok_out *o, struct as_err *err) {
    as_status ret = AS_OK;
    if (ns == 0) return AS_OK;
    struct as_tok_sym *sym = w->sym;
    for (size_t i = 0; i < ns; i++) {
        sym[i].prev = (int32_t)i - 1;
        sym[i].next = i + 1 < ns ? (int32_t)i + 1 : -1;
    }
    if (ns > 1) {
        /* at most ns - 1 initial pairs, and each merge pops one entry and pushes two */
        AS_TRY(as_tok_grow((void **)&w->heap, &w->cap_heap, 2 * ns, sizeof *w->heap, err));
        struct heap h = {w->heap, 0};
        for (size_t i = 0; i + 1 < ns; i++)
            try_pair(t, &h, sym, (int32_t)i, 0);
        for (size_t i = h.n / 2; i-- > 0;)
            heap_down(&h, i);
        while (h.n > 0) {
            struct as_tok_heap_entry e = heap_pop(&h);
            int32_t i = (int32_t)(uint32_t)e.key;
            int32_t j = sym[i].next;
            if (sym[i].id != e.left_id || j < 0 || sym[j].id != e.right_id) continue; /* stale */
            sym[i].id = e.merged; /* merge j into i */
            sym[i].end = sym[j].end;
            sym[i].next = sym[j].next;
            if (sym[j].next >= 0) sym[sym[j].next].prev = i;
            sym[j].id = -1;
            sym[j].next = -1;
            if (sym[i].prev >= 0) try_pair(t, &h, sym, sym[i].prev, 1);
            try_pair(t, &h, sym, i, 1);
        }
    }
    /* symbol 0 is never merged away, so the live list starts there */
    for (int32_t i = 0; i >= 0; i = sym[i].next)
        AS_TRY(as_tok_out_push(o, sym[i].id, sym[i].start, sym[i].end, err));
done:
    return ret;
}

/* HF BPE ignore_merges: the id of the word w->nc[a, b) if it is a piece, else -1. */
static as_status whole_word_id(const struct as_tokenizer *t, struct as_tok_work *w, size_t a,
                               size_t b, int32_t *id, struct as_err *err) {
    *id = -1;
    as_status ret = as_tok_grow((void **)&w->word, &w->cap_word, 4 * (b - a) + 1, 1, err);
    if (ret != AS_OK) return ret;
    size_t n = 0;
    for (size_t i = a; i < b; i++)
        n += (size_t)as_tok_utf8_encode(w->nc[i].cp, w->word + n);
    *id = as_tokenizer_piece_id(t, w->word, n);
    return AS_OK;
}

/* Ends the current chunk (its characters are w->nc[st->chunk_nc, end)). */
static as_status flush(const struct as_tokenizer *t, struct as_tok_work *w,
                       struct as_tok_bpe_state *st, size_t end, struct as_tok_out *o,
                       struct as_err *err) {
    as_status ret = AS_OK;
    if (st->ns == 0) return AS_OK;
    int32_t whole = -1;
    if (t->ignore_merges) /* HF BPE ignore_merges: a word that is a piece is one token */
        AS_TRY(whole_word_id(t, w, st->chunk_nc, end, &whole, err));
    if (whole >= 0)
        AS_TRY(as_tok_out_push(o, whole, w->sym[0].start, w->sym[st->ns - 1].end, err));
    else
        AS_TRY(merge_chunk(t, w, st->ns, o, err));
    st->ns = 0;
done:
    return ret;
}

as_status as_tok_bpe_feed(const struct as_tokenizer *t, struct as_tok_work *w, size_t n,
                          struct as_tok_bpe_state *st, struct as_tok_out *o, struct as_err *err) {
    as_status ret = AS_OK;
    uint32_t split_cp = t->metaspace.enabled && t->metaspace.split ? t->metaspace.replacement : 0;
    st->chunk_nc = 0; /* chunk characters of an earlier window are no longer in w->nc */
    for (size_t i = 0; i < n; i++) {
        /* 1. what this character becomes: its piece, its <0xXX> pieces (byte
         *    fallback; every byte keeps the character's span) or unk */
        const struct as_tok_nchar *c = &w->nc[i];
        enum as_tok_char_kind kind;
        char bytes[4];
        int nb = 0, barrier = 0;
        int32_t id = as_tok_char_id(t, c->cp);
        if (id >= 0) {
            kind = AS_TOK_CK_PIECE;
        } else {
            nb = as_tok_utf8_encode(c->cp, bytes);
            int all = t->byte_fallback;
            for (int k = 0; k < nb && all; k++)
                all = t->byte_id[(unsigned char)bytes[k]] >= 0;
            if (all) {
                kind = AS_TOK_CK_BYTES;
                barrier = 1;
                for (int k = 0; k < nb; k++)
                    if (t->paired[t->byte_id[(unsigned char)bytes[k]]]) barrier = 0;
            } else if (t->unk_id >= 0) {
                kind = AS_TOK_CK_UNK;
                barrier = !t->paired[t->unk_id];
            } else {
                ret = as_err_set(err, AS_ERR_INVALID,
                                 "%s: character U+%04X at byte offset %d is not in the vocabulary, "
                                 "which has neither byte-fallback pieces nor an unknown token",
                                 t->path, (unsigned)c->cp, (int)c->start);
                goto done;
            }
        }
        /* 2. can a merge cross the position before this character? If not, the
         *    chunk so far is complete: merge it on its own */
        int cut = split_cp && c->cp == split_cp;
        if (!cut && st->ns > 0 && !t->ignore_merges) {
            if (kind == AS_TOK_CK_UNK && st->prev_kind == AS_TOK_CK_UNK && t->fuse_unk)
                cut = 0;
            else if (barrier || st->prev_barrier)
                cut = 1;
            else if (kind == AS_TOK_CK_PIECE && st->prev_kind == AS_TOK_CK_PIECE)
                cut = !as_tok_junction(t, st->prev_cp, c->cp);
        }
        if (cut) AS_TRY(flush(t, w, st, i, o, err));
        if (st->ns == 0) st->chunk_nc = i;
        /* 3. append its symbols */
        if (kind == AS_TOK_CK_PIECE) {
            AS_TRY(add_sym(w, &st->ns, id, c->start, c->end, err));
        } else if (kind == AS_TOK_CK_BYTES) {
            for (int k = 0; k < nb; k++)
                AS_TRY(add_sym(w, &st->ns, t->byte_id[(unsigned char)bytes[k]], c->start, c->end,
                               err));
        } else if (t->fuse_unk && st->prev_kind == AS_TOK_CK_UNK && st->ns > 0 &&
                   w->sym[st->ns - 1].id == t->unk_id) {
            w->sym[st->ns - 1].end = c->end;
        } else {
            AS_TRY(add_sym(w, &st->ns, t->unk_id, c->start, c->end, err));
        }
        st->prev_kind = kind;
        st->prev_barrier = barrier;
        st->prev_cp = c->cp;
    }
done:
    return ret;
}

as_status as_tok_bpe_finish(const struct as_tokenizer *t, struct as_tok_work *w, size_t n,
                            struct as_tok_bpe_state *st, struct as_tok_out *o, struct as_err *err) {
    as_status ret = flush(t, w, st, n, o, err);
    memset(st, 0, sizeof *st);
    return ret;
}
