/* expand.c - groups -> prompts, their metadata and their spans.
 *
 * A group defines its prompts in exactly one of three ways:
 *   prompts:  {variant: template, ...}   one prompt per entry, in YAML order;
 *             with product: each entry is expanded over the product and the
 *             variant is "<entry>_<id>"
 *   template: "..." with product:        one prompt per combination; variant =
 *             the `id:` template, or the zero-padded combination index
 *   file:     prompts.jsonl | .txt       (prompt_file.c), texts used verbatim
 * Templates see the group's vars and the product keys. The product iterates
 * like nested loops in key order: the first key is the slowest.
 *
 * Every var, tag and product key is also a metadata column (meta.c): vars and
 * tags get the same value in every prompt of the group, product keys the
 * value of the prompt's combination. spans: templates see the vars, the
 * product keys and, in a file: group, the JSONL fields (spans.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_internal.h"

/* ------------------------------------------------------------ vars, tags, product */

/* The value of a var or tag: the same for every prompt of the group. */
struct fixed_val {
    int col;
    struct sw_mval v;
    int32_t node; /* the value */
};

struct product {
    int n_keys;
    const struct sw_node **lists; /* (n_keys) */
    struct sw_mval **vals;        /* (n_keys) the typed value of each list item */
    int *cols;                    /* (n_keys) the metadata column of each key */
    int64_t count;                /* combinations */
};

static void product_free(struct product *pr) {
    for (int i = 0; pr->vals && i < pr->n_keys; i++)
        free(pr->vals[i]);
    free(pr->vals);
    free(pr->lists);
    free(pr->cols);
    memset(pr, 0, sizeof *pr);
}

/* vars: and tags: (tags == 1) of group g: template variables (vars only) and
 * metadata columns (both). */
static as_status parse_fixed(struct sw_ctx *c, int g, int32_t node, int tags, struct sw_vars *v,
                             struct fixed_val *fv, int *n_fv) {
    const struct sw_node *m = &c->t->nodes[node];
    const char *gname = c->s->groups[g].name, *kind = tags ? "tag" : "var";
    if (sw_is_null(m)) return AS_OK;
    if (m->kind != SW_MAP)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "%s of group '%s' is %s; expected a mapping like %s", tags ? "tags" : "vars",
                       gname, sw_kind_name(m),
                       tags ? "{dataset: gsm8k, cot: true}" : "{question: \"...\"}");
    for (int32_t i = 0; i < m->n; i += 2) {
        int32_t kn = m->kids[i], vn = m->kids[i + 1];
        const struct sw_node *k = &c->t->nodes[kn], *val = &c->t->nodes[vn];
        if (!sw_valid_var_name(k->str, k->len))
            return sw_errf(c->t, kn, AS_ERR_INVALID,
                           "%s name '%.60s' in group '%s'; expected letters, digits and '_' (not "
                           "starting with a digit), at most %d bytes",
                           tags ? "tag" : "variable", k->str, gname, AS_SWEEP_VAR_MAX);
        if (val->kind != SW_SCALAR)
            return sw_errf(c->t, vn, AS_ERR_INVALID, "%s '%s' of group '%s' is %s; expected %s",
                           tags ? "tag" : "variable", k->str, gname, sw_kind_name(val),
                           tags ? "a string, number, boolean or null" : "a string");
        as_status ret = sw_group_key_add(c, k->str, kn, kind);
        if (ret != AS_OK) return ret;
        if (!tags) {
            v->names[v->n] = k->str;
            v->vals[v->n] = sw_is_null(val) ? "" : val->str;
            v->lens[v->n] = sw_is_null(val) ? 0 : val->len;
            v->n++;
        }
        struct fixed_val *f = &fv[(*n_fv)++];
        char what[160];
        snprintf(what, sizeof what, "%s '%s' of group '%s'", kind, k->str, gname);
        struct sw_where w = {kn, 0, g};
        if ((ret = sw_meta_column(c, k->str, k->len, w, &f->col)) != AS_OK) return ret;
        if ((ret = sw_mval_of_node(c, vn, what, &f->v)) != AS_OK) return ret;
        f->node = vn;
    }
    return AS_OK;
}

