/* sweep.c - load, validate, explicit rank assignment, printing and lookups.
 *
 * as_sweep_load_string is the whole pipeline (see sweep.h): defaults ->
 * YAML tree -> settings -> groups -> explicit ranks -> overrides ->
 * as_sweep_validate. Each stage stops at the first error, whose message
 * points at the offending line and column. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "attnsweep/fileio.h"
#include "sweep_internal.h"

/* ------------------------------------------------------------ small helpers */

void as_sha256_hex(const void *data, size_t n, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    static const char hex[] = "0123456789abcdef";
    if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != 32) {
        memset(out, '0', 64); /* cannot happen with a working libcrypto */
        out[64] = '\0';
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

const char *as_assign_name(enum as_assign a) {
    switch (a) {
    case AS_ASSIGN_BALANCED: return "balanced";
    case AS_ASSIGN_ROUND_ROBIN: return "round_robin";
    case AS_ASSIGN_EXPLICIT: return "explicit";
    }
    return "unknown";
}

int as_assign_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "balanced")) return AS_ASSIGN_BALANCED;
    if (!strcmp(name, "round_robin")) return AS_ASSIGN_ROUND_ROBIN;
    if (!strcmp(name, "explicit")) return AS_ASSIGN_EXPLICIT;
    return -1;
}

const char *as_too_long_name(enum as_too_long t) {
    switch (t) {
    case AS_TOO_LONG_ERROR: return "error";
    case AS_TOO_LONG_SKIP: return "skip";
    case AS_TOO_LONG_TRUNCATE: return "truncate";
    }
    return "unknown";
}

int as_too_long_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "error")) return AS_TOO_LONG_ERROR;
    if (!strcmp(name, "skip")) return AS_TOO_LONG_SKIP;
    if (!strcmp(name, "truncate")) return AS_TOO_LONG_TRUNCATE;
    return -1;
}

void as_sweep_defaults(struct as_sweep *s) {
    memset(s, 0, sizeof *s);
    snprintf(s->model_path, sizeof s->model_path, "%s", "models/default");
    s->tokenizer_path[0] = '\0'; /* the model's own tokenizer */
    s->output_path[0] = '\0';    /* results/<YAML stem>.h5, resolved at load */
    s->store = 0;                /* AS_STORE_FULL */
    s->dtype = 0;                /* AS_OUT_F32 */
    s->layers = NULL;            /* all */
    s->heads = NULL;             /* all */
    s->assign = AS_ASSIGN_BALANCED;
    s->on_too_long = AS_TOO_LONG_ERROR;
    sw_analysis_defaults(&s->analysis);
}

void as_sweep_free(struct as_sweep *s) {
    if (!s) return;
    free(s->yaml);
    free(s->groups);
    free(s->prompts);
    if (s->internal) {
        sw_arena_free(s->internal);
        free(s->internal);
    }
    memset(s, 0, sizeof *s);
}

const char *as_sweep_prompt_where(const struct as_sweep *s, int64_t i, char *out, size_t cap) {
    if (i < 0 || i >= s->n_prompts) {
        snprintf(out, cap, "%s", s->path);
        return out;
    }
    const struct as_sweep_prompt *p = &s->prompts[i];
    if (p->file_line > 0)
        snprintf(out, cap, "%s:%lld (file: at %s:%d:%d)", s->groups[p->group_index].file,
                 (long long)p->file_line, s->path, p->mark.line, p->mark.col);
    else
        snprintf(out, cap, "%s:%d:%d", s->path, p->mark.line, p->mark.col);
    return out;
}

int64_t as_sweep_find_prompt(const struct as_sweep *s, const char *id) {
    for (int64_t i = 0; i < s->n_prompts; i++)
        if (!strcmp(s->prompts[i].id, id)) return i;
    return -1;
}

