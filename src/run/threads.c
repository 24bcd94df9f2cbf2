/* threads.c - OpenBLAS threads per rank, so that ranks never oversubscribe
 * the node: $OPENBLAS_NUM_THREADS wins; otherwise the CPUs this process may
 * run on (its affinity mask: mpirun binds a rank to a core, srun without
 * cgroups does not) divided by the ranks of the node that share them. */
#define _GNU_SOURCE
#include <cblas.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "run_internal.h"

int as_run_set_threads(MPI_Comm node, int node_rank, int node_size) {
    const char *e = getenv("OPENBLAS_NUM_THREADS");
    int n = e && atoi(e) > 0 ? atoi(e) : 0;
    if (n == 0) {
        cpu_set_t set;
        int mine = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                               : (int)sysconf(_SC_NPROCESSORS_ONLN);
        /* an unbound rank sees every CPU and shares them with the node's other ranks */
        int all = (int)sysconf(_SC_NPROCESSORS_ONLN);
        n = mine >= all ? all / (node_size > 0 ? node_size : 1) : mine;
        if (n < 1) n = 1;
    }
    openblas_set_num_threads(n);
    return n;
}
