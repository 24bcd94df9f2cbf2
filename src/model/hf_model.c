/* hf_model.c - open an HF model directory: config.json + model.safetensors, or
 * the shards listed in model.safetensors.index.json (same precedence as
 * transformers: the single file wins when both exist).
 *
 * Every header is parsed and validated, each canonical weight is found by its
 * HF name, and its dtype and shape are checked against the config. A tensor
 * the config does not account for is an error (it means the config and the
 * weights disagree, e.g. extra layers or biases), except the rotary
 * `inv_freq` buffers some old checkpoints carry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/dtype.h"
#include "attnsweep/fileio.h"
#include "model_internal.h"

static void hf_namer(char *out, size_t cap, enum as_slot_kind kind, int l) {
    switch (kind) {
    case AS_SLOT_TOK_EMB: snprintf(out, cap, "model.embed_tokens.weight"); break;
    case AS_SLOT_FINAL_NORM: snprintf(out, cap, "model.norm.weight"); break;
    case AS_SLOT_LM_HEAD: snprintf(out, cap, "lm_head.weight"); break;
    case AS_SLOT_ATTN_NORM: snprintf(out, cap, "model.layers.%d.input_layernorm.weight", l); break;
    case AS_SLOT_WQ: snprintf(out, cap, "model.layers.%d.self_attn.q_proj.weight", l); break;
    case AS_SLOT_WK: snprintf(out, cap, "model.layers.%d.self_attn.k_proj.weight", l); break;
    case AS_SLOT_WV: snprintf(out, cap, "model.layers.%d.self_attn.v_proj.weight", l); break;
    case AS_SLOT_WO: snprintf(out, cap, "model.layers.%d.self_attn.o_proj.weight", l); break;
    case AS_SLOT_FFN_NORM:
        snprintf(out, cap, "model.layers.%d.post_attention_layernorm.weight", l);
        break;
    case AS_SLOT_W_GATE: snprintf(out, cap, "model.layers.%d.mlp.gate_proj.weight", l); break;
    case AS_SLOT_W_UP: snprintf(out, cap, "model.layers.%d.mlp.up_proj.weight", l); break;
    case AS_SLOT_W_DOWN: snprintf(out, cap, "model.layers.%d.mlp.down_proj.weight", l); break;
    }
}

/* The config keys behind each expected shape, for error messages. */
static const char *hf_shape_keys(int kind) {
    switch ((enum as_slot_kind)kind) {
    case AS_SLOT_TOK_EMB:
    case AS_SLOT_LM_HEAD: return "(vocab_size, hidden_size)";
    case AS_SLOT_ATTN_NORM:
    case AS_SLOT_FFN_NORM:
    case AS_SLOT_FINAL_NORM: return "(hidden_size)";
    case AS_SLOT_WQ: return "(num_attention_heads * head_dim, hidden_size)";
    case AS_SLOT_WK:
    case AS_SLOT_WV: return "(num_key_value_heads * head_dim, hidden_size)";
    case AS_SLOT_WO: return "(hidden_size, num_attention_heads * head_dim)";
    case AS_SLOT_W_GATE:
    case AS_SLOT_W_UP: return "(intermediate_size, hidden_size)";
    case AS_SLOT_W_DOWN: return "(hidden_size, intermediate_size)";
    }
    return "";
}

/* One tensor of one file, for the name lookup across all files. */
struct hf_ref {
    const char *name;
    int file;
    struct as_st_entry *e;
};

static int cmp_ref(const void *a, const void *b) {
    const struct hf_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->file - y->file);
}

