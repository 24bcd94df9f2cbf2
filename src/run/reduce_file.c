/* reduce_file.c - `attnsweep reduce`: the per-prompt metrics of a stored file
 * recomputed from its attention, MPI-parallel (rank r takes the r-th
 * contiguous block of prompts, in batches of consecutive prompts, so that
 * every metric column is written with one transfer per batch), then the
 * summary (summarize.c).
 *
 * Every rank reads the texts and tokens (a few whole-column reads) and
 * computes every prompt's layout (pure), so all ranks agree on the /metrics
 * shapes without communication. When the shapes differ from the file's (new
 * keywords, or a file written by extract without /metrics), rank 0 replaces
 * /metrics serially while the file is closed everywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/reduce.h"
#include "attnsweep/run.h"
#include "attnsweep/h5capture.h"
#include "attnsweep/norm_metrics.h"
#include "run_internal.h"

#define RF_BATCH 256 /* prompts per commit */

/* 1 if the file's /metrics has exactly these ragged counts and keywords. */
static int same_layout(struct as_h5file *f, const struct as_table *want) {
    if (as_h5file_exists(f, "metrics") <= 0) return 0;
    if ((as_h5file_exists(f, "metrics/span_mass_from_answer") > 0) !=
        (as_table_find(want, "span_mass_from_answer") != NULL))
        return 0; /* generation's column (re)appears */
    static const char *const cc[] = {"keyword_occ_count", "keyword_substr_count", "span_count",
                                     "keyword"};
    struct as_table have;
    struct as_err ignore;
    as_table_init(&have);
    int same = as_h5file_read_columns(f, "metrics", cc, 4, 0, &have, &ignore) == AS_OK;
    for (int k = 0; same && k < 4; k++) {
        const struct as_col *a = as_table_find(want, cc[k]), *b = &have.cols[k];
        same = a && as_col_count(a) == as_col_count(b);
        if (same && k < 3)
            same = memcmp(a->data, b->data, (size_t)as_col_count(a) * sizeof(int32_t)) == 0;
        for (int64_t i = 0; same && k == 3 && i < as_col_count(a); i++)
            same = strncmp((const char *)a->data + i * a->width,
                           (const char *)b->data + i * b->width, a->width) == 0;
    }
    as_table_free(&have);
    return same;
}

struct rf_ctx {
    const struct as_sweep *s; /* may be NULL */
    struct as_h5_tokens tok;
    size_t *prefix;                    /* (n) */
    struct as_metrics_layout *lay;     /* (n) */
    struct as_metrics_span_def *spans; /* scratch: the prompt's spans (largest group's count) */
    const char *const *kw;
    int nkw;
    struct as_table gen;      /* /sweep/generated_start when the file generates */
    const int64_t *gen_start; /* (n) from it, or NULL */
};

static void rf_ctx_of(const struct as_h5file *f, const struct rf_ctx *r, int64_t i,
                      struct as_metrics_ctx *c) {
    const struct as_h5_prompt_info *in = &f->prompts[i];
    memset(c, 0, sizeof *c);
    c->L = f->n_layers, c->H = f->n_heads, c->T = in->n_tokens;
    c->token_ids = r->tok.token_id + in->tok_start;
    c->offsets = r->tok.offsets + 2 * in->tok_start;
    c->tokens = r->tok.tokens + in->tok_start;
    c->text = r->tok.texts[i], c->text_len = r->tok.text_len[i];
    c->keywords = r->kw, c->n_keywords = r->nkw;
    if (r->s) {
        int g = r->s->prompts[i].group_index;
        as_run_span_defs(r->s, i, r->spans);
        c->spans = r->spans, c->n_spans = r->s->groups[g].n_spans;
        c->prompt_start = r->s->prompts[i].prompt_start;
        c->prompt_len = r->s->prompts[i].prompt_len;
        c->chat = r->s->groups[g].chat != NULL;
    }
    c->prefix_len = r->prefix[i];
    c->answer_mass = r->gen_start != NULL;
    if (r->gen_start && r->gen_start[i] >= 0 && (size_t)r->gen_start[i] <= c->text_len) {
        c->generates = 1, c->gen_start = (size_t)r->gen_start[i];
        if (r->s) c->answer_regex = r->s->groups[r->s->prompts[i].group_index].gen.answer_regex;
    }
}

