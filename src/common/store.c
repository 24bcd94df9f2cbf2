/* store.c - names of enum as_store, as_out_dtype and as_weights (store.h). */
#include <string.h>

#include "attnsweep/store.h"

int as_store_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "full")) return AS_STORE_FULL;
    if (!strcmp(name, "last_row")) return AS_STORE_LAST_ROW;
    if (!strcmp(name, "none")) return AS_STORE_NONE;
    return -1;
}

const char *as_store_name(enum as_store s) {
    switch (s) {
    case AS_STORE_FULL: return "full";
    case AS_STORE_LAST_ROW: return "last_row";
    case AS_STORE_NONE: return "none";
    }
    return "?";
}

int as_out_dtype_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "float32")) return AS_OUT_F32;
    if (!strcmp(name, "float16")) return AS_OUT_F16;
    return -1;
}

const char *as_out_dtype_name(enum as_out_dtype d) {
    switch (d) {
    case AS_OUT_F32: return "float32";
    case AS_OUT_F16: return "float16";
    }
    return "?";
}

int as_weights_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "probs")) return AS_WEIGHTS_PROBS;
    if (!strcmp(name, "norms")) return AS_WEIGHTS_NORMS;
    if (!strcmp(name, "both")) return AS_WEIGHTS_BOTH;
    return -1;
}

const char *as_weights_name(enum as_store_weights w) {
    switch (w) {
    case AS_WEIGHTS_PROBS: return "probs";
    case AS_WEIGHTS_NORMS: return "norms";
    case AS_WEIGHTS_BOTH: return "both";
    }
    return "?";
}
