/* metrics_ctx.c - the text side of the per-prompt metrics: derived prefixes,
 * byte range -> token span mapping, keyword occurrences, the notebook's
 * token-substring matches, the prompt's span list and the layout (sizes)
 * that follows from them. Everything here is a pure function of the text,
 * the token offsets, the keywords and the group's spans, so every rank
 * computes the same result. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "metrics_internal.h"

void as_metrics_variant_prefixes(const char *const *texts, const size_t *lens, int n,
                                 size_t *prefix_len) {
    if (n <= 0) return;
    size_t minlen = lens[0];
    for (int i = 1; i < n; i++)
        if (lens[i] < minlen) minlen = lens[i];
    size_t k = 0; /* common suffix length in bytes */
    while (k < minlen) {
        unsigned char c = (unsigned char)texts[0][lens[0] - 1 - k];
        int same = 1;
        for (int i = 1; i < n && same; i++)
            same = (unsigned char)texts[i][lens[i] - 1 - k] == c;
        if (!same) break;
        k++;
    }
    /* The suffix must start on a character: drop leading continuation bytes
     * (the suffix bytes are identical in every text, so all texts agree). */
    while (k > 0 && ((unsigned char)texts[0][lens[0] - k] & 0xC0) == 0x80)
        k--;
    for (int i = 0; i < n; i++)
        prefix_len[i] = lens[i] - k;
}

int as_metrics_span_tokens(const int32_t *offsets, int T, size_t begin, size_t end, int32_t *first,
                           int32_t *last_plus_1) {
    *first = *last_plus_1 = -1;
    if (!offsets || end <= begin) return 0;
    for (int t = 0; t < T; t++) {
        int32_t s = offsets[2 * t], e = offsets[2 * t + 1];
        if (s < 0 || e <= s) continue; /* BOS, unknown or empty: covers no text */
        if ((size_t)s < end && (size_t)e > begin) {
            if (*first < 0) *first = t;
            *last_plus_1 = t + 1;
        }
    }
    return *first >= 0;
}

static int lower_ascii(int c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ASCII case-insensitive compare of n bytes. */
static int ieq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (lower_ascii((unsigned char)a[i]) != lower_ascii((unsigned char)b[i])) return 0;
    return 1;
}

/* Python's `kw.lower() in token.lower()` for ASCII case folding. */
static int icontains(const char *hay, const char *needle) {
    size_t nh = strlen(hay), nn = strlen(needle);
    if (nn == 0) return 1;
    for (size_t p = 0; p + nn <= nh; p++)
        if (ieq(hay + p, needle, nn)) return 1;
    return 0;
}

/* The user's prompt [*b, *e) inside the text (the whole text without a chat template). */
static void user_range(const struct as_metrics_ctx *c, size_t *b, size_t *e) {
    *b = 0, *e = c->text_len;
    if (c->prompt_len == 0 || c->prompt_start > c->text_len ||
        c->prompt_len > c->text_len - c->prompt_start)
        return;
    *b = c->prompt_start, *e = c->prompt_start + c->prompt_len;
}

int mx_count_occurrences(const struct as_metrics_ctx *c, struct as_metrics_occ *out) {
    int n = 0;
    size_t ub, ue;
    user_range(c, &ub, &ue);
    for (int k = 0; k < c->n_keywords; k++) {
        size_t kl = strlen(c->keywords[k]);
        if (kl == 0 || kl > ue - ub) continue;
        for (size_t p = ub; p + kl <= ue; p++) {
            if (!ieq(c->text + p, c->keywords[k], kl)) continue;
            if (out) {
                struct as_metrics_occ *o = &out[n];
                o->keyword = k;
                o->bytes[0] = (int32_t)p, o->bytes[1] = (int32_t)(p + kl);
                as_metrics_span_tokens(c->offsets, c->T, p, p + kl, &o->tokens[0], &o->tokens[1]);
            }
            n++;
        }
    }
    return n;
}

/* Token t belongs to the user's prompt [ub, ue): its byte span overlaps it, or is an empty
 * span inside it; always true without a chat template (or without offsets). */
