#!/usr/bin/env bash
# test_behaviour.sh CASE - /behaviour beyond the default top-10 (docs/FORMAT.md "Behaviour"):
# output.topk, output.logits, the teacher-forced answer log-probability and extract's strings.
# Expected values come from ../shared/data (HF transformers: last-position logits, and the last
# hidden states times HF's lm_head for every position) or from hand-counted object numbers.
#   env: ATTNSWEEP, MPIEXEC, ATTNSWEEP_DATA_DIR, PY, SRC (repository root)
set -uo pipefail
CASE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../common/e2e.sh" behaviour
CHECK="$HERE/check_behaviour.py"

case "$CASE" in
logits_hf)  # output.logits equals HF's last-position logits within 1e-4; topk 3 and topk = vocab
  need_data reference/hf-tiny-gqa
  mkdir -p results
  "$PY" "$CHECK" make-cases "$HF/outputs/fp32" cases.jsonl || fail "inputs"
  printf 'output: {path: results/l.h5, store: none, topk: 3, logits: true}\ngroups:\n  - {name: c, file: cases.jsonl}\n' > l.yaml
  "$BIN" run l.yaml --model "$HF/model-fp32" --dry-run > dry || fail "dry run"
  grep -q "warning: output.logits: true stores /behaviour/logits, 7 prompts x 32000 vocab x 4 bytes = 896000 bytes" dry \
    || { cat dry; fail "no logits size warning in --dry-run"; }
  for n in 1 3; do
    mpirun_n $n "$BIN" run l.yaml --model "$HF/model-fp32" --output results/l$n.h5 --quiet || fail "run on $n ranks"
  done
  "$PY" "$HERE/compare_h5.py" results/l1.h5 results/l3.h5 --status || fail "1 vs 3 ranks"
  "$PY" "$SRC/tests/io/check_h5out.py" results/l3.h5 > /dev/null || fail "structure"
  "$PY" "$CHECK" logits results/l3.h5 "$HF/outputs/fp32" 3 || fail "logits / top-3 vs HF"
  printf 'output: {path: results/v.h5, store: none, topk: 32000}\ngroups:\n  - {name: c, file: cases.jsonl}\n' > v.yaml
  mpirun_n 2 "$BIN" run v.yaml --model "$HF/model-fp32" --quiet || fail "run topk = vocab"
  "$PY" "$CHECK" logits results/v.h5 "$HF/outputs/fp32" 32000 || fail "top-32000 vs HF" ;;
answer_hf)  # answer_logprob (KV decode, teacher forcing) equals HF's per-position log-softmax sums
  need_data reference/hf-tiny-gqa
  mkdir -p results
  "$PY" "$CHECK" make-answers "$HF/outputs/fp32" answers.jsonl || fail "inputs"
  printf 'output: {path: results/a.h5, store: full}\ngroups:\n  - {name: a, file: answers.jsonl}\nanalysis: {answer: gold}\n' > a.yaml
  for n in 1 2 3; do
    mpirun_n $n "$BIN" run a.yaml --model "$HF/model-fp32" --output results/a$n.h5 --quiet || fail "run on $n ranks"
  done
  "$PY" "$HERE/compare_h5.py" results/a1.h5 results/a2.h5 results/a3.h5 --status || fail "1 / 2 / 3 ranks differ"
  "$PY" "$SRC/tests/io/check_h5out.py" results/a3.h5 > /dev/null || fail "structure"
  "$PY" "$CHECK" answers results/a3.h5 "$HF/outputs/fp32" "$HF/model-fp32/model.safetensors" || fail "answers vs HF"
  # the teacher forcing leaves the stored attention as it is: bit-identical to a run without answers
  sed '/^analysis:/d' a.yaml > n.yaml
  mpirun_n 2 "$BIN" run n.yaml --model "$HF/model-fp32" --output results/n.h5 --quiet || fail "run without answers"
  "$PY" "$HERE/compare_h5.py" results/n.h5 results/a3.h5 --tensors-only || fail "answers changed the stored attention" ;;
answer_default)  # no data needed: answer_logprob (KV decode) equals sums of prefill logits (output.logits)
  # sweep t.yaml: prompts with answers; sweep p.yaml: every character prefix of prompt + answer with
  # output.logits, whose last-position logits come from the prefill path (independent of the decode
  # steps); the prefixes whose tokens are prompt + answer_ids[:t] give log P(answer_ids[t] | ...)
  default_model
  "$PY" - <<'PY' || fail "inputs"
import json
P = [("q1", "What is two plus three? Answer:", " five"), ("q2", "Once upon a time there was a", " little girl named tom"),
     ("q3", "The cat sat on the", " mat because the dog was big"), ("q4", "Tom liked", "")]
