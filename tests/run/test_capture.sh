#!/usr/bin/env bash
# test_capture.sh CASE - output.weights (value norms) and output.scores end to end (issue 13).
# Expected values: numpy from the HF fixture's hidden states and weights (check_capture.py hf),
# hand-written expectations (errors, shapes), or runs that must be identical (1/2/3 ranks,
# default path vs capture path).
#   env: ATTNSWEEP, MPIEXEC, ATTNSWEEP_DATA_DIR, PY, SRC (repository root)
set -uo pipefail
CASE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../common/e2e.sh" capture
CHK="$HERE/check_capture.py"

# capture_yaml IN OUT STORE [DTYPE]: IN's output block with store STORE, weights both, scores true
capture_yaml() {
  "$PY" - "$1" "$2" "$3" "${4:-float32}" <<'PY' || fail "capture_yaml"
import re, sys
src, dst, store, dtype = sys.argv[1:]
t = open(src).read()
t = re.sub(r"(?m)^  store: .*$", f"  store: {store}\n  weights: both\n  scores: true", t, count=1)
t = re.sub(r"(?m)^  dtype: .*$", f"  dtype: {dtype}", t, count=1)
assert "weights: both" in t
open(dst, "w").write(t)
PY
}

case "$CASE" in
hf)  # value norms and scores vs numpy from HF's hidden states; softmax(scores) = attention
  need_data reference/hf-tiny-gqa
  mkdir -p results
  for store in full last_row; do
    capture_yaml "$SRC/jobs/exp8.yaml" e_$store.yaml $store
    mpirun_n 2 "$BIN" run e_$store.yaml --model "$HF/model-fp32" --output results/$store.h5 --quiet || fail "run $store"
    "$PY" "$CHK" hf results/$store.h5 "$HF" || fail "$store: values"
    "$PY" "$SRC/tests/io/check_h5out.py" results/$store.h5 > /dev/null || fail "$store: structure"
  done
  # the capture path computes the same probabilities as the default path, bit for bit
  mpirun_n 2 "$BIN" run "$SRC/jobs/exp8.yaml" --model "$HF/model-fp32" --output results/base.h5 --quiet || fail "run base"
  "$PY" "$CHK" probs results/full.h5 results/base.h5 || fail "probabilities differ"
  "$PY" - results/base.h5 results/full.h5 <<'PY' || fail "metrics / behaviour differ"
import sys, h5py
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
n = 0
for g in ("metrics", "behaviour", "summary"):
    for k, d in a[g].items():  # every column of the default file, bit for bit in the capture file
        assert d[()].tobytes() == b[g][k][()].tobytes(), f"/{g}/{k}"
        n += 1
extra = sorted(set(b["metrics"]) - set(a["metrics"]))
assert extra == ["sink_last_norm", "span_mass_norm"], extra
print(f"{n} /metrics, /behaviour, /summary columns identical; capture file adds {extra}")
PY
  # load.py: value_norms, scores, weighted_attention against h5py and hand formulas
  "$PY" "$SRC/tests/analysis/test_load_capture.py" results/full.h5 results/last_row.h5 results/base.h5 || fail "load.py" ;;
ranks)  # bit-identical on 1, 2 and 3 ranks with value norms and scores (full/f32, last_row/f16, subsets)
  default_model; mkdir -p results
  capture_yaml "$SRC/jobs/smoke.yaml" full.yaml full float32
  capture_yaml "$SRC/jobs/smoke.yaml" lr.yaml last_row float16
  sed 's/^  weights: both/  weights: both\n  layers: [1]\n  heads: [0, 2]/' full.yaml > sub.yaml
  grep -q "heads: \[0, 2\]" sub.yaml || fail "subset yaml"
  for y in full lr sub; do
    for n in 1 2 3; do
      mpirun_n $n "$BIN" run $y.yaml --output results/${y}_$n.h5 --quiet || fail "$y on $n ranks"
    done
    "$PY" "$HERE/compare_h5.py" results/${y}_1.h5 results/${y}_2.h5 results/${y}_3.h5 --status || fail "$y: files differ"
    "$PY" "$CHK" same results/${y}_1.h5 results/${y}_2.h5 results/${y}_3.h5 || fail "$y: captures differ"
  done
  # subsets: the stored heads and layer are the model's (the full file has all of them)
  "$PY" - results/full_1.h5 results/sub_1.h5 <<'PY' || fail "subset values"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert b["attention/value_norm"].shape[1:] == (1, 2), b["attention/value_norm"].shape
assert np.array_equal(b["attention/value_norm"][()], a["attention/value_norm"][:, [1]][:, :, [0, 2]])
L, H = a.attrs["n_layers"], a.attrs["n_heads"]
for i in range(len(a["sweep/prompt"])):
    T = int(a["sweep/n_tokens"][i]); s0, s1 = int(a["sweep/attention_start"][i]), int(b["sweep/attention_start"][i])
    x = a["attention/scores_full"][s0:s0 + L * H * T * T].reshape(L, H, T, T)[1][[0, 2]]
    y = b["attention/scores_full"][s1:s1 + 2 * T * T].reshape(2, T, T)
    assert np.array_equal(x, y), i