static int in_user(const struct as_metrics_ctx *c, int t, size_t ub, size_t ue) {
    if (!c->offsets || (ub == 0 && ue == c->text_len)) return 1;
    int64_t s = c->offsets[2 * t], e = c->offsets[2 * t + 1];
    if (s < e) return s < (int64_t)ue && e > (int64_t)ub;
    return s >= (int64_t)ub && s < (int64_t)ue;
}

int mx_count_notebook(const struct as_metrics_ctx *c, int32_t *kw, int32_t *pos) {
    int n = 0;
    size_t ub, ue;
    user_range(c, &ub, &ue);
    for (int t = 0; t < c->T; t++) {
        if (!in_user(c, t, ub, ue)) continue; /* a chat template's token */
        const char *tok = c->tokens && c->tokens[t] ? c->tokens[t] : "";
        for (int k = 0; k < c->n_keywords; k++) {
            if (!icontains(tok, c->keywords[k])) continue;
            if (kw) kw[n] = k, pos[n] = t;
            n++;
        }
    }
    return n;
}

static int has_declared(const struct as_metrics_ctx *c, const char *name) {
    for (int s = 0; s < c->n_spans; s++)
        if (!strcmp(c->spans[s].name, name)) return 1;
    return 0;
}

/* The span list: declared spans in order, then derived "prefix" and
 * "question" unless the group declares spans of those names. */
int mx_list_spans(const struct as_metrics_ctx *c, struct mx_span *out) {
    int n = 0;
    int64_t qb = -1, qe = -1; /* the question span, declared or derived */
    size_t ub, ue;
    user_range(c, &ub, &ue);
    for (int s = 0; s < c->n_spans; s++) {
        const struct as_metrics_span_def *d = &c->spans[s];
        int64_t b = -1, e = -1;
        const char *hit = NULL;
        if (d->text_len > 0 && ue > ub) hit = memmem(c->text + ub, ue - ub, d->text, d->text_len);
        if (hit) b = hit - c->text, e = b + (int64_t)d->text_len;
        if (!strcmp(d->name, "question")) qb = b, qe = e;
        if (out) out[n] = (struct mx_span){d->name, AS_SPAN_DECLARED, b, e};
        n++;
    }
    size_t pl = c->prefix_len <= ue - ub ? c->prefix_len : ue - ub;
    int decl_q = has_declared(c, "question");
    if (!decl_q && pl < ue - ub) qb = (int64_t)(ub + pl), qe = (int64_t)ue;
    if (!has_declared(c, "prefix")) {
        int64_t end = qb >= 0 ? qb : (int64_t)(ub + pl), b = (int64_t)ub;
        if (out)
            out[n] =
                (struct mx_span){"prefix", AS_SPAN_DERIVED, end > b ? b : -1, end > b ? end : -1};
        n++;
    }
    if (!decl_q) {
        if (out) out[n] = (struct mx_span){"question", AS_SPAN_DERIVED, qb, qe};
        n++;
    }
    if (c->chat && !has_declared(c, "template")) {
        if (out)
            out[n] = (struct mx_span){"template", AS_SPAN_DERIVED, ub > 0 ? 0 : -1,
                                      ub > 0 ? (int64_t)ub : -1};
        n++;
    }
    /* the text the model was given ends where the generated text begins */
    const size_t given = c->generates && c->gen_start <= c->text_len ? c->gen_start : c->text_len;
    if (c->chat && !has_declared(c, "template_end")) {
        int some = ue < given;
        if (out)
            out[n] = (struct mx_span){"template_end", AS_SPAN_DERIVED, some ? (int64_t)ue : -1,
                                      some ? (int64_t)given : -1};
        n++;
    }
    if (c->generates) { /* reasoning = the generated text before the answer */
        int64_t ab = -1, ae = -1;
        if (out) as_metrics_answer_span(c->text, c->text_len, given, c->answer_regex, &ab, &ae);
        const int r = ab > (int64_t)given;
        if (!has_declared(c, "reasoning")) {
            if (out)
                out[n] = (struct mx_span){"reasoning", AS_SPAN_DERIVED, r ? (int64_t)given : -1,
                                          r ? ab : -1};
            n++;
        }
        if (!has_declared(c, "answer")) {
            if (out) out[n] = (struct mx_span){"answer", AS_SPAN_DERIVED, ab, ae};
            n++;
        }
    }
    (void)qe;
    return n;
}

