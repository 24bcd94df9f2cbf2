/* vocab_hf.c - Hugging Face tokenizer.json (+ tokenizer_config.json) source.
 *
 * Parsed whole with jansson (the TinyLlama file holds a raw U+2028 inside a
 * JSON string, so it must never be read line by line). Supported, which covers
 * the Llama / TinyLlama files old and new:
 *   model:         BPE (vocab, merges as "a b" strings or ["a", "b"] pairs,
 *                  unk_token, byte_fallback, fuse_unk, ignore_merges)
 *   normalizer:    null | Sequence | Prepend | Replace (String pattern)
 *   pre_tokenizer: null | Metaspace (| a Sequence holding one Metaspace)
 *   decoder:       null | Sequence | Replace | ByteFallback | Fuse | Strip | Metaspace
 *   added_tokens:  split out of the raw text (normalized:false semantics), lstrip/rstrip
 * Anything else is rejected with AS_ERR_UNSUPPORTED naming the key, rather than
 * silently tokenizing differently from HF. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/json.h"
#include "attnsweep/fileio.h"
#include "tok_internal.h"

#define AS_TOK_MAX_VOCAB (1 << 24)

static as_status bad_type(const char *path, const char *key, const json_t *j, const char *expected,
                          struct as_err *err) {
    return as_err_set(err, AS_ERR_FORMAT, "%s: key %s: expected %s, found %s", path, key, expected,
                      as_json_kind(j));
}

/* Optional boolean: absent/null -> def. */
static as_status get_bool(const char *path, const json_t *obj, const char *name, const char *key,
                          int def, int *out, struct as_err *err) {
    const json_t *j = json_object_get(obj, name);
    if (!j || json_is_null(j)) {
        *out = def;
        return AS_OK;
    }
    if (!json_is_boolean(j)) return bad_type(path, key, j, "a boolean", err);
    *out = json_is_true(j);
    return AS_OK;
}

static as_status get_str(const char *path, const json_t *obj, const char *name, const char *key,
                         const char **out, size_t *len, struct as_err *err) {
    const json_t *j = json_object_get(obj, name);
    if (!json_is_string(j)) return bad_type(path, key, j, "a string", err);
    *out = json_string_value(j);
    *len = json_string_length(j);
    return AS_OK;
}

static as_status single_cp(const char *path, const char *key, const char *s, size_t n, uint32_t *cp,
                           struct as_err *err) {
    uint32_t c;
    if (n == 0 || (size_t)as_tok_utf8_next((const unsigned char *)s, &c) != n)
        return as_err_set(err, AS_ERR_UNSUPPORTED,
                          "%s: key %s: expected a single character, found \"%s\"", path, key, s);
    *cp = c;
    return AS_OK;
}

static as_status parse_scheme(const char *path, const json_t *obj, const char *key,
                              enum as_tok_prepend_scheme *out, struct as_err *err) {
    const json_t *ps = json_object_get(obj, "prepend_scheme");
    if (ps && !json_is_null(ps)) {
        const char *v = json_string_value(ps);
        if (!v) return bad_type(path, key, ps, "a string (always, first or never)", err);
        if (strcmp(v, "always") == 0)
            *out = AS_TOK_PREPEND_ALWAYS;
        else if (strcmp(v, "first") == 0)
            *out = AS_TOK_PREPEND_FIRST;
        else if (strcmp(v, "never") == 0)
            *out = AS_TOK_PREPEND_NEVER;
        else
            return as_err_set(
                err, AS_ERR_FORMAT,
                "%s: key %s.prepend_scheme: expected always, first or never, found \"%s\"", path,
                key, v);
        return AS_OK;
    }
    int add = 1; /* older files: add_prefix_space */
    as_status ret = get_bool(path, obj, "add_prefix_space", key, 1, &add, err);
    *out = add ? AS_TOK_PREPEND_ALWAYS : AS_TOK_PREPEND_NEVER;
    return ret;
}

