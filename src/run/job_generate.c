/* job_generate.c - generation in sweeps (docs/SWEEP.md "Generation"): greedy
 * decoding of every generating prompt, then the job extended to prompt +
 * generated, so that creation, the capture pass and the metrics run on the
 * final sequences unchanged. A causal prefill of the final sequence gives
 * row i = what token i attended to when it was produced (decode and prefill
 * agree: tests/forward/test_decode*.c).
 *
 * Rank independence: each planned batch (a pure function of the sweep)
 * decodes together, so a prompt's generated ids do not depend on the rank
 * count. Resume reads the ids back from the file and never regenerates. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attnsweep/decode.h"
#include "attnsweep/fault.h"
#include "attnsweep/metrics.h"
#include "attnsweep/tokenizer.h"
#include "run_internal.h"

#define GEN_CTX 4 /* tokens decoded before the measured ones (leading spaces, byte runs) */
#define GEN_WIN 8 /* tokens of the window that measures one token's end */
/* KV-cache positions (slots x context) of one decode group: TinyLlama keeps 44 KiB per
 * position, so a group needs at most ~1.4 GiB */
#define GEN_KV_TOKENS 32768

/* ---- text of generated ids (rank 0, with the tokenizer) ------------------------ */

as_status as_gen_decode(const struct as_tokenizer *t, const int32_t *ctx, int n_ctx,
                        const int32_t *gen, int n, char **text, size_t *len, int32_t *ends,
                        struct as_err *err) {
    as_status ret = AS_OK;
    int32_t *all = malloc(sizeof(int32_t) * ((size_t)n_ctx + (size_t)n + 1));
    char *base = NULL, *full = NULL, *wx = NULL, *wy = NULL;
    size_t bl = 0, fl = 0, xl = 0, yl = 0;
    *text = NULL, *len = 0;
    if (!all) return as_err_set(err, AS_ERR_NOMEM, "generate: out of memory decoding");
    if (n_ctx) memcpy(all, ctx, sizeof(int32_t) * (size_t)n_ctx);
    if (n) memcpy(all + n_ctx, gen, sizeof(int32_t) * (size_t)n);
    AS_TRY(as_tokenizer_decode(t, all, n_ctx, 1, &base, &bl, err));
    AS_TRY(as_tokenizer_decode(t, all, n_ctx + n, 1, &full, &fl, err));
    /* the generated text is what the generated ids add to the context's text */
    size_t skip = fl >= bl && !memcmp(full, base, bl) ? bl : 0;
    const char *g = full + skip;
    const size_t gl = fl - skip;
    int32_t prev = 0;
    /* Token k ends where the text of gen[0..k] ends. Decoding is local (a token's bytes depend
     * on a few neighbours: a leading space, a byte-fallback run), so it is measured on a window:
     * the text gen[j..k] adds after GEN_CTX tokens of context, laid over the final text from
     * where gen[j - 1] ended. j backs off over tokens that added nothing yet (a pending
     * byte run), so the window starts at a settled place. Linear in n. */
    for (int k = 0; k < n; k++) {
        size_t e = gl;
        if (k + 1 < n) {
            int j = k > GEN_WIN ? k - GEN_WIN : 0;
            while (j > 0 && j > k - 4 * GEN_WIN && ends[j - 1] == (j >= 2 ? ends[j - 2] : 0))
                j--;
            const int a = n_ctx + j > GEN_CTX ? n_ctx + j - GEN_CTX : 0;
            free(wx), free(wy), wx = wy = NULL;
            AS_TRY(as_tokenizer_decode(t, all + a, n_ctx + j - a, 1, &wy, &yl, err));
            AS_TRY(as_tokenizer_decode(t, all + a, n_ctx + k + 1 - a, 1, &wx, &xl, err));
            const size_t b0 = j ? (size_t)ends[j - 1] : 0;
            e = b0; /* the part of the final text this window already fixes */
            if (xl >= yl && !memcmp(wx, wy, yl))
                while (yl + (e - b0) < xl && e < gl && wx[yl + (e - b0)] == g[e])
                    e++;
            /* never end inside a UTF-8 character */
            while (e > 0 && e < gl && ((unsigned char)g[e] & 0xC0) == 0x80)
                e--;
        }
        if ((int32_t)e < prev) e = (size_t)prev;
        ends[k] = prev = (int32_t)e;
    }
    if (!(*text = malloc(gl + 1))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "generate: out of memory decoding");
        goto done;
    }
    memcpy(*text, g, gl);
    for (size_t b = 0; b < gl; b++) /* a generated <0x00> cannot live in a C string */
        if ((*text)[b] == '\0') (*text)[b] = '?';
    (*text)[gl] = '\0';
    *len = gl;
done:
    free(all), free(base), free(full), free(wx), free(wy);
    return ret;
}

