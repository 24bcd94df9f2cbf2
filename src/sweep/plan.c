/* plan.c - prompt -> rank assignment and cost estimates (see plan.h).
 *
 * Determinism: per-prompt costs are exact 64-bit integers; rank loads are
 * sums of them in double (additions only, in a fixed order, so IEEE rounding
 * is the same everywhere); every sort and every choice breaks ties by index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/forward.h"
#include "attnsweep/plan.h"

/* The forward pass's own FLOP model (forward.h), without lm_head: the
 * pipeline computes no logits. */
int64_t as_plan_prompt_flops(const struct as_config *c, int64_t T) {
    return as_forward_flops_exact(c, T, 0);
}

static double prompt_bytes(const struct as_plan_request *rq, int64_t T) {
    double L = rq->n_out_layers > 0 ? rq->n_out_layers : rq->cfg->n_layers;
    double H = rq->n_out_heads > 0 ? rq->n_out_heads : rq->cfg->n_heads;
    double es = rq->dtype == 1 ? 2.0 : 4.0;
    double t = (double)T, att = 0.0;
    if (rq->store == 0)
        att = L * H * t * t * es;
    else if (rq->store == 1)
        att = L * H * t * es;
    return att + 12.0 * t; /* token ids (int32) + offsets (2 x int32) */
}

struct job {
    int64_t cost;
    int64_t index;
};

static int job_cmp(const void *pa, const void *pb) {
    const struct job *a = pa, *b = pb;
    if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1; /* decreasing cost */
    return (a->index > b->index) - (a->index < b->index);      /* then increasing index */
}

/* Min-heap of ranks ordered by (load, rank). */
struct heap {
    int *r;       /* (n) rank ids */
    double *load; /* (n_ranks) indexed by rank */
    int n;
};

static int heap_less(const struct heap *h, int a, int b) {
    if (h->load[a] != h->load[b]) return h->load[a] < h->load[b];
    return a < b;
}

static void heap_down(struct heap *h, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && heap_less(h, h->r[l], h->r[m])) m = l;
        if (r < h->n && heap_less(h, h->r[r], h->r[m])) m = r;
        if (m == i) return;
        int tmp = h->r[i];
        h->r[i] = h->r[m];
        h->r[m] = tmp;
        i = m;
    }
}

int as_plan_batch_budget(int64_t total_tokens) {
    int64_t b = (total_tokens + 63) / 64;
    if (b > AS_PLAN_BATCH_MAX_TOKENS) b = AS_PLAN_BATCH_MAX_TOKENS;
    return b < AS_PLAN_BATCH_MIN_TOKENS ? AS_PLAN_BATCH_MIN_TOKENS : (int)b;
}

as_status as_plan_batches(int64_t n, const int *n_tokens, const int64_t *index,
                          const int *explicit_rank, int budget, int64_t **start, int64_t *n_batches,
                          struct as_err *err) {
    int64_t *s = malloc(((size_t)n + 2) * sizeof *s), nb = 0, tok = 0, cnt = 0;
    *start = NULL, *n_batches = 0;
    if (!s)
        return as_err_set(err, AS_ERR_NOMEM, "plan: out of memory for %lld batches", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        int cut = i == 0 || tok + n_tokens[i] > budget || cnt >= AS_PLAN_BATCH_MAX_PROMPTS ||
                  (index && index[i] != index[i - 1] + 1) ||
                  (explicit_rank && explicit_rank[i] != explicit_rank[i - 1]);
        if (cut) s[nb++] = i, tok = 0, cnt = 0;
        tok += n_tokens[i], cnt++;
    }
    s[nb] = n;
    *start = s, *n_batches = nb;
    return AS_OK;
}

void as_plan_free(struct as_plan *p) {
    if (!p) return;
    free(p->batch_start);
    free(p->batch_rank);
    free(p->rank);
    free(p->flops);
    free(p->out_bytes);
    free(p->by_rank);
    free(p->rank_start);
    free(p->ranks);
    memset(p, 0, sizeof *p);
}

