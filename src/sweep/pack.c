/* pack.c - a loaded sweep as one byte buffer, for MPI_Bcast from rank 0.
 *
 * Layout (little-endian, no padding): the magic "ASSWEEP2", then every field
 * of struct as_sweep in declaration order (the per-prompt texts of varying
 * spans and the metadata columns after the prompts); strings are a u64 length followed
 * by the bytes (no NUL); a NULL string has length UINT64_MAX. Prompt ids are
 * rebuilt from "<group>/<variant>" on unpack, and the SHA-256 is recomputed
 * from the YAML bytes and compared with the packed one. The
 * unpacker reads through struct as_cursor and checks every count and index,
 * so a truncated buffer is an AS_ERR_FORMAT and never an out-of-bounds read. */
#include <stdlib.h>
#include <string.h>

#include "attnsweep/fileio.h"
#include "sweep_internal.h"

#define PACK_MAGIC "ASSWEEP2"
#define NULL_LEN   UINT64_MAX

struct writer {
    struct sw_buf b;
    int ok;
};

static void put(struct writer *w, const void *p, size_t n) {
    if (w->ok && !sw_buf_add(&w->b, p, n)) w->ok = 0;
}
static void put_u64(struct writer *w, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(w, b, 8);
}
static void put_i32(struct writer *w, int32_t v) {
    uint32_t u = (uint32_t)v;
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    put(w, b, 4);
}
static void put_strn(struct writer *w, const char *s, size_t n) {
    if (!s) {
        put_u64(w, NULL_LEN);
        return;
    }
    put_u64(w, n);
    put(w, s, n);
}
static void put_str(struct writer *w, const char *s) {
    put_strn(w, s, s ? strlen(s) : 0);
}
static void put_mark(struct writer *w, struct as_sweep_mark m) {
    put_i32(w, m.line);
    put_i32(w, m.col);
}

static void put_marks(struct writer *w, const struct as_sweep_marks *m) {
    put_mark(w, m->model_path);
    put_mark(w, m->tokenizer_path);
    put_mark(w, m->output_path);
    put_mark(w, m->store);
    put_mark(w, m->dtype);
    put_mark(w, m->layers);
    put_mark(w, m->heads);
    put_mark(w, m->assign);
    put_mark(w, m->explicit_);
    put_mark(w, m->keywords);
    put_mark(w, m->groups);
    put_mark(w, m->analysis);
    put_mark(w, m->on_too_long);
}

static void put_analysis(struct writer *w, const struct as_analysis *a) {
    put_i32(w, a->n_by);
    for (int i = 0; i < a->n_by; i++)
        put_str(w, a->by[i]);
    put_i32(w, a->n_contrasts);
    for (int i = 0; i < a->n_contrasts; i++) {
        const struct as_contrast *c = &a->contrasts[i];
        put_str(w, c->name);
        put_str(w, c->column);
        put_str(w, c->a);
        put_str(w, c->b);
        put_i32(w, c->n_pair_on);
        for (int k = 0; k < c->n_pair_on; k++)
            put_str(w, c->pair_on[k]);
    }
    put_i32(w, a->n_boot);
    put_u64(w, a->seed);
    put_i32(w, a->js_min_shared);
    put_i32(w, a->answer != NULL);
    if (a->answer) put_str(w, a->answer);
}

