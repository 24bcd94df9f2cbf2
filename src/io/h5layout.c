/* h5layout.c - the creation-time groups of a format-2 file (/sweep, /text,
 * /tokens, /attention) as tables built from a create spec, and the size
 * estimate that `run --dry-run` prints. Creation and the estimate use the
 * same description, so they cannot disagree. */
#include <stdlib.h>
#include <string.h>

#include "h5internal.h"

void h5_layout_free(struct h5_layout *y) {
    as_table_free(&y->sweep);
    as_table_free(&y->text);
    as_table_free(&y->tokens);
    as_table_free(&y->attention);
}

static as_status spec_check(const struct as_h5_create_spec *s, struct as_err *err) {
    if (s->n_prompts < 0 || (s->n_prompts > 0 && !s->prompts))
        return as_err_set(err, AS_ERR_INVALID, "create: %lld prompts without specs",
                          (long long)s->n_prompts);
    if (s->n_layers < 1 || s->n_heads < 1)
        return as_err_set(err, AS_ERR_INVALID, "create: n_layers=%d n_heads=%d; expected >= 1",
                          s->n_layers, s->n_heads);
    if ((int)s->store < AS_STORE_FULL || (int)s->store > AS_STORE_NONE ||
        (s->dtype != AS_OUT_F32 && s->dtype != AS_OUT_F16))
        return as_err_set(err, AS_ERR_INVALID, "create: unknown store %d or dtype %d",
                          (int)s->store, (int)s->dtype);
    return AS_OK;
}

/* Checks one prompt spec: id, sizes, ids and offsets inside the text. */
static as_status prompt_check(const struct as_h5_prompt_spec *p, int64_t i, size_t text_len,
                              struct as_err *err) {
    as_status ret = as_h5_id_validate(p->id, err);
    if (ret != AS_OK) {
        as_err_prefix(err, "prompt %lld", (long long)i);
        return ret;
    }
    if (p->n_tokens < 1 || !p->token_ids || !p->offsets)
        return as_err_set(err, AS_ERR_INVALID,
                          "prompt '%s': %d tokens (ids %s, offsets %s); expected >= 1 with both",
                          p->id, p->n_tokens, p->token_ids ? "given" : "missing",
                          p->offsets ? "given" : "missing");
    for (int t = 0; t < p->n_tokens; t++) {
        int32_t a = p->offsets[2 * t], b = p->offsets[2 * t + 1];
        if (p->token_ids[t] < 0)
            return as_err_set(err, AS_ERR_INVALID, "prompt '%s': token_ids[%d] = %d; expected >= 0",
                              p->id, t, (int)p->token_ids[t]);
        if (a < 0 || b < a || (size_t)b > text_len)
            return as_err_set(err, AS_ERR_INVALID,
                              "prompt '%s': offsets[%d] = [%d, %d); expected 0 <= start <= end <= "
                              "%zu (bytes of text)",
                              p->id, t, (int)a, (int)b, text_len);
    }
    return AS_OK;
}

struct id_ref {
    const char *id;
    int64_t index;
};
static int cmp_id_ref(const void *a, const void *b) {
    return strcmp(((const struct id_ref *)a)->id, ((const struct id_ref *)b)->id);
}

/* Ids must be unique: sorted once, O(N log N). */
static as_status ids_unique(const struct as_h5_create_spec *s, struct as_err *err) {
    as_status ret = AS_OK;
    int64_t n = s->n_prompts;
    if (n < 2) return AS_OK;
    struct id_ref *o = malloc((size_t)n * sizeof *o);
    if (!o) return as_err_set(err, AS_ERR_NOMEM, "no memory to sort %lld prompt ids", (long long)n);
    for (int64_t i = 0; i < n; i++)
        o[i].id = s->prompts[i].id, o[i].index = i;
    qsort(o, (size_t)n, sizeof *o, cmp_id_ref);
    for (int64_t i = 1; i < n; i++)
        if (!strcmp(o[i].id, o[i - 1].id)) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "prompt id '%s' is used by prompts %lld and %lld; ids must be unique",
                             o[i].id, (long long)o[i - 1].index, (long long)o[i].index);
            break;
        }
    free(o);
    return ret;
}

