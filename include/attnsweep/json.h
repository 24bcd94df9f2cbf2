/* json.h - loading JSON files (jansson) with errors that point at the input.
 * Every JSON file attnsweep reads (config.json, model.safetensors.index.json,
 * tokenizer.json, tokenizer_config.json) goes through as_json_load_object. */
#ifndef ATTNSWEEP_JSON_H
#define ATTNSWEEP_JSON_H

#include <jansson.h>

#include "attnsweep/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parses the whole file (duplicate keys rejected; raw U+2028 inside strings
 * accepted, as JSON allows) and requires an object at the top level. Errors:
 * AS_ERR_IO "<path>: cannot open ...", AS_ERR_FORMAT "<path>:<line>:<col>: not
 * valid JSON: ..." or "<path>: the top level is ...; expected a
 * JSON object". The caller owns *root (json_decref). */
as_status as_json_load_object(const char *path, json_t **root, struct as_err *err);

/* "an object", "an array", "a string", "an integer", "a number", "a boolean",
 * "null", or "nothing (key missing)" for NULL: for "found X" in messages. */
const char *as_json_kind(const json_t *j);

#ifdef __cplusplus
}
#endif
#endif
