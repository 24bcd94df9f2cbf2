/* vocab.c - the in-memory vocabulary: piece arena, piece index, byte and
 * character tables, the pair (merge) table and the special-token list. Every
 * vocabulary source fills these through the functions below. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "tok_internal.h"

uint64_t as_tok_hash_bytes(const void *p, size_t n) {
    /* FNV-1a, then a final mix so that the low bits are usable as a table index */
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

as_status as_tok_grow(void **p, size_t *cap, size_t need, size_t elem, struct as_err *err) {
    if (need <= *cap) return AS_OK;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    size_t bytes;
    void *q = NULL;
    if (as_mul_size(nc, elem, &bytes)) q = realloc(*p, bytes);
    if (!q) return as_err_set(err, AS_ERR_NOMEM, "tokenizer: cannot allocate %zu work items", nc);
    *p = q;
    *cap = nc;
    return AS_OK;
}

int as_tok_parse_byte_piece(const char *s, size_t n, int lower_ok) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (int k = 3; k < 5; k++) {
        char c = s[k];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (lower_ok && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

int32_t as_tokenizer_piece_id(const struct as_tokenizer *t, const char *piece, size_t len) {
    if (!t->index || len == 0) return -1;
    uint64_t h = as_tok_hash_bytes(piece, len);
    for (uint32_t i = (uint32_t)h & t->index_mask;; i = (i + 1) & t->index_mask) {
        int32_t id = t->index[i];
        if (id < 0) return -1;
        if ((size_t)t->piece_len[id] == len &&
            memcmp(t->piece_data + t->piece_off[id], piece, len) == 0)
            return id;
    }
}

int32_t as_tok_char_id(const struct as_tokenizer *t, uint32_t cp) {
    if (cp < 65536) return t->bmp_id[cp];
    char buf[4];
    int n = as_tok_utf8_encode(cp, buf);
    int32_t id = as_tokenizer_piece_id(t, buf, (size_t)n);
    if (id >= 0 && !(t->merge_types & AS_TOK_TYPE_BIT(t->type[id]))) return -1;
    return id;
}

as_status as_tok_vocab_build(struct as_tokenizer *t, int32_t n, const char *const *s,
                             const size_t *len, const uint8_t *types, const float *scores,
                             const char *what, struct as_err *err) {
    if (n <= 0)
        return as_err_set(err, AS_ERR_FORMAT, "%s: the vocabulary is empty (found %d pieces)", what,
                          (int)n);
    size_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        if (len[i] > (size_t)INT32_MAX - 1 || total + len[i] + 1 < total)
            return as_err_set(err, AS_ERR_FORMAT, "%s: piece %d is too long", what, (int)i);
        total += len[i] + 1;
    }
    t->n_vocab = n;
    t->piece_bytes = total;
    t->piece_data = malloc(total);
    t->piece_off = malloc((size_t)n * sizeof *t->piece_off);
    t->piece_len = malloc((size_t)n * sizeof *t->piece_len);
    t->type = malloc((size_t)n);
    t->score = malloc((size_t)n * sizeof *t->score);
    t->bmp_id = malloc(65536 * sizeof *t->bmp_id);
    uint32_t cap = 1024;
    while (cap < 2u * (uint32_t)n)
        cap <<= 1;
    t->index_mask = cap - 1;
    t->index = malloc((size_t)cap * sizeof *t->index);
    if (!t->piece_data || !t->piece_off || !t->piece_len || !t->type || !t->score || !t->bmp_id ||
        !t->index)
        return as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate the vocabulary (%d pieces)", what,
                          (int)n);
    memset(t->index, 0xff, (size_t)cap * sizeof *t->index);
    for (int k = 0; k < 256; k++)
        t->byte_id[k] = -1;

    size_t off = 0;
    for (int32_t i = 0; i < n; i++) {
        const char *p = len[i] ? s[i] : "";
        if (memchr(p, '\0', len[i]))
            return as_err_set(err, AS_ERR_FORMAT, "%s: piece %d contains a NUL byte", what, (int)i);
        as_status st = as_tok_utf8_validate(p, len[i], "piece", err);
        if (st != AS_OK) {
            as_err_prefix(err, "%s: piece %d", what, (int)i);
            return AS_ERR_FORMAT;
        }
        memcpy(t->piece_data + off, p, len[i]);
        t->piece_data[off + len[i]] = '\0';
        t->piece_off[i] = (int64_t)off;
        t->piece_len[i] = (int32_t)len[i];
        off += len[i] + 1;
        float sc = scores ? scores[i] : 0.0f;
        if (isnan(sc))
            return as_err_set(err, AS_ERR_FORMAT, "%s: piece %d has a NaN score", what, (int)i);
        t->score[i] = sc;
        int b = as_tok_parse_byte_piece(p, len[i], 0);
        uint8_t ty = types ? types[i] : (b >= 0 ? AS_TOK_TYPE_BYTE : AS_TOK_TYPE_NORMAL);
        if (ty < AS_TOK_TYPE_NORMAL || ty > AS_TOK_TYPE_BYTE)
            return as_err_set(err, AS_ERR_FORMAT, "%s: piece %d has token type %d, expected 1..6",
                              what, (int)i, ty);
        t->type[i] = ty;
        if (b >= 0 && t->byte_id[b] < 0 && (ty == AS_TOK_TYPE_BYTE || !types)) t->byte_id[b] = i;
        if (len[i] == 0) continue; /* empty pieces (unused ids) are never looked up */
        uint64_t h = as_tok_hash_bytes(p, len[i]);
        for (uint32_t j = (uint32_t)h & t->index_mask;; j = (j + 1) & t->index_mask) {
            int32_t o = t->index[j];
            if (o < 0) {
                t->index[j] = i;
                break;
            }
            if ((size_t)t->piece_len[o] == len[i] &&
                memcmp(t->piece_data + t->piece_off[o], p, len[i]) == 0)
                break; /* duplicate piece: the first id wins */
        }
    }
    return AS_OK;
}

