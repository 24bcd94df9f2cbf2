/* text.c - pure string rules of the sweep (sw_text.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/sweep.h"
#include "sw_text.h"

int sw_utf8_valid(const char *str, size_t n, size_t *bad) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char b = s[i];
        size_t len;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4;
            cp = b & 0x07;
        } else {
            goto bad_seq;
        }
        if (n - i < len) goto bad_seq;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) goto bad_seq;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad_seq;
        i += len;
    }
    return 1;
bad_seq:
    if (bad) *bad = i;
    return 0;
}

const char *sw_name_problem(const char *s, size_t len) {
    if (len == 0) return "is empty";
    if (len >= AS_SWEEP_NAME_MAX) return "is too long (expected fewer than 200 bytes)";
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return "is '.' or '..', which HDF5 reserves";
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '/') return "contains '/' (HINT: use '_' or '-')";
        if (ch < 0x20 || ch == 0x7F) return "contains a control character";
    }
    if (!sw_utf8_valid(s, len, NULL)) return "is not valid UTF-8";
    return NULL;
}

static int is_name_start(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}
static int is_name_char(char ch) {
    return is_name_start(ch) || (ch >= '0' && ch <= '9');
}

int sw_valid_var_name(const char *s, size_t len) {
    if (len == 0 || len > AS_SWEEP_VAR_MAX || !is_name_start(s[0])) return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_name_char(s[i])) return 0;
    return 1;
}

void sw_format_double(double v, char *out, size_t cap) {
    if (isnan(v)) {
        snprintf(out, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    /* the fewest significant digits that read back exactly, then positional
     * notation for exponents in [-4, 16) (as Python's repr), else scientific */
    char e[40];
    int p = 1;
    for (; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    const char *x = strchr(e, 'e');
    int exp = x ? atoi(x + 1) : 0;
    if (exp >= -4 && exp < 16)
        snprintf(out, cap, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, v);
    else
        snprintf(out, cap, "%.*g", p, v);
}
