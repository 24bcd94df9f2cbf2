/* run.c - `attnsweep run` orchestration (see attnsweep/run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/reduce.h"
#include "attnsweep/version.h"
#include "memstat.h"
#include "run_internal.h"

/* Creates the file (rank 0 writes it whole, then every rank opens it), or
 * reopens it to resume. js: rank 0's create spec (NULL elsewhere). */
static as_status open_output(const struct as_job *j, const struct as_job_spec *js,
                             const struct as_run_opts *o, MPI_Comm comm, struct as_h5file *f,
                             struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_sweep *s = &j->sweep;
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (j->mode == AS_JOB_RESUME) {
        AS_TRY(as_h5file_open_rw(f, s->output_path, comm, err));
        as_status st = AS_OK;
        if (rank == 0) st = as_h5file_write_ranks(f, j->rank, err);
        ret = as_mpi_agree(comm, st, err);
        goto done;
    }
    ret = as_h5file_create(f, s->output_path, comm, o->force, js ? &js->spec : NULL, err);
done:
    return ret;
}

/* Rank 0: the message of every skipped prompt (model.on_too_long: skip), so
 * that the file says why it holds no attention. Rewritten on --resume too
 * (cheap: one small write per skipped prompt). */
static as_status note_skipped(const struct as_job *j, struct as_h5file *f, struct as_err *err) {
    for (int64_t i = 0; i < j->n; i++) {
        if (j->status0[i] != AS_PROMPT_SKIPPED) continue;
        char msg[AS_H5_MESSAGE_MAX];
        snprintf(msg, sizeof msg,
                 "skipped: %d tokens, more than the model's max_position %d "
                 "(model.on_too_long: skip)",
                 j->n_tokens[i], j->cfg.max_position);
        as_status st = as_h5file_set_message(f, i, msg, err);
        if (st != AS_OK) return st;
    }
    return AS_OK;
}

/* ", 3 skipped (longer than 2048 tokens)" or "". */
static const char *skipped_note(int64_t n, int max_position) {
    static char buf[96];
    buf[0] = '\0';
    if (n > 0)
        snprintf(buf, sizeof buf, ", %lld skipped (longer than %d tokens)", (long long)n,
                 max_position);
    return buf;
}

static void report_memory(MPI_Comm comm, int quiet) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    struct as_memstat me = as_memstat_now();
    double mine[3] = {me.peak_rss_mb, me.rss_mb, me.pss_mb};
    double *all = rank == 0 ? malloc(sizeof(double) * 3 * (size_t)size) : NULL;
    MPI_Gather(mine, 3, MPI_DOUBLE, all, 3, MPI_DOUBLE, 0, comm);
    if (rank == 0 && all && !quiet) {
        double pss = 0;
        printf("memory per rank (MiB):  rank   peak_rss        rss        pss\n");
        for (int r = 0; r < size; r++) {
            printf("                        %4d %10.1f %10.1f %10.1f\n", r, all[3 * r],
                   all[3 * r + 1], all[3 * r + 2]);
            pss += all[3 * r + 2];
        }
        printf("                        total Pss %.1f MiB (shared weights are counted once)\n",
               pss);
    }
    free(all);
}

/* The pipeline, from the job on rank 0 (prepared by the caller when
 * prompt != NULL, from the sweep YAML otherwise) to the closed file. */