int as_gen_stop_at(const char *text, const int32_t *ends, int n, const char *const *stop,
                   int n_stop) {
    int32_t prev = 0;
    for (int k = 0; k < n; k++) {
        const int32_t e = ends[k];
        for (int s = 0; s < n_stop && e > prev; s++) {
            const size_t sl = strlen(stop[s]);
            if (sl == 0 || (size_t)e < sl) continue;
            /* only matches that end in this token's bytes are new */
            size_t from = (size_t)prev >= sl ? (size_t)prev - sl + 1 : 0;
            if (memmem(text + from, (size_t)e - from, stop[s], sl)) return k + 1;
        }
        prev = e;
    }
    return 0;
}

/* ---- generation (every rank, its own batches) --------------------------------- */

/* Prompt i's budget of new tokens: its group's max_new_tokens, within the model's context. */
static int gen_limit(const struct as_job *j, int64_t i) {
    const struct as_sweep *s = &j->sweep;
    const int mx = s->groups[s->prompts[i].group_index].gen.max_new_tokens;
    if (mx <= 0 || j->status0[i] == AS_PROMPT_SKIPPED) return 0;
    const int room = j->cfg.max_position - j->n_tokens[i];
    return room < mx ? (room > 0 ? room : 0) : mx;
}

static int group_generates(const struct as_job *j, int64_t i) {
    const struct as_sweep *s = &j->sweep;
    return s->groups[s->prompts[i].group_index].gen.max_new_tokens > 0;
}

struct i32vec {
    int32_t *p;
    size_t n, cap;
    int oom;
};
static void vpush(struct i32vec *v, int32_t x) {
    if (v->oom) return;
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 1024;
        int32_t *np = realloc(v->p, cap * sizeof *np);
        if (!np) {
            v->oom = 1;
            return;
        }
        v->p = np, v->cap = cap;
    }
    v->p[v->n++] = x;
}

/* The decode's stop test: the prompt's budget, or (with the tokenizer) a stop string that the
 * last token completes, so that a stopped sequence leaves the batch at once. The text is
 * measured on a window of the last tokens (GEN_CTX tokens of context, as rank 0 measures it);
 * rank 0 still cuts every sequence exactly at its first stop (extend), so the test only saves
 * compute. */
struct stop_ctx {
    const struct as_job *j;
    const struct as_tokenizer *tok; /* NULL: budgets only */
    const int64_t *idx;             /* (ns) prompt of each sequence */
    const int *lim;                 /* (ns) its budget */
};
static int limit_stop(void *vctx, int seq, const int32_t *gen, int n_gen) {
    const struct stop_ctx *c = vctx;
    if (n_gen >= c->lim[seq]) return 1;
    const struct as_job *j = c->j;
    const int64_t i = c->idx[seq];
    const struct as_sweep_generate *ge = &j->sweep.groups[j->sweep.prompts[i].group_index].gen;
    if (!c->tok || ge->n_stop == 0) return 0;
    size_t longest = 0;
    for (int k = 0; k < ge->n_stop; k++)
        longest = strlen(ge->stop[k]) > longest ? strlen(ge->stop[k]) : longest;
    const int W = n_gen < 16 + (int)longest ? n_gen : 16 + (int)longest; /* a token >= 1 byte */
    int32_t ctx[GEN_CTX];
    int nc = 0;
    const int32_t *pid = j->ids + j->tok_start[i];
    const int T = j->n_tokens[i];
    for (int t = n_gen - W - GEN_CTX; t < n_gen - W; t++) /* context: prompt, then generated */
        if (t >= 0)
            ctx[nc++] = gen[t];
        else if (T + t >= 0)
            ctx[nc++] = pid[T + t];
    int32_t ends[16 + AS_SWEEP_STOP_MAX];
    char *text = NULL;
    size_t len = 0;
    struct as_err ignore;
    int hit = 0;
    if (W <= (int)(sizeof ends / sizeof *ends) &&
        as_gen_decode(c->tok, ctx, nc, gen + n_gen - W, W, &text, &len, ends, &ignore) == AS_OK)
        hit = as_gen_stop_at(text, ends, W, (const char *const *)ge->stop, ge->n_stop) > 0;
    free(text);
    return hit;
}

/* Generates together for the generating prompts of [first, first + nb); appends records
 * (index lo, index hi, n, stop reason, ids...) to rec. */
