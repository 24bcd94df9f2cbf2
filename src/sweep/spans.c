/* spans.c - a group's spans: named substrings the reduce stage locates in
 * each prompt (docs/SWEEP.md "spans").
 *
 * A `spans:` entry is a template over the group's vars, product keys and
 * JSONL fields. One that uses only vars is the same for every prompt and
 * stored once; one that uses a product key or a field is rendered per prompt
 * (a field the prompt lacks leaves the span absent there). A JSONL line may
 * also give its own spans ("spans": {"name": "text"}), which must occur in
 * that line's text. Every span must occur in at least one prompt of the
 * group: a span found nowhere is almost certainly a typo. Per-prompt texts
 * live in the sweep arena, so memory is linear in the prompts, and locating
 * a span in a prompt is one memmem over its text. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_internal.h"

static struct sw_spanb *span_new(struct sw_ctx *c) {
    struct sw_group_state *gs = &c->gs;
    if (gs->n_spans == gs->cap_spans) {
        int cap = gs->cap_spans ? 2 * gs->cap_spans : 8;
        struct sw_spanb *p = realloc(gs->spans, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        gs->spans = p, gs->cap_spans = cap;
    }
    struct sw_spanb *b = &gs->spans[gs->n_spans++];
    memset(b, 0, sizeof *b);
    b->node = -1;
    return b;
}

as_status sw_spans_begin(struct sw_ctx *c, int g, int32_t node) {
    struct sw_group_state *gs = &c->gs;
    const struct as_sweep_group *gr = &c->s->groups[g];
    for (int k = 0; k < gs->n_spans; k++) {
        sw_template_free(&gs->spans[k].tpl);
        free(gs->spans[k].texts);
    }
    gs->n_spans = 0;
    gs->g = g;
    if (node < 0 || sw_is_null(&c->t->nodes[node])) return AS_OK;
    const struct sw_node *m = &c->t->nodes[node];
    if (m->kind != SW_MAP)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "spans of group '%s' is %s; expected a mapping {name: \"text\", ...}",
                       gr->name, sw_kind_name(m));
    if (m->n / 2 > AS_SWEEP_MAX_SPANS)
        return sw_errf(c->t, node, AS_ERR_INVALID, "group '%s' has %d spans; expected at most %d",
                       gr->name, (int)(m->n / 2), AS_SWEEP_MAX_SPANS);
    for (int32_t i = 0; i < m->n; i += 2) {
        int32_t kn = m->kids[i], vn = m->kids[i + 1];
        const struct sw_node *k = &c->t->nodes[kn], *val = &c->t->nodes[vn];
        const char *why = sw_name_problem(k->str, k->len);
        if (why)
            return sw_errf(c->t, kn, AS_ERR_INVALID,
                           "span name '%.60s' of group '%s' %s; expected a valid HDF5 link name",
                           k->str, gr->name, why);
        if (val->kind != SW_SCALAR)
            return sw_errf(c->t, vn, AS_ERR_INVALID,
                           "span '%s' of group '%s' is %s; expected a string", k->str, gr->name,
                           sw_kind_name(val));
        struct sw_spanb *b = span_new(c);
        if (!b || !(b->name = sw_arena_strndup(c->arena, k->str, k->len))) return SW_OOM(c);
        b->node = b->mark_node = vn;
    }
    return AS_OK;
}

/* Stores text as prompt k's text of span b (NULL: absent). */
static as_status span_store(struct sw_ctx *c, struct sw_spanb *b, int64_t k, const char *text,
                            size_t len) {
    if (k >= b->cap) {
        int64_t cap = b->cap ? 2 * b->cap : 64;
        while (cap <= k)
            cap *= 2;
        struct as_sweep_span_text *p = realloc(b->texts, (size_t)cap * sizeof *p);
        if (!p) return SW_OOM(c);
        memset(p + b->cap, 0, (size_t)(cap - b->cap) * sizeof *p);
        b->texts = p, b->cap = cap;
    }
    b->texts[k].text = NULL, b->texts[k].len = 0;
    if (!text || len == 0) return AS_OK;
    c->meta_bytes += len;
    if ((long long)c->meta_bytes > AS_SWEEP_MAX_TEXT_BYTES)
        return sw_errf(c->t, b->node, AS_ERR_INVALID,
                       "the metadata and per-prompt span texts exceed %lld bytes; expected a "
                       "smaller sweep",
                       (long long)AS_SWEEP_MAX_TEXT_BYTES);
    char *t = sw_arena_strndup(c->arena, text, len);
    if (!t) return SW_OOM(c);
    b->texts[k].text = t, b->texts[k].len = len;
    return AS_OK;
}