/* ---------------------------------------------------------------- normalizer */
static as_status add_norm(struct as_tokenizer *t, enum as_tok_norm_kind kind, const char *pat,
                          size_t pl, const char *content, size_t cl, struct as_err *err) {
    struct as_tok_norm_step *nn = realloc(t->norm, (size_t)(t->n_norm + 1) * sizeof *nn);
    if (!nn) return as_err_set(err, AS_ERR_NOMEM, "cannot allocate normalizer");
    t->norm = nn;
    struct as_tok_norm_step *s = &nn[t->n_norm++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    as_status ret = AS_OK;
    if (pat) ret = as_tok_utf8_to_cps(pat, pl, &s->pattern, &s->n_pattern, err);
    if (ret == AS_OK) ret = as_tok_utf8_to_cps(content, cl, &s->content, &s->n_content, err);
    return ret;
}

static as_status parse_normalizer(struct as_tokenizer *t, const json_t *n, const char *key,
                                  int depth, struct as_err *err) {
    const char *path = t->path;
    if (!n || json_is_null(n)) return AS_OK;
    if (!json_is_object(n) || depth > 8) return bad_type(path, key, n, "an object or null", err);
    const char *type = json_string_value(json_object_get(n, "type"));
    if (!type) return bad_type(path, key, json_object_get(n, "type"), "a string at .type", err);
    char sub[256];
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(n, "normalizers");
        if (!json_is_array(arr)) return bad_type(path, key, arr, "an array at .normalizers", err);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(sub, sizeof sub, "%s.normalizers[%zu]", key, i);
            as_status ret = parse_normalizer(t, json_array_get(arr, i), sub, depth + 1, err);
            if (ret != AS_OK) return ret;
        }
        return AS_OK;
    }
    if (strcmp(type, "Prepend") == 0) {
        const char *s = NULL;
        size_t l = 0;
        snprintf(sub, sizeof sub, "%s.prepend", key);
        as_status ret = get_str(path, n, "prepend", sub, &s, &l, err);
        return ret != AS_OK ? ret : add_norm(t, AS_TOK_NORM_PREPEND, NULL, 0, s, l, err);
    }
    if (strcmp(type, "Replace") == 0) {
        const json_t *pat = json_object_get(n, "pattern");
        const json_t *ps = json_object_get(pat, "String");
        snprintf(sub, sizeof sub, "%s.pattern", key);
        if (!json_is_string(ps))
            return as_err_set(
                err, AS_ERR_UNSUPPORTED,
                "%s: key %s: only {\"String\": ...} patterns are supported (found %s)", path, sub,
                json_object_get(pat, "Regex") ? "a Regex" : as_json_kind(pat));
        const char *c = NULL;
        size_t cl = 0;
        snprintf(sub, sizeof sub, "%s.content", key);
        as_status ret = get_str(path, n, "content", sub, &c, &cl, err);
        if (ret != AS_OK) return ret;
        return add_norm(t, AS_TOK_NORM_REPLACE, json_string_value(ps), json_string_length(ps), c,
                        cl, err);
    }
    return as_err_set(err, AS_ERR_UNSUPPORTED,
                      "%s: key %s.type: normalizer \"%s\" is not supported (supported: Sequence, "
                      "Prepend, Replace)",
                      path, key, type);
}