open("t.jsonl", "w").write("".join(json.dumps({"id": i, "text": t, "gold": g}) + "\n" for i, t, g in P))
rows = [{"id": f"{i}_{c}", "text": t + g[:c]} for i, t, g in P if g for c in range(len(g))]
open("p.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in rows))
open("t.yaml", "w").write("output: {path: t.h5, store: last_row}\ngroups:\n  - {name: a, file: t.jsonl}\nanalysis: {answer: gold}\n")
open("p.yaml", "w").write("output: {path: p.h5, store: none, logits: true}\ngroups:\n  - {name: b, file: p.jsonl}\n")
PY
  mpirun_n 2 "$BIN" run t.yaml --quiet || fail "run the answers"
  mpirun_n 2 "$BIN" run p.yaml --quiet || fail "run the prefixes"
  "$PY" "$SRC/tests/io/check_h5out.py" t.h5 p.h5 > /dev/null || fail "structure"
  "$PY" "$CHECK" prefix-sums t.h5 p.h5 || fail "answer_logprob vs the prefill's logits" ;;
extract_hf)  # attnsweep extract stores HF's decoded strings of the top-k and next token
  need_data reference/hf-tiny-gqa
  mkdir -p results
  "$BIN" extract --model "$HF/model-fp32" --text $'Question: What is 15 plus 27?\nAnswer:' --id qa \
    --out results/e.h5 --quiet || fail "extract"
  "$PY" "$CHECK" strings results/e.h5 "$HF/outputs/fp32/seed4_qa" "$HF/model-fp32/tokenizer.json" || fail "strings vs HF" ;;
errors)  # bad output.topk / output.logits: clear errors with file:line:col, nothing created
  default_model
  printf 'output: {path: x.h5, topk: 0}\ngroups:\n  - {name: g, prompts: {a: "Hi there"}}\n' > t0.yaml
  printf 'output: {path: x.h5,\n  topk: 99999}\ngroups:\n  - {name: g, prompts: {a: "Hi there"}}\n' > t1.yaml
  printf 'output: {path: x.h5, topk: many}\ngroups:\n  - {name: g, prompts: {a: "Hi there"}}\n' > t2.yaml
  printf 'output: {path: x.h5, logits: maybe}\ngroups:\n  - {name: g, prompts: {a: "Hi there"}}\n' > t3.yaml
  printf 'output: {path: x.h5, topk: 2000000}\ngroups:\n  - {name: g, prompts: {a: "Hi there"}}\n' > t4.yaml
  V=$("$PY" -c 'import json; print(json.load(open("models/default/config.json"))["vocab_size"])') || fail "vocab"
  expect() {  # expect YAML PATTERN
    rc=0; "$BIN" run "$1" --dry-run > out 2> err || rc=$?
    [ $rc = 1 ] && grep -q -- "$2" err || { cat out err; fail "$1: rc $rc, expected an error matching: $2"; }
    echo "$1: $(head -1 err)"
  }
  expect t0.yaml "t0.yaml:1:28: .*output.topk"
  expect t1.yaml "t1.yaml:2:9: output.topk is 99999, but the model's vocabulary has $V tokens; expected 1 <= topk <= $V"
  expect t2.yaml "t2.yaml:1:28: .*output.topk"
  expect t3.yaml "t3.yaml:1:30: output.logits is 'maybe'; expected true or false"
  expect t4.yaml "t4.yaml:1:28: .*output.topk"
  [ ! -e x.h5 ] || fail "an output was created" ;;
objects)  # output.logits adds 2 objects and answers 9, whatever the prompt count (FORMAT.md)
  default_model
  for n in 20 300; do
    "$PY" "$SRC/tests/common/make_sweep.py" $n s$n --store last_row --out o$n.h5 || fail "make_sweep"
    "$PY" - s$n/prompts.jsonl <<'PY' || fail "answers"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for i, r in enumerate(rows):
    if i % 3:
        r["gold"] = " two three"   # every third prompt has no answer
open(sys.argv[1], "w").write("".join(json.dumps(r) + "\n" for r in rows))
PY
    sed 's|^output: {|output: {logits: true, topk: 4, |' s$n/sweep.yaml > s$n/b.yaml
    printf '  answer: gold\n' >> s$n/b.yaml
    grep -q "logits: true" s$n/b.yaml || { cat s$n/b.yaml; fail "sweep edit"; }
    sed -i 's|o'$n'.h5|b'$n'.h5|' s$n/b.yaml
    mpirun_n 2 "$BIN" run s$n/sweep.yaml --quiet || fail "run $n"
    mpirun_n 2 "$BIN" run s$n/b.yaml --quiet || fail "run $n with logits and answers"
    eval "base_$n=$("$PY" "$SRC/tests/io/count_objects.py" o$n.h5)" || fail "count"
    eval "beh_$n=$("$PY" "$SRC/tests/io/count_objects.py" b$n.h5)" || fail "count"
  done
  echo "objects: default $base_20 / $base_300, logits + answers $beh_20 / $beh_300"
  [ "$base_20" = "$base_300" ] && [ "$beh_20" = "$beh_300" ] || fail "the object count grows with the prompts"
  # + logits, vocab; + answer_first_id, answer_prob, answer_rank, answer_correct, answer_token,
  # answer_ids, answer_start, answer_n_tokens, answer_logprob (both files have the column gold)
  [ "$beh_20" = $((base_20 + 2 + 9)) ] || fail "logits + answers add $((beh_20 - base_20)) objects, expected 11"
  "$PY" "$SRC/tests/io/check_h5out.py" b300.h5 > /dev/null || fail "structure" ;;
*) fail "unknown case $CASE" ;;
esac
echo "PASS: $CASE"
