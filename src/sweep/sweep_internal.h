/* sweep_internal.h - the load context of src/sweep and the stages that use it.
 *
 * The module is layered bottom-up; each file includes only the layers below
 * it, and calls only files listed above it here (never one below):
 *   sw_arena.h    arena.c       string arena + growable byte buffer
 *   sw_text.h     text.c        UTF-8, name rules, number formatting
 *   sw_yaml.h     yaml_tree.c   libyaml -> node tree; walking helpers; the error formatter
 *   sw_template.h template.c    {var} templates: compile once, render many times
 *   (this file)   meta.c        typed metadata values -> the sweep's columns
 *                 prompts.c     adding prompts, default ids, the id index
 *                 spans.c       spans: templates per prompt, JSONL spans, occurrence checks
 *                 chat.c        chat_template / chat / system -> the bytes around each prompt
 *                 generate.c    generate: max_new_tokens, stop, answer_regex
 *                 gstate.c      the group being expanded: its keys and JSONL fields
 *                 prompt_file.c file: groups (JSONL / plain text)
 *                 expand.c      groups -> prompts (prompts:, template: x product:, file:), spans
 *                 explicit.c    ranks.explicit -> prompts[].explicit_rank
 *                 analysis.c    analysis: keywords, by, contrasts, bootstrap settings
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

/* ---------------------------------------------------------------- metadata (meta.c) */
/* One metadata value as given: a YAML scalar (sw_scalar_type) or a JSON value. */
struct sw_mval {
    enum sw_scalar kind; /* SW_S_NULL = no value */
    int64_t i;           /* BOOL (0/1), INT */
    double f;            /* FLOAT */
    const char *s;       /* STRING: NUL-terminated, in the sweep arena (stable) */
};
/* Where a value was given: a YAML node, or line file_line of group g's file. */
struct sw_where {
    int32_t node; /* the YAML node (for a file line: the group's file: value) */
    int64_t file_line;
    int g;
};
/* The columns while groups are expanded: one kind + value per prompt. */
struct sw_mcol {
    char *name;    /* in the sweep arena */
    uint8_t *kind; /* (cap) enum sw_scalar of each prompt, SW_S_NULL = missing */
    union {        /* (cap) */
        int64_t i;
        double f;
        const char *s;
    } * val;
    struct sw_where first[5];  /* where each kind was seen first (messages) */
    int64_t first_at[5];       /* the prompt of first[k], -1 = never */
    struct as_sweep_mark mark; /* as_sweep_column.mark */
};
struct sw_meta {
    struct sw_mcol *cols; /* (n) */
    int n, cap;
    int64_t rows; /* allocated cells per column */
};

/* ---------------------------------------------------------------- spans (spans.c) */
struct sw_spanb {
    char *name;         /* in the arena */
    int32_t node;       /* the spans: value, or -1 for a span only JSONL lines give */
    int32_t mark_node;  /* node, or the group's file: value for a JSONL-only span */
    int64_t first_line; /* JSONL-only: the first line that gives it */
    struct sw_template tpl;
    int compiled, varying; /* varying: rendered per prompt (texts), else text */
    const char *text;      /* constant text (arena) */
    size_t text_len;
    struct as_sweep_span_text *texts; /* (cap) per prompt of the group (malloc'd) */
    int64_t cap;
};
/* The group being expanded: its keys (for clash checks) and its spans. */
struct sw_gkey {
    const char *name;
    int32_t node;
    const char *kind; /* "a var", "a tag", "a product key" */
};
struct sw_group_state {
    int g;
    struct sw_gkey *keys; /* (n_keys) vars, tags, product keys */
    int n_keys, cap_keys;
    int *fields; /* (n_fields) metadata columns JSONL lines of this group set */
    int n_fields, cap_fields;
    struct sw_spanb *spans; /* (n_spans) spans: entries in YAML order, then JSONL-only ones */
    int n_spans, cap_spans;
};

/* ---------------------------------------------------------------- chat (chat.c) */
/* The chat settings of the top level, or of a group (a copy of the top
 * level's with the group's keys applied). */
struct sw_chat {
    int on;                    /* a chat template applies */
    int32_t node;              /* its chat_template: / chat: value (messages) */
    const char *tpl, *tpl_sys; /* the template without / with a system: text ({prompt} ...) */
    const char *system;        /* the system: text, or NULL */
    int32_t system_node;       /* its node */
    char *pre, *post;          /* (pre_len, post_len) resolved bytes before / after the prompt */
    size_t pre_len, post_len;
};

