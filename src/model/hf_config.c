/* hf_config.c - HF config.json (LlamaConfig) -> struct as_config, via jansson.
 *
 * Missing keys take the defaults of transformers' LlamaConfig where a default
 * is harmless (num_key_value_heads, head_dim, rope_theta, rms_norm_eps,
 * tie_word_embeddings, max_position_embeddings, bos/eos ids). The size keys
 * (hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
 * vocab_size) are required: a config without them is broken, and HF's
 * defaults (a 7B model) would only produce confusing shape errors later.
 * Options the forward pass does not implement are rejected by key name. */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/json.h"
#include "attnsweep/fileio.h"
#include "model_internal.h"

/* Compact JSON text of v for messages ("null" for absent). */
static void json_str(char *out, size_t cap, const json_t *v) {
    if (!v) {
        snprintf(out, cap, "(absent)");
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        snprintf(out, cap, "(unprintable)");
        return;
    }
    if (strlen(s) > 120)
        snprintf(out, cap, "%.117s...", s);
    else
        snprintf(out, cap, "%s", s);
    free(s);
}

static as_status bad_key(const char *path, const char *key, const json_t *v, const char *expected,
                         as_status s, struct as_err *err) {
    char found[160];
    json_str(found, sizeof found, v);
    return as_err_set(err, s, "%s: key \"%s\": found %s, expected %s", path, key, found, expected);
}

/* Integer key. Absent or null -> *out = def (or an error when required). */
static as_status get_int(const char *path, json_t *root, const char *key, int required, int def,
                         int *out, struct as_err *err) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (required)
            return as_err_set(err, AS_ERR_FORMAT, "%s: missing required key \"%s\"", path, key);
        *out = def;
        return AS_OK;
    }
    double d;
    if (json_is_integer(v))
        d = (double)json_integer_value(v);
    else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v))
        d = json_real_value(v);
    else
        return bad_key(path, key, v, "an integer", AS_ERR_INVALID, err);
    if (d < (double)INT_MIN || d > (double)INT_MAX)
        return bad_key(path, key, v, "an integer that fits in 32 bits", AS_ERR_INVALID, err);
    *out = (int)d;
    return AS_OK;
}

static as_status get_float(const char *path, json_t *root, const char *key, float def, float *out,
                           struct as_err *err) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return AS_OK;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return bad_key(path, key, v, "a finite number", AS_ERR_INVALID, err);
    *out = (float)json_number_value(v);
    return AS_OK;
}

static as_status get_bool(const char *path, json_t *root, const char *key, int def, int *out,
                          struct as_err *err) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return AS_OK;
    }
    if (!json_is_boolean(v)) return bad_key(path, key, v, "true or false", AS_ERR_INVALID, err);
    *out = json_is_true(v);
    return AS_OK;
}

/* bos_token_id / eos_token_id: integer, null (-> -1), or a list (first entry). */
static as_status get_token_id(const char *path, json_t *root, const char *key, int def, int *out,
                              struct as_err *err) {
    json_t *v = json_object_get(root, key);
    if (!v) {
        *out = def;
        return AS_OK;
    }
    if (json_is_null(v)) {
        *out = -1;
        return AS_OK;
    }
    json_t *x = json_is_array(v) ? json_array_get(v, 0) : v;
    if (!x || !json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > INT_MAX)
        return bad_key(path, key, v, "a token id (non-negative integer), a list of them, or null",
                       AS_ERR_INVALID, err);
    *out = (int)json_integer_value(x);
    return AS_OK;
}

/* rope_scaling must be absent or null (an object whose type is "default" is the
 * same thing and is accepted too). */
static as_status check_rope_scaling(const char *path, json_t *root, struct as_err *err) {
    const char *key = "rope_scaling";
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return AS_OK;
    if (json_is_object(v)) {
        json_t *t = json_object_get(v, "rope_type");
        if (!t) t = json_object_get(v, "type");
        if (t && json_is_string(t) && strcmp(json_string_value(t), "default") == 0) return AS_OK;
    }
    char found[160];
    json_str(found, sizeof found, v);
    return as_err_set(err, AS_ERR_UNSUPPORTED,
                      "%s: key \"%s\": found %s, expected null: RoPE scaling (linear, dynamic, "
                      "yarn, llama3, ...) is not implemented",
                      path, key, found);
}

/* transformers >= 5 writes "rope_parameters": {"rope_type": "default", "rope_theta": ...}. */
static as_status read_rope_parameters(const char *path, json_t *root, float *theta,
                                      struct as_err *err) {
    const char *key = "rope_parameters";
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return AS_OK;
    if (!json_is_object(v)) return bad_key(path, key, v, "an object", AS_ERR_INVALID, err);
    json_t *t = json_object_get(v, "rope_type");
    if (t && !(json_is_string(t) && strcmp(json_string_value(t), "default") == 0))
        return bad_key(path, "rope_parameters.rope_type", t, "\"default\"", AS_ERR_UNSUPPORTED,
                       err);
    json_t *th = json_object_get(v, "rope_theta");
    if (th) {
        if (!json_is_number(th) || !isfinite(json_number_value(th)))
            return bad_key(path, "rope_parameters.rope_theta", th, "a finite number",
                           AS_ERR_INVALID, err);
        *theta = (float)json_number_value(th);
    }
    return AS_OK;
}

