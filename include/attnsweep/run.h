/* run.h - `attnsweep run`: the sweep pipeline over MPI.
 *
 *   rank 0   loads and validates the sweep, tokenizes every prompt, checks
 *            lengths, reads the status of an existing file (--resume) and
 *            plans which rank computes which prompt; the whole job (sweep,
 *            tokens, plan) is broadcast as one buffer, so no other rank
 *            reads the YAML or the tokenizer;
 *   all      load the weights once per node (MPI-3 shared window, or the
 *            shared page cache for zero-copy F32 files); rank 0 creates the
 *            HDF5 file whole and atomically (or every rank reopens it to
 *            resume); then every rank computes its batches of consecutive
 *            prompts, streaming each layer into the file, and commits each
 *            batch (one fdatasync, one status write);
 *   rank 0   meanwhile collects one small message per prompt and prints
 *            progress; at the end every rank agrees on the outcome.
 * Every rank agrees on an error before each collective step, so a failure
 * on one rank never leaves another waiting. A prompt that fails on a worker
 * is marked failed (with its message in /sweep/message) and the sweep goes
 * on. Each batch is one packed forward call, and batches are cut over the
 * whole sweep independently of the rank count, so a prompt's tensors do not
 * depend on which rank computed it, how many ranks there are, or a resume. */
#ifndef ATTNSWEEP_RUN_H
#define ATTNSWEEP_RUN_H

#include <mpi.h>
#include <signal.h>
#include <stdint.h>

#include <stdio.h>

#include "attnsweep/forward.h"
#include "attnsweep/h5out.h"
#include "attnsweep/status.h"
#include "attnsweep/sweep.h"
#include "attnsweep/table.h"

#ifdef __cplusplus
extern "C" {
#endif

struct as_tokenizer; /* tokenizer.h */

struct as_run_opts {
    const char *sweep_path;
    const char *model_path;     /* --model override, or NULL */
    const char *tokenizer_path; /* --tokenizer override, or NULL */
    const char *output_path;    /* --output override, or NULL */
    int resume;                 /* reopen an existing output and compute unfinished prompts */
    int force;                  /* replace an existing output */
    int dry_run;                /* stop after printing the plan */
    int quiet;                  /* no progress lines */
    double progress_interval;   /* seconds between progress lines (default 10) */
    enum as_kernel kernel;
    const char *command_line; /* stored as provenance */
    /* set asynchronously (e.g. by a SIGUSR1 handler) to stop gracefully: ranks
     * finish the prompt they are on, flush, agree, and return AS_ERR_INTERRUPTED */
    volatile sig_atomic_t *stop_flag;
};

struct as_run_result {
    int64_t n_prompts;     /* in the sweep */
    int64_t n_done;        /* done at the end (including earlier runs) */
    int64_t n_failed;      /* failed at the end */
    int64_t n_computed;    /* computed by this run */
    int64_t n_done_before; /* already done before this run (--resume) */
    int64_t n_skipped;     /* skipped: longer than the model's max_position (on_too_long: skip) */
    int stopped;           /* a graceful stop was requested and honoured */
};

/* Collective over comm. Returns AS_OK when the run completed (check n_failed;
 * a run is complete when n_done + n_skipped == n_prompts),
 * AS_ERR_INTERRUPTED after a graceful stop, or an error (same on every rank). */
as_status as_run(MPI_Comm comm, const struct as_run_opts *o, struct as_run_result *r,
                 struct as_err *err);

/* One prompt given by the caller instead of a sweep (`attnsweep extract`):
 * a one-prompt job through the same planner, writer, worker and summary. */
struct as_run_prompt {
    const char *id;            /* prompt id (docs/FORMAT.md "Prompt ids") */
    const char *text;          /* UTF-8 prompt text ("" when ids were given directly) */
    size_t text_len;           /* bytes of text */
    int n_tokens;              /* T >= 1 */
    const int32_t *ids;        /* (T) token ids */
    const int32_t *offsets;    /* (T, 2) byte spans in text, or NULL: every token [0, 0) */
    const char *const *tokens; /* (T) decoded token strings, or NULL ("" each) */
    const char *model_path;    /* o->model_path is ignored */
    const char *output_path;
    int store, dtype; /* enum as_store, enum as_out_dtype */
    /* output.weights (enum as_store_weights), output.scores, output.topk (0: the default),
     * output.logits: as in a sweep (docs/SWEEP.md `output`), checked by the caller */
    int weights, scores, topk, logits;
    /* the tokenizer (read on rank 0 only): /behaviour's topk_str / next_str are its decoded
     * strings; NULL stores "" (docs/FORMAT.md "Behaviour") */
    const struct as_tokenizer *tokenizer;
};
/* Collective like as_run (o->sweep_path, resume and dry_run are ignored). */
as_status as_run_one(MPI_Comm comm, const struct as_run_opts *o, const struct as_run_prompt *p,
                     struct as_run_result *r, struct as_err *err);

/* ---- the reduce stage over a file (also used by `attnsweep reduce`) ---- */

struct as_summary;
/* A summary with the columns it points into (rank 0). */
struct as_run_summary {
    struct as_summary *sm;
    struct as_table metrics;
    struct as_table strings;    /* /sweep/group, /sweep/variant, /tokens/token_str, token_id */
    struct as_table sweep_cols; /* the /sweep columns the analysis names (and, with
                                   analysis.answer, /behaviour/answer_correct) */
    char **by_answer;           /* analysis.by + "answer_correct" under analysis.answer */
    void *mem;
    char *id_copy;
};
void as_run_summary_free(struct as_run_summary *rs);

/* COLLECTIVE over comm, with the file closed on every rank: rank 0 reopens
 * it serially, reads /metrics, computes the statistics and replaces
 * /summary. an: the sweep's analysis settings (NULL: the defaults, by = [group];
 * only rank 0's is read; with an->answer, every statistic is also split by
 * /behaviour/answer_correct). out (may be NULL) receives the summary on rank 0. */
as_status as_run_summary(const char *path, MPI_Comm comm, const struct as_analysis *an,
                         struct as_run_summary *out, struct as_err *err);

/* COLLECTIVE: `attnsweep reduce`: recomputes /metrics from the stored
 * attention (MPI-parallel over contiguous blocks of prompts), then
 * as_run_summary. s: the sweep of /config, or NULL (every prompt its own
 * group, no spans); keywords (may be NULL) replace the sweep's. log (may be
 * NULL) gets progress lines from rank 0. */
as_status as_run_reduce_file(const char *path, MPI_Comm comm, const struct as_sweep *s,
                             const char *const *keywords, int n_keywords, FILE *log,
                             struct as_run_summary *out, struct as_err *err);

#ifdef __cplusplus
}
#endif
#endif