static as_status run_pipeline(MPI_Comm comm_in, const struct as_run_opts *o,
                              const struct as_run_prompt *prompt, struct as_run_result *r,
                              struct as_err *err) {
    as_status ret = AS_OK, st = AS_OK;
    MPI_Comm comm = MPI_COMM_NULL;
    struct as_job job;
    struct as_shared_model sm;
    struct as_h5file f;
    struct as_job_metrics jm;
    struct as_job_spec js;
    struct as_h5_lock lock = {.fd = -1};
    int have_js = 0;
    memset(&jm, 0, sizeof jm);
    memset(&js, 0, sizeof js);
    memset(&job, 0, sizeof job);
    memset(&sm, 0, sizeof sm);
    sm.win = MPI_WIN_NULL;
    sm.node = MPI_COMM_NULL;
    memset(&f, 0, sizeof f);
    memset(r, 0, sizeof *r);
    int file_open = 0;
    double t0 = MPI_Wtime();

    MPI_Comm_dup(comm_in, &comm);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);

    /* 1. rank 0: sweep (or the one prompt), tokens, checks, plan; then everyone gets the job */
    if (rank == 0)
        st = prompt ? as_job_prepare_one(&job, prompt, o, size, err)
                    : as_job_prepare(&job, o, size, err);
    AS_TRY(as_mpi_agree(comm, st, err));
    AS_TRY(as_job_bcast(&job, comm, err));
    r->n_prompts = job.n;
    for (int64_t i = 0; i < job.n; i++) {
        const int skipped = job.status0[i] == AS_PROMPT_SKIPPED;
        r->n_skipped += skipped;
        r->n_done_before += job.rank[i] < 0 && !skipped; /* done, in a batch with nothing to do */
    }
    st = as_job_metrics_init(&jm, &job, err);
    AS_TRY(as_mpi_agree(comm, st, err));
    /* rank 0: the file's create spec, and its exact size estimate */
    if (rank == 0 && job.mode == AS_JOB_CREATE) {
        st = as_job_spec_init(&js, &job, &jm, o, size, err);
        have_js = st == AS_OK;
        double est = 0, meta = 0;
        if (st == AS_OK) st = as_job_estimate(&js, &job, &est, &meta, err);
        if (st == AS_OK && (!o->quiet || o->dry_run))
            printf("output file: %s estimated at %.0f bytes (%.1f MB: %.1f MB data, %.1f kB "
                   "metadata)%s\n",
                   job.sweep.output_path, est, est / 1e6, (est - meta) / 1e6, meta / 1e3,
                   as_sweep_generates(&job.sweep)
                       ? "; before generation: generated tokens add to it (up to each "
                         "group's max_new_tokens per prompt)"
                       : "");
        if (st == AS_OK && (!o->quiet || o->dry_run)) as_behaviour_print_size(&job, stdout);
    }
    AS_TRY(as_mpi_agree(comm, st, err));
    if (o->dry_run) goto done;
    /* one writer per output file: rank 0 holds the lock until the end */
    if (rank == 0) st = as_h5_lock_acquire(&lock, job.sweep.output_path, err);
    AS_TRY(as_mpi_agree(comm, st, err));

    /* 2. weights once per node; BLAS threads per rank */
    double tl = MPI_Wtime();
    AS_TRY(as_shared_model_init(&sm, comm, job.sweep.model_path, err));
    const double t_weights = MPI_Wtime() - tl;
    int threads = as_run_set_threads(sm.node, sm.node_rank, sm.node_size);
    if (rank == 0 && !o->quiet)
        printf("attnsweep run: weights of %s ready in %.1f s (%s), %d ranks, %d BLAS thread%s "
               "per rank\n",
               job.sweep.model_path, MPI_Wtime() - tl,
               sm.win == MPI_WIN_NULL ? "mapped read-only, one page-cache copy per node"
                                      : "one shared-memory copy per node",
               size, threads, threads == 1 ? "" : "s");

    /* 2b. generation: the job becomes prompt + generated, re-planned (job_generate.c) */
    if (as_sweep_generates(&job.sweep)) {
        AS_TRY(as_job_generate(&job, &sm.m, comm, o, err));
        as_job_metrics_free(&jm);
        st = as_job_metrics_init(&jm, &job, err);
        if (st == AS_OK && have_js) as_job_spec_free(&js), have_js = 0;
        if (st == AS_OK && rank == 0 && job.mode == AS_JOB_CREATE) {
            st = as_job_spec_init(&js, &job, &jm, o, size, err);
            have_js = st == AS_OK;
        }
        AS_TRY(as_mpi_agree(comm, st, err));
        r->n_done_before = 0;
        for (int64_t i = 0; i < job.n; i++)
            r->n_done_before += job.rank[i] < 0 && job.status0[i] != AS_PROMPT_SKIPPED;
    }

    /* 3. the file: rank 0 creates it whole (atomically), or every rank reopens it */
    double tc = MPI_Wtime(), t_file = 0, t_compute = 0, t_summary = 0;
    AS_TRY(open_output(&job, have_js ? &js : NULL, o, comm, &f, err));
    file_open = 1;
    /* the file now holds the generated ids: the generation journals are done with */
    if (rank == 0 && as_sweep_generates(&job.sweep)) as_gen_journal_remove(job.sweep.output_path);
    t_file = MPI_Wtime() - tc;
    if (have_js) as_job_spec_free(&js), have_js = 0;
    if (rank == 0) st = note_skipped(&job, &f, err);
    AS_TRY(as_mpi_agree(comm, st, err));
    if (rank == 0 && !o->quiet)
        printf("attnsweep run: %s %s in %.2f s: %lld prompts in %lld batches, %lld to compute, "
               "%lld already done%s\n",
               job.mode == AS_JOB_RESUME ? "reopened" : "created", job.sweep.output_path,
               MPI_Wtime() - tc, (long long)job.n, (long long)job.n_batches,
               (long long)(job.n - r->n_done_before - r->n_skipped), (long long)r->n_done_before,
               skipped_note(r->n_skipped, job.cfg.max_position));

    /* 4. compute; rank 0 also collects progress */
    struct as_progress pr;
    as_progress_init(&pr, comm, &job, o->quiet, o->progress_interval);
    struct as_worker_stats ws;
    double tw = MPI_Wtime();
    st = as_worker_run(&job, &jm, &sm.m, &f, &pr, o, &ws, err);
    as_progress_finish(&pr);
    as_progress_wait(&pr);
    t_compute = MPI_Wtime() - tw;
    AS_TRY(as_mpi_agree(comm, st, err));
    int64_t mine[2] = {ws.computed, ws.failed}, sum[2];
    MPI_Allreduce(mine, sum, 2, MPI_INT64_T, MPI_SUM, comm);
    r->n_computed = sum[0];
    /* time inside attention writes and metrics: slowest rank, and bytes over all ranks */
    double tmax[2], tmine[2] = {ws.write_s, ws.metrics_s}, bytes = 0;
    MPI_Reduce(tmine, tmax, 2, MPI_DOUBLE, MPI_MAX, 0, comm);
    MPI_Reduce(&ws.write_bytes, &bytes, 1, MPI_DOUBLE, MPI_SUM, 0, comm);
    if (rank == 0 && !o->quiet && r->n_computed > 0)
        printf("attnsweep run: attention writes: %.1f MiB; the slowest rank spent %.2f s writing "
               "(%.1f MiB/s over all ranks) and %.2f s on metrics\n",
               bytes / 1048576.0, tmax[0], tmax[0] > 0 ? bytes / 1048576.0 / tmax[0] : 0.0,
               tmax[1]);
    int stop = o->stop_flag && *o->stop_flag, any_stop;
    MPI_Allreduce(&stop, &any_stop, 1, MPI_INT, MPI_MAX, comm);

    /* 5. everyone's data on disk (MPI_File_sync), then the final status */
    AS_TRY(as_h5file_flush(&f, err));
    int64_t counts[2] = {0, 0};
    if (rank == 0) {
        int8_t *status = malloc((size_t)job.n + 1);
        st = status ? as_h5file_read_status(&f, status, err)
                    : as_err_set(err, AS_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; st == AS_OK && i < job.n; i++) {
            counts[0] += status[i] == AS_PROMPT_DONE;
            counts[1] += status[i] == AS_PROMPT_FAILED;
        }
        free(status);
    }
    AS_TRY(as_mpi_agree(comm, st, err));
    int have_summary = rank == 0 && as_h5file_exists(&f, "summary") > 0;
    MPI_Bcast(counts, 2, MPI_INT64_T, 0, comm);
    MPI_Bcast(&have_summary, 1, MPI_INT, 0, comm);
    r->n_done = counts[0];
    r->n_failed = counts[1];
    file_open = 0;
    AS_TRY(as_h5file_close(&f, err));
    /* 6. the sweep-level reduce, from the per-prompt metrics of every done prompt */
    /* a stop that came after the last prompt stops nothing: the run is complete */
    r->stopped = any_stop && r->n_done + r->n_failed + r->n_skipped < r->n_prompts;
    /* (a resume that computed nothing keeps the summary it finds) */
    if (!r->stopped && r->n_done > 0 && (sum[0] > 0 || !have_summary)) {
        double tr = MPI_Wtime();
        AS_TRY(as_run_summary(job.sweep.output_path, comm, &job.sweep.analysis, NULL, err));
        t_summary = MPI_Wtime() - tr;
        if (rank == 0 && !o->quiet)
            printf("attnsweep run: reduce: /summary written in %.2f s\n", t_summary);
    }
    report_memory(comm, o->quiet);
    if (rank == 0 && !o->quiet) /* the weights are never mistaken for compute */
        printf("attnsweep run: time: weights %.2f s (load and convert, once per node), file %.2f "
               "s, compute %.2f s (forward, writes, metrics, commits), summary %.2f s\n",
               t_weights, t_file, t_compute, t_summary);
    if (rank == 0 && !o->quiet)
        printf(
            "attnsweep run: %lld/%lld prompts done, %lld failed, %lld computed now%s, in %.2f s\n",
            (long long)r->n_done, (long long)r->n_prompts, (long long)r->n_failed,
            (long long)r->n_computed, skipped_note(r->n_skipped, job.cfg.max_position),
            MPI_Wtime() - t0);
    if (r->stopped)
        ret = as_err_set(err, AS_ERR_INTERRUPTED,
                         "stopped on request with %lld of %lld prompts done; rerun with --resume "
                         "to finish",
                         (long long)r->n_done, (long long)r->n_prompts);
done:
    if (file_open) {
        as_status cs = as_h5file_close(&f, ret == AS_OK ? err : NULL);
        if (ret == AS_OK) ret = cs;
    }
    if (have_js) as_job_spec_free(&js);
    as_h5_lock_release(&lock);
    as_shared_model_free(&sm);
    as_job_metrics_free(&jm);
    as_job_free(&job);
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    return ret;
}

as_status as_run(MPI_Comm comm, const struct as_run_opts *o, struct as_run_result *r,
                 struct as_err *err) {
    return run_pipeline(comm, o, NULL, r, err);
}

as_status as_run_one(MPI_Comm comm, const struct as_run_opts *o, const struct as_run_prompt *p,
                     struct as_run_result *r, struct as_err *err) {
    return run_pipeline(comm, o, p, r, err);
}
