#!/usr/bin/env bash
# test_slurm.sh CASE - attnsweep under a real single-node Slurm (slurm/*).
#   smoke     slurm/submit.sh --wait jobs/smoke.yaml: every prompt done, same
#             tensors as a direct `mpirun -n 2` run; a dependent reduce job
#             when `attnsweep reduce` exists; a broken sweep is not submitted
#   requeue   a sweep longer than its 1-minute limit: USR1 from Slurm, graceful
#             stop (75), `scontrol requeue`, resumed run 2 finishes; the file
#             equals an uninterrupted run
#   mpirun    ATTNSWEEP_LAUNCHER=mpirun: mpirun forwards USR1, requeue, resume
#   pmi       srun without PMIx (--mpi=none, --mpi=pmi2) fails before writing
#             anything; plain srun (MpiDefault=pmix) works
# Starts Slurm with start-slurm.sh (skips, exit 77, when that cannot run here:
# not root, or apt unreachable) and stops it at the end if it started it.
#   env: ATTNSWEEP (binary), PY (python3 with h5py), SRC (repository root)
set -uo pipefail
CASE=${1:?usage: test_slurm.sh smoke|requeue|mpirun|pmi}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${SRC:-$(cd "$HERE/../.." && pwd)}
BIN=${ATTNSWEEP:?set ATTNSWEEP to the attnsweep binary}
PY=${PY:-/usr/bin/python3}
COMPARE=$SRC/tests/run/compare_h5.py
SUBMIT=$SRC/slurm/submit.sh
SLURM_DIR=${ATTNSWEEP_SLURM_DIR:-/var/lib/attnsweep-slurm}
export ATTNSWEEP_BIN=$BIN OMPI_MCA_pml=ob1 OPENBLAS_NUM_THREADS=1 HDF5_USE_FILE_LOCKING=FALSE
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1   # for the direct mpirun references
T_TEST=$(date +%s)

fail() {
    local f
    for f in "${TMP:-/nonexistent}"/attnsweep-*.out; do
        [ -e "$f" ] && { echo "----- job log $f -----"; cat "$f"; }
    done
    echo "FAIL ($CASE): $*"
    exit 1
}
skip() { echo "SKIP ($CASE): $*"; exit 77; }
note() { echo "[test_slurm $CASE +$(( $(date +%s) - T_TEST ))s] $*"; }

if [ "${ATTNSWEEP_TEST_SLURM:-1}" = 0 ]; then
    case "${CI:-}" in
    "" | 0 | false | no) skip "ATTNSWEEP_TEST_SLURM=0: not installing and starting a local Slurm" ;;
    *) note "ATTNSWEEP_TEST_SLURM=0 is ignored under CI=$CI: CI always runs the Slurm tests" ;;
    esac
fi
[ "$(id -u)" = 0 ] || skip "needs root to start slurmctld/slurmd (see docs/SLURM.md)"
[ -x "$BIN" ] || fail "attnsweep binary '$BIN' not found"
"$PY" -c 'import h5py' 2>/dev/null || skip "$PY has no h5py"

# ---- one Slurm test at a time on this machine, also across build directories
# (ctest's RESOURCE_LOCK works only within one ctest run): the tests share the
# one Slurm, job ids restart at 1, and the timing case needs the CPUs
exec 9>/tmp/attnsweep-slurm-tests.lock
if ! flock -n 9; then
    note "waiting for another Slurm test on this machine (lock /tmp/attnsweep-slurm-tests.lock)"
    flock -w 800 9 || fail "another Slurm test held the lock for 800 s"
fi

