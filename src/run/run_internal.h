/* run_internal.h - the pieces of `attnsweep run` (see attnsweep/run.h). */
#ifndef ATTNSWEEP_RUN_INTERNAL_H
#define ATTNSWEEP_RUN_INTERNAL_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "attnsweep/agree.h"
#include "attnsweep/decode.h"
#include "attnsweep/h5out.h"
#include "attnsweep/model.h"
#include "attnsweep/run.h"
#include "attnsweep/sweep.h"
#include "attnsweep/table.h"

enum as_job_mode { AS_JOB_CREATE = 0, AS_JOB_RESUME = 1 };

/* Everything rank 0 decides before compute; identical on every rank after
 * as_job_bcast. Token arrays are packed: prompt i owns tokens
 * [tok_start[i], tok_start[i+1]). */
struct as_job {
    struct as_sweep sweep;
    struct as_config cfg; /* the model's configuration (rank 0 opened it) */
    int mode;             /* enum as_job_mode */
    int n_ranks;
    int64_t n;          /* prompts */
    int64_t n_tok;      /* tokens of all prompts */
    int64_t *tok_start; /* (n + 1) */
    int32_t *n_tokens;  /* (n) */
    int32_t *ids;       /* (n_tok) */
    int32_t *offsets;   /* (n_tok, 2) */
    char *strings;      /* (strings_len) decoded token strings, NUL-terminated, back to back */
    int64_t strings_len;
    const char **tok;   /* (n_tok) pointers into strings (rebuilt locally) */
    int32_t *rank;      /* (n) rank that computes prompt i in this run, -1 = nothing to do */
    int8_t *status0;    /* (n) /sweep/status at the start (pending, or skipped when created) */
    int32_t *answer_id; /* (n) first token of each prompt's analysis.answer, -1 = none */
    /* analysis.answer's tokens, ragged: prompt i's are answer_tok[answer_start[i] ..
     * answer_start[i+1]), answer_tok[answer_start[i]] == answer_id[i] (none: empty) */
    int64_t *answer_start; /* (n + 1), NULL without analysis.answer */
    int32_t *answer_tok;   /* (answer_start[n]) */
    char *vocab_str;       /* (vocab_n, vocab_width) what HF decode([id]) gives for every id, as
                              null-padded records (<0x00> as ""); NULL without a tokenizer */
    int32_t vocab_n, vocab_width;
    int32_t *dropped; /* (n) tokens cut by model.on_too_long: truncate (rank 0 only, else NULL) */
    /* batches of this run: runs of consecutive prompts to compute, planned
     * before ranks are assigned (as_plan_batches); batch b is prompts
     * [batch_start[b], batch_start[b] + batch_len[b]) on rank batch_rank[b] */
    int64_t n_batches;
    int64_t *batch_start; /* (n_batches) */
    int32_t *batch_len;   /* (n_batches) */
    int32_t *batch_rank;  /* (n_batches) */
    char *own; /* strings of a job made in memory (as_job_prepare_one): ids, names, text */
    /* generation (job_generate.c), NULL when no group generates: the last
     * gen_n[i] tokens of prompt i are generated, its generated text starts at
     * byte gen_start[i] of its (extended) text; gen_stop[i] enum as_gen_stop */
    int32_t *gen_n;     /* (n) */
    int64_t *gen_start; /* (n) */
    int8_t *gen_stop;   /* (n) */
    char *gen_text;     /* the extended texts (the sweep's prompts point into it) */
};

/* /sweep/stop_reason (docs/FORMAT.md): why a prompt's generation ended. */
enum as_gen_stop {
    AS_GEN_NONE = -1,  /* the prompt does not generate */
    AS_GEN_LENGTH = 0, /* max_new_tokens (or the model's max_position) reached */
    AS_GEN_EOS = 1,    /* the tokenizer's EOS was generated */
    AS_GEN_STRING = 2  /* the generated text reached a stop string */
};

void as_job_free(struct as_job *j);
/* (Re)plans the prompts that still need computing from the job's token
 * counts: rank[i] (-1 for done ones) and the batches. */