as_status sw_spans_compile(struct sw_ctx *c, const struct sw_vars *v, int n_fixed) {
    struct sw_group_state *gs = &c->gs;
    const struct as_sweep_group *gr = &c->s->groups[gs->g];
    as_status ret = AS_OK;
    struct sw_buf text = {0};
    for (int k = 0; k < gs->n_spans; k++) {
        struct sw_spanb *b = &gs->spans[k];
        if (b->node < 0 || b->compiled) continue;
        const struct sw_node *val = &c->t->nodes[b->node];
        char what[300];
        snprintf(what, sizeof what, "group '%s', span '%s'", gr->name, b->name);
        const char *src = sw_is_null(val) ? "" : val->str;
        AS_TRY(sw_template_compile(c->t, b->node, what, src, strlen(src), v, &b->tpl));
        b->compiled = 1;
        b->varying = sw_template_uses_from(&b->tpl, n_fixed);
        if (b->varying) continue;
        if (!sw_template_render(&b->tpl, v, &text)) {
            ret = SW_OOM(c);
            goto done;
        }
        if (text.len == 0) {
            ret = sw_errf(c->t, b->node, AS_ERR_INVALID,
                          "%s is empty; expected a non-empty substring", what);
            goto done;
        }
        if (!(b->text = sw_arena_strndup(c->arena, text.p, text.len))) {
            ret = SW_OOM(c);
            goto done;
        }
        b->text_len = text.len;
    }
done:
    sw_buf_free(&text);
    return ret;
}

as_status sw_spans_prompt(struct sw_ctx *c, int64_t k, const struct sw_vars *v) {
    struct sw_group_state *gs = &c->gs;
    as_status ret = AS_OK;
    struct sw_buf text = {0};
    for (int i = 0; i < gs->n_spans; i++) {
        struct sw_spanb *b = &gs->spans[i];
        if (b->node < 0 || !b->compiled || !b->varying) continue; /* JSONL-only: given per line */
        if (sw_template_missing(&b->tpl, v)) {
            AS_TRY(span_store(c, b, k, NULL, 0));
            continue;
        }
        if (!sw_template_render(&b->tpl, v, &text)) {
            ret = SW_OOM(c);
            goto done;
        }
        AS_TRY(span_store(c, b, k, text.p, text.len));
    }
done:
    sw_buf_free(&text);
    return ret;
}

