/* memstat.c - this process's memory, from /proc: peak resident set (VmHWM)
 * and the proportional set size (Pss: shared pages divided among the
 * processes that map them), which shows whether ranks share one copy of the
 * weights. Linux only; zeros elsewhere. */
#include <stdio.h>
#include <string.h>

#include "memstat.h"

static double kb_field(const char *path, const char *key) {
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[256];
    double v = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, key, kl) == 0) {
            sscanf(line + kl, "%lf", &v);
            break;
        }
    fclose(fp);
    return v / 1024.0;
}

struct as_memstat as_memstat_now(void) {
    struct as_memstat m;
    m.peak_rss_mb = kb_field("/proc/self/status", "VmHWM:");
    m.rss_mb = kb_field("/proc/self/status", "VmRSS:");
    m.pss_mb = kb_field("/proc/self/smaps_rollup", "Pss:");
    return m;
}