as_status as_job_plan(struct as_job *j, int quiet, struct as_err *err);
/* Generation (job_generate.c), COLLECTIVE, after the job is broadcast and the
 * weights are loaded; nothing to do when no group generates. Creating: every
 * rank decodes greedily for its planned batches (one prefill + one decode
 * step per token, the batch together), rank 0 gathers the ids. Resuming:
 * rank 0 reads the generated ids back from the file (never regenerates).
 * Then rank 0 extends every generating prompt to prompt + generated (ids,
 * token strings, offsets, text), re-plans the batches and broadcasts the job
 * again, so creation, compute and metrics run on the extended sequences. */
as_status as_job_generate(struct as_job *j, const struct as_model *m, MPI_Comm comm,
                          const struct as_run_opts *o, struct as_err *err);
/* analysis.answer for a generating prompt: 1 when the answer found in its
 * generated text (the derived span "answer") equals the expected answer, both
 * trimmed of whitespace, 0 when it differs or the text has no answer, -1 when
 * the prompt does not generate or has no expected answer. */
int as_job_gen_correct(const struct as_job *j, int64_t i);
/* Rank 0: /sweep/n_generated, generated_start and stop_reason (copies) into t
 * when the job generates; nothing otherwise. */
as_status as_job_gen_columns(const struct as_job *j, struct as_table *t, struct as_err *err);
/* Generated text of ids gen (n) after the prompt ids ctx (n_ctx; the decode
 * context, e.g. the prompt's last tokens) as ends[k] = bytes of the text
 * produced by gen[0..k] (non-decreasing); *text (malloc'd, *len bytes) is the
 * whole generated text. Needs the tokenizer (rank 0). */
struct as_tokenizer;
as_status as_gen_decode(const struct as_tokenizer *t, const int32_t *ctx, int n_ctx,
                        const int32_t *gen, int n, char **text, size_t *len, int32_t *ends,
                        struct as_err *err);
/* The number of generated tokens to keep: the first k such that the text of
 * gen[0..k) (ends[k-1] bytes of text) contains a stop string, else 0 (no stop). */
int as_gen_stop_at(const char *text, const int32_t *ends, int n, const char *const *stop,
                   int n_stop);

/* The generation journal (gen_journal.c, docs/SWEEP.md "Generation"): each rank's
 * generated ids, one durable record per decode group, in <output>.gen-<run>-r<rank>
 * until the output file exists. */
struct as_gen_journal {
    int fd; /* -1 = none */
    char path[4200];
};
/* FNV-1a 64 of n bytes, continuing h (0 = start): the job key of a journal. */
uint64_t as_gen_journal_hash(uint64_t h, const void *p, size_t n);
/* Creates (truncates) this rank's journal of run `run` for the job `key`. */
as_status as_gen_journal_create(struct as_gen_journal *jn, const char *out, uint64_t run, int rank,
                                uint64_t key, struct as_err *err);
/* Appends one record of n words and makes it durable (fdatasync). */
as_status as_gen_journal_append(struct as_gen_journal *jn, const int32_t *w, size_t n,
                                struct as_err *err);
void as_gen_journal_close(struct as_gen_journal *jn);
/* Every valid record of every journal of `out` with this key, back to back in
 * *words (malloc'd, *n_words); *n_files journals matched. A torn tail (a kill)
 * ends a journal's records; a journal of another key is ignored. */
as_status as_gen_journal_load(const char *out, uint64_t key, int32_t **words, size_t *n_words,
                              int *n_files, struct as_err *err);
/* Removes every journal of `out` (after the file was created). */
void as_gen_journal_remove(const char *out);

/* One view of what the job stores and of one prompt: the only place that
 * derives them, for the file's spec, the metrics contexts and the worker. */
struct as_job_store {
    int L, H;          /* stored layers and heads */
    const int *layers; /* (L) model layer of each stored layer, ascending; NULL = 0..L-1 */
    const int *heads;  /* (H) model head of each stored head, ascending; NULL = 0..H-1 */
};
struct as_job_prompt {
    const struct as_sweep_prompt *p; /* id, text, group, variant */
    int T;
    const int32_t *ids;        /* (T) */
    const int32_t *offsets;    /* (T, 2) */
    const char *const *tokens; /* (T) */
};
struct as_job_store as_job_store_of(const struct as_job *j);
struct as_job_prompt as_job_prompt_of(const struct as_job *j, int64_t i);
/* Rank 0 builds the job (sweep, tokenization, checks, plan); prints the plan. */
as_status as_job_prepare(struct as_job *j, const struct as_run_opts *o, int n_ranks,
                         struct as_err *err);