int as_sweep_span_text(const struct as_sweep *s, int64_t i, int span, const char **text,
                       size_t *len) {
    if (i < 0 || i >= s->n_prompts) return 0;
    const struct as_sweep_prompt *p = &s->prompts[i];
    const struct as_sweep_group *g = &s->groups[p->group_index];
    if (span < 0 || span >= g->n_spans) return 0;
    const struct as_sweep_span *sp = &g->spans[span];
    if (sp->text) {
        *text = sp->text, *len = sp->text_len;
        return 1;
    }
    const struct as_sweep_span_text *st = &sp->texts[i - g->first_prompt];
    if (!st->text || st->len == 0) return 0;
    *text = st->text, *len = st->len;
    return 1;
}

int as_sweep_span_find(const struct as_sweep *s, int64_t i, int span, size_t *begin, size_t *end) {
    const char *t;
    size_t n;
    if (!as_sweep_span_text(s, i, span, &t, &n)) return 0;
    const struct as_sweep_prompt *p = &s->prompts[i];
    const char *u = p->text + p->prompt_start;
    const char *hit = memmem(u, p->prompt_len, t, n);
    if (!hit) return 0;
    *begin = (size_t)(hit - p->text);
    *end = *begin + n;
    return 1;
}

/* "jobs/x.yaml:3:11", "jobs/x.yaml (--output)" or "jobs/x.yaml (default)". */
static const char *setting_where(const struct as_sweep *s, struct as_sweep_mark m, unsigned ov,
                                 const char *flag, char *buf, size_t cap) {
    if (ov && (s->overridden & ov))
        snprintf(buf, cap, "%s (%s)", s->path, flag);
    else if (m.line > 0)
        snprintf(buf, cap, "%s:%d:%d", s->path, m.line, m.col);
    else
        snprintf(buf, cap, "%s (default)", s->path);
    return buf;
}

/* ------------------------------------------------------------ validation */

static as_status check_subset(const struct as_sweep *s, const int *v, int n, const char *what,
                              struct as_sweep_mark m, struct as_err *err) {
    for (int i = 0; i < n; i++) {
        if (v[i] < 0)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s:%d:%d: %s[%d] is %d; expected a non-negative index", s->path,
                              m.line, m.col, what, i, v[i]);
        for (int j = 0; j < i; j++)
            if (v[j] == v[i])
                return as_err_set(err, AS_ERR_INVALID,
                                  "%s:%d:%d: %s[%d] = %d repeats %s[%d]; expected each index once",
                                  s->path, m.line, m.col, what, i, v[i], what, j);
    }
    return AS_OK;
}

