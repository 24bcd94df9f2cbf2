/* recompute.c - as_reduce_file: the per-prompt metrics of a stored file,
 * recomputed from its attention tensors, MPI-parallel over prompts (prompt i
 * on rank i % size), then the summary.
 *
 * Every rank reads every prompt's text and token data (the text is an
 * attribute, and attribute reads are collective on a file opened for writing
 * by several ranks), so every rank computes the same layouts and can create
 * the metrics datasets collectively. */
#include <stdlib.h>
#include <string.h>

#include "../io/h5internal.h"
#include "attnsweep/reduce.h"

struct rc_prompt {
    char *text;
    int32_t *ids;     /* (T) */
    int32_t *offsets; /* (T, 2) */
    char **tokens;    /* (T), one allocation */
    int group;        /* sweep group index, -1 = its own group */
    size_t prefix_len;
};

static void rc_free(struct rc_prompt *p, int64_t n) {
    for (int64_t i = 0; p && i < n; i++) {
        free(p[i].text), free(p[i].ids), free(p[i].offsets), free(p[i].tokens);
    }
    free(p);
}

/* Every rank: text, ids, offsets and tokens of prompt i. */
static as_status rc_read(struct as_h5file *f, int64_t i, struct rc_prompt *p, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_h5prompt hp;
    memset(&hp, 0, sizeof hp);
    const int T = f->prompts[i].n_tokens;
    AS_TRY(as_h5prompt_open(f, i, &hp, err));
    AS_TRY(as_h5prompt_read_text(&hp, &p->text, err));
    if (!(p->ids = malloc(sizeof(int32_t) * (size_t)T)) ||
        !(p->offsets = malloc(sizeof(int32_t) * 2 * (size_t)T))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for the tokens of '%s'", f->path,
                         f->prompts[i].id);
        goto done;
    }
    AS_TRY(as_h5prompt_read_token_ids(&hp, p->ids, err));
    AS_TRY(as_h5prompt_read_offsets(&hp, p->offsets, err));
    AS_TRY(as_h5prompt_read_tokens(&hp, &p->tokens, err));
done:;
    as_status rc = as_h5prompt_close(&hp, ret == AS_OK ? err : NULL);
    return ret != AS_OK ? ret : rc;
}

static void rc_ctx(const struct as_h5file *f, const struct as_sweep *s, int64_t i,
                   const struct rc_prompt *p, const char *const *kw, int nkw,
                   struct as_metrics_span_def *spans, struct as_metrics_ctx *c) {
    const struct as_h5_prompt_info *in = &f->prompts[i];
    memset(c, 0, sizeof *c);
    c->L = in->n_layers, c->H = in->n_heads, c->T = in->n_tokens;
    int ids_ok = 1, off_ok = 1;
    for (int t = 0; t < c->T; t++) {
        ids_ok &= p->ids[t] >= 0;
        off_ok &= p->offsets[2 * t] >= 0;
    }
    c->token_ids = ids_ok ? p->ids : NULL;
    c->offsets = off_ok ? p->offsets : NULL;
    c->tokens = (const char *const *)p->tokens;
    c->text = p->text, c->text_len = strlen(p->text);
    c->keywords = kw, c->n_keywords = nkw;
    if (s && p->group >= 0) {
        as_reduce_span_defs(s, p->group, spans);
        c->spans = spans, c->n_spans = s->groups[p->group].n_spans;
    }
    c->prefix_len = p->prefix_len;
}