#define NOMEM_IF(cond)                                                                             \
    do {                                                                                           \
        if (cond) {                                                                                \
            ret =                                                                                  \
                as_err_set(err, AS_ERR_NOMEM, "no memory to lay out %lld prompts", (long long)n);  \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

as_status h5_layout_build(const struct as_h5_create_spec *s, struct h5_layout *y,
                          struct as_err *err) {
    as_status ret = AS_OK;
    const int64_t n = s->n_prompts;
    const size_t nn = (size_t)n + 1;
    const int L = s->n_layers, H = s->n_heads;
    const char **ids = NULL, **grp = NULL, **var = NULL, **tok = NULL;
    int32_t *ntok = NULL, *tlen = NULL, *rank = NULL, *pidx = NULL, *pos = NULL, *tid = NULL;
    int32_t *off = NULL, *lid = NULL, *hid = NULL, *dropped = NULL;
    int64_t *tstart = NULL, *xstart = NULL, *astart = NULL;
    int8_t *status = NULL;
    uint8_t *text = NULL;
    memset(y, 0, sizeof *y);
    as_table_init(&y->sweep), as_table_init(&y->text);
    as_table_init(&y->tokens), as_table_init(&y->attention);
    AS_TRY(spec_check(s, err));
    AS_TRY(ids_unique(s, err));
    int64_t NT = 0, NB = 0, NE = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct as_h5_prompt_spec *p = &s->prompts[i];
        size_t tl = p->text_len ? p->text_len : (p->text ? strlen(p->text) : 0);
        AS_TRY(prompt_check(p, i, tl, err));
        NT += p->n_tokens, NB += (int64_t)tl;
        if (!p->skipped) NE += (int64_t)L * H * p->n_tokens * p->n_tokens;
    }
    if (NT >= INT32_MAX)
        return as_err_set(err, AS_ERR_UNSUPPORTED,
                          "the sweep has %lld tokens; a file holds fewer than 2^31. HINT: split "
                          "the sweep into several files",
                          (long long)NT);
    NOMEM_IF(!(ids = calloc(nn, sizeof *ids)) || !(grp = calloc(nn, sizeof *grp)) ||
             !(var = calloc(nn, sizeof *var)) || !(ntok = calloc(nn, sizeof *ntok)) ||
             !(tlen = calloc(nn, sizeof *tlen)) || !(rank = calloc(nn, sizeof *rank)) ||
             !(dropped = calloc(nn, sizeof *dropped)) || !(tstart = calloc(nn, sizeof *tstart)) ||
             !(xstart = calloc(nn, sizeof *xstart)) || !(astart = calloc(nn, sizeof *astart)) ||
             !(status = calloc(nn, 1)) || !(text = malloc((size_t)NB + 1)) ||
             !(tok = calloc((size_t)NT + 1, sizeof *tok)) ||
             !(pidx = malloc(((size_t)NT + 1) * sizeof *pidx)) ||
             !(pos = malloc(((size_t)NT + 1) * sizeof *pos)) ||
             !(tid = malloc(((size_t)NT + 1) * sizeof *tid)) ||
             !(off = malloc((2 * (size_t)NT + 1) * sizeof *off)) ||
             !(lid = malloc((size_t)L * sizeof *lid)) || !(hid = malloc((size_t)H * sizeof *hid)));
    int64_t t0 = 0, b0 = 0, e0 = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct as_h5_prompt_spec *p = &s->prompts[i];
        size_t tl = p->text_len ? p->text_len : (p->text ? strlen(p->text) : 0);
        ids[i] = p->id, grp[i] = p->group ? p->group : "", var[i] = p->variant ? p->variant : "";
        ntok[i] = p->n_tokens, tlen[i] = (int32_t)tl, rank[i] = p->rank;
        status[i] = p->skipped ? AS_PROMPT_SKIPPED : AS_PROMPT_PENDING;
        dropped[i] = p->tokens_dropped;
        tstart[i] = t0, xstart[i] = b0, astart[i] = e0;
        if (tl) memcpy(text + b0, p->text, tl);
        for (int t = 0; t < p->n_tokens; t++) {
            pidx[t0 + t] = (int32_t)i, pos[t0 + t] = t, tid[t0 + t] = p->token_ids[t];
            off[2 * (t0 + t)] = p->offsets[2 * t], off[2 * (t0 + t) + 1] = p->offsets[2 * t + 1];
            tok[t0 + t] = p->tokens ? p->tokens[t] : "";
        }
        t0 += p->n_tokens, b0 += (int64_t)tl;
        if (!p->skipped) e0 += (int64_t)L * H * p->n_tokens * p->n_tokens;
    }
    for (int l = 0; l < L; l++)
        lid[l] = s->layer_index ? s->layer_index[l] : l;
    for (int h = 0; h < H; h++)
        hid[h] = s->head_index ? s->head_index[h] : h;

    /* /sweep: one value per prompt */
    struct as_table *t = &y->sweep;
    const int64_t sn[1] = {n}, snt[1] = {NT}, snb[1] = {NB}, sL[1] = {L}, sH[1] = {H};
    const int64_t sNT2[2] = {NT, 2}, sLR[3] = {NT, L, H}, sNE[1] = {NE};
    as_table_add_strings(t, "prompt", "prompt", sn, ids);
    as_table_add_strings(t, "group", "prompt", sn, grp);
    as_table_add_strings(t, "variant", "prompt", sn, var);
    struct as_col *c = as_table_add(t, "n_tokens", AS_COL_I32, "prompt", sn, ntok, 1);
    if (c) snprintf(c->sample_dimension, sizeof c->sample_dimension, "token");
    as_table_add(t, "token_start", AS_COL_I64, "prompt", sn, tstart, 1);
    as_table_add(t, "text_start", AS_COL_I64, "prompt", sn, xstart, 1);
    c = as_table_add(t, "text_length", AS_COL_I32, "prompt", sn, tlen, 1);
    if (c) snprintf(c->sample_dimension, sizeof c->sample_dimension, "byte");
    if (s->store == AS_STORE_FULL)
        as_table_add(t, "attention_start", AS_COL_I64, "prompt", sn, astart, 1);
    as_table_add(t, "rank", AS_COL_I32, "prompt", sn, rank, 1);
    c = as_table_add(t, "status", AS_COL_I8, "prompt", sn, status, 1);
    if (c) {
        snprintf(c->flag_meanings, sizeof c->flag_meanings, "pending done failed skipped");
        c->flag_base = AS_PROMPT_PENDING;
    }
    c = as_table_add(t, "message", AS_COL_STR, "prompt", sn, NULL, 0);
    if (c) c->width = AS_H5_MESSAGE_MAX; /* written by workers; a new file reads as "" */
    as_table_add(t, "tokens_dropped", AS_COL_I32, "prompt", sn, dropped, 1);
    /* the sweep's metadata: more columns of the prompt table (borrowed data) */
    for (int k = 0; s->sweep_meta && k < s->sweep_meta->n; k++) {
        const struct as_col *m = &s->sweep_meta->cols[k];
        if (m->nd != 1 || m->shape[0] != n || strcmp(m->dims[0], "prompt") || !m->data ||
            as_table_find(t, m->name)) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "create: metadata column '%s' must be a new 1-D column of %lld "
                             "prompts with data",
                             m->name, (long long)n);
            goto done;
        }
        if ((c = as_table_add(t, m->name, m->type, "prompt", sn, m->data, 0))) {
            c->width = m->width;
            c->flag_base = m->flag_base;
            snprintf(c->flag_meanings, sizeof c->flag_meanings, "%s", m->flag_meanings);
        }
    }

    /* /text: every prompt's bytes back to back (no coordinate: a byte axis) */
    as_table_add(&y->text, "utf8", AS_COL_U8, "byte", snb, text, 1);

    /* /tokens */
    t = &y->tokens;
    as_table_add_range(t, "token", NT);
    as_table_add_range(t, "bound", 2);
    as_table_add(t, "prompt_index", AS_COL_I32, "token", snt, pidx, 1);
    as_table_add(t, "position", AS_COL_I32, "token", snt, pos, 1);
    as_table_add(t, "token_id", AS_COL_I32, "token", snt, tid, 1);
    as_table_add_strings(t, "token_str", "token", snt, tok);
    as_table_add(t, "offsets", AS_COL_I32, "token,bound", sNT2, off, 1);

    /* /attention (with value norms alone: the scales and /attention/value_norm) */
    if (s->store != AS_STORE_NONE || s->value_norms) {
        t = &y->attention;
        as_table_add(t, "layer", AS_COL_I32, "layer", sL, lid, 1);
        as_table_add(t, "head", AS_COL_I32, "head", sH, hid, 1);
        enum as_col_type at = s->dtype == AS_OUT_F16 ? AS_COL_F16 : AS_COL_F32;
        if (s->store == AS_STORE_LAST_ROW) {
            as_table_add_range(t, "token", NT);
            as_table_add(t, "last_row", at, "token,layer,head", sLR, NULL, 0);
        } else if (s->store == AS_STORE_FULL) {
            as_table_add(t, "full", at, "element", sNE, NULL, 0);
        }
        h5_layout_capture(s, t, NT, NE); /* value norms, scores (h5capture.c) */
    }
    AS_TRY(as_table_check(&y->sweep, "/sweep", err));
    AS_TRY(as_table_check(&y->text, "/text", err));
    AS_TRY(as_table_check(&y->tokens, "/tokens", err));
    AS_TRY(as_table_check(&y->attention, "/attention", err));