as_status as_sweep_validate(const struct as_sweep *s, struct as_err *err) {
    char w[AS_SWEEP_PATH_MAX + 64];
    as_status ret;
    if (!s->model_path[0])
        return as_err_set(
            err, AS_ERR_INVALID, "%s: model.path is empty; expected a model folder or .bin",
            setting_where(s, s->marks.model_path, AS_SWEEP_OV_MODEL, "--model", w, sizeof w));
    if (!s->output_path[0])
        return as_err_set(
            err, AS_ERR_INVALID, "%s: output.path is empty; expected an .h5 file path",
            setting_where(s, s->marks.output_path, AS_SWEEP_OV_OUTPUT, "--output", w, sizeof w));
    {
        const char *out = s->output_path;
        size_t len = strlen(out);
        const char *slash = strrchr(out, '/');
        char dir[AS_SWEEP_PATH_MAX];
        if (out[len - 1] == '/')
            return as_err_set(
                err, AS_ERR_INVALID,
                "%s: output.path '%s' names a folder; expected a file like "
                "results/sweep.h5",
                setting_where(s, s->marks.output_path, AS_SWEEP_OV_OUTPUT, "--output", w, sizeof w),
                out);
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == out)
            snprintf(dir, sizeof dir, "/");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
        if (!as_dir_exists(dir))
            return as_err_set(
                err, AS_ERR_IO,
                "%s: the folder '%s' of output.path '%s' does not exist; expected an "
                "existing folder (paths are relative to the current directory). "
                "HINT: mkdir -p %s",
                setting_where(s, s->marks.output_path, AS_SWEEP_OV_OUTPUT, "--output", w, sizeof w),
                dir, out, dir);
    }
    if ((int)s->store < 0 || (int)s->store > 2)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: output.store is %d; expected 0 (full), 1 "
                          "(last_row) or 2 (none)",
                          s->path, s->store);
    if ((int)s->on_too_long < 0 || (int)s->on_too_long > AS_TOO_LONG_TRUNCATE)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: model.on_too_long is %d; expected 0 (error), 1 (skip) or 2 "
                          "(truncate)",
                          s->path, (int)s->on_too_long);
    if ((int)s->dtype < 0 || (int)s->dtype > 1)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: output.dtype is %d; expected 0 (float32) "
                          "or 1 (float16)",
                          s->path, s->dtype);
    if ((ret = check_subset(s, s->layers, s->n_layers, "output.layers", s->marks.layers, err)))
        return ret;
    if ((ret = check_subset(s, s->heads, s->n_heads, "output.heads", s->marks.heads, err)))
        return ret;
    for (int i = 0; i < s->n_keywords; i++) {
        if (!s->keywords[i][0])
            return as_err_set(err, AS_ERR_INVALID,
                              "%s:%d:%d: analysis.keywords[%d] is empty; "
                              "expected a non-empty string",
                              s->path, s->marks.keywords.line, s->marks.keywords.col, i);
    }
    if (s->n_groups < 1 || s->n_prompts < 1)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: the sweep has no prompts; expected at least one", s->path);
    if ((long long)s->text_bytes > AS_SWEEP_MAX_TEXT_BYTES)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: the prompts take %zu bytes; expected at most %lld", s->path,
                          s->text_bytes, (long long)AS_SWEEP_MAX_TEXT_BYTES);
    for (int64_t i = 0; i < s->n_prompts; i++) {
        const struct as_sweep_prompt *p = &s->prompts[i];
        size_t glen = strlen(p->group);
        const char *why = NULL;
        if (!p->id || strncmp(p->id, p->group, glen) || p->id[glen] != '/' ||
            p->variant != p->id + glen + 1)
            why = "is not <group>/<variant>";
        else if ((why = sw_name_problem(p->group, glen)) ||
                 (why = sw_name_problem(p->variant, strlen(p->variant))))
            ;
        else if (glen + 1 + strlen(p->variant) >= AS_SWEEP_ID_MAX)
            why = "is too long";
        else if (!p->text || p->text_len == 0 || strlen(p->text) != p->text_len)
            why = "has an empty text or a NUL inside it";
        if (why)
            return as_err_set(err, AS_ERR_INVALID, "%s: prompt %lld ('%.80s') %s",
                              as_sweep_prompt_where(s, i, w, sizeof w), (long long)i,
                              p->id ? p->id : "", why);
    }
    struct sw_index ix = {0};
    ret = sw_index_build(s, &ix, err);
    sw_index_free(&ix);
    if (ret != AS_OK) return ret;
    if (s->assign == AS_ASSIGN_EXPLICIT) {
        int64_t missing = 0;
        char list[1200];
        size_t off = 0;
        list[0] = '\0';
        for (int64_t i = 0; i < s->n_prompts; i++) {
            if (s->prompts[i].explicit_rank >= 0) continue;
            if (missing < 20 && off < sizeof list) {
                int n = snprintf(list + off, sizeof list - off, "%s%.60s", missing ? ", " : "",
                                 s->prompts[i].id);
                if (n > 0 && (size_t)n < sizeof list - off) off += (size_t)n;
            }
            missing++;
        }
        if (missing)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s:%d:%d: ranks.explicit leaves %lld prompt%s unassigned: %s%s; "
                              "expected every prompt assigned to one rank. HINT: list a group "
                              "name to assign all its prompts",
                              s->path, s->marks.explicit_.line, s->marks.explicit_.col,
                              (long long)missing, missing == 1 ? "" : "s", list,
                              missing > 20 ? ", ..." : "");
    }
    return AS_OK;
}

