/* metrics.h - per-prompt attention metrics, computed by streaming layers.
 *
 * A worker hands every layer's attention probabilities to an as_metrics
 * accumulator right after the forward pass produced them (in layer order);
 * nothing is re-read from disk. `attnsweep reduce` feeds the same accumulator
 * with layers read back from the file. docs/METRICS.md defines every metric
 * (formula, epsilon, source) and docs/FORMAT.md where it is stored
 * (the /metrics columns).
 *
 * Two input modes:
 *   AS_METRICS_FULL      add_layer gets (H, T, T): every metric is computed.
 *   AS_METRICS_LAST_ROW  add_layer gets (H, T), the last query row of each
 *                        head (files written with store: last_row). Metrics
 *                        that need whole maps are not computed; see
 *                        as_metrics_unavailable_last_row().
 *
 * Determinism: every sum is a double accumulated in a fixed order (layer,
 * head, query, key ascending), so the same input gives bit-identical output
 * on any rank.
 *
 * Ownership: struct as_metrics owns its result arrays (one allocation for the
 * numbers) and copies what it needs from the context (token strings, keyword
 * and span names), so the context may be freed after as_metrics_init. */
#ifndef ATTNSWEEP_METRICS_H
#define ATTNSWEEP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum as_metrics_input { AS_METRICS_FULL = 0, AS_METRICS_LAST_ROW = 1 };

/* Span kinds (metrics/span_kind). */
enum as_metrics_span_kind {
    AS_SPAN_DECLARED = 0, /* from the group's spans: in the sweep YAML */
    AS_SPAN_DERIVED = 1   /* "prefix" / "question" / "template" / "template_end" /
                             "reasoning" / "answer" derived by
                             attnsweep (docs/METRICS.md) */
};

/* Number of heads listed by the head-specialization tables (the notebook's 5). */
#define AS_METRICS_TOP_K 5

/* A named substring of the group's prompts (a sweep `spans:` entry). */
struct as_metrics_span_def {
    const char *name; /* NUL-terminated */
    const char *text; /* (text_len) bytes; located by its first occurrence in the prompt */
    size_t text_len;
};

/* Everything the metrics need to know about one prompt besides its attention. */
struct as_metrics_ctx {
    int L, H, T;               /* layers, heads, tokens (BOS included) */
    const int32_t *token_ids;  /* (T) or NULL (duplicate/induction scores then use no pattern) */
    const char *const *tokens; /* (T) decoded token strings, or NULL ("" each) */
    const int32_t *offsets;    /* (T, 2) byte span [start, end) of each token, or NULL */
    const char *text;          /* (text_len) UTF-8 prompt text, may be NULL when text_len == 0 */
    size_t text_len;
    const char *const *keywords; /* (n_keywords) NUL-terminated, non-empty */
    int n_keywords;
    const struct as_metrics_span_def *spans; /* (n_spans) the group's declared spans */
    int n_spans;
    /* The user's prompt is text[prompt_start .. prompt_start + prompt_len): a
     * chat template's bytes lie outside it (docs/SWEEP.md "Chat prompts").
     * prompt_len == 0 means the whole text (no template). Keywords, declared
     * spans and the derived prefix / question are found only inside it. */
    size_t prompt_start, prompt_len;
    int chat; /* the prompt has a chat template: derived spans "template" (the bytes before
                 the user's prompt) and "template_end" (the bytes after it) */
    /* Bytes [prompt_start, prompt_start + prefix_len) are the variant-specific
     * prefix of the user's prompt (as_metrics_variant_prefixes over the users'
     * prompts); == its length when nothing is shared. */
    size_t prefix_len;
    /* Generation (docs/SWEEP.md "Generation"): when generates != 0 the
     * generated text is text[gen_start .. text_len), and the derived spans
     * "reasoning" and "answer" are found in it (as_metrics_answer_span with
     * answer_regex, NULL = the last number). */
    int generates;
    size_t gen_start;
    const char *answer_regex;
    int answer_mass; /* the sweep generates: compute span_mass_from_answer (every prompt of it) */
};

/* Sizes of one prompt's metrics: everything needed to create its datasets
 * before compute. A pure function of the context (as_metrics_layout_compute),
 * so every rank computes the same layout. */
struct as_metrics_layout {
    int L, H, T;
    int input;            /* enum as_metrics_input */
    int n_keywords;       /* K */
    int n_occ;            /* keyword occurrences in the text (text rule) */
    int n_nb;             /* (token, keyword) matches of the notebook's token-substring rule */
    int n_spans;          /* S: declared + derived */
    size_t keyword_width; /* widths of the fixed-length string datasets (>= 1) */
    size_t span_width;
    size_t token_width;
    int answer_mass; /* span_mass_from_answer is computed (the sweep generates) */
};

/* One keyword occurrence in the text, mapped to tokens. */
struct as_metrics_occ {
    int32_t keyword;   /* index into keywords */
    int32_t bytes[2];  /* [begin, end) in the text */
    int32_t tokens[2]; /* [first, last + 1) tokens covering it; [-1, -1] when none */
};