as_status as_sweep_pack(const struct as_sweep *s, void **buf, size_t *len, struct as_err *err) {
    struct writer w = {{0}, 1};
    put(&w, PACK_MAGIC, 8);
    put_str(&w, s->path);
    put_str(&w, s->base_dir);
    put_strn(&w, s->yaml, s->yaml_len);
    put(&w, s->sha256, 64);
    put_str(&w, s->model_path);
    put_str(&w, s->tokenizer_path);
    put_i32(&w, (int32_t)s->on_too_long);
    put_str(&w, s->output_path);
    put_i32(&w, s->store);
    put_i32(&w, s->dtype);
    put_i32(&w, s->n_layers);
    for (int i = 0; i < s->n_layers; i++)
        put_i32(&w, s->layers[i]);
    put_i32(&w, s->n_heads);
    for (int i = 0; i < s->n_heads; i++)
        put_i32(&w, s->heads[i]);
    put_i32(&w, (int32_t)s->weights);
    put_i32(&w, s->scores);
    put_i32(&w, s->topk);
    put_i32(&w, s->logits);
    put_mark(&w, s->topk_mark);
    put_mark(&w, s->logits_mark);
    put_i32(&w, (int32_t)s->assign);
    put_i32(&w, s->n_keywords);
    for (int i = 0; i < s->n_keywords; i++)
        put_str(&w, s->keywords[i]);
    put_analysis(&w, &s->analysis);
    put_marks(&w, &s->marks);
    put_u64(&w, s->overridden);
    put_i32(&w, s->n_groups);
    for (int g = 0; g < s->n_groups; g++) {
        const struct as_sweep_group *gr = &s->groups[g];
        put_str(&w, gr->name);
        put_mark(&w, gr->mark);
        put_i32(&w, (int32_t)gr->source);
        put_str(&w, gr->file);
        put_str(&w, gr->chat);
        put_i32(&w, gr->gen.max_new_tokens);
        put_mark(&w, gr->gen.mark);
        put_i32(&w, gr->gen.n_stop);
        for (int k = 0; k < gr->gen.n_stop; k++)
            put_str(&w, gr->gen.stop[k]);
        put_str(&w, gr->gen.answer_regex);
        put_u64(&w, (uint64_t)gr->n_product);
        put_u64(&w, (uint64_t)gr->n_prompts);
        put_i32(&w, gr->n_spans);
        for (int k = 0; k < gr->n_spans; k++) {
            put_str(&w, gr->spans[k].name);
            put_strn(&w, gr->spans[k].text, gr->spans[k].text_len);
            put_mark(&w, gr->spans[k].mark);
        }
    }
    put_u64(&w, (uint64_t)s->n_prompts);
    for (int64_t i = 0; i < s->n_prompts; i++) {
        const struct as_sweep_prompt *p = &s->prompts[i];
        put_i32(&w, p->group_index);
        put_str(&w, p->variant);
        put_strn(&w, p->text, p->text_len);
        put_u64(&w, (uint64_t)p->prompt_start);
        put_u64(&w, (uint64_t)p->prompt_len);
        put_mark(&w, p->mark);
        put_u64(&w, (uint64_t)p->file_line);
        put_i32(&w, p->explicit_rank);
        put_mark(&w, p->assign_mark);
    }
    for (int g = 0; g < s->n_groups; g++) { /* per-prompt texts of the varying spans */
        const struct as_sweep_group *gr = &s->groups[g];
        for (int k = 0; k < gr->n_spans; k++)
            for (int64_t i = 0; !gr->spans[k].text && i < gr->n_prompts; i++)
                put_strn(&w, gr->spans[k].texts[i].text, gr->spans[k].texts[i].len);
    }
    put_i32(&w, s->n_columns);
    for (int k = 0; k < s->n_columns; k++) {
        const struct as_sweep_column *c = &s->columns[k];
        put_str(&w, c->name);
        put_i32(&w, (int32_t)c->type);
        put_mark(&w, c->mark);
        put_u64(&w, (uint64_t)c->n_strs);
        for (int64_t j = 0; j < c->n_strs; j++)
            put_str(&w, c->strs[j]);
        for (int64_t i = 0; i < s->n_prompts; i++) {
            uint64_t u;
            memcpy(&u, &c->cells[i], 8);
            put_u64(&w, u);
        }
    }
    if (!w.ok) {
        sw_buf_free(&w.b);
        return as_err_set(err, AS_ERR_NOMEM, "%s: out of memory while packing the sweep", s->path);
    }
    *buf = w.b.p;
    *len = w.b.len;
    return AS_OK;
}

