/* prompt_file.c - `file:` groups: prompts read from JSONL or plain text.
 *
 * *.jsonl (any case): one JSON value per line, either an object
 *   {"id": "...", "text": "...", "spans": {...}, field: value, ...} ("id",
 *   "spans" and the fields optional; fields are strings, numbers, booleans or
 *   null and become metadata columns, meta.c) or a JSON string (the text).
 *   Parsed with jansson, one line at a time.
 * anything else: plain UTF-8 text, one prompt per line.
 * In both, blank (whitespace-only) lines are skipped and a trailing "\r" is
 * dropped (CRLF files). Texts are used verbatim: no {var} substitution.
 * Prompts without an id get their zero-padded ordinal within the file.
 * Errors name "<file>:<line>:<col>". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "attnsweep/json.h"
#include "attnsweep/fileio.h"
#include "sweep_internal.h"

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t') return 0;
    return 1;
}

static int has_suffix_ci(const char *s, const char *suffix) {
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && !strcasecmp(s + ls - lx, suffix);
}

static as_status file_errf(struct sw_ctx *c, int g, int32_t node, int64_t line, int col,
                           as_status st, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static as_status file_errf(struct sw_ctx *c, int g, int32_t node, int64_t line, int col,
                           as_status st, const char *fmt, ...) {
    char msg[AS_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const struct sw_node *n = &c->t->nodes[node];
    return as_err_set(c->err, st, "%s:%lld:%d: %s (group '%s', file: at %s:%d:%d)",
                      c->s->groups[g].file, (long long)line, col, msg, c->s->groups[g].name,
                      c->s->path, n->line, n->col);
}

/* A JSON value of a metadata field as an sw_mval (strings copied into the arena). */
static as_status field_value(struct sw_ctx *c, int g, int32_t node, int64_t ln, const char *key,
                             json_t *val, struct sw_mval *out) {
    memset(out, 0, sizeof *out);
    if (json_is_null(val)) return AS_OK;
    if (json_is_boolean(val)) {
        out->kind = SW_S_BOOL, out->i = json_is_true(val);
        return AS_OK;
    }
    if (json_is_integer(val)) {
        out->kind = SW_S_INT, out->i = (int64_t)json_integer_value(val);
        return AS_OK;
    }
    if (json_is_real(val)) {
        out->kind = SW_S_FLOAT, out->f = json_real_value(val);
        return AS_OK;
    }
    if (json_is_string(val)) {
        const char *v = json_string_value(val);
        size_t n = json_string_length(val);
        if (strlen(v) != n)
            return file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                             "field \"%s\" contains a NUL character; expected text without NUL",
                             key);
        if (n > 4096)
            return file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                             "field \"%s\" is a string of %zu bytes; expected at most 4096 (a "
                             "/sweep column is as wide as its longest value)",
                             key, n);
        out->kind = SW_S_STRING;
        if (!(out->s = sw_arena_strndup(c->arena, v, n))) return SW_OOM(c);
        c->meta_bytes += n;
        if ((long long)c->meta_bytes > AS_SWEEP_MAX_TEXT_BYTES)
            return file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                             "the metadata and span texts exceed %lld bytes; expected a smaller "
                             "sweep",
                             (long long)AS_SWEEP_MAX_TEXT_BYTES);
        return AS_OK;
    }
    const char *hint = "";
    if (sw_edit_distance(key, "spans") <= 2) hint = ". HINT: did you mean \"spans\"?";
    return file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                     "field \"%.60s\" is %s; expected a string, number, boolean or null (or "
                     "\"spans\": {name: text})%s",
                     key, as_json_kind(val), hint);
}