/* Single-code-point pieces, restricted to the types allowed as BPE symbols.
 * Called after merge_types is known. */
static void build_char_table(struct as_tokenizer *t) {
    for (int k = 0; k < 65536; k++)
        t->bmp_id[k] = -1;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int32_t n = t->piece_len[i];
        if (n < 1 || n > 3) continue;
        const unsigned char *p = (const unsigned char *)t->piece_data + t->piece_off[i];
        uint32_t cp;
        if (as_tok_utf8_next(p, &cp) != n) continue;
        if (!(t->merge_types & AS_TOK_TYPE_BIT(t->type[i]))) continue;
        if (as_tokenizer_piece_id(t, (const char *)p, (size_t)n) != i) continue; /* duplicate */
        t->bmp_id[cp] = i;
    }
}

/* Junction set and operand flags (see struct as_tokenizer), from the pair table. */
static as_status build_junctions(struct as_tokenizer *t, struct as_err *err) {
    uint64_t n = 0;
    for (uint64_t i = 0; i <= t->pair_mask; i++)
        n += t->pairs[i].key != UINT64_MAX;
    uint64_t cap = 1024;
    while (cap < 2 * n)
        cap <<= 1;
    free(t->junctions);
    free(t->paired);
    t->junctions = malloc((size_t)cap * sizeof *t->junctions);
    t->paired = calloc((size_t)t->n_vocab, 1);
    if (!t->junctions || !t->paired)
        return as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate the junction table", t->path);
    for (uint64_t i = 0; i < cap; i++)
        t->junctions[i] = UINT64_MAX;
    t->junction_mask = cap - 1;
    for (uint64_t i = 0; i <= t->pair_mask; i++) {
        uint64_t key = t->pairs[i].key;
        if (key == UINT64_MAX) continue;
        int32_t l = (int32_t)(key >> 32), r = (int32_t)(uint32_t)key;
        t->paired[l] = t->paired[r] = 1;
        if (t->piece_len[l] == 0 || t->piece_len[r] == 0) continue;
        const unsigned char *pl = (const unsigned char *)t->piece_data + t->piece_off[l];
        const unsigned char *pr = (const unsigned char *)t->piece_data + t->piece_off[r];
        size_t k = (size_t)t->piece_len[l] - 1;
        while (k > 0 && (pl[k] & 0xC0) == 0x80)
            k--;
        uint32_t a, b;
        as_tok_utf8_next(pl + k, &a);
        as_tok_utf8_next(pr, &b);
        uint64_t jk = ((uint64_t)a << 32) | b;
        for (uint64_t j = as_tok_pair_hash(jk) & t->junction_mask;;
             j = (j + 1) & t->junction_mask) {
            if (t->junctions[j] == jk) break;
            if (t->junctions[j] == UINT64_MAX) {
                t->junctions[j] = jk;
                break;
            }
        }
    }
    return AS_OK;
}

