/* cmd_reduce.c - `attnsweep reduce OUT.h5`: recomputes the per-prompt
 * metrics from the stored attention and the sweep-level /summary, MPI-parallel
 * over prompts; optional JSON / CSV exports (rank 0). */
#define _GNU_SOURCE
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/agree.h"
#include "attnsweep/run.h"
#include "attnsweep/reduce.h"
#include "attnsweep/sweep.h"
#include "attnsweep/h5out.h"
#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: attnsweep reduce OUT.h5 [--keywords K1,K2,...] [--json FILE] [--csv DIR] "
            "[-q|--quiet]\n"
            "Recomputes the per-prompt metrics (/prompts/<id>/metrics) from the stored attention\n"
            "and the sweep-level statistics (/summary) of an attnsweep output file, in place.\n"
            "Run it under mpirun to spread the prompts over ranks (prompt i on rank i %% size).\n"
            "  --keywords LIST  comma-separated keywords; replaces the sweep's analysis.keywords\n"
            "                   (may be repeated; needed for files without /config)\n"
            "  --json FILE      write a JSON summary (the notebook's exp8_attention_results.json\n"
            "                   keys plus the new statistics)\n"
            "  --csv DIR        write tidy CSV tables DIR/metrics.csv and DIR/summary.csv\n"
            "docs/METRICS.md defines every metric; docs/FORMAT.md where it is stored.\n");
}

struct reduce_opts {
    const char *file, *json, *csv;
    char **keywords;
    int n_keywords, have_keywords, quiet;
};

/* Appends the comma-separated items of s (empty items are skipped). */
static int add_keywords(struct reduce_opts *o, const char *s) {
    o->have_keywords = 1;
    const char *p = s;
    while (1) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n > 0) {
            char **nk = realloc(o->keywords, sizeof *nk * (size_t)(o->n_keywords + 1));
            if (!nk) return -1;
            o->keywords = nk;
            if (!(o->keywords[o->n_keywords] = strndup(p, n))) return -1;
            o->n_keywords++;
        }
        if (!c) break;
        p = c + 1;
    }
    return 0;
}

static int parse(int argc, char **argv, struct reduce_opts *o) {
    static const struct option opts[] = {
        {"keywords", required_argument, 0, 'k'}, {"json", required_argument, 0, 'j'},
        {"csv", required_argument, 0, 'c'},      {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (add_keywords(o, optarg) != 0) return -1;
            break;
        case 'j': o->json = optarg; break;
        case 'c': o->csv = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "attnsweep reduce: expected exactly one OUT.h5 argument\n");
        usage(stderr);
        return -1;
    }
    o->file = argv[optind];
    return 0;
}

int as_cmd_reduce(int argc, char **argv) {
    struct reduce_opts o;
    memset(&o, 0, sizeof o);
    int pr = parse(argc, argv, &o);
    if (pr != 0) {
        for (int i = 0; i < o.n_keywords; i++)
            free(o.keywords[i]);
        free(o.keywords);
        return pr > 0 ? AS_EXIT_OK : AS_EXIT_USAGE;
    }
    int rc = AS_EXIT_FAIL, rank = 0, have_sweep = 0;
    struct as_err err = {0};
    struct as_h5file f;
    struct as_sweep s;
    struct as_run_summary rs;
    memset(&rs, 0, sizeof rs);
    char *yaml = NULL, *config_dir = NULL;
    size_t yaml_len = 0;
    memset(&f, 0, sizeof f), memset(&s, 0, sizeof s);
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "attnsweep reduce: error: MPI_Init failed\n");
        goto out;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* the sweep in /config, read on every rank (a read-only open) */
    if (as_h5file_open_read(&f, o.file, MPI_COMM_WORLD, &err) != AS_OK) goto fail;
    int cst = as_h5file_read_config(&f, &yaml, &yaml_len, &err);
    struct as_err ignore;
    if (cst == AS_OK && as_h5file_read_attr_str(&f, "config_dir", &config_dir, &ignore) != AS_OK)
        config_dir = NULL; /* files of older runs: `file:` paths relative to here */
    if (as_mpi_agree(MPI_COMM_WORLD, cst, &err) != AS_OK) goto fail;
    int64_t n_prompts = f.n_prompts;
    if (as_h5file_close(&f, &err) != AS_OK) goto fail;
    if (yaml) {
        /* Only groups, spans and keywords matter here: the output path is this
         * file, so validation's folder check passes from any working directory. */
        struct as_sweep_overrides ov = {0};
        ov.output_path = o.file;
        char name[4200];
        snprintf(name, sizeof name, "%s:/config", o.file);
        struct as_err serr = {0};
        int ok = as_sweep_load_string(&s, yaml, yaml_len, name, config_dir, &ov, &serr) == AS_OK,
            all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        have_sweep = all;
        if (ok && !all) as_sweep_free(&s);
        if (!all && rank == 0)
            fprintf(stderr,
                    "attnsweep reduce: warning: cannot re-read the sweep in /config (%s); groups "
                    "come from /sweep/group, keywords from /metrics/keyword, and declared spans "
                    "are not measured\n",
                    serr.msg[0] ? serr.msg : "another rank failed");
    } else if (rank == 0 && !o.quiet) {
        printf("attnsweep reduce: %s has no /config (written by extract?): every prompt is its "
               "own group without spans%s\n",
               o.file, o.have_keywords ? "" : "; pass --keywords to measure keywords");
    }
    if (rank == 0 && !o.quiet)
        printf("attnsweep reduce: %s: %lld prompts on %d rank(s)\n", o.file, (long long)n_prompts,
               size);
    double t0 = MPI_Wtime();
    if (as_run_reduce_file(o.file, MPI_COMM_WORLD, have_sweep ? &s : NULL,
                           o.have_keywords ? (const char *const *)o.keywords : NULL, o.n_keywords,
                           o.quiet ? NULL : stdout, &rs, &err) != AS_OK)
        goto fail;
    int st = AS_OK;
    const struct as_summary *sm = rs.sm;
    if (rank == 0 && sm) {
        if (o.json) st = as_summary_write_json(sm, o.json, &err);
        if (st == AS_OK && o.csv) st = as_summary_write_csv(sm, o.csv, &err);
        if (st == AS_OK && !o.quiet)
            printf("attnsweep reduce: wrote /metrics and /summary (%lld prompts, %d groups) in "
                   "%.2f s%s%s%s%s\n",
                   (long long)sm->n, sm->n_groups, MPI_Wtime() - t0, o.json ? ", " : "",
                   o.json ? o.json : "", o.csv ? ", " : "", o.csv ? o.csv : "");
    }
    MPI_Bcast(&st, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (st != AS_OK) {
        if (rank == 0) as_cli_error("reduce", &err);
        goto out;
    }
    rc = AS_EXIT_OK;
    goto out;
fail:
    if (rank == 0) as_cli_error("reduce", &err);
    as_h5file_close(&f, NULL);
out:
    as_run_summary_free(&rs);
    if (have_sweep) as_sweep_free(&s);
    free(yaml);
    free(config_dir);
    for (int i = 0; i < o.n_keywords; i++)
        free(o.keywords[i]);
    free(o.keywords);
    as_h5_shutdown(); /* before MPI goes away */
    MPI_Finalize();
    return rc;
}