done:
    free(ids), free(grp), free(var), free(tok), free(ntok), free(tlen), free(rank), free(pidx);
    free(pos), free(tid), free(off), free(lid), free(hid), free(tstart), free(xstart);
    free(astart), free(status), free(text), free(dropped);
    if (ret != AS_OK) h5_layout_free(y);
    return ret;
}

/* ------------------------------------------------------------ estimate */

/* Metadata per object, measured on files written by this code (HDF5 1.10,
 * superblock 2, object header v2; see docs/FORMAT.md "Size estimate"): a
 * dataset with its dataspace, type, layout and a few attributes; a scale
 * attachment (DIMENSION_LIST entry + REFERENCE_LIST record); the fixed part
 * (superblock, root and group headers, provenance and /model attributes). */
#define H5_META_FIXED   19500.0
#define H5_META_DATASET 290.0
#define H5_META_ATTACH  60.0

static void table_bytes(const struct as_table *t, double *raw, double *meta) {
    for (int i = 0; i < t->n; i++) {
        const struct as_col *c = &t->cols[i];
        *raw += (double)as_col_count(c) * (double)as_col_elsize(c);
        *meta += H5_META_DATASET + H5_META_ATTACH * c->nd;
    }
}

double h5_layout_bytes(const struct h5_layout *y, const struct as_h5_create_spec *spec,
                       double summary_bytes, int n_summary_cols, double *meta) {
    double raw = 0, md = H5_META_FIXED;
    table_bytes(&y->sweep, &raw, &md);
    table_bytes(&y->text, &raw, &md);
    table_bytes(&y->tokens, &raw, &md);
    table_bytes(&y->attention, &raw, &md);
    if (spec->metrics) table_bytes(spec->metrics, &raw, &md);
    if (spec->behaviour) table_bytes(spec->behaviour, &raw, &md);
    if (spec->prov && spec->prov->config_text) raw += (double)strlen(spec->prov->config_text);
    raw += summary_bytes;
    md += (H5_META_DATASET + 2 * H5_META_ATTACH) * n_summary_cols;
    if (meta) *meta = md;
    return raw + md;
}

as_status as_h5_estimate(const struct as_h5_create_spec *spec, double summary_bytes,
                         int n_summary_cols, double *bytes, double *meta, struct as_err *err) {
    struct h5_layout y;
    as_status ret = h5_layout_build(spec, &y, err);
    if (ret != AS_OK) return ret;
    *bytes = h5_layout_bytes(&y, spec, summary_bytes, n_summary_cols, meta);
    h5_layout_free(&y);
    return AS_OK;
}
