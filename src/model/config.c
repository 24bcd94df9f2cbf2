/* config.c - validation, printing and parameter count of struct as_config. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "attnsweep/model.h"
#include "model_internal.h"

int as_config_n_params_checked(const struct as_config *c, size_t *out) {
    size_t V = (size_t)c->vocab_size, D = (size_t)c->dim, F = (size_t)c->hidden_dim;
    size_t q = (size_t)c->n_heads * (size_t)c->head_dim;     /* H*hd */
    size_t kv = (size_t)c->n_kv_heads * (size_t)c->head_dim; /* Hkv*hd */
    size_t emb, wq, wkv, ffn, layer, all, t;
    if (c->vocab_size < 0 || c->dim < 0 || c->hidden_dim < 0 || c->n_heads < 0 ||
        c->n_kv_heads < 0 || c->head_dim < 0 || c->n_layers < 0)
        return 0;
    if (!as_mul_size(V, D, &emb) || !as_mul_size(q, D, &wq) || !as_mul_size(kv, D, &wkv) ||
        !as_mul_size(F, D, &ffn))
        return 0;
    /* per layer: 2 norms + wq + wo + wk + wv + gate + up + down */
    layer = 2 * D;
    if (wq > SIZE_MAX / 2 || wkv > SIZE_MAX / 2 || ffn > SIZE_MAX / 3) return 0;
    size_t parts[3] = {2 * wq, 2 * wkv, 3 * ffn};
    for (int i = 0; i < 3; i++) {
        if (layer > SIZE_MAX - parts[i]) return 0;
        layer += parts[i];
    }
    if (!as_mul_size(layer, (size_t)c->n_layers, &all)) return 0;
    t = c->tied_embeddings ? emb : 2 * emb;
    if (emb > SIZE_MAX / 2 || D > SIZE_MAX - 2 * emb || all > SIZE_MAX - t - D) return 0;
    all += t + D;
    /* the canonical buffer is addressed in bytes too */
    if (all > SIZE_MAX / sizeof(float)) return 0;
    *out = all;
    return 1;
}

size_t as_config_n_params(const struct as_config *c) {
    size_t n;
    return as_config_n_params_checked(c, &n) ? n : SIZE_MAX;
}

static as_status check_pos(const char *what, const char *key, int v, struct as_err *err) {
    if (v <= 0)
        return as_err_set(err, AS_ERR_INVALID, "%s: %s = %d, expected a positive integer", what,
                          key, v);
    return AS_OK;
}