as_status as_plan_build(struct as_plan *p, const struct as_plan_request *rq, struct as_err *err) {
    as_status ret = AS_OK;
    struct job *jobs = NULL;
    struct heap h = {0};
    memset(p, 0, sizeof *p);
    if (!rq || !rq->cfg || !rq->n_tokens || rq->n_prompts < 1)
        return as_err_set(err, AS_ERR_INVALID, "plan: %lld prompts; expected at least 1",
                          rq ? (long long)rq->n_prompts : 0LL);
    if (rq->n_ranks < 1)
        return as_err_set(err, AS_ERR_INVALID, "plan: %d ranks; expected at least 1", rq->n_ranks);
    if (rq->assign == AS_ASSIGN_EXPLICIT && !rq->explicit_rank)
        return as_err_set(err, AS_ERR_INVALID, "plan: explicit assignment without ranks");
    AS_TRY(as_config_validate(rq->cfg, "plan", err));
    int64_t n = rq->n_prompts;
    int R = rq->n_ranks;
    p->n_ranks = R;
    p->n_prompts = n;
    p->assign = rq->assign;
    p->rank = malloc((size_t)n * sizeof *p->rank);
    p->flops = malloc((size_t)n * sizeof *p->flops);
    p->out_bytes = malloc((size_t)n * sizeof *p->out_bytes);
    p->by_rank = malloc((size_t)n * sizeof *p->by_rank);
    p->rank_start = calloc((size_t)R + 1, sizeof *p->rank_start);
    p->ranks = calloc((size_t)R, sizeof *p->ranks);
    const int64_t nb = rq->n_batches > 0 ? rq->n_batches : n;
    p->n_batches = nb;
    p->batch_start = malloc(((size_t)nb + 1) * sizeof *p->batch_start);
    p->batch_rank = malloc((size_t)nb * sizeof *p->batch_rank);
    jobs = malloc((size_t)(nb > n ? nb : n) * sizeof *jobs);
    if (!p->rank || !p->flops || !p->out_bytes || !p->by_rank || !p->rank_start || !p->ranks ||
        !jobs || !p->batch_start || !p->batch_rank) {
        ret = as_err_set(err, AS_ERR_NOMEM, "plan: out of memory for %lld prompts", (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        int T = rq->n_tokens[i];
        if (T < 1) {
            ret = as_err_set(err, AS_ERR_INVALID, "plan: prompt %lld has %d tokens; expected >= 1",
                             (long long)i, T);
            goto done;
        }
        int64_t f = as_plan_prompt_flops(rq->cfg, T);
        if (f < 0) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "plan: prompt %lld (%d tokens) is too long to estimate its cost",
                             (long long)i, T);
            goto done;
        }
        p->flops[i] = (double)f;
        p->out_bytes[i] = prompt_bytes(rq, T);
    }
    for (int64_t k = 0; k <= nb; k++)
        p->batch_start[k] = rq->n_batches > 0 ? rq->batch_start[k] : k;
    if (p->batch_start[0] != 0 || p->batch_start[nb] != n) {
        ret = as_err_set(err, AS_ERR_INVALID, "plan: batches do not cover prompts [0, %lld)",
                         (long long)n);
        goto done;
    }
    for (int64_t k = 0; k < nb; k++) { /* a batch's cost: the sum of its prompts' */
        if (p->batch_start[k + 1] <= p->batch_start[k]) {
            ret = as_err_set(err, AS_ERR_INVALID, "plan: batch %lld is empty", (long long)k);
            goto done;
        }
        int64_t c = 0;
        for (int64_t i = p->batch_start[k]; i < p->batch_start[k + 1]; i++)
            c += (int64_t)p->flops[i];
        jobs[k] = (struct job){c, k};
    }
    switch (rq->assign) {
    case AS_ASSIGN_EXPLICIT:
        for (int64_t k = 0; k < nb; k++) {
            int r = rq->explicit_rank[p->batch_start[k]];
            for (int64_t i = p->batch_start[k]; i < p->batch_start[k + 1]; i++)
                if (rq->explicit_rank[i] != r || r < 0 || r >= R) {
                    ret = as_err_set(err, AS_ERR_INVALID,
                                     "plan: prompt %lld is assigned to rank %d; expected a rank "
                                     "in [0, %d), the same for its whole batch",
                                     (long long)i, rq->explicit_rank[i], R);
                    goto done;
                }
            p->batch_rank[k] = r;
        }
        break;
    case AS_ASSIGN_ROUND_ROBIN:
        for (int64_t k = 0; k < nb; k++)
            p->batch_rank[k] = (int)(k % R);
        break;
    case AS_ASSIGN_BALANCED:
        qsort(jobs, (size_t)nb, sizeof *jobs, job_cmp);
        h.r = malloc((size_t)R * sizeof *h.r);
        h.load = calloc((size_t)R, sizeof *h.load);
        if (!h.r || !h.load) {
            ret = as_err_set(err, AS_ERR_NOMEM, "plan: out of memory");
            goto done;
        }
        for (int r = 0; r < R; r++)
            h.r[r] = r; /* all loads 0: already a heap */
        h.n = R;
        for (int64_t k = 0; k < nb; k++) {
            int r = h.r[0]; /* least loaded, lowest rank on ties */
            p->batch_rank[jobs[k].index] = r;
            h.load[r] += (double)jobs[k].cost;
            heap_down(&h, 0);
        }
        break;
    default:
        ret = as_err_set(err, AS_ERR_INVALID, "plan: unknown assignment mode %d", (int)rq->assign);
        goto done;
    }
    for (int64_t k = 0; k < nb; k++) {
        p->ranks[p->batch_rank[k]].n_batches++;
        for (int64_t i = p->batch_start[k]; i < p->batch_start[k + 1]; i++)
            p->rank[i] = p->batch_rank[k];
    }
    /* per-rank totals (in index order, for reproducible sums) and the CSR lists */
    for (int64_t i = 0; i < n; i++) {
        struct as_plan_rank *pr = &p->ranks[p->rank[i]];
        pr->n_prompts++;
        pr->n_tokens += rq->n_tokens[i];
        pr->flops += p->flops[i];
        pr->out_bytes += p->out_bytes[i];
        p->total_tokens += rq->n_tokens[i];
        p->total_flops += p->flops[i];
        p->total_out_bytes += p->out_bytes[i];
    }
    for (int r = 0; r < R; r++)
        p->rank_start[r + 1] = p->rank_start[r] + p->ranks[r].n_prompts;
    {
        int64_t *pos = malloc((size_t)R * sizeof *pos);
        if (!pos) {
            ret = as_err_set(err, AS_ERR_NOMEM, "plan: out of memory");
            goto done;
        }
        memcpy(pos, p->rank_start, (size_t)R * sizeof *pos);
        for (int64_t i = 0; i < n; i++)
            p->by_rank[pos[p->rank[i]]++] = i;
        free(pos);
    }
    double max = 0.0;
    for (int r = 0; r < R; r++)
        if (p->ranks[r].flops > max) max = p->ranks[r].flops;
    p->imbalance = p->total_flops > 0 ? max / (p->total_flops / R) : 0.0;
done:
    free(jobs);
    free(h.r);
    free(h.load);
    if (ret != AS_OK) as_plan_free(p);
    return ret;
}