static as_status gen_batch(const struct as_job *j, const struct as_model *m, int64_t first, int nb,
                           int32_t eos, const struct as_tokenizer *tok, enum as_kernel kernel,
                           struct i32vec *rec, struct as_err *err) {
    as_status ret = AS_OK;
    const int V = j->cfg.vocab_size;
    struct as_runstate rs;
    struct as_kvcache kv;
    int have_rs = 0, have_kv = 0, ns = 0, sum_t = 0, max_t = 0, max_ctx = 0, max_new = 0;
    memset(&rs, 0, sizeof rs);
    memset(&kv, 0, sizeof kv);
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)nb);
    int *lens = malloc(sizeof(int) * (size_t)nb), *lim = malloc(sizeof(int) * (size_t)nb);
    const int32_t **ids = malloc(sizeof *ids * (size_t)nb);
    int32_t *out_ids = NULL;
    int *n_gen = NULL, *reason = NULL;
    float *logits = NULL;
    if (!idx || !lens || !lim || !ids) {
        ret = as_err_set(err, AS_ERR_NOMEM, "generate: out of memory");
        goto done;
    }
    for (int k = 0; k < nb; k++) {
        const int64_t i = first + k;
        const int l = gen_limit(j, i);
        if (l <= 0) continue;
        idx[ns] = i, lens[ns] = j->n_tokens[i], lim[ns] = l, ids[ns] = j->ids + j->tok_start[i];
        sum_t += lens[ns];
        max_t = lens[ns] > max_t ? lens[ns] : max_t;
        max_ctx = lens[ns] + l > max_ctx ? lens[ns] + l : max_ctx;
        max_new = l > max_new ? l : max_new;
        ns++;
    }
    if (ns == 0) goto done;
    AS_TRY(as_runstate_init(&rs, &j->cfg, sum_t, max_t, ns, kernel, err));
    have_rs = 1;
    AS_TRY(as_kvcache_init(&kv, &j->cfg, ns, max_ctx, err));
    have_kv = 1;
    out_ids = malloc(sizeof(int32_t) * (size_t)ns * (size_t)max_new);
    n_gen = malloc(sizeof(int) * (size_t)ns), reason = malloc(sizeof(int) * (size_t)ns);
    logits = malloc(sizeof(float) * (size_t)ns * (size_t)V);
    if (!out_ids || !n_gen || !reason || !logits) {
        ret = as_err_set(err, AS_ERR_NOMEM, "generate: out of memory for %d sequences", ns);
        goto done;
    }
    const struct as_batch bt = {ns, ids, lens};
    struct stop_ctx sc = {j, tok, idx, lim};
    struct as_generate_opts go = {max_new, &eos, eos >= 0 ? 1 : 0, limit_stop, &sc};
    struct as_generate_out out = {out_ids, n_gen, logits, reason};
    ret = as_generate_greedy(m, &rs, &kv, &bt, &go, NULL, &out, err);
    if (ret != AS_OK) {
        as_err_prefix(err, "generate: batch of prompt '%s'", j->sweep.prompts[idx[0]].id);
        goto done;
    }
    for (int s = 0; s < ns; s++) {
        vpush(rec, (int32_t)(idx[s] & 0x7fffffff));
        vpush(rec, (int32_t)(idx[s] >> 31));
        vpush(rec, n_gen[s]);
        vpush(rec, reason[s] == AS_STOP_TOKEN ? AS_GEN_EOS : AS_GEN_LENGTH); /* extend: strings */
        for (int k = 0; k < n_gen[s]; k++)
            vpush(rec, out_ids[(size_t)s * max_new + k]);
    }
    if (rec->oom) ret = as_err_set(err, AS_ERR_NOMEM, "generate: out of memory for the ids");
done:
    if (have_rs) as_runstate_free(&rs);
    if (have_kv) as_kvcache_free(&kv);
    free(idx), free(lens), free(lim), free(ids), free(out_ids), free(n_gen), free(reason);
    free(logits);
    return ret;
}

/* One decode group [first, first + nb): skipped when the journal of an earlier run has every
 * generating prompt of it (kept), else generated and its records appended to this rank's
 * journal, durable before the next group. */
static as_status gen_group(const struct as_job *j, const struct as_model *m, int64_t first, int nb,
                           int32_t eos, const struct as_tokenizer *tok, const struct as_run_opts *o,
                           const int8_t *kept, struct as_gen_journal *jn, struct i32vec *rec,
                           int rank, struct as_err *err) {
    int need = 0;
    for (int k = 0; k < nb && !need; k++)
        need = gen_limit(j, first + k) > 0 && !kept[first + k];
    if (!need) return AS_OK;
    const size_t n0 = rec->n;
    as_status st = gen_batch(j, m, first, nb, eos, tok, o->kernel, rec, err);
    if (st == AS_OK) st = as_gen_journal_append(jn, rec->p + n0, rec->n - n0, err);
    /* test hook (docs/ARCHITECTURE.md): fail after the first journaled group */
    if (st == AS_OK) st = as_fault_check("generate", rank, err);
    return st;
}