/* ------------------------------------------------------------ unpack */

struct reader {
    struct as_cursor c;
    struct sw_arena *arena;
    struct as_err *err;
};

static as_status get_i32(struct reader *r, int32_t *v, const char *field) {
    return as_cursor_i32(&r->c, v, field, r->err);
}
static as_status get_u64(struct reader *r, uint64_t *v, const char *field) {
    return as_cursor_u64(&r->c, v, field, r->err);
}
/* A string into the arena (*out NULL for a NULL string); rejects NUL bytes. */
static as_status get_str(struct reader *r, char **out, size_t *len, const char *field) {
    uint64_t n;
    as_status ret = get_u64(r, &n, field);
    if (ret != AS_OK) return ret;
    *out = NULL;
    if (len) *len = 0;
    if (n == NULL_LEN) return AS_OK;
    const void *p;
    if (n > as_cursor_left(&r->c))
        return as_err_set(r->err, AS_ERR_FORMAT,
                          "packed sweep: %s is %llu bytes but only %zu are left", field,
                          (unsigned long long)n, as_cursor_left(&r->c));
    if ((ret = as_cursor_take(&r->c, (size_t)n, &p, field, r->err)) != AS_OK) return ret;
    if (memchr(p, '\0', (size_t)n))
        return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: %s contains a NUL byte", field);
    *out = sw_arena_strndup(r->arena, p, (size_t)n);
    if (!*out) return as_err_set(r->err, AS_ERR_NOMEM, "packed sweep: out of memory");
    if (len) *len = (size_t)n;
    return AS_OK;
}
static as_status get_fixed(struct reader *r, char *dst, const char *field) {
    char *v;
    size_t n;
    as_status ret = get_str(r, &v, &n, field);
    if (ret != AS_OK) return ret;
    if (!v || n >= AS_SWEEP_PATH_MAX)
        return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: bad %s", field);
    memcpy(dst, v, n + 1);
    return AS_OK;
}
static as_status get_mark(struct reader *r, struct as_sweep_mark *m) {
    int32_t a = 0, b = 0; /* a failed read leaves them 0; the caller sees ret */
    as_status ret = get_i32(r, &a, "mark");
    if (ret == AS_OK) ret = get_i32(r, &b, "mark");
    m->line = a;
    m->col = b;
    return ret;
}
/* A count in [0, max] that the remaining bytes can hold (min_bytes each). */
static as_status get_count(struct reader *r, int64_t *n, int64_t max, size_t min_bytes,
                           const char *field, int wide) {
    as_status ret;
    if (wide) {
        uint64_t u;
        if ((ret = get_u64(r, &u, field)) != AS_OK) return ret;
        *n = u > (uint64_t)INT64_MAX ? -1 : (int64_t)u;
    } else {
        int32_t v;
        if ((ret = get_i32(r, &v, field)) != AS_OK) return ret;
        *n = v;
    }
    if (*n < 0 || *n > max || (min_bytes && (uint64_t)*n > as_cursor_left(&r->c) / min_bytes))
        return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: %s = %lld is out of range", field,
                          (long long)*n);
    return AS_OK;
}

static as_status get_ints(struct reader *r, int **out, int *n_out, const char *field) {
    int64_t n;
    as_status ret = get_count(r, &n, 1 << 20, 4, field, 0);
    if (ret != AS_OK || n == 0) return ret;
    int *v = sw_arena_alloc(r->arena, (size_t)n * sizeof *v);
    if (!v) return as_err_set(r->err, AS_ERR_NOMEM, "packed sweep: out of memory");
    for (int64_t i = 0; i < n; i++) {
        int32_t x;
        if ((ret = get_i32(r, &x, field)) != AS_OK) return ret;
        v[i] = x;
    }
    *out = v;
    *n_out = (int)n;
    return AS_OK;
}

