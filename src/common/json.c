/* json.c - see attnsweep/json.h. */
#include "attnsweep/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *as_json_kind(const json_t *j) {
    if (!j) return "nothing (key missing)";
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON value";
}

as_status as_json_load_object(const char *path, json_t **root, struct as_err *err) {
    *root = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return as_err_set(err, AS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    json_error_t je;
    json_t *j = json_loadf(fp, JSON_REJECT_DUPLICATES, &je);
    fclose(fp);
    if (!j)
        return as_err_set(err, AS_ERR_FORMAT, "%s:%d:%d: not valid JSON: %s", path, je.line,
                          je.column, je.text);
    if (!json_is_object(j)) {
        as_status st =
            as_err_set(err, AS_ERR_FORMAT, "%s: the top level is %s; expected a JSON object", path,
                       as_json_kind(j));
        json_decref(j);
        return st;
    }
    *root = j;
    return AS_OK;
}
