#!/usr/bin/env bash
# submit.sh - validate a sweep, then submit it to Slurm with attnsweep.sbatch.
#
#   slurm/submit.sh [--wait] [--reduce-job] SWEEP.yaml [sbatch options] [-- attnsweep run options]
#
#   slurm/submit.sh jobs/smoke.yaml
#   slurm/submit.sh jobs/large.yaml -t 2:00:00 --ntasks-per-node=8 -- --model /data/tinyllama
#
# Launch: one rank per core with one BLAS thread each (--ntasks-per-node = the
# node's cores, --cpus-per-task=1, the default) is the fastest measured launch
# for short and for long prompts (docs/PERFORMANCE.md, "Sweep pipeline"); the
# ranks of a node share one copy of the weights.
#
# 1. runs `attnsweep run SWEEP --dry-run` here (validation, tokenization, the
#    plan and the output size estimate); a broken sweep fails here, with the
#    validation error, before anything is queued;
# 2. submits `sbatch [sbatch options] attnsweep.sbatch SWEEP [run options]`;
# 3. the reduce stage (/summary) is folded into `attnsweep run`; --reduce-job
#    also queues `attnsweep reduce OUT.h5` as a separate job that starts when
#    the sweep job has completed (--dependency=afterok);
# 4. prints the job id(s), the log file and where the output will be.
# Options before SWEEP.yaml:
#   --wait        wait until the job(s) end; exit with the sweep job's exit code
#   --reduce-job  also submit the dependent reduce job
# Paths in the sweep are relative to the current directory, which is also the
# job's working directory; run submit.sh from there.
# Environment:
#   ATTNSWEEP_BIN      the attnsweep binary (default ./build/attnsweep)
#   ATTNSWEEP_SBATCH   the job script (default: attnsweep.sbatch beside this file)
#   ATTNSWEEP_LAUNCHER, ATTNSWEEP_MAX_RESTARTS: passed on to the job (see attnsweep.sbatch)
#   ATTNSWEEP_WAIT_POLL  seconds between state checks with --wait (default 2)
# Exit codes: 0 submitted (with --wait: the job completed); 1 error;
# 2 usage; otherwise, with --wait, the job's exit code.
set -uo pipefail

say() { echo "submit: $*"; }
err() { echo "submit: error: $*" >&2; }
usage() {
    sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

wait_job=0
reduce_job=0
while [ $# -gt 0 ]; do
    case $1 in
    --wait) wait_job=1; shift ;;
    --reduce-job) reduce_job=1; shift ;;
    -h | --help) usage ;;
    -*) err "unknown option '$1' before SWEEP.yaml"; usage ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || usage
SWEEP=$1
shift
sbatch_args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do sbatch_args+=("$1"); shift; done
[ $# -gt 0 ] && shift            # the --
run_args=("$@")

HERE=$(cd "$(dirname "$0")" && pwd)
JOBSCRIPT=${ATTNSWEEP_SBATCH:-$HERE/attnsweep.sbatch}
BIN=${ATTNSWEEP_BIN:-./build/attnsweep}
[ -x "$BIN" ] || { err "attnsweep binary '$BIN' not found or not executable (set ATTNSWEEP_BIN)"; exit 1; }
[ -r "$SWEEP" ] || { err "cannot read the sweep '$SWEEP'"; exit 1; }
[ -r "$JOBSCRIPT" ] || { err "cannot read the job script '$JOBSCRIPT'"; exit 1; }
command -v sbatch >/dev/null || { err "sbatch not found: is this a Slurm login node?"; exit 1; }
# the job starts in this directory, but a requeued run must not depend on $PATH
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
for a in "${run_args[@]}"; do
    case $a in
    --resume | --force | --dry-run)
        err "'$a' is chosen by the job script (it always runs with --resume); leave it out"
        exit 2 ;;
    esac
done

# ---- 1. validate: a singleton dry run. Inside an allocation, hide the step's
# task count, or attnsweep's PMI check would take it for a wrong launch.
dry=$(mktemp)
trap 'rm -f "$dry"' EXIT
rc=0
env -u SLURM_NTASKS -u SLURM_STEP_ID -u SLURM_PROCID \
    "$BIN" run "$SWEEP" --dry-run "${run_args[@]}" >"$dry" 2>&1 || rc=$?
if [ $rc != 0 ]; then
    cat "$dry" >&2
    err "the dry run of $SWEEP failed (exit $rc); nothing was submitted"
    exit 1
fi
out=$(awk '$1 == "output.path" { print $2; exit }' "$dry")
# the whole file (data + metadata), as the dry run estimates it (docs/FORMAT.md "Size estimate")
size=$(sed -n 's/^output file: .* estimated at \([0-9]*\) bytes (\([0-9.]* MB\).*/\2 (\1 bytes)/p' "$dry" | head -n 1)
plan=$(grep -m 1 '^plan for' "$dry" | sed 's/ on 1 rank.*//')
[ -n "$out" ] && [ -n "$size" ] || { cat "$dry" >&2; err "could not read the plan of the dry run"; exit 1; }
case $out in /*) ;; *) out=$PWD/$out ;; esac
say "sweep valid: ${plan#plan for }; output size $size"

# ---- 2. submit
export ATTNSWEEP_BIN=$BIN
jobid=$(sbatch --parsable "${sbatch_args[@]}" "$JOBSCRIPT" "$SWEEP" "${run_args[@]}") ||
    { err "sbatch failed"; exit 1; }
jobid=${jobid%%;*}
show() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
say "submitted job $jobid ($(show "$jobid" JobName)); log: $(show "$jobid" StdOut)"

# ---- 3. reduce
rjob=
if [ $reduce_job = 1 ]; then
    if ! "$BIN" --help 2>&1 | grep -q '^ *reduce '; then
        err "this attnsweep has no 'reduce' command; the reduce stays folded into the run"
    else
        rjob=$(sbatch --parsable --job-name=attnsweep-reduce --dependency="afterok:$jobid" \
            --kill-on-invalid-dep=yes -n 1 --open-mode=append --output=%x-%j.out \
            --wrap "exec '$BIN' reduce '$out'") || { err "sbatch of the reduce job failed"; exit 1; }
        rjob=${rjob%%;*}
        say "submitted reduce job $rjob (starts after job $jobid completes); log: $(show "$rjob" StdOut)"
    fi
else
    say "reduce is folded into the run: attnsweep run writes /summary when the sweep completes"
fi
say "output: $out"

[ $wait_job = 1 ] || exit 0

# ---- 4. --wait: poll (a requeued job goes back to PENDING and runs again)
final() { # job id -> "STATE EXITCODE" once the job has ended, else nothing
    local st
    st=$(show "$1" JobState)
    case $st in
    "") echo "UNKNOWN 1" ;;      # purged from slurmctld's memory (MinJobAge)
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | DEADLINE | BOOT_FAIL)
        echo "$st $(show "$1" ExitCode | cut -d: -f1)" ;;
    esac
}
last=
for j in $jobid $rjob; do
    while :; do
        f=$(final "$j")
        [ -n "$f" ] && break
        st=$(show "$j" JobState)/$(show "$j" Reason)/restarts=$(show "$j" Restarts)
        [ "$st" != "$last" ] && say "job $j: $st" && last=$st
        sleep "${ATTNSWEEP_WAIT_POLL:-2}"
    done
    say "job $j ended: ${f% *}, exit code ${f#* }"
    [ "$j" = "$jobid" ] && jrc=${f#* } && jstate=${f% *}
done
[ "$jstate" = COMPLETED ] && exit 0
[ "$jrc" != 0 ] && exit "$jrc"
exit 1
