/* job.c - rank 0 prepares the job (sweep, tokens, checks, plan) and
 * broadcasts it as one buffer; the other ranks unpack it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attnsweep/fileio.h"
#include "attnsweep/plan.h"
#include "attnsweep/tokenizer.h"
#include "run_internal.h"

void as_job_free(struct as_job *j) {
    as_sweep_free(&j->sweep);
    free(j->tok_start);
    free(j->n_tokens);
    free(j->ids);
    free(j->offsets);
    free(j->strings);
    free(j->tok);
    free(j->rank);
    free(j->status0);
    free(j->answer_id);
    free(j->answer_start);
    free(j->answer_tok);
    free(j->vocab_str);
    free(j->dropped);
    free(j->batch_start);
    free(j->batch_len);
    free(j->batch_rank);
    free(j->own);
    free(j->gen_n);
    free(j->gen_start);
    free(j->gen_stop);
    free(j->gen_text);
    memset(j, 0, sizeof *j);
}

struct as_job_store as_job_store_of(const struct as_job *j) {
    const struct as_sweep *s = &j->sweep;
    struct as_job_store v = {s->n_layers ? s->n_layers : j->cfg.n_layers,
                             s->n_heads ? s->n_heads : j->cfg.n_heads,
                             s->n_layers ? s->layers : NULL, s->n_heads ? s->heads : NULL};
    return v;
}

struct as_job_prompt as_job_prompt_of(const struct as_job *j, int64_t i) {
    struct as_job_prompt v = {&j->sweep.prompts[i], j->n_tokens[i], j->ids + j->tok_start[i],
                              j->offsets + 2 * j->tok_start[i], j->tok + j->tok_start[i]};
    return v;
}

static as_status job_alloc(struct as_job *j, struct as_err *err) {
    size_t n = (size_t)j->n, t = (size_t)j->n_tok;
    j->tok_start = calloc(n + 1, sizeof *j->tok_start);
    j->n_tokens = calloc(n ? n : 1, sizeof *j->n_tokens);
    j->ids = calloc(t ? t : 1, sizeof *j->ids);
    j->offsets = calloc(2 * (t ? t : 1), sizeof *j->offsets);
    j->tok = calloc(t ? t : 1, sizeof *j->tok);
    j->rank = calloc(n ? n : 1, sizeof *j->rank);
    j->status0 = calloc(n ? n : 1, sizeof *j->status0);
    j->answer_id = malloc((n ? n : 1) * sizeof *j->answer_id);
    if (!j->tok_start || !j->n_tokens || !j->ids || !j->offsets || !j->tok || !j->rank ||
        !j->status0 || !j->answer_id)
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for %lld prompts / %lld tokens",
                          (long long)j->n, (long long)j->n_tok);
    for (size_t i = 0; i < n; i++)
        j->answer_id[i] = -1;
    return AS_OK;
}

static void job_point_strings(struct as_job *j) {
    const char *p = j->strings;
    for (int64_t t = 0; t < j->n_tok; t++) {
        j->tok[t] = p;
        p += strlen(p) + 1;
    }
}

/* Tokenizes every prompt of the sweep into j. Under model.on_too_long:
 * truncate a prompt keeps its first max_position tokens (BOS included), as HF
 * tokenizers do with truncation=True, max_length=max_position and
 * truncation_side="right"; j->dropped records how many were cut. */
static as_status tokenize_all(struct as_job *j, const struct as_tokenizer *tok, int max_position,
                              struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_sweep *s = &j->sweep;
    struct as_encoding *enc = calloc((size_t)s->n_prompts + 1, sizeof *enc);
    if (!enc) return as_err_set(err, AS_ERR_NOMEM, "out of memory tokenizing the sweep");
    int add_bos = as_tokenizer_add_bos_default(tok);
    int64_t total = 0, sbytes = 0;
    for (int64_t i = 0; i < s->n_prompts; i++) {
        const struct as_sweep_prompt *p = &s->prompts[i];
        if (as_tokenizer_encode(tok, p->text, p->text_len, add_bos, &enc[i], err) != AS_OK) {
            char where[512];
            as_sweep_prompt_where(s, i, where, sizeof where);
            as_err_prefix(err, "%s: prompt '%s'", where, p->id);
            ret = err ? err->status : AS_ERR_INVALID;
            goto done;
        }
        if (s->on_too_long == AS_TOO_LONG_TRUNCATE && enc[i].n > max_position) {
            if (!j->dropped &&
                !(j->dropped = calloc((size_t)s->n_prompts + 1, sizeof *j->dropped))) {
                ret = as_err_set(err, AS_ERR_NOMEM, "out of memory tokenizing the sweep");
                goto done;
            }
            j->dropped[i] = enc[i].n - max_position;
            enc[i].n = max_position; /* keep the first tokens (truncation_side="right") */
        }
        total += enc[i].n;
        for (int t = 0; t < enc[i].n; t++)
            sbytes += (int64_t)strlen(enc[i].tokens[t]) + 1;
    }
    j->n = s->n_prompts;
    j->n_tok = total;
    AS_TRY(job_alloc(j, err));
    j->strings = malloc((size_t)sbytes + 1);
    if (!j->strings) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for token strings");
        goto done;
    }
    j->strings_len = sbytes;
    int64_t pos = 0;
    char *sp = j->strings;
    for (int64_t i = 0; i < j->n; i++) {
        j->tok_start[i] = pos;
        j->n_tokens[i] = enc[i].n;
        for (int t = 0; t < enc[i].n; t++, pos++) {
            j->ids[pos] = enc[i].ids[t];
            j->offsets[2 * pos] = enc[i].offsets[2 * t];
            j->offsets[2 * pos + 1] = enc[i].offsets[2 * t + 1];
            size_t l = strlen(enc[i].tokens[t]);
            memcpy(sp, enc[i].tokens[t], l + 1);
            sp += l + 1;
        }
    }
    j->tok_start[j->n] = pos;
    job_point_strings(j);