as_status as_plan_build_sweep(struct as_plan *p, const struct as_sweep *s, const int *n_tokens,
                              const struct as_config *cfg, int n_ranks, struct as_err *err) {
    as_status ret = AS_OK;
    int *explicit_rank = NULL;
    memset(p, 0, sizeof *p);
    AS_TRY(as_sweep_check_ranks(s, n_ranks, err));
    struct as_plan_request rq = {
        .n_prompts = s->n_prompts,
        .n_tokens = n_tokens,
        .cfg = cfg,
        .n_ranks = n_ranks,
        .assign = s->assign,
        .store = s->store,
        .dtype = s->dtype,
        .n_out_layers = s->n_layers,
        .n_out_heads = s->n_heads,
    };
    if (s->assign == AS_ASSIGN_EXPLICIT) {
        explicit_rank =
            malloc((size_t)(s->n_prompts > 0 ? s->n_prompts : 1) * sizeof *explicit_rank);
        if (!explicit_rank) {
            ret = as_err_set(err, AS_ERR_NOMEM, "plan: out of memory");
            goto done;
        }
        for (int64_t i = 0; i < s->n_prompts; i++)
            explicit_rank[i] = s->prompts[i].explicit_rank;
        rq.explicit_rank = explicit_rank;
    }
    ret = as_plan_build(p, &rq, err);
done:
    free(explicit_rank);
    return ret;
}

