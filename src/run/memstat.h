/* memstat.h - memory figures of the calling process, in MiB (see memstat.c). */
#ifndef ATTNSWEEP_RUN_MEMSTAT_H
#define ATTNSWEEP_RUN_MEMSTAT_H

struct as_memstat {
    double peak_rss_mb; /* VmHWM */
    double rss_mb;      /* VmRSS */
    double pss_mb;      /* Pss from smaps_rollup */
};

struct as_memstat as_memstat_now(void);

#endif