done:
    for (int64_t i = 0; i < s->n_prompts; i++)
        as_encoding_free(&enc[i]);
    free(enc);
    return ret;
}

/* Each prompt's expected answer (analysis.answer) as tokens: the tokens of
 * the encoding of text + answer from the first one whose byte span reaches
 * into the answer, i.e. from the token the model would have to produce next
 * (a token merged across the boundary counts: it holds the answer's first
 * bytes) to the end. answer_id[i] is the first, -1 when the prompt has no
 * answer (missing or ""). */
static as_status answer_ids(struct as_job *j, const struct as_tokenizer *tok, struct as_err *err) {
    as_status ret = AS_OK;
    const struct as_sweep *s = &j->sweep;
    if (!s->analysis.answer) return AS_OK;
    const int col = as_sweep_column_find(s, s->analysis.answer);
    if (col < 0)
        return as_err_set(err, AS_ERR_INVALID, "analysis.answer '%s' is not a metadata column",
                          s->analysis.answer);
    char *buf = NULL, cell[64];
    size_t cap = 0, tcap = 0;
    int64_t nt = 0;
    const int add_bos = as_tokenizer_add_bos_default(tok);
    if (!(j->answer_start = calloc((size_t)j->n + 1, sizeof *j->answer_start)))
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for the answers");
    for (int64_t i = 0; i < j->n && ret == AS_OK; i++) {
        const struct as_sweep_prompt *p = &s->prompts[i];
        const char *ans = as_sweep_cell_text(s, col, i, cell, sizeof cell);
        const size_t al = ans ? strlen(ans) : 0;
        j->answer_start[i] = nt;
        if (al == 0 || (s->columns[col].type == AS_SWEEP_COL_FLOAT && !strcmp(ans, "nan")))
            continue;
        if (p->text_len + al + 1 > cap) {
            cap = 2 * (p->text_len + al + 1);
            char *nb = realloc(buf, cap);
            if (!nb) {
                ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the answers");
                break;
            }
            buf = nb;
        }
        memcpy(buf, p->text, p->text_len);
        memcpy(buf + p->text_len, ans, al);
        struct as_encoding e;
        memset(&e, 0, sizeof e);
        if ((ret = as_tokenizer_encode(tok, buf, p->text_len + al, add_bos, &e, err)) != AS_OK) {
            as_err_prefix(err, "prompt '%s': analysis.answer '%s'", p->id, ans);
            break;
        }
        int t0 = 0;
        while (t0 < e.n && (size_t)e.offsets[2 * t0 + 1] <= p->text_len)
            t0++;
        if (t0 < e.n) j->answer_id[i] = e.ids[t0];
        if (nt + (e.n - t0) > (int64_t)tcap) {
            tcap = 2 * (size_t)(nt + (e.n - t0)) + 16;
            int32_t *nb = realloc(j->answer_tok, tcap * sizeof *nb);
            if (!nb) {
                as_encoding_free(&e);
                ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the answers' tokens");
                break;
            }
            j->answer_tok = nb;
        }
        for (int t = t0; t < e.n; t++)
            j->answer_tok[nt++] = e.ids[t];
        as_encoding_free(&e);
    }
    j->answer_start[j->n] = nt;
    if (ret == AS_OK && !j->answer_tok && !(j->answer_tok = malloc(sizeof *j->answer_tok)))
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the answers' tokens");
    free(buf);
    return ret;
}