static as_status check_false(const char *path, json_t *root, const char *key, const char *what,
                             struct as_err *err) {
    int b = 0;
    as_status s = get_bool(path, root, key, 0, &b, err);
    if (s != AS_OK) return s;
    if (b)
        return as_err_set(err, AS_ERR_UNSUPPORTED,
                          "%s: key \"%s\": found true, expected false: %s are not implemented",
                          path, key, what);
    return AS_OK;
}

static as_status check_architecture(const char *path, json_t *root, struct as_config *c,
                                    struct as_err *err) {
    json_t *mt = json_object_get(root, "model_type");
    json_t *ar = json_object_get(root, "architectures");
    if (ar && json_is_null(ar)) ar = NULL;
    if (!mt && !ar)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: neither \"model_type\" nor \"architectures\" is present, so this "
                          "is not an HF model config; expected \"model_type\": \"llama\"",
                          path);
    if (mt && !(json_is_string(mt) && strcmp(json_string_value(mt), "llama") == 0))
        return bad_key(path, "model_type", mt,
                       "\"llama\" (only Llama-architecture models are supported)",
                       AS_ERR_UNSUPPORTED, err);
    if (ar) {
        int ok = 0;
        size_t i;
        json_t *a;
        if (!json_is_array(ar))
            return bad_key(path, "architectures", ar, "a list of class names", AS_ERR_INVALID, err);
        json_array_foreach(ar, i, a) {
            if (json_is_string(a) && strcmp(json_string_value(a), "LlamaForCausalLM") == 0) ok = 1;
        }
        if (!ok)
            return bad_key(path, "architectures", ar, "[\"LlamaForCausalLM\"]", AS_ERR_UNSUPPORTED,
                           err);
    }
    snprintf(c->architecture, sizeof c->architecture, "LlamaForCausalLM");
    return AS_OK;
}

as_status as_hf_config_read(const char *path, struct as_config *c, struct as_err *err) {
    as_status ret = AS_OK;
    json_t *root = NULL;

    memset(c, 0, sizeof *c);
    if (!as_file_exists(path)) {
        ret = as_err_set(err, AS_ERR_IO,
                         "%s: not found; an HF model directory needs config.json next to the "
                         "weights",
                         path);
        goto done;
    }
    AS_TRY(as_json_load_object(path, &root, err));

    AS_TRY(check_architecture(path, root, c, err));
    AS_TRY(check_rope_scaling(path, root, err));
    AS_TRY(check_false(path, root, "attention_bias", "q/k/v/o projection biases", err));
    AS_TRY(check_false(path, root, "mlp_bias", "MLP biases", err));
    json_t *act = json_object_get(root, "hidden_act");
    if (act && !(json_is_string(act) && strcmp(json_string_value(act), "silu") == 0)) {
        ret =
            bad_key(path, "hidden_act", act, "\"silu\" (the SwiGLU MLP)", AS_ERR_UNSUPPORTED, err);
        goto done;
    }

    AS_TRY(get_int(path, root, "hidden_size", 1, 0, &c->dim, err));
    AS_TRY(get_int(path, root, "intermediate_size", 1, 0, &c->hidden_dim, err));
    AS_TRY(get_int(path, root, "num_hidden_layers", 1, 0, &c->n_layers, err));
    AS_TRY(get_int(path, root, "num_attention_heads", 1, 0, &c->n_heads, err));
    AS_TRY(get_int(path, root, "vocab_size", 1, 0, &c->vocab_size, err));
    AS_TRY(get_int(path, root, "num_key_value_heads", 0, c->n_heads, &c->n_kv_heads, err));
    if (c->n_heads <= 0) {
        ret = bad_key(path, "num_attention_heads", json_object_get(root, "num_attention_heads"),
                      "a positive integer", AS_ERR_INVALID, err);
        goto done;
    }
    AS_TRY(get_int(path, root, "head_dim", 0, c->dim / c->n_heads, &c->head_dim, err));
    json_t *hd = json_object_get(root, "head_dim");
    if ((!hd || json_is_null(hd)) && c->dim % c->n_heads != 0) {
        ret = as_err_set(err, AS_ERR_INVALID,
                         "%s: hidden_size = %d is not divisible by num_attention_heads = %d and "
                         "no head_dim is given",
                         path, c->dim, c->n_heads);
        goto done;
    }
    AS_TRY(get_int(path, root, "max_position_embeddings", 0, 2048, &c->max_position, err));
    AS_TRY(get_float(path, root, "rope_theta", 10000.0f, &c->rope_theta, err));
    AS_TRY(read_rope_parameters(path, root, &c->rope_theta, err));
    AS_TRY(get_float(path, root, "rms_norm_eps", 1e-6f, &c->rms_eps, err));
    AS_TRY(get_bool(path, root, "tie_word_embeddings", 0, &c->tied_embeddings, err));
    AS_TRY(get_token_id(path, root, "bos_token_id", 1, &c->bos_id, err));
    AS_TRY(get_token_id(path, root, "eos_token_id", 2, &c->eos_id, err));
    c->rope = AS_ROPE_HALF;
    /* source_dtype is set from the weights, not from torch_dtype */
done:
    json_decref(root);
    return ret;
}
