/* safetensors.c - safetensors header parsing/validation and the sharded index.
 *
 * File layout (https://github.com/huggingface/safetensors):
 *   u64 LE  N                      header length
 *   N bytes UTF-8 JSON object      {"name": {"dtype": "F32", "shape": [..],
 *                                   "data_offsets": [begin, end]}, ...,
 *                                   "__metadata__": {...}}  (may be space-padded)
 *   data section                   tensor bytes; offsets are relative to its start (8 + N)
 * Validation follows the reference implementation: offsets sorted by begin must
 * tile the data section exactly (no overlap, no hole, no trailing bytes), and
 * end - begin must equal numel x dtype size. __metadata__ is ignored. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/json.h"
#include "attnsweep/dtype.h"
#include "attnsweep/fileio.h"
#include "model_internal.h"

#define AS_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000) /* same limit as the reference */

/* Every dtype of the format, so offsets of any tensor can be validated. */
static size_t st_dtype_size(const char *name) {
    static const struct {
        const char *name;
        size_t size;
    } tab[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
               {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
               {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(tab[i].name, name) == 0) return tab[i].size;
    return 0;
}

static as_status parse_entry(const char *path, const char *name, json_t *v, size_t data_len,
                             size_t data_start, struct as_st_entry *e, struct as_err *err) {
    if (strlen(name) >= sizeof e->name)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: tensor name \"%.60s...\" is longer than %zu bytes", path, name,
                          sizeof e->name - 1);
    snprintf(e->name, sizeof e->name, "%s", name);
    if (!json_is_object(v))
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: tensor \"%s\": header entry is not an object with dtype, shape, "
                          "data_offsets",
                          path, name);
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo))
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: tensor \"%s\": expected \"dtype\" (string), \"shape\" (list) and "
                          "\"data_offsets\" (list) in its header entry",
                          path, name);

    const char *dn = json_string_value(jd);
    size_t esize = st_dtype_size(dn);
    if (esize == 0)
        return as_err_set(err, AS_ERR_UNSUPPORTED,
                          "%s: tensor \"%s\": unknown dtype \"%.15s\"; supported: F32, F16, BF16",
                          path, name, dn);
    snprintf(e->dtype_name, sizeof e->dtype_name, "%s", dn);
    e->dtype = as_dtype_from_name(dn);

    size_t nd = json_array_size(js);
    if (nd > 8)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: tensor \"%s\": shape has %zu dimensions, at most 8 supported", path,
                          name, nd);
    e->ndim = (int)nd;
    e->numel = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *d = json_array_get(js, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return as_err_set(err, AS_ERR_FORMAT,
                              "%s: tensor \"%s\": shape entry %zu is not a non-negative integer",
                              path, name, i);
        e->shape[i] = (int64_t)json_integer_value(d);
        if (!as_mul_size(e->numel, (size_t)e->shape[i], &e->numel))
            return as_err_set(err, AS_ERR_FORMAT, "%s: tensor \"%s\": shape overflows size_t", path,
                              name);
    }
    size_t need;
    if (!as_mul_size(e->numel, esize, &need))
        return as_err_set(err, AS_ERR_FORMAT, "%s: tensor \"%s\": byte size overflows size_t", path,
                          name);

    json_t *b = json_array_get(jo, 0), *en = json_array_get(jo, 1);
    if (json_array_size(jo) != 2 || !json_is_integer(b) || !json_is_integer(en) ||
        json_integer_value(b) < 0 || json_integer_value(en) < 0)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: tensor \"%s\": data_offsets must be [begin, end] with "
                          "non-negative integers",
                          path, name);
    unsigned long long ob = (unsigned long long)json_integer_value(b);
    unsigned long long oe = (unsigned long long)json_integer_value(en);
    if (ob > oe)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: tensor \"%s\": data_offsets [%llu, %llu] has begin > end", path,
                          name, ob, oe);
    if (oe > data_len)
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: tensor \"%s\": data_offsets [%llu, %llu] end beyond the data "
                          "section (%zu bytes after the %zu-byte header); the file is truncated "
                          "or the offsets are wrong",
                          path, name, ob, oe, data_len, data_start);
    if (oe - ob != need) {
        char shp[160];
        as_shape_str(shp, sizeof shp, e->ndim, e->shape);
        return as_err_set(err, AS_ERR_FORMAT,
                          "%s: tensor \"%s\": data_offsets [%llu, %llu] span %llu bytes, but "
                          "dtype %s x shape %s needs %zu bytes",
                          path, name, ob, oe, oe - ob, dn, shp, need);
    }
    e->begin = data_start + (size_t)ob;
    e->end = data_start + (size_t)oe;
    return AS_OK;
}