# ---- Slurm: start (or reuse), and stop at the end only if we started it
was_up=0
command -v scontrol >/dev/null && timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP' && was_up=1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attnsweep-slurm-XXXXXX")
JOBS=
cleanup() {
    local j
    for j in $JOBS; do scancel "$j" 2>/dev/null; done
    if [ $was_up = 0 ]; then bash "$HERE/stop-slurm.sh" >/dev/null; fi
    if [ "${ATTNSWEEP_TEST_KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mine=$(cat "$SLURM_DIR/run/slurmctld.pid" 2>/dev/null)
if [ $was_up = 1 ] && { [ -z "$mine" ] || [ ! -e "/proc/$mine" ]; }; then
    # a Slurm that start-slurm.sh did not start (e.g. CI's own): use it as it is
    note "using the Slurm that is already running ($(sinfo -h -o '%P %D %T' 2>/dev/null | head -n 1))"
else
    rc=0
    # the daemons must not inherit the test lock (fd 9): they outlive this test
    bash "$HERE/start-slurm.sh" 9>&- || rc=$?
    [ $rc = 3 ] && skip "Slurm cannot be started here (start-slurm.sh exit 3, message above)"
    [ $rc = 0 ] || fail "start-slurm.sh failed (exit $rc)"
fi
cd "$TMP" || fail "cd $TMP"

# field of `scontrol show job ID`
jf() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
# wait_job ID TIMEOUT [ON_REQUEUE]: poll until the job has ended; prints
# "STATE EXITCODE". A requeued job waits (Reason=BeginTime) for cred_expire;
# skip that with StartTime=now, then run ON_REQUEUE once (a shell command).
wait_job() {
    local id=$1 deadline=$(( $(date +%s) + $2 )) hook=${3:-} st seen=0
    while [ "$(date +%s)" -lt $deadline ]; do
        st=$(jf "$id" JobState)
        case $st in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
            echo "$st $(jf "$id" ExitCode | cut -d: -f1)"; return 0 ;;
        "") echo "GONE 1"; return 0 ;;
        PENDING)
            if [ "$(jf "$id" Restarts)" -gt 0 ] 2>/dev/null; then
                # start the requeued job now, but only once the previous run's steps are gone:
                # slurmd refuses to launch a job id it is still killing ("Job credential revoked"),
                # and the job then ends FAILED instead of running again
                if pgrep -f "slurmstepd: \[$id\.(batch|[0-9]+)\]" > /dev/null; then
                    sleep 0.5
                    continue
                fi
                sleep 1
                scontrol update JobId="$id" StartTime=now 2>/dev/null
                [ $seen = 0 ] && [ -n "$hook" ] && { eval "$hook"; seen=1; }
            fi ;;
        esac
        sleep 1
    done
    echo "STUCK-$(jf "$id" JobState)/$(jf "$id" Reason) 1"
}
submit() { # submit.sh args... ; sets JOB
    "$SUBMIT" "$@" >submit.log 2>&1 || { cat submit.log; fail "submit.sh $* failed"; }
    cat submit.log
    JOB=$(sed -n 's/^submit: submitted job \([0-9]*\).*/\1/p' submit.log)
    [ -n "$JOB" ] || fail "no job id in the output of submit.sh"
    JOBS="$JOBS $JOB"
}
all_done() { # file: every prompt has status 1
    "$PY" - "$1" <<'PY'
import sys, h5py
s = h5py.File(sys.argv[1], "r")["sweep/status"][()]
print(f"{sys.argv[1]}: {int((s == 1).sum())}/{s.size} prompts done")
sys.exit(0 if s.size and (s == 1).all() else 1)
PY
}
# a slower model and a grid sweep on it: every prompt ~340 tokens
slow_model() { # dir layers dim heads kv ffn
    [ -d "$1" ] || "$BIN" make-model --out "$1" --layers "$2" --dim "$3" --heads "$4" \
        --kv-heads "$5" --ffn "$6" >/dev/null || fail "make-model $1"
}
grid_yaml() { # model n_a output
    cat <<YAML
# $2 x 5 prompts of ~340 tokens each
model: {path: $1}
output: {path: $3, store: last_row, dtype: float32}
ranks: {assign: balanced}
groups:
  - name: grid
    template: "Q: What is {a} plus {b}? Let's think step by step about the numbers {a} and {b}. First write {a} as tens and ones, then write {b} as tens and ones. Add the ones of {a} and the ones of {b}; if the sum is ten or more, write down its ones and carry one to the tens. Then add the tens of {a}, the tens of {b} and the carry. Check the result by counting up from {a} in steps of ten, {b} divided by ten times, and then by the ones. Finally, write the answer on its own line after the word Answer, and explain in one short sentence why it is right. Do the same for {b} plus {a} and say whether the two answers agree, and why addition does not depend on the order. Q: What is {a} plus {b}? A:"
    product: {a: [$(seq -s ', ' 1 "$2")], b: [10, 20, 30, 40, 50]}
    id: "a{a}_b{b}"
YAML
}
mpirun2() { mpirun --oversubscribe -n 2 "$@"; }
log_has() { grep -q -- "$2" "$1" || fail "the job log $1 lacks '$2'"; }
# seconds since the epoch of the first "[attnsweep.sbatch DATE TIME] ...PATTERN" line
log_time() { date -d "$(grep -m 1 -- "$2" "$1" | sed 's/^\[attnsweep.sbatch \([^]]*\)\].*/\1/')" +%s; }

