/* summarize.c - the sweep-level statistics of a finished (or partly finished)
 * file, shared by `attnsweep run` and `attnsweep reduce`: rank 0 reopens the
 * file serially, reads the /metrics columns in a few whole-column reads,
 * computes the statistics (pure, src/reduce) and replaces /summary. Every
 * other rank only waits for the agreement: no collective HDF5 call can hang
 * on a failure that happened on one rank. */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fault.h"
#include "attnsweep/reduce.h"
#include "run_internal.h"

void as_run_summary_free(struct as_run_summary *rs) {
    as_summary_free(rs->sm);
    as_table_free(&rs->metrics);
    as_table_free(&rs->strings);
    as_table_free(&rs->sweep_cols);
    free(rs->by_answer);
    free(rs->mem);
    free(rs->id_copy);
    memset(rs, 0, sizeof *rs);
}

/* /sweep/group records (the summary reads only the string columns it needs) */
/* The /sweep columns the analysis names (by, contrast columns, pair_on), each once;
 * "group" and "variant" are read anyway. Returns the count, or -1 when there are too many. */
static int analysis_columns(const struct as_analysis *an, const char **names, int cap) {
    int n = 0;
    const char *one[1];
    for (int k = 0; an && k < an->n_by + an->n_contrasts; k++) {
        const struct as_contrast *c = k >= an->n_by ? &an->contrasts[k - an->n_by] : NULL;
        const int m = c ? 1 + c->n_pair_on : 1;
        for (int q = 0; q < m; q++) {
            one[0] = !c ? an->by[k] : q == 0 ? c->column : c->pair_on[q - 1];
            if (!one[0] || !strcmp(one[0], "group") || !strcmp(one[0], "variant")) continue;
            int dup = 0;
            for (int i = 0; i < n && !dup; i++)
                dup = !strcmp(names[i], one[0]);
            if (dup) continue;
            if (n == cap) return -1;
            names[n++] = one[0];
        }
    }
    return n;
}

static const struct as_h5file *sort_f;
static const struct as_col *sort_g;
static const char *rec(const struct as_col *c, int64_t i) {
    return (const char *)c->data + (size_t)i * c->width;
}
static const char *group_key(int64_t i) {
    return rec(sort_g, i)[0] ? rec(sort_g, i) : sort_f->prompts[i].id;
}
static int cmp_group(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    int c = strcmp(group_key(x), group_key(y));
    return c ? c : (x > y) - (x < y);
}