/* The generated ids of every prompt on rank 0: prompt i's are ids[off[i] .. off[i] + n[i]). */
struct gen_ids {
    int32_t *n;   /* (n) */
    int8_t *stop; /* (n) */
    int64_t *off; /* (n + 1) */
    int32_t *ids; /* (off[n]) */
};
static void gen_ids_free(struct gen_ids *g) {
    free(g->n), free(g->stop), free(g->off), free(g->ids);
    memset(g, 0, sizeof *g);
}
static as_status gen_ids_alloc(const struct as_job *j, struct gen_ids *g, struct as_err *err) {
    g->n = calloc((size_t)j->n + 1, sizeof *g->n);
    g->stop = malloc((size_t)j->n + 1);
    g->off = malloc(((size_t)j->n + 1) * sizeof *g->off);
    if (!g->n || !g->stop || !g->off) return as_err_set(err, AS_ERR_NOMEM, "out of memory");
    g->off[0] = 0;
    for (int64_t i = 0; i < j->n; i++) {
        g->off[i + 1] = g->off[i] + gen_limit(j, i);
        g->stop[i] = group_generates(j, i) ? AS_GEN_LENGTH : AS_GEN_NONE;
    }
    if (!(g->ids = malloc(sizeof(int32_t) * ((size_t)g->off[j->n] + 1))))
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for the generated ids");
    return AS_OK;
}

/* The journal key of this job (rank 0): the prompts' tokens and budgets, the EOS, the model's
 * shape and the model file's size and mtime, so a journal of another sweep, model or tokenizer
 * is never reused. */
static uint64_t job_key(const struct as_job *j, int32_t eos) {
    uint64_t h = as_gen_journal_hash(0, "attnsweep generation journal 1", 30);
    h = as_gen_journal_hash(h, &j->n, sizeof j->n);
    for (int64_t i = 0; i < j->n; i++) {
        const int32_t lim = gen_limit(j, i), T = j->n_tokens[i];
        h = as_gen_journal_hash(h, &lim, sizeof lim);
        h = as_gen_journal_hash(h, &T, sizeof T);
        h = as_gen_journal_hash(h, j->ids + j->tok_start[i], sizeof(int32_t) * (size_t)T);
    }
    const struct as_config *c = &j->cfg;
    const int32_t shape[6] = {eos, c->vocab_size, c->n_layers, c->n_heads, c->n_kv_heads, c->dim};
    h = as_gen_journal_hash(h, shape, sizeof shape);
    const char *mp = j->sweep.model_path;
    h = as_gen_journal_hash(h, mp, strlen(mp));
    struct stat sb;
    if (stat(mp, &sb) == 0) {
        const int64_t id[2] = {(int64_t)sb.st_size, (int64_t)sb.st_mtime};
        h = as_gen_journal_hash(h, id, sizeof id);
    }
    return h;
}

/* Records (index lo, index hi, n, stop reason, ids...) of words [0, total) into g; rank 0. */
static as_status take_records(const struct as_job *j, struct gen_ids *g, const int32_t *w,
                              int64_t total, const char *what, struct as_err *err) {
    for (int64_t p = 0; p + 4 <= total;) {
        const int64_t i = (int64_t)w[p] | ((int64_t)w[p + 1] << 31);
        const int n = w[p + 2];
        int ok = i >= 0 && i < j->n && n >= 0 && n <= g->off[i + 1] - g->off[i] &&
                 p + 4 + n <= total && w[p + 3] >= AS_GEN_LENGTH && w[p + 3] <= AS_GEN_EOS;
        for (int k = 0; ok && k < n; k++)
            ok = w[p + 4 + k] >= 0 && w[p + 4 + k] < j->cfg.vocab_size;
        if (!ok)
            return as_err_set(err, AS_ERR_FORMAT, "generate: corrupt %s (record at word %lld)",
                              what, (long long)p);
        g->n[i] = n, g->stop[i] = (int8_t)w[p + 3];
        memcpy(g->ids + g->off[i], w + p + 4, sizeof(int32_t) * (size_t)n);
        p += 4 + n;
    }
    return AS_OK;
}

/* Rank 0: the journals of an earlier run of this job (kept[i] = prompt i's ids are there). */
static as_status read_journals(const struct as_job *j, uint64_t key, int32_t **words,
                               size_t *n_words, int8_t *kept, int quiet, struct as_err *err) {
    int files = 0;
    as_status ret = as_gen_journal_load(j->sweep.output_path, key, words, n_words, &files, err);
    if (ret != AS_OK) return ret;
    int64_t np = 0;
    for (size_t p = 0; p + 4 <= *n_words;) {
        const int64_t i = (int64_t)(*words)[p] | ((int64_t)(*words)[p + 1] << 31);
        const int32_t n = (*words)[p + 2];
        if (i < 0 || i >= j->n || n < 0 || p + 4 + (size_t)n > *n_words)
            break; /* take_records names it */
        np += !kept[i];
        kept[i] = 1;
        p += 4 + (size_t)n;
    }
    if (files > 0 && !quiet)
        printf("attnsweep run: generation journal: %lld prompts' generations kept from %d "
               "journal(s) of an earlier run; generating the rest\n",
               (long long)np, files);
    return AS_OK;
}

