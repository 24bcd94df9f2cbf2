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
# long prompts: 59-87 tokens
cat > long.yaml <<YAML
model: {path: tl}
output: {path: out.h5, store: full, dtype: float32}
ranks: {assign: balanced}
groups:
  - name: g
    template: "{prefix} Question number {a}: what is {b} plus {b}? Let's think step by step about it, and answer briefly. Answer:"
    product: {prefix: ["Please answer.", "You are an expert mathematician who explains every step with care and precision."], a: [1, 2], b: [$(seq -s, 1 $b)]}
YAML
# short prompts, the notebook's kind: 64 prompts of 10-25 tokens in 4 instruction styles
NS=64; [ "$PRESET" = default ] && NS=8
cat > short.yaml <<YAML
model: {path: tl}
output: {path: out.h5, store: full, dtype: float32}
ranks: {assign: balanced}
groups:
  - name: s
    prompts:
      plain: "What is {a} plus {b}?"
      cot: "Let's think step by step. What is {a} plus {b}?"
      qa: "Q: What is {a} plus {b}?\nA:"
      expert: "You are a careful mathematician. What is {a} plus {b}? Answer:"
    product: {a: [$(seq -s, 3 $((3 + NS / 16 - 1)) | sed 's/,$//')$( [ $NS -lt 16 ] && echo 3 )], b: [12, 345, 6789, 10]}
YAML
# raw disk write rate of this folder, same run
DD_MB=1024; [ "$PRESET" = default ] && DD_MB=64
dd_out=$(dd if=/dev/zero of=dd.tmp bs=1M count=$DD_MB conv=fdatasync 2>&1 | tail -1)
rm -f dd.tmp
disk=$(echo "$dd_out" | grep -o '[0-9.]* [GM]B/s')
echo "# raw disk write (dd $DD_MB MiB, fdatasync): $disk"
# the forward pass alone at T = 256 (and 16), same run, same threads as 1 rank x 2 threads
fwd=$(ATTNSWEEP_BENCH_SMOKE=$([ "$PRESET" = default ] && echo 1 || echo 0) "$BUILD/bench/bench_forward" 16 256 2>&1)
echo "$fwd" | sed 's/^/# forward: /'
f256=$(echo "$fwd" | awk '$1 == 256 {print $3}')
printf "%-6s %-9s %7s %7s %8s %9s %10s %11s %12s %10s %s\n" sweep launch prompts tokens run_s weights_s compute_s tok/s_comp vs_fwd256 non_fwd% "peak_rss_MiB(per rank)"
for sweep in short long; do
  for n in 1 2; do
    rm -f out.h5
    bind=(); [ $n = 1 ] && bind=(--bind-to none)   # 1 rank may use every core
    "${MPIEXEC:-mpirun}" "${bind[@]}" -n $n "$BIN" run $sweep.yaml --progress 1000 > log.txt 2>&1 ||
      { tail -20 log.txt; exit 1; }
    prompts=$(grep -o '^attnsweep run: [0-9]*/[0-9]* prompts done' log.txt | grep -o '[0-9]*/' | tr -d /)
    tokens=$(awk '/^ +total/ {print $4; exit}' log.txt)
    run_s=$(grep -o 'computed now, in [0-9.]* s' log.txt | grep -o '[0-9.]*')
    tline=$(grep "^attnsweep run: time:" log.txt)
    w_s=$(echo "$tline" | sed -n 's/.*weights \([0-9.]*\) s.*/\1/p')
    c_s=$(echo "$tline" | sed -n 's/.*compute \([0-9.]*\) s.*/\1/p')
    wline=$(grep "attention writes" log.txt)
    wsec=$(echo "$wline" | grep -o 'spent [0-9.]* s writing' | grep -o '[0-9.]*')
    msec=$(echo "$wline" | grep -o 'and [0-9.]* s on metrics' | grep -o '[0-9.]*')
    peaks=$(awk '/^ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$/ {printf "%s ", $2}' log.txt)
    launch="${n}x$([ $n = 1 ] && echo 2 || echo 1)thr"
    awk -v sw=$sweep -v l="$launch" -v p="$prompts" -v t="$tokens" -v s="$run_s" -v w="$w_s" -v c="$c_s" \
        -v f="$f256" -v ws="$wsec" -v ms="$msec" -v pk="$peaks" \
      'BEGIN{printf "%-6s %-9s %7d %7d %8.1f %9.2f %10.2f %11.1f %12.2f %10.1f %s\n", sw, l, p, t, s, w, c, t/c, (f > 0 ? t/c/f : 0), 100*(ws+ms)/c, pk}'
    grep -E "total Pss|attention writes|batches: up to|^attnsweep run: time" log.txt | sed 's/^/#   /'
  done
done
echo "# tok/s_comp: tokens / compute seconds (weights excluded); vs_fwd256: that over the forward pass's"
echo "# own tokens/s at T = 256 in this run; non_fwd%: HDF5 writes, commits and metrics (slowest rank)"
echo "# over compute. Output file: $(stat -c %s out.h5) bytes; work dir $WORK"