as_status sw_spans_given(struct sw_ctx *c, int64_t k, const char *name, size_t nlen,
                         const char *text, size_t tlen, struct sw_where w) {
    struct sw_group_state *gs = &c->gs;
    const struct as_sweep_group *gr = &c->s->groups[gs->g];
    const struct as_sweep_prompt *p = &c->s->prompts[gr->first_prompt + k];
    const char *why = sw_name_problem(name, nlen);
    if (why)
        return sw_prompt_errf(c, gs->g, w.node, w.file_line, AS_ERR_INVALID,
                              "span name '%.*s' %s; expected a valid HDF5 link name",
                              (int)(nlen > 60 ? 60 : nlen), name, why);
    struct sw_spanb *b = NULL;
    for (int i = 0; i < gs->n_spans && !b; i++)
        if (strlen(gs->spans[i].name) == nlen && !memcmp(gs->spans[i].name, name, nlen))
            b = &gs->spans[i];
    if (b && b->node >= 0)
        return sw_prompt_errf(c, gs->g, w.node, w.file_line, AS_ERR_INVALID,
                              "span '%s' is given by this line and by the group's spans: at "
                              "%s:%d:%d; expected one definition per span",
                              b->name, c->s->path, c->t->nodes[b->node].line,
                              c->t->nodes[b->node].col);
    if (tlen == 0 || !memmem(p->text + p->prompt_start, p->prompt_len, text, tlen))
        return sw_prompt_errf(c, gs->g, w.node, w.file_line, AS_ERR_INVALID,
                              "span '%.*s' = \"%.80s\" %s; expected a substring of the line's "
                              "\"text\"",
                              (int)(nlen > 60 ? 60 : nlen), name, text,
                              tlen ? "does not occur in the text" : "is empty");
    if (!b) {
        if (gs->n_spans >= AS_SWEEP_MAX_SPANS)
            return sw_prompt_errf(c, gs->g, w.node, w.file_line, AS_ERR_INVALID,
                                  "span '%.*s' would be span %d of group '%s'; expected at most %d",
                                  (int)(nlen > 60 ? 60 : nlen), name, gs->n_spans + 1, gr->name,
                                  AS_SWEEP_MAX_SPANS);
        if (!(b = span_new(c)) || !(b->name = sw_arena_strndup(c->arena, name, nlen)))
            return SW_OOM(c);
        b->compiled = b->varying = 1;
        b->first_line = w.file_line;
        b->mark_node = w.node;
    }
    return span_store(c, b, k, text, tlen);
}

as_status sw_spans_end(struct sw_ctx *c) {
    struct sw_group_state *gs = &c->gs;
    struct as_sweep_group *gr = &c->s->groups[gs->g];
    const int64_t n = gr->n_prompts;
    if (gs->n_spans == 0) return AS_OK;
    gr->spans = sw_arena_alloc(c->arena, (size_t)gs->n_spans * sizeof *gr->spans);
    if (!gr->spans) return SW_OOM(c);
    for (int i = 0; i < gs->n_spans; i++) {
        struct sw_spanb *b = &gs->spans[i];
        struct as_sweep_span *sp = &gr->spans[i];
        memset(sp, 0, sizeof *sp);
        int found = 0;
        for (int64_t k = 0; k < n && !found; k++) {
            const struct as_sweep_prompt *p = &c->s->prompts[gr->first_prompt + k];
            const char *t = b->varying ? (k < b->cap ? b->texts[k].text : NULL) : b->text;
            size_t len = b->varying ? (k < b->cap ? b->texts[k].len : 0) : b->text_len;
            found = t && len && memmem(p->text + p->prompt_start, p->prompt_len, t, len) != NULL;
        }
        if (!found) { /* JSONL spans are checked line by line, so this is a spans: entry */
            char what[300];
            snprintf(what, sizeof what, "group '%s', span '%s'", gr->name, b->name);
            if (b->varying)
                return sw_errf(c->t, b->node, AS_ERR_INVALID,
                               "%s occurs in no prompt of the group (rendered for each prompt "
                               "from its values); expected a substring of at least one prompt",
                               what);
            return sw_errf(c->t, b->node, AS_ERR_INVALID,
                           "%s = \"%.80s\" occurs in no prompt of the group; expected a substring "
                           "of at least one prompt",
                           what, b->text);
        }
        sp->name = b->name;
        sp->mark.line = c->t->nodes[b->mark_node].line;
        sp->mark.col = c->t->nodes[b->mark_node].col;
        if (!b->varying) {
            sp->text = (char *)b->text, sp->text_len = b->text_len;
            continue;
        }
        sp->texts = sw_arena_alloc(c->arena, (size_t)(n ? n : 1) * sizeof *sp->texts);
        if (!sp->texts) return SW_OOM(c);
        for (int64_t k = 0; k < n; k++)
            sp->texts[k] = k < b->cap ? b->texts[k] : (struct as_sweep_span_text){NULL, 0};
    }
    gr->n_spans = gs->n_spans;
    return AS_OK;
}
