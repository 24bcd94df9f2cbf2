/* fuzz_common.h - shared pieces of the libFuzzer targets (tests/fuzz/): a
 * per-process scratch folder, and writing the fuzzer's bytes to a file for
 * the parsers that read paths. Every target must return 0 on any input:
 * a crash, a hang or a sanitizer report is the failure. */
#ifndef ATTNSWEEP_FUZZ_COMMON_H
#define ATTNSWEEP_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline const char *fz_dir(void) {
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/attnsweep-fuzz-%ld", (long)getpid());
        mkdir(dir, 0700);
    }
    return dir;
}

/* dir/name with the given bytes; returns the path (static buffer per call site). */
static inline const char *fz_file(const char *name, const void *data, size_t n, char *out,
                                  size_t cap) {
    snprintf(out, cap, "%s/%s", fz_dir(), name);
    FILE *f = fopen(out, "wb");
    if (!f) return NULL;
    if (n) fwrite(data, 1, n, f);
    fclose(f);
    return out;
}

#endif