static as_status parse_product(struct sw_ctx *c, int g, int32_t node, struct sw_vars *v,
                               struct product *pr, int64_t n_templates) {
    const struct sw_node *m = &c->t->nodes[node];
    const char *gname = c->s->groups[g].name;
    if (m->kind != SW_MAP || m->n == 0)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "product of group '%s' is %s; expected a non-empty mapping of lists like "
                       "{a: [1, 2], b: [10, 20]}",
                       gname, m->kind == SW_MAP ? "an empty mapping" : sw_kind_name(m));
    pr->n_keys = (int)(m->n / 2);
    pr->lists = calloc((size_t)pr->n_keys, sizeof *pr->lists);
    pr->vals = calloc((size_t)pr->n_keys, sizeof *pr->vals);
    pr->cols = calloc((size_t)pr->n_keys, sizeof *pr->cols);
    if (!pr->lists || !pr->vals || !pr->cols) return SW_OOM(c);
    int64_t limit = AS_SWEEP_MAX_PROMPTS - c->s->n_prompts;
    pr->count = 1;
    int overflow = 0;
    for (int i = 0; i < pr->n_keys; i++) {
        int32_t kn = m->kids[2 * i], ln = m->kids[2 * i + 1];
        const struct sw_node *k = &c->t->nodes[kn], *l = &c->t->nodes[ln];
        if (!sw_valid_var_name(k->str, k->len))
            return sw_errf(c->t, kn, AS_ERR_INVALID,
                           "product key '%.60s' in group '%s'; expected a variable name (letters, "
                           "digits and '_', at most %d bytes)",
                           k->str, gname, AS_SWEEP_VAR_MAX);
        as_status ret = sw_group_key_add(c, k->str, kn, "product key");
        if (ret != AS_OK) return ret;
        if (l->kind != SW_SEQ || l->n == 0)
            return sw_errf(c->t, ln, AS_ERR_INVALID,
                           "product key '%s' of group '%s' is %s; expected a non-empty list of "
                           "values",
                           k->str, gname, l->kind == SW_SEQ ? "an empty list" : sw_kind_name(l));
        if (!(pr->vals[i] = calloc((size_t)l->n, sizeof *pr->vals[i]))) return SW_OOM(c);
        for (int32_t j = 0; j < l->n; j++) {
            const struct sw_node *x = &c->t->nodes[l->kids[j]];
            if (x->kind != SW_SCALAR || sw_is_null(x))
                return sw_errf(c->t, l->kids[j], AS_ERR_INVALID,
                               "product value %s[%d] of group '%s' is %s; expected a string or "
                               "number",
                               k->str, (int)j, gname, sw_kind_name(x));
            char what[160];
            snprintf(what, sizeof what, "product value %s[%d] of group '%s'", k->str, (int)j,
                     gname);
            if ((ret = sw_mval_of_node(c, l->kids[j], what, &pr->vals[i][j])) != AS_OK) return ret;
        }
        struct sw_where w = {kn, 0, g};
        if ((ret = sw_meta_column(c, k->str, k->len, w, &pr->cols[i])) != AS_OK) return ret;
        pr->lists[i] = l;
        v->names[v->n] = k->str;
        v->vals[v->n] = c->t->nodes[l->kids[0]].str;
        v->lens[v->n] = c->t->nodes[l->kids[0]].len;
        v->n++;
        if (!overflow && pr->count > INT64_MAX / l->n) overflow = 1;
        if (!overflow) pr->count *= l->n;
    }
    if (overflow || pr->count > limit / (n_templates > 0 ? n_templates : 1)) {
        char size[64] = "more than 9.2e18";
        if (!overflow) snprintf(size, sizeof size, "%.0f", (double)pr->count * (double)n_templates);
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "product of group '%s' expands to %s prompts; expected at most %lld prompts "
                       "in the whole sweep",
                       gname, size, (long long)AS_SWEEP_MAX_PROMPTS);
    }
    return AS_OK;
}