as_status as_config_validate(const struct as_config *c, const char *what, struct as_err *err) {
    as_status ret = AS_OK;
    if (!what) what = "model config";
    AS_TRY(check_pos(what, "n_layers (num_hidden_layers)", c->n_layers, err));
    AS_TRY(check_pos(what, "n_heads (num_attention_heads)", c->n_heads, err));
    AS_TRY(check_pos(what, "n_kv_heads (num_key_value_heads)", c->n_kv_heads, err));
    AS_TRY(check_pos(what, "head_dim", c->head_dim, err));
    AS_TRY(check_pos(what, "dim (hidden_size)", c->dim, err));
    AS_TRY(check_pos(what, "hidden_dim (intermediate_size)", c->hidden_dim, err));
    AS_TRY(check_pos(what, "vocab_size", c->vocab_size, err));
    AS_TRY(check_pos(what, "max_position (max_position_embeddings)", c->max_position, err));
    if (c->n_layers > AS_MAX_LAYERS) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: n_layers (num_hidden_layers) = %d, expected at most %d", what,
                         c->n_layers, AS_MAX_LAYERS);
        goto done;
    }
    if (c->n_heads % c->n_kv_heads != 0) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: n_heads = %d is not a multiple of n_kv_heads = %d (grouped-query "
                         "attention needs H %% Hkv == 0)",
                         what, c->n_heads, c->n_kv_heads);
        goto done;
    }
    if (c->head_dim % 2 != 0) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: head_dim = %d is odd, expected an even number (RoPE rotates pairs)",
                         what, c->head_dim);
        goto done;
    }
    if (!(c->rope_theta > 0.0f) || !isfinite(c->rope_theta)) {
        ret = as_err_set(err, AS_ERR_INVALID, "%s: rope_theta = %g, expected a positive number",
                         what, (double)c->rope_theta);
        goto done;
    }
    if (!(c->rms_eps > 0.0f) || !isfinite(c->rms_eps)) {
        ret = as_err_set(err, AS_ERR_INVALID, "%s: rms_eps (rms_norm_eps) = %g, expected > 0", what,
                         (double)c->rms_eps);
        goto done;
    }
    if (c->rope != AS_ROPE_HALF && c->rope != AS_ROPE_INTERLEAVED) {
        ret = as_err_set(err, AS_ERR_INVALID, "%s: unknown RoPE style %d", what, (int)c->rope);
        goto done;
    }
    if (c->bos_id < -1 || c->bos_id >= c->vocab_size || c->eos_id < -1 ||
        c->eos_id >= c->vocab_size) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: bos_token_id = %d / eos_token_id = %d, expected ids in [0, %d) "
                         "(or unknown)",
                         what, c->bos_id, c->eos_id, c->vocab_size);
        goto done;
    }
    size_t n;
    if (!as_config_n_params_checked(c, &n)) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: the weights of this configuration do not fit in memory addressing "
                         "(size overflow); dim = %d, hidden_dim = %d, vocab_size = %d, n_layers "
                         "= %d",
                         what, c->dim, c->hidden_dim, c->vocab_size, c->n_layers);
        goto done;
    }
done:
    return ret;
}

void as_config_print(const struct as_config *c, void *file) {
    FILE *fp = file ? (FILE *)file : stdout;
    const char *bar = "+------------------------------+----------------------------------+\n";
    size_t np = as_config_n_params(c);
    fputs(bar, fp);
    fprintf(fp, "| %-28s | %-32s |\n", "Parameter", "Value");
    fputs(bar, fp);
    fprintf(fp, "| %-28s | %-32s |\n", "architecture", c->architecture);
    fprintf(fp, "| %-28s | %-32s |\n", "source dtype", c->source_dtype);
    fprintf(fp, "| %-28s | %-32d |\n", "n_layers", c->n_layers);
    fprintf(fp, "| %-28s | %-32d |\n", "n_heads", c->n_heads);
    fprintf(fp, "| %-28s | %-32d |\n", "n_kv_heads", c->n_kv_heads);
    fprintf(fp, "| %-28s | %-32d |\n", "head_dim", c->head_dim);
    fprintf(fp, "| %-28s | %-32d |\n", "dim (hidden_size)", c->dim);
    fprintf(fp, "| %-28s | %-32d |\n", "hidden_dim (intermediate)", c->hidden_dim);
    fprintf(fp, "| %-28s | %-32d |\n", "vocab_size", c->vocab_size);
    fprintf(fp, "| %-28s | %-32d |\n", "max_position", c->max_position);
    fprintf(fp, "| %-28s | %-32g |\n", "rope_theta", (double)c->rope_theta);
    fprintf(fp, "| %-28s | %-32s |\n", "rope pairs",
            c->rope == AS_ROPE_HALF ? "half (i, i+hd/2), HF" : "interleaved (2i, 2i+1)");
    fprintf(fp, "| %-28s | %-32g |\n", "rms_eps", (double)c->rms_eps);
    fprintf(fp, "| %-28s | %-32s |\n", "tied embeddings", c->tied_embeddings ? "yes" : "no");
    fprintf(fp, "| %-28s | %-32d |\n", "bos_id", c->bos_id);
    fprintf(fp, "| %-28s | %-32d |\n", "eos_id", c->eos_id);
    if (np == SIZE_MAX)
        fprintf(fp, "| %-28s | %-32s |\n", "parameters", "(overflow)");
    else
        fprintf(fp, "| %-28s | %-32zu |\n", "parameters", np);
    fputs(bar, fp);
}