static as_status pairs_alloc(struct as_tokenizer *t, int64_t n, struct as_err *err) {
    uint64_t cap = 1024;
    while (cap < 2 * (uint64_t)n)
        cap <<= 1;
    size_t bytes;
    if (!as_mul_size((size_t)cap, sizeof *t->pairs, &bytes))
        return as_err_set(err, AS_ERR_NOMEM, "%s: pair table too large", t->path);
    free(t->pairs);
    t->pairs = malloc(bytes);
    if (!t->pairs)
        return as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate the pair table (%zu bytes)",
                          t->path, bytes);
    for (uint64_t i = 0; i < cap; i++)
        t->pairs[i].key = UINT64_MAX;
    t->pair_mask = cap - 1;
    return AS_OK;
}

/* Inserts or (overwrite = 1) replaces; returns 1 if a new slot was used. */
static int pairs_put(struct as_tokenizer *t, int32_t l, int32_t r, int32_t merged, int32_t rank,
                     int overwrite) {
    uint64_t key = ((uint64_t)(uint32_t)l << 32) | (uint32_t)r;
    uint64_t h = as_tok_pair_hash(key);
    for (uint64_t i = h & t->pair_mask;; i = (i + 1) & t->pair_mask) {
        struct as_tok_pair *p = &t->pairs[i];
        if (p->key == UINT64_MAX) {
            p->key = key;
            p->merged = merged;
            p->rank = rank;
            return 1;
        }
        if (p->key == key) {
            if (overwrite) {
                p->merged = merged;
                p->rank = rank;
            }
            return 0;
        }
    }
}

as_status as_tok_pairs_from_merges(struct as_tokenizer *t, const int32_t *left,
                                   const int32_t *right, const int32_t *merged, int64_t n,
                                   struct as_err *err) {
    as_status ret = pairs_alloc(t, n, err);
    if (ret != AS_OK) return ret;
    for (int64_t i = 0; i < n; i++)
        pairs_put(t, left[i], right[i], merged[i], (int32_t)i, 1);
    build_char_table(t);
    return build_junctions(t, err);
}

static int cmp_score_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

