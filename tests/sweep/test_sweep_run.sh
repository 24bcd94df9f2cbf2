#!/usr/bin/env bash
# test_sweep_run.sh CASE - what the sweep's metadata, spans and on_too_long policy put into the
# output file, end to end through `attnsweep run` (MPI). The checks (check_sweep_out.py) compare
# with values written out by hand and, for span tokens, with the HF tokenizer's own tokens for
# the reference texts of ../shared/data/tokenizers/llama2/encode_vectors.json.
#   metadata   typed /sweep columns (h5py types, flags, missing values; an xarray/pandas groupby);
#              identical on 1, 2 and 3 ranks
#   objects    the HDF5 object count does not grow with the prompts (metadata columns included)
#   spans      /metrics span_tokens of spans over product keys and JSONL fields (multi-digit
#              numbers, non-ASCII text, byte-fallback tokens) against the reference tokenization
#   env: ATTNSWEEP, MPIEXEC, ATTNSWEEP_DATA_DIR, PY, SRC (repository root)
set -uo pipefail
CASE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../common/e2e.sh" sweep-run
CHECK="$HERE/check_sweep_out.py"

meta_inputs() {  # the metadata sweep of check_sweep_out.py's `metadata` check
  cat > items.jsonl <<'JSONL'
{"id": "q1", "text": "Tom has 15 apples and buys 27 more: 42 in all.", "item": 1, "gold": "42", "score": 0.5, "hard": true}
{"id": "q2", "text": "A cat sat on the mat.", "item": 2, "gold": "none", "score": null}
{"id": "q3", "text": "What is 150 plus 4?", "item": 3, "gold": "154", "hard": false, "spans": {"sum": "150 plus 4"}}
JSONL
  cat > meta.yaml <<'YAML'
model: {path: models/default}
output: {path: out.h5, store: last_row}
ranks: {assign: round_robin}
groups:
  - name: sums
    tags: {dataset: synthetic, cot: false, shots: 0}
    template: "Q: What is {a} plus {b}?\nA:"
    product: {a: [3, 15, 150], b: [27, 4]}
    id: "a{a}_b{b}"
    spans: {sum: "{a} plus {b}"}
  - name: cot
    tags: {dataset: synthetic, cot: true, shots: 2}
    vars: {question: "What is 15 plus 27?"}
    prompts: {plain: "{question}", steps: "Let's think step by step.\n\n{question}"}
    spans: {question: "{question}"}
  - name: data
    tags: {shots: 1}
    file: items.jsonl
    spans: {gold: "{gold}"}
analysis:
  by: [dataset, cot]
YAML
}

case "$CASE" in
metadata)
  default_model
  meta_inputs
  for n in 1 2 3; do
    mpirun_n $n "$BIN" run meta.yaml --output r$n.h5 --quiet || fail "run on $n ranks"
  done
  "$PY" "$CHECK" metadata r1.h5 r2.h5 r3.h5 || fail "metadata columns"
  "$PY" "$SRC/tests/run/compare_h5.py" r1.h5 r2.h5 r3.h5 --status || fail "files differ across rank counts"
  "$PY" "$SRC/tests/io/check_h5out.py" r2.h5 || fail "structure"
  ;;
objects)  # a product of N prompts with tags and a JSONL group: same objects for N = 40 and 4,000
  default_model
  meta_inputs
  for n in 40 4000; do
    vals=$("$PY" -c "import sys; print(', '.join(str(i) for i in range(int(sys.argv[1]) // 2)))" $n)
    sed -e "s/product: {a: \[3, 15, 150\], b: \[27, 4\]}/product: {a: [$vals], b: [27, 4]}/" \
        -e "s/store: last_row/store: none/" meta.yaml > o$n.yaml
    grep -q "a: \[0, 1" o$n.yaml || fail "could not derive the YAML"
    mpirun_n 2 "$BIN" run o$n.yaml --output o$n.h5 --quiet || fail "run n=$n"
    eval "obj_$n=$("$PY" "$SRC/tests/io/count_objects.py" o$n.h5)" || fail "count"
  done
  echo "objects: $obj_40 for 40 prompts, $obj_4000 for 4000"
  [ "$obj_40" = "$obj_4000" ] || fail "the object count grows with the prompts"
  "$PY" "$CHECK" objects o40.h5 "$obj_40" || fail "object count"
  ;;
spans)
  need_data reference/hf-tiny-gqa
  need_data tokenizers/llama2/encode_vectors.json
  cat > spans.jsonl <<'JSONL'
{"id": "sum", "text": "What is 15 plus 27?", "x": 15, "y": 27}
{"id": "nonascii", "text": "  leading spaces\tand\nnewline 你好 é", "word": "你好", "spans": {"accent": "é", "tab": "\tand"}}
{"id": "llama", "text": "🦙 llama", "spans": {"animal": "🦙", "rest": "llama"}}
{"id": "fox", "text": "The quick brown fox jumps over the lazy dog.", "word": "fox", "x": 1, "y": 2}
JSONL
  cat > spans.yaml <<'YAML'
output: {path: spans.h5, store: none}
groups:
  - name: prod
    template: "What is {a} plus {b}?"
    product: {a: [15], b: [27]}
    spans: {sum: "{a} plus {b}", a: "{a}", b: "{b}"}
  - name: file
    file: spans.jsonl
    spans: {pair: "{x} plus {y}", word: "{word}"}
YAML
  mpirun_n 2 "$BIN" run spans.yaml --model "$HF/model-fp32" --quiet || fail "run"
  "$PY" "$CHECK" spans spans.h5 "$DATA/tokenizers/llama2/encode_vectors.json" || fail "span tokens"
  ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
echo "PASS: $CASE"