const char *as_metrics_unavailable_last_row(void) {
    return "sink_mean,prev_token,norm_entropy,dup_token,induction";
}

as_status as_metrics_layout_compute(const struct as_metrics_ctx *c, enum as_metrics_input in,
                                    struct as_metrics_layout *out, struct as_err *err) {
    memset(out, 0, sizeof *out);
    if (c->L < 1 || c->H < 1 || c->T < 1)
        return as_err_set(err, AS_ERR_INVALID, "metrics: L=%d H=%d T=%d; expected all >= 1", c->L,
                          c->H, c->T);
    if (in != AS_METRICS_FULL && in != AS_METRICS_LAST_ROW)
        return as_err_set(err, AS_ERR_INVALID, "metrics: unknown input mode %d", (int)in);
    if ((c->n_keywords > 0 && !c->keywords) || (c->n_spans > 0 && !c->spans) ||
        (c->text_len > 0 && !c->text) || c->n_keywords < 0 || c->n_spans < 0)
        return as_err_set(err, AS_ERR_INVALID, "metrics: inconsistent context (NULL arrays)");
    if (c->text_len > (size_t)INT32_MAX)
        return as_err_set(err, AS_ERR_INVALID, "metrics: text of %zu bytes; expected < 2 GiB",
                          c->text_len);
    for (int t = 0; c->offsets && t < c->T; t++) {
        int32_t s = c->offsets[2 * t], e = c->offsets[2 * t + 1];
        if (s >= 0 && e >= 0 && (e < s || (size_t)e > c->text_len))
            return as_err_set(err, AS_ERR_INVALID,
                              "metrics: offsets[%d] = [%d, %d); expected 0 <= start <= end <= %zu",
                              t, (int)s, (int)e, c->text_len);
    }
    for (int k = 0; k < c->n_keywords; k++) {
        if (!c->keywords[k] || !c->keywords[k][0])
            return as_err_set(err, AS_ERR_INVALID, "metrics: keyword %d is empty", k);
        size_t w = strlen(c->keywords[k]);
        if (w > out->keyword_width) out->keyword_width = w;
    }
    for (int s = 0; s < c->n_spans; s++)
        if (!c->spans[s].name || !c->spans[s].name[0] ||
            (c->spans[s].text_len && !c->spans[s].text))
            return as_err_set(err, AS_ERR_INVALID, "metrics: span %d has no name or text", s);
    out->L = c->L, out->H = c->H, out->T = c->T, out->input = (int)in;
    out->answer_mass = c->answer_mass != 0;
    out->n_keywords = c->n_keywords;
    out->n_occ = mx_count_occurrences(c, NULL);
    out->n_nb = mx_count_notebook(c, NULL, NULL);
    out->n_spans = mx_list_spans(c, NULL);
    struct mx_span *sp = calloc((size_t)out->n_spans, sizeof *sp);
    if (!sp) return as_err_set(err, AS_ERR_NOMEM, "metrics: no memory for %d spans", out->n_spans);
    mx_list_spans(c, sp);
    for (int s = 0; s < out->n_spans; s++) {
        size_t w = strlen(sp[s].name);
        if (w > out->span_width) out->span_width = w;
    }
    free(sp);
    for (int t = 0; c->tokens && t < c->T; t++) {
        size_t w = c->tokens[t] ? strlen(c->tokens[t]) : 0;
        if (w > out->token_width) out->token_width = w;
    }
    if (out->keyword_width == 0) out->keyword_width = 1;
    if (out->span_width == 0) out->span_width = 1;
    if (out->token_width == 0) out->token_width = 1;
    return AS_OK;
}
