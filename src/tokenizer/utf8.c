/* utf8.c - strict UTF-8 validation and small code-point helpers for the tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

as_status as_tok_utf8_validate(const char *s, size_t n, const char *what, struct as_err *err) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int need;
        uint32_t min;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, min = 0x10000;
        else if (c >= 0x80 && c <= 0xBF)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s: invalid UTF-8 at byte offset %zu: unexpected continuation "
                              "byte 0x%02X",
                              what, i, c);
        else if (c == 0xC0 || c == 0xC1)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s: invalid UTF-8 at byte offset %zu: overlong encoding (lead "
                              "byte 0x%02X)",
                              what, i, c);
        else
            return as_err_set(err, AS_ERR_INVALID,
                              "%s: invalid UTF-8 at byte offset %zu: byte 0x%02X never occurs "
                              "in UTF-8",
                              what, i, c);
        uint32_t cp = c & (0x3Fu >> need);
        for (int k = 1; k <= need; k++) {
            if (i + (size_t)k >= n || (p[i + k] & 0xC0) != 0x80)
                return as_err_set(err, AS_ERR_INVALID,
                                  "%s: invalid UTF-8 at byte offset %zu: truncated sequence "
                                  "(lead byte 0x%02X needs %d continuation byte%s, found %d)",
                                  what, i, c, need, need > 1 ? "s" : "", k - 1);
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        if (cp < min)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s: invalid UTF-8 at byte offset %zu: overlong encoding of "
                              "U+%04X",
                              what, i, (unsigned)cp);
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s: invalid UTF-8 at byte offset %zu: surrogate U+%04X", what, i,
                              (unsigned)cp);
        if (cp > 0x10FFFF)
            return as_err_set(err, AS_ERR_INVALID,
                              "%s: invalid UTF-8 at byte offset %zu: code point U+%X above "
                              "U+10FFFF",
                              what, i, (unsigned)cp);
        i += (size_t)need + 1;
    }
    return AS_OK;
}

int as_tok_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int as_tok_is_whitespace(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    switch (cp) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return 1;
    }
    return cp >= 0x2000 && cp <= 0x200A;
}

as_status as_tok_utf8_to_cps(const char *s, size_t n, uint32_t **out, int *n_out,
                             struct as_err *err) {
    *out = NULL;
    *n_out = 0;
    uint32_t *cps = malloc((n + 1) * sizeof *cps);
    if (!cps) return as_err_set(err, AS_ERR_NOMEM, "cannot allocate %zu code points", n);
    int k = 0;
    for (size_t i = 0; i < n;) {
        i += (size_t)as_tok_utf8_next((const unsigned char *)s + i, &cps[k]);
        k++;
    }
    *out = cps;
    *n_out = k;
    return AS_OK;
}
