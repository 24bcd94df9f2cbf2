/* explicit.c - ranks.explicit: a map from rank to prompt ids or group names
 * -> prompts[].explicit_rank. Runs after every group is expanded, so that it
 * can name any prompt; the id index makes each lookup O(1). */
#include <stdio.h>
#include <string.h>

#include "sweep_internal.h"

static void group_list(const struct as_sweep *s, char *out, size_t cap) {
    size_t off = 0;
    out[0] = '\0';
    for (int g = 0; g < s->n_groups && off < cap; g++) {
        int n = snprintf(out + off, cap - off, "%s%s", g ? ", " : "", s->groups[g].name);
        if (n < 0 || (size_t)n >= cap - off) break;
        off += (size_t)n;
    }
}

static void variant_list(const struct as_sweep *s, int g, char *out, size_t cap) {
    const struct as_sweep_group *gr = &s->groups[g];
    size_t off = 0;
    out[0] = '\0';
    int64_t shown = gr->n_prompts < 12 ? gr->n_prompts : 12;
    for (int64_t k = 0; k < shown; k++) {
        int n = snprintf(out + off, cap - off, "%s%s", k ? ", " : "",
                         s->prompts[gr->first_prompt + k].variant);
        if (n < 0 || (size_t)n >= cap - off) return;
        off += (size_t)n;
    }
    if (shown < gr->n_prompts)
        snprintf(out + off, cap - off, ", ... (%lld in all)", (long long)gr->n_prompts);
}

as_status sw_resolve_explicit(struct sw_ctx *c, const struct sw_index *ix) {
    struct as_sweep *s = c->s;
    struct sw_tree *t = c->t;
    if (c->explicit_node < 0) return AS_OK;
    const struct sw_node *m = &t->nodes[c->explicit_node];
    if (m->kind != SW_MAP)
        return sw_errf(t, c->explicit_node, AS_ERR_INVALID,
                       "ranks.explicit is %s; expected a mapping {0: [group/variant, group], 1: "
                       "[...]}",
                       sw_kind_name(m));
    for (int32_t i = 0; i < m->n; i += 2) {
        int32_t kn = m->kids[i], ln = m->kids[i + 1];
        long long rank;
        as_status ret = sw_get_int(t, kn, "ranks.explicit key (a rank)", 0, 1 << 24, &rank);
        if (ret != AS_OK) return ret;
        const struct sw_node *l = &t->nodes[ln];
        if (l->kind != SW_SEQ)
            return sw_errf(t, ln, AS_ERR_INVALID,
                           "ranks.explicit.%lld is %s; expected a list of prompt ids "
                           "(group/variant) or group names",
                           rank, sw_kind_name(l));
        for (int32_t j = 0; j < l->n; j++) {
            int32_t in = l->kids[j];
            const char *name;
            size_t len;
            char what[80];
            snprintf(what, sizeof what, "ranks.explicit.%lld[%d]", rank, (int)j);
            if ((ret = sw_get_str(t, in, what, &name, &len)) != AS_OK) return ret;
            int64_t first = -1, count = 0;
            const char *slash = memchr(name, '/', len);
            if (slash) {
                first = sw_index_find(s, ix, name, len);
                count = 1;
                if (first < 0) {
                    char list[600];
                    size_t glen = (size_t)(slash - name);
                    int g = -1;
                    for (int k = 0; k < s->n_groups; k++)
                        if (strlen(s->groups[k].name) == glen &&
                            !memcmp(s->groups[k].name, name, glen))
                            g = k;
                    if (g >= 0) {
                        variant_list(s, g, list, sizeof list);
                        return sw_errf(t, in, AS_ERR_INVALID,
                                       "%s names prompt '%s', which does not exist; group '%s' "
                                       "has: %s",
                                       what, name, s->groups[g].name, list);
                    }
                    group_list(s, list, sizeof list);
                    return sw_errf(t, in, AS_ERR_INVALID,
                                   "%s names prompt '%s', but there is no group '%.*s'; groups: %s",
                                   what, name, (int)glen, name, list);
                }
            } else {
                for (int k = 0; k < s->n_groups; k++)
                    if (!strcmp(s->groups[k].name, name)) {
                        first = s->groups[k].first_prompt;
                        count = s->groups[k].n_prompts;
                    }
                if (first < 0) {
                    char list[600];
                    group_list(s, list, sizeof list);
                    return sw_errf(t, in, AS_ERR_INVALID,
                                   "%s names '%s', which is neither a group nor a prompt id; "
                                   "expected a group name (%s) or group/variant",
                                   what, name, list);
                }
            }
            for (int64_t k = first; k < first + count; k++) {
                struct as_sweep_prompt *p = &s->prompts[k];
                if (p->explicit_rank >= 0)
                    return sw_errf(t, in, AS_ERR_INVALID,
                                   "%s assigns prompt '%s' to rank %lld, but it is already "
                                   "assigned to rank %d at %d:%d; expected each prompt once",
                                   what, p->id, rank, p->explicit_rank, p->assign_mark.line,
                                   p->assign_mark.col);
                p->explicit_rank = (int)rank;
                p->assign_mark.line = t->nodes[in].line;
                p->assign_mark.col = t->nodes[in].col;
            }
        }
    }
    return AS_OK;
}