/* Expands one template over the product (count 1 without product). */
static as_status expand_template(struct sw_ctx *c, int g, int32_t tnode, const char *entry,
                                 const struct product *pr, struct sw_vars *v,
                                 const struct sw_template *id_tpl, int n_fixed) {
    as_status ret = AS_OK;
    const struct sw_node *tn = &c->t->nodes[tnode];
    const char *gname = c->s->groups[g].name;
    char what[300];
    if (entry)
        snprintf(what, sizeof what, "group '%s', prompt '%.100s'", gname, entry);
    else
        snprintf(what, sizeof what, "group '%s', template", gname);
    struct sw_template tpl = {0};
    struct sw_buf text = {0}, id = {0}, variant = {0};
    int64_t *odo = NULL;
    if (tn->kind != SW_SCALAR) {
        ret = sw_errf(c->t, tnode, AS_ERR_INVALID, "%s is %s; expected a string", what,
                      sw_kind_name(tn));
        goto done;
    }
    const char *src = sw_is_null(tn) ? "" : tn->str;
    size_t src_len = sw_is_null(tn) ? 0 : tn->len;
    AS_TRY(sw_template_compile(c->t, tnode, what, src, src_len, v, &tpl));
    int n_keys = pr ? pr->n_keys : 0;
    int64_t count = pr ? pr->count : 1;
    /* refuse before expanding: every prompt has at least the literal text */
    if ((double)count * (double)tpl.lit_len >
        (double)AS_SWEEP_MAX_TEXT_BYTES - (double)c->s->text_bytes) {
        ret = sw_errf(c->t, tnode, AS_ERR_INVALID,
                      "%s expands to %lld prompts of at least %zu bytes of text each; expected at "
                      "most %lld bytes of text in the whole sweep",
                      what, (long long)count, tpl.lit_len, (long long)AS_SWEEP_MAX_TEXT_BYTES);
        goto done;
    }
    odo = calloc((size_t)n_keys + 1, sizeof *odo);
    if (!odo) {
        ret = SW_OOM(c);
        goto done;
    }
    for (int64_t k = 0; k < count; k++) {
        for (int i = 0; i < n_keys; i++) {
            const struct sw_node *x = &c->t->nodes[pr->lists[i]->kids[odo[i]]];
            v->vals[n_fixed + i] = x->str;
            v->lens[n_fixed + i] = x->len;
        }
        if (!sw_template_render(&tpl, v, &text)) {
            ret = SW_OOM(c);
            goto done;
        }
        /* the variant name */
        variant.len = 0;
        if (entry && !sw_buf_add(&variant, entry, strlen(entry))) goto oom;
        if (pr || !entry) {
            if (entry && !sw_buf_add(&variant, "_", 1)) goto oom;
            if (id_tpl) {
                if (!sw_template_render(id_tpl, v, &id)) goto oom;
            } else {
                char idx[32];
                sw_format_index(idx, sizeof idx, k, count);
                id.len = 0;
                if (!sw_buf_add(&id, idx, strlen(idx))) goto oom;
            }
            if (!sw_buf_add(&variant, id.p, id.len)) goto oom;
        }
        if (text.len == 0) {
            ret = sw_errf(c->t, tnode, AS_ERR_INVALID,
                          "%s: the prompt '%s/%s' is empty after substitution; expected a "
                          "non-empty text",
                          what, gname, variant.p);
            goto done;
        }
        AS_TRY(sw_add_prompt(c, g, variant.p, variant.len, text.p, text.len, tnode, 0));
        const int64_t p = c->s->n_prompts - 1;
        for (int i = 0; i < n_keys; i++) {
            struct sw_where w = {pr->lists[i]->kids[odo[i]], 0, g};
            AS_TRY(sw_meta_put(c, pr->cols[i], p, &pr->vals[i][odo[i]], w));
        }
        AS_TRY(sw_spans_prompt(c, p - c->s->groups[g].first_prompt, v));
        for (int i = n_keys - 1; i >= 0; i--) { /* last key fastest */
            if (++odo[i] < pr->lists[i]->n) break;
            odo[i] = 0;
        }
    }
done:
    sw_template_free(&tpl);
    sw_buf_free(&text);
    sw_buf_free(&id);
    sw_buf_free(&variant);
    free(odo);
    return ret;
oom:
    ret = SW_OOM(c);
    goto done;
}