/* Rank 0 builds the one-prompt job of as_run_one (no YAML: a sweep of one
 * group with one prompt, made in memory). */
as_status as_job_prepare_one(struct as_job *j, const struct as_run_prompt *p,
                             const struct as_run_opts *o, int n_ranks, struct as_err *err);
/* Broadcasts rank 0's job to every rank (collective; others receive into j). */
as_status as_job_bcast(struct as_job *j, MPI_Comm comm, struct as_err *err);

/* Weights loaded once per node (see shared_model.c). */
struct as_shared_model {
    struct as_model m;
    MPI_Comm node; /* ranks sharing this node's memory */
    MPI_Win win;   /* the shared window, MPI_WIN_NULL when the model is mapped */
    int node_rank, node_size;
};
as_status as_shared_model_init(struct as_shared_model *sm, MPI_Comm comm, const char *path,
                               struct as_err *err);
void as_shared_model_free(struct as_shared_model *sm);

/* OpenBLAS threads for this rank: $OPENBLAS_NUM_THREADS if set, else the CPUs
 * this process may run on divided by the ranks of the node sharing them. */
int as_run_set_threads(MPI_Comm node, int node_rank, int node_size);

/* Progress messages from workers to rank 0 (progress.c). */
struct as_progress {
    MPI_Comm comm;
    int rank, size;
    int quiet;
    double interval, t0, last_print;
    int64_t total; /* prompts to compute in this run */
    int64_t done, failed;
    int64_t tokens;     /* tokens of finished prompts */
    int finished_ranks; /* ranks that sent their final message */
    const struct as_job *job;
};
void as_progress_init(struct as_progress *p, MPI_Comm comm, const struct as_job *j, int quiet,
                      double interval);
/* Workers: report one finished prompt (status done/failed, message if failed). */
void as_progress_report(struct as_progress *p, int64_t index, int status, const char *msg);
/* Workers: report that this rank has no more prompts. */
void as_progress_finish(struct as_progress *p);
/* Rank 0: drain pending messages and print a line when due (non-blocking). */
void as_progress_poll(struct as_progress *p);
/* Rank 0: wait for every rank's final message, printing progress meanwhile. */
void as_progress_wait(struct as_progress *p);

/* The reduce stage's per-prompt contexts (job_metrics.c). */
struct as_metrics_ctx;
struct as_metrics_span_def;
struct as_metrics_layout;
struct as_job_metrics {
    size_t *prefix;                    /* (n) variant-specific prefix length */
    int max_spans;                     /* spans of the group with the most */
    struct as_metrics_layout *layouts; /* (n) each prompt's metrics layout */
};
as_status as_job_metrics_init(struct as_job_metrics *jm, const struct as_job *j,
                              struct as_err *err);
void as_job_metrics_free(struct as_job_metrics *jm);
/* Prompt i's context; spans: (jm->max_spans) scratch that ctx points into,
 * valid until the next call with it. */
void as_job_metrics_ctx(const struct as_job_metrics *jm, const struct as_job *j, int64_t i,
                        struct as_metrics_span_def *spans, struct as_metrics_ctx *ctx);
/* Derived variant-specific prefix length of every sweep prompt (bytes), per
 * group with as_metrics_variant_prefixes. out: (s->n_prompts). */
as_status as_run_prefixes(const struct as_sweep *s, size_t *out, struct as_err *err);
/* The declared spans of sweep prompt i: its group's span names with the
 * prompt's own text of each (text NULL, length 0 when the prompt has none).
 * out: (spans of the group); pointers into s. */
void as_run_span_defs(const struct as_sweep *s, int64_t i, struct as_metrics_span_def *out);