/* Every id's decoded string, for /behaviour's topk_str and next_str. */
static as_status vocab_strings(struct as_job *j, const struct as_tokenizer *tok,
                               struct as_err *err) {
    const int V = j->cfg.vocab_size;
    size_t w = 1;
    for (int v = 0; v < V; v++) {
        const char *s = v < tok->n_vocab ? as_tokenizer_token_str(tok, v) : NULL;
        size_t l = s ? strlen(s) : 0;
        w = l > w ? l : w;
    }
    if (V < 1 || w > 4096 || !(j->vocab_str = calloc((size_t)V, w)))
        return as_err_set(err, AS_ERR_NOMEM, "out of memory for %d token strings of %zu bytes", V,
                          w);
    for (int v = 0; v < V; v++) {
        const char *s = v < tok->n_vocab ? as_tokenizer_token_str(tok, v) : NULL;
        if (s) memcpy(j->vocab_str + (size_t)v * w, s, strlen(s));
    }
    j->vocab_n = V, j->vocab_width = (int32_t)w;
    return AS_OK;
}

/* --resume: read the existing file's status; refuse a file of another sweep. */
static as_status read_existing(struct as_job *j, const char *path, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5file f;
    char *sha = NULL;
    memset(&f, 0, sizeof f);
    AS_TRY(as_h5file_open_read(&f, path, MPI_COMM_NULL, err));
    if (as_h5file_read_attr_str(&f, "config_sha256", &sha, err) != AS_OK ||
        strcmp(sha, j->sweep.sha256) != 0) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "--resume: %s was written by a different sweep (config_sha256 %.12s..., "
                         "this sweep %.12s...); expected the same YAML, byte for byte. HINT: "
                         "resume with the original YAML, or pass --force to start over",
                         path, sha ? sha : "(none)", j->sweep.sha256);
        goto done;
    }
    if (f.n_prompts != j->n) {
        ret = as_err_set(err, AS_ERR_INVALID, "--resume: %s has %lld prompts, the sweep %lld", path,
                         (long long)f.n_prompts, (long long)j->n);
        goto done;
    }
    for (int64_t i = 0; i < j->n; i++) {
        /* a generating prompt holds its generated tokens too (checked by as_job_generate) */
        const int gen = j->sweep.groups[j->sweep.prompts[i].group_index].gen.max_new_tokens > 0;
        if (strcmp(f.prompts[i].id, j->sweep.prompts[i].id) != 0 ||
            (gen ? f.prompts[i].n_tokens < j->n_tokens[i]
                 : f.prompts[i].n_tokens != j->n_tokens[i])) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "--resume: prompt %lld of %s is '%s' with %d tokens, the sweep has "
                             "'%s' with %d tokens (different model or tokenizer?)",
                             (long long)i, path, f.prompts[i].id, f.prompts[i].n_tokens,
                             j->sweep.prompts[i].id, j->n_tokens[i]);
            goto done;
        }
    }
    AS_TRY(as_h5file_read_status(&f, j->status0, err));
done:
    free(sha);
    as_h5file_close(&f, NULL);
    return ret;
}

/* Plans the prompts that still need computing; rank[i] = -1 for done ones. */
static as_status plan_remaining(struct as_job *j, int quiet, struct as_err *err);

as_status as_job_plan(struct as_job *j, int quiet, struct as_err *err) {
    free(j->batch_start), free(j->batch_len), free(j->batch_rank);
    j->batch_start = NULL, j->batch_len = NULL, j->batch_rank = NULL, j->n_batches = 0;
    return plan_remaining(j, quiet, err);
}

