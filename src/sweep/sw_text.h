/* sw_text.h - pure string rules of the sweep (text.c): UTF-8 validity, the
 * name rules of docs/SWEEP.md ("Names", "Metadata"), and how numbers are
 * written as text. Depends on nothing else of the module. */
#ifndef ATTNSWEEP_SW_TEXT_H
#define ATTNSWEEP_SW_TEXT_H

#include <stddef.h>

/* 1 if s[0..n) is valid UTF-8; else 0 and *bad = offset of the first bad byte. */
int sw_utf8_valid(const char *s, size_t n, size_t *bad);

/* Checks a group / variant / span name: the rules of an HDF5 link name
 * (not empty, not "." or "..", no '/', no control characters, valid UTF-8,
 * < AS_SWEEP_NAME_MAX bytes). Returns NULL if fine, else what is wrong. */
const char *sw_name_problem(const char *s, size_t len);

/* 1 if s[0..len) is a valid variable name: [A-Za-z_][A-Za-z0-9_]*, at most
 * AS_SWEEP_VAR_MAX bytes. Metadata keys (and so /sweep column names) follow
 * the same rule. */
int sw_valid_var_name(const char *s, size_t len);

/* A double as the shortest text that reads back to the same value: the
 * fewest significant digits that round-trip, written positionally for
 * exponents in [-4, 16) ("150", "2.5", "0.25") and in scientific notation
 * otherwise ("1e+300"); "nan", "inf", "-inf". */
void sw_format_double(double v, char *out, size_t cap);

#endif