/* Rank 0: everything on an open serial file. */
static as_status summarize(struct as_h5file *f, const struct as_analysis *an,
                           struct as_run_summary *rs, struct as_err *err) {
    as_status ret = AS_OK;
    const int64_t n = f->n_prompts;
    static const char *const mcols[] = {
        "input",      "layer_entropy", "head_entropy", "head_max",   "sink_last",
        "sink_mean",  "prev_token",    "norm_entropy", "dup_token",  "induction",
        "head_focus", "last_row_mean", "span_count",   "span_start", "span_name",
        "span_kind",  "span_tokens",   "span_mass",    "span_lift"};
    /* keywords: a file of an older reduce may lack them (then no keyword statistics) */
    static const char *const kcols[] = {"keyword",
                                        "keyword_occ_count",
                                        "keyword_occ_start",
                                        "keyword_occ_keyword",
                                        "keyword_occ_mass",
                                        "keyword_occ_mass_layer",
                                        "keyword_substr_count",
                                        "keyword_substr_start",
                                        "keyword_substr_keyword",
                                        "keyword_substr_position",
                                        "keyword_substr_mass"};
    const size_t nn = (size_t)n + 1;
    AS_TRY(as_h5file_read_columns(f, "metrics", mcols, (int)(sizeof mcols / sizeof *mcols), 0,
                                  &rs->metrics, err));
    AS_TRY(as_h5file_read_columns(f, "metrics", kcols, (int)(sizeof kcols / sizeof *kcols), 1,
                                  &rs->metrics, err));
    /* generation only; output.weights: norms | both only */
    static const char *const gcols[] = {"span_mass_from_answer", "sink_last_norm",
                                        "span_mass_norm"};
    AS_TRY(as_h5file_read_columns(f, "metrics", gcols, 3, 1, &rs->metrics, err));
    static const char *const sw[] = {"group", "variant"}, *const tk[] = {"token_str", "token_id"};
    AS_TRY(as_h5file_read_columns(f, "sweep", sw, 2, 0, &rs->strings, err));
    AS_TRY(as_h5file_read_columns(f, "tokens", tk, 2, 0, &rs->strings, err));
    /* the columns that the analysis splits and pairs by, read by name */
    const char *acols[64];
    const int nac = analysis_columns(an, acols, 64);
    if (nac < 0) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "analysis: more than 64 distinct /sweep columns in by, contrasts and "
                         "pair_on; expected fewer");
        goto done;
    }
    AS_TRY(as_h5file_read_columns(f, "sweep", acols, nac, 1, &rs->sweep_cols, err));
    for (int k = 0; k < nac; k++)
        if (!as_table_find(&rs->sweep_cols, acols[k])) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: analysis: the /sweep column '%s' does not exist; expected the "
                             "name of a /sweep column (group, variant, or a prompt field, tag or "
                             "product key of the sweep). HINT: check the sweep's analysis: "
                             "section",
                             f->path, acols[k]);
            goto done;
        }
    /* analysis.answer: every statistic is split by /behaviour/answer_correct too (a file
     * written before /behaviour existed has none: then nothing changes) */
    struct as_analysis an_answer;
    if (an && an->answer) {
        static const char *const ac[] = {"answer_correct"};
        AS_TRY(as_h5file_read_columns(f, "behaviour", ac, 1, 1, &rs->sweep_cols, err));
        if (as_table_find(&rs->sweep_cols, "answer_correct")) {
            an_answer = *an;
            if (!(rs->by_answer = calloc((size_t)an->n_by + 1, sizeof *rs->by_answer))) {
                ret = as_err_set(err, AS_ERR_NOMEM, "out of memory");
                goto done;
            }
            for (int k = 0; k < an->n_by; k++)
                rs->by_answer[k] = an->by[k];
            rs->by_answer[an->n_by] = (char *)"answer_correct";
            an_answer.by = rs->by_answer, an_answer.n_by = an->n_by + 1;
            an = &an_answer;
        }
    }
    const struct as_col *cg = &rs->strings.cols[0], *cv = &rs->strings.cols[1],
                        *ct = &rs->strings.cols[2], *ci = &rs->strings.cols[3];
    if (cg->type != AS_COL_STR || cv->type != AS_COL_STR || ct->type != AS_COL_STR ||
        ci->type != AS_COL_I32 || as_col_count(cg) != n || as_col_count(cv) != n ||
        as_col_count(ct) != f->n_tokens_total || as_col_count(ci) != f->n_tokens_total) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: /sweep/group, /sweep/variant, /tokens/token_str and "
                         "/tokens/token_id must be string, string, string and int32 columns of "
                         "%lld, %lld, %lld and %lld rows (docs/FORMAT.md)",
                         f->path, (long long)n, (long long)n, (long long)f->n_tokens_total,
                         (long long)f->n_tokens_total);
        goto done;
    }
    /* one block: status, ids, group_of, group names, variants, n_tokens, token_start, order */
    size_t bytes = nn * (1 + 3 * sizeof(char *) + 2 * sizeof(int32_t) + 2 * sizeof(int64_t));
    if (!(rs->mem = calloc(1, bytes + 64))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory to summarize %lld prompts", f->path,
                         (long long)n);
        goto done;
    }
    int64_t *order = rs->mem, *tstart = order + nn;
    const char **ids = (const char **)(tstart + nn), **gnames = ids + nn, **vars = gnames + nn;
    int32_t *group_of = (int32_t *)(vars + nn), *ntok = group_of + nn;
    int8_t *status = (int8_t *)(ntok + nn);
    AS_TRY(as_h5file_read_status(f, status, err));
    /* the ids outlive the file (the summary points at them) */
    size_t idb = 1;
    for (int64_t i = 0; i < n; i++)
        idb += strlen(f->prompts[i].id) + 1;
    if (!(rs->id_copy = malloc(idb))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for the prompt ids", f->path);
        goto done;
    }
    char *ip = rs->id_copy;
    for (int64_t i = 0; i < n; i++) {
        size_t l = strlen(f->prompts[i].id) + 1;
        memcpy(ip, f->prompts[i].id, l);
        f->prompts[i].id = ip; /* the table now points at the copy too */
        ip += l;
    }
    for (int64_t i = 0; i < n; i++) {
        ids[i] = f->prompts[i].id;
        ntok[i] = f->prompts[i].n_tokens;
        tstart[i] = f->prompts[i].tok_start;
        vars[i] = rec(cv, i)[0] ? rec(cv, i) : f->prompts[i].id;
        order[i] = i;
    }
    /* groups numbered in order of first appearance: sort by (name, row), O(n log n) */
    sort_f = f, sort_g = cg;
    qsort(order, (size_t)n, sizeof *order, cmp_group);
    /* runs of equal names -> group ids numbered by first row (one pass over rows) */
    int32_t *run_of = calloc(nn, sizeof *run_of), *id_of_run = calloc(nn, sizeof *id_of_run);
    if (!run_of || !id_of_run) {
        free(run_of), free(id_of_run);
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for the groups", f->path);
        goto done;
    }
    int n_runs = 0, next = 0;
    for (int64_t k = 0; k < n; k++) {
        if (k == 0 || strcmp(group_key(order[k]), group_key(order[k - 1])) != 0) n_runs++;
        run_of[order[k]] = n_runs - 1;
    }
    for (int r = 0; r < n_runs; r++)
        id_of_run[r] = -1;
    for (int64_t i = 0; i < n; i++) {
        int r = run_of[i];
        if (id_of_run[r] < 0) id_of_run[r] = next, gnames[next] = group_key(i), next++;
        group_of[i] = id_of_run[r];
    }
    free(run_of), free(id_of_run);
    struct as_summary_input in = {0};
    in.n = n, in.L = f->n_layers, in.H = f->n_heads;
    in.status = status, in.ids = ids, in.group_of = group_of, in.n_groups = next;
    in.group_names = gnames, in.variants = vars, in.n_tokens = ntok, in.token_start = tstart;
    in.metrics = &rs->metrics;
    in.token_str = ct->data, in.token_str_width = ct->width;
    in.token_id = ci->data;
    in.analysis = an, in.sweep = &rs->sweep_cols;
    AS_TRY(as_summary_compute(&in, &rs->sm, err));
    struct as_table t;
    as_table_init(&t);
    ret = as_summary_table(rs->sm, &t, err);
    if (ret == AS_OK) ret = as_summary_answer_mass(rs->sm, &rs->metrics, &t, err);
    if (ret == AS_OK) ret = as_summary_norm_masses(rs->sm, &rs->metrics, &t, err);
    if (ret == AS_OK) ret = as_h5file_write_table(f, "summary", &t, err);
    as_table_free(&t);
done:
    return ret;
}

as_status as_run_summary(const char *path, MPI_Comm comm, const struct as_analysis *an,
                         struct as_run_summary *out, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_run_summary local;
    int rank = 0;
    if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
    if (!out) out = &local;
    memset(out, 0, sizeof *out);
    as_table_init(&out->metrics);
    as_table_init(&out->strings);
    as_table_init(&out->sweep_cols);
    if (rank == 0) {
        struct as_h5file f;
        memset(&f, 0, sizeof f);
        ret = as_h5file_open_rw(&f, path, MPI_COMM_NULL, err);
        if (ret == AS_OK) ret = summarize(&f, an, out, err);
        as_status cs = as_h5file_close(&f, ret == AS_OK ? err : NULL);
        if (ret == AS_OK) ret = cs;
    }
    if (ret == AS_OK) ret = as_fault_check("summary", rank, err);
    ret = as_mpi_agree(comm, ret, err);
    if (out == &local || ret != AS_OK) as_run_summary_free(out);
    return ret;
}
