/* sw_template.h - "{var}" templates: compiled once, rendered per prompt
 * (template.c). Depends on sw_yaml.h (errors at a node) and sw_arena.h. */
#ifndef ATTNSWEEP_SW_TEMPLATE_H
#define ATTNSWEEP_SW_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "sw_arena.h"
#include "sw_yaml.h"

struct sw_vars {
    const char **names; /* (n) */
    const char **vals;  /* (n) current values; NULL = this prompt has no value */
    size_t *lens;       /* (n) */
    int n;
};
struct sw_seg {
    const char *lit; /* literal text (when var < 0) */
    size_t len;
    int var; /* index into sw_vars, or -1 */
};
struct sw_template {
    struct sw_seg *segs; /* (n) */
    int n;
    size_t lit_len;  /* bytes of literal text */
    char *unescaped; /* owned copy of the literals with {{ }} collapsed */
};
/* Compiles tpl against the variable names of v. what = "group 'g', prompt 'p'"
 * for messages; node gives the position. Errors: unknown {var} (lists the known
 * ones), unterminated '{', single '}', bad placeholder names. */
as_status sw_template_compile(const struct sw_tree *t, int32_t node, const char *what,
                              const char *tpl, size_t len, const struct sw_vars *v,
                              struct sw_template *out);
/* Appends the rendering to b (resets b first). Returns 0 on OOM. Variables
 * without a value (vals[k] == NULL) render as "". */
int sw_template_render(const struct sw_template *t, const struct sw_vars *v, struct sw_buf *b);
/* 1 if the template uses any variable with index >= first (so
 * sw_template_uses_from(t, n_fixed) asks "does it differ between prompts"). */
int sw_template_uses_from(const struct sw_template *t, int first);
/* 1 if the template uses a variable that has no value (vals[k] == NULL). */
int sw_template_missing(const struct sw_template *t, const struct sw_vars *v);
void sw_template_free(struct sw_template *t);

#endif