as_status as_sweep_check_ranks(const struct as_sweep *s, int n_ranks, struct as_err *err) {
    if (n_ranks < 1)
        return as_err_set(err, AS_ERR_INVALID, "%s: %d MPI ranks; expected at least 1", s->path,
                          n_ranks);
    if (s->assign != AS_ASSIGN_EXPLICIT) return AS_OK;
    int64_t first = -1, bad = 0;
    int max_rank = -1;
    for (int64_t i = 0; i < s->n_prompts; i++) {
        int r = s->prompts[i].explicit_rank;
        if (r > max_rank) max_rank = r;
        if (r >= n_ranks) {
            if (first < 0) first = i;
            bad++;
        }
    }
    if (first < 0) return AS_OK;
    const struct as_sweep_prompt *p = &s->prompts[first];
    return as_err_set(
        err, AS_ERR_INVALID,
        "%s:%d:%d: ranks.explicit assigns prompt '%s' to rank %d, but the job has "
        "%d rank%s (0..%d); %lld prompt%s assigned to ranks >= %d; expected ranks < %d. "
        "HINT: run with mpirun -n %d, or change ranks.explicit",
        s->path, p->assign_mark.line, p->assign_mark.col, p->id, p->explicit_rank, n_ranks,
        n_ranks == 1 ? "" : "s", n_ranks - 1, (long long)bad, bad == 1 ? " is" : "s are", n_ranks,
        n_ranks, max_rank + 1);
}

as_status as_sweep_check_model(const struct as_sweep *s, const struct as_config *cfg,
                               struct as_err *err) {
    for (int i = 0; i < s->n_layers; i++)
        if (s->layers[i] >= cfg->n_layers)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s:%d:%d: output.layers[%d] = %d, but the model has %d layers "
                              "(0..%d); expected a layer index < %d",
                              s->path, s->marks.layers.line, s->marks.layers.col, i, s->layers[i],
                              cfg->n_layers, cfg->n_layers - 1, cfg->n_layers);
    for (int i = 0; i < s->n_heads; i++)
        if (s->heads[i] >= cfg->n_heads)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s:%d:%d: output.heads[%d] = %d, but the model has %d heads "
                              "(0..%d); expected a head index < %d",
                              s->path, s->marks.heads.line, s->marks.heads.col, i, s->heads[i],
                              cfg->n_heads, cfg->n_heads - 1, cfg->n_heads);
    if (s->topk > cfg->vocab_size)
        return as_err_set(err, AS_ERR_INVALID,
                          "%s:%d:%d: output.topk is %d, but the model's vocabulary has %d tokens; "
                          "expected 1 <= topk <= %d",
                          s->path, s->topk_mark.line, s->topk_mark.col, s->topk, cfg->vocab_size,
                          cfg->vocab_size);
    return AS_OK;
}

/* ------------------------------------------------------------ load */

static void default_output_path(struct as_sweep *s) {
    const char *base = strrchr(s->path, '/');
    base = base ? base + 1 : s->path;
    size_t len = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base) len = (size_t)(dot - base);
    if (len == 0) {
        base = "sweep";
        len = 5;
    }
    snprintf(s->output_path, sizeof s->output_path, "results/%.*s.h5", (int)len, base);
}

static as_status copy_override(struct as_sweep *s, char *dst, const char *v, const char *flag,
                               unsigned bit, struct as_err *err) {
    if (!v) return AS_OK;
    if (strlen(v) >= AS_SWEEP_PATH_MAX)
        return as_err_set(err, AS_ERR_INVALID, "%s: the path is %zu bytes; expected fewer than %d",
                          flag, strlen(v), AS_SWEEP_PATH_MAX);
    snprintf(dst, AS_SWEEP_PATH_MAX, "%s", v);
    s->overridden |= bit;
    return AS_OK;
}

