/* answer_span.c - the answer inside a prompt's generated text (derived span
 * "answer", docs/METRICS.md "Spans"): a declared POSIX extended regex, or by
 * default the last number. Pure: the same text gives the same span on every
 * rank and in `attnsweep reduce`. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/metrics.h"

#define DEFAULT_ANSWER "-?[0-9]+(\\.[0-9]+)?"

int as_metrics_answer_span(const char *text, size_t text_len, size_t gen_start, const char *regex,
                           int64_t *begin, int64_t *end) {
    *begin = *end = -1;
    if (!text || gen_start >= text_len) return 0;
    const size_t n = text_len - gen_start;
    char *buf = malloc(n + 1); /* regexec needs a C string; generated text has no NUL */
    if (!buf) return 0;
    memcpy(buf, text + gen_start, n);
    buf[n] = '\0';
    regex_t re;
    int found = 0;
    if (regcomp(&re, regex ? regex : DEFAULT_ANSWER, REG_EXTENDED) != 0) {
        free(buf);
        return 0;
    }
    regmatch_t m[2];
    size_t at = 0;
    while (at <= n && regexec(&re, buf + at, 2, m, at ? REG_NOTBOL : 0) == 0) {
        regoff_t so = m[0].rm_so, eo = m[0].rm_eo;
        if (regex && re.re_nsub > 0 && m[1].rm_so >= 0) so = m[1].rm_so, eo = m[1].rm_eo;
        if (eo > so) { /* an empty match is no answer */
            *begin = (int64_t)(gen_start + at + (size_t)so);
            *end = (int64_t)(gen_start + at + (size_t)eo);
            found = 1;
            if (regex) break; /* a declared regex: its first match */
        }
        at += m[0].rm_eo > 0 ? (size_t)m[0].rm_eo : 1; /* the default: go on to the last number */
    }
    regfree(&re);
    free(buf);
    return found;
}