/* The spans of a file: group, rendered per prompt from its JSONL fields:
 * v holds the vars (n_fixed of them) and has room for the fields. */
static as_status file_spans(struct sw_ctx *c, int g, struct sw_vars *v, int n_fixed) {
    as_status ret = AS_OK;
    struct sw_group_state *gs = &c->gs;
    const struct as_sweep_group *gr = &c->s->groups[g];
    char(*bufs)[40] = calloc((size_t)gs->n_fields + 1, sizeof *bufs);
    if (!bufs) return SW_OOM(c);
    v->n = n_fixed;
    for (int j = 0; j < gs->n_fields; j++) {
        v->names[v->n] = c->meta.cols[gs->fields[j]].name;
        v->vals[v->n] = NULL, v->lens[v->n] = 0;
        v->n++;
    }
    AS_TRY(sw_spans_compile(c, v, n_fixed));
    for (int64_t k = 0; k < gr->n_prompts; k++) {
        for (int j = 0; j < gs->n_fields; j++) {
            struct sw_mval mv = sw_meta_get(c, gs->fields[j], gr->first_prompt + k);
            v->vals[n_fixed + j] =
                sw_mval_text(&mv, bufs[j], sizeof bufs[j], &v->lens[n_fixed + j]);
        }
        AS_TRY(sw_spans_prompt(c, k, v));
    }
done:
    free(bufs);
    return ret;
}

