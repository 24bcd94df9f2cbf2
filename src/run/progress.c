#define _DEFAULT_SOURCE /* usleep, clock_gettime */
/* progress.c - workers send rank 0 one small message per finished prompt and
 * one when they have no more work; rank 0 polls between layers of its own
 * prompts and prints prompts done/total, tokens/s and an ETA at most every
 * `interval` seconds. Messages are eager-sized (a few hundred bytes), so a
 * worker's MPI_Send completes without rank 0 posting a receive first. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run_internal.h"

enum { TAG_PROMPT = 4701, TAG_FINISHED = 4702 };

struct progress_msg {
    int64_t index;
    int32_t status; /* AS_PROMPT_DONE / AS_PROMPT_FAILED */
    int32_t rank;
    char msg[200];
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void hms(double s, char *out, size_t cap) {
    long t = s < 0 ? 0 : (long)(s + 0.5);
    snprintf(out, cap, "%02ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

void as_progress_init(struct as_progress *p, MPI_Comm comm, const struct as_job *j, int quiet,
                      double interval) {
    memset(p, 0, sizeof *p);
    p->comm = comm;
    MPI_Comm_rank(comm, &p->rank);
    MPI_Comm_size(comm, &p->size);
    p->quiet = quiet;
    p->interval = interval > 0 ? interval : 10.0;
    p->t0 = p->last_print = now();
    p->job = j;
    for (int64_t i = 0; i < j->n; i++)
        p->total += j->rank[i] >= 0;
}

static void print_line(struct as_progress *p, int final) {
    if (p->quiet || p->rank != 0) return;
    double el = now() - p->t0;
    int64_t fin = p->done + p->failed;
    double rate = el > 0 ? p->tokens / el : 0;
    char e[32], eta[32];
    hms(el, e, sizeof e);
    if (fin > 0 && fin < p->total)
        hms(el / fin * (p->total - fin), eta, sizeof eta);
    else
        snprintf(eta, sizeof eta, "--:--:--");
    printf("[progress] %lld/%lld prompts (%.1f%%)%s, %.1f tokens/s, elapsed %s, ETA %s%s\n",
           (long long)fin, (long long)p->total, p->total ? 100.0 * fin / p->total : 100.0,
           p->failed ? " (some failed)" : "", rate, e, final ? "--:--:--" : eta,
           final ? " [finished]" : "");
    fflush(stdout);
    p->last_print = now();
}

static void account(struct as_progress *p, const struct progress_msg *m) {
    if (m->status == AS_PROMPT_DONE)
        p->done++;
    else {
        p->failed++;
        if (p->rank == 0)
            fprintf(stderr, "attnsweep run: prompt '%s' failed on rank %d: %s\n",
                    p->job->sweep.prompts[m->index].id, m->rank, m->msg);
    }
    if (m->index >= 0 && m->index < p->job->n) p->tokens += p->job->n_tokens[m->index];
}

void as_progress_report(struct as_progress *p, int64_t index, int status, const char *msg) {
    struct progress_msg m;
    memset(&m, 0, sizeof m);
    m.index = index;
    m.status = status;
    m.rank = p->rank;
    if (msg) snprintf(m.msg, sizeof m.msg, "%s", msg);
    if (p->rank == 0) {
        account(p, &m);
        as_progress_poll(p);
        return;
    }
    MPI_Send(&m, (int)sizeof m, MPI_BYTE, 0, TAG_PROMPT, p->comm);
}

void as_progress_finish(struct as_progress *p) {
    if (p->rank == 0) {
        p->finished_ranks++;
        return;
    }
    int32_t one = 1;
    MPI_Send(&one, 1, MPI_INT32_T, 0, TAG_FINISHED, p->comm);
}

/* receives everything pending; returns the number of messages handled */
static int drain(struct as_progress *p) {
    int handled = 0, flag;
    MPI_Status s;
    for (;;) {
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, p->comm, &flag, &s);
        if (!flag) break;
        if (s.MPI_TAG == TAG_PROMPT) {
            struct progress_msg m;
            MPI_Recv(&m, (int)sizeof m, MPI_BYTE, s.MPI_SOURCE, TAG_PROMPT, p->comm,
                     MPI_STATUS_IGNORE);
            account(p, &m);
        } else if (s.MPI_TAG == TAG_FINISHED) {
            int32_t one;
            MPI_Recv(&one, 1, MPI_INT32_T, s.MPI_SOURCE, TAG_FINISHED, p->comm, MPI_STATUS_IGNORE);
            p->finished_ranks++;
        } else {
            break; /* not ours: leave it */
        }
        handled++;
    }
    return handled;
}

void as_progress_poll(struct as_progress *p) {
    if (p->rank != 0) return;
    drain(p);
    if (now() - p->last_print >= p->interval) print_line(p, 0);
}

void as_progress_wait(struct as_progress *p) {
    if (p->rank != 0) return;
    while (p->finished_ranks < p->size) {
        if (drain(p) == 0) usleep(2000);
        if (now() - p->last_print >= p->interval) print_line(p, 0);
    }
    if (now() - p->t0 >= p->interval) print_line(p, 1);
}