static int cmp_begin(const void *a, const void *b) {
    const struct as_st_entry *x = *(const struct as_st_entry *const *)a;
    const struct as_st_entry *y = *(const struct as_st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Sorted by begin, the tensors must tile [data_start, size) exactly. */
static as_status check_tiling(const struct as_mapped_file *f, struct as_st_header *h,
                              struct as_err *err) {
    as_status ret = AS_OK;
    struct as_st_entry **s = NULL;
    if (h->n == 0) {
        if (f->size != h->data_start)
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: header lists no tensors but %zu data bytes follow it", f->path,
                             f->size - h->data_start);
        goto done;
    }
    s = malloc((size_t)h->n * sizeof *s);
    if (!s) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", f->path);
        goto done;
    }
    for (int i = 0; i < h->n; i++)
        s[i] = &h->e[i];
    qsort(s, (size_t)h->n, sizeof *s, cmp_begin);
    size_t pos = h->data_start;
    const struct as_st_entry *prev = NULL;
    for (int i = 0; i < h->n; i++) {
        if (s[i]->begin < pos) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: tensor \"%s\" (data_offsets [%zu, %zu]) overlaps tensor \"%s\" "
                             "(data_offsets [%zu, %zu])",
                             f->path, s[i]->name, s[i]->begin - h->data_start,
                             s[i]->end - h->data_start, prev->name, prev->begin - h->data_start,
                             prev->end - h->data_start);
            goto done;
        }
        if (s[i]->begin > pos) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: tensor \"%s\" starts at data offset %zu, but the previous "
                             "tensor%s%s%s ends at %zu: a hole of %zu bytes (the data section "
                             "must be fully indexed)",
                             f->path, s[i]->name, s[i]->begin - h->data_start, prev ? " \"" : "",
                             prev ? prev->name : "", prev ? "\"" : "", pos - h->data_start,
                             s[i]->begin - pos);
            goto done;
        }
        pos = s[i]->end;
        prev = s[i];
    }
    if (pos != f->size)
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: %zu trailing bytes after the last tensor \"%s\" (file has %zu "
                         "bytes, tensors end at %zu)",
                         f->path, f->size - pos, prev->name, f->size, pos);
done:
    free(s);
    return ret;
}

as_status as_st_header_parse(const struct as_mapped_file *f, struct as_st_header *h,
                             struct as_err *err) {
    as_status ret = AS_OK;
    json_t *root = NULL;
    json_error_t jerr;
    struct as_cursor cur;
    uint64_t hlen;
    const void *hp;

    memset(h, 0, sizeof *h);
    as_cursor_init(&cur, f->data, f->size, f->path);
    AS_TRY(as_cursor_u64(&cur, &hlen, "the safetensors header length (first 8 bytes)", err));
    if (hlen > as_cursor_left(&cur)) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: header length %llu (first 8 bytes) is larger than the rest of the "
                         "file (%zu bytes); the file is truncated or not a safetensors file",
                         f->path, (unsigned long long)hlen, as_cursor_left(&cur));
        goto done;
    }
    if (hlen > AS_ST_MAX_HEADER) {
        ret = as_err_set(err, AS_ERR_FORMAT, "%s: header length %llu exceeds the 100 MB limit",
                         f->path, (unsigned long long)hlen);
        goto done;
    }
    AS_TRY(as_cursor_take(&cur, (size_t)hlen, &hp, "the safetensors JSON header", err));
    root = json_loadb(hp, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: safetensors header (%llu bytes at offset 8) is not valid JSON: "
                         "line %d, column %d: %s",
                         f->path, (unsigned long long)hlen, jerr.line, jerr.column, jerr.text);
        goto done;
    }
    if (!json_is_object(root)) {
        ret =
            as_err_set(err, AS_ERR_FORMAT, "%s: safetensors header is not a JSON object", f->path);
        goto done;
    }
    h->data_start = 8 + (size_t)hlen;
    size_t data_len = f->size - h->data_start;

    size_t cap = json_object_size(root);
    h->e = calloc(cap ? cap : 1, sizeof *h->e);
    if (!h->e) {
        ret =
            as_err_set(err, AS_ERR_NOMEM, "%s: out of memory for %zu header entries", f->path, cap);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) continue; /* free-form; never relied on */
        AS_TRY(parse_entry(f->path, key, val, data_len, h->data_start, &h->e[h->n], err));
        h->n++;
    }
    AS_TRY(check_tiling(f, h, err));