/* "512 B", "3.4 MB", "11.8 GB": output sizes span ten orders of magnitude. */
static const char *human_bytes(double b, char *buf, size_t cap) {
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (b >= 1000.0 && u < 5) {
        b /= 1000.0;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
    return buf;
}

static const char *assign_desc(enum as_assign a) {
    switch (a) {
    case AS_ASSIGN_BALANCED: return "balanced: longest-processing-time first on estimated FLOPs";
    case AS_ASSIGN_ROUND_ROBIN: return "round_robin: prompt i -> rank i % n_ranks";
    case AS_ASSIGN_EXPLICIT: return "explicit: as listed in ranks.explicit";
    }
    return "?";
}

void as_plan_print(const struct as_plan *p, const struct as_sweep *s, FILE *fp) {
    fprintf(fp, "plan%s%s: %lld prompts on %d rank%s (%s)\n", s ? " for " : "", s ? s->path : "",
            (long long)p->n_prompts, p->n_ranks, p->n_ranks == 1 ? "" : "s",
            assign_desc(p->assign));
    char hb[32];
    fprintf(fp, "  %6s %8s %9s %11s %13s %11s\n", "rank", "batches", "prompts", "tokens", "GFLOP",
            "output");
    int shown = p->n_ranks <= 64 ? p->n_ranks : 64;
    for (int r = 0; r < shown; r++) {
        const struct as_plan_rank *pr = &p->ranks[r];
        fprintf(fp, "  %6d %8lld %9lld %11lld %13.3f %11s\n", r, (long long)pr->n_batches,
                (long long)pr->n_prompts, (long long)pr->n_tokens, pr->flops / 1e9,
                human_bytes(pr->out_bytes, hb, sizeof hb));
    }
    if (shown < p->n_ranks) {
        int lo = 0, hi = 0;
        for (int r = 1; r < p->n_ranks; r++) {
            if (p->ranks[r].flops < p->ranks[lo].flops) lo = r;
            if (p->ranks[r].flops > p->ranks[hi].flops) hi = r;
        }
        fprintf(fp,
                "  ... %d more ranks; least loaded rank %d (%.3f GFLOP), most loaded rank %d "
                "(%.3f GFLOP)\n",
                p->n_ranks - shown, lo, p->ranks[lo].flops / 1e9, hi, p->ranks[hi].flops / 1e9);
    }
    fprintf(fp, "  %6s %8lld %9lld %11lld %13.3f %11s\n", "total", (long long)p->n_batches,
            (long long)p->n_prompts, (long long)p->total_tokens, p->total_flops / 1e9,
            human_bytes(p->total_out_bytes, hb, sizeof hb));
    int idle = 0;
    for (int r = 0; r < p->n_ranks; r++)
        idle += p->ranks[r].n_prompts == 0;
    fprintf(fp, "  attention to write %s (%.0f bytes); imbalance (max / mean GFLOP per rank) %.3f",
            human_bytes(p->total_out_bytes, hb, sizeof hb), p->total_out_bytes, p->imbalance);
    if (idle) fprintf(fp, "; %d rank%s without prompts", idle, idle == 1 ? "" : "s");
    fputc('\n', fp);
}

as_status as_plan_check_lengths(const struct as_sweep *s, const int *n_tokens, int max_position,
                                struct as_err *err) {
    char list[AS_ERR_MSG_MAX];
    size_t off = 0;
    int64_t bad = 0;
    list[0] = '\0';
    for (int64_t i = 0; i < s->n_prompts; i++) {
        if (n_tokens[i] >= 1 && n_tokens[i] <= max_position) continue;
        if (bad < 20 && off < sizeof list) {
            char where[AS_SWEEP_PATH_MAX + 64];
            as_sweep_prompt_where(s, i, where, sizeof where);
            int k = snprintf(list + off, sizeof list - off, "\n  %.80s: %d tokens (%.120s)",
                             s->prompts[i].id, n_tokens[i], where);
            if (k > 0) off += (size_t)k < sizeof list - off ? (size_t)k : sizeof list - off - 1;
        }
        bad++;
    }
    if (!bad) return AS_OK;
    char more[64] = "";
    if (bad > 20) snprintf(more, sizeof more, "\n  ... and %lld more", (long long)(bad - 20));
    return as_err_set(err, AS_ERR_INVALID,
                      "%s: %lld prompt%s outside 1..%d tokens (the model's max_position):%s%s\n"
                      "HINT: shorten these prompts, use a model with a longer context, or set "
                      "model.on_too_long: skip (or truncate) in the sweep",
                      s->path, (long long)bad, bad == 1 ? " is" : "s are", max_position, list,
                      more);
}
