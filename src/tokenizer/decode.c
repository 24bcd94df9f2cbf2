/* decode.c - HF decoders: the decode([id]) string of every id (precomputed at
 * load) and the decode of a whole id sequence. The decoder is a list of steps
 * (tokenizer.json "decoder"), each mapping a list of token strings to another,
 * exactly as HF tokenizers' decode_chain does; the results are then joined. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

struct dstr {
    char *p;
    size_t n;
};
struct dlist {
    struct dstr *v; /* (n) */
    size_t n, cap;
};

static void dlist_free(struct dlist *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].p);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Appends a copy of p[0, n). Returns 0 on allocation failure. */
static int dlist_push(struct dlist *l, const char *p, size_t n) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 8;
        struct dstr *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) return 0;
        l->v = nv;
        l->cap = nc;
    }
    char *c = malloc(n + 1);
    if (!c) return 0;
    if (n) memcpy(c, p, n);
    c[n] = '\0';
    l->v[l->n].p = c;
    l->v[l->n].n = n;
    l->n++;
    return 1;
}

/* The string the decoder starts from: the piece, except llama2.c's control
 * pieces "\n<s>\n" / "\n</s>\n", which decode to "<s>" / "</s>" as in HF. */
static void decoder_input(const struct as_tokenizer *t, int32_t id, const char **p, size_t *n) {
    *p = t->piece_data + t->piece_off[id];
    *n = (size_t)t->piece_len[id];
    if (t->source == AS_TOK_SOURCE_LLAMA2C && t->type[id] == AS_TOK_TYPE_CONTROL && *n >= 2 &&
        (*p)[0] == '\n' && (*p)[*n - 1] == '\n') {
        (*p)++;
        *n -= 2;
    }
}

static int utf8_ok(const unsigned char *b, size_t n) {
    return as_tok_utf8_validate((const char *)b, n, "", NULL) == AS_OK;
}

static const char FFFD[] = "\xEF\xBF\xBD";

static int step_replace(const struct as_tok_dec_step *s, struct dlist *l) {
    size_t pl = strlen(s->pattern), cl = strlen(s->content);
    if (pl == 0) return 1;
    for (size_t i = 0; i < l->n; i++) {
        struct dstr *d = &l->v[i];
        size_t count = 0;
        for (char *q = d->p; (q = strstr(q, s->pattern)) != NULL; q += pl)
            count++;
        if (!count) continue;
        size_t nn = d->n - count * pl + count * cl;
        char *o = malloc(nn + 1), *w = o;
        if (!o) return 0;
        const char *r = d->p;
        for (const char *q; (q = strstr(r, s->pattern)) != NULL; r = q + pl) {
            memcpy(w, r, (size_t)(q - r));
            w += q - r;
            memcpy(w, s->content, cl);
            w += cl;
        }
        size_t rest = d->n - (size_t)(r - d->p);
        memcpy(w, r, rest);
        w[rest] = '\0';
        free(d->p);
        d->p = o;
        d->n = nn;
    }
    return 1;
}

static int step_byte_fallback(struct dlist *l) {
    struct dlist out = {0};
    unsigned char *run = malloc(l->n + 1);
    size_t nrun = 0;
    if (!run) return 0;
    for (size_t i = 0; i <= l->n; i++) {
        int b = i < l->n ? as_tok_parse_byte_piece(l->v[i].p, l->v[i].n, 1) : -1;
        if (b >= 0) {
            run[nrun++] = (unsigned char)b;
            continue;
        }
        if (nrun) {
            if (utf8_ok(run, nrun)) {
                if (!dlist_push(&out, (const char *)run, nrun)) goto fail;
            } else {
                for (size_t k = 0; k < nrun; k++)
                    if (!dlist_push(&out, FFFD, 3)) goto fail;
            }
            nrun = 0;
        }
        if (i < l->n && !dlist_push(&out, l->v[i].p, l->v[i].n)) goto fail;
    }
    free(run);
    dlist_free(l);
    *l = out;
    return 1;
fail:
    free(run);
    dlist_free(&out);
    return 0;
}

static int step_fuse(struct dlist *l) {
    if (l->n <= 1) return 1;
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += l->v[i].n;
    char *o = malloc(total + 1);
    if (!o) return 0;
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        memcpy(o + w, l->v[i].p, l->v[i].n);
        w += l->v[i].n;
    }
    o[w] = '\0';
    dlist_free(l);
    l->v = malloc(sizeof *l->v);
    if (!l->v) {
        free(o);
        return 0;
    }
    l->v[0].p = o;
    l->v[0].n = total;
    l->n = l->cap = 1;
    return 1;
}

static void step_strip(const struct as_tok_dec_step *s, struct dlist *l) {
    char c[4];
    int cl = as_tok_utf8_encode(s->cp, c);
    for (size_t i = 0; i < l->n; i++) {
        struct dstr *d = &l->v[i];
        size_t a = 0, b = d->n;
        for (int k = 0; k < s->start && b - a >= (size_t)cl && memcmp(d->p + a, c, (size_t)cl) == 0;
             k++)
            a += (size_t)cl;
        for (int k = 0;
             k < s->stop && b - a >= (size_t)cl && memcmp(d->p + b - cl, c, (size_t)cl) == 0; k++)
            b -= (size_t)cl;
        memmove(d->p, d->p + a, b - a);
        d->n = b - a;
        d->p[d->n] = '\0';
    }
}