as_status as_tok_pairs_from_scores(struct as_tokenizer *t, struct as_err *err) {
    as_status ret = AS_OK;
    float *sorted = NULL;
    /* dense rank of each distinct score, highest score = rank 0 */
    sorted = malloc((size_t)t->n_vocab * sizeof *sorted);
    if (!sorted) return as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate score ranks", t->path);
    memcpy(sorted, t->score, (size_t)t->n_vocab * sizeof *sorted);
    qsort(sorted, (size_t)t->n_vocab, sizeof *sorted, cmp_score_desc);
    int32_t n_distinct = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (i == 0 || sorted[i] != sorted[n_distinct - 1]) sorted[n_distinct++] = sorted[i];

    /* count candidate splits to size the table */
    int64_t n_pairs = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        n_pairs += t->piece_len[i] > 1 ? t->piece_len[i] - 1 : 0;
    AS_TRY(pairs_alloc(t, n_pairs, err));
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (!(t->merge_types & AS_TOK_TYPE_BIT(t->type[i]))) continue;
        int32_t n = t->piece_len[i];
        const char *p = t->piece_data + t->piece_off[i];
        if (n < 2 || as_tokenizer_piece_id(t, p, (size_t)n) != i) continue;
        /* binary search of the rank */
        int32_t lo = 0, hi = n_distinct - 1;
        while (lo < hi) {
            int32_t mid = (lo + hi) / 2;
            if (sorted[mid] > t->score[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        for (int32_t k = 1; k < n; k++) {
            if (((unsigned char)p[k] & 0xC0) == 0x80) continue; /* split only between characters */
            int32_t l = as_tokenizer_piece_id(t, p, (size_t)k);
            int32_t r = as_tokenizer_piece_id(t, p + k, (size_t)(n - k));
            if (l < 0 || r < 0) continue;
            if (!(t->merge_types & AS_TOK_TYPE_BIT(t->type[l])) ||
                !(t->merge_types & AS_TOK_TYPE_BIT(t->type[r])))
                continue;
            pairs_put(t, l, r, i, lo, 0);
        }
    }
    build_char_table(t);
    AS_TRY(build_junctions(t, err));
done:
    free(sorted);
    return ret;
}

as_status as_tok_special_add(struct as_tokenizer *t, int32_t id, const char *text, size_t len,
                             int lstrip, int rstrip, int special, struct as_err *err) {
    if (len == 0) return AS_OK; /* an empty added token can never match */
    if (len > (size_t)INT32_MAX - 1)
        return as_err_set(err, AS_ERR_FORMAT, "%s: special token %d is too long", t->path, (int)id);
    struct as_tok_special *ns = realloc(t->special, (size_t)(t->n_special + 1) * sizeof *ns);
    if (!ns) return as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate special tokens", t->path);
    t->special = ns;
    struct as_tok_special *sp = &ns[t->n_special];
    memset(sp, 0, sizeof *sp);
    sp->text = malloc(len + 1);
    if (!sp->text)
        return as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate special tokens", t->path);
    memcpy(sp->text, text, len);
    sp->text[len] = '\0';
    sp->len = (int32_t)len;
    sp->id = id;
    sp->lstrip = lstrip;
    sp->rstrip = rstrip;
    sp->special = special;
    t->n_special++;
    return AS_OK;
}

static int cmp_special(const void *a, const void *b) {
    const struct as_tok_special *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? 1 : -1; /* longest first */
    return x->id < y->id ? -1 : x->id > y->id;
}

void as_tok_special_finish(struct as_tokenizer *t) {
    if (t->n_special > 1) qsort(t->special, (size_t)t->n_special, sizeof *t->special, cmp_special);
    memset(t->special_first, 0, sizeof t->special_first);
    for (int i = 0; i < t->n_special; i++)
        t->special_first[(unsigned char)t->special[i].text[0]] = 1;
}

static char *dup_utf8(uint32_t cp) {
    char *s = malloc(5);
    if (s) s[as_tok_utf8_encode(cp, s)] = '\0';
    return s;
}

as_status as_tok_set_llama_rules(struct as_tokenizer *t, uint32_t prefix_cp, int replace_space,
                                 int add_prefix, struct as_err *err) {
    t->norm = calloc(2, sizeof *t->norm);
    t->dec = calloc(4, sizeof *t->dec);
    if (!t->norm || !t->dec)
        return as_err_set(err, AS_ERR_NOMEM, "cannot allocate tokenizer rules");
    if (add_prefix) {
        struct as_tok_norm_step *s = &t->norm[t->n_norm++];
        s->kind = AS_TOK_NORM_PREPEND;
        s->content = malloc(sizeof *s->content);
        if (!s->content) return as_err_set(err, AS_ERR_NOMEM, "cannot allocate tokenizer rules");
        s->content[0] = prefix_cp;
        s->n_content = 1;
    }
    if (replace_space) {
        struct as_tok_norm_step *s = &t->norm[t->n_norm++];
        s->kind = AS_TOK_NORM_REPLACE;
        s->pattern = malloc(sizeof *s->pattern);
        s->content = malloc(sizeof *s->content);
        if (!s->pattern || !s->content)
            return as_err_set(err, AS_ERR_NOMEM, "cannot allocate tokenizer rules");
        s->pattern[0] = ' ';
        s->n_pattern = 1;
        s->content[0] = prefix_cp;
        s->n_content = 1;
        struct as_tok_dec_step *d = &t->dec[t->n_dec++];
        d->kind = AS_TOK_DEC_REPLACE;
        d->pattern = dup_utf8(prefix_cp);
        d->content = dup_utf8(' ');
        if (!d->pattern || !d->content)
            return as_err_set(err, AS_ERR_NOMEM, "cannot allocate tokenizer rules");
    }
    t->dec[t->n_dec++].kind = AS_TOK_DEC_BYTE_FALLBACK;
    t->dec[t->n_dec++].kind = AS_TOK_DEC_FUSE;
    if (add_prefix) {
        struct as_tok_dec_step *d = &t->dec[t->n_dec++];
        d->kind = AS_TOK_DEC_STRIP;
        d->cp = ' ';
        d->start = 1;
        d->stop = 0;
    }
    return AS_OK;
}