static as_status plan_remaining(struct as_job *j, int quiet, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_plan plan;
    memset(&plan, 0, sizeof plan);
    int64_t m = 0;
    int *ntok = malloc(sizeof(int) * (size_t)(j->n + 1));
    int *expl = malloc(sizeof(int) * (size_t)(j->n + 1));
    int64_t *map = malloc(sizeof(int64_t) * (size_t)(j->n + 1));
    if (!ntok || !expl || !map) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    /* Batches are cut over the WHOLE sweep (a pure function of its prompts and
     * their token counts), so that a resumed run recomputes exactly the
     * batches of an uninterrupted one: a batch with any prompt not done is
     * recomputed whole, with the same packing, hence bit-identical results. */
    /* Skipped prompts (model.on_too_long: skip) are in no batch: the others are cut as if
     * they were not there, and a batch never spans a skipped prompt (index breaks it). */
    int64_t total = 0, *all = NULL, n_all = 0, *bs = NULL, nb = 0, n_ns = 0;
    int64_t *rows = malloc(sizeof(int64_t) * (size_t)(j->n + 1));
    if (!rows) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    for (int64_t i = 0; i < j->n; i++) {
        j->rank[i] = -1;
        if (j->status0[i] == AS_PROMPT_SKIPPED) continue;
        ntok[n_ns] = j->n_tokens[i];
        expl[n_ns] = j->sweep.prompts[i].explicit_rank;
        rows[n_ns++] = i;
        total += j->n_tokens[i];
    }
    ret = as_plan_batches(n_ns, ntok, rows, j->sweep.assign == AS_ASSIGN_EXPLICIT ? expl : NULL,
                          as_plan_batch_budget(total), &all, &n_all, err);
    if (ret != AS_OK) {
        free(rows);
        goto done;
    }
    if (!(bs = malloc(((size_t)n_all + 1) * sizeof *bs))) {
        free(all), free(rows);
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    for (int64_t b = 0; b < n_all; b++) { /* keep the batches that have work left */
        int todo = 0;
        for (int64_t k = all[b]; k < all[b + 1] && !todo; k++)
            todo = j->status0[rows[k]] != AS_PROMPT_DONE;
        if (!todo) continue;
        bs[nb++] = m;
        for (int64_t k = all[b]; k < all[b + 1]; k++) {
            const int64_t i = rows[k];
            ntok[m] = j->n_tokens[i];
            expl[m] = j->sweep.prompts[i].explicit_rank;
            map[m++] = i;
        }
    }
    free(rows);
    bs[nb] = m;
    free(all);
    if (m == 0) { /* --resume of a finished file: nothing to plan */
        free(bs);
        if (!quiet) printf("plan: every prompt of %s is already done\n", j->sweep.output_path);
        goto done;
    }
    struct as_plan_request rq = {0};
    rq.n_batches = nb;
    rq.batch_start = bs;
    rq.n_prompts = m;
    rq.n_tokens = ntok;
    rq.cfg = &j->cfg;
    rq.n_ranks = j->n_ranks;
    rq.assign = j->sweep.assign;
    rq.explicit_rank = expl;
    rq.store = j->sweep.store;
    rq.dtype = j->sweep.dtype;
    rq.n_out_layers = j->sweep.n_layers;
    rq.n_out_heads = j->sweep.n_heads;
    ret = as_plan_build(&plan, &rq, err);
    free(bs);
    if (ret != AS_OK) goto done;
    for (int64_t k = 0; k < m; k++)
        j->rank[map[k]] = plan.rank[k];
    j->n_batches = plan.n_batches;
    j->batch_start = malloc(((size_t)nb + 1) * sizeof *j->batch_start);
    j->batch_len = malloc(((size_t)nb + 1) * sizeof *j->batch_len);
    j->batch_rank = malloc(((size_t)nb + 1) * sizeof *j->batch_rank);
    if (!j->batch_start || !j->batch_len || !j->batch_rank) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory planning");
        goto done;
    }
    for (int64_t b = 0; b < nb; b++) { /* batches in file rows: consecutive by construction */
        j->batch_start[b] = map[plan.batch_start[b]];
        j->batch_len[b] = (int32_t)(plan.batch_start[b + 1] - plan.batch_start[b]);
        j->batch_rank[b] = plan.batch_rank[b];
    }
    if (!quiet) {
        as_plan_print(&plan, &j->sweep, stdout);
        /* peak compute memory: the runstate of the largest batch (its packed
         * activations) plus one layer of attention of its longest prompt */
        int max_tok = 0, max_T = 0, max_n = 0;
        for (int64_t b = 0; b < nb; b++) {
            int tok = 0;
            for (int64_t i = j->batch_start[b]; i < j->batch_start[b] + j->batch_len[b]; i++) {
                tok += j->n_tokens[i];
                if (j->n_tokens[i] > max_T) max_T = j->n_tokens[i];
            }
            if (tok > max_tok) max_tok = tok;
            if (j->batch_len[b] > max_n) max_n = j->batch_len[b];
        }
        double mib = (double)as_runstate_bytes(&j->cfg, max_tok, max_T, max_n) / 1048576.0;
        printf("  batches: up to %d tokens (budget %d) and %d prompts; compute memory per rank "
               "%.1f MiB (runstate for %d tokens + one layer of attention at T = %d), weights "
               "not included\n",
               max_tok, as_plan_batch_budget(total), max_n, mib, max_tok, max_T);
    }
done:
    as_plan_free(&plan);
    free(ntok);
    free(expl);
    free(map);
    return ret;
}

/* Lists the prompts model.on_too_long skipped or truncated (the first 20 and a
 * count), so that the plan shows them before anything is computed. */