/* n strings (names) into a new arena array; each non-NULL and non-empty. */
static as_status get_names(struct reader *r, char ***out, int *n_out, int max, const char *field) {
    int64_t n;
    as_status ret = get_count(r, &n, max, 8, field, 0);
    if (ret != AS_OK) return ret;
    *out = NULL, *n_out = 0;
    if (n == 0) return AS_OK;
    char **v = sw_arena_alloc(r->arena, (size_t)n * sizeof *v);
    if (!v) return as_err_set(r->err, AS_ERR_NOMEM, "packed sweep: out of memory");
    for (int64_t i = 0; i < n; i++) {
        if ((ret = get_str(r, &v[i], NULL, field)) != AS_OK) return ret;
        if (!v[i] || !v[i][0])
            return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: empty %s", field);
    }
    *out = v, *n_out = (int)n;
    return AS_OK;
}

static as_status unpack_analysis(struct reader *r, struct as_analysis *a) {
    as_status ret;
    int64_t n;
    int32_t v;
    uint64_t u;
    if ((ret = get_names(r, &a->by, &a->n_by, AS_SWEEP_MAX_COLUMNS + 2, "analysis.by")) != AS_OK)
        return ret;
    if ((ret = get_count(r, &n, 1024, 36, "n_contrasts", 0)) != AS_OK) return ret;
    a->contrasts = NULL, a->n_contrasts = 0;
    if (n > 0 && !(a->contrasts = sw_arena_alloc(r->arena, (size_t)n * sizeof *a->contrasts)))
        return as_err_set(r->err, AS_ERR_NOMEM, "packed sweep: out of memory");
    for (int64_t i = 0; i < n; i++) {
        struct as_contrast *c = &a->contrasts[i];
        memset(c, 0, sizeof *c);
        if ((ret = get_str(r, &c->name, NULL, "contrast name")) != AS_OK ||
            (ret = get_str(r, &c->column, NULL, "contrast column")) != AS_OK ||
            (ret = get_str(r, &c->a, NULL, "contrast a")) != AS_OK ||
            (ret = get_str(r, &c->b, NULL, "contrast b")) != AS_OK ||
            (ret = get_names(r, &c->pair_on, &c->n_pair_on, AS_SWEEP_MAX_COLUMNS + 2,
                             "contrast pair_on")) != AS_OK)
            return ret;
        if (!c->name || !c->column || !c->a || !c->b || sw_name_problem(c->name, strlen(c->name)))
            return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: contrast %lld is malformed",
                              (long long)i);
        a->n_contrasts = (int)i + 1;
    }
    if ((ret = get_i32(r, &v, "analysis.bootstrap")) != AS_OK) return ret;
    a->n_boot = v;
    if ((ret = get_u64(r, &u, "analysis.seed")) != AS_OK) return ret;
    a->seed = u;
    if ((ret = get_i32(r, &v, "analysis.js_min_shared")) != AS_OK) return ret;
    a->js_min_shared = v;
    a->answer = NULL;
    if ((ret = get_i32(r, &v, "analysis.answer")) != AS_OK) return ret;
    if (v && ((ret = get_str(r, &a->answer, NULL, "analysis.answer")) != AS_OK || !a->answer))
        return ret != AS_OK ? ret
                            : as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: analysis.answer");
    if (a->n_boot < 1 || a->n_boot > AS_ANALYSIS_BOOT_MAX || a->js_min_shared < 1)
        return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: analysis settings out of range");
    return AS_OK;
}