/* Behaviour next to attention (behaviour.c): each prompt's last-position
 * top-k next tokens and greedy next token, for /behaviour (docs/FORMAT.md). */
struct as_behaviour {
    int n_cap, V, k;        /* prompts per batch, vocabulary, k = min(AS_TOPK_DEFAULT, V) */
    float *logits;          /* (n_cap, V) last-position logits of each packed sequence */
    int32_t *topk_id;       /* (n_cap, k) by decreasing probability, ties to the lowest id */
    float *topk_prob;       /* (n_cap, k) softmax probabilities */
    int32_t *next_id;       /* (n_cap) greedy next token = topk_id[., 0] */
    int answers;            /* analysis.answer is set: the answer_* rows below exist */
    float *answer_prob;     /* (n_cap) probability of the answer's first token, NaN = no answer */
    int32_t *answer_rank;   /* (n_cap) its rank, 1 = top; -1 = no answer */
    int8_t *answer_correct; /* (n_cap) next_id == answer's first token; -1 = no answer */
    double *answer_logprob; /* (n_cap) teacher-forced log P(answer | prompt), NaN = none */
    int store_logits;       /* output.logits: logits_row is written */
    float *logits_row;      /* (n_cap, V) the logits of row r (batch prompt order), NaN = not
                               computed */
    const char *vocab;      /* (V, width) decoded strings (the job's), NULL = none: "" */
    int width;              /* bytes per string record (>= 1) */
    char *topk_str;         /* (n_cap, k, width) decoded topk_id */
    char *next_str;         /* (n_cap, width) decoded next_id */
};
/* k of the top-k: output.topk when given (topk > 0), else min(AS_TOPK_DEFAULT, V). */
int as_behaviour_k(int vocab_size, int topk);
/* The /behaviour creation table of the job (prompt scale, topk scale, allocated columns;
 * strings as wide as the job's vocabulary strings; with analysis.answer the answer columns,
 * the first token's written now; with output.logits the logits and the vocab scale);
 * ids: (n) the prompt ids. */
as_status as_behaviour_layout(struct as_table *t, const struct as_job *j, const char *const *ids,
                              struct as_err *err);
/* answers: 0 none, 1 the answer_* rows, 2 also answer_logprob (the file has it);
 * store_logits: the batch's rows carry /behaviour/logits. */
as_status as_behaviour_init(struct as_behaviour *b, int n_cap, int vocab_size, int k, int answers,
                            int store_logits, const char *vocab, int str_width, struct as_err *err);
void as_behaviour_free(struct as_behaviour *b);
/* Rows 0..n-1 to "not computed": ids -1, probabilities NaN. */
void as_behaviour_reset(struct as_behaviour *b, int n);
/* Row `row` from one prompt's logits (V) and its answer's first token (-1 =
 * none); on error the row stays "not computed". */
as_status as_behaviour_set(struct as_behaviour *b, int row, const float *logits, int32_t answer_id,
                           struct as_err *err);
/* --dry-run and the plan: with output.logits, what /behaviour/logits adds (N x V x 4 bytes). */
void as_behaviour_print_size(const struct as_job *j, FILE *fp);
/* The batch's n rows as a table borrowing b's arrays. */
void as_behaviour_rows(const struct as_behaviour *b, int n, struct as_table *rows);

/* The expected answer under teacher forcing (answer_tf.c): the batch's prefill
 * keeps a KV cache, then decode steps feed the answer's tokens. */
struct as_answer_tf {
    int active; /* the file has /behaviour/answer_logprob */
    int V;
    struct as_kvcache kv; /* of the current batch: slot q = packed sequence q */
    int *slots;           /* (n_cap) active slots of one step */
    int32_t *ids;         /* (n_cap) the answer token each one is fed */
    int *seq;             /* (n_cap) packed sequence of each active slot */
    int64_t *need;        /* (n_cap) decode steps each sequence needs */
    float *logits;        /* (n_cap, V) logits of one step */
};
/* The answer columns of /behaviour beyond the first token: answer_token scale, answer_ids
 * (ragged), answer_start, answer_n_tokens (written at creation), answer_logprob. */