/* ---------------------------------------------------------------- pre-tokenizer */
static as_status parse_pretok(struct as_tokenizer *t, const json_t *p, const char *key,
                              struct as_err *err) {
    const char *path = t->path;
    if (!p || json_is_null(p)) return AS_OK;
    if (!json_is_object(p)) return bad_type(path, key, p, "an object or null", err);
    const char *type = json_string_value(json_object_get(p, "type"));
    if (!type) return bad_type(path, key, json_object_get(p, "type"), "a string at .type", err);
    char sub[256];
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(p, "pretokenizers");
        if (!json_is_array(arr)) return bad_type(path, key, arr, "an array at .pretokenizers", err);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(sub, sizeof sub, "%s.pretokenizers[%zu]", key, i);
            as_status ret = parse_pretok(t, json_array_get(arr, i), sub, err);
            if (ret != AS_OK) return ret;
        }
        return AS_OK;
    }
    if (strcmp(type, "Metaspace") == 0) {
        if (t->metaspace.enabled)
            return as_err_set(err, AS_ERR_UNSUPPORTED, "%s: key %s: more than one Metaspace", path,
                              key);
        struct as_tok_metaspace *m = &t->metaspace;
        const char *r = NULL;
        size_t rl = 0;
        snprintf(sub, sizeof sub, "%s.replacement", key);
        as_status ret = get_str(path, p, "replacement", sub, &r, &rl, err);
        if (ret == AS_OK) ret = single_cp(path, sub, r, rl, &m->replacement, err);
        if (ret == AS_OK) ret = parse_scheme(path, p, key, &m->prepend_scheme, err);
        snprintf(sub, sizeof sub, "%s.split", key);
        if (ret == AS_OK) ret = get_bool(path, p, "split", sub, 1, &m->split, err);
        m->enabled = 1;
        return ret;
    }
    return as_err_set(err, AS_ERR_UNSUPPORTED,
                      "%s: key %s.type: pre-tokenizer \"%s\" is not supported (supported: null, "
                      "Metaspace)",
                      path, key, type);
}

/* ---------------------------------------------------------------- decoder */
static as_status parse_decoder(struct as_tokenizer *t, const json_t *d, const char *key, int depth,
                               struct as_err *err) {
    const char *path = t->path;
    if (!d || json_is_null(d)) return AS_OK;
    if (!json_is_object(d) || depth > 8) return bad_type(path, key, d, "an object or null", err);
    const char *type = json_string_value(json_object_get(d, "type"));
    if (!type) return bad_type(path, key, json_object_get(d, "type"), "a string at .type", err);
    char sub[256];
    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(d, "decoders");
        if (!json_is_array(arr)) return bad_type(path, key, arr, "an array at .decoders", err);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            snprintf(sub, sizeof sub, "%s.decoders[%zu]", key, i);
            as_status ret = parse_decoder(t, json_array_get(arr, i), sub, depth + 1, err);
            if (ret != AS_OK) return ret;
        }
        return AS_OK;
    }
    struct as_tok_dec_step s;
    memset(&s, 0, sizeof s);
    as_status ret = AS_OK;
    if (strcmp(type, "Replace") == 0) {
        const json_t *ps = json_object_get(json_object_get(d, "pattern"), "String");
        snprintf(sub, sizeof sub, "%s.pattern", key);
        if (!json_is_string(ps))
            return as_err_set(err, AS_ERR_UNSUPPORTED,
                              "%s: key %s: only {\"String\": ...} patterns are supported", path,
                              sub);
        const char *c = NULL;
        size_t cl = 0;
        snprintf(sub, sizeof sub, "%s.content", key);
        ret = get_str(path, d, "content", sub, &c, &cl, err);
        if (ret != AS_OK) return ret;
        s.kind = AS_TOK_DEC_REPLACE;
        s.pattern = strdup(json_string_value(ps));
        s.content = strdup(c);
        if (!s.pattern || !s.content)
            ret = as_err_set(err, AS_ERR_NOMEM, "cannot allocate decoder");
    } else if (strcmp(type, "ByteFallback") == 0) {
        s.kind = AS_TOK_DEC_BYTE_FALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        s.kind = AS_TOK_DEC_FUSE;
    } else if (strcmp(type, "Strip") == 0) {
        const char *c = NULL;
        size_t cl = 0;
        snprintf(sub, sizeof sub, "%s.content", key);
        ret = get_str(path, d, "content", sub, &c, &cl, err);
        if (ret == AS_OK) ret = single_cp(path, sub, c, cl, &s.cp, err);
        const json_t *js = json_object_get(d, "start"), *je = json_object_get(d, "stop");
        if (ret == AS_OK && (!json_is_integer(js) || !json_is_integer(je) ||
                             json_integer_value(js) < 0 || json_integer_value(je) < 0 ||
                             json_integer_value(js) > 1000 || json_integer_value(je) > 1000))
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: key %s.start/.stop: expected small non-negative integers", path,
                             key);
        if (ret == AS_OK) {
            s.kind = AS_TOK_DEC_STRIP;
            s.start = (int)json_integer_value(js);
            s.stop = (int)json_integer_value(je);
        }
    } else if (strcmp(type, "Metaspace") == 0) {
        const char *r = NULL;
        size_t rl = 0;
        snprintf(sub, sizeof sub, "%s.replacement", key);
        ret = get_str(path, d, "replacement", sub, &r, &rl, err);
        if (ret == AS_OK) ret = single_cp(path, sub, r, rl, &s.cp, err);
        if (ret == AS_OK) ret = parse_scheme(path, d, key, &s.prepend_scheme, err);
        s.kind = AS_TOK_DEC_METASPACE;
    } else {
        return as_err_set(err, AS_ERR_UNSUPPORTED,
                          "%s: key %s.type: decoder \"%s\" is not supported (supported: Sequence, "
                          "Replace, ByteFallback, Fuse, Strip, Metaspace)",
                          path, key, type);
    }
    if (ret == AS_OK) {
        struct as_tok_dec_step *nd = realloc(t->dec, (size_t)(t->n_dec + 1) * sizeof *nd);
        if (!nd)
            ret = as_err_set(err, AS_ERR_NOMEM, "cannot allocate decoder");
        else {
            t->dec = nd;
            t->dec[t->n_dec++] = s;
            return AS_OK;
        }
    }
    free(s.pattern);
    free(s.content);
    return ret;
}

