/* llama2c.c - open a llama2.c "legacy" (version 0) checkpoint, as written by
 * llama2.c export.py legacy_export / model.py and read by run.c.
 *
 * Layout (little-endian; all weights float32, row-major [out, in]):
 *   int32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
 *   token_embedding_table (V, D)
 *   rms_att_weight (L, D)
 *   wq (L, H*hd, D)   wk (L, Hkv*hd, D)   wv (L, Hkv*hd, D)   wo (L, D, H*hd)
 *   rms_ffn_weight (L, D)
 *   w1 (L, F, D) gate   w2 (L, D, F) down   w3 (L, F, D) up
 *   rms_final_weight (D)
 *   freq_cis_real (seq_len, hd/2)   freq_cis_imag (seq_len, hd/2)   -- unused
 *   wcls (V, D)        -- only when vocab_size < 0 in the header (unshared classifier)
 * hd = dim / n_heads. The file size must equal this layout exactly. RoPE pairs
 * are adjacent (2i, 2i+1), unlike HF. */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "attnsweep/dtype.h"
#include "attnsweep/fileio.h"
#include "model_internal.h"

#define LLAMA2C_HEADER_BYTES 28
#define LLAMA2C_MAGIC        0x616b3432u /* "ak42": export.py version >= 1 */

static void l2c_namer(char *out, size_t cap, enum as_slot_kind kind, int l) {
    static const char *layer_names[AS_SLOTS_PER_LAYER] = {"rms_att_weight", "wq", "wk", "wv", "wo",
                                                          "rms_ffn_weight", "w1", "w3", "w2"};
    switch (kind) {
    case AS_SLOT_TOK_EMB: snprintf(out, cap, "token_embedding_table"); break;
    case AS_SLOT_FINAL_NORM: snprintf(out, cap, "rms_final_weight"); break;
    case AS_SLOT_LM_HEAD: snprintf(out, cap, "wcls"); break;
    default:
        snprintf(out, cap, "%s[%d]", layer_names[(int)kind - (int)AS_SLOT_ATTN_NORM], l);
        break;
    }
}

/* Adds n floats to a running float count; 0 on overflow. */
static int add_floats(size_t *total, size_t a, size_t b) {
    size_t n;
    if (!as_mul_size(a, b, &n) || *total > SIZE_MAX - n) return 0;
    *total += n;
    return 1;
}