static as_status expand_group(struct sw_ctx *c, int g, int32_t node) {
    static const char *const keys[] = {"name",    "vars",   "tags",     "prompts", "template",
                                       "product", "file",   "spans",    "id",      "chat_template",
                                       "chat",    "system", "generate", NULL};
    as_status ret = AS_OK;
    struct as_sweep *s = c->s;
    struct as_sweep_group *gr = &s->groups[g];
    struct sw_tree *t = c->t;
    struct sw_vars v = {0};
    struct product pr = {0};
    struct sw_template id_tpl = {0};
    struct fixed_val *fv = NULL;
    int n_fv = 0, have_id_tpl = 0;
    char what[300];
    snprintf(what, sizeof what, "group '%s'", gr->name);
    AS_TRY(sw_check_map(c->t, node, what, keys));
    c->gs.g = g, c->gs.n_keys = 0, c->gs.n_fields = 0;
    c->chat = c->chat_top;
    AS_TRY(sw_chat_parse(c, node, what, &c->chat));
    AS_TRY(sw_chat_resolve(c, &c->chat));
    gr->gen = c->gen_top;
    AS_TRY(sw_generate_parse(c, node, what, &gr->gen));
    if (c->chat.on && !(gr->chat = sw_chat_format(c, &c->chat))) {
        ret = SW_OOM(c);
        goto done;
    }

    int32_t vars_n = sw_map_get(t, node, "vars"), prompts_n = sw_map_get(t, node, "prompts");
    int32_t tpl_n = sw_map_get(t, node, "template"), prod_n = sw_map_get(t, node, "product");
    int32_t file_n = sw_map_get(t, node, "file"), spans_n = sw_map_get(t, node, "spans");
    int32_t id_n = sw_map_get(t, node, "id"), tags_n = sw_map_get(t, node, "tags");
    /* exactly one source */
    int32_t srcs[3] = {prompts_n, tpl_n, file_n};
    const char *src_names[3] = {"prompts", "template", "file"};
    int first = -1;
    for (int i = 0; i < 3; i++) {
        if (srcs[i] < 0) continue;
        if (first >= 0) {
            ret = sw_errf(c->t, srcs[i], AS_ERR_INVALID,
                          "group '%s' has both %s: and %s:; expected exactly one of prompts:, "
                          "template:, file:",
                          gr->name, src_names[first], src_names[i]);
            goto done;
        }
        first = i;
    }
    if (first < 0) {
        ret = sw_errf(
            c->t, node, AS_ERR_INVALID,
            "group '%s' defines no prompts; expected one of prompts:, template:, file:", gr->name);
        goto done;
    }
    if (prod_n >= 0 && file_n >= 0) {
        ret = sw_errf(c->t, prod_n, AS_ERR_INVALID,
                      "group '%s': product: cannot be used with file:; expected it with template: "
                      "or prompts:",
                      gr->name);
        goto done;
    }
    if (id_n >= 0 && (file_n >= 0 || (prompts_n >= 0 && prod_n < 0))) {
        ret = sw_errf(c->t, id_n, AS_ERR_INVALID,
                      "group '%s': id: names expanded prompts and is only used with template: or "
                      "product:; the variant names here come from %s",
                      gr->name, file_n >= 0 ? "the file" : "the keys of prompts:");
        goto done;
    }

    /* variables: vars, then the product keys (file: groups: then the JSONL fields) */
    size_t n_slots = 1, n_fixed_max = 1;
    if (vars_n >= 0 && t->nodes[vars_n].kind == SW_MAP)
        n_fixed_max += (size_t)t->nodes[vars_n].n / 2;
    if (tags_n >= 0 && t->nodes[tags_n].kind == SW_MAP)
        n_fixed_max += (size_t)t->nodes[tags_n].n / 2;
    n_slots = n_fixed_max + AS_SWEEP_MAX_COLUMNS;
    if (prod_n >= 0 && t->nodes[prod_n].kind == SW_MAP) n_slots += (size_t)t->nodes[prod_n].n / 2;
    v.names = calloc(n_slots, sizeof *v.names);
    v.vals = calloc(n_slots, sizeof *v.vals);
    v.lens = calloc(n_slots, sizeof *v.lens);
    fv = calloc(n_fixed_max, sizeof *fv);
    if (!v.names || !v.vals || !v.lens || !fv) {
        ret = SW_OOM(c);
        goto done;
    }
    if (vars_n >= 0) AS_TRY(parse_fixed(c, g, vars_n, 0, &v, fv, &n_fv));
    if (tags_n >= 0) AS_TRY(parse_fixed(c, g, tags_n, 1, &v, fv, &n_fv));
    int n_fixed = v.n;
    AS_TRY(sw_spans_begin(c, g, spans_n));

    gr->first_prompt = s->n_prompts;
    gr->n_product = 1;
    if (file_n >= 0) {
        gr->source = AS_GROUP_FILE;
        const char *rel;
        AS_TRY(sw_get_str(c->t, file_n, "file", &rel, NULL));
        char path[AS_SWEEP_PATH_MAX];
        int n = rel[0] == '/' || !s->base_dir[0]
                    ? snprintf(path, sizeof path, "%s", rel)
                    : snprintf(path, sizeof path, "%s/%s", s->base_dir, rel);
        if (n < 0 || (size_t)n >= sizeof path) {
            ret = sw_errf(c->t, file_n, AS_ERR_INVALID, "file path of group '%s' is too long",
                          gr->name);
            goto done;
        }
        gr->file = sw_arena_strndup(c->arena, path, (size_t)n);
        if (!gr->file) {
            ret = SW_OOM(c);
            goto done;
        }
        AS_TRY(sw_read_prompt_file(c, g, path, file_n));
        AS_TRY(sw_fill_default_ids(c, g, file_n));
        AS_TRY(file_spans(c, g, &v, n_fixed));
    } else {
        const struct sw_node *pm = prompts_n >= 0 ? &t->nodes[prompts_n] : NULL;
        int64_t n_templates = 1;
        if (pm) {
            gr->source = AS_GROUP_PROMPTS;
            if (pm->kind != SW_MAP || pm->n == 0) {
                ret = sw_errf(c->t, prompts_n, AS_ERR_INVALID,
                              "prompts of group '%s' is %s; expected a non-empty mapping "
                              "{variant: \"text\", ...}",
                              gr->name, pm->kind == SW_MAP ? "an empty mapping" : sw_kind_name(pm));
                goto done;
            }
            n_templates = pm->n / 2;
        } else {
            gr->source = AS_GROUP_TEMPLATE;
        }
        if (prod_n >= 0) {
            AS_TRY(parse_product(c, g, prod_n, &v, &pr, n_templates));
            gr->n_product = pr.count;
        }
        if (id_n >= 0) {
            const char *src;
            size_t len;
            AS_TRY(sw_get_str(c->t, id_n, "id", &src, &len));
            char w[300];
            snprintf(w, sizeof w, "group '%s', id", gr->name);
            AS_TRY(sw_template_compile(c->t, id_n, w, src, len, &v, &id_tpl));
            have_id_tpl = 1;
        }
        AS_TRY(sw_spans_compile(c, &v, n_fixed));
        const struct product *prp = prod_n >= 0 ? &pr : NULL;
        if (pm) {
            for (int32_t i = 0; i < pm->n; i += 2)
                AS_TRY(expand_template(c, g, pm->kids[i + 1], t->nodes[pm->kids[i]].str, prp, &v,
                                       have_id_tpl ? &id_tpl : NULL, n_fixed));
        } else {
            AS_TRY(
                expand_template(c, g, tpl_n, NULL, prp, &v, have_id_tpl ? &id_tpl : NULL, n_fixed));
        }
    }
    /* vars and tags: one value for every prompt of the group */
    for (int k = 0; k < n_fv; k++) {
        struct sw_where w = {fv[k].node, 0, g};
        for (int64_t i = gr->first_prompt; i < gr->first_prompt + gr->n_prompts; i++)
            AS_TRY(sw_meta_put(c, fv[k].col, i, &fv[k].v, w));
    }
    AS_TRY(sw_spans_end(c));
done:
    free(v.names);
    free(v.vals);
    free(v.lens);
    free(fv);
    product_free(&pr);
    sw_template_free(&id_tpl);
    return ret;
}

