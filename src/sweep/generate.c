/* generate.c - the generate: mapping of the top level or of a group
 * (docs/SWEEP.md "Generation"): max_new_tokens, stop strings and the answer
 * regex of greedy generation. A group starts from the top level's settings
 * and overrides the keys it gives. */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "sweep_internal.h"

#define GEN_TRY(call)                                                                              \
    do {                                                                                           \
        as_status st_ = (call);                                                                    \
        if (st_ != AS_OK) return st_;                                                              \
    } while (0)

static as_status parse_stop(struct sw_ctx *c, int32_t node, const char *what,
                            struct as_sweep_generate *g) {
    const struct sw_node *n = &c->t->nodes[node];
    if (sw_is_null(n)) {
        g->stop = NULL, g->n_stop = 0;
        return AS_OK;
    }
    if (n->kind != SW_SEQ)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s.stop is %s; expected a list of strings like [\"\\n\\n\", \"Question:\"]",
                       what, sw_kind_name(n));
    if (n->n > AS_SWEEP_MAX_STOPS)
        return sw_errf(c->t, node, AS_ERR_INVALID, "%s.stop has %d strings; expected at most %d",
                       what, (int)n->n, AS_SWEEP_MAX_STOPS);
    char **v = n->n ? sw_arena_alloc(c->arena, (size_t)n->n * sizeof *v) : NULL;
    if (n->n && !v) return SW_OOM(c);
    for (int32_t i = 0; i < n->n; i++) {
        const char *str;
        size_t len;
        char w[320];
        snprintf(w, sizeof w, "%s.stop[%d]", what, (int)i);
        GEN_TRY(sw_get_str(c->t, n->kids[i], w, &str, &len));
        if (len == 0 || len > AS_SWEEP_STOP_MAX)
            return sw_errf(c->t, n->kids[i], AS_ERR_INVALID,
                           "%s is %zu bytes long; expected 1 to %d bytes", w, len,
                           AS_SWEEP_STOP_MAX);
        if (!(v[i] = sw_arena_strndup(c->arena, str, len))) return SW_OOM(c);
    }
    g->stop = v, g->n_stop = (int)n->n;
    return AS_OK;
}

static as_status parse_regex(struct sw_ctx *c, int32_t node, const char *what,
                             struct as_sweep_generate *g) {
    if (sw_is_null(&c->t->nodes[node])) {
        g->answer_regex = NULL;
        return AS_OK;
    }
    const char *str;
    size_t len;
    char w[320];
    snprintf(w, sizeof w, "%s.answer_regex", what);
    GEN_TRY(sw_get_str(c->t, node, w, &str, &len));
    regex_t re;
    int rc = regcomp(&re, str, REG_EXTENDED);
    if (rc != 0) {
        char msg[128];
        regerror(rc, &re, msg, sizeof msg);
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s '%.80s' is not a POSIX extended regular expression (%s); expected "
                       "e.g. \"answer is (-?[0-9]+)\"",
                       w, str, msg);
    }
    regfree(&re);
    if (!(g->answer_regex = sw_arena_strndup(c->arena, str, len))) return SW_OOM(c);
    return AS_OK;
}

as_status sw_generate_parse(struct sw_ctx *c, int32_t map, const char *what,
                            struct as_sweep_generate *g) {
    static const char *const keys[] = {"max_new_tokens", "stop", "answer_regex", NULL};
    int32_t node = sw_map_get(c->t, map, "generate");
    if (node < 0) return AS_OK;
    char w[300];
    snprintf(w, sizeof w, "%s generate", what);
    if (sw_is_null(&c->t->nodes[node])) { /* generate: null turns it off */
        memset(g, 0, sizeof *g);
        return AS_OK;
    }
    GEN_TRY(sw_check_map(c->t, node, w, keys));
    snprintf(w, sizeof w, "generate");
    int32_t v;
    if ((v = sw_map_get(c->t, node, "max_new_tokens")) >= 0) {
        long long x;
        GEN_TRY(sw_get_int(c->t, v, "generate.max_new_tokens", 0, AS_SWEEP_MAX_NEW_TOKENS, &x));
        g->max_new_tokens = (int)x;
        g->mark = (struct as_sweep_mark){c->t->nodes[v].line, c->t->nodes[v].col};
    } else if (g->max_new_tokens == 0) {
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s generate has no max_new_tokens; expected e.g. generate: "
                       "{max_new_tokens: 64, stop: [\"\\n\\n\"]}",
                       what);
    }
    if ((v = sw_map_get(c->t, node, "stop")) >= 0) GEN_TRY(parse_stop(c, v, w, g));
    if ((v = sw_map_get(c->t, node, "answer_regex")) >= 0) GEN_TRY(parse_regex(c, v, w, g));
    return AS_OK;
}

int as_sweep_generates(const struct as_sweep *s) {
    for (int g = 0; g < s->n_groups; g++)
        if (s->groups[g].gen.max_new_tokens > 0) return 1;
    return 0;
}