/* One span of this prompt. */
struct as_metrics_span {
    char *name;        /* owned by the as_metrics allocation */
    int32_t kind;      /* enum as_metrics_span_kind */
    int32_t bytes[2];  /* [begin, end), or [-1, -1] when the span is absent from this prompt */
    int32_t tokens[2]; /* [first, last + 1), or [-1, -1] when absent / covering no token */
};

struct as_metrics {
    struct as_metrics_layout lay;
    int layers_done; /* layers added so far */
    int finished;

    /* static tables, known at init */
    char **keywords;               /* (K) copies */
    char **tokens;                 /* (T) copies */
    int32_t *token_ids;            /* (T) copy, or -1 each */
    struct as_metrics_occ *occ;    /* (n_occ) */
    int32_t *nb_keyword;           /* (n_nb) notebook rule: keyword index */
    int32_t *nb_position;          /* (n_nb) notebook rule: token position */
    struct as_metrics_span *spans; /* (S) */

    /* seed-exact metrics */
    double *layer_entropy; /* (L) */
    double *head_entropy;  /* (L, H) */
    double *head_max;      /* (L, H) */
    int32_t *head_focus;   /* (L, H) argmax key of the last row (first maximum) */
    /* last row, head mean */
    double *last_row_mean; /* (L, T) */
    /* keyword attention */
    double *occ_mass;       /* (n_occ) last layer */
    double *occ_mass_layer; /* (n_occ, L) */
    double *nb_mass;        /* (n_nb) last layer (the notebook's mean_attn[pos]) */
    /* head metrics */
    double *sink_last;    /* (L, H) A[T-1, 0] */
    double *sink_mean;    /* (L, H) FULL only: mean_i A[i, 0] */
    double *prev_token;   /* (L, H) FULL only: mean_{i>=1} A[i, i-1]; NaN when T < 2 */
    double *norm_entropy; /* (L, H) FULL only: mean_{i>=1} H(A[i]) / log(i+1); NaN when T < 2 */
    double *dup_token;    /* (L, H) FULL only: TransformerLens duplicate-token score */
    double *induction;    /* (L, H) FULL only: TransformerLens induction score */
    /* spans */
    double *span_mass; /* (S, L, H) last-row mass on the span's tokens */
    double *span_lift; /* (S, L, H) mass / (span tokens / T); NaN when the span has no token */
    /* (S, L, H) FULL only: mean over the answer span's query tokens of their mass on the
     * span's tokens; NaN without an answer span, for an absent span, or from last rows */
    double *span_mass_from_answer;

    void *mem;     /* one allocation for every double/int array above */
    uint8_t *dup;  /* (T, T) FULL only: duplicate-token pattern, lower triangle (scratch) */
    void *strings; /* owned copies of strings */
};

/* ---- pure helpers -------------------------------------------------------- */

/* The derived variant-specific prefix of each text of a group: prefix_len[i]
 * = len[i] - (length of the longest common suffix shared by ALL n texts, in
 * bytes, moved forward to a UTF-8 character boundary). With n == 1 the whole
 * text is "shared" and the prefix is empty. */
void as_metrics_variant_prefixes(const char *const *texts, const size_t *lens, int n,
                                 size_t *prefix_len /* (n) */);

/* The tokens covering bytes [begin, end): every token with a non-empty byte
 * span that overlaps the range. Returns 1 and [*first, *last_plus_1) when
 * some token does, else 0 (and -1, -1). offsets: (T, 2). */
int as_metrics_span_tokens(const int32_t *offsets, int T, size_t begin, size_t end, int32_t *first,
                           int32_t *last_plus_1);

/* The answer in the generated text text[gen_start .. text_len): with regex
 * (POSIX ERE) its first match, narrowed to the first capture group when the
 * regex has one and it matched; with regex NULL the last number
 * -?[0-9]+(\.[0-9]+)? (whole match). Returns 1 and the byte range [*begin,
 * *end) in text, or 0 (and -1, -1) when nothing matches or the regex does not
 * compile. O(generated text). */
int as_metrics_answer_span(const char *text, size_t text_len, size_t gen_start, const char *regex,
                           int64_t *begin, int64_t *end);

/* Computes a prompt's layout from its context (pure; identical on every rank). */
as_status as_metrics_layout_compute(const struct as_metrics_ctx *ctx, enum as_metrics_input in,
                                    struct as_metrics_layout *out, struct as_err *err);

/* Comma-separated names of the metrics that need full maps (not computed
 * from last_row data). */
const char *as_metrics_unavailable_last_row(void);

/* ---- accumulator ------------------------------------------------------- */

as_status as_metrics_init(struct as_metrics *m, const struct as_metrics_ctx *ctx,
                          enum as_metrics_input in, struct as_err *err);
/* probs: (H, T, T) for AS_METRICS_FULL, (H, T) for AS_METRICS_LAST_ROW.
 * Layers must come in order 0, 1, ..., L-1. */
as_status as_metrics_add_layer(struct as_metrics *m, int layer, const float *probs,
                               struct as_err *err);
/* Completes the metrics that need every layer (means, keyword masses). */
as_status as_metrics_finish(struct as_metrics *m, struct as_err *err);
void as_metrics_free(struct as_metrics *m);

#ifdef __cplusplus
}
#endif
#endif