as_status as_sweep_load_string(struct as_sweep *s, const char *yaml, size_t len, const char *name,
                               const char *base_dir, const struct as_sweep_overrides *ov,
                               struct as_err *err) {
    as_status ret = AS_OK;
    struct sw_tree t = {0};
    struct sw_index ix = {0};
    struct sw_ctx c = {.s = s,
                       .t = &t,
                       .err = err,
                       .groups_node = -1,
                       .explicit_node = -1,
                       .analysis_node = -1,
                       .ov = ov};
    t.root = -1;
    as_sweep_defaults(s);
    if (!name) name = "<sweep>";
    if (!base_dir) base_dir = "";
    if (strlen(name) >= sizeof s->path || strlen(base_dir) >= sizeof s->base_dir) {
        ret = as_err_set(err, AS_ERR_INVALID, "%.200s: the path is too long", name);
        goto done;
    }
    snprintf(s->path, sizeof s->path, "%s", name);
    snprintf(s->base_dir, sizeof s->base_dir, "%s", base_dir);
    if ((long long)len > AS_SWEEP_MAX_YAML_BYTES) {
        ret = as_err_set(err, AS_ERR_INVALID, "%s: the YAML is %zu bytes; expected at most %lld",
                         s->path, len, (long long)AS_SWEEP_MAX_YAML_BYTES);
        goto done;
    }
    s->yaml = malloc(len + 1);
    s->internal = calloc(1, sizeof(struct sw_arena));
    if (!s->yaml || !s->internal) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", s->path);
        goto done;
    }
    if (len) memcpy(s->yaml, yaml, len);
    s->yaml[len] = '\0';
    s->yaml_len = len;
    as_sha256_hex(s->yaml, len, s->sha256);

    AS_TRY(sw_tree_parse(&t, s->yaml, len, s->path, err));
    c.arena = s->internal;
    AS_TRY(sw_parse_settings(&c));
    AS_TRY(sw_expand_groups(&c));
    AS_TRY(sw_resolve_analysis(&c));
    AS_TRY(sw_index_build(s, &ix, err));
    AS_TRY(sw_resolve_explicit(&c, &ix));
    if (!c.has_output_path) default_output_path(s);
    if (ov) {
        AS_TRY(copy_override(s, s->model_path, ov->model_path, "--model", AS_SWEEP_OV_MODEL, err));
        AS_TRY(copy_override(s, s->tokenizer_path, ov->tokenizer_path, "--tokenizer",
                             AS_SWEEP_OV_TOKENIZER, err));
        AS_TRY(
            copy_override(s, s->output_path, ov->output_path, "--output", AS_SWEEP_OV_OUTPUT, err));
    }
    AS_TRY(as_sweep_validate(s, err));
done:
    sw_index_free(&ix);
    sw_meta_free(&c.meta);
    sw_group_state_free(&c.gs);
    sw_tree_free(&t);
    if (ret != AS_OK) as_sweep_free(s);
    return ret;
}