print("subset ok")
PY
  ;;
objects)  # captures add a fixed number of objects: the count does not grow with the prompts
  default_model
  for store in last_row full; do
    for n in 50 400; do
      "$PY" "$SRC/tests/common/make_sweep.py" $n s_${store}_$n --store $store --out o_${store}_$n.h5 || fail "make_sweep"
      sed -i 's/dtype: float16}/dtype: float16, weights: both, scores: true}/' s_${store}_$n/sweep.yaml
      grep -q "scores: true" s_${store}_$n/sweep.yaml || fail "sweep edit"
      mpirun_n 2 "$BIN" run s_${store}_$n/sweep.yaml --quiet || fail "run $store $n"
      eval "obj_${store}_$n=$("$PY" "$SRC/tests/io/count_objects.py" o_${store}_$n.h5)" || fail "count"
    done
  done
  "$PY" "$SRC/tests/common/make_sweep.py" 50 s_base --store last_row --out o_base.h5 || fail "make_sweep"
  mpirun_n 2 "$BIN" run s_base/sweep.yaml --quiet || fail "run base"
  base=$("$PY" "$SRC/tests/io/count_objects.py" o_base.h5)
  echo "objects: last_row $obj_last_row_50 / $obj_last_row_400 (default $base), full $obj_full_50 / $obj_full_400"
  [ "$obj_last_row_50" = "$obj_last_row_400" ] || fail "last_row: object count grows with the prompts"
  [ "$obj_full_50" = "$obj_full_400" ] || fail "full: object count grows with the prompts"
  # last_row: + value_norm + scores_last_row + /metrics sink_last_norm, span_mass_norm
  # + /summary sink_last_norm(_count), span_mass_norm(_count)
  # (docs/FORMAT.md "Value norms and scores")
  [ $((obj_last_row_50 - base)) = 8 ] || fail "last_row: $((obj_last_row_50 - base)) objects added, expected 8"
  "$PY" "$SRC/tests/io/check_h5out.py" o_last_row_400.h5 o_full_50.h5 > /dev/null || fail "structure" ;;
norms_only)  # weights: norms stores value norms instead of the probabilities; metrics unchanged
  default_model; mkdir -p results
  sed 's/^  store: full/  weights: norms/' "$SRC/jobs/smoke.yaml" > n.yaml
  grep -q "weights: norms" n.yaml || fail "yaml"
  mpirun_n 2 "$BIN" run n.yaml --output results/n.h5 --quiet || fail "run norms"
  mpirun_n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/b.h5 --quiet || fail "run base"
  capture_yaml "$SRC/jobs/smoke.yaml" both.yaml full
  mpirun_n 2 "$BIN" run both.yaml --output results/both.h5 --quiet || fail "run both"
  "$PY" "$CHK" norms_only results/n.h5 || fail "norms only"
  sed 's/^  store: full/  store: none/' "$SRC/jobs/smoke.yaml" > none.yaml
  mpirun_n 2 "$BIN" run none.yaml --output results/none.h5 --quiet || fail "run store none"
  on=$("$PY" "$SRC/tests/io/count_objects.py" results/n.h5); o0=$("$PY" "$SRC/tests/io/count_objects.py" results/none.h5)
  echo "objects: weights norms $on, store none $o0"
  # /attention with layer, head, token, value_norm (5) + /metrics sink_last_norm, span_mass_norm (2)
  # + /summary sink_last_norm, span_mass_norm and their counts (4)
  [ $((on - o0)) = 11 ] || fail "weights: norms adds $((on - o0)) objects to store: none, expected 11"
  "$PY" "$SRC/tests/io/check_h5out.py" results/n.h5 > /dev/null || fail "structure (weights: norms)"
  "$PY" "$CHK" same_norms results/n.h5 results/both.h5 || fail "value norms of norms and both differ"
  "$PY" - results/n.h5 results/b.h5 <<'PY' || fail "metrics"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for k in ("head_entropy", "sink_last", "layer_entropy"):
    assert np.array_equal(a["metrics/" + k][()], b["metrics/" + k][()]), k
print("metrics identical to the probs run")
PY
  ;;
