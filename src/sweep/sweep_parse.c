/* sweep_parse.c - the YAML schema: sections, keys and types -> as_sweep settings.
 *
 * The tree (yaml_tree.c) is already syntactically valid and free of duplicate
 * keys; this file checks that every mapping has only known keys and every
 * value has the expected type, and copies the settings over the defaults.
 * Groups are expanded by expand.c, ranks.explicit by explicit.c and the
 * analysis columns by analysis.c, all after this pass, so that they can refer
 * to each other. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_internal.h"

/* ------------------------------------------------------------ sections */

static struct as_sweep_mark mark_of(const struct sw_ctx *c, int32_t node) {
    struct as_sweep_mark m = {c->t->nodes[node].line, c->t->nodes[node].col};
    return m;
}

static as_status copy_path(struct sw_ctx *c, int32_t node, const char *what, char *dst) {
    const char *v = NULL;
    size_t len = 0;
    as_status ret = sw_get_str(c->t, node, what, &v, &len);
    if (ret != AS_OK) return ret;
    if (len >= AS_SWEEP_PATH_MAX)
        return sw_errf(c->t, node, AS_ERR_INVALID, "%s is %zu bytes long; expected fewer than %d",
                       what, len, AS_SWEEP_PATH_MAX);
    memcpy(dst, v, len + 1);
    return AS_OK;
}

/* A list of integers (layers / heads); null means "all". */
static as_status parse_int_list(struct sw_ctx *c, int32_t node, const char *what, int **out,
                                int *n_out) {
    const struct sw_node *n = &c->t->nodes[node];
    if (sw_is_null(n)) return AS_OK;
    if (n->kind != SW_SEQ)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s is %s; expected a list of integers like [0, 1, 2] (or omit it for all)",
                       what, sw_kind_name(n));
    if (n->n == 0)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s is an empty list; expected at least one index (or omit it for all)",
                       what);
    int *v = sw_arena_alloc(c->arena, (size_t)n->n * sizeof *v);
    if (!v) return as_err_set(c->err, AS_ERR_NOMEM, "%s: out of memory", c->s->path);
    for (int32_t i = 0; i < n->n; i++) {
        char w[64];
        long long x;
        snprintf(w, sizeof w, "%s[%d]", what, (int)i);
        as_status ret = sw_get_int(c->t, n->kids[i], w, INT_MIN, INT_MAX, &x);
        if (ret != AS_OK) return ret;
        v[i] = (int)x;
    }
    *out = v;
    *n_out = (int)n->n;
    return AS_OK;
}

static as_status parse_model(struct sw_ctx *c, int32_t node) {
    static const char *const keys[] = {"path", "tokenizer", "on_too_long", NULL};
    struct as_sweep *s = c->s;
    if (sw_is_null(&c->t->nodes[node])) return AS_OK;
    as_status ret = sw_check_map(c->t, node, "model", keys);
    if (ret != AS_OK) return ret;
    int32_t v = sw_map_get(c->t, node, "path"); /* null keeps the default */
    if (v >= 0 && !sw_is_null(&c->t->nodes[v])) {
        if ((ret = copy_path(c, v, "model.path", s->model_path)) != AS_OK) return ret;
        s->marks.model_path = mark_of(c, v);
    }
    v = sw_map_get(c->t, node, "tokenizer");
    if (v >= 0 && !sw_is_null(&c->t->nodes[v])) {
        if ((ret = copy_path(c, v, "model.tokenizer", s->tokenizer_path)) != AS_OK) return ret;
        s->marks.tokenizer_path = mark_of(c, v);
    }
    if ((v = sw_map_get(c->t, node, "on_too_long")) >= 0) {
        const char *str;
        if ((ret = sw_get_str(c->t, v, "model.on_too_long", &str, NULL)) != AS_OK) return ret;
        int x = as_too_long_from_name(str);
        if (x < 0)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "model.on_too_long is '%.60s'; expected one of: error, skip, truncate",
                           str);
        s->on_too_long = (enum as_too_long)x;
        s->marks.on_too_long = mark_of(c, v);
    }
    return AS_OK;
}