static void report_too_long(const struct as_job *j, FILE *fp) {
    const struct as_sweep *s = &j->sweep;
    const int M = j->cfg.max_position, skip = s->on_too_long == AS_TOO_LONG_SKIP;
    int64_t n = 0;
    for (int64_t i = 0; i < j->n; i++)
        n += skip ? j->status0[i] == AS_PROMPT_SKIPPED : j->dropped && j->dropped[i] > 0;
    if (n == 0) return;
    fprintf(fp, "on_too_long: %lld prompt%s longer than the model's max_position (%d tokens) %s:\n",
            (long long)n, n == 1 ? "" : "s", M,
            skip ? "skipped (/sweep/status 3, not computed)"
                 : "truncated to their first tokens (HF truncation_side=\"right\")");
    int64_t shown = 0;
    for (int64_t i = 0; i < j->n && shown < 20; i++) {
        int hit = skip ? j->status0[i] == AS_PROMPT_SKIPPED : j->dropped && j->dropped[i] > 0;
        if (!hit) continue;
        char where[AS_SWEEP_PATH_MAX + 64];
        as_sweep_prompt_where(s, i, where, sizeof where);
        if (skip)
            fprintf(fp, "  %.80s: %d tokens (%s)\n", s->prompts[i].id, j->n_tokens[i], where);
        else
            fprintf(fp, "  %.80s: %d tokens, %d dropped (%s)\n", s->prompts[i].id,
                    j->n_tokens[i] + j->dropped[i], j->dropped[i], where);
        shown++;
    }
    if (n > shown) fprintf(fp, "  ... and %lld more\n", (long long)(n - shown));
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

as_status as_job_prepare(struct as_job *j, const struct as_run_opts *o, int n_ranks,
                         struct as_err *err) {
    as_status ret = AS_OK;
    struct as_model m;
    struct as_tokenizer tok;
    int have_tok = 0;
    memset(j, 0, sizeof *j);
    memset(&m, 0, sizeof m);
    memset(&tok, 0, sizeof tok);
    j->n_ranks = n_ranks;
    struct as_sweep_overrides ov = {o->model_path, o->tokenizer_path, o->output_path};
    AS_TRY(as_sweep_load(&j->sweep, o->sweep_path, &ov, err));
    struct as_sweep *s = &j->sweep;
    if (!o->quiet) as_sweep_print(s, stdout);

    /* layer/head subsets are stored in ascending model order, so that layers
     * stream into the file (and into the metrics) in the order they are computed */
    if (s->n_layers > 0) qsort(s->layers, (size_t)s->n_layers, sizeof *s->layers, cmp_int);
    if (s->n_heads > 0) qsort(s->heads, (size_t)s->n_heads, sizeof *s->heads, cmp_int);
    AS_TRY(as_model_open(&m, s->model_path, err));
    j->cfg = m.cfg;
    AS_TRY(as_sweep_check_model(s, &j->cfg, err));
    AS_TRY(as_sweep_check_ranks(s, n_ranks, err));
    const char *tpath = s->tokenizer_path[0] ? s->tokenizer_path : s->model_path;
    if (!s->tokenizer_path[0] && !as_dir_exists(s->model_path)) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: model %s is not an HF folder, so the sweep needs model.tokenizer "
                         "(e.g. the llama2.c tokenizer.bin) or --tokenizer",
                         s->path, s->model_path);
        goto done;
    }
    AS_TRY(as_tokenizer_load(&tok, tpath, err));
    have_tok = 1;
    if (tok.n_vocab > j->cfg.vocab_size) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "tokenizer %s has %d pieces but model %s has vocab_size %d. HINT: use "
                         "the model's own tokenizer",
                         tok.path, tok.n_vocab, s->model_path, j->cfg.vocab_size);
        goto done;
    }
    AS_TRY(tokenize_all(j, &tok, j->cfg.max_position, err));
    AS_TRY(answer_ids(j, &tok, err));
    AS_TRY(vocab_strings(j, &tok, err));
    if (s->on_too_long == AS_TOO_LONG_ERROR)
        AS_TRY(as_plan_check_lengths(s, j->n_tokens, j->cfg.max_position, err));

    int exists = access(s->output_path, F_OK) == 0;
    if (exists && o->resume && !o->force) {
        j->mode = AS_JOB_RESUME;
        AS_TRY(read_existing(j, s->output_path, err));
    } else if (exists && !o->force && !o->dry_run) {
        ret = as_err_set(err, AS_ERR_EXISTS,
                         "%s already exists; refusing to overwrite it. HINT: pass --resume to "
                         "finish its unfinished prompts, --force to replace it, or --output to "
                         "write elsewhere",
                         s->output_path);
        goto done;
    } else {
        j->mode = AS_JOB_CREATE;
        if (o->resume && !o->quiet)
            printf("attnsweep run: --resume: %s does not exist yet; starting a new file\n",
                   s->output_path);
    }
    /* on_too_long: skip: such prompts are never computed (also after --resume) */
    for (int64_t i = 0; s->on_too_long == AS_TOO_LONG_SKIP && i < j->n; i++)
        if (j->n_tokens[i] > j->cfg.max_position) j->status0[i] = AS_PROMPT_SKIPPED;
    if (!o->quiet || o->dry_run) report_too_long(j, stdout);
    AS_TRY(plan_remaining(j, o->quiet && !o->dry_run, err));
done:
    if (have_tok) as_tokenizer_free(&tok);
    as_model_free(&m);
    return ret;
}

