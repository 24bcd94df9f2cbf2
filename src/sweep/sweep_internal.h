/* sweep_internal.h - the load context of src/sweep and the stages that use it.
 *
 * The module is layered; each file includes only the layers below it:
 *   sw_arena.h    arena.c       string arena + growable byte buffer
 *   sw_text.h     text.c        UTF-8, name rules, number formatting
 *   sw_yaml.h     yaml_tree.c   libyaml -> node tree; walking helpers; the error formatter
 *   sw_template.h template.c    {var} templates: compile once, render many times
 *   (this file)   prompts.c     adding prompts, default ids, the id index
 *                 prompt_file.c file: groups (JSONL / plain text)
 *                 expand.c      groups -> prompts (prompts:, template: x product:, file:), spans
 *                 explicit.c    ranks.explicit -> prompts[].explicit_rank
 *                 sweep_parse.c the YAML schema: sections, keys, types -> settings
 *                 sweep.c       load (the pipeline), validate, checks, print, lookups
 *                 pack.c        serialization for the MPI broadcast
 *                 plan.c        batches and ranks (public API only: plan.h) */
#ifndef ATTNSWEEP_SWEEP_INTERNAL_H
#define ATTNSWEEP_SWEEP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/status.h"
#include "attnsweep/sweep.h"
#include "sw_arena.h"
#include "sw_template.h"
#include "sw_text.h"
#include "sw_yaml.h"

/* ---------------------------------------------------------------- load context */
struct sw_ctx {
    struct as_sweep *s;
    struct sw_tree *t;
    struct sw_arena *arena; /* == s->internal */
    struct as_err *err;
    int32_t groups_node;   /* the `groups:` list, or -1 */
    int32_t explicit_node; /* ranks.explicit, or -1 */
    int has_output_path;   /* output.path given in the YAML */
    int64_t prompts_cap;   /* allocated length of s->prompts */
};

#define SW_OOM(c) sw_oom((c)->t)

/* ---------------------------------------------------------------- prompts.c */
/* Appends one prompt (copies id parts and text into the arena). variant may be
 * NULL (filled later by sw_fill_default_ids). Checks limits and names. node is
 * the YAML node that defines it; file_line > 0 for a line of the group's file. */
as_status sw_add_prompt(struct sw_ctx *c, int g, const char *variant, size_t vlen, const char *text,
                        size_t tlen, int32_t node, int64_t file_line);
/* Gives every prompt of group g without a variant the zero-padded index
 * (ordinal within the group, width max(4, digits(n - 1))). */
as_status sw_fill_default_ids(struct sw_ctx *c, int g, int32_t node);
/* Formats the zero-padded index used for default ids. */
void sw_format_index(char *out, size_t cap, int64_t i, int64_t n);
/* An error about one prompt: "<file>:<line>:1: ... (group 'g', file: at
 * yaml:l:c)" for prompts read from a file (file_line > 0), else at node. */
as_status sw_prompt_errf(struct sw_ctx *c, int g, int32_t node, int64_t file_line, as_status st,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* An open-addressing id -> prompt index table. */
struct sw_index {
    int32_t *slots; /* (cap) prompt index + 1, 0 = empty */
    size_t cap;
};
/* Builds the table; a duplicate id gives an error naming both definitions. */
as_status sw_index_build(const struct as_sweep *s, struct sw_index *ix, struct as_err *err);
int64_t sw_index_find(const struct as_sweep *s, const struct sw_index *ix, const char *id,
                      size_t len);
void sw_index_free(struct sw_index *ix);

/* ---------------------------------------------------------------- the stages */
as_status sw_parse_settings(struct sw_ctx *c); /* model, output, ranks.assign, analysis */
as_status sw_expand_groups(struct sw_ctx *c);  /* groups -> prompts (expand.c) */
/* file: groups (prompt_file.c). path is resolved; node is the file: value (for messages). */
as_status sw_read_prompt_file(struct sw_ctx *c, int g, const char *path, int32_t node);
/* ranks.explicit -> prompts[].explicit_rank (explicit.c; names are looked up in ix). */
as_status sw_resolve_explicit(struct sw_ctx *c, const struct sw_index *ix);

#endif