static void step_metaspace(const struct as_tok_dec_step *s, struct dlist *l) {
    char c[4];
    int cl = as_tok_utf8_encode(s->cp, c);
    for (size_t i = 0; i < l->n; i++) {
        struct dstr *d = &l->v[i];
        int drop = i == 0 && s->prepend_scheme != AS_TOK_PREPEND_NEVER;
        size_t w = 0;
        for (size_t r = 0; r < d->n;) {
            if (d->n - r >= (size_t)cl && memcmp(d->p + r, c, (size_t)cl) == 0) {
                if (!drop) d->p[w++] = ' '; /* the replacement is >= 1 byte, so w <= r */
                r += (size_t)cl;
            } else {
                d->p[w++] = d->p[r++];
            }
        }
        d->n = w;
        d->p[w] = '\0';
    }
}

static as_status run_decoder(const struct as_tokenizer *t, struct dlist *l, struct as_err *err) {
    for (int k = 0; k < t->n_dec; k++) {
        const struct as_tok_dec_step *s = &t->dec[k];
        int ok = 1;
        switch (s->kind) {
        case AS_TOK_DEC_REPLACE: ok = step_replace(s, l); break;
        case AS_TOK_DEC_BYTE_FALLBACK: ok = step_byte_fallback(l); break;
        case AS_TOK_DEC_FUSE: ok = step_fuse(l); break;
        case AS_TOK_DEC_STRIP: step_strip(s, l); break;
        case AS_TOK_DEC_METASPACE: step_metaspace(s, l); break;
        }
        if (!ok) return as_err_set(err, AS_ERR_NOMEM, "cannot allocate while decoding");
    }
    return AS_OK;
}

/* Total bytes of the list's pieces, and their concatenation into dst (no NUL). */
static size_t dlist_bytes(const struct dlist *l) {
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += l->v[i].n;
    return total;
}

static void dlist_concat(const struct dlist *l, char *dst) {
    for (size_t i = 0; i < l->n; i++) {
        memcpy(dst, l->v[i].p, l->v[i].n);
        dst += l->v[i].n;
    }
}

as_status as_tok_decoded_build(struct as_tokenizer *t, struct as_err *err) {
    as_status ret = AS_OK;
    struct dlist l = {0};
    size_t cap = t->piece_bytes + 16, used = 0;
    t->dec_off = malloc((size_t)t->n_vocab * sizeof *t->dec_off);
    t->dec_len = malloc((size_t)t->n_vocab * sizeof *t->dec_len);
    t->dec_data = malloc(cap);
    if (!t->dec_off || !t->dec_len || !t->dec_data) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate decoded strings", t->path);
        goto done;
    }
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const char *p;
        size_t n;
        decoder_input(t, id, &p, &n);
        if (!dlist_push(&l, p, n)) {
            ret = as_err_set(err, AS_ERR_NOMEM, "cannot allocate while decoding");
            goto done;
        }
        AS_TRY(run_decoder(t, &l, err));
        size_t total = dlist_bytes(&l);
        if (used + total + 1 > cap) {
            while (used + total + 1 > cap)
                cap *= 2;
            char *nd = realloc(t->dec_data, cap);
            if (!nd) {
                ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate decoded strings", t->path);
                goto done;
            }
            t->dec_data = nd;
        }
        t->dec_off[id] = (int64_t)used;
        dlist_concat(&l, t->dec_data + used);
        used += total;
        t->dec_data[used++] = '\0';
        t->dec_len[id] = (int32_t)total;
        dlist_free(&l);
    }
    t->dec_bytes = used;
done:
    dlist_free(&l);
    return ret;
}

as_status as_tokenizer_decode(const struct as_tokenizer *t, const int32_t *ids, int n,
                              int skip_special, char **out, size_t *len, struct as_err *err) {
    as_status ret = AS_OK;
    struct dlist l = {0};
    *out = NULL;
    if (len) *len = 0;
    for (int i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "decode: id %d at position %d is out of range [0, %d)", (int)id, i,
                             (int)t->n_vocab);
            goto done;
        }
        if (skip_special) {
            int is_special = 0;
            for (int k = 0; k < t->n_special; k++)
                if (t->special[k].id == id && t->special[k].special) is_special = 1;
            if (t->source != AS_TOK_SOURCE_HF &&
                (t->type[id] == AS_TOK_TYPE_CONTROL || t->type[id] == AS_TOK_TYPE_UNKNOWN))
                is_special = 1;
            if (is_special) continue;
        }
        const char *p;
        size_t pn;
        decoder_input(t, id, &p, &pn);
        if (!dlist_push(&l, p, pn)) {
            ret = as_err_set(err, AS_ERR_NOMEM, "cannot allocate while decoding");
            goto done;
        }
    }
    AS_TRY(run_decoder(t, &l, err));
    size_t total = dlist_bytes(&l);
    char *s = malloc(total + 1);
    if (!s) {
        ret = as_err_set(err, AS_ERR_NOMEM, "cannot allocate %zu bytes while decoding", total);
        goto done;
    }
    dlist_concat(&l, s);
    s[total] = '\0';
    *out = s;
    if (len) *len = total;
done:
    dlist_free(&l);
    return ret;
}