as_status as_reduce_file(struct as_h5file *f, const struct as_sweep *s, const char *const *keywords,
                         int n_keywords, FILE *log, struct as_summary **out, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_err local;
    const int64_t N = f->n_prompts;
    struct rc_prompt *p = NULL;
    struct as_metrics_layout *lay = NULL;
    struct as_metrics_span_def *spans = NULL;
    int8_t *status = NULL;
    float *buf = NULL;
    struct as_metrics m;
    struct as_h5prompt hp;
    memset(&m, 0, sizeof m), memset(&hp, 0, sizeof hp);
    if (!err) err = &local;
    if (out) *out = NULL;
    const char *const *kw = keywords ? keywords : (s ? (const char *const *)s->keywords : NULL);
    int nkw = keywords ? n_keywords : (s ? s->n_keywords : 0);
    int max_spans = 0;
    for (int g = 0; s && g < s->n_groups; g++)
        if (s->groups[g].n_spans > max_spans) max_spans = s->groups[g].n_spans;
    if (!(p = calloc((size_t)N + 1, sizeof *p)) || !(lay = calloc((size_t)N + 1, sizeof *lay)) ||
        !(spans = calloc((size_t)max_spans + 1, sizeof *spans)) ||
        !(status = calloc((size_t)N + 1, 1)))
        ret =
            as_err_set(err, AS_ERR_NOMEM, "%s: no memory for %lld prompts", f->path, (long long)N);
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) goto done;

    /* 1. contexts on every rank (collective attribute reads, same order) */
    for (int64_t i = 0; i < N && ret == AS_OK; i++) {
        ret = rc_read(f, i, &p[i], err);
        int64_t si = s ? as_sweep_find_prompt(s, f->prompts[i].id) : -1;
        p[i].group = si >= 0 ? s->prompts[si].group_index : -1;
    }
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) goto done;
    /* derived prefixes, per group, over the group's prompts in this file */
    {
        const char **texts = calloc((size_t)N + 1, sizeof *texts);
        size_t *lens = calloc((size_t)N + 1, sizeof *lens), *pl = calloc((size_t)N + 1, sizeof *pl);
        int64_t *who = calloc((size_t)N + 1, sizeof *who);
        if (!texts || !lens || !pl || !who) {
            ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", f->path);
        } else {
            for (int64_t i = 0; i < N; i++) {
                if (p[i].group < 0) { /* its own group: nothing is shared with anyone */
                    const char *t = p[i].text;
                    size_t l = strlen(t);
                    as_metrics_variant_prefixes(&t, &l, 1, &p[i].prefix_len);
                    continue;
                }
                int n = 0;
                for (int64_t j = 0; j < N; j++)
                    if (p[j].group == p[i].group)
                        texts[n] = p[j].text, lens[n] = strlen(p[j].text), who[n] = j, n++;
                as_metrics_variant_prefixes(texts, lens, n, pl);
                for (int k = 0; k < n; k++)
                    if (who[k] == i) p[i].prefix_len = pl[k];
            }
        }
        free(texts), free(lens), free(pl), free(who);
    }
    /* layouts (pure, identical on every rank) */
    for (int64_t i = 0; i < N && ret == AS_OK; i++) {
        const struct as_h5_prompt_info *in = &f->prompts[i];
        if (in->store == AS_STORE_NONE) continue; /* L == 0: no metrics */
        struct as_metrics_ctx c;
        rc_ctx(f, s, i, &p[i], kw, nkw, spans, &c);
        ret = as_metrics_layout_compute(
            &c, in->store == AS_STORE_FULL ? AS_METRICS_FULL : AS_METRICS_LAST_ROW, &lay[i], err);
        if (ret != AS_OK) as_err_prefix(err, "%s: prompt '%s'", f->path, in->id);
    }
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) goto done;
    AS_TRY(as_metrics_h5_create(f, lay, N, err));

    /* 2. this rank's prompts: i % size == rank, done ones only */
    if (N > 0) ret = as_h5file_read_status(f, status, err);
    int n_last_row = 0;
    for (int64_t i = f->rank; i < N && ret == AS_OK; i += f->size) {
        const struct as_h5_prompt_info *in = &f->prompts[i];
        if (status[i] != AS_PROMPT_DONE || in->store == AS_STORE_NONE) continue;
        struct as_metrics_ctx c;
        rc_ctx(f, s, i, &p[i], kw, nkw, spans, &c);
        const int full = in->store == AS_STORE_FULL;
        n_last_row += !full;
        size_t per = (size_t)in->n_heads * (size_t)in->n_tokens * (full ? (size_t)in->n_tokens : 1);
        free(buf);
        if (!(buf = malloc(per * sizeof *buf))) {
            ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for one layer of '%s' (%zu floats)",
                             f->path, in->id, per);
            break;
        }
        ret = as_metrics_init(&m, &c, full ? AS_METRICS_FULL : AS_METRICS_LAST_ROW, err);
        if (ret == AS_OK) ret = as_h5prompt_open(f, i, &hp, err);
        for (int l = 0; l < in->n_layers && ret == AS_OK; l++) {
            ret = as_h5prompt_read_attention_layer(&hp, l, buf, err);
            if (ret == AS_OK) ret = as_metrics_add_layer(&m, l, buf, err);
        }
        if (hp.f) as_h5prompt_close(&hp, NULL);
        memset(&hp, 0, sizeof hp);
        if (ret == AS_OK) ret = as_metrics_finish(&m, err);
        if (ret == AS_OK) ret = as_metrics_h5_write(f, i, &m, err);
        as_metrics_free(&m);
        if (ret != AS_OK) as_err_prefix(err, "prompt '%s'", in->id);
    }
    ret = h5_agree(f, ret, err);
    if (ret != AS_OK) goto done;
    int all_last_row = 0;
    if (f->comm != MPI_COMM_NULL && f->size > 1)
        MPI_Reduce(&n_last_row, &all_last_row, 1, MPI_INT, MPI_SUM, 0, f->comm);
    else
        all_last_row = n_last_row;
    if (log && f->rank == 0 && all_last_row > 0)
        fprintf(log,
                "attnsweep reduce: %d prompt(s) store only the last attention row (store: "
                "last_row); for them these metrics need full maps and are not computed: %s\n",
                all_last_row, as_metrics_unavailable_last_row());
    AS_TRY(as_h5file_flush(f, err));
    /* 3. sweep-level statistics */
    ret = as_reduce_summary(f, s, out, err);
done:
    free(buf);
    rc_free(p, N);
    free(lay), free(spans), free(status);
    return ret;
}

as_status as_reduce_read_config(struct as_h5file *f, char **yaml, size_t *len, struct as_err *err) {
    as_status ret = AS_OK;
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    *yaml = NULL, *len = 0;
    htri_t ex = H5Lexists(f->file, "config", H5P_DEFAULT);
    if (ex < 0) {
        ret = h5_fail(err, f->path, "looking for /config");
        goto done;
    }
    if (ex == 0) goto done;
    if ((d = H5Dopen2(f->file, "config", H5P_DEFAULT)) < 0 || (t = H5Dget_type(d)) < 0) {
        ret = h5_fail(err, f->path, "opening /config");
        goto done;
    }
    size_t w = H5Tget_size(t);
    if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0 || w == 0) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: /config is not a fixed-length string", f->path);
        goto done;
    }
    if (!(*yaml = calloc(w + 1, 1))) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: no memory for /config (%zu bytes)", f->path, w);
        goto done;
    }
    if ((mt = h5_str_fixed(w)) < 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, f->dxpl_ind, *yaml) < 0) {
        ret = h5_fail(err, f->path, "reading /config");
        goto done;
    }
    *len = strlen(*yaml);
done:
    h5_close_id(&mt), h5_close_id(&t), h5_close_id(&d);
    if (ret != AS_OK) free(*yaml), *yaml = NULL;
    return h5_agree(f, ret, err);
}
