/* gstate.c - the state of the group being expanded: its vars, tags and
 * product keys (a name may be only one of them, and a JSONL field none of
 * them) and the metadata columns its JSONL lines set (which its spans:
 * templates may use). Below prompt_file.c and expand.c, which both use it. */
#include <stdlib.h>
#include <string.h>

#include "sweep_internal.h"

void sw_group_state_free(struct sw_group_state *gs) {
    for (int k = 0; k < gs->n_spans; k++) {
        sw_template_free(&gs->spans[k].tpl);
        free(gs->spans[k].texts);
    }
    free(gs->spans);
    free(gs->keys);
    free(gs->fields);
    memset(gs, 0, sizeof *gs);
}

static const char *plural(const char *kind) {
    return !strcmp(kind, "var") ? "vars" : !strcmp(kind, "tag") ? "tags" : "product keys";
}

const struct sw_gkey *sw_group_key(const struct sw_ctx *c, const char *name, size_t len) {
    for (int k = 0; k < c->gs.n_keys; k++)
        if (strlen(c->gs.keys[k].name) == len && !memcmp(c->gs.keys[k].name, name, len))
            return &c->gs.keys[k];
    return NULL;
}

as_status sw_group_key_add(struct sw_ctx *c, const char *name, int32_t node, const char *kind) {
    struct sw_group_state *gs = &c->gs;
    const struct sw_gkey *old = sw_group_key(c, name, strlen(name));
    if (old) {
        const struct sw_node *n = &c->t->nodes[old->node];
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s '%s' of group '%s' is also one of its %s (at %d:%d); expected distinct "
                       "names",
                       kind, name, c->s->groups[gs->g].name, plural(old->kind), n->line, n->col);
    }
    if (gs->n_keys == gs->cap_keys) {
        int cap = gs->cap_keys ? 2 * gs->cap_keys : 16;
        struct sw_gkey *p = realloc(gs->keys, (size_t)cap * sizeof *p);
        if (!p) return SW_OOM(c);
        gs->keys = p, gs->cap_keys = cap;
    }
    gs->keys[gs->n_keys++] = (struct sw_gkey){name, node, kind};
    return AS_OK;
}

as_status sw_group_field(struct sw_ctx *c, int col) {
    struct sw_group_state *gs = &c->gs;
    for (int k = 0; k < gs->n_fields; k++)
        if (gs->fields[k] == col) return AS_OK;
    if (gs->n_fields == gs->cap_fields) {
        int cap = gs->cap_fields ? 2 * gs->cap_fields : 16;
        int *p = realloc(gs->fields, (size_t)cap * sizeof *p);
        if (!p) return SW_OOM(c);
        gs->fields = p, gs->cap_fields = cap;
    }
    gs->fields[gs->n_fields++] = col;
    return AS_OK;
}
