#!/usr/bin/env bash
# stop-slurm.sh - stop the single-node Slurm that start-slurm.sh started.
#
#   bash tests/slurm/stop-slurm.sh      # as root; exit 0 also when nothing runs
#
# Cancels every job first (`scontrol shutdown` leaves running job steps alive),
# then shuts slurmctld and slurmd down, then stops munged if start-slurm.sh
# started it. Signals only the pids in our own pid files, plus slurmstepd
# processes that outlive our slurmd; never processes by name. Bounded in time.
# Environment: ATTNSWEEP_SLURM_DIR, ATTNSWEEP_SLURM_TIMEOUT (as for start),
#              ATTNSWEEP_SLURM_KEEP_MUNGE=1 leaves munged running.
set -uo pipefail

DIR=${ATTNSWEEP_SLURM_DIR:-/var/lib/attnsweep-slurm}
TIMEOUT=${ATTNSWEEP_SLURM_TIMEOUT:-120}
T0=$(date +%s)
say() { echo "[stop-slurm] $*"; }
expired() { [ $(( $(date +%s) - T0 )) -ge "$TIMEOUT" ]; }
pstate() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
# alive = exists and is not a zombie (PID 1 here reaps orphans late)
alive() { local s; s=$(pstate "$1"); [ -n "$s" ] && [ "$s" != Z ]; }
ours() {
    local p
    [ -r "$1" ] && p=$(tr -dc 0-9 <"$1") || return 1
    [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && alive "$p" && echo "$p"
}
# wait until every pid given is gone; false at the deadline
wait_gone() {
    local p busy
    while :; do
        busy=; for p in "$@"; do alive "$p" && busy=1; done
        [ -z "$busy" ] && return 0
        expired && return 1
        sleep 0.2
    done
}
# SIGTERM, up to 10 s, then SIGKILL
stop_pids() {
    [ $# -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null
    local t=$(( $(date +%s) + 10 )) p busy
    while [ "$(date +%s)" -lt $t ]; do
        busy=; for p in "$@"; do alive "$p" && busy=1; done
        [ -z "$busy" ] && return 0
        sleep 0.2
    done
    say "SIGKILL $*"
    kill -KILL "$@" 2>/dev/null
    sleep 0.5
}

[ "$(id -u)" = 0 ] || { echo "[stop-slurm] must run as root" >&2; exit 1; }

ctld=$(ours "$DIR/run/slurmctld.pid" slurmctld)
sd=$(ours "$DIR/run/slurmd.pid" slurmd)

if [ -n "$ctld" ]; then
    jobs=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')
    if [ -n "${jobs// }" ]; then
        say "cancelling jobs $jobs"
        scancel $jobs 2>/dev/null
        while [ -n "$(squeue -h -o %A 2>/dev/null)" ] && ! expired; do sleep 0.5; done
    fi
fi
# Job step daemons are not children of slurmd. Only our slurmd can hold port
# 6818 on this machine, so every slurmstepd now alive belongs to it; they are
# signalled below only if they outlive it.
steps=$(pgrep -x slurmstepd | tr '\n' ' ')

if [ -n "$ctld" ]; then
    say "scontrol shutdown (slurmctld $ctld${sd:+, slurmd $sd})"
    timeout 15 scontrol shutdown >/dev/null 2>&1 || say "scontrol shutdown failed; signalling the daemons"
fi
wait_gone $ctld $sd
left=; for p in $ctld $sd; do alive "$p" && left="$left $p"; done
[ -n "$left" ] && { say "still running:$left"; stop_pids $left; }

left=; for p in $steps; do alive "$p" && left="$left $p"; done
[ -n "$left" ] && { say "leftover slurmstepd:$left"; stop_pids $left; }

if [ "${ATTNSWEEP_SLURM_KEEP_MUNGE:-0}" != 1 ] && [ -e "$DIR/run/munged.ours" ]; then
    m=$(ours /run/munge/munged.pid munged)
    [ -n "$m" ] && { say "stopping munged $m"; stop_pids "$m"; }
    rm -f "$DIR/run/munged.ours"
fi
rm -f "$DIR/run/slurmctld.pid" "$DIR/run/slurmd.pid"

rc=0
for p in $ctld $sd; do alive "$p" && { say "ERROR: pid $p is still alive" >&2; rc=1; }; done
say "stopped ($(( $(date +%s) - T0 ))s)"
exit $rc
