#!/usr/bin/env bash
# test_readme.sh - runs every command shown in README.md's ```bash blocks, so the
# documentation cannot rot. Commands run from the repository root with ./build
# replaced by the build tree under test. A few commands are not run here, each for
# a stated reason (SKIPPED lines below); any other failing command fails the test.
#   env: SRC (repository root), BUILD (build tree), MPIEXEC
set -uo pipefail
SRC=${SRC:?}
BUILD=${BUILD:?}
cd "$SRC"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
export OPENBLAS_NUM_THREADS=1 BUILD_DIR="$BUILD" HDF5_USE_FILE_LOCKING=FALSE
# benchmarks run the same code on the small default model (figures: docs/PERFORMANCE.md)
export ATTNSWEEP_BENCH_SMOKE=1
# the commands, one per line, in README order (continuation lines joined)
mapfile -t cmds < <(awk '/^```bash$/ {inb=1; next} /^```$/ {inb=0; next}
  inb { sub(/[ \t]+#.*$/, ""); if ($0 ~ /^[ \t]*$/) next;
        if (cont) { line = line " " $0 } else { line = $0 }
        if ($0 ~ /\\$/) { sub(/\\$/, "", line); cont = 1; next }
        cont = 0; print line }' README.md)
[ ${#cmds[@]} -gt 5 ] || { echo "FAIL: found only ${#cmds[@]} commands in README.md"; exit 1; }
skip_reason() {
  case "$1" in
    *"scripts/test.sh"*) echo "this is the test command itself (CI runs it)";;
    ctest*) echo "runs the whole suite, which this test is part of";;
    *"get-model.sh"*) echo "downloads from huggingface.co (no network here)";;
    *"models/TinyLlama"*) [ -d models/TinyLlama-1.1B-Chat-v1.0 ] || echo "needs the TinyLlama download";;
    *"sbatch"*|*"squeue"*|*"slurm/submit.sh"*) echo "Slurm commands are run by the slurm tests (tests/slurm)";;
  esac
}
ran=0; skipped=0; failed=0
for c in "${cmds[@]}"; do
  r=$(skip_reason "$c")
  if [ -n "$r" ]; then echo "SKIPPED: $c   ($r)"; skipped=$((skipped + 1)); continue; fi
  run=${c//.\/build\//$BUILD/}
  run=${run//-B build/-B $BUILD}
  run=${run//--build build/--build $BUILD}
  run=${run//mpirun /${MPIEXEC:-mpirun} --oversubscribe }
  echo "RUN: $run"
  if bash -c "$run" > /tmp/readme_cmd.$$ 2>&1; then
    ran=$((ran + 1))
  else
    echo "FAIL: '$c' exited $?:"; tail -20 /tmp/readme_cmd.$$; failed=$((failed + 1))
  fi
done
# the Python snippets, each run as a whole with the system python
nblock=0
while IFS= read -r -d $'\x1e' block; do
  nblock=$((nblock + 1))
  printf '%s\n' "$block" > /tmp/readme_py.$$.py
  echo "RUN: python block $nblock"
  if /usr/bin/python3 /tmp/readme_py.$$.py > /tmp/readme_cmd.$$ 2>&1; then
    ran=$((ran + 1))
  else
    echo "FAIL: python block $nblock:"; tail -20 /tmp/readme_cmd.$$; failed=$((failed + 1))
  fi
done < <(awk '/^```python$/ {inb=1; next} /^```$/ && inb {inb=0; printf "\x1e"; next} inb {print}' README.md)
rm -f /tmp/readme_cmd.$$ /tmp/readme_py.$$.py
echo "test_readme: $ran commands ran ($nblock python blocks), $failed failed, $skipped skipped"
[ $failed = 0 ] && [ $ran -gt 0 ]