static as_status jsonl_line(struct sw_ctx *c, int g, int32_t node, int64_t ln, const char *line,
                            size_t len) {
    as_status ret = AS_OK;
    json_error_t je;
    json_t *j = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return file_errf(c, g, node, ln, je.column > 0 ? je.column : 1, AS_ERR_FORMAT,
                         "malformed JSON: %s; expected {\"id\": \"...\", \"text\": \"...\"} or a "
                         "JSON string on each line",
                         je.text);
    const char *text = NULL, *id = NULL;
    size_t tlen = 0, idlen = 0;
    json_t *spans = NULL;
    if (json_is_string(j)) {
        text = json_string_value(j);
        tlen = json_string_length(j);
    } else if (json_is_object(j)) {
        static const char *const strs[] = {"id", "text"};
        for (int k = 0; k < 2; k++) {
            json_t *val = json_object_get(j, strs[k]);
            if (val && !json_is_string(val)) {
                ret = file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                                "\"%s\" is %s; expected a string", strs[k], as_json_kind(val));
                goto done;
            }
        }
        json_t *t = json_object_get(j, "text");
        if (!t) {
            const char *key, *best = NULL;
            json_t *val;
            json_object_foreach(j, key, val) if (sw_edit_distance(key, "text") <= 2) best = key;
            ret = file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                            "the object has no \"text\"; expected {\"id\": \"...\", \"text\": "
                            "\"...\", other fields}%s%s%s",
                            best ? ". HINT: is \"" : "", best ? best : "",
                            best ? "\" a typo of \"text\"?" : "");
            goto done;
        }
        text = json_string_value(t);
        tlen = json_string_length(t);
        json_t *i = json_object_get(j, "id");
        if (i) {
            id = json_string_value(i);
            idlen = json_string_length(i);
            const char *why = sw_name_problem(id, idlen);
            if (why) {
                ret = file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                                "\"id\" '%.60s' %s; expected a valid HDF5 link name", id, why);
                goto done;
            }
        }
        spans = json_object_get(j, "spans");
        if (spans && !json_is_object(spans)) {
            ret = file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                            "\"spans\" is %s; expected an object {\"name\": \"text\", ...}",
                            as_json_kind(spans));
            goto done;
        }
    } else {
        ret = file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                        "the line is %s; expected an object {\"id\": ..., \"text\": ...} or a "
                        "string",
                        as_json_kind(j));
        goto done;
    }
    if (tlen == 0) {
        ret = file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                        "empty prompt text; expected a non-empty string");
        goto done;
    }
    AS_TRY(sw_add_prompt(c, g, id, idlen, text, tlen, node, ln));
    if (!json_is_object(j)) goto done;
    const int64_t p = c->s->n_prompts - 1, k = p - c->s->groups[g].first_prompt;
    const struct sw_where w = {node, ln, g};
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val) { /* metadata fields, in the line's key order */
        if (!strcmp(key, "id") || !strcmp(key, "text") || !strcmp(key, "spans")) continue;
        const struct sw_gkey *gk = sw_group_key(c, key, strlen(key));
        if (gk) {
            const struct sw_node *n = &c->t->nodes[gk->node];
            ret = file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                            "field \"%.60s\" is also a %s of the group (at %s:%d:%d); expected "
                            "distinct names",
                            key, gk->kind, c->s->path, n->line, n->col);
            goto done;
        }
        struct sw_mval mv;
        int col;
        AS_TRY(field_value(c, g, node, ln, key, val, &mv));
        AS_TRY(sw_meta_column(c, key, strlen(key), w, &col));
        AS_TRY(sw_group_field(c, col));
        AS_TRY(sw_meta_put(c, col, p, &mv, w));
    }
    if (spans) {
        json_object_foreach(spans, key, val) {
            if (json_is_null(val)) continue; /* no text: absent, like a missing key */
            if (!json_is_string(val)) {
                ret = file_errf(c, g, node, ln, 1, AS_ERR_INVALID,
                                "span \"%.60s\" is %s; expected a string (or null)", key,
                                as_json_kind(val));
                goto done;
            }
            AS_TRY(sw_spans_given(c, k, key, strlen(key), json_string_value(val),
                                  json_string_length(val), w));
        }
    }
done:
    json_decref(j);
    return ret;
}

as_status sw_read_prompt_file(struct sw_ctx *c, int g, const char *path, int32_t node) {
    as_status ret = AS_OK;
    char *data = NULL;
    size_t size = 0;
    const char *gname = c->s->groups[g].name;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return sw_errf(c->t, node, AS_ERR_IO,
                       "group '%s': prompt file '%s' does not exist or is not a regular file; "
                       "expected a .jsonl or text file. HINT: file: paths are relative to the "
                       "YAML's folder ('%s')",
                       gname, path, c->s->base_dir[0] ? c->s->base_dir : ".");
    if ((long long)st.st_size > AS_SWEEP_MAX_FILE_BYTES)
        return sw_errf(c->t, node, AS_ERR_INVALID,
                       "group '%s': prompt file '%s' is %lld bytes; expected at most %lld", gname,
                       path, (long long)st.st_size, (long long)AS_SWEEP_MAX_FILE_BYTES);
    struct as_err ferr = {0};
    if (as_file_read_all(path, &data, &size, &ferr) != AS_OK)
        return sw_errf(c->t, node, ferr.status, "group '%s': %s", gname, ferr.msg);
    int jsonl = has_suffix_ci(path, ".jsonl");
    int64_t ln = 0;
    for (size_t off = 0; off < size;) {
        const char *line = data + off;
        const char *nl = memchr(line, '\n', size - off);
        size_t len = nl ? (size_t)(nl - line) : size - off;
        off += len + (nl ? 1 : 0);
        ln++;
        if (len && line[len - 1] == '\r') len--;
        if (is_blank(line, len)) continue;
        if (jsonl) {
            AS_TRY(jsonl_line(c, g, node, ln, line, len));
            continue;
        }
        const char *nul = memchr(line, '\0', len);
        if (nul) {
            ret = file_errf(c, g, node, ln, (int)(nul - line) + 1, AS_ERR_FORMAT,
                            "a NUL byte; expected UTF-8 text");
            goto done;
        }
        size_t bad;
        if (!sw_utf8_valid(line, len, &bad)) {
            ret = file_errf(c, g, node, ln, (int)bad + 1, AS_ERR_FORMAT,
                            "invalid UTF-8 at byte %zu of the line; expected UTF-8 text", bad);
            goto done;
        }
        AS_TRY(sw_add_prompt(c, g, NULL, 0, line, len, node, ln));
    }
    if (c->s->groups[g].n_prompts == 0)
        ret = sw_errf(c->t, node, AS_ERR_INVALID,
                      "group '%s': prompt file '%s' has no prompts (only blank lines); expected "
                      "at least one",
                      gname, path);
done:
    free(data);
    return ret;
}