/* ---------------------------------------------------------------- tokenizer_config.json */
struct hf_config {
    int has_add_bos, add_bos;
    char bos[256], eos[256]; /* token strings, "" when absent */
};

static void config_token(const json_t *j, char *out, size_t cap) {
    const char *s = json_string_value(j);
    if (!s && json_is_object(j)) s = json_string_value(json_object_get(j, "content"));
    if (s) snprintf(out, cap, "%s", s);
}

static as_status read_config(const char *path, struct hf_config *c, struct as_err *err) {
    memset(c, 0, sizeof *c);
    if (!path || !as_file_exists(path)) return AS_OK;
    json_t *root = NULL;
    as_status ret = as_json_load_object(path, &root, err);
    if (ret != AS_OK) return ret;
    const json_t *ab = json_object_get(root, "add_bos_token");
    if (ab && !json_is_null(ab)) {
        if (!json_is_boolean(ab)) {
            ret = bad_type(path, "add_bos_token", ab, "a boolean", err);
            goto done;
        }
        c->has_add_bos = 1;
        c->add_bos = json_is_true(ab);
    }
    config_token(json_object_get(root, "bos_token"), c->bos, sizeof c->bos);
    config_token(json_object_get(root, "eos_token"), c->eos, sizeof c->eos);
done:
    json_decref(root);
    return ret;
}