/* Every rank generates its batches; rank 0 gathers the ids into g. */
static as_status generate_all(const struct as_job *j, const struct as_model *m, int32_t eos,
                              const struct as_tokenizer *tok, MPI_Comm comm,
                              const struct as_run_opts *o, struct gen_ids *g, struct as_err *err) {
    as_status ret = AS_OK, st = AS_OK;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    struct i32vec rec = {0};
    int *counts = NULL, *displs = NULL;
    int32_t *all = NULL, *jwords = NULL;
    size_t jn_words = 0;
    struct as_gen_journal jn = {.fd = -1};
    int8_t *kept = calloc((size_t)j->n + 1, 1);
    double t0 = MPI_Wtime();
    /* the journals of an earlier, interrupted run of this job, and this run's own */
    uint64_t kr[2] = {0, 0}; /* key, run id */
    if (!kept) st = as_err_set(err, AS_ERR_NOMEM, "out of memory");
    if (st == AS_OK && rank == 0) {
        kr[0] = job_key(j, eos);
        kr[1] = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
        st = read_journals(j, kr[0], &jwords, &jn_words, kept, o->quiet, err);
    }
    AS_TRY(as_mpi_agree(comm, st, err));
    MPI_Bcast(kr, 2, MPI_UINT64_T, 0, comm);
    MPI_Bcast(kept, (int)j->n, MPI_INT8_T, 0, comm);
    st = as_gen_journal_create(&jn, j->sweep.output_path, kr[1], rank, kr[0], err);
    AS_TRY(as_mpi_agree(comm, st, err));
    /* test hook (docs/ARCHITECTURE.md): a smaller decode group, to test the split on small models
     */
    const char *kv_env = getenv("ATTNSWEEP_TEST_GEN_KV_TOKENS");
    const int64_t kv_tokens = kv_env && atoll(kv_env) > 0 ? atoll(kv_env) : GEN_KV_TOKENS;
    for (int64_t b = 0; st == AS_OK && b < j->n_batches; b++) {
        if (j->batch_rank[b] != rank) continue;
        if (o->stop_flag && *o->stop_flag) { /* graceful stop: the journals keep what is done */
            st = as_err_set(err, AS_ERR_INTERRUPTED,
                            "stopped on request during generation, before the file was created; "
                            "rerun with --resume to continue (the generations finished so far "
                            "are kept in %s.gen-*)",
                            j->sweep.output_path);
            break;
        }
        /* a planned batch decodes together, in groups whose KV cache (sequences x the longest
         * final sequence) stays within GEN_KV_TOKENS: a pure function of the batch, never of
         * the rank count */
        const int64_t s = j->batch_start[b], e = s + j->batch_len[b];
        int64_t c0 = s;
        int cnt = 0, mctx = 0;
        for (int64_t i = s; st == AS_OK && i < e; i++) {
            const int l = gen_limit(j, i);
            if (l <= 0) continue;
            const int ctx = j->n_tokens[i] + l;
            int nm = ctx > mctx ? ctx : mctx;
            if (cnt > 0 && (int64_t)(cnt + 1) * nm > kv_tokens) {
                st = gen_group(j, m, c0, (int)(i - c0), eos, tok, o, kept, &jn, &rec, rank, err);
                c0 = i, cnt = 0, nm = ctx;
            }
            cnt++, mctx = nm;
        }
        if (st == AS_OK && cnt > 0)
            st = gen_group(j, m, c0, (int)(e - c0), eos, tok, o, kept, &jn, &rec, rank, err);
    }
    as_gen_journal_close(&jn);
    if (st == AS_OK && rec.n > (size_t)INT32_MAX)
        st = as_err_set(err, AS_ERR_INVALID, "generate: too many generated ids on rank %d", rank);
    AS_TRY(as_mpi_agree(comm, st, err));
    int mine = (int)rec.n;
    if (rank == 0 && (!(counts = malloc(sizeof(int) * (size_t)size)) ||
                      !(displs = malloc(sizeof(int) * (size_t)size))))
        st = as_err_set(err, AS_ERR_NOMEM, "out of memory");
    AS_TRY(as_mpi_agree(comm, st, err));
    MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
    int64_t total = 0;
    if (rank == 0) {
        for (int r = 0; r < size; r++)
            displs[r] = (int)total, total += counts[r];
        if (total > INT32_MAX)
            st = as_err_set(err, AS_ERR_INVALID, "generate: %lld generated ids are too many",
                            (long long)total);
        else if (!(all = malloc(sizeof(int32_t) * ((size_t)total + 1))))
            st = as_err_set(err, AS_ERR_NOMEM, "out of memory for the generated ids");
    }
    AS_TRY(as_mpi_agree(comm, st, err));
    if (MPI_Gatherv(rec.p, mine, MPI_INT32_T, all, counts, displs, MPI_INT32_T, 0, comm) !=
        MPI_SUCCESS)
        st = as_err_set(err, AS_ERR_MPI, "MPI_Gatherv of the generated ids failed");
    AS_TRY(as_mpi_agree(comm, st, err));
    if (rank == 0) {
        st = gen_ids_alloc(j, g, err);
        if (st == AS_OK)
            st = take_records(j, g, jwords, (int64_t)jn_words,
                              "generation journal (remove "
                              "the output's .gen-* files and rerun)",
                              err);
        if (st == AS_OK) st = take_records(j, g, all, total, "gathered record", err);
        if (st == AS_OK && !o->quiet) {
            int64_t ntok = 0, np = 0;
            for (int64_t i = 0; i < j->n; i++)
                ntok += g->n[i], np += g->n[i] > 0;
            printf("attnsweep run: generated %lld tokens for %lld prompts in %.2f s (greedy, KV "
                   "cache, batches decode together)\n",
                   (long long)ntok, (long long)np, MPI_Wtime() - t0);
        }
    }
    ret = as_mpi_agree(comm, st, err);
done:
    as_gen_journal_close(&jn);
    free(rec.p), free(counts), free(displs), free(all), free(jwords), free(kept);
    return ret;
}