norm_metrics)  # sink_last_norm / span_mass_norm vs numpy from the file; reduce reproduces run
  default_model; mkdir -p results
  capture_yaml "$SRC/jobs/smoke.yaml" full.yaml full float32
  capture_yaml "$SRC/jobs/smoke.yaml" lr.yaml last_row float32
  sed 's/^  store: full/  weights: norms/' "$SRC/jobs/smoke.yaml" > n.yaml
  for y in full lr n; do
    mpirun_n 2 "$BIN" run $y.yaml --output results/$y.h5 --quiet || fail "run $y"
  done
  "$PY" "$CHK" metrics results/full.h5 || fail "full: norm-weighted metrics"
  "$PY" "$CHK" metrics results/lr.h5 || fail "last_row: norm-weighted metrics"
  "$PY" "$CHK" metrics results/n.h5 results/full.h5 || fail "weights: norms: norm-weighted metrics"
  # load.py on the default model too (capture_hf needs the reference data)
  mpirun_n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/base.h5 --quiet || fail "run base"
  "$PY" "$SRC/tests/analysis/test_load_capture.py" results/full.h5 results/lr.h5 results/base.h5 || fail "load.py"
  # report.py shows /summary/span_mass_norm, and every number of that table equals the file
  MPLBACKEND=Agg MPLCONFIGDIR=$TMP/mpl "$PY" "$SRC/analysis/report.py" results/lr.h5 --out rep > /dev/null || fail "report.py"
  grep -q "weighted by value norms" rep/report.md || fail "no norm-weighted section in the report"
  MPLBACKEND=Agg "$PY" "$SRC/tests/analysis/check_report.py" results/lr.h5 rep --tables span_mass_norm || fail "report check"
  for y in full lr; do  # attnsweep reduce recomputes them from the stored arrays, bit for bit
    cp results/$y.h5 results/${y}_r.h5
    "$PY" - results/${y}_r.h5 <<'PY' || fail "blank"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    for k in ("sink_last_norm", "span_mass_norm"):
        f["metrics/" + k][...] = np.nan
PY
    mpirun_n 2 "$BIN" reduce results/${y}_r.h5 > /dev/null || fail "reduce $y"
    "$PY" - results/$y.h5 results/${y}_r.h5 <<'PY' || fail "$y: reduce != run"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for k in ("sink_last_norm", "span_mass_norm"):
    x, y = a["metrics/" + k][()], b["metrics/" + k][()]
    assert x.tobytes() == y.tobytes(), k
print("reduce reproduces the norm-weighted metrics bit for bit")
PY
  done ;;
resume)  # a prompt that failed is recomputed by --resume with its captures; equals a clean run
  default_model; mkdir -p results
  capture_yaml "$SRC/jobs/smoke.yaml" full.yaml full float32
  capture_yaml "$SRC/jobs/smoke.yaml" lr.yaml last_row float16
  for y in full lr; do
    mpirun_n 2 "$BIN" run $y.yaml --output results/${y}_clean.h5 --quiet || fail "clean $y"
    rc=0; ATTNSWEEP_FAULT_PROMPT=arithmetic/cot mpirun_n 2 "$BIN" run $y.yaml --output results/$y.h5 --quiet 2> err || rc=$?
    "$PY" -c "import h5py,sys; s=h5py.File(sys.argv[1],'r')['sweep/status'][()]; assert (s==2).sum()==1, s" results/$y.h5 || fail "$y: no failed prompt"
    mpirun_n 2 "$BIN" run $y.yaml --output results/$y.h5 --resume --quiet || fail "resume $y"
    "$PY" "$HERE/compare_h5.py" results/${y}_clean.h5 results/$y.h5 || fail "$y: resumed != clean"
    "$PY" "$CHK" same results/${y}_clean.h5 results/$y.h5 || fail "$y: captures of the resumed run differ"
  done
  # and --dry-run's size estimate covers the captures (within 5%, as for any file)
  est=$("$BIN" run full.yaml --output results/est.h5 --dry-run | sed -n 's/^output file: .* estimated at \([0-9]*\) bytes.*/\1/p')
  real=$(stat -c %s results/full_clean.h5)
  echo "estimate $est, file $real"
  "$PY" -c "import sys; e, r = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if abs(e - r) <= 0.05 * r else 1)" "$est" "$real" \
    || fail "estimate $est is not within 5% of $real" ;;
validation)  # bad output.weights / output.scores: exit 1, file:line:col and what was expected
  default_model; mkdir -p results
  g='groups:\n  - name: g\n    prompts: {a: "x"}\n'
  printf "model: {path: models/default}\noutput:\n  weights: norm\n$g" | check_refused bad_weights "bad_weights.yaml:3:12" "output.weights is 'norm'" "probs, norms, both"
  printf "model: {path: models/default}\noutput:\n  store: full\n  weights: norms\n$g" | check_refused norms_store "norms_store.yaml:4:12" "store is full" "weights: both"
  printf "model: {path: models/default}\noutput:\n  scores: 3\n$g" | check_refused bad_scores "bad_scores.yaml:3:11" "output.scores" "true or false"
  printf "model: {path: models/default}\noutput:\n  store: none\n  scores: true\n$g" | check_refused scores_none "scores_none.yaml:4:11" "store: full or last_row"
  printf "model: {path: models/default}\noutput:\n  weights: norms\n  scores: true\n$g" | check_refused scores_norms "scores_norms.yaml:4:11" "weights: norms"
  printf "model: {path: models/default}\noutput:\n  weights: [both]\n$g" | check_refused weights_list "weights_list.yaml:3" "output.weights"
  # and the good ones pass the same validation
  printf "model: {path: models/default}\noutput:\n  store: last_row\n  weights: both\n  scores: false\n$g" > ok.yaml
  "$BIN" run ok.yaml --dry-run > out 2> err || { cat err; fail "a valid capture sweep refused"; } ;;
*) fail "unknown case $CASE" ;;
esac
echo PASS
