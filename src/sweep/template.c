/* template.c - "{var}" templates: compiled once, rendered per prompt.
 *
 * Syntax (a subset of Python's str.format): {name} inserts a variable, where
 * name is [A-Za-z_][A-Za-z0-9_]*; "{{" and "}}" are literal braces; anything
 * else with a brace is an error. Values are inserted verbatim (they are not
 * templates themselves). A product of 10 million prompts renders the same
 * compiled segment list 10 million times, so rendering does no parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sw_template.h"
#include "sw_text.h"

static int seg_add(struct sw_template *t, int *cap, struct sw_seg seg) {
    if (t->n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        struct sw_seg *p = realloc(t->segs, (size_t)nc * sizeof *p);
        if (!p) return 0;
        t->segs = p;
        *cap = nc;
    }
    t->segs[t->n++] = seg;
    return 1;
}

static void known_list(const struct sw_vars *v, char *out, size_t cap) {
    size_t off = 0;
    out[0] = '\0';
    if (v->n == 0) {
        snprintf(out, cap, "none are defined (HINT: define it under the group's `vars:`)");
        return;
    }
    for (int i = 0; i < v->n && off < cap; i++) {
        int n = snprintf(out + off, cap - off, "%s%s", i ? ", " : "", v->names[i]);
        if (n < 0 || (size_t)n >= cap - off) break;
        off += (size_t)n;
    }
}

as_status sw_template_compile(const struct sw_tree *t, int32_t node, const char *what,
                              const char *tpl, size_t len, const struct sw_vars *v,
                              struct sw_template *out) {
    as_status ret = AS_OK;
    int cap = 0;
    memset(out, 0, sizeof *out);
    out->unescaped = malloc(len + 1);
    if (!out->unescaped) return sw_oom(t);
    char *lit = out->unescaped; /* current literal run starts here */
    size_t run = 0;             /* bytes in the current literal run */
    for (size_t i = 0; i < len;) {
        char ch = tpl[i];
        if (ch == '{' && i + 1 < len && tpl[i + 1] == '{') {
            lit[run++] = '{';
            i += 2;
            continue;
        }
        if (ch == '}' && i + 1 < len && tpl[i + 1] == '}') {
            lit[run++] = '}';
            i += 2;
            continue;
        }
        if (ch == '}') {
            ret = sw_errf(t, node, AS_ERR_INVALID,
                          "%s: single '}' at byte %zu of the template; expected '}}' for a "
                          "literal brace",
                          what, i);
            goto done;
        }
        if (ch != '{') {
            lit[run++] = ch;
            i++;
            continue;
        }
        /* a placeholder {name} */
        const char *close = memchr(tpl + i + 1, '}', len - i - 1);
        const char *name = tpl + i + 1;
        size_t nlen = close ? (size_t)(close - name) : 0;
        if (!close || memchr(name, '{', nlen) || memchr(name, '\n', nlen)) {
            ret = sw_errf(t, node, AS_ERR_INVALID,
                          "%s: unterminated '{' at byte %zu of the template (\"%.30s\"); expected "
                          "{name}. HINT: write '{{' for a literal brace",
                          what, i, tpl + i);
            goto done;
        }
        if (!sw_valid_var_name(name, nlen)) {
            ret = sw_errf(t, node, AS_ERR_INVALID,
                          "%s: invalid placeholder '{%.*s}' at byte %zu; expected {name} with "
                          "letters, digits and '_'. HINT: write '{{' and '}}' for literal braces",
                          what, (int)(nlen > 60 ? 60 : nlen), name, i);
            goto done;
        }
        int var = -1;
        for (int k = 0; k < v->n; k++)
            if (strlen(v->names[k]) == nlen && !memcmp(v->names[k], name, nlen)) var = k;
        if (var < 0) {
            char known[600];
            known_list(v, known, sizeof known);
            ret = sw_errf(t, node, AS_ERR_INVALID,
                          "%s: unknown variable '{%.*s}'; known variables: %s", what, (int)nlen,
                          name, known);
            goto done;
        }
        if (run) {
            if (!seg_add(out, &cap, (struct sw_seg){lit, run, -1})) goto oom;
            out->lit_len += run;
            lit += run;
            run = 0;
        }
        if (!seg_add(out, &cap, (struct sw_seg){NULL, 0, var})) goto oom;
        i += nlen + 2;
    }
    if (run) {
        if (!seg_add(out, &cap, (struct sw_seg){lit, run, -1})) goto oom;
        out->lit_len += run;
    }
done:
    if (ret != AS_OK) sw_template_free(out);
    return ret;
oom:
    sw_template_free(out);
    return sw_oom(t);
}

int sw_template_render(const struct sw_template *t, const struct sw_vars *v, struct sw_buf *b) {
    b->len = 0;
    if (b->p) b->p[0] = '\0';
    if (!sw_buf_add(b, "", 0)) return 0;
    for (int i = 0; i < t->n; i++) {
        const struct sw_seg *s = &t->segs[i];
        int ok = s->var < 0        ? sw_buf_add(b, s->lit, s->len)
                 : v->vals[s->var] ? sw_buf_add(b, v->vals[s->var], v->lens[s->var])
                                   : 1;
        if (!ok) return 0;
    }
    return 1;
}

int sw_template_uses_from(const struct sw_template *t, int first) {
    for (int i = 0; i < t->n; i++)
        if (t->segs[i].var >= first) return 1;
    return 0;
}

int sw_template_missing(const struct sw_template *t, const struct sw_vars *v) {
    for (int i = 0; i < t->n; i++)
        if (t->segs[i].var >= 0 && !v->vals[t->segs[i].var]) return 1;
    return 0;
}

void sw_template_free(struct sw_template *t) {
    free(t->segs);
    free(t->unescaped);
    memset(t, 0, sizeof *t);
}