done:
    json_decref(root);
    if (ret != AS_OK) as_st_header_free(h);
    return ret;
}

void as_st_header_free(struct as_st_header *h) {
    free(h->e);
    memset(h, 0, sizeof *h);
}

/* ------------------------------------------------------------ index.json */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

as_status as_st_index_read(const char *path, const char *dir, struct as_st_index *ix,
                           struct as_err *err) {
    as_status ret = AS_OK;
    json_t *root = NULL;
    char shard_path[4096];

    memset(ix, 0, sizeof *ix);
    AS_TRY(as_json_load_object(path, &root, err));
    json_t *wm = json_object_get(root, "weight_map");
    if (!json_is_object(wm) || json_object_size(wm) == 0) {
        ret = as_err_set(err, AS_ERR_FORMAT,
                         "%s: key \"weight_map\" is missing or empty; expected an object "
                         "{tensor name: shard file name}",
                         path);
        goto done;
    }
    size_t n = json_object_size(wm);
    ix->tensor = calloc(n, sizeof *ix->tensor);
    ix->shard = calloc(n, sizeof *ix->shard);
    ix->shards = calloc(n, sizeof *ix->shards);
    if (!ix->tensor || !ix->shard || !ix->shards) {
        ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    const char *key;
    json_t *val;
    /* pass 1: tensor names and the unique shard list */
    json_object_foreach(wm, key, val) {
        if (!json_is_string(val)) {
            ret = as_err_set(err, AS_ERR_FORMAT,
                             "%s: weight_map[\"%s\"] is not a string (expected a shard file name)",
                             path, key);
            goto done;
        }
        const char *sh = json_string_value(val);
        if (sh[0] == '\0' || strchr(sh, '/') || strcmp(sh, "..") == 0) {
            ret = as_err_set(err, AS_ERR_INVALID,
                             "%s: weight_map[\"%s\"] = \"%s\": expected a file name in the same "
                             "directory (no '/')",
                             path, key, sh);
            goto done;
        }
        ix->tensor[ix->n] = strdup(key);
        if (!ix->tensor[ix->n]) {
            ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        ix->n++;
        int found = 0;
        for (int s = 0; s < ix->n_shards && !found; s++)
            found = strcmp(ix->shards[s], sh) == 0;
        if (!found) {
            ix->shards[ix->n_shards] = strdup(sh);
            if (!ix->shards[ix->n_shards]) {
                ret = as_err_set(err, AS_ERR_NOMEM, "%s: out of memory", path);
                goto done;
            }
            ix->n_shards++;
            AS_TRY(as_path_join(shard_path, sizeof shard_path, dir, sh, err));
            if (!as_file_exists(shard_path)) {
                ret = as_err_set(err, AS_ERR_IO,
                                 "%s: weight_map maps tensor \"%s\" to shard \"%s\", but %s does "
                                 "not exist",
                                 path, key, sh, shard_path);
                goto done;
            }
        }
    }
    qsort(ix->shards, (size_t)ix->n_shards, sizeof *ix->shards, cmp_str);
    /* pass 2: shard index of every tensor (same iteration order) */
    int i = 0;
    json_object_foreach(wm, key, val) {
        const char *sh = json_string_value(val);
        char **hit = bsearch(&sh, ix->shards, (size_t)ix->n_shards, sizeof *ix->shards, cmp_str);
        AS_ASSERT(hit != NULL && i < ix->n);
        ix->shard[i++] = (int)(hit - ix->shards);
    }
done:
    json_decref(root);
    if (ret != AS_OK) as_st_index_free(ix);
    return ret;
}

void as_st_index_free(struct as_st_index *ix) {
    for (int i = 0; i < ix->n; i++)
        free(ix->tensor[i]);
    for (int i = 0; i < ix->n_shards; i++)
        free(ix->shards[i]);
    free(ix->tensor);
    free(ix->shard);
    free(ix->shards);
    memset(ix, 0, sizeof *ix);
}