/* output.weights and output.scores (docs/SWEEP.md `output`), after output.store. */
static as_status parse_capture(struct sw_ctx *c, int32_t node) {
    struct as_sweep *s = c->s;
    as_status ret;
    const char *str;
    int32_t v = sw_map_get(c->t, node, "weights");
    if (v >= 0) {
        if ((ret = sw_get_str(c->t, v, "output.weights", &str, NULL)) != AS_OK) return ret;
        int x = as_weights_from_name(str);
        if (x < 0)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "output.weights is '%.60s'; expected one of: probs, norms, both", str);
        s->weights = (enum as_store_weights)x;
        if (x == AS_WEIGHTS_NORMS) { /* value norms instead of the probabilities */
            if (sw_map_get(c->t, node, "store") >= 0 && s->store != AS_STORE_NONE)
                return sw_errf(c->t, v, AS_ERR_INVALID,
                               "output.weights is norms (value norms, no attention "
                               "probabilities) but output.store is %s; expected store: none or "
                               "no store key (HINT: weights: both stores both)",
                               as_store_name(s->store));
            s->store = AS_STORE_NONE;
        }
    }
    if ((v = sw_map_get(c->t, node, "scores")) >= 0) {
        int64_t b = 0;
        if (sw_scalar_type(&c->t->nodes[v], &b, NULL) != SW_S_BOOL)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "output.scores is not a boolean; expected "
                           "true or false");
        s->scores = b != 0;
        if (s->scores && s->store == AS_STORE_NONE)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "output.scores is true but no attention is stored (store: none or "
                           "weights: norms); expected store: full or last_row (the scores have "
                           "the attention's layout)");
    }
    return AS_OK;
}

static as_status parse_output(struct sw_ctx *c, int32_t node) {
    static const char *const keys[] = {"path",    "store",  "dtype", "layers", "heads",
                                       "weights", "scores", "topk",  "logits", NULL};
    struct as_sweep *s = c->s;
    if (sw_is_null(&c->t->nodes[node])) return AS_OK;
    as_status ret = sw_check_map(c->t, node, "output", keys);
    if (ret != AS_OK) return ret;
    const char *str;
    int32_t v = sw_map_get(c->t, node, "path"); /* null keeps the default */
    if (v >= 0 && !sw_is_null(&c->t->nodes[v])) {
        if ((ret = copy_path(c, v, "output.path", s->output_path)) != AS_OK) return ret;
        s->marks.output_path = mark_of(c, v);
        c->has_output_path = 1;
    }
    if ((v = sw_map_get(c->t, node, "store")) >= 0) {
        if ((ret = sw_get_str(c->t, v, "output.store", &str, NULL)) != AS_OK) return ret;
        int x = as_store_from_name(str);
        if (x < 0)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "output.store is '%.60s'; expected one of: full, last_row, none", str);
        s->store = x;
        s->marks.store = mark_of(c, v);
    }
    if ((v = sw_map_get(c->t, node, "dtype")) >= 0) {
        if ((ret = sw_get_str(c->t, v, "output.dtype", &str, NULL)) != AS_OK) return ret;
        int x = as_out_dtype_from_name(str);
        if (x < 0)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "output.dtype is '%.60s'; expected one of: float32, float16", str);
        s->dtype = x;
        s->marks.dtype = mark_of(c, v);
    }
    if ((v = sw_map_get(c->t, node, "layers")) >= 0) {
        if ((ret = parse_int_list(c, v, "output.layers", &s->layers, &s->n_layers)) != AS_OK)
            return ret;
        s->marks.layers = mark_of(c, v);
    }
    if ((v = sw_map_get(c->t, node, "heads")) >= 0) {
        if ((ret = parse_int_list(c, v, "output.heads", &s->heads, &s->n_heads)) != AS_OK)
            return ret;
        s->marks.heads = mark_of(c, v);
    }
    if ((ret = parse_capture(c, node)) != AS_OK) return ret;
    return sw_parse_behaviour(c, node);
}