static struct hf_ref *ref_find(struct hf_ref *refs, int n, const char *name) {
    struct hf_ref key = {name, 0, NULL};
    int lo = 0, hi = n;
    while (lo < hi) { /* lower bound by name only */
        int mid = lo + (hi - lo) / 2;
        if (strcmp(refs[mid].name, key.name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < n && strcmp(refs[lo].name, name) == 0) ? &refs[lo] : NULL;
}

/* "model.layers.<n>.": returns n, or -1 when name is not a layer tensor. */
static long layer_of(const char *name) {
    const char *p = "model.layers.";
    if (strncmp(name, p, strlen(p)) != 0) return -1;
    char *end;
    long l = strtol(name + strlen(p), &end, 10);
    return (end != name + strlen(p) && *end == '.') ? l : -1;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static as_status bind_slot(struct as_model *m, struct as_tensor_src *t, struct hf_ref *r,
                           struct as_err *err) {
    const struct as_st_entry *e = r->e;
    const char *file = m->files[r->file].path;
    if (e->dtype == AS_DTYPE_INVALID)
        return as_err_set(err, AS_ERR_UNSUPPORTED,
                          "%s: tensor \"%s\" has dtype %s; supported weight dtypes are F32, F16 "
                          "and BF16",
                          file, e->name, e->dtype_name);
    int same = e->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = e->shape[d] == t->shape[d];
    if (!same) {
        char got[160], want[64];
        as_shape_str(got, sizeof got, e->ndim, e->shape);
        as_shape_str(want, sizeof want, t->ndim, t->shape);
        return as_err_set(err, AS_ERR_INVALID,
                          "%s: tensor \"%s\" has shape %s, expected %s = %s from config.json", file,
                          e->name, got, want, hf_shape_keys(t->kind));
    }
    t->file = r->file;
    t->offset = e->begin;
    t->nbytes = e->end - e->begin;
    t->dtype = e->dtype;
    return AS_OK;
}

as_status as_model_open_hf(struct as_model *m, struct as_err *err) {
    as_status ret = AS_OK;
    char cfg_path[4096], single[4096], index_path[4096], p[4096];
    struct as_st_index ix;
    struct as_st_header *hdr = NULL;
    struct hf_ref *refs = NULL;
    int n_refs = 0, n_hdr = 0;
    const char *dir = m->path;

    memset(&ix, 0, sizeof ix);
    AS_TRY(as_path_join(cfg_path, sizeof cfg_path, dir, "config.json", err));
    AS_TRY(as_path_join(single, sizeof single, dir, "model.safetensors", err));
    AS_TRY(as_path_join(index_path, sizeof index_path, dir, "model.safetensors.index.json", err));

    AS_TRY(as_hf_config_read(cfg_path, &m->cfg, err));
    AS_TRY(as_config_validate(&m->cfg, cfg_path, err));

    /* ---- which files hold the weights */
    int sharded = 0;
    if (as_file_exists(single)) {
        m->n_files = 1;
    } else if (as_file_exists(index_path)) {
        AS_TRY(as_st_index_read(index_path, dir, &ix, err));
        m->n_files = ix.n_shards;
        sharded = 1;
    } else {
        ret = as_err_set(err, AS_ERR_IO,
                         "%s: neither model.safetensors nor model.safetensors.index.json found. "
                         "HINT: only safetensors weights are supported; convert PyTorch .bin "
                         "checkpoints with save_pretrained(..., safe_serialization=True)",
                         dir);
        goto done;
    }
    m->files = calloc((size_t)m->n_files, sizeof *m->files);
    hdr = calloc((size_t)m->n_files, sizeof *hdr);
    if (!m->files || !hdr) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    for (int f = 0; f < m->n_files; f++) {
        if (sharded)
            AS_TRY(as_path_join(p, sizeof p, dir, ix.shards[f], err));
        else
            snprintf(p, sizeof p, "%s", single);
        AS_TRY(as_file_map(&m->files[f], p, err));
        AS_TRY(as_st_header_parse(&m->files[f], &hdr[f], err));
        n_hdr = f + 1;
        n_refs += hdr[f].n;
    }

    /* ---- name lookup over all files; a name may live in one file only */
    refs = calloc(n_refs ? (size_t)n_refs : 1, sizeof *refs);
    if (!refs) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    int k = 0;
    for (int f = 0; f < n_hdr; f++)
        for (int i = 0; i < hdr[f].n; i++)
            refs[k++] = (struct hf_ref){hdr[f].e[i].name, f, &hdr[f].e[i]};
    qsort(refs, (size_t)n_refs, sizeof *refs, cmp_ref);
    for (int i = 1; i < n_refs; i++)
        if (strcmp(refs[i - 1].name, refs[i].name) == 0) {
            ret = as_err_set(err, AS_ERR_FORMAT, "tensor \"%s\" is stored twice: in %s and in %s",
                             refs[i].name, m->files[refs[i - 1].file].path,
                             m->files[refs[i].file].path);
            goto done;
        }
    for (int i = 0; i < ix.n;
         i++) { /* the index must agree with the shards (files[f] is shards[f]) */
        struct hf_ref *r = ref_find(refs, n_refs, ix.tensor[i]);
        if (!r || r->file != ix.shard[i]) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: weight_map maps tensor \"%s\" to shard \"%s\", but that shard "
                             "has no such tensor%s%s%s",
                             index_path, ix.tensor[i], ix.shards[ix.shard[i]],
                             r ? " (it is in " : "", r ? m->files[r->file].path : "", r ? ")" : "");
            goto done;
        }
    }

    /* ---- tied or untied classifier */
    struct hf_ref *lm = ref_find(refs, n_refs, "lm_head.weight");
    if (!lm)
        m->cfg.tied_embeddings = 1; /* no lm_head: HF ties it to embed_tokens */
    else if (m->cfg.tied_embeddings)
        lm->e->used = 1; /* tie_word_embeddings wins, as in HF */

    /* ---- canonical slots */
    AS_TRY(as_model_slots_init(m, hf_namer, err));
    const char *where = sharded ? index_path : single;
    for (int i = 0; i < m->n_tensors; i++) {
        struct as_tensor_src *t = &m->tensors[i];
        struct hf_ref *r = ref_find(refs, n_refs, t->name);
        if (!r) {
            char want[64];
            as_shape_str(want, sizeof want, t->ndim, t->shape);
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: tensor \"%s\" is missing (expected shape %s = %s; config.json "
                             "has num_hidden_layers = %d)",
                             where, t->name, want, hf_shape_keys(t->kind), m->cfg.n_layers);
            goto done;
        }
        AS_TRY(bind_slot(m, t, r, err));
        r->e->used = 1;
    }
    for (int i = 0; i < n_refs; i++) {
        if (refs[i].e->used || ends_with(refs[i].name, ".rotary_emb.inv_freq")) continue;
        long l = layer_of(refs[i].name);
        if (l >= m->cfg.n_layers)
            ret =
                as_err_set(err, AS_ERR_INVALID,
                           "%s: tensor \"%s\" belongs to layer %ld, but %s has "
                           "num_hidden_layers = %d",
                           m->files[refs[i].file].path, refs[i].name, l, cfg_path, m->cfg.n_layers);
        else
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: unexpected tensor \"%s\": not part of a LlamaForCausalLM with "
                             "the options in %s (biases, extra modules and other architectures "
                             "are not supported)",
                             m->files[refs[i].file].path, refs[i].name, cfg_path);
        goto done;
    }

    /* ---- dtype of the weights as stored */
    snprintf(m->cfg.source_dtype, sizeof m->cfg.source_dtype, "%s",
             as_dtype_name((enum as_dtype)m->tensors[0].dtype));
    for (int i = 1; i < m->n_tensors; i++)
        if (m->tensors[i].dtype != m->tensors[0].dtype)
            snprintf(m->cfg.source_dtype, sizeof m->cfg.source_dtype, "mixed");
done:
    for (int f = 0; f < n_hdr; f++)
        as_st_header_free(&hdr[f]);
    free(hdr);
    free(refs);
    as_st_index_free(&ix);
    return ret;
}