/* --resume: the generated ids stored in the file (rank 0): the last
 * /sweep/n_generated tokens of each prompt, after its prompt tokens. */
static as_status read_generated(const struct as_job *j, struct gen_ids *g, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5file f;
    struct as_h5_tokens tk;
    struct as_table cols;
    memset(&f, 0, sizeof f);
    memset(&tk, 0, sizeof tk);
    as_table_init(&cols);
    const char *path = j->sweep.output_path;
    AS_TRY(gen_ids_alloc(j, g, err));
    AS_TRY(as_h5file_open_read(&f, path, MPI_COMM_NULL, err));
    AS_TRY(as_h5file_read_tokens(&f, &tk, err));
    static const char *const names[] = {"n_generated", "stop_reason"};
    AS_TRY(as_h5file_read_columns(&f, "sweep", names, 2, 0, &cols, err));
    const struct as_col *cn = as_table_find(&cols, "n_generated");
    const struct as_col *cs = as_table_find(&cols, "stop_reason");
    if (!cn || !cs || cn->type != AS_COL_I32 || cs->type != AS_COL_I8 || cn->shape[0] != j->n ||
        cs->shape[0] != j->n) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "--resume: %s has no int32 /sweep/n_generated and int8 "
                         "/sweep/stop_reason for %lld prompts",
                         path, (long long)j->n);
        goto done;
    }
    const int32_t *ng = cn->data;
    const int8_t *sr = cs->data;
    int64_t t0 = 0;
    for (int64_t i = 0; i < j->n; i++) {
        const int T = j->n_tokens[i], Tf = f.prompts[i].n_tokens;
        const int32_t *fid = tk.token_id + t0, *pid = j->ids + j->tok_start[i];
        t0 += Tf;
        if (ng[i] < 0 || ng[i] > g->off[i + 1] - g->off[i] || Tf != T + ng[i] ||
            memcmp(fid, pid, sizeof(int32_t) * (size_t)T) != 0) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "--resume: prompt '%s' of %s has %d tokens with %d generated; the "
                             "sweep's prompt has %d tokens and at most %lld new (different "
                             "model, tokenizer or generate: settings?)",
                             j->sweep.prompts[i].id, path, Tf, (int)ng[i], T,
                             (long long)(g->off[i + 1] - g->off[i]));
            goto done;
        }
        g->n[i] = ng[i], g->stop[i] = sr[i];
        memcpy(g->ids + g->off[i], fid + T, sizeof(int32_t) * (size_t)ng[i]);
    }
done:
    as_table_free(&cols);
    as_h5_tokens_free(&tk);
    as_h5file_close(&f, NULL);
    return ret;
}

/* ---- the extended job (rank 0) ---------------------------------------------------- */