as_status as_job_prepare_one(struct as_job *j, const struct as_run_prompt *p,
                             const struct as_run_opts *o, int n_ranks, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_model m;
    memset(j, 0, sizeof *j);
    memset(&m, 0, sizeof m);
    j->n_ranks = n_ranks;
    struct as_sweep *s = &j->sweep;
    as_sweep_defaults(s);
    snprintf(s->path, sizeof s->path, "%s", "extract");
    snprintf(s->model_path, sizeof s->model_path, "%s", p->model_path);
    snprintf(s->output_path, sizeof s->output_path, "%s", p->output_path);
    s->store = p->store, s->dtype = p->dtype;
    s->weights = (enum as_store_weights)p->weights, s->scores = p->scores;
    s->topk = p->topk, s->logits = p->logits;
    AS_TRY(as_h5_id_validate(p->id, err));
    if (p->n_tokens < 1 || !p->ids)
        return as_err_set(err, AS_ERR_INVALID, "prompt '%s' has no tokens", p->id);
    AS_TRY(as_model_open(&m, s->model_path, err));
    j->cfg = m.cfg;
    as_model_free(&m);
    /* one group, one prompt: "group/variant" ids keep their parts, a single name is its own group
     */
    const char *slash = strchr(p->id, '/');
    size_t idl = strlen(p->id), gl = slash ? (size_t)(slash - p->id) : idl;
    if (!(j->own = malloc(idl + 1 + gl + 1 + p->text_len + 1 + 1)) ||
        !(s->groups = calloc(1, sizeof *s->groups)) ||
        !(s->prompts = calloc(1, sizeof *s->prompts))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the prompt");
        goto done;
    }
    char *id = j->own, *gname = id + idl + 1, *text = gname + gl + 1,
         *empty = text + p->text_len + 1;
    memcpy(id, p->id, idl + 1);
    memcpy(gname, p->id, gl), gname[gl] = '\0';
    memcpy(text, p->text ? p->text : "", p->text_len), text[p->text_len] = '\0';
    *empty = '\0';
    s->n_groups = 1, s->n_prompts = 1, s->text_bytes = idl + p->text_len;
    s->groups[0].name = gname, s->groups[0].n_prompts = 1;
    struct as_sweep_prompt *sp = &s->prompts[0];
    sp->id = id, sp->group = gname, sp->variant = slash ? id + gl + 1 : empty;
    sp->text = text, sp->text_len = p->text_len, sp->explicit_rank = -1;
    sp->prompt_start = 0, sp->prompt_len = p->text_len; /* no chat template */
    /* tokens */
    j->n = 1, j->n_tok = p->n_tokens;
    AS_TRY(job_alloc(j, err));
    int64_t sbytes = 0;
    for (int t = 0; t < p->n_tokens; t++)
        sbytes += (int64_t)strlen(p->tokens ? p->tokens[t] : "") + 1;
    if (!(j->strings = malloc((size_t)sbytes + 1))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the token strings");
        goto done;
    }
    j->strings_len = sbytes;
    char *q = j->strings;
    for (int t = 0; t < p->n_tokens; t++) {
        const char *ts = p->tokens ? p->tokens[t] : "";
        size_t l = strlen(ts) + 1;
        memcpy(q, ts, l), q += l;
        j->ids[t] = p->ids[t];
        j->offsets[2 * t] = p->offsets ? p->offsets[2 * t] : 0;
        j->offsets[2 * t + 1] = p->offsets ? p->offsets[2 * t + 1] : 0;
    }
    j->tok_start[0] = 0, j->tok_start[1] = p->n_tokens, j->n_tokens[0] = p->n_tokens;
    job_point_strings(j);
    if (p->tokenizer) AS_TRY(vocab_strings(j, p->tokenizer, err));
    AS_TRY(as_plan_check_lengths(s, j->n_tokens, j->cfg.max_position, err));
    j->mode = AS_JOB_CREATE;
    AS_TRY(plan_remaining(j, o->quiet, err));
done:
    return ret;
}

/* ---- broadcast ------------------------------------------------------------ */

struct wbuf {
    char *p;
    size_t n, cap;
    int oom;
};