/* This rank's block of prompts, in batches. */
static as_status rf_compute(struct as_h5file *f, struct rf_ctx *r, const int8_t *status,
                            int *n_last_row, struct as_err *err) {
    as_status ret = AS_OK;
    const int64_t N = f->n_prompts;
    const int64_t lo = N * f->rank / f->size, hi = N * (f->rank + 1) / f->size;
    struct as_metrics *m = calloc(RF_BATCH, sizeof *m);
    const struct as_metrics **mp = calloc(RF_BATCH, sizeof *mp);
    int32_t *ntok = calloc(RF_BATCH, sizeof *ntok);
    float *buf = NULL;
    size_t buf_n = 0;
    if (!m || !mp || !ntok) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", f->path);
        goto done;
    }
    const int L = f->n_layers, H = f->n_heads, lr = f->store == AS_STORE_LAST_ROW;
    float *rows_lr = NULL; /* the batch's last rows (n_tok, L, H) */
    /* value norms stored: the norm-weighted masses too (norm_metrics.h) */
    const int vn = as_h5file_exists(f, "attention/value_norm") > 0;
    float *rows_vn = NULL, *last_vn = NULL; /* (n_tok, L, H) norms; last rows of full maps */
    struct as_norm_rows nr;
    memset(&nr, 0, sizeof nr);
    for (int64_t first = lo; first < hi && ret == AS_OK; first += RF_BATCH) {
        int n = (int)(hi - first < RF_BATCH ? hi - first : RF_BATCH);
        int64_t t0 = f->prompts[first].tok_start;
        if (vn) {
            int64_t nt =
                f->prompts[first + n - 1].tok_start + f->prompts[first + n - 1].n_tokens - t0;
            free(rows_vn), free(last_vn);
            as_norm_rows_free(&nr);
            if (!(rows_vn = malloc(((size_t)nt * L * H + 1) * sizeof *rows_vn)) ||
                !(last_vn = calloc((size_t)nt * L * H + 1, sizeof *last_vn))) {
                ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", f->path);
                break;
            }
            ret = as_h5file_read_capture_rows(f, "value_norm", first, n, rows_vn, err);
            if (ret == AS_OK) ret = as_norm_rows_init(&nr, n, L, H, r->lay + first, err);
            if (ret != AS_OK) break;
        }
        if (lr) { /* one read for the whole batch */
            int64_t nt =
                f->prompts[first + n - 1].tok_start + f->prompts[first + n - 1].n_tokens - t0;
            free(rows_lr);
            if (!(rows_lr = malloc((size_t)nt * L * H * sizeof *rows_lr))) {
                ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", f->path);
                break;
            }
            ret = as_h5file_read_last_rows(f, first, n, rows_lr, err);
        }
        for (int k = 0; k < n && ret == AS_OK; k++) {
            const int64_t i = first + k;
            const struct as_h5_prompt_info *in = &f->prompts[i];
            mp[k] = NULL;
            ntok[k] = in->n_tokens;
            if (status[i] != AS_PROMPT_DONE || f->store == AS_STORE_NONE) continue;
            const int full = f->store == AS_STORE_FULL;
            *n_last_row += !full;
            size_t per =
                (size_t)f->n_heads * (size_t)in->n_tokens * (full ? (size_t)in->n_tokens : 1);
            if (per > buf_n) {
                free(buf);
                if (!(buf = malloc(per * sizeof *buf))) {
                    ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for one layer of '%s'",
                                     f->path, in->id);
                    break;
                }
                buf_n = per;
            }
            struct as_metrics_ctx c;
            rf_ctx_of(f, r, i, &c);
            ret = as_metrics_init(&m[k], &c, full ? AS_METRICS_FULL : AS_METRICS_LAST_ROW, err);
            for (int l = 0; l < L && ret == AS_OK; l++) {
                if (lr) { /* (T, L, H) rows -> (H, T) of layer l */
                    const float *src = rows_lr + (size_t)(in->tok_start - t0) * L * H;
                    for (int t = 0; t < in->n_tokens; t++)
                        for (int h = 0; h < H; h++)
                            buf[(size_t)h * in->n_tokens + t] = src[((size_t)t * L + l) * H + h];
                } else {
                    ret = as_h5file_read_attention_layer(f, i, l, buf, err);
                    const size_t T = (size_t)in->n_tokens; /* (H, T, T) -> last rows (T, L, H) */
                    float *dst = vn ? last_vn + (size_t)(in->tok_start - t0) * L * H : NULL;
                    for (size_t t = 0; dst && ret == AS_OK && t < T; t++)
                        for (int h = 0; h < H; h++)
                            dst[(t * L + l) * H + h] = buf[((size_t)h * T + T - 1) * T + t];
                }
                if (ret == AS_OK) ret = as_metrics_add_layer(&m[k], l, buf, err);
            }
            if (ret == AS_OK) ret = as_metrics_finish(&m[k], err);
            if (ret == AS_OK && vn) {
                const size_t at = (size_t)(in->tok_start - t0) * L * H;
                as_norm_rows_set(&nr, k, &m[k], (lr ? rows_lr : last_vn) + at, rows_vn + at);
            }
            if (ret == AS_OK)
                mp[k] = &m[k];
            else
                as_err_prefix(err, "prompt '%s'", in->id);
        }
        struct as_table rows;
        as_table_init(&rows);
        if (ret == AS_OK)
            ret = as_metrics_table_rows(&rows, n, mp, r->lay + first, ntok, f->n_layers, f->n_heads,
                                        err);
        if (ret == AS_OK && vn) as_norm_rows_table(&nr, &rows);
        if (ret == AS_OK) ret = as_h5file_write_rows(f, "metrics", &rows, first, err);
        as_table_free(&rows);
        for (int k = 0; k < n; k++)
            as_metrics_free(&m[k]);
    }
    free(rows_lr);
    free(rows_vn), free(last_vn);
    as_norm_rows_free(&nr);
