#!/usr/bin/env bash
# bench_sweep.sh - sweep throughput on a TinyLlama-shaped model, 1 and 2 ranks.
#
# Generates (not committed) a TinyLlama-1.1B-shaped random model with BF16 weights, as
# TinyLlama ships, and runs a sweep of N_PROMPTS prompts on 1 and 2 ranks. Prints
# prompts/s, tokens/s, the HDF5 output rate beside this disk's raw write rate (dd, measured
# in the same run), and peak memory per rank (from attnsweep's own report).
#   usage: bench/bench_sweep.sh [BUILD_DIR] [WORK_DIR]      env: N_PROMPTS (default 16)
#   ATTNSWEEP_BENCH_SMOKE=1 uses the small default model and 4 prompts (checks the script works).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-$(mktemp -d "${TMPDIR:-/tmp}/attnsweep-bench-XXXXXX")}
mkdir -p "$WORK"
N=${N_PROMPTS:-16}
BIN=$BUILD/attnsweep
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
cd "$WORK"
PRESET=tinyllama
if [ "${ATTNSWEEP_BENCH_SMOKE:-0}" != 0 ]; then PRESET=default; N=4; fi
if [ ! -f tl/model.safetensors ]; then
  t0=$(date +%s.%N)
  "$BIN" make-model --out tl --preset $PRESET --dtype bf16 > /dev/null
  echo "# generated a $PRESET-shaped BF16 model in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
fi
b=$(( (N + 3) / 4 ))
cat > sweep.yaml <<YAML
model: {path: tl}
output: {path: out.h5, store: full, dtype: float32}
ranks: {assign: balanced}
groups:
  - name: g
    template: "{prefix} Question number {a}: what is {b} plus {b}? Let's think step by step about it, and answer briefly. Answer:"
    product: {prefix: ["Please answer.", "You are an expert mathematician who explains every step with care and precision."], a: [1, 2], b: [$(seq -s, 1 $b)]}
YAML
# raw disk write rate of this folder, same run
DD_MB=1024; [ "$PRESET" = default ] && DD_MB=64
dd_out=$(dd if=/dev/zero of=dd.tmp bs=1M count=$DD_MB conv=fdatasync 2>&1 | tail -1)
rm -f dd.tmp
disk=$(echo "$dd_out" | grep -o '[0-9.]* [GM]B/s')
echo "# raw disk write (dd $DD_MB MiB, fdatasync): $disk"
printf "%6s %8s %8s %10s %10s %12s %14s %12s %s\n" ranks prompts tokens run_s prompts/s tokens/s h5_write_MiB/s write_s "peak_rss_MiB(per rank)"
for n in 1 2; do
  rm -f out.h5
  bind=(); [ $n = 1 ] && bind=(--bind-to none)   # 1 rank may use every core
  "${MPIEXEC:-mpirun}" "${bind[@]}" -n $n "$BIN" run sweep.yaml --progress 1000 > log.txt 2>&1 ||
    { tail -20 log.txt; exit 1; }
  prompts=$(grep -o '^attnsweep run: [0-9]*/[0-9]* prompts done' log.txt | grep -o '[0-9]*/' | tr -d /)
  tokens=$(awk '/^ +total/ {print $3; exit}' log.txt)
  run_s=$(grep -o 'computed now, in [0-9.]* s' log.txt | grep -o '[0-9.]*')
  wline=$(grep "attention writes" log.txt)
  wrate=$(echo "$wline" | grep -o '([0-9.]* MiB/s' | grep -o '[0-9.]*')
  wsec=$(echo "$wline" | grep -o 'spent [0-9.]* s' | grep -o '[0-9.]*')
  peaks=$(awk '/^ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$/ {printf "%s ", $2}' log.txt)
  awk -v n=$n -v p="$prompts" -v t="$tokens" -v s="$run_s" -v w="$wrate" -v ws="$wsec" -v pk="$peaks" \
    'BEGIN{printf "%6d %8d %8d %10.1f %10.2f %12.1f %14.1f %12.2f %s\n", n, p, t, s, p/s, t/s, w, ws, pk}'
  grep -E "weights of|total Pss|attention writes" log.txt | sed 's/^/#   /'
done
echo "# output file: $(stat -c %s out.h5) bytes; work dir $WORK"
