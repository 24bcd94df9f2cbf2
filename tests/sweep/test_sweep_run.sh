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
#   chat       a chat_template group and a raw one: the templated /text, /sweep prompt_start /
#              prompt_length, HF's ids, span and keyword rows that stay in the user's prompt
#              (byte and token positions counted by hand); identical on 1, 2 and 3 ranks
#   too_long   model.on_too_long error / skip / truncate on the HF fixture with max_position 16,
#              against the reference token counts and ids; skip on 1 and 3 ranks; --resume
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
chat)
  need_data reference/hf-tiny-gqa
  need_data tokenizers/llama2/encode_vectors.json
  cat > chat.yaml <<'YAML'
output: {store: last_row}
chat_template: "<|user|>\n{prompt}</s>\n<|assistant|>\n"
groups:
  - name: chat
    prompts: {q: "What is 15 plus 27?"}
    spans: {sum: "15 plus 27"}
  - name: raw
    chat: false
    prompts: {q: "What is 15 plus 27?"}
analysis: {keywords: ["15", "user", "assistant"]}
YAML
  for n in 1 2 3; do
    mpirun_n $n "$BIN" run chat.yaml --model "$HF/model-fp32" --output c$n.h5 --quiet || fail "run on $n ranks"
  done
  "$PY" "$CHECK" chat c1.h5 c3.h5 "$DATA/tokenizers/llama2/encode_vectors.json" || fail "chat checks"
  "$PY" "$SRC/tests/run/compare_h5.py" c1.h5 c2.h5 c3.h5 --status || fail "files differ across rank counts"
  "$PY" "$SRC/tests/io/check_h5out.py" c2.h5 || fail "structure"
  # `attnsweep reduce` recomputes the metrics from the file (and /config): the same rows
  cp c1.h5 red.h5 && cp chat.yaml red.yaml
  mpirun_n 2 "$BIN" reduce red.h5 -q || fail "reduce"
  "$PY" "$CHECK" chat red.h5 "$DATA/tokenizers/llama2/encode_vectors.json" || fail "chat checks after reduce"
  ;;
too_long)
  need_data reference/hf-tiny-gqa
  need_data tokenizers/llama2/encode_vectors.json
  # the HF fixture with a 16-token context (weights and tokenizer linked, not copied)
  mkdir short
  for f in "$HF/model-fp32"/*; do ln -s "$f" short/; done
  rm short/config.json
  "$PY" -c "import json, sys; c = json.load(open(sys.argv[1])); c['max_position_embeddings'] = 16; json.dump(c, open('short/config.json', 'w'))" "$HF/model-fp32/config.json" || fail "config"
  "$PY" "$CHECK" too_long_inputs "$DATA/tokenizers/llama2/encode_vectors.json" > long.jsonl || fail "inputs"
  for mode in error skip truncate; do
    printf 'model: {path: short, on_too_long: %s}
output: {path: %s.h5, store: full}
groups:
  - name: ref
    file: long.jsonl
' \
      $mode $mode > $mode.yaml
  done
  # error (the default): refused before compute, every long prompt listed with its length
  rc=0; "$BIN" run error.yaml > err.log 2>&1 || rc=$?
  [ $rc = 1 ] || { cat err.log; fail "error: exit code $rc, expected 1"; }
  [ ! -e error.h5 ] || fail "error: a file was written"
  grep -q "3 prompts are outside 1..16 tokens" err.log || { cat err.log; fail "error: no count"; }
  for p in "ref/p2: 50 tokens" "ref/p4: 26 tokens" "ref/p6: 42 tokens"; do
    grep -q "$p" err.log || { cat err.log; fail "error: '$p' not listed"; }
  done
  grep -q "model.on_too_long: skip" err.log || fail "error: no hint"
  # skip: listed in the dry run's plan, status 3, exit 0, identical on 1 and 3 ranks
  "$BIN" run skip.yaml --dry-run > dry.log 2>&1 || { cat dry.log; fail "skip: dry run"; }
  grep -q "on_too_long: 3 prompts longer than the model's max_position (16 tokens) skipped" dry.log \
    || { cat dry.log; fail "skip: the plan does not list the skipped prompts"; }
  grep -q "ref/p6: 42 tokens" dry.log || fail "skip: p6 not listed"
  mpirun_n 3 "$BIN" run skip.yaml > skip.log 2>&1 || { cat skip.log; fail "skip: run (exit $?)"; }
  grep -q "4 to compute, 0 already done, 3 skipped (longer than 16 tokens)" skip.log || { cat skip.log; fail "skip: plan line"; }
  grep -q "4/7 prompts done, 0 failed, 4 computed now, 3 skipped" skip.log || { cat skip.log; fail "skip: summary line"; }
  "$BIN" run skip.yaml --output skip1.h5 --quiet || fail "skip: 1 rank"
  "$PY" "$SRC/tests/run/compare_h5.py" skip1.h5 skip.h5 --status || fail "skip: 1 and 3 ranks differ"
  # --resume after prompt 1 is reset to pending: its batch (p0, p1: the skipped p2 ends it) is
  # recomputed whole, the skipped prompts stay skipped
  "$PY" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); f['sweep/status'][1] = 0" skip.h5 || fail "reset"
  mpirun_n 2 "$BIN" run skip.yaml --resume > resume.log 2>&1 || { cat resume.log; fail "skip: resume"; }
  grep -q "7 prompts in 1 batches, 2 to compute, 2 already done, 3 skipped" resume.log || { cat resume.log; fail "skip: resume plan"; }
  grep -q "4/7 prompts done, 0 failed, 2 computed now, 3 skipped" resume.log || { cat resume.log; fail "skip: resume summary"; }
  "$PY" "$SRC/tests/run/compare_h5.py" skip1.h5 skip.h5 --status || fail "skip: resumed file differs"
  # truncate: the first 16 reference tokens, tokens_dropped, the whole text kept
  mpirun_n 2 "$BIN" run truncate.yaml > trunc.log 2>&1 || { cat trunc.log; fail "truncate: run"; }
  grep -q "on_too_long: 3 prompts longer than the model's max_position (16 tokens) truncated" trunc.log || { cat trunc.log; fail "truncate: not listed"; }
  "$PY" "$CHECK" too_long skip.h5 truncate.h5 "$DATA/tokenizers/llama2/encode_vectors.json" || fail "too_long checks"
  "$PY" "$SRC/tests/io/check_h5out.py" skip.h5 truncate.h5 || fail "structure"
  ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
echo "PASS: $CASE"