case $CASE in
smoke)
    "$BIN" make-model --out models/default >/dev/null || fail "make-model"
    mkdir -p results
    # a broken sweep fails in the dry run and is not queued
    printf 'model: {path: models/default}\ngroups:\n  - name: g\n    promts: {a: "x"}\n' >bad.yaml
    n0=$(squeue -h | wc -l)
    rc=0; "$SUBMIT" bad.yaml >bad.log 2>&1 || rc=$?
    [ $rc = 1 ] && grep -q "unknown key 'promts'" bad.log && grep -q "nothing was submitted" bad.log ||
        { cat bad.log; fail "a broken sweep: exit $rc, or no validation message"; }
    [ "$(squeue -h | wc -l)" = "$n0" ] || fail "a broken sweep was queued"
    note "broken sweep refused before sbatch"

    extra=()
    "$BIN" --help 2>&1 | grep -q '^ *reduce ' && extra=(--reduce-job)
    t=$(date +%s)
    rc=0; timeout 300 "$SUBMIT" --wait "${extra[@]}" "$SRC/jobs/smoke.yaml" >submit.log 2>&1 || rc=$?
    cat submit.log
    JOB=$(sed -n 's/^submit: submitted job \([0-9]*\).*/\1/p' submit.log); JOBS=$JOB
    [ $rc = 0 ] || fail "submit.sh --wait exit $rc"
    note "submit.sh --wait took $(( $(date +%s) - t ))s"
    grep -Eq "output size [0-9.]+ MB \([0-9]+ bytes\)" submit.log || fail "no size estimate from the dry run"
    grep -q "output: $TMP/results/smoke.h5" submit.log || fail "output path not reported"
    if [ ${#extra[@]} = 1 ]; then
        grep -q "submitted reduce job" submit.log && grep -q "ended: COMPLETED, exit code 0" submit.log ||
            fail "the dependent reduce job did not complete"
    else
        grep -q "reduce is folded into the run" submit.log || fail "no reduce note"
    fi
    log_has attnsweep-"$JOB".out "SLURM_RESTART_COUNT=0"
    log_has attnsweep-"$JOB".out "srun --mpi=pmix"
    log_has attnsweep-"$JOB".out "sweep complete"
    all_done results/smoke.h5 || fail "not every prompt done"
    mpirun2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/direct.h5 --quiet || fail "direct mpirun run"
    "$PY" "$COMPARE" results/direct.h5 results/smoke.h5 --status || fail "the Slurm run differs from mpirun"
    ;;

requeue)
    # The job gets -t 1 --signal=B:USR1@20. Slurm checks limits every 30 s, so
    # USR1 comes 20-50 s before the limit: 10-40 s into the run. The test hook
    # ATTNSWEEP_TEST_BATCH_PAUSE=3 (docs/ARCHITECTURE.md) pauses each rank 3 s
    # after every batch, and the sweep is 40 one-prompt batches on 2 ranks, so
    # run 1 lasts at least 60 s whatever the machine's speed (nothing here is
    # calibrated on compute speed): it is always interrupted. The test then
    # lifts the limit of the requeued job, so that run 2 finishes.
    slow_model small 2 64 4 2 128 # compute is negligible next to the pauses
    grid_yaml small 8 out.h5 >req.yaml # 40 prompts of ~340 tokens: one batch each
    n_a=8
    t=$(date +%s)
    mpirun2 "$BIN" run req.yaml --output ref.h5 --quiet || fail "uninterrupted reference run"
    t_ref=$(( $(date +%s) - t ))
    note "uninterrupted reference run (no pauses): ${t_ref}s"

    export ATTNSWEEP_TEST_BATCH_PAUSE=3 # sbatch exports the environment to the job
    t=$(date +%s)
    submit req.yaml -t 1 --signal=B:USR1@20
    res=$(wait_job "$JOB" 400 'scontrol update JobId=$id TimeLimit=5; note "job $id requeued: lifted its limit to 5 min" >&2')
    t_job=$(( $(date +%s) - t ))
    log=attnsweep-$JOB.out
    unset ATTNSWEEP_TEST_BATCH_PAUSE
    [ "$res" = "COMPLETED 0" ] || fail "job $JOB ended as '$res'"
    grep -q "SIGUSR1 (time limit near)" "$log" ||
        fail "the sweep ended before the time-limit signal, although its batch pauses alone last 60 s"
    log_has "$log" "run 1 (SLURM_RESTART_COUNT=0)"
    log_has "$log" "SIGUSR1 (time limit near)"
    log_has "$log" "stopped on request with"
    log_has "$log" "attnsweep exited with code 75"
    log_has "$log" "requeueing job $JOB"
    log_has "$log" "run 2 (SLURM_RESTART_COUNT=1)"
    log_has "$log" "sweep complete"
    restarts=$(jf "$JOB" Restarts)
    [ "$restarts" = 1 ] || note "WARNING: the job needed $restarts restarts (expected 1)"
    jobcomp=$(scontrol show config | sed -n 's/^JobCompLoc *= *//p')
    if [ -f "$jobcomp" ]; then
        runs=$(grep -c "^JobId=$JOB .*Name=attnsweep" "$jobcomp")
        [ "$runs" -ge 2 ] || fail "$jobcomp has $runs records of job $JOB, expected one per run (2)"
    fi
    t_start=$(log_time "$log" "run 1 (SLURM_RESTART_COUNT=0)")
    t_usr1=$(log_time "$log" "SIGUSR1 (time limit near)")
    t_75=$(log_time "$log" "attnsweep exited with code 75")
    t_run2=$(log_time "$log" "run 2 (SLURM_RESTART_COUNT=1)")
    done1=$(sed -n 's/.*stopped on request with \([0-9]*\) of.*/\1/p' "$log" | head -n 1)
    note "timings: USR1 $((t_usr1 - t_start))s after the start of run 1 (limit 60 s, lead 20 s);" \
        "stopped $((t_75 - t_usr1))s after USR1 with $done1/$((n_a * 5)) prompts done;" \
        "run 2 started $((t_run2 - t_75))s after the stop; whole job ${t_job}s (reference ${t_ref}s)"
    [ $((t_usr1 - t_start)) -le 40 ] || note "WARNING: USR1 came less than 20 s before the limit"
    all_done out.h5 || fail "not every prompt done"
    "$PY" "$COMPARE" ref.h5 out.h5 --status || fail "requeued+resumed file differs from the uninterrupted run"
    ;;

mpirun)
    # USR1 is sent by hand (scancel --batch), as Slurm would at the limit
    slow_model slow 8 512 8 2 1408
    grid_yaml slow 6 out.h5 >mp.yaml
    mpirun2 "$BIN" run mp.yaml --output ref.h5 --quiet || fail "reference run"
    ATTNSWEEP_LAUNCHER=mpirun submit mp.yaml
    log=attnsweep-$JOB.out
    for _ in $(seq 300); do [ -e out.h5 ] && break; sleep 0.2; done
    [ -e out.h5 ] || fail "the job did not create out.h5"
    sleep 1
    scancel --batch --signal=USR1 "$JOB" || fail "scancel --batch --signal=USR1"
    res=$(wait_job "$JOB" 300)
    [ "$res" = "COMPLETED 0" ] || fail "job $JOB ended as '$res'"
    log_has "$log" "launcher mpirun"
    log_has "$log" "mpirun: Forwarding signal 10"
    log_has "$log" "attnsweep exited with code 75"
    log_has "$log" "run 2 (SLURM_RESTART_COUNT=1)"
    log_has "$log" "sweep complete"
    note "$(grep -m 1 'stopped on request' "$log")"
    all_done out.h5 || fail "not every prompt done"
    "$PY" "$COMPARE" ref.h5 out.h5 --status || fail "mpirun-launched requeued file differs"
    ;;

