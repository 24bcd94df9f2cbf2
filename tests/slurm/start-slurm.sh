#!/usr/bin/env bash
# start-slurm.sh - bring up a real single-node Slurm on this machine, for the
# attnsweep Slurm tests (tests/slurm/test_slurm.sh) and for trying slurm/*.
#
#   bash tests/slurm/start-slurm.sh      # as root; idempotent
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge if missing (apt,
# bounded), writes /etc/slurm/slurm.conf for one node (a foreign file is backed
# up first), starts munged, slurmctld and slurmd directly (no systemd here) and
# waits, bounded, until the node is idle. docs/SLURM.md explains the settings.
#
# Exit codes: 0 Slurm is usable (sinfo shows the node idle/mixed/allocated);
#             1 error (message on stderr, then the tail of every daemon log);
#             3 the prerequisites are missing: not root, or the packages
#               cannot be installed (apt unreachable). Tests map 3 to "skipped".
# Environment (all optional):
#   ATTNSWEEP_SLURM_DIR          state, spool, logs, pid files (/var/lib/attnsweep-slurm)
#   ATTNSWEEP_SLURM_TIMEOUT      seconds for the daemons and the node to come up (120)
#   ATTNSWEEP_SLURM_APT_TIMEOUT  seconds for apt-get update + install (600)
#   ATTNSWEEP_SLURM_NO_INSTALL=1 never run apt-get
set -uo pipefail

DIR=${ATTNSWEEP_SLURM_DIR:-/var/lib/attnsweep-slurm}
TIMEOUT=${ATTNSWEEP_SLURM_TIMEOUT:-120}
APT_TIMEOUT=${ATTNSWEEP_SLURM_APT_TIMEOUT:-600}
CONF=/etc/slurm/slurm.conf
TAG="# written by attnsweep tests/slurm/start-slurm.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
T0=$(date +%s)

say() { echo "[start-slurm] $*"; }
logs() {
    local f
    for f in "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" /var/log/munge/munged.log; do
        [ -s "$f" ] && { echo "--- tail of $f ---"; tail -n 15 "$f"; } >&2
    done
}
die() { echo "[start-slurm] ERROR: $*" >&2; logs; exit 1; }
unavailable() { echo "[start-slurm] CANNOT RUN: $*" >&2; exit 3; }
# deadline helper: seconds left of TIMEOUT since $1
left() { echo $(( TIMEOUT - ($(date +%s) - $1) )); }
# process state letter, empty when gone; PID 1 here reaps orphans late, so a
# zombie (Z) counts as gone
pstate() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
# the pid in pid file $1 if it is alive, not a zombie, and named $2
ours() {
    local p
    [ -r "$1" ] && p=$(tr -dc 0-9 <"$1") || return 1
    [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] || return 1
    local s; s=$(pstate "$p"); [ -n "$s" ] && [ "$s" != Z ] && echo "$p"
}

[ "$(id -u)" = 0 ] || unavailable "must run as root (SlurmUser=root, slurmd starts jobs for any user)"

# ------------------------------------------------------------ packages
PKGS=(slurmctld slurmd slurm-client munge)
need=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    [ "${ATTNSWEEP_SLURM_NO_INSTALL:-0}" = 1 ] && unavailable "missing packages ${need[*]} (ATTNSWEEP_SLURM_NO_INSTALL=1)"
    command -v apt-get >/dev/null || unavailable "missing packages ${need[*]} and no apt-get"
    say "installing ${need[*]} (apt-get, at most ${APT_TIMEOUT}s)"
    # Debian's postinst would start the daemons with the stock config; a
    # policy-rc.d that answers 101 forbids that. Add one only if none exists.
    policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
        policy=/usr/sbin/policy-rc.d
    fi
    rc=0
    DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" sh -c '
        apt-get -o DPkg::Lock::Timeout=120 update -qq &&
        apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends "$@"' \
        apt "${PKGS[@]}" >/tmp/attnsweep-slurm-apt.log 2>&1 || rc=$?
    [ -n "$policy" ] && rm -f "$policy"
    if [ $rc != 0 ]; then
        tail -n 15 /tmp/attnsweep-slurm-apt.log >&2
        unavailable "apt-get failed (exit $rc, 124 = timed out); full log /tmp/attnsweep-slurm-apt.log"
    fi
    say "installed in $(( $(date +%s) - T0 ))s"
fi
for b in munged munge unmunge slurmctld slurmd sinfo scontrol sbatch srun squeue scancel; do
    command -v $b >/dev/null || die "'$b' not found although the packages are installed"
done

install -d -m 0755 "$DIR" "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run"

# ------------------------------------------------------------ munge
if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    install -d -m 0700 /etc/munge
    mungekey --create --force --keyfile=/etc/munge/munge.key 2>/dev/null ||
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge && chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_works; then
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged || die "munged did not start"
    touch "$DIR/run/munged.ours"           # stop-slurm.sh stops munged only then
    t=$(date +%s)
    until munge_works; do
        [ "$(left "$t")" -gt 0 ] || die "munged does not answer after ${TIMEOUT}s"
        sleep 0.2
    done
fi

# ------------------------------------------------------------ slurm.conf
NODE=$(hostname -s)
# slurmd -C: "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 ... RealMemory=24105"
HW=$(slurmd -C 2>/dev/null | head -n 1 | sed 's/^NodeName=[^ ]* //')
CPUS=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$HW")
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$HW")
[ -n "$CPUS" ] && [ -n "$MEM" ] || die "could not read the hardware from 'slurmd -C' (got '$HW')"
MEM=$(( MEM * 95 / 100 ))   # slurmd drains a node whose RealMemory exceeds what it measures
HW=$(sed "s/RealMemory=[0-9]*/RealMemory=$MEM/" <<<"$HW")

NEW=$(mktemp)
trap 'rm -f "$NEW"' EXIT
cat >"$NEW" <<EOF
$TAG
# One node, no systemd and no cgroups; see docs/SLURM.md.
ClusterName=attnsweep
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# a requeued job is held for cred_expire seconds (default 120) before it may run again
AuthInfo=cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# one line per finished run of a job (requeued runs included): our sacct substitute
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
# Debian's Open MPI can be direct-launched by srun only through PMIx
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without it every job gets the whole node's memory and jobs run one at a time
DefMemPerCPU=$(( MEM / CPUS ))
# reject at submission what this node can never run (else: PENDING forever)
EnforcePartLimits=ALL
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 $HW State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE MaxNodes=1 State=UP
EOF

ctld=$(ours "$DIR/run/slurmctld.pid" slurmctld)
sd=$(ours "$DIR/run/slurmd.pid" slurmd)
if ! cmp -s "$NEW" "$CONF"; then
    if [ -f "$CONF" ] && ! grep -qxF "$TAG" "$CONF"; then
        cp -p "$CONF" "$CONF.attnsweep-backup.$(date +%s)" || die "cannot back up $CONF"
        say "backed up the existing $CONF"
    fi
    if [ -n "$ctld$sd" ]; then
        say "slurm.conf changed: restarting our daemons"
        # once seen failing when run ~0.1 s after slurmd started: try twice
        ATTNSWEEP_SLURM_KEEP_MUNGE=1 bash "$HERE/stop-slurm.sh" ||
            { sleep 1; ATTNSWEEP_SLURM_KEEP_MUNGE=1 bash "$HERE/stop-slurm.sh"; } ||
            die "could not stop the running daemons"
        ctld='' sd=''
    fi
    install -d -m 0755 /etc/slurm
    install -m 0644 "$NEW" "$CONF" || die "cannot write $CONF"
    say "wrote $CONF (node $NODE, $CPUS CPUs, RealMemory=$MEM)"
fi

# ------------------------------------------------------------ daemons
# Never fight a Slurm we did not start. A freshly started daemon's forking
# parent (or its unreaped zombie) can linger a moment, so look for 5 s.
for name in slurmctld slurmd; do
    mine=$(ours "$DIR/run/$name.pid" $name)
    for _ in $(seq 25); do
        other=
        for p in $(pgrep -x $name); do
            s=$(pstate "$p"); [ "$p" != "$mine" ] && [ -n "$s" ] && [ "$s" != Z ] && other="$other $p"
        done
        [ -z "$other" ] && break
        sleep 0.2
    done
    [ -z "$other" ] || die "a $name not started by this script is running (pid$other); stop it first"
done

# a daemon that died at start-up (bad config, port in use) is reported after
# 5 s instead of at the timeout
alive_or_die() { # name start-time
    ours "$DIR/run/$1.pid" "$1" >/dev/null && return 0
    [ $(( $(date +%s) - $2 )) -lt 5 ] || die "$1 exited during start-up"
}
if [ -z "$ctld" ]; then
    rm -rf "${DIR:?}/state/"*       # clean start: empty queue, job ids from 1
    say "starting slurmctld"
    /usr/sbin/slurmctld -i || die "slurmctld did not start"
fi
t=$(date +%s)
until timeout 5 scontrol ping 2>/dev/null | grep -q 'is UP'; do
    alive_or_die slurmctld "$t"
    [ "$(left "$t")" -gt 0 ] || die "slurmctld does not answer after ${TIMEOUT}s"
    sleep 0.2
done
if [ -z "$sd" ]; then
    say "starting slurmd"
    /usr/sbin/slurmd -N "$NODE" || die "slurmd did not start"
fi
t=$(date +%s)
resumed=0
while :; do
    st=$(timeout 5 sinfo -h -n "$NODE" -o %T 2>/dev/null)
    case "$st" in
    idle | mixed | allocated | completing) break ;;
    down* | drain* | fail*)
        if [ $resumed = 0 ]; then
            say "node is $st ($(sinfo -h -n "$NODE" -o %E 2>/dev/null)); resuming it"
            scontrol update NodeName="$NODE" State=RESUME 2>/dev/null
            resumed=1
        fi ;;
    esac
    alive_or_die slurmd "$t"
    alive_or_die slurmctld "$t"
    [ "$(left "$t")" -gt 0 ] ||
        die "node $NODE not usable after ${TIMEOUT}s (state '${st:-?}', reason: $(sinfo -h -n "$NODE" -o %E 2>/dev/null))"
    sleep 0.2
done
say "Slurm is up: node $NODE is $st ($(( $(date +%s) - T0 ))s); logs in $DIR/log"
exit 0