/* ---------------------------------------------------------------- load context */
struct sw_ctx {
    struct as_sweep *s;
    struct sw_tree *t;
    struct sw_arena *arena; /* == s->internal */
    struct as_err *err;
    int32_t groups_node;                 /* the `groups:` list, or -1 */
    int32_t explicit_node;               /* ranks.explicit, or -1 */
    int32_t analysis_node;               /* analysis:, or -1 */
    int has_output_path;                 /* output.path given in the YAML */
    int64_t prompts_cap;                 /* allocated length of s->prompts */
    struct sw_meta meta;                 /* metadata columns being collected */
    struct sw_group_state gs;            /* the group being expanded */
    const struct as_sweep_overrides *ov; /* command-line overrides (chat: true reads the model) */
    struct sw_chat chat_top;             /* the top level's chat settings */
    struct sw_chat chat;                 /* the group being expanded (resolved) */
    struct as_sweep_generate gen_top;    /* the top level's generate: (generate.c) */
    size_t meta_bytes;                   /* bytes of metadata strings and per-prompt span texts */
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

/* ---------------------------------------------------------------- meta.c */
/* The typed value of a YAML scalar node (strings copied into the arena). A
 * list or mapping is an error naming what (e.g. "tag 'x' of group 'g'"). */
as_status sw_mval_of_node(struct sw_ctx *c, int32_t node, const char *what, struct sw_mval *out);
/* A value as template text: the string itself, or the number / bool written
 * out (bools "true"/"false", floats shortest round-trip) in buf. */
const char *sw_mval_text(const struct sw_mval *v, char *buf, size_t cap, size_t *len);
/* The column named name[0..len), created (after checking the name) if new. */
as_status sw_meta_column(struct sw_ctx *c, const char *name, size_t len, struct sw_where w,
                         int *col);
/* Records prompt's value of col (a prompt gets at most one value per column). */
as_status sw_meta_put(struct sw_ctx *c, int col, int64_t prompt, const struct sw_mval *v,
                      struct sw_where w);
/* Prompt's current value of col (kind SW_S_NULL if none). */
struct sw_mval sw_meta_get(const struct sw_ctx *c, int col, int64_t prompt);
/* Makes room for rows prompts in every column (called when s->prompts grows). */
as_status sw_meta_reserve(struct sw_ctx *c, int64_t rows);
/* Types every column (one kind per column, ints with missing values become
 * floats), refuses mixed columns naming both places, and moves the cells into
 * s->columns (the arena). */
as_status sw_meta_finish(struct sw_ctx *c);
void sw_meta_free(struct sw_meta *m);
/* "t.yaml:4:18" or "p.jsonl:7 (group 'g', file: at t.yaml:5:11)". */
const char *sw_where_text(const struct sw_ctx *c, struct sw_where w, char *out, size_t cap);

/* ---------------------------------------------------------------- spans.c */
/* Reads the names of group g's spans: mapping (node < 0: none) and resets the state. */
as_status sw_spans_begin(struct sw_ctx *c, int g, int32_t node);
/* Compiles the spans: templates against v; those that use no variable from
 * n_fixed on are the same for every prompt and rendered now. */
as_status sw_spans_compile(struct sw_ctx *c, const struct sw_vars *v, int n_fixed);
/* Renders the varying spans for the group's prompt k (v holds its values; a
 * template over a variable without a value leaves the span absent there). */
as_status sw_spans_prompt(struct sw_ctx *c, int64_t k, const struct sw_vars *v);
/* A span the group's prompt k gives itself (a JSONL "spans" entry). */
as_status sw_spans_given(struct sw_ctx *c, int64_t k, const char *name, size_t nlen,
                         const char *text, size_t tlen, struct sw_where w);
/* Checks that every span occurs in some prompt and moves them into the group. */
as_status sw_spans_end(struct sw_ctx *c);

/* ---------------------------------------------------------------- chat.c */
/* Applies the chat_template / chat / system keys of mapping map (the top
 * level or a group; what names it in messages) over ch. `chat: true` reads
 * the model's tokenizer_config.json now. */
as_status sw_chat_parse(struct sw_ctx *c, int32_t map, const char *what, struct sw_chat *ch);
/* Checks ch's template ({prompt} once, {system} iff system:) and sets pre / post. */
as_status sw_chat_resolve(struct sw_ctx *c, struct sw_chat *ch);
/* The resolved template "pre{prompt}post" in the arena, NULL when off (or out of memory). */
char *sw_chat_format(struct sw_ctx *c, const struct sw_chat *ch);

/* ---------------------------------------------------------------- generate.c */
/* Applies the generate: key of mapping map (the top level or a group; what
 * names it) over g (strings in the arena; the regex is compiled to check it). */
as_status sw_generate_parse(struct sw_ctx *c, int32_t map, const char *what,
                            struct as_sweep_generate *g);

/* ---------------------------------------------------------------- gstate.c */
/* Frees the group state (keys, fields, span builders). */
void sw_group_state_free(struct sw_group_state *gs);
/* Registers a var / tag / product key (kind "var", "tag", "product key") of
 * the group; a name that is already one of them is an error at node. */
as_status sw_group_key_add(struct sw_ctx *c, const char *name, int32_t node, const char *kind);
/* The group's var / tag / product key called name[0..len), or NULL. */
const struct sw_gkey *sw_group_key(const struct sw_ctx *c, const char *name, size_t len);
/* Notes that a JSONL line of the group set metadata column col (a field its
 * spans: templates may use). */
as_status sw_group_field(struct sw_ctx *c, int col);

/* ---------------------------------------------------------------- the stages */
as_status sw_parse_settings(struct sw_ctx *c); /* model, output, ranks.assign, analysis */
/* output.topk, output.logits of the output mapping (behaviour_opts.c) */
as_status sw_parse_behaviour(struct sw_ctx *c, int32_t output);
as_status sw_expand_groups(struct sw_ctx *c); /* groups -> prompts (expand.c) */
/* file: groups (prompt_file.c). path is resolved; node is the file: value (for messages). */
as_status sw_read_prompt_file(struct sw_ctx *c, int g, const char *path, int32_t node);
/* as_analysis_defaults with by = {"group"} (a static string). */
void sw_analysis_defaults(struct as_analysis *a);
/* analysis: keywords, bootstrap, seed, js_min_shared (analysis.c; before the groups). */
as_status sw_parse_analysis(struct sw_ctx *c, int32_t node);
/* analysis: by and contrasts, checked against the /sweep columns (after the groups). */
as_status sw_resolve_analysis(struct sw_ctx *c);
/* ranks.explicit -> prompts[].explicit_rank (explicit.c; names are looked up in ix). */
as_status sw_resolve_explicit(struct sw_ctx *c, const struct sw_index *ix);

#endif