pmi)
    "$BIN" make-model --out models/default >/dev/null || fail "make-model"
    mkdir -p results
    for mpi in none pmi2; do
        rc=0
        timeout 120 srun --mpi=$mpi -n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/$mpi.h5 \
            >$mpi.log 2>&1 || rc=$?
        [ $rc != 0 ] || { cat $mpi.log; fail "srun --mpi=$mpi -n 2 succeeded"; }
        [ ! -e results/$mpi.h5 ] || fail "srun --mpi=$mpi wrote an output file"
        if grep -q "launched without PMIx" $mpi.log; then
            note "srun --mpi=$mpi: attnsweep's own check refused (exit $rc)"
        elif grep -q "OMPI was not built with SLURM's PMI support" $mpi.log; then
            note "srun --mpi=$mpi: Open MPI's MPI_Init aborted first (exit $rc): attnsweep's check is not reached"
        else
            cat $mpi.log; fail "srun --mpi=$mpi: neither message"
        fi
    done
    # the default (MpiDefault=pmix) works and equals mpirun
    timeout 120 srun -n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/srun.h5 --quiet ||
        fail "srun -n 2 (PMIx)"
    mpirun2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/direct.h5 --quiet || fail "mpirun"
    "$PY" "$COMPARE" results/direct.h5 results/srun.h5 --status || fail "srun run differs from mpirun"
    ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
note "passed"
echo "test_slurm $CASE: passed"