/* The per-prompt texts of every span packed without a text. */
static as_status unpack_span_texts(struct reader *r, struct as_sweep *s) {
    as_status ret;
    for (int g = 0; g < s->n_groups; g++) {
        struct as_sweep_group *gr = &s->groups[g];
        for (int k = 0; k < gr->n_spans; k++) {
            struct as_sweep_span *sp = &gr->spans[k];
            if (sp->text) continue;
            if ((uint64_t)gr->n_prompts > as_cursor_left(&r->c) / 8)
                return as_err_set(r->err, AS_ERR_FORMAT,
                                  "packed sweep: span texts of group %d are truncated", g);
            sp->texts = sw_arena_alloc(r->arena, (size_t)(gr->n_prompts ? gr->n_prompts : 1) *
                                                     sizeof *sp->texts);
            if (!sp->texts) return as_err_set(r->err, AS_ERR_NOMEM, "packed sweep: out of memory");
            for (int64_t i = 0; i < gr->n_prompts; i++) {
                char *t;
                if ((ret = get_str(r, &t, &sp->texts[i].len, "span text")) != AS_OK) return ret;
                sp->texts[i].text = t && sp->texts[i].len ? t : NULL;
            }
        }
    }
    return AS_OK;
}

/* The metadata columns; n_missing and width are recomputed, every cell checked. */
static as_status unpack_columns(struct reader *r, struct as_sweep *s) {
    as_status ret;
    int64_t n;
    if ((ret = get_count(r, &n, AS_SWEEP_MAX_COLUMNS, 16, "n_columns", 0)) != AS_OK) return ret;
    if (n == 0) return AS_OK;
    s->columns = sw_arena_alloc(r->arena, (size_t)n * sizeof *s->columns);
    if (!s->columns) return as_err_set(r->err, AS_ERR_NOMEM, "packed sweep: out of memory");
    memset(s->columns, 0, (size_t)n * sizeof *s->columns);
    for (int k = 0; k < n; k++) {
        struct as_sweep_column *c = &s->columns[k];
        int32_t type;
        int64_t ns;
        if ((ret = get_str(r, &c->name, NULL, "column name")) != AS_OK ||
            (ret = get_i32(r, &type, "column type")) != AS_OK ||
            (ret = get_mark(r, &c->mark)) != AS_OK ||
            (ret = get_count(r, &ns, s->n_prompts, 8, "column n_strs", 1)) != AS_OK)
            return ret;
        if (!c->name || !sw_valid_var_name(c->name, strlen(c->name)) ||
            as_sweep_column_reserved(c->name) || as_sweep_column_find(s, c->name) >= 0 ||
            type < AS_SWEEP_COL_BOOL || type > AS_SWEEP_COL_STRING ||
            (ns > 0 && type != AS_SWEEP_COL_STRING))
            return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: column %d is malformed", k);
        c->type = (enum as_sweep_col_type)type;
        c->width = type == AS_SWEEP_COL_STRING; /* at least 1 byte wide, as sw_meta_finish */
        if (ns > 0 && !(c->strs = sw_arena_alloc(r->arena, (size_t)ns * sizeof *c->strs)))
            return as_err_set(r->err, AS_ERR_NOMEM, "packed sweep: out of memory");
        for (int64_t j = 0; j < ns; j++) {
            size_t len;
            if ((ret = get_str(r, &c->strs[j], &len, "column string")) != AS_OK) return ret;
            if (!c->strs[j])
                return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: NULL string in column %d",
                                  k);
            if (len > c->width) c->width = len;
        }
        c->n_strs = ns;
        if ((uint64_t)s->n_prompts > as_cursor_left(&r->c) / 8)
            return as_err_set(r->err, AS_ERR_FORMAT, "packed sweep: column %d is truncated", k);
        if (!(c->cells = sw_arena_alloc(r->arena, (size_t)(s->n_prompts ? s->n_prompts : 1) *
                                                      sizeof *c->cells)))
            return as_err_set(r->err, AS_ERR_NOMEM, "packed sweep: out of memory");
        for (int64_t i = 0; i < s->n_prompts; i++) {
            uint64_t u;
            if ((ret = get_u64(r, &u, "cell")) != AS_OK) return ret;
            memcpy(&c->cells[i], &u, 8);
            const int64_t v = c->cells[i].i;
            int ok = 1, missing = 0;
            switch (c->type) {
            case AS_SWEEP_COL_BOOL: ok = v >= -1 && v <= 1, missing = v < 0; break;
            case AS_SWEEP_COL_INT: break;
            case AS_SWEEP_COL_FLOAT: missing = c->cells[i].f != c->cells[i].f; break;
            case AS_SWEEP_COL_STRING: ok = v >= -1 && v < ns, missing = v < 0; break;
            }
            if (!ok)
                return as_err_set(r->err, AS_ERR_FORMAT,
                                  "packed sweep: cell %lld of column '%s' is out of range",
                                  (long long)i, c->name);
            c->n_missing += missing;
        }
        s->n_columns = k + 1;
    }
    return AS_OK;
}