static as_status extend(struct as_job *j, const struct as_tokenizer *tok, struct gen_ids *g,
                        struct as_err *err) {
    as_status ret = AS_OK;
    struct as_sweep *s = &j->sweep;
    const int64_t n = j->n;
    char **texts = calloc((size_t)n + 1, sizeof *texts);
    size_t *tlen = calloc((size_t)n + 1, sizeof *tlen);
    int32_t **ends = calloc((size_t)n + 1, sizeof *ends);
    int64_t *tok_start = NULL;
    int32_t *n_tokens = NULL, *ids = NULL, *offsets = NULL;
    char *strings = NULL;
    const char **tokp = NULL;
    if (!texts || !tlen || !ends) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory extending the job");
        goto done;
    }
    int64_t n_tok = 0, sbytes = j->strings_len, text_total = 0;
    for (int64_t i = 0; i < n; i++) {
        const int k = g->n[i];
        if (k > 0) {
            const int T = j->n_tokens[i], nc = T < GEN_CTX ? T : GEN_CTX;
            const int32_t *gid = g->ids + g->off[i];
            if (!(ends[i] = malloc(sizeof(int32_t) * (size_t)k))) {
                ret = as_err_set(err, AS_ERR_NOMEM, "out of memory extending the job");
                goto done;
            }
            ret = as_gen_decode(tok, j->ids + j->tok_start[i] + T - nc, nc, gid, k, &texts[i],
                                &tlen[i], ends[i], err);
            if (ret != AS_OK) {
                as_err_prefix(err, "prompt '%s'", s->prompts[i].id);
                goto done;
            }
            const struct as_sweep_generate *ge = &s->groups[s->prompts[i].group_index].gen;
            const int keep =
                as_gen_stop_at(texts[i], ends[i], k, (const char *const *)ge->stop, ge->n_stop);
            if (keep > 0) g->n[i] = keep, g->stop[i] = AS_GEN_STRING, tlen[i] = ends[i][keep - 1];
            for (int t = 0; t < g->n[i]; t++) {
                const char *ts = as_tokenizer_token_str(tok, gid[t]);
                sbytes += (int64_t)strlen(ts ? ts : "") + 1;
            }
        }
        n_tok += j->n_tokens[i] + g->n[i];
        text_total += (int64_t)s->prompts[i].text_len + (int64_t)tlen[i] + 1;
    }
    tok_start = malloc(sizeof(int64_t) * ((size_t)n + 1));
    n_tokens = malloc(sizeof(int32_t) * ((size_t)n + 1));
    ids = malloc(sizeof(int32_t) * ((size_t)n_tok + 1));
    offsets = malloc(2 * sizeof(int32_t) * ((size_t)n_tok + 1));
    strings = malloc((size_t)sbytes + 1);
    tokp = malloc(sizeof(char *) * ((size_t)n_tok + 1));
    j->gen_n = malloc(sizeof(int32_t) * ((size_t)n + 1));
    j->gen_start = malloc(sizeof(int64_t) * ((size_t)n + 1));
    j->gen_stop = malloc((size_t)n + 1);
    j->gen_text = malloc((size_t)text_total + 1);
    if (!tok_start || !n_tokens || !ids || !offsets || !strings || !tokp || !j->gen_n ||
        !j->gen_start || !j->gen_stop || !j->gen_text) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory extending the job");
        goto done;
    }
    int64_t pos = 0;
    char *sp = strings, *tp = j->gen_text;
    const char *old_sp = j->strings;
    for (int64_t i = 0; i < n; i++) {
        struct as_sweep_prompt *p = &s->prompts[i];
        const int T = j->n_tokens[i], k = g->n[i];
        const int64_t gs = (int64_t)p->text_len;
        tok_start[i] = pos, n_tokens[i] = T + k;
        for (int t = 0; t < T; t++, pos++) { /* the prompt's tokens as they were */
            const int64_t o = j->tok_start[i] + t;
            ids[pos] = j->ids[o];
            offsets[2 * pos] = j->offsets[2 * o], offsets[2 * pos + 1] = j->offsets[2 * o + 1];
            const size_t l = strlen(old_sp) + 1;
            memcpy(sp, old_sp, l), sp += l, old_sp += l;
        }
        const int32_t *gid = g->ids + g->off[i];
        for (int t = 0; t < k; t++, pos++) { /* generated: byte spans into the extended text */
            ids[pos] = gid[t];
            offsets[2 * pos] = (int32_t)(gs + (t ? ends[i][t - 1] : 0));
            offsets[2 * pos + 1] = (int32_t)(gs + ends[i][t]);
            const char *ts = as_tokenizer_token_str(tok, gid[t]);
            const size_t l = strlen(ts ? ts : "") + 1;
            memcpy(sp, ts ? ts : "", l), sp += l;
        }
        j->gen_n[i] = k;
        j->gen_stop[i] = g->stop[i];
        j->gen_start[i] = group_generates(j, i) ? gs : -1;
        memcpy(tp, p->text, p->text_len);
        if (tlen[i]) memcpy(tp + p->text_len, texts[i], tlen[i]);
        tp[p->text_len + tlen[i]] = '\0';
        s->text_bytes += tlen[i];
        p->text = tp, p->text_len += tlen[i];
        tp += p->text_len + 1;
    }
    free(j->tok_start), free(j->n_tokens), free(j->ids), free(j->offsets), free(j->strings);
    free(j->tok);
    j->tok_start = tok_start, j->n_tokens = n_tokens, j->ids = ids, j->offsets = offsets;
    j->strings = strings, j->tok = tokp, j->n_tok = n_tok, j->strings_len = sp - strings;
    j->tok_start[n] = pos;
    tok_start = NULL, n_tokens = NULL, ids = NULL, offsets = NULL, strings = NULL, tokp = NULL;
    const char *q = j->strings;
    for (int64_t t = 0; t < j->n_tok; t++) {
        j->tok[t] = q;
        q += strlen(q) + 1;
    }
