/* normalize.c - normalizer and Metaspace pre-tokenizer steps over one text
 * segment, tracking for every normalized character the byte span of the
 * original text it came from (HF's NormalizedString alignments):
 *   - a character copied from the text keeps its own span;
 *   - inserted characters (Prepend, the Metaspace prefix) get an empty span at
 *     the segment start, so that offsets still tile the text;
 *   - Replace gives every character of the replacement the span of the whole
 *     matched pattern. */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "tok_internal.h"

void as_tok_work_free(struct as_tok_work *w) {
    free(w->nc);
    free(w->nc2);
    free(w->sym);
    free(w->heap);
    free(w->word);
    memset(w, 0, sizeof *w);
}

static void swap_buffers(struct as_tok_work *w) {
    struct as_tok_nchar *p = w->nc;
    size_t c = w->cap_nc;
    w->nc = w->nc2;
    w->cap_nc = w->cap_nc2;
    w->nc2 = p;
    w->cap_nc2 = c;
}

/* Prepends n_content characters with an empty span at the segment start. */
static as_status do_prepend(struct as_tok_work *w, size_t *n, const uint32_t *content,
                            int n_content, int32_t seg_start, struct as_err *err) {
    as_status ret =
        as_tok_grow((void **)&w->nc2, &w->cap_nc2, *n + (size_t)n_content, sizeof *w->nc2, err);
    if (ret != AS_OK) return ret;
    for (int k = 0; k < n_content; k++) {
        w->nc2[k].cp = content[k];
        w->nc2[k].start = w->nc2[k].end = seg_start;
    }
    memcpy(w->nc2 + n_content, w->nc, *n * sizeof *w->nc);
    *n += (size_t)n_content;
    swap_buffers(w);
    return AS_OK;
}

static as_status do_replace(struct as_tok_work *w, size_t *n, const uint32_t *pat, int n_pat,
                            const uint32_t *content, int n_content, struct as_err *err) {
    if (n_pat <= 0) return AS_OK;
    /* single-character pattern and replacement (" " -> "▁"): in place */
    if (n_pat == 1 && n_content == 1) {
        for (size_t i = 0; i < *n; i++)
            if (w->nc[i].cp == pat[0]) w->nc[i].cp = content[0];
        return AS_OK;
    }
    size_t worst = *n;
    if (n_content > n_pat) {
        size_t extra;
        if (!as_mul_size(*n / (size_t)n_pat + 1, (size_t)(n_content - n_pat), &extra))
            return as_err_set(err, AS_ERR_NOMEM, "tokenizer: normalized text too large");
        worst += extra;
    }
    as_status ret = as_tok_grow((void **)&w->nc2, &w->cap_nc2, worst, sizeof *w->nc2, err);
    if (ret != AS_OK) return ret;
    size_t o = 0;
    for (size_t i = 0; i < *n;) {
        int match = i + (size_t)n_pat <= *n;
        for (int k = 0; match && k < n_pat; k++)
            match = w->nc[i + (size_t)k].cp == pat[k];
        if (!match) {
            w->nc2[o++] = w->nc[i++];
            continue;
        }
        int32_t s = w->nc[i].start, e = w->nc[i + (size_t)n_pat - 1].end;
        for (int k = 0; k < n_content; k++) {
            w->nc2[o].cp = content[k];
            w->nc2[o].start = s;
            w->nc2[o].end = e;
            o++;
        }
        i += (size_t)n_pat;
    }
    *n = o;
    swap_buffers(w);
    return AS_OK;
}

int as_tok_can_window(const struct as_tokenizer *t) {
    if (t->ignore_merges) return 0;
    for (int s = 0; s < t->n_norm; s++)
        if (t->norm[s].kind == AS_TOK_NORM_REPLACE &&
            (t->norm[s].n_pattern != 1 || t->norm[s].n_content != 1))
            return 0;
    return 1;
}

as_status as_tok_normalize(const struct as_tokenizer *t, const char *text, int32_t seg, int32_t a,
                           int32_t b, struct as_tok_work *w, size_t *n, struct as_err *err) {
    as_status ret =
        as_tok_grow((void **)&w->nc, &w->cap_nc, (size_t)(b - a) + 1, sizeof *w->nc, err);
    if (ret != AS_OK) return ret;
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)text;
    for (int32_t i = a; i < b;) {
        uint32_t cp;
        int l = as_tok_utf8_next(p + i, &cp);
        w->nc[k].cp = cp;
        w->nc[k].start = i;
        w->nc[k].end = i + l;
        k++;
        i += l;
    }
    *n = k;
    for (int s = 0; s < t->n_norm; s++) {
        const struct as_tok_norm_step *st = &t->norm[s];
        if (st->kind == AS_TOK_NORM_PREPEND) {
            if (*n > 0 && a == seg) ret = do_prepend(w, n, st->content, st->n_content, a, err);
        } else {
            ret = do_replace(w, n, st->pattern, st->n_pattern, st->content, st->n_content, err);
        }
        if (ret != AS_OK) return ret;
    }
    const struct as_tok_metaspace *ms = &t->metaspace;
    if (ms->enabled) {
        uint32_t sp = ' ';
        ret = do_replace(w, n, &sp, 1, &ms->replacement, 1, err);
        if (ret != AS_OK) return ret;
        int want = a == seg && (ms->prepend_scheme == AS_TOK_PREPEND_ALWAYS ||
                                (ms->prepend_scheme == AS_TOK_PREPEND_FIRST && seg == 0));
        if (want && *n > 0 && w->nc[0].cp != ms->replacement)
            ret = do_prepend(w, n, &ms->replacement, 1, a, err);
    }
    return ret;
}