static void put(struct wbuf *b, const void *d, size_t n) {
    if (b->oom || n == 0) return; /* memcpy from NULL is undefined even for 0 bytes */
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static as_status job_pack(const struct as_job *j, struct wbuf *b, struct as_err *err) {
    void *sb = NULL;
    size_t sl = 0;
    as_status st = as_sweep_pack(&j->sweep, &sb, &sl, err);
    if (st != AS_OK) return st;
    uint64_t sl64 = sl;
    put(b, &sl64, 8);
    put(b, sb, sl);
    free(sb);
    put(b, &j->cfg, sizeof j->cfg);
    int32_t hdr[2] = {j->mode, j->n_ranks};
    put(b, hdr, sizeof hdr);
    int64_t sizes[3] = {j->n, j->n_tok, j->strings_len};
    put(b, sizes, sizeof sizes);
    put(b, j->tok_start, sizeof(int64_t) * (size_t)(j->n + 1));
    put(b, j->n_tokens, sizeof(int32_t) * (size_t)j->n);
    put(b, j->ids, sizeof(int32_t) * (size_t)j->n_tok);
    put(b, j->offsets, 2 * sizeof(int32_t) * (size_t)j->n_tok);
    put(b, j->strings, (size_t)j->strings_len);
    put(b, j->rank, sizeof(int32_t) * (size_t)j->n);
    put(b, j->status0, (size_t)j->n);
    put(b, j->answer_id, sizeof(int32_t) * (size_t)j->n);
    const int64_t n_ans = j->answer_start ? j->answer_start[j->n] : -1;
    put(b, &n_ans, sizeof n_ans);
    if (j->answer_start) {
        put(b, j->answer_start, sizeof(int64_t) * (size_t)(j->n + 1));
        put(b, j->answer_tok, sizeof(int32_t) * (size_t)n_ans);
    }
    put(b, &j->n_batches, sizeof j->n_batches);
    put(b, j->batch_start, sizeof(int64_t) * (size_t)j->n_batches);
    put(b, j->batch_len, sizeof(int32_t) * (size_t)j->n_batches);
    put(b, j->batch_rank, sizeof(int32_t) * (size_t)j->n_batches);
    const int32_t vs[2] = {j->vocab_str ? j->vocab_n : 0, j->vocab_width};
    put(b, vs, sizeof vs);
    if (j->vocab_str) put(b, j->vocab_str, (size_t)j->vocab_n * (size_t)j->vocab_width);
    const int32_t has_gen = j->gen_n != NULL;
    put(b, &has_gen, sizeof has_gen);
    if (has_gen) {
        put(b, j->gen_n, sizeof(int32_t) * (size_t)j->n);
        put(b, j->gen_start, sizeof(int64_t) * (size_t)j->n);
        put(b, j->gen_stop, (size_t)j->n);
    }
    if (b->oom) return as_err_set(err, AS_ERR_NOMEM, "out of memory packing the job");
    return AS_OK;
}

static as_status take(struct as_cursor *c, void *dst, size_t n, const char *what,
                      struct as_err *err) {
    const void *p;
    as_status st = as_cursor_take(c, n, &p, what, err);
    if (st == AS_OK && n) memcpy(dst, p, n);
    return st;
}

static as_status job_unpack(struct as_job *j, const char *buf, size_t len, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_cursor c;
    as_cursor_init(&c, buf, len, "job broadcast");
    uint64_t sl;
    const void *sp;
    AS_TRY(take(&c, &sl, 8, "sweep size", err));
    AS_TRY(as_cursor_take(&c, (size_t)sl, &sp, "sweep", err));
    AS_TRY(as_sweep_unpack(&j->sweep, sp, (size_t)sl, err));
    AS_TRY(take(&c, &j->cfg, sizeof j->cfg, "config", err));
    int32_t hdr[2];
    AS_TRY(take(&c, hdr, sizeof hdr, "header", err));
    j->mode = hdr[0];
    j->n_ranks = hdr[1];
    int64_t sizes[3];
    AS_TRY(take(&c, sizes, sizeof sizes, "sizes", err));
    j->n = sizes[0];
    j->n_tok = sizes[1];
    j->strings_len = sizes[2];
    if (j->n < 0 || j->n_tok < 0 || j->strings_len < 0 || (size_t)j->n_tok > len ||
        (size_t)j->n > len || (size_t)j->strings_len > len) {
        ret = as_err_set(err, AS_ERR_FORMAT, "job broadcast: corrupt sizes");
        goto done;
    }
    AS_TRY(job_alloc(j, err));
    j->strings = malloc((size_t)j->strings_len + 1);
    if (!j->strings) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for token strings");
        goto done;
    }
    AS_TRY(take(&c, j->tok_start, sizeof(int64_t) * (size_t)(j->n + 1), "tok_start", err));
    AS_TRY(take(&c, j->n_tokens, sizeof(int32_t) * (size_t)j->n, "n_tokens", err));
    AS_TRY(take(&c, j->ids, sizeof(int32_t) * (size_t)j->n_tok, "ids", err));
    AS_TRY(take(&c, j->offsets, 2 * sizeof(int32_t) * (size_t)j->n_tok, "offsets", err));
    AS_TRY(take(&c, j->strings, (size_t)j->strings_len, "strings", err));
    AS_TRY(take(&c, j->rank, sizeof(int32_t) * (size_t)j->n, "rank", err));
    AS_TRY(take(&c, j->status0, (size_t)j->n, "status", err));
    AS_TRY(take(&c, j->answer_id, sizeof(int32_t) * (size_t)j->n, "answer ids", err));
    int64_t n_ans;
    AS_TRY(take(&c, &n_ans, sizeof n_ans, "answer token count", err));
    if (n_ans < -1 || n_ans > (int64_t)len) {
        ret = as_err_set(err, AS_ERR_FORMAT, "job broadcast: corrupt answer token count");
        goto done;
    }
    if (n_ans >= 0) {
        j->answer_start = malloc(((size_t)j->n + 1) * sizeof *j->answer_start);
        j->answer_tok = malloc(((size_t)n_ans + 1) * sizeof *j->answer_tok);
        if (!j->answer_start || !j->answer_tok) {
            ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the answers' tokens");
            goto done;
        }
        AS_TRY(
            take(&c, j->answer_start, sizeof(int64_t) * (size_t)(j->n + 1), "answer starts", err));
        AS_TRY(take(&c, j->answer_tok, sizeof(int32_t) * (size_t)n_ans, "answer tokens", err));
        for (int64_t i = 0; i < j->n; i++)
            if (j->answer_start[i] < 0 || j->answer_start[i] > j->answer_start[i + 1] ||
                j->answer_start[j->n] != n_ans) {
                ret = as_err_set(err, AS_ERR_FORMAT, "job broadcast: corrupt answer starts");
                goto done;
            }
    }
    AS_TRY(take(&c, &j->n_batches, sizeof j->n_batches, "batches", err));
    if (j->n_batches < 0 || j->n_batches > j->n) {
        ret = as_err_set(err, AS_ERR_FORMAT, "job broadcast: corrupt batch count");
        goto done;
    }
    j->batch_start = malloc(((size_t)j->n_batches + 1) * sizeof *j->batch_start);
    j->batch_len = malloc(((size_t)j->n_batches + 1) * sizeof *j->batch_len);
    j->batch_rank = malloc(((size_t)j->n_batches + 1) * sizeof *j->batch_rank);
    if (!j->batch_start || !j->batch_len || !j->batch_rank) {
        ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the batches");
        goto done;
    }
    AS_TRY(take(&c, j->batch_start, sizeof(int64_t) * (size_t)j->n_batches, "batch starts", err));
    AS_TRY(take(&c, j->batch_len, sizeof(int32_t) * (size_t)j->n_batches, "batch sizes", err));
    AS_TRY(take(&c, j->batch_rank, sizeof(int32_t) * (size_t)j->n_batches, "batch ranks", err));
    int32_t vs[2];
    AS_TRY(take(&c, vs, sizeof vs, "vocabulary size", err));
    if (vs[0] < 0 || vs[0] > j->cfg.vocab_size || vs[1] < 0 || vs[1] > 4096 ||
        (size_t)vs[0] * (size_t)vs[1] > len) {
        ret = as_err_set(err, AS_ERR_FORMAT, "job broadcast: corrupt vocabulary strings");
        goto done;
    }
    if (vs[0] > 0) {
        if (!(j->vocab_str = malloc((size_t)vs[0] * (size_t)vs[1]))) {
            ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the token strings");
            goto done;
        }
        j->vocab_n = vs[0], j->vocab_width = vs[1];
        AS_TRY(take(&c, j->vocab_str, (size_t)vs[0] * (size_t)vs[1], "vocabulary strings", err));
    }
    int32_t has_gen;
    AS_TRY(take(&c, &has_gen, sizeof has_gen, "generation flag", err));
    if (has_gen) {
        j->gen_n = malloc(sizeof(int32_t) * ((size_t)j->n + 1));
        j->gen_start = malloc(sizeof(int64_t) * ((size_t)j->n + 1));
        j->gen_stop = malloc((size_t)j->n + 1);
        if (!j->gen_n || !j->gen_start || !j->gen_stop) {
            ret = as_err_set(err, AS_ERR_NOMEM, "out of memory for the generation columns");
            goto done;
        }
        AS_TRY(take(&c, j->gen_n, sizeof(int32_t) * (size_t)j->n, "n_generated", err));
        AS_TRY(take(&c, j->gen_start, sizeof(int64_t) * (size_t)j->n, "generated_start", err));
        AS_TRY(take(&c, j->gen_stop, (size_t)j->n, "stop_reason", err));
    }
    j->strings[j->strings_len] = '\0';
    job_point_strings(j);
done:
    return ret;
}