/* ---------------------------------------------------------------- merges */
static as_status parse_merges(struct as_tokenizer *t, const json_t *merges, struct as_err *err) {
    as_status ret = AS_OK;
    const char *path = t->path;
    size_t n = json_array_size(merges);
    int32_t *l = malloc((n + 1) * sizeof *l), *r = malloc((n + 1) * sizeof *r),
            *m = malloc((n + 1) * sizeof *m);
    char *buf = NULL;
    size_t cap = 0;
    if (!l || !r || !m) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate %zu merges", path, n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(merges, i);
        const char *a, *b;
        size_t al, bl;
        if (json_is_string(e)) {
            a = json_string_value(e);
            const char *sp = strchr(a, ' ');
            if (!sp || strchr(sp + 1, ' ')) {
                ret = as_err_set(err, AS_ERR_FORMAT,
                                 "%s: key model.merges[%zu]: expected \"left right\" with exactly "
                                 "one space, found \"%s\"",
                                 path, i, a);
                goto done;
            }
            al = (size_t)(sp - a);
            b = sp + 1;
            bl = json_string_length(e) - al - 1;
        } else if (json_is_array(e) && json_array_size(e) == 2 &&
                   json_is_string(json_array_get(e, 0)) && json_is_string(json_array_get(e, 1))) {
            a = json_string_value(json_array_get(e, 0));
            al = json_string_length(json_array_get(e, 0));
            b = json_string_value(json_array_get(e, 1));
            bl = json_string_length(json_array_get(e, 1));
        } else {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: key model.merges[%zu]: expected a string \"a b\" or a pair "
                             "[\"a\", \"b\"], found %s",
                             path, i, as_json_kind(e));
            goto done;
        }
        if (al + bl + 1 > cap) {
            cap = 2 * (al + bl + 1);
            char *nb = realloc(buf, cap);
            if (!nb) {
                ret = as_err_set(err, AS_ERR_NOMEM, "cannot allocate merge buffer");
                goto done;
            }
            buf = nb;
        }
        memcpy(buf, a, al);
        memcpy(buf + al, b, bl);
        l[i] = as_tokenizer_piece_id(t, a, al);
        r[i] = as_tokenizer_piece_id(t, b, bl);
        m[i] = as_tokenizer_piece_id(t, buf, al + bl);
        if (l[i] < 0 || r[i] < 0 || m[i] < 0) {
            const char *what = l[i] < 0 ? a : r[i] < 0 ? b : buf;
            int wl = (int)(l[i] < 0 ? al : r[i] < 0 ? bl : al + bl);
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: key model.merges[%zu]: piece \"%.*s\" is not in model.vocab",
                             path, i, wl, what);
            goto done;
        }
    }
    ret = as_tok_pairs_from_merges(t, l, r, m, (int64_t)n, err);
done:
    free(l);
    free(r);
    free(m);
    free(buf);
    return ret;
}

/* ---------------------------------------------------------------- main */
static int32_t template_bos(const struct as_tokenizer *t, const json_t *pp, int *has_template) {
    *has_template = 0;
    const char *type = json_string_value(json_object_get(pp, "type"));
    if (!type || strcmp(type, "TemplateProcessing") != 0) return -1;
    *has_template = 1;
    const json_t *first = json_array_get(json_object_get(pp, "single"), 0);
    const json_t *sp = json_object_get(first, "SpecialToken");
    const char *name = json_string_value(json_object_get(sp, "id"));
    if (!name) return -1;
    const json_t *entry = json_object_get(json_object_get(pp, "special_tokens"), name);
    const json_t *ids = json_object_get(entry, "ids");
    if (json_array_size(ids) == 1 && json_is_integer(json_array_get(ids, 0))) {
        json_int_t id = json_integer_value(json_array_get(ids, 0));
        if (id >= 0 && id < t->n_vocab) return (int32_t)id;
    }
    return as_tokenizer_piece_id(t, name, strlen(name));
}

