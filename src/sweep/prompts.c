/* prompts.c - adding prompts to the sweep, default ids, and the id index.
 *
 * Every prompt of every group goes through sw_add_prompt, which checks the
 * limits (prompt count, text bytes) and the id rules before anything else
 * refers to the prompt. The id index (open addressing on FNV-1a) finds
 * duplicates in O(N) and resolves ranks.explicit names in O(1) each. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_internal.h"

/* An error about one prompt: "<file>:<line>: " for prompts read from a file,
 * else the YAML mark of node. */
as_status sw_prompt_errf(struct sw_ctx *c, int g, int32_t node, int64_t file_line, as_status st,
                         const char *fmt, ...) {
    char msg[AS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const struct as_sweep_group *gr = &c->s->groups[g];
    if (file_line > 0) {
        const struct sw_node *n = &c->t->nodes[node];
        return as_err_set(c->err, st, "%s:%lld:1: %s (group '%s', file: at %s:%d:%d)", gr->file,
                          (long long)file_line, msg, gr->name, c->s->path, n->line, n->col);
    }
    return sw_errf(c->t, node, st, "%s", msg);
}

void sw_format_index(char *out, size_t cap, int64_t i, int64_t n) {
    int width = 4, digits = 1;
    for (int64_t x = n > 0 ? n - 1 : 0; x >= 10; x /= 10)
        digits++;
    if (digits > width) width = digits;
    if (width > 19) width = 19; /* int64 has at most 19 digits */
    snprintf(out, cap, "%0*lld", width, (long long)i);
}

static as_status make_id(struct sw_ctx *c, struct as_sweep_prompt *p, int g, const char *variant,
                         size_t vlen, int32_t node, int64_t file_line) {
    const struct as_sweep_group *gr = &c->s->groups[g];
    const char *why = sw_name_problem(variant, vlen);
    if (why)
        return sw_prompt_errf(c, g, node, file_line, AS_ERR_INVALID,
                              "group '%s': prompt name '%.*s' %s; expected a valid HDF5 link name",
                              gr->name, (int)(vlen > 80 ? 80 : vlen), variant, why);
    size_t glen = strlen(gr->name);
    if (glen + 1 + vlen >= AS_SWEEP_ID_MAX)
        return sw_prompt_errf(c, g, node, file_line, AS_ERR_INVALID,
                              "prompt id '%s/%.60s...' is %zu bytes; expected fewer than %d",
                              gr->name, variant, glen + 1 + vlen, AS_SWEEP_ID_MAX);
    char *id = sw_arena_alloc(c->arena, glen + vlen + 2);
    if (!id) return SW_OOM(c);
    memcpy(id, gr->name, glen);
    id[glen] = '/';
    memcpy(id + glen + 1, variant, vlen);
    id[glen + 1 + vlen] = '\0';
    p->id = id;
    p->variant = id + glen + 1;
    c->s->text_bytes += glen + 1 + vlen;
    if ((long long)c->s->text_bytes > AS_SWEEP_MAX_TEXT_BYTES)
        return sw_prompt_errf(
            c, g, node, file_line, AS_ERR_INVALID,
            "the prompts' ids and texts exceed %lld bytes; expected a smaller sweep",
            (long long)AS_SWEEP_MAX_TEXT_BYTES);
    return AS_OK;
}

as_status sw_add_prompt(struct sw_ctx *c, int g, const char *variant, size_t vlen, const char *text,
                        size_t tlen, int32_t node, int64_t file_line) {
    struct as_sweep *s = c->s;
    if (s->n_prompts >= AS_SWEEP_MAX_PROMPTS)
        return sw_prompt_errf(c, g, node, file_line, AS_ERR_INVALID,
                              "the sweep has more than %lld prompts; expected at most that many",
                              (long long)AS_SWEEP_MAX_PROMPTS);
    const struct sw_chat *ch = &c->chat; /* the group's chat template wraps the text */
    size_t full = ch->on ? ch->pre_len + tlen + ch->post_len : tlen;
    if ((long long)(s->text_bytes + full) > AS_SWEEP_MAX_TEXT_BYTES)
        return sw_prompt_errf(
            c, g, node, file_line, AS_ERR_INVALID,
            "the prompts' ids and texts exceed %lld bytes; expected a smaller sweep",
            (long long)AS_SWEEP_MAX_TEXT_BYTES);
    int64_t n = s->n_prompts;
    if (n == c->prompts_cap) {
        int64_t cap = n < 64 ? 64 : 2 * n;
        struct as_sweep_prompt *q = realloc(s->prompts, (size_t)cap * sizeof *q);
        if (!q) return SW_OOM(c);
        s->prompts = q;
        c->prompts_cap = cap;
        as_status ret = sw_meta_reserve(c, cap);
        if (ret != AS_OK) return ret;
    }
    if (c->meta.n > 0 && n + 1 > AS_SWEEP_MAX_CELLS / c->meta.n)
        return sw_prompt_errf(c, g, node, file_line, AS_ERR_INVALID,
                              "the metadata would have %d columns x %lld prompts; expected at "
                              "most %lld values in all. HINT: drop keys you do not need",
                              c->meta.n, (long long)(n + 1), (long long)AS_SWEEP_MAX_CELLS);
    struct as_sweep_prompt *p = &s->prompts[n];
    memset(p, 0, sizeof *p);
    p->group = s->groups[g].name;
    p->group_index = g;
    p->mark.line = c->t->nodes[node].line;
    p->mark.col = c->t->nodes[node].col;
    p->file_line = file_line;
    p->explicit_rank = -1;
    if (!(p->text = sw_arena_alloc(c->arena, full + 1))) return SW_OOM(c);
    p->prompt_start = ch->on ? ch->pre_len : 0;
    p->prompt_len = tlen;
    if (ch->on) memcpy(p->text, ch->pre, ch->pre_len);
    memcpy(p->text + p->prompt_start, text, tlen);
    if (ch->on) memcpy(p->text + p->prompt_start + tlen, ch->post, ch->post_len);
    p->text[full] = '\0';
    p->text_len = full;
    s->text_bytes += full;
    s->n_prompts++;
    s->groups[g].n_prompts++;
    if (variant) return make_id(c, p, g, variant, vlen, node, file_line);
    return AS_OK;
}

as_status sw_fill_default_ids(struct sw_ctx *c, int g, int32_t node) {
    struct as_sweep *s = c->s;
    struct as_sweep_group *gr = &s->groups[g];
    for (int64_t k = 0; k < gr->n_prompts; k++) {
        struct as_sweep_prompt *p = &s->prompts[gr->first_prompt + k];
        if (p->id) continue;
        char v[32];
        sw_format_index(v, sizeof v, k, gr->n_prompts);
        as_status ret = make_id(c, p, g, v, strlen(v), node, p->file_line);
        if (ret != AS_OK) return ret;
    }
    return AS_OK;
}

/* ------------------------------------------------------------ id index */

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

as_status sw_index_build(const struct as_sweep *s, struct sw_index *ix, struct as_err *err) {
    size_t cap = 64;
    while (cap < (size_t)s->n_prompts * 2)
        cap *= 2;
    ix->slots = calloc(cap, sizeof *ix->slots);
    ix->cap = cap;
    if (!ix->slots) return as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", s->path);
    for (int64_t i = 0; i < s->n_prompts; i++) {
        const char *id = s->prompts[i].id;
        size_t len = strlen(id);
        size_t k = (size_t)fnv1a(id, len) & (cap - 1);
        while (ix->slots[k]) {
            int64_t j = ix->slots[k] - 1;
            if (!strcmp(s->prompts[j].id, id)) {
                char w1[AS_SWEEP_PATH_MAX + 64], w2[AS_SWEEP_PATH_MAX + 64];
                return as_err_set(err, AS_ERR_INVALID,
                                  "%s: duplicate prompt id '%s' (first defined at %s); expected "
                                  "unique ids. HINT: rename one variant, or give the group an "
                                  "`id:` template that uses every product key",
                                  as_sweep_prompt_where(s, i, w2, sizeof w2), id,
                                  as_sweep_prompt_where(s, j, w1, sizeof w1));
            }
            k = (k + 1) & (cap - 1);
        }
        ix->slots[k] = (int32_t)(i + 1);
    }
    return AS_OK;
}

int64_t sw_index_find(const struct as_sweep *s, const struct sw_index *ix, const char *id,
                      size_t len) {
    size_t k = (size_t)fnv1a(id, len) & (ix->cap - 1);
    while (ix->slots[k]) {
        int64_t j = ix->slots[k] - 1;
        const char *pid = s->prompts[j].id;
        if (strlen(pid) == len && !memcmp(pid, id, len)) return j;
        k = (k + 1) & (ix->cap - 1);
    }
    return -1;
}

void sw_index_free(struct sw_index *ix) {
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = 0;
}
