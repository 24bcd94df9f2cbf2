/* cmd_run.c - `attnsweep run SWEEP.yaml`: the sweep pipeline over MPI. */
#define _GNU_SOURCE
#include <getopt.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attnsweep/run.h"
#include "attnsweep/h5out.h"
#include "cli.h"
#include "util.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: mpirun -n N attnsweep run SWEEP.yaml [--model PATH] [--tokenizer PATH]\n"
        "                          [--output PATH] [--resume | --force] [--dry-run] [--quiet]\n"
        "                          [--progress SECONDS] [--naive]\n"
        "Runs every prompt of a sweep (docs/SWEEP.md) and writes one HDF5 file\n"
        "(docs/FORMAT.md). Rank 0 reads the sweep, tokenizes and plans; every rank computes.\n"
        "  --model PATH      use this model instead of the sweep's model.path\n"
        "  --tokenizer PATH  use this tokenizer instead of model.tokenizer\n"
        "  --output PATH     write here instead of output.path\n"
        "  --resume          reopen an existing output and compute only unfinished prompts\n"
        "                    (starts a new file when it does not exist yet)\n"
        "  --force           replace an existing output (never done otherwise)\n"
        "  --dry-run         validate, tokenize and print the plan, then stop\n"
        "  --quiet           no progress lines\n"
        "  --progress S      seconds between progress lines (default 10)\n"
        "  --naive           naive reference kernels instead of OpenBLAS (slow; for checks)\n"
        "SIGUSR1 or SIGTERM: finish the current prompts, flush and exit %d (resumable).\n"
        "Exit codes: 0 all prompts done, 1 error, 2 usage, %d some prompts failed, %d stopped.\n",
        AS_EXIT_STOPPED, AS_EXIT_PROMPTS_FAILED, AS_EXIT_STOPPED);
}

/* Open MPI launched by srun without PMIx starts N singletons that each think
 * they are alone; catch that before they all write the same file. */
static int launched_wrong(int world) {
    const char *nt = getenv("SLURM_NTASKS");
    const char *step = getenv("SLURM_STEP_ID");
    if (world == 1 && nt && atoi(nt) > 1 && step && getenv("SLURM_PROCID")) {
        fprintf(stderr,
                "attnsweep run: error: Slurm started %s tasks, but MPI sees a world of 1: the "
                "tasks were launched without PMIx and would each run the whole sweep.\n"
                "HINT: launch with 'srun --mpi=pmix ...' (Debian's Open MPI supports only PMIx "
                "under srun), or 'mpirun' inside the allocation.\n",
                nt);
        return 1;
    }
    return 0;
}

int as_cmd_run(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"tokenizer", required_argument, 0, 't'},
                                         {"output", required_argument, 0, 'o'},
                                         {"resume", no_argument, 0, 'r'},
                                         {"force", no_argument, 0, 'f'},
                                         {"dry-run", no_argument, 0, 'n'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"progress", required_argument, 0, 'p'},
                                         {"naive", no_argument, 0, 'N'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct as_run_opts o;
    memset(&o, 0, sizeof o);
    o.progress_interval = 10.0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model_path = optarg; break;
        case 't': o.tokenizer_path = optarg; break;
        case 'o': o.output_path = optarg; break;
        case 'r': o.resume = 1; break;
        case 'f': o.force = 1; break;
        case 'n': o.dry_run = 1; break;
        case 'q': o.quiet = 1; break;
        case 'p': {
            char *end;
            o.progress_interval = strtod(optarg, &end);
            if (*end || o.progress_interval <= 0) {
                fprintf(stderr, "attnsweep run: --progress expects seconds > 0, got '%s'\n",
                        optarg);
                return AS_EXIT_USAGE;
            }
            break;
        }
        case 'N': o.kernel = AS_KERNEL_NAIVE; break;
        case 'h': usage(stdout); return AS_EXIT_OK;
        default: usage(stderr); return AS_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "attnsweep run: expected exactly one SWEEP.yaml\n");
        usage(stderr);
        return AS_EXIT_USAGE;
    }
    if (o.resume && o.force) {
        fprintf(stderr, "attnsweep run: --resume and --force contradict each other; pick one\n");
        return AS_EXIT_USAGE;
    }
    o.sweep_path = argv[optind];

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o.stop_flag = &stop_requested;

    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "attnsweep run: error: MPI_Init failed\n");
        return AS_EXIT_FAIL;
    }
    int rank, world;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (launched_wrong(world)) {
        as_h5_shutdown(); /* before MPI goes away */
        MPI_Finalize();
        return AS_EXIT_FAIL;
    }
    char *cmdline = as_cli_join_argv(argc, argv, "attnsweep");
    o.command_line = cmdline;
    struct as_err err = {0};
    struct as_run_result res;
    as_status st = as_run(MPI_COMM_WORLD, &o, &res, &err);
    int rc;
    if (st == AS_ERR_INTERRUPTED) {
        if (rank == 0) fprintf(stderr, "attnsweep run: %s\n", err.msg);
        rc = AS_EXIT_STOPPED;
    } else if (st != AS_OK) {
        if (rank == 0) as_cli_error("run", &err);
        rc = AS_EXIT_FAIL;
    } else if (o.dry_run) {
        if (rank == 0) printf("attnsweep run: dry run: nothing computed\n");
        rc = AS_EXIT_OK;
    } else if (res.n_done + res.n_skipped != res.n_prompts) { /* skipped prompts are no error */
        if (rank == 0)
            fprintf(stderr,
                    "attnsweep run: %lld of %lld prompts are not done (%lld failed; see "
                    "/sweep/message in the output). HINT: fix the cause and rerun with --resume\n",
                    (long long)(res.n_prompts - res.n_done - res.n_skipped),
                    (long long)res.n_prompts, (long long)res.n_failed);
        rc = AS_EXIT_PROMPTS_FAILED;
    } else {
        rc = AS_EXIT_OK;
    }
    free(cmdline);
    as_h5_shutdown(); /* before MPI goes away */
    MPI_Finalize();
    return rc;
}