as_status sw_expand_groups(struct sw_ctx *c) {
    struct as_sweep *s = c->s;
    struct sw_tree *t = c->t;
    const struct sw_node *gl = &t->nodes[c->groups_node];
    s->groups = calloc((size_t)gl->n, sizeof *s->groups);
    if (!s->groups) return SW_OOM(c);
    for (int32_t i = 0; i < gl->n; i++) {
        int32_t node = gl->kids[i];
        const struct sw_node *gn = &t->nodes[node];
        struct as_sweep_group *gr = &s->groups[i];
        char what[64];
        snprintf(what, sizeof what, "groups[%d]", (int)i);
        if (gn->kind != SW_MAP)
            return sw_errf(c->t, node, AS_ERR_INVALID,
                           "%s is %s; expected a mapping with name: and prompts:/template:/file:",
                           what, sw_kind_name(gn));
        int32_t name_n = sw_map_get(t, node, "name");
        if (name_n < 0)
            return sw_errf(c->t, node, AS_ERR_INVALID, "%s has no name:; expected a group name",
                           what);
        const char *name;
        size_t len;
        char w2[80];
        snprintf(w2, sizeof w2, "%s.name", what);
        as_status ret = sw_get_str(c->t, name_n, w2, &name, &len);
        if (ret != AS_OK) return ret;
        const char *why = sw_name_problem(name, len);
        if (why)
            return sw_errf(c->t, name_n, AS_ERR_INVALID,
                           "group name '%.60s' %s; expected a valid HDF5 link name", name, why);
        for (int32_t j = 0; j < i; j++)
            if (!strcmp(s->groups[j].name, name))
                return sw_errf(c->t, name_n, AS_ERR_INVALID,
                               "duplicate group name '%s' (first defined at %d:%d); expected "
                               "unique group names",
                               name, s->groups[j].mark.line, s->groups[j].mark.col);
        gr->name = sw_arena_strndup(c->arena, name, len);
        if (!gr->name) return SW_OOM(c);
        gr->mark.line = gn->line;
        gr->mark.col = gn->col;
        s->n_groups = (int)i + 1;
        ret = expand_group(c, (int)i, node);
        if (ret != AS_OK) return ret;
    }
    return sw_meta_finish(c);
}