as_status as_tok_load_hf(struct as_tokenizer *t, const char *json_path, const char *config_path,
                         struct as_err *err) {
    as_status ret = AS_OK;
    json_t *root = NULL;
    const char **pieces = NULL;
    size_t *plen = NULL;
    uint8_t *types = NULL;
    const char *path = json_path;
    struct hf_config cfg;
    t->source = AS_TOK_SOURCE_HF;
    snprintf(t->path, sizeof t->path, "%s", json_path);
    AS_TRY(read_config(config_path, &cfg, err));

    AS_TRY(as_json_load_object(path, &root, err));
    const json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) {
        ret = bad_type(path, "model", model, "an object", err);
        goto done;
    }
    const char *mtype = json_string_value(json_object_get(model, "type"));
    if (mtype && strcmp(mtype, "BPE") != 0) {
        ret = as_err_set(err, AS_ERR_UNSUPPORTED,
                         "%s: key model.type: \"%s\" is not supported (expected \"BPE\")", path,
                         mtype);
        goto done;
    }
    const json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab)) {
        ret = bad_type(path, "model.vocab", vocab, "an object {piece: id}", err);
        goto done;
    }
    const json_t *merges = json_object_get(model, "merges");
    if (!json_is_array(merges)) {
        ret = bad_type(path, "model.merges", merges, "an array", err);
        goto done;
    }
    const json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout)) {
        ret =
            as_err_set(err, AS_ERR_UNSUPPORTED,
                       "%s: key model.dropout: BPE dropout is not supported (expected null)", path);
        goto done;
    }
    const char *aff[2] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
        const json_t *j = json_object_get(model, aff[k]);
        if (j && !json_is_null(j) && !(json_is_string(j) && json_string_length(j) == 0)) {
            ret = as_err_set(err, AS_ERR_UNSUPPORTED,
                             "%s: key model.%s: not supported (expected null)", path, aff[k]);
            goto done;
        }
    }
    const json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_null(added) && !json_is_array(added)) {
        ret = bad_type(path, "added_tokens", added, "an array", err);
        goto done;
    }

    /* ids: model.vocab plus added tokens; n_vocab = largest id + 1 */
    int64_t n = 0;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            json_integer_value(val) >= AS_TOK_MAX_VOCAB) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: key model.vocab[\"%s\"]: expected an id in [0, %d), found %s",
                             path, key, AS_TOK_MAX_VOCAB, as_json_kind(val));
            goto done;
        }
        if (json_integer_value(val) + 1 > n) n = json_integer_value(val) + 1;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        const json_t *id = json_object_get(a, "id");
        if (!json_is_object(a) || !json_is_integer(id) || json_integer_value(id) < 0 ||
            json_integer_value(id) >= AS_TOK_MAX_VOCAB ||
            !json_is_string(json_object_get(a, "content"))) {
            ret = as_err_set(
                err, AS_ERR_FORMAT,
                "%s: key added_tokens[%zu]: expected {\"id\": id, \"content\": string, ...}", path,
                i);
            goto done;
        }
        if (json_integer_value(id) + 1 > n) n = json_integer_value(id) + 1;
    }
    pieces = calloc((size_t)n + 1, sizeof *pieces);
    plen = calloc((size_t)n + 1, sizeof *plen);
    types = malloc((size_t)n + 1);
    if (!pieces || !plen || !types) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: cannot allocate %lld pieces", path, (long long)n);
        goto done;
    }
    memset(types, AS_TOK_TYPE_UNUSED, (size_t)n);
    json_object_foreach((json_t *)vocab, key, val) {
        json_int_t id = json_integer_value(val);
        if (pieces[id]) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: key model.vocab: id %lld is used by both \"%s\" and \"%s\"", path,
                             (long long)id, pieces[id], key);
            goto done;
        }
        pieces[id] = key;
        plen[id] = strlen(key); /* jansson object keys cannot hold NUL */
        types[id] = AS_TOK_TYPE_NORMAL;
        if (as_tok_parse_byte_piece(key, plen[id], 0) >= 0) types[id] = AS_TOK_TYPE_BYTE;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        json_int_t id = json_integer_value(json_object_get(a, "id"));
        int special = json_is_true(json_object_get(a, "special"));
        if (!pieces[id]) {
            pieces[id] = json_string_value(json_object_get(a, "content"));
            plen[id] = json_string_length(json_object_get(a, "content"));
        }
        types[id] = special ? AS_TOK_TYPE_CONTROL : AS_TOK_TYPE_USER_DEFINED;
    }
    t->merge_types = 0xFFFFFFFFu; /* HF: every vocab entry can be a symbol; merges decide */
    AS_TRY(as_tok_vocab_build(t, (int32_t)n, pieces, plen, types, NULL, path, err));

    /* model options */
    AS_TRY(
        get_bool(path, model, "byte_fallback", "model.byte_fallback", 0, &t->byte_fallback, err));
    AS_TRY(get_bool(path, model, "fuse_unk", "model.fuse_unk", 0, &t->fuse_unk, err));
    AS_TRY(
        get_bool(path, model, "ignore_merges", "model.ignore_merges", 0, &t->ignore_merges, err));
    if (!t->byte_fallback)
        for (int b = 0; b < 256; b++)
            t->byte_id[b] = -1;
    t->unk_id = -1;
    const json_t *unk = json_object_get(model, "unk_token");
    if (unk && !json_is_null(unk)) {
        if (!json_is_string(unk)) {
            ret = bad_type(path, "model.unk_token", unk, "a string or null", err);
            goto done;
        }
        t->unk_id = as_tokenizer_piece_id(t, json_string_value(unk), json_string_length(unk));
        if (t->unk_id < 0) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: key model.unk_token: \"%s\" is not in model.vocab", path,
                             json_string_value(unk));
            goto done;
        }
        t->type[t->unk_id] = AS_TOK_TYPE_UNKNOWN;
    }
    AS_TRY(parse_merges(t, merges, err));

    /* added tokens are split out of the text before normalization */
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        char k[64];
        snprintf(k, sizeof k, "added_tokens[%zu].single_word", i);
        int single = 0, lstrip = 0, rstrip = 0;
        AS_TRY(get_bool(path, a, "single_word", k, 0, &single, err));
        if (single) {
            ret = as_err_set(err, AS_ERR_UNSUPPORTED,
                             "%s: key %s: single_word added tokens are not supported", path, k);
            goto done;
        }
        snprintf(k, sizeof k, "added_tokens[%zu].lstrip", i);
        AS_TRY(get_bool(path, a, "lstrip", k, 0, &lstrip, err));
        snprintf(k, sizeof k, "added_tokens[%zu].rstrip", i);
        AS_TRY(get_bool(path, a, "rstrip", k, 0, &rstrip, err));
        const json_t *c = json_object_get(a, "content");
        AS_TRY(as_tok_special_add(t, (int32_t)json_integer_value(json_object_get(a, "id")),
                                  json_string_value(c), json_string_length(c), lstrip, rstrip,
                                  json_is_true(json_object_get(a, "special")), err));
    }
    as_tok_special_finish(t);

    AS_TRY(parse_normalizer(t, json_object_get(root, "normalizer"), "normalizer", 0, err));
    AS_TRY(parse_pretok(t, json_object_get(root, "pre_tokenizer"), "pre_tokenizer", err));
    AS_TRY(parse_decoder(t, json_object_get(root, "decoder"), "decoder", 0, err));

    /* BOS / EOS: tokenizer_config.json, then the post-processor template, then <s> / </s> */
    int has_template = 0;
    int32_t tbos = template_bos(t, json_object_get(root, "post_processor"), &has_template);
    t->bos_id = cfg.bos[0] ? as_tokenizer_piece_id(t, cfg.bos, strlen(cfg.bos)) : -1;
    if (cfg.bos[0] && t->bos_id < 0) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: key bos_token: \"%s\" is not in the vocabulary of %s", config_path,
                         cfg.bos, path);
        goto done;
    }
    if (t->bos_id < 0) t->bos_id = tbos;
    if (t->bos_id < 0) t->bos_id = as_tokenizer_piece_id(t, "<s>", 3);
    t->eos_id = cfg.eos[0] ? as_tokenizer_piece_id(t, cfg.eos, strlen(cfg.eos)) : -1;
    if (t->eos_id < 0) t->eos_id = as_tokenizer_piece_id(t, "</s>", 4);
    if (cfg.has_add_bos)
        t->add_bos = cfg.add_bos;
    else if (has_template)
        t->add_bos = tbos >= 0;
    else
        t->add_bos = 1;
    ret = as_tok_decoded_build(t, err);
done:
    json_decref(root); /* pieces[] point into it; everything was copied by now */
    free(pieces);
    free(plen);
    free(types);
    return ret;
}