done:
    free(m), free(mp), free(ntok), free(buf);
    return ret;
}

static const struct as_h5_tokens *gsort_t;
static int cmp_grp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    int c = strcmp(gsort_t->group[x], gsort_t->group[y]);
    return c ? c : (x > y) - (x < y);
}

/* Without the sweep: the derived prefixes per group of /sweep/group (a prompt
 * with no group is its own group), as the runner computed them. */
static as_status file_prefixes(const struct as_h5_tokens *t, size_t *out, struct as_err *err) {
    const int64_t n = t->n_prompts;
    int64_t *order = malloc(((size_t)n + 1) * sizeof *order);
    const char **texts = malloc(((size_t)n + 1) * sizeof *texts);
    size_t *lens = malloc(((size_t)n + 1) * sizeof *lens),
           *pl = malloc(((size_t)n + 1) * sizeof *pl);
    as_status ret = AS_OK;
    if (!order || !texts || !lens || !pl) {
        ret = as_err_set(err, AS_ERR_NOMEM, "no memory for the prefixes of %lld prompts",
                         (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    gsort_t = t;
    qsort(order, (size_t)n, sizeof *order, cmp_grp);
    for (int64_t a = 0; a < n;) {
        int64_t b = a + 1;
        const char *g = t->group[order[a]];
        while (g[0] && b < n && !strcmp(t->group[order[b]], g))
            b++;
        for (int64_t k = a; k < b; k++)
            texts[k - a] = t->texts[order[k]], lens[k - a] = t->text_len[order[k]];
        as_metrics_variant_prefixes(texts, lens, (int)(b - a), pl);
        for (int64_t k = a; k < b; k++)
            out[order[k]] = pl[k - a];
        a = b;
    }
done:
    free(order), free(texts), free(lens), free(pl);
    return ret;
}

as_status as_run_reduce_file(const char *path, MPI_Comm comm, const struct as_sweep *s,
                             const char *const *keywords, int n_keywords, FILE *log,
                             struct as_run_summary *out, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5file f;
    struct rf_ctx r;
    struct as_table want;
    int8_t *status = NULL;
    const char **ids = NULL, **kwp = NULL;
    struct as_table kwt;
    as_table_init(&kwt);
    int32_t *ntok = NULL;
    memset(&f, 0, sizeof f), memset(&r, 0, sizeof r);
    as_table_init(&r.gen);
    as_table_init(&want);
    int rank = 0;
    struct as_h5_lock lock = {.fd = -1};
    MPI_Comm_rank(comm, &rank);
    /* one writer per output file: refused while a run (or another reduce) writes it */
    if (rank == 0) ret = as_h5_lock_acquire(&lock, path, err);
    AS_TRY(as_mpi_agree(comm, ret, err));
    AS_TRY(as_h5file_open_rw(&f, path, comm, err));
    const int64_t N = f.n_prompts;
    if (f.store == AS_STORE_NONE) { /* nothing stored to recompute from: keep run's metrics */
        if (log && rank == 0)
            fprintf(log,
                    "attnsweep reduce: %s stores no attention (store: none); the metrics "
                    "that run computed are kept, only /summary is recomputed\n",
                    path);
        AS_TRY(as_h5file_close(&f, err));
        ret = as_run_summary(path, comm, s ? &s->analysis : NULL, out, err);
        goto done;
    }
    r.kw = keywords ? keywords : (s ? (const char *const *)s->keywords : NULL);
    r.nkw = keywords ? n_keywords : (s ? s->n_keywords : 0);
    /* the sweep describes this file only if its prompts are the file's, in order */
    int match = s && s->n_prompts == N;
    for (int64_t i = 0; match && i < N; i++)
        match = strcmp(s->prompts[i].id, f.prompts[i].id) == 0;
    ret = as_h5file_read_tokens(&f, &r.tok, err);
    static const char *const gc[] = {"generated_start"}; /* generation: the prompt's own text */
    if (ret == AS_OK) ret = as_h5file_read_columns(&f, "sweep", gc, 1, 1, &r.gen, err);
    if (ret == AS_OK && r.gen.n == 1 && r.gen.cols[0].type == AS_COL_I64 &&
        r.gen.cols[0].shape[0] == N)
        r.gen_start = r.gen.cols[0].data;
    for (int64_t i = 0; ret == AS_OK && match && i < N; i++) { /* ... with the same texts */
        const size_t tl =
            r.gen_start && r.gen_start[i] >= 0 ? (size_t)r.gen_start[i] : r.tok.text_len[i];
        match = s->prompts[i].text_len == tl && tl <= r.tok.text_len[i] &&
                memcmp(s->prompts[i].text, r.tok.texts[i], tl) == 0;
    }
    if (s && !match && log && rank == 0)
        fprintf(log, "attnsweep reduce: warning: the sweep in /config no longer expands to this "
                     "file's prompts (a prompt file changed?); groups come from /sweep/group and "
                     "declared spans are not measured\n");
    r.s = match ? s : NULL;
    int max_spans = 0;
    for (int g = 0; r.s && g < r.s->n_groups; g++)
        if (r.s->groups[g].n_spans > max_spans) max_spans = r.s->groups[g].n_spans;
    if (ret == AS_OK &&
        (!(r.prefix = calloc((size_t)N + 1, sizeof *r.prefix)) ||
         !(r.lay = calloc((size_t)N + 1, sizeof *r.lay)) ||
         !(r.spans = calloc((size_t)max_spans + 1, sizeof *r.spans)) ||
         !(status = calloc((size_t)N + 1, 1)) || !(ids = calloc((size_t)N + 1, sizeof *ids)) ||
         !(ntok = calloc((size_t)N + 1, sizeof *ntok))))
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for %lld prompts", path, (long long)N);
    if (ret == AS_OK)
        ret = r.s ? as_run_prefixes(r.s, r.prefix, err) : file_prefixes(&r.tok, r.prefix, err);
    /* without the sweep, keep the keywords the file was measured with */
    static const char *const kwc[] = {"keyword"};
    if (ret == AS_OK && !keywords && !r.s &&
        as_h5file_read_columns(&f, "metrics", kwc, 1, 1, &kwt, err) == AS_OK && kwt.n == 1) {
        const struct as_col *c = &kwt.cols[0];
        if ((kwp = calloc((size_t)c->shape[0] + 1, sizeof *kwp)) != NULL) {
            for (int64_t k = 0; k < c->shape[0]; k++)
                kwp[k] = (const char *)c->data + k * c->width;
            r.kw = kwp, r.nkw = (int)c->shape[0];
        }
    }
    for (int64_t i = 0; ret == AS_OK && i < N; i++) {
        ids[i] = f.prompts[i].id, ntok[i] = f.prompts[i].n_tokens;
        if (f.store == AS_STORE_NONE) continue; /* L == 0: no metrics */
        struct as_metrics_ctx c;
        rf_ctx_of(&f, &r, i, &c);
        ret = as_metrics_layout_compute(
            &c, f.store == AS_STORE_FULL ? AS_METRICS_FULL : AS_METRICS_LAST_ROW, &r.lay[i], err);
        if (ret != AS_OK) as_err_prefix(err, "%s: prompt '%s'", path, f.prompts[i].id);
    }
    if (ret == AS_OK)
        ret = as_metrics_table_layout(&want, N, r.lay, ids, ntok, f.n_layers, f.n_heads,
                                      f.layer_ids, f.head_ids, r.kw, r.nkw, err);
    if (ret == AS_OK && as_h5file_exists(&f, "attention/value_norm") > 0)
        ret = as_norm_metrics_layout(&want, err);

    ret = as_mpi_agree(comm, ret, err);
    if (ret != AS_OK) goto done;
    /* same shapes: rewrite in place; else rank 0 replaces /metrics with the file closed */
    int same = rank == 0 ? same_layout(&f, &want) : 0;
    MPI_Bcast(&same, 1, MPI_INT, 0, comm);
    if (!same) {
        AS_TRY(as_h5file_close(&f, err));
        if (rank == 0) {
            if (log) fprintf(log, "attnsweep reduce: (re)creating /metrics (its shapes change)\n");
            struct as_h5file g;
            memset(&g, 0, sizeof g);
            ret = as_h5file_open_rw(&g, path, MPI_COMM_NULL, err);
            if (ret == AS_OK) ret = as_h5file_write_table(&g, "metrics", &want, err);
            as_status cs = as_h5file_close(&g, ret == AS_OK ? err : NULL);
            if (ret == AS_OK) ret = cs;
        }
        ret = as_mpi_agree(comm, ret, err);
        if (ret != AS_OK) goto done;
        AS_TRY(as_h5file_open_rw(&f, path, comm, err));
    }
    ret = as_h5file_read_status(&f, status, err);
    int n_last_row = 0, all_last_row = 0;
    if (ret == AS_OK) ret = rf_compute(&f, &r, status, &n_last_row, err);
    ret = as_mpi_agree(comm, ret, err);
    if (ret != AS_OK) goto done;
    MPI_Reduce(&n_last_row, &all_last_row, 1, MPI_INT, MPI_SUM, 0, comm);
    if (log && rank == 0 && all_last_row > 0)
        fprintf(log,
                "attnsweep reduce: %d prompt(s) store only the last attention row (store: "
                "last_row); for them these metrics need full maps and are not computed: %s\n",
                all_last_row, as_metrics_unavailable_last_row());
    AS_TRY(as_h5file_close(&f, err));
    ret = as_run_summary(path, comm, s ? &s->analysis : NULL, out, err);
done:
    as_h5file_close(&f, NULL);
    as_h5_tokens_free(&r.tok);
    as_table_free(&want);
    free(r.prefix), free(r.lay), free(r.spans), free(status), free(ids), free(ntok), free(kwp);
    as_table_free(&kwt);
    as_table_free(&r.gen);
    as_h5_lock_release(&lock);
    return ret;
}