static as_status parse_ranks(struct sw_ctx *c, int32_t node) {
    static const char *const keys[] = {"assign", "explicit", NULL};
    struct as_sweep *s = c->s;
    if (sw_is_null(&c->t->nodes[node])) return AS_OK;
    as_status ret = sw_check_map(c->t, node, "ranks", keys);
    if (ret != AS_OK) return ret;
    int32_t v = sw_map_get(c->t, node, "assign");
    if (v >= 0) {
        const char *str;
        if ((ret = sw_get_str(c->t, v, "ranks.assign", &str, NULL)) != AS_OK) return ret;
        int a = as_assign_from_name(str);
        if (a < 0)
            return sw_errf(c->t, v, AS_ERR_INVALID,
                           "ranks.assign is '%.60s'; expected one of: balanced, round_robin, "
                           "explicit",
                           str);
        s->assign = (enum as_assign)a;
        s->marks.assign = mark_of(c, v);
    }
    int32_t e = sw_map_get(c->t, node, "explicit");
    if (e >= 0) {
        s->marks.explicit_ = mark_of(c, e);
        if (s->assign != AS_ASSIGN_EXPLICIT)
            return sw_errf(c->t, e, AS_ERR_INVALID,
                           "ranks.explicit is given but ranks.assign is '%s'; expected "
                           "assign: explicit (or remove ranks.explicit)",
                           as_assign_name(s->assign));
        c->explicit_node = e;
    } else if (s->assign == AS_ASSIGN_EXPLICIT) {
        return sw_errf(c->t, v, AS_ERR_INVALID,
                       "ranks.assign is 'explicit' but ranks.explicit is missing; expected "
                       "explicit: {0: [group/variant, group, ...], 1: [...]}");
    }
    return AS_OK;
}

as_status sw_parse_settings(struct sw_ctx *c) {
    static const char *const keys[] = {"model",         "output", "ranks",  "groups",   "analysis",
                                       "chat_template", "chat",   "system", "generate", NULL};
    struct sw_tree *t = c->t;
    as_status ret;
    if (t->root < 0 || sw_is_null(&t->nodes[t->root]))
        return sw_errf(c->t, -1, AS_ERR_INVALID,
                       "the sweep is empty; expected a mapping with at least `groups:` "
                       "(see docs/SWEEP.md)");
    if ((ret = sw_check_map(c->t, t->root, "the top level", keys)) != AS_OK) return ret;
    int32_t v;
    if ((v = sw_map_get(t, t->root, "model")) >= 0 && (ret = parse_model(c, v)) != AS_OK)
        return ret;
    if ((v = sw_map_get(t, t->root, "output")) >= 0 && (ret = parse_output(c, v)) != AS_OK)
        return ret;
    if ((v = sw_map_get(t, t->root, "ranks")) >= 0 && (ret = parse_ranks(c, v)) != AS_OK)
        return ret;
    if ((v = sw_map_get(t, t->root, "analysis")) >= 0 && (ret = sw_parse_analysis(c, v)) != AS_OK)
        return ret;
    if ((ret = sw_chat_parse(c, t->root, "the top level", &c->chat_top)) != AS_OK) return ret;
    if ((ret = sw_generate_parse(c, t->root, "the top level", &c->gen_top)) != AS_OK) return ret;
    v = sw_map_get(t, t->root, "groups");
    if (v < 0)
        return sw_errf(c->t, t->root, AS_ERR_INVALID,
                       "no `groups:` key; expected a list of prompt groups (see docs/SWEEP.md)");
    const struct sw_node *g = &t->nodes[v];
    if (g->kind != SW_SEQ)
        return sw_errf(c->t, v, AS_ERR_INVALID,
                       "groups is %s; expected a list of groups (- name: ...)", sw_kind_name(g));
    if (g->n == 0)
        return sw_errf(c->t, v, AS_ERR_INVALID,
                       "groups is an empty list; expected at least one group");
    c->groups_node = v;
    c->s->marks.groups = mark_of(c, v);
    return AS_OK;
}