as_status as_model_open_llama2c(struct as_model *m, struct as_err *err) {
    as_status ret = AS_OK;
    struct as_cursor cur;
    int32_t h[7];
    static const char *fields[7] = {"dim",        "hidden_dim", "n_layers", "n_heads",
                                    "n_kv_heads", "vocab_size", "seq_len"};
    const char *path = m->path;

    m->files = calloc(1, sizeof *m->files);
    if (!m->files) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    AS_TRY(as_file_map(&m->files[0], path, err));
    m->n_files = 1;
    const struct as_mapped_file *f = &m->files[0];

    as_cursor_init(&cur, f->data, f->size, path);
    for (int i = 0; i < 7; i++) {
        char what[64];
        snprintf(what, sizeof what, "header field %s", fields[i]);
        AS_TRY(as_cursor_i32(&cur, &h[i], what, err));
        if (i == 0 && (uint32_t)h[0] == LLAMA2C_MAGIC) {
            ret = as_err_set(err, AS_ERR_UNSUPPORTED,
                             "%s: llama2.c versioned export (magic \"ak42\") is not supported, "
                             "only the legacy version-0 layout. HINT: re-export with llama2.c "
                             "export.py --version 0",
                             path);
            goto done;
        }
    }
    struct as_config *c = &m->cfg;
    memset(c, 0, sizeof *c);
    for (int i = 0; i < 7; i++)
        if (h[i] <= 0 && !(i == 5 && h[i] < 0 && h[i] != INT32_MIN)) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: header field %s = %d, expected a positive integer (is this a "
                             "llama2.c legacy checkpoint?)",
                             path, fields[i], (int)h[i]);
            goto done;
        }
    c->dim = h[0];
    c->hidden_dim = h[1];
    c->n_layers = h[2];
    c->n_heads = h[3];
    c->n_kv_heads = h[4];
    c->tied_embeddings = h[5] > 0; /* negative vocab_size: unshared classifier follows */
    c->vocab_size = h[5] > 0 ? h[5] : -h[5];
    c->max_position = h[6];
    if (c->dim % c->n_heads != 0) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: header dim = %d is not divisible by n_heads = %d",
                         path, c->dim, c->n_heads);
        goto done;
    }
    c->head_dim = c->dim / c->n_heads;
    c->rope_theta = 10000.0f;
    c->rms_eps = 1e-5f;
    c->rope = AS_ROPE_INTERLEAVED;
    c->bos_id = 1; /* llama2.c run.c convention */
    c->eos_id = 2;
    snprintf(c->source_dtype, sizeof c->source_dtype, "F32");
    snprintf(c->architecture, sizeof c->architecture, "llama2.c");
    AS_TRY(as_config_validate(c, path, err));

    /* ---- exact size check before anything else is allocated */
    size_t V = (size_t)c->vocab_size, D = (size_t)c->dim, F = (size_t)c->hidden_dim;
    size_t L = (size_t)c->n_layers, hd = (size_t)c->head_dim;
    size_t Q = (size_t)c->n_heads * hd, KV = (size_t)c->n_kv_heads * hd;
    size_t floats = 0, expected;
    int ok = add_floats(&floats, V, D) && add_floats(&floats, L, D) &&
             add_floats(&floats, L, Q * D) && add_floats(&floats, L, 2 * KV * D) &&
             add_floats(&floats, L, D * Q) && add_floats(&floats, L, D) &&
             add_floats(&floats, L, 3 * F * D) && add_floats(&floats, 1, D) &&
             add_floats(&floats, (size_t)c->max_position, hd) && /* freq_cis real + imag */
             (c->tied_embeddings || add_floats(&floats, V, D)) &&
             as_mul_size(floats, sizeof(float), &expected) &&
             expected <= SIZE_MAX - LLAMA2C_HEADER_BYTES;
    if (!ok) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: header sizes overflow (dim=%d, hidden_dim=%d, "
                         "n_layers=%d, vocab_size=%d, seq_len=%d)",
                         path, c->dim, c->hidden_dim, c->n_layers, (int)h[5], c->max_position);
        goto done;
    }
    expected += LLAMA2C_HEADER_BYTES;
    if (f->size != expected) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: expected %zu bytes (28-byte header + %zu float32 for dim=%d, "
                         "hidden_dim=%d, n_layers=%d, n_heads=%d, n_kv_heads=%d, vocab_size=%d, "
                         "seq_len=%d), file has %zu bytes%s",
                         path, expected, floats, c->dim, c->hidden_dim, c->n_layers, c->n_heads,
                         c->n_kv_heads, (int)h[5], c->max_position, f->size,
                         f->size < expected ? " (truncated?)" : "");
        goto done;
    }

    /* ---- slots: each per-layer weight is a slice of a stacked (L, ...) array */
    AS_TRY(as_model_slots_init(m, l2c_namer, err));
    size_t off = LLAMA2C_HEADER_BYTES;
    struct {
        enum as_slot_kind kind; /* in file order */
        size_t per_layer;       /* floats per layer */
    } stacked[] = {{AS_SLOT_ATTN_NORM, D},  {AS_SLOT_WQ, Q * D},     {AS_SLOT_WK, KV * D},
                   {AS_SLOT_WV, KV * D},    {AS_SLOT_WO, D * Q},     {AS_SLOT_FFN_NORM, D},
                   {AS_SLOT_W_GATE, F * D}, {AS_SLOT_W_DOWN, D * F}, {AS_SLOT_W_UP, F * D}};
    struct as_tensor_src *t = &m->tensors[as_model_slot_index(c, AS_SLOT_TOK_EMB, -1)];
    t->offset = off;
    off += V * D * 4;
    for (size_t s = 0; s < sizeof stacked / sizeof stacked[0]; s++) {
        for (int l = 0; l < c->n_layers; l++) {
            t = &m->tensors[as_model_slot_index(c, stacked[s].kind, l)];
            AS_ASSERT(t->numel == stacked[s].per_layer);
            t->offset = off + (size_t)l * stacked[s].per_layer * 4;
        }
        off += L * stacked[s].per_layer * 4;
    }
    t = &m->tensors[as_model_slot_index(c, AS_SLOT_FINAL_NORM, -1)];
    t->offset = off;
    off += D * 4;
    off += (size_t)c->max_position * hd * 4; /* freq_cis_real, freq_cis_imag */
    if (!c->tied_embeddings) {
        t = &m->tensors[as_model_slot_index(c, AS_SLOT_LM_HEAD, -1)];
        t->offset = off;
        off += V * D * 4;
    }
    AS_ASSERT(off == f->size);
    for (int i = 0; i < m->n_tensors; i++) {
        t = &m->tensors[i];
        t->file = 0;
        t->dtype = AS_DTYPE_F32;
        t->nbytes = t->numel * 4;
        AS_ASSERT(t->offset + t->nbytes <= f->size);
    }
done:
    return ret;
}