as_status as_sweep_unpack(struct as_sweep *s, const void *buf, size_t len, struct as_err *err) {
    as_status ret = AS_OK;
    as_sweep_defaults(s);
    struct reader r = {.err = err};
    as_cursor_init(&r.c, buf, len, "packed sweep");
    s->internal = r.arena = calloc(1, sizeof *r.arena);
    if (!r.arena) return as_err_set(err, AS_ERR_NOMEM, "packed sweep: out of memory");
    const void *magic;
    AS_TRY(as_cursor_take(&r.c, 8, &magic, "magic", err));
    if (memcmp(magic, PACK_MAGIC, 8)) {
        ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: bad magic; expected %s", PACK_MAGIC);
        goto done;
    }
    AS_TRY(get_fixed(&r, s->path, "path"));
    AS_TRY(get_fixed(&r, s->base_dir, "base_dir"));
    {
        char *y;
        size_t n;
        AS_TRY(get_str(&r, &y, &n, "yaml"));
        s->yaml = malloc(n + 1);
        if (!s->yaml) {
            ret = as_err_set(err, AS_ERR_NOMEM, "packed sweep: out of memory");
            goto done;
        }
        if (n) memcpy(s->yaml, y, n);
        s->yaml[n] = '\0';
        s->yaml_len = n;
        as_sha256_hex(s->yaml, n, s->sha256);
        const void *sha;
        AS_TRY(as_cursor_take(&r.c, 64, &sha, "sha256", err));
        if (memcmp(sha, s->sha256, 64)) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "packed sweep: the YAML's SHA-256 does not match; the buffer is "
                             "corrupt");
            goto done;
        }
    }
    AS_TRY(get_fixed(&r, s->model_path, "model_path"));
    AS_TRY(get_fixed(&r, s->tokenizer_path, "tokenizer_path"));
    {
        int32_t t;
        AS_TRY(get_i32(&r, &t, "on_too_long"));
        if (t < AS_TOO_LONG_ERROR || t > AS_TOO_LONG_TRUNCATE) {
            ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: on_too_long %d out of range", t);
            goto done;
        }
        s->on_too_long = (enum as_too_long)t;
    }
    AS_TRY(get_fixed(&r, s->output_path, "output_path"));
    int32_t v;
    AS_TRY(get_i32(&r, &v, "store"));
    s->store = v;
    AS_TRY(get_i32(&r, &v, "dtype"));
    s->dtype = v;
    AS_TRY(get_ints(&r, &s->layers, &s->n_layers, "layers"));
    AS_TRY(get_ints(&r, &s->heads, &s->n_heads, "heads"));
    AS_TRY(get_i32(&r, &v, "weights"));
    if (v < AS_WEIGHTS_PROBS || v > AS_WEIGHTS_BOTH) {
        ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: weights %d out of range", v);
        goto done;
    }
    s->weights = (enum as_store_weights)v;
    AS_TRY(get_i32(&r, &v, "scores"));
    s->scores = v != 0;
    AS_TRY(get_i32(&r, &v, "topk"));
    if (v < 0 || v > AS_SWEEP_TOPK_MAX) {
        ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: topk %d out of range", v);
        goto done;
    }
    s->topk = v;
    AS_TRY(get_i32(&r, &v, "logits"));
    s->logits = v != 0;
    AS_TRY(get_mark(&r, &s->topk_mark));
    AS_TRY(get_mark(&r, &s->logits_mark));
    AS_TRY(get_i32(&r, &v, "assign"));
    if (v < 0 || v > AS_ASSIGN_EXPLICIT) {
        ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: assign %d out of range", v);
        goto done;
    }
    s->assign = (enum as_assign)v;
    int64_t n;
    AS_TRY(get_count(&r, &n, 1 << 20, 8, "n_keywords", 0));
    if (n) {
        s->keywords = sw_arena_alloc(r.arena, (size_t)n * sizeof *s->keywords);
        if (!s->keywords) {
            ret = as_err_set(err, AS_ERR_NOMEM, "packed sweep: out of memory");
            goto done;
        }
        for (int64_t i = 0; i < n; i++) {
            AS_TRY(get_str(&r, &s->keywords[i], NULL, "keyword"));
            if (!s->keywords[i]) {
                ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: NULL keyword");
                goto done;
            }
            s->n_keywords++;
        }
    }
    AS_TRY(unpack_analysis(&r, &s->analysis));
    struct as_sweep_marks *mk = &s->marks;
    struct as_sweep_mark *marks[] = {
        &mk->model_path, &mk->tokenizer_path, &mk->output_path, &mk->store,     &mk->dtype,
        &mk->layers,     &mk->heads,          &mk->assign,      &mk->explicit_, &mk->keywords,
        &mk->groups,     &mk->analysis,       &mk->on_too_long};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        AS_TRY(get_mark(&r, marks[i]));
    uint64_t ov;
    AS_TRY(get_u64(&r, &ov, "overridden"));
    s->overridden = (unsigned)ov;

    AS_TRY(get_count(&r, &n, 1 << 24, 16, "n_groups", 0));
    s->groups = calloc((size_t)(n ? n : 1), sizeof *s->groups);
    if (!s->groups) {
        ret = as_err_set(err, AS_ERR_NOMEM, "packed sweep: out of memory");
        goto done;
    }
    s->n_groups = (int)n;
    int64_t first = 0;
    for (int g = 0; g < s->n_groups; g++) {
        struct as_sweep_group *gr = &s->groups[g];
        AS_TRY(get_str(&r, &gr->name, NULL, "group name"));
        AS_TRY(get_mark(&r, &gr->mark));
        AS_TRY(get_i32(&r, &v, "group source"));
        gr->source = (enum as_group_source)v;
        AS_TRY(get_str(&r, &gr->file, NULL, "group file"));
        AS_TRY(get_str(&r, &gr->chat, NULL, "group chat template"));
        int32_t mnt;
        AS_TRY(get_i32(&r, &mnt, "generate.max_new_tokens"));
        if (mnt < 0 || mnt > AS_SWEEP_MAX_NEW_TOKENS) {
            ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: group %d max_new_tokens %d", g,
                             (int)mnt);
            goto done;
        }
        gr->gen.max_new_tokens = mnt;
        AS_TRY(get_mark(&r, &gr->gen.mark));
        AS_TRY(get_names(&r, &gr->gen.stop, &gr->gen.n_stop, AS_SWEEP_MAX_STOPS, "generate.stop"));
        AS_TRY(get_str(&r, &gr->gen.answer_regex, NULL, "generate.answer_regex"));
        uint64_t u;
        AS_TRY(get_u64(&r, &u, "n_product"));
        gr->n_product = (int64_t)(u > (uint64_t)INT64_MAX ? 0 : u);
        AS_TRY(get_count(&r, &gr->n_prompts, AS_SWEEP_MAX_PROMPTS, 0, "group n_prompts", 1));
        if (!gr->name || v < 0 || v > AS_GROUP_FILE ||
            sw_name_problem(gr->name, strlen(gr->name))) {
            ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: group %d is malformed", g);
            goto done;
        }
        gr->first_prompt = first;
        first += gr->n_prompts;
        int64_t ns;
        AS_TRY(get_count(&r, &ns, AS_SWEEP_MAX_SPANS, 24, "n_spans", 0));
        if (ns) {
            gr->spans = sw_arena_alloc(r.arena, (size_t)ns * sizeof *gr->spans);
            if (!gr->spans) {
                ret = as_err_set(err, AS_ERR_NOMEM, "packed sweep: out of memory");
                goto done;
            }
        }
        for (int64_t k = 0; k < ns; k++) {
            struct as_sweep_span *sp = &gr->spans[k];
            AS_TRY(get_str(&r, &sp->name, NULL, "span name"));
            AS_TRY(get_str(&r, &sp->text, &sp->text_len, "span text"));
            AS_TRY(get_mark(&r, &sp->mark));
            if (!sp->name || sw_name_problem(sp->name, strlen(sp->name)) ||
                (sp->text && sp->text_len == 0)) {
                ret = as_err_set(err, AS_ERR_FORMAT,
                                 "packed sweep: span %lld of group %d is "
                                 "malformed",
                                 (long long)k, g);
                goto done;
            }
            gr->n_spans++;
        }
    }
    AS_TRY(get_count(&r, &n, AS_SWEEP_MAX_PROMPTS, 40, "n_prompts", 1));
    if (n != first) {
        ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: %lld prompts but the groups hold %lld",
                         (long long)n, (long long)first);
        goto done;
    }
    s->prompts = calloc((size_t)(n ? n : 1), sizeof *s->prompts);
    if (!s->prompts) {
        ret = as_err_set(err, AS_ERR_NOMEM, "packed sweep: out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        struct as_sweep_prompt *p = &s->prompts[i];
        char *variant;
        size_t vlen;
        AS_TRY(get_i32(&r, &v, "group_index"));
        AS_TRY(get_str(&r, &variant, &vlen, "variant"));
        AS_TRY(get_str(&r, &p->text, &p->text_len, "text"));
        uint64_t ps, pl;
        AS_TRY(get_u64(&r, &ps, "prompt_start"));
        AS_TRY(get_u64(&r, &pl, "prompt_len"));
        AS_TRY(get_mark(&r, &p->mark));
        uint64_t fl;
        AS_TRY(get_u64(&r, &fl, "file_line"));
        p->file_line = (int64_t)(fl > (uint64_t)INT64_MAX ? 0 : fl);
        AS_TRY(get_i32(&r, &p->explicit_rank, "explicit_rank"));
        AS_TRY(get_mark(&r, &p->assign_mark));
        if (v < 0 || v >= s->n_groups || i < s->groups[v].first_prompt ||
            i >= s->groups[v].first_prompt + s->groups[v].n_prompts || !variant || !p->text ||
            p->text_len == 0 || ps > p->text_len || pl > p->text_len - ps ||
            sw_name_problem(variant, vlen)) {
            ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: prompt %lld is malformed",
                             (long long)i);
            goto done;
        }
        p->group_index = v;
        p->prompt_start = (size_t)ps, p->prompt_len = (size_t)pl;
        p->group = s->groups[v].name;
        size_t glen = strlen(p->group);
        p->id = sw_arena_alloc(r.arena, glen + vlen + 2);
        if (!p->id) {
            ret = as_err_set(err, AS_ERR_NOMEM, "packed sweep: out of memory");
            goto done;
        }
        memcpy(p->id, p->group, glen);
        p->id[glen] = '/';
        memcpy(p->id + glen + 1, variant, vlen + 1);
        p->variant = p->id + glen + 1;
        s->n_prompts = i + 1;
        s->text_bytes += glen + 1 + vlen + p->text_len;
    }
    AS_TRY(unpack_span_texts(&r, s));
    AS_TRY(unpack_columns(&r, s));
    if (as_cursor_left(&r.c) != 0) {
        ret = as_err_set(err, AS_ERR_FORMAT, "packed sweep: %zu trailing bytes",
                         as_cursor_left(&r.c));
        goto done;
    }
done:
    if (ret != AS_OK) as_sweep_free(s);
    return ret;
}