void as_answer_tf_layout(struct as_table *t, const struct as_job *j);
/* active: the file has answer_logprob; else the forward is as_forward's and run does nothing.
 * n_cap: sequences per batch. */
as_status as_answer_tf_init(struct as_answer_tf *a, const struct as_job *j,
                            const struct as_config *c, int active, int n_cap, struct as_err *err);
void as_answer_tf_free(struct as_answer_tf *a);
/* Tokens per KV cache slot for the packed sequences index (n_seq): the longest prompt + answer - 1
 * (a prompt whose answer does not fit in max_position counts with its prompt alone). */
int64_t as_answer_tf_ctx(const struct as_job *j, const struct as_config *c, const int64_t *index,
                         int n_seq);
/* --dry-run and the plan: the answer tokens and the KV cache they need per rank (its largest
 * batch's). */
void as_answer_tf_print_size(const struct as_job *j, FILE *fp);
/* The batch's forward (index: the job prompt of each of b's sequences): as_forward, or when
 * active as_forward_prefill (same attention, bit for bit) keeping the KV cache (sized for this
 * batch) for as_answer_tf_run. capture (may be NULL): the value norms / scores capture of
 * capture.c, used instead of sink (whose probabilities it carries). */
as_status as_answer_tf_forward(struct as_answer_tf *a, const struct as_model *m,
                               struct as_runstate *rs, const struct as_job *j, const int64_t *index,
                               const struct as_batch *b, const struct as_attn_sink *sink,
                               const struct as_capture *capture, struct as_forward_out *out,
                               struct as_err *err);
/* After as_answer_tf_forward: logprob[index[q] - first] for each packed sequence q with an
 * answer (others untouched); last (n_seq, V) the forward's last-position logits. An answer
 * longer than the cache's room is left as it is (NaN after as_behaviour_reset). */
as_status as_answer_tf_run(struct as_answer_tf *a, const struct as_model *m, struct as_runstate *rs,
                           const struct as_job *j, const int64_t *index, int n_seq, int64_t first,
                           const float *last, double *logprob, struct as_err *err);

/* The output file (output.c). */
/* Rank 0: the create spec of the job's file; specs (n) and metrics are owned
 * by the caller (free with as_job_spec_free). */
struct as_job_spec {
    struct as_h5_create_spec spec;
    struct as_h5_provenance prov;
    struct as_h5_prompt_spec *prompts;
    struct as_table metrics;
    struct as_table behaviour; /* the /behaviour layout (as_behaviour_layout) */
    struct as_table meta;      /* the sweep's metadata columns for /sweep (as_run_meta_table) */
    int32_t *layer_ids, *head_ids;
    char config_dir[4096];
};
as_status as_job_spec_init(struct as_job_spec *js, const struct as_job *j,
                           const struct as_job_metrics *jm, const struct as_run_opts *o,
                           int n_ranks, struct as_err *err);
void as_job_spec_free(struct as_job_spec *js);
/* The sweep's metadata columns as /sweep columns along "prompt" (owned data):
 * bool -> int8 with flag_values / flag_meanings ("false true", or "missing
 * false true" from -1 when a prompt has no value), int -> int64, float ->
 * float64 (NaN = missing), string -> fixed-length UTF-8 ("" = missing). */
as_status as_run_meta_table(const struct as_sweep *s, struct as_table *t, struct as_err *err);
/* Rank 0: the estimated size of the file (data and metadata) and of its
 * metadata alone, for --dry-run and the plan. */
as_status as_job_estimate(const struct as_job_spec *js, const struct as_job *j, double *bytes,
                          double *meta, struct as_err *err);

/* Worker: computes this rank's prompts (worker.c). */
struct as_worker_stats {
    int64_t computed, failed;
    double write_s;     /* seconds inside attention writes */
    double write_bytes; /* bytes of attention handed to HDF5 (as stored) */
    double metrics_s;   /* seconds accumulating metrics */
};
as_status as_worker_run(const struct as_job *j, const struct as_job_metrics *jm,
                        const struct as_model *m, struct as_h5file *f, struct as_progress *pr,
                        const struct as_run_opts *o, struct as_worker_stats *st,
                        struct as_err *err);

#endif