done:
    for (int64_t i = 0; texts && i < n; i++)
        free(texts[i]), free(ends[i]);
    free(texts), free(tlen), free(ends);
    free(tok_start), free(n_tokens), free(ids), free(offsets), free(strings), free(tokp);
    return ret;
}

as_status as_job_generate(struct as_job *j, const struct as_model *m, MPI_Comm comm,
                          const struct as_run_opts *o, struct as_err *err) {
    as_status ret = AS_OK, st = AS_OK;
    struct as_tokenizer tok;
    struct gen_ids g;
    int have_tok = 0, rank;
    memset(&tok, 0, sizeof tok);
    memset(&g, 0, sizeof g);
    MPI_Comm_rank(comm, &rank);
    if (!as_sweep_generates(&j->sweep)) return AS_OK;
    const struct as_sweep *s = &j->sweep;
    int32_t eos = -1;
    if (rank == 0 || j->mode == AS_JOB_CREATE) { /* every rank's stop test; rank 0's extend */
        st = as_tokenizer_load(&tok, s->tokenizer_path[0] ? s->tokenizer_path : s->model_path, err);
        have_tok = st == AS_OK;
        if (have_tok) eos = tok.eos_id;
    }
    AS_TRY(as_mpi_agree(comm, st, err));
    MPI_Bcast(&eos, 1, MPI_INT32_T, 0, comm);
    if (j->mode == AS_JOB_CREATE) {
        AS_TRY(generate_all(j, m, eos, &tok, comm, o, &g, err));
    } else if (rank == 0) {
        st = read_generated(j, &g, err);
    }
    if (rank == 0 && st == AS_OK) st = extend(j, &tok, &g, err);
    if (rank == 0 && st == AS_OK) st = as_job_plan(j, o->quiet, err);
    AS_TRY(as_mpi_agree(comm, st, err));
    if (rank != 0) as_job_free(j); /* receive the extended job */
    AS_TRY(as_job_bcast(j, comm, err));
done:
    gen_ids_free(&g);
    if (have_tok) as_tokenizer_free(&tok);
    return ret;
}

static void trim(const char **p, size_t *n) {
    while (*n > 0 && strchr(" \t\r\n", (*p)[0]))
        (*p)++, (*n)--;
    while (*n > 0 && strchr(" \t\r\n", (*p)[*n - 1]))
        (*n)--;
}

int as_job_gen_correct(const struct as_job *j, int64_t i) {
    const struct as_sweep *s = &j->sweep;
    if (!j->gen_n || j->gen_start[i] < 0 || !s->analysis.answer) return -1;
    const int col = as_sweep_column_find(s, s->analysis.answer);
    char cell[64];
    const char *want = col >= 0 ? as_sweep_cell_text(s, col, i, cell, sizeof cell) : NULL;
    size_t wn = want ? strlen(want) : 0;
    if (want) trim(&want, &wn);
    if (wn == 0 || (s->columns[col].type == AS_SWEEP_COL_FLOAT && !strcmp(want, "nan")))
        return -1; /* no expected answer */
    const struct as_sweep_prompt *p = &s->prompts[i];
    int64_t b, e;
    if (!as_metrics_answer_span(p->text, p->text_len, (size_t)j->gen_start[i],
                                s->groups[p->group_index].gen.answer_regex, &b, &e))
        return 0; /* the model gave no answer */
    const char *got = p->text + b;
    size_t gn = (size_t)(e - b);
    trim(&got, &gn);
    return gn == wn && memcmp(got, want, wn) == 0;
}

as_status as_job_gen_columns(const struct as_job *j, struct as_table *t, struct as_err *err) {
    if (!j->gen_n) return AS_OK;
    const int64_t shape[1] = {j->n};
    as_table_add(t, "n_generated", AS_COL_I32, "prompt", shape, j->gen_n, 1);
    as_table_add(t, "generated_start", AS_COL_I64, "prompt", shape, j->gen_start, 1);
    struct as_col *c = as_table_add(t, "stop_reason", AS_COL_I8, "prompt", shape, j->gen_stop, 1);
    if (c) {
        c->flag_base = AS_GEN_NONE;
        snprintf(c->flag_meanings, sizeof c->flag_meanings, "none length eos stop_string");
    }
    return as_table_check(t, "/sweep generation columns", err);
}
