#!/usr/bin/env bash
# bench_scale.sh - the file layout at sweep scale: 1,000, 10,000 and 100,000 prompts of 4-30
# words from a JSONL file, on the built-in default model, 2 ranks, store: last_row, float16,
# as prompt pairs (plain / "Let's think step by step." + the same text) with the metadata item
# and cot and the sweep statistics by [group, cot] with the contrast cot - plain on item
# (make_sweep.py --analysis), so reduce and the summary include the bootstrap statistics.
# For each size it prints: the time to create the file, the whole run, the --dry-run estimate
# against the real size, the metadata share, `attnsweep reduce`, `--resume` of the finished
# file, and reading one metric for every prompt (head_entropy [N, L, H]) with h5py. Then the
# growth ratios from 10,000 to 100,000 prompts (linear cost = 10x).
#   usage: bench/bench_scale.sh [BUILD_DIR] [WORK_DIR]     env: SIZES (default "1000 10000 100000")
#   ATTNSWEEP_BENCH_SMOKE=1 runs 200 and 1000 prompts (checks the script works).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
WORK=${2:-$(mktemp -d "${TMPDIR:-/tmp}/attnsweep-scale-XXXXXX")}
BIN=$BUILD/attnsweep
PY=/usr/bin/python3
SIZES=${SIZES:-1000 10000 100000}
[ "${ATTNSWEEP_BENCH_SMOKE:-0}" != 0 ] && SIZES="200 1000"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
mkdir -p "$WORK"
cd "$WORK"
[ -d model ] || "$BIN" make-model --out model > /dev/null
now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
printf "# bench_scale: 2 ranks, default model, store last_row float16; %s\n" "$(nproc) cores"
printf "%9s %9s %9s %10s %10s %7s %7s %9s %9s %9s\n" prompts create_s run_s file_MB estimate meta% \
  objects reduce_s resume_s read_s
declare -A RED
for n in $SIZES; do
  d=s$n
  rm -rf "$d"
  "$PY" "$SRC/tests/common/make_sweep.py" "$n" "$d" --model model --out "$d/out.h5" --analysis > /dev/null
  est=$("$BIN" run "$d/sweep.yaml" --dry-run | sed -n 's/^output file: .* estimated at \([0-9]*\) bytes.*/\1/p')
  t0=$(now)
  mpirun -n 2 "$BIN" run "$d/sweep.yaml" --progress 1000 > "$d/log"
  t1=$(now)
  create=$(sed -n 's/^attnsweep run: created .* in \([0-9.]*\) s:.*/\1/p' "$d/log")
  size=$(stat -c %s "$d/out.h5")
  read -r meta objs readt < <("$PY" - "$d/out.h5" <<'PY'
import sys, time, h5py
f = h5py.File(sys.argv[1], "r")
raw, n = 0, 0
def visit(name, o):
    global raw, n
    n += 1
    if isinstance(o, h5py.Dataset):
        raw += o.id.get_storage_size()
f.visititems(visit)
f.close()
t = time.perf_counter()
with h5py.File(sys.argv[1], "r") as g:
    he = g["metrics/head_entropy"][()]
read = time.perf_counter() - t
import os
print(f"{100.0 * (os.path.getsize(sys.argv[1]) - raw) / os.path.getsize(sys.argv[1]):.2f}", n, f"{read:.3f}")
PY
)
  t2=$(now)
  mpirun -n 2 "$BIN" reduce "$d/out.h5" -q
  t3=$(now)
  mpirun -n 2 "$BIN" run "$d/sweep.yaml" --resume --quiet
  t4=$(now)
  RED[$n]=$(dt "$t2" "$t3")
  printf "%9d %9s %9s %10.1f %9.3fx %7s %7s %9s %9s %9s\n" "$n" "$create" "$(dt "$t0" "$t1")" \
    "$(awk -v s="$size" 'BEGIN{print s/1e6}')" "$(awk -v e="$est" -v s="$size" 'BEGIN{print e/s}')" \
    "$meta" "$objs" "${RED[$n]}" "$(dt "$t3" "$t4")" "$readt"
done
set -- $SIZES
if [ $# -ge 2 ]; then
  a=${@:$#-1:1}; b=${@:$#:1}
  echo "# reduce time ratio $b / $a prompts: $(awk -v x="${RED[$a]}" -v y="${RED[$b]}" 'BEGIN{printf "%.2f", y/x}') (prompts ratio $((b / a)))"
fi
echo "# work folder: $WORK"