as_status as_sweep_load(struct as_sweep *s, const char *path, const struct as_sweep_overrides *ov,
                        struct as_err *err) {
    as_status ret = AS_OK;
    char *data = NULL;
    size_t len = 0;
    struct stat st;
    as_sweep_defaults(s);
    if (!path || stat(path, &st) != 0)
        return as_err_set(err, AS_ERR_IO, "%s: cannot open the sweep YAML: no such file",
                          path ? path : "(null)");
    if (!S_ISREG(st.st_mode))
        return as_err_set(err, AS_ERR_IO, "%s: the sweep YAML is not a regular file", path);
    if ((long long)st.st_size > AS_SWEEP_MAX_YAML_BYTES)
        return as_err_set(err, AS_ERR_INVALID, "%s: the YAML is %lld bytes; expected at most %lld",
                          path, (long long)st.st_size, (long long)AS_SWEEP_MAX_YAML_BYTES);
    AS_TRY(as_file_read_all(path, &data, &len, err));
    char dir[AS_SWEEP_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        dir[0] = '\0';
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    ret = as_sweep_load_string(s, data, len, path, dir, ov, err);
done:
    free(data);
    return ret;
}

/* ------------------------------------------------------------ printing */

static const char *store_name(int v) {
    return v == 0 ? "full" : v == 1 ? "last_row" : v == 2 ? "none" : "?";
}
static const char *dtype_name(int v) {
    return v == 0 ? "float32" : v == 1 ? "float16" : "?";
}

static const char *origin(const struct as_sweep *s, struct as_sweep_mark m, unsigned ov,
                          const char *flag, char *buf, size_t cap) {
    if (ov && (s->overridden & ov))
        snprintf(buf, cap, "(%s)", flag);
    else if (m.line > 0)
        snprintf(buf, cap, "(line %d)", m.line);
    else
        snprintf(buf, cap, "(default)");
    return buf;
}

static void print_ints(FILE *fp, const int *v, int n, const char *all) {
    if (n == 0) {
        fprintf(fp, "%s", all);
        return;
    }
    fputc('[', fp);
    for (int i = 0; i < n; i++)
        fprintf(fp, "%s%d", i ? ", " : "", v[i]);
    fputc(']', fp);
}

void as_sweep_print(const struct as_sweep *s, FILE *fp) {
    static const char *const src_names[] = {"prompts", "template", "file"};
    char o[64];
    fprintf(fp, "sweep %s (sha256 %.16s...)\n", s->path, s->sha256);
    fprintf(fp, "  %-18s %-40s %s\n", "model.path", s->model_path,
            origin(s, s->marks.model_path, AS_SWEEP_OV_MODEL, "--model", o, sizeof o));
    fprintf(fp, "  %-18s %-40s %s\n", "model.tokenizer",
            s->tokenizer_path[0] ? s->tokenizer_path : "(the model's own)",
            origin(s, s->marks.tokenizer_path, AS_SWEEP_OV_TOKENIZER, "--tokenizer", o, sizeof o));
    fprintf(fp, "  %-18s %-40s %s\n", "model.on_too_long", as_too_long_name(s->on_too_long),
            origin(s, s->marks.on_too_long, 0, NULL, o, sizeof o));
    fprintf(fp, "  %-18s %-40s %s\n", "output.path", s->output_path,
            origin(s, s->marks.output_path, AS_SWEEP_OV_OUTPUT, "--output", o, sizeof o));
    fprintf(fp, "  %-18s %-40s %s\n", "output.store", store_name(s->store),
            origin(s, s->marks.store, 0, NULL, o, sizeof o));
    fprintf(fp, "  %-18s %-40s %s\n", "output.dtype", dtype_name(s->dtype),
            origin(s, s->marks.dtype, 0, NULL, o, sizeof o));
    fprintf(fp, "  %-18s ", "output.layers");
    print_ints(fp, s->layers, s->n_layers, "all");
    fprintf(fp, "  %s\n", origin(s, s->marks.layers, 0, NULL, o, sizeof o));
    fprintf(fp, "  %-18s ", "output.heads");
    print_ints(fp, s->heads, s->n_heads, "all");
    fprintf(fp, "  %s\n", origin(s, s->marks.heads, 0, NULL, o, sizeof o));
    fprintf(fp, "  %-18s %s\n", "output.weights", as_weights_name(s->weights));
    fprintf(fp, "  %-18s %s\n", "output.scores", s->scores ? "true" : "false");
    char kb[32];
    snprintf(kb, sizeof kb, "%d", s->topk);
    fprintf(fp, "  %-18s %-40s %s\n", "output.topk", s->topk ? kb : "min(10, vocab_size)",
            origin(s, s->topk_mark, 0, NULL, o, sizeof o));
    fprintf(fp, "  %-18s %-40s %s\n", "output.logits", s->logits ? "true" : "false",
            origin(s, s->logits_mark, 0, NULL, o, sizeof o));
    fprintf(fp, "  %-18s %-40s %s\n", "ranks.assign", as_assign_name(s->assign),
            origin(s, s->marks.assign, 0, NULL, o, sizeof o));
    fprintf(fp, "  %-18s [", "analysis.keywords");
    for (int i = 0; i < s->n_keywords; i++)
        fprintf(fp, "%s\"%s\"", i ? ", " : "", s->keywords[i]);
    fprintf(fp, "]\n");
    const struct as_analysis *a = &s->analysis;
    fprintf(fp, "  %-18s [", "analysis.by");
    for (int i = 0; i < a->n_by; i++)
        fprintf(fp, "%s%s", i ? ", " : "", a->by[i]);
    fprintf(fp, "]  bootstrap %d, seed %llu, js_min_shared %d\n", a->n_boot,
            (unsigned long long)a->seed, a->js_min_shared);
    for (int i = 0; i < a->n_contrasts; i++) {
        const struct as_contrast *ct = &a->contrasts[i];
        fprintf(fp, "  %-18s %s: %s '%s' - '%s', pairs on [", i ? "" : "analysis.contrasts",
                ct->name, ct->column, ct->a, ct->b);
        for (int k = 0; k < ct->n_pair_on; k++)
            fprintf(fp, "%s%s", k ? ", " : "", ct->pair_on[k]);
        fprintf(fp, "%s]\n", ct->n_pair_on ? "" : "group");
    }
    fprintf(fp, "  groups: %d, prompts: %lld, text: %zu bytes\n", s->n_groups,
            (long long)s->n_prompts, s->text_bytes);
    for (int g = 0; g < s->n_groups; g++) {
        const struct as_sweep_group *gr = &s->groups[g];
        fprintf(fp, "    %-20s %8lld prompt%s  %-8s", gr->name, (long long)gr->n_prompts,
                gr->n_prompts == 1 ? " " : "s", src_names[gr->source]);
        if (gr->n_product > 1) fprintf(fp, " x product %lld", (long long)gr->n_product);
        if (gr->file) fprintf(fp, " %s", gr->file);
        if (gr->n_spans) {
            fprintf(fp, "  spans:");
            for (int k = 0; k < gr->n_spans; k++)
                fprintf(fp, " %s", gr->spans[k].name);
        }
        if (gr->chat) { /* the resolved template, escaped as a YAML double-quoted string */
            fprintf(fp, "  chat: \"");
            for (const unsigned char *q = (const unsigned char *)gr->chat; *q; q++) {
                if (*q == '\n')
                    fputs("\\n", fp);
                else if (*q == '"' || *q == '\\')
                    fprintf(fp, "\\%c", *q);
                else if (*q < 0x20)
                    fprintf(fp, "\\x%02x", *q);
                else
                    fputc(*q, fp);
            }
            fputc('"', fp);
        }
        if (gr->gen.max_new_tokens > 0) { /* generation (docs/SWEEP.md "Generation") */
            fprintf(fp, "  generate: %d new tokens, %d stop string%s, answer %s",
                    gr->gen.max_new_tokens, gr->gen.n_stop, gr->gen.n_stop == 1 ? "" : "s",
                    gr->gen.answer_regex ? gr->gen.answer_regex : "the last number");
        }
        fputc('\n', fp);
    }
    if (s->n_columns) {
        fprintf(fp, "  metadata columns (/sweep):");
        for (int k = 0; k < s->n_columns; k++) {
            const struct as_sweep_column *c = &s->columns[k];
            fprintf(fp, "%s %s (%s", k ? "," : "", c->name, as_sweep_col_type_name(c->type));
            if (c->n_missing) fprintf(fp, ", %lld missing", (long long)c->n_missing);
            fputc(')', fp);
        }
        fputc('\n', fp);
    }
}