as_status as_job_bcast(struct as_job *j, MPI_Comm comm, struct as_err *err) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (size == 1) return AS_OK; /* rank 0 has the job already */
    struct wbuf b = {0};
    as_status st = AS_OK;
    if (rank == 0) st = job_pack(j, &b, err);
    st = as_mpi_agree(comm, st, err);
    if (st != AS_OK) {
        free(b.p);
        return st;
    }
    uint64_t n = b.n;
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, comm);
    if (rank != 0) {
        b.p = malloc(n ? n : 1);
        st = b.p ? AS_OK : as_err_set(err, AS_ERR_NOMEM, "out of memory for the job broadcast");
    }
    st = as_mpi_agree(comm, st, err);
    /* MPI counts are int: broadcast in chunks of at most 1 GiB */
    for (uint64_t off = 0; st == AS_OK && off < n; off += (1u << 30)) {
        uint64_t k = n - off < (1u << 30) ? n - off : (1u << 30);
        if (MPI_Bcast(b.p + off, (int)k, MPI_BYTE, 0, comm) != MPI_SUCCESS)
            st = as_err_set(err, AS_ERR_MPI, "MPI_Bcast of the job failed");
    }
    if (st == AS_OK && rank != 0) st = job_unpack(j, b.p, (size_t)n, err);
    free(b.p);
    return as_mpi_agree(comm, st, err);
}
