#!/usr/bin/env bash
# test_run.sh CASE - end-to-end tests of `attnsweep run` (MPI) through the CLI.
# Expected values come from ../shared/data (HF transformers) or from comparing
# runs that must be identical (1/2/3 ranks, killed+resumed vs clean, extract vs run).
#   env: ATTNSWEEP, MPIEXEC, ATTNSWEEP_DATA_DIR, PY, SRC (repository root)
set -uo pipefail
CASE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../common/e2e.sh" run

case "$CASE" in
ranks_123)  # results do not depend on the number of ranks
  default_model; mkdir -p results
  for n in 1 2 3; do
    mpirun_n $n "$BIN" run "$SRC/jobs/smoke.yaml" --output results/r$n.h5 --quiet || fail "run on $n ranks"
  done
  "$PY" "$HERE/compare_h5.py" results/r1.h5 results/r2.h5 results/r3.h5 --status || fail "files differ"
  "$PY" - results/r2.h5 <<'PY' || fail "rank column"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
assert f.attrs["n_ranks"] == 2, f.attrs["n_ranks"]
r = f["sweep/rank"][()]
assert set(r.tolist()) == {0, 1}, r
assert (f["sweep/status"][()] == 1).all()
assert f["config"][()].decode().startswith("# smoke.yaml"), "config text"
print("rank column", r.tolist())
PY
  ;;
extract_vs_run)  # extract and run give the same tensors for the same prompt (within 1e-6: run packs it with others)
  default_model; mkdir -p results
  mpirun_n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/s.h5 --quiet || fail "run"
  "$BIN" extract --model models/default --text $'Let\'s think step by step.\n\nWhat is 15 plus 27?' \
    --id arithmetic/cot --out results/e.h5 --quiet || fail "extract"
  "$PY" "$HERE/compare_h5.py" results/s.h5 results/e.h5 --prompts arithmetic/cot --tensors-only --atol 1e-6 || fail "extract != run" ;;
hf_reference)  # the seed sweep on the HF fixture model matches HF transformers within 1e-4
  need_data reference/hf-tiny-gqa
  mkdir -p results
  mpirun_n 2 "$BIN" run "$SRC/jobs/exp8.yaml" --model "$HF/model-fp32" --output results/exp8.h5 --quiet || fail "run"
  "$PY" - results/exp8.h5 "$HF/outputs/fp32" "$SRC/tests/common" <<'PY' || fail "HF comparison"
import sys, h5py, numpy as np
sys.path.insert(0, sys.argv[3]); import h5v2
f = h5py.File(sys.argv[1], "r"); ref = sys.argv[2]
cases = {"instructions/plain": "seed1_plain", "instructions/cot": "seed2_cot",
         "instructions/expert": "seed3_persona", "instructions/structured": "seed4_qa",
         "fewshot/0-shot": "seed1_plain", "fewshot/1-shot": "seed5_fewshot"}
bad = 0
for pid, case in cases.items():
    ids = np.load(f"{ref}/{case}/ids.npy"); att = np.load(f"{ref}/{case}/attentions.npy")
    ok_ids = np.array_equal(h5v2.token_ids(f, pid), ids)
    a = h5v2.attention(f, pid)
    d = float(np.abs(a - att).max()) if a.shape == att.shape else 1.0
    print(f"{pid:26s} vs {case:14s} ids {'ok' if ok_ids else 'DIFFER'}  max|diff| {d:.2g}")
    bad += (not ok_ids) or not (d <= 1e-4)
assert (f["sweep/status"][()] == 1).all()
sys.exit(1 if bad else 0)
PY
  "$PY" - results/exp8.h5 "$HF/outputs/fp32" "$HF/model-fp32/tokenizer.json" <<'PY' || fail "next-token top-k vs HF logits"
import json, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); ref = sys.argv[2]
piece = {i: p for p, i in json.load(open(sys.argv[3]))["model"]["vocab"].items()}
cases = {"instructions/plain": "seed1_plain", "instructions/cot": "seed2_cot",
         "instructions/expert": "seed3_persona", "instructions/structured": "seed4_qa",
         "fewshot/0-shot": "seed1_plain", "fewshot/1-shot": "seed5_fewshot"}
b = f["behaviour"]; row = {p.decode(): i for i, p in enumerate(f["sweep/prompt"][()])}
k = b["topk_id"].shape[1]
assert k == 10 and b["topk"][()].tolist() == list(range(10)), b["topk"][()]
bad = 0
for pid, case in cases.items():
    z = np.load(f"{ref}/{case}/logits_last.npy").astype(np.float64)  # HF, independent
    p = np.exp(z - z.max()); p /= p.sum()
    want = np.argsort(-p, kind="stable")[:k]   # ties to the lowest id
    i = row[pid]
    ids, prob = b["topk_id"][i], b["topk_prob"][i]
    # ids must be HF's top-k in HF's order, except where HF's own logits are closer than the
    # tolerance (a swap there is within 1e-4)
    same = np.array_equal(ids, want) or float(np.abs(z[ids] - z[want]).max()) <= 1e-4
    d = float(np.abs(prob - p[want]).max())
    rel = float(np.abs(prob / p[want] - 1).max())  # the random model is near uniform: p ~ 3e-5
    ok = same and d <= 1e-4 and rel <= 1e-4 and b["next_id"][i] == int(np.argmax(z)) \
        and ids[0] == b["next_id"][i] and bool((np.diff(prob) <= 0).all())
    # strings: HF decode([id]) of a Llama piece is the piece with U+2581 as a space, one leading
    # space stripped (byte pieces <0xNN> are left to the tokenizer tests)
    for t, sid in zip(ids, b["topk_str"][i]):
        pc = piece[int(t)]
        if not (pc.startswith("<0x") and pc.endswith(">")):
            want_s = pc.replace("\u2581", " ")
            want_s = want_s[1:] if want_s.startswith(" ") else want_s
            if sid.decode() != want_s:
                print(f"  {pid}: topk_str of {t} is {sid!r}, HF decodes {want_s!r}")
                ok = False
    ok = ok and b["next_str"][i] == b["topk_str"][i][0]
    print(f"{pid:26s} top-{k} ids {'ok' if same else 'DIFFER'} max|dprob| {d:.2g} "
          f"max rel {rel:.2g} next {b['next_id'][i]} {b['next_str'][i].decode()!r}")
    bad += not ok
sys.exit(1 if bad else 0)
PY
  ;;
answer)  # analysis.answer (a JSONL field): answer prob / rank vs HF's logits, on 1 and 3 ranks alike
  need_data reference/hf-tiny-gqa
  mkdir -p results
  "$PY" - "$HF" <<'PY' || fail "inputs"
import json, sys, numpy as np
hf = sys.argv[1]; ref = hf + "/outputs/fp32"
vocab = json.load(open(hf + "/model-fp32/tokenizer.json"))["model"]["vocab"]
piece = {i: p for p, i in vocab.items()}
texts = {"seed4_qa": "Question: What is 15 plus 27?\nAnswer:", "seed5_fewshot": "Q: What is 3 plus 4?\nA: 7\n\nQ: What is 15 plus 27?\nA:",
         "seed1_plain": "What is 15 plus 27?", "T007": "Attention is all you need"}
greedy = int(np.argmax(np.load(f"{ref}/seed1_plain/logits_last.npy")))
rows = [{"id": "qa", "text": texts["seed4_qa"], "gold": " 42"},
        {"id": "fewshot", "text": texts["seed5_fewshot"], "gold": " 42"},
        # the answer is HF's greedy next token's own piece: answer_correct must be 1
        {"id": "plain", "text": texts["seed1_plain"], "gold": piece[greedy].replace("\u2581", " ")},
        {"id": "none", "text": texts["T007"]},                   # no answer: -1 / NaN
        {"id": "qa_full", "text": texts["seed4_qa"] + " 42"}]    # where the answer's tokens start
open("answers.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in rows))
open("answer.yaml", "w").write("output: {path: results/ans.h5, store: none}\n"
    "groups:\n  - {name: a, file: answers.jsonl}\nanalysis: {answer: gold}\n")
PY
  for n in 1 3; do
    mpirun_n $n "$BIN" run answer.yaml --model "$HF/model-fp32" --output results/ans$n.h5 --quiet || fail "run on $n ranks"
  done
  "$PY" "$HERE/compare_h5.py" results/ans1.h5 results/ans3.h5 --status || fail "1 vs 3 ranks"
  "$PY" "$SRC/tests/io/check_h5out.py" results/ans3.h5 > /dev/null || fail "structure"
  "$PY" - results/ans3.h5 "$HF/outputs/fp32" <<'PY' || fail "answer columns vs HF logits"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); ref = sys.argv[2]; b = f["behaviour"]
row = {p.decode(): i for i, p in enumerate(f["sweep/prompt"][()])}
assert (f["sweep/status"][()] == 1).all()
assert list(b["answer_correct"].attrs["flag_values"]) == [-1, 0, 1], b["answer_correct"].attrs["flag_values"]
# the answer's first token: the first token of text + answer reaching into the answer's bytes
q = row["a/qa_full"]; s, T = f["sweep/token_start"][q], f["sweep/n_tokens"][q]
L = len("Question: What is 15 plus 27?\nAnswer:".encode())
off, tid = f["tokens/offsets"][s:s + T], f["tokens/token_id"][s:s + T]
want_first = int(tid[np.nonzero(off[:, 1] > L)[0][0]])
bad = 0
for pid, case in (("a/qa", "seed4_qa"), ("a/fewshot", "seed5_fewshot"), ("a/plain", "seed1_plain")):
    i = row[pid]; a = int(b["answer_first_id"][i])
    z = np.load(f"{ref}/{case}/logits_last.npy").astype(np.float64)   # HF, independent
    p = np.exp(z - z.max()); p /= p.sum()
    order = np.argsort(-z, kind="stable")
    hf_rank = int(np.nonzero(order == a)[0][0]) + 1 if a >= 0 else -1
    pr, rk, ok = float(b["answer_prob"][i]), int(b["answer_rank"][i]), int(b["answer_correct"][i])
    # ranks may swap only between logits closer than 1e-4
    rank_ok = rk == hf_rank or abs(z[order[rk - 1]] - z[a]) <= 1e-4
    good = a >= 0 and rank_ok and abs(pr / p[a] - 1) <= 1e-4 and ok == int(b["next_id"][i] == a)
    k = list(b["topk_id"][i])   # consistency with the stored top-k: the same softmax, bit for bit
    if a in k:
        good &= rk == k.index(a) + 1 and pr == b["topk_prob"][i][k.index(a)]
    else:
        good &= rk > len(k) and pr <= b["topk_prob"][i][-1]
    if pid == "a/qa":
        good &= a == want_first
    if pid == "a/plain":
        good &= ok == 1 and rk == 1
    print(f"{pid:10s} first id {a} rank {rk} (HF {hf_rank}) prob {pr:.6g} (HF {p[a]:.6g}) correct {ok}")
    bad += not good
# the reduce stage splits every statistic by answer_correct too (prompts without an answer: no label)
sm = f["summary"]
by = [x.decode() for x in sm["by"][()]]
lab = {(c.decode(), v.decode()): int(n) for c, v, n in
       zip(sm["label_column"][()], sm["label_value"][()], sm["label_count"][()])}
print("summary by", by, "answer labels", {k: v for k, v in lab.items() if k[0] == "answer_correct"})
bad += not (by == ["group", "answer_correct"] and lab.get(("answer_correct", "true")) == 1
            and lab.get(("answer_correct", "false")) == 2 and len([k for k in lab if k[0] == "answer_correct"]) == 2)
i = row["a/none"]
bad += not (b["answer_first_id"][i] == -1 and np.isnan(b["answer_prob"][i]) and b["answer_rank"][i] == -1
            and b["answer_correct"][i] == -1)
sys.exit(1 if bad else 0)
PY
  ;;
answer_default)  # analysis.answer on the default model (no data needed): answer rank / prob agree with the top-k
  default_model; mkdir -p results
  "$PY" - <<'PY' || fail "inputs"
import json
rows = [{"id": f"q{a}_{b}", "text": f"What is {a} plus {b}? Answer:", "gold": f" {a + b}"} for a in range(1, 6) for b in range(3, 7)]
rows += [{"id": "none", "text": "No answer here."}]
open("answers.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in rows))
open("answer.yaml", "w").write("model: {path: models/default}\noutput: {path: results/ad.h5, store: last_row}\n"
    "groups:\n  - {name: a, file: answers.jsonl}\nanalysis: {answer: gold}\n")
PY
  mpirun_n 2 "$BIN" run answer.yaml --quiet || fail "run"
  # a second sweep whose answers are the model's own top-k strings (so that ranks 1..10 occur)
  "$PY" - results/ad.h5 <<'PY' || fail "inputs 2"
import json, sys, h5py
b = h5py.File(sys.argv[1], "r")["behaviour"]
rows = [json.loads(l) for l in open("answers.jsonl")]
for i, r in enumerate(rows[:-1]):
    r["gold"] = b["topk_str"][i][i % 10].decode()
open("answers.jsonl", "w").write("".join(json.dumps(r) + "\n" for r in rows))
PY
  mpirun_n 2 "$BIN" run answer.yaml --quiet --force || fail "run 2"
  "$PY" "$SRC/tests/io/check_h5out.py" results/ad.h5 > /dev/null || fail "structure"
  "$PY" - results/ad.h5 <<'PY' || fail "answer rank / prob vs top-k"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); b = f["behaviour"]
assert (f["sweep/status"][()] == 1).all()
a, r, p = b["answer_first_id"][()], b["answer_rank"][()], b["answer_prob"][()]
ids, probs, nx, ok = b["topk_id"][()], b["topk_prob"][()], b["next_id"][()], b["answer_correct"][()]
n_in = 0
for i in range(len(a)):
    if a[i] < 0:
        assert r[i] == -1 and np.isnan(p[i]) and ok[i] == -1, i
        continue
    k = list(ids[i])
    if a[i] in k:   # the same softmax and order as the top-k, bit for bit
        n_in += 1
        assert r[i] == k.index(a[i]) + 1 and p[i] == probs[i][k.index(a[i])], (i, r[i], p[i])
    else:
        assert r[i] > len(k) and p[i] <= probs[i][-1], (i, r[i], p[i])
    assert ok[i] == int(nx[i] == a[i]) and (ok[i] == 1) == (r[i] == 1), i
assert (a >= 0).sum() == 20 and n_in >= 5 and (ok == 1).sum() >= 1, (a, n_in, ok)
print(f"answers: {(a >= 0).sum()} prompts, {n_in} inside the top-{ids.shape[1]}, {int((ok == 1).sum())} correct")
PY
  ;;
last_row_f16)  # store: last_row + dtype: float16 read back in h5py within 1e-3 of HF
  need_data reference/hf-tiny-gqa
  mkdir -p results
  sed -e 's/store: full/store: last_row/' -e 's/dtype: float32/dtype: float16/' "$SRC/jobs/exp8.yaml" > exp8_lr.yaml
  grep -q "store: last_row" exp8_lr.yaml && grep -q "dtype: float16" exp8_lr.yaml || fail "could not derive the YAML"
  mpirun_n 2 "$BIN" run exp8_lr.yaml --model "$HF/model-fp32" --output results/lr.h5 --quiet || fail "run"
  "$PY" - results/lr.h5 "$HF/outputs/fp32/seed2_cot" "$SRC/tests/common" <<'PY' || fail "last_row/float16"
import sys, h5py, numpy as np
sys.path.insert(0, sys.argv[3]); import h5v2
f = h5py.File(sys.argv[1], "r")
assert f["attention/last_row"].dtype == np.float16, f["attention/last_row"].dtype
a = h5v2.attention(f, "instructions/cot")
ref = np.load(sys.argv[2] + "/attentions.npy")[:, :, -1, :]
assert a.shape == ref.shape, (a.shape, ref.shape)
d = float(np.abs(a.astype(np.float32) - ref).max())
print("last_row float16 max|diff|", d)
assert d <= 1e-3
PY
  ;;
xarray)  # named dimensions through xarray + h5netcdf, or the scales through h5py
  default_model; mkdir -p results
  "$BIN" run "$SRC/jobs/smoke.yaml" --output results/x.h5 --quiet || fail "run"
  "$PY" - results/x.h5 <<'PY' || fail "dimension scales"
import sys
import xarray as xr  # installed by scripts/install-deps.sh: a missing xarray is a failure
for group, dims in {"metrics": {"prompt", "layer", "head", "token", "span"},
                    "summary": {"prompt", "layer", "head", "group", "member"},
                    "sweep": {"prompt"}, "tokens": {"token", "bound"}}.items():
    ds = xr.open_dataset(sys.argv[1], engine="h5netcdf", group=group)
    assert dims <= set(ds.sizes), (group, dict(ds.sizes))
    assert not any(d.startswith("phony") for d in ds.sizes), (group, dict(ds.sizes))
m = xr.open_dataset(sys.argv[1], engine="h5netcdf", group="metrics")
assert m["head_entropy"].dims == ("prompt", "layer", "head"), m["head_entropy"].dims
he = m["head_entropy"].sel(prompt="arithmetic/cot")
assert he.shape == (4, 8), he.shape
print("xarray: metrics", dict(m.sizes))
PY
  ;;
kill_resume)  # SIGKILL partway (and during the first writes), --resume, compare with a clean run
  "$BIN" make-model --out slow --layers 6 --dim 384 --heads 6 --kv-heads 2 --ffn 1024 > /dev/null || fail "make-model"
  cat > kill.yaml <<'YAML'
model: {path: slow}
output: {path: out.h5}
ranks: {assign: balanced}
groups:
  - name: grid
    template: "Q: What is {a} plus {b}? Let's think step by step about the numbers {a} and {b}, then write the answer on its own line. A:"
    product: {a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b: [10, 20, 30, 40, 50]}
YAML
  mpirun_n 2 "$BIN" run kill.yaml --output clean.h5 --quiet || fail "clean run"
  for when in partway first_writes; do
    rm -f out.h5 log
    if [ $when = partway ]; then want=8; else want=0; fi
    "$MPIEXEC" --oversubscribe -n 2 "$BIN" run kill.yaml --progress 0.05 > log 2>&1 &
    pid=$!
    # SIGKILL the ranks themselves (Open MPI puts them in their own process groups), then mpirun
    killall9() { pkill -KILL -P "$pid"; kill -KILL "$pid"; }
    killed=0
    for _ in $(seq 1 600); do
      if [ $when = first_writes ]; then
        grep -q "^attnsweep run: created" log && { killall9; killed=1; break; }
      else
        k=$(grep -o '^\[progress\] [0-9]*' log | tail -1 | awk '{print $2}')
        [ -n "$k" ] && [ "$k" -ge $want ] && { killall9; killed=1; break; }
      fi
      sleep 0.02
    done
    wait $pid 2>/dev/null
    for _ in $(seq 1 100); do pgrep -f "attnsweep run kill.yaml" > /dev/null || break; sleep 0.05; done
    [ $killed = 1 ] || fail "$when: the run finished before it could be killed: $(tail -3 log)"
    done_before=$("$PY" -c "import h5py,sys; print(int((h5py.File(sys.argv[1],'r')['sweep/status'][()]==1).sum()))" out.h5) \
      || fail "$when: the killed file does not open"
    echo "$when: killed with $done_before/50 prompts done"
    [ "$done_before" -lt 50 ] || fail "$when: nothing left to resume"
    mpirun_n 2 "$BIN" run kill.yaml --resume > log2 2>&1 || { cat log2; fail "$when: resume"; }
    grep -Eq "50 prompts in [0-9]+ batches, $((50 - done_before)) to compute, $done_before already done" log2 || { cat log2; fail "$when: resume planned the wrong prompts"; }
    grep -q "50/50 prompts done, 0 failed, $((50 - done_before)) computed now" log2 || { cat log2; fail "$when: a prompt was computed twice or not at all"; }
    "$PY" "$HERE/compare_h5.py" clean.h5 out.h5 --status || fail "$when: resumed file differs from the clean run"
  done ;;
failed_prompt)  # one failing prompt is recorded, the sweep goes on, exit 3; --resume finishes it
  default_model; mkdir -p results
  rc=0; ATTNSWEEP_FAULT_PROMPT=arithmetic/cot mpirun_n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/f.h5 --quiet 2> err || rc=$?
  [ $rc = 3 ] || { cat err; fail "exit code $rc, expected 3"; }
  grep -q "prompt 'arithmetic/cot' failed" err || { cat err; fail "no failure message"; }
  "$PY" - results/f.h5 <<'PY' || fail "status/message"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
ids = [x.decode() for x in f["sweep/prompt"][()]]
st = dict(zip(ids, f["sweep/status"][()].tolist()))
assert st["arithmetic/cot"] == 2 and all(v == 1 for k, v in st.items() if k != "arithmetic/cot"), st
msg = f["sweep/message"][ids.index("arithmetic/cot")].decode()
assert "fault injected" in msg, msg
PY
  mpirun_n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/f.h5 --resume --quiet || fail "resume after failure"
  "$PY" -c "import h5py,sys; assert (h5py.File(sys.argv[1],'r')['sweep/status'][()]==1).all()" results/f.h5 || fail "not all done after resume" ;;
no_overwrite)  # an existing output is refused without --resume/--force, and left untouched
  default_model; mkdir -p results
  echo precious > results/o.h5
  rc=0; "$BIN" run "$SRC/jobs/smoke.yaml" --output results/o.h5 2> err || rc=$?
  [ $rc = 1 ] || fail "exit code $rc"
  grep -q "already exists" err && grep -q -- "--resume" err || { cat err; fail "message"; }
  [ "$(cat results/o.h5)" = precious ] || fail "existing file modified"
  "$BIN" run "$SRC/jobs/smoke.yaml" --output results/o.h5 --force --quiet || fail "--force"
  rc=0; "$BIN" run "$SRC/jobs/large.yaml" --output results/o.h5 --resume 2> err || rc=$?
  [ $rc = 1 ] && grep -q "different sweep" err || { cat err; fail "resume of another sweep accepted"; } ;;
dry_run)
  default_model; mkdir -p results
  mpirun_n 2 "$BIN" run "$SRC/jobs/large.yaml" --dry-run > out || fail "dry run"
  grep -q "1280 prompts on 2 ranks" out || { cat out; fail "plan summary"; }
  grep -q "attention to write" out || fail "no attention size"
  grep -q "output file: results/large.h5 estimated at" out || { cat out; fail "no file size estimate"; }
  grep -Eq "^ +0 +[0-9]+ +[0-9]+" out || { cat out; fail "no batches per rank"; }
  [ ! -e results/large.h5 ] || fail "dry run created the output" ;;
pmi_check)  # srun without PMIx starts singletons: refuse clearly
  default_model
  rc=0; SLURM_NTASKS=2 SLURM_STEP_ID=0 SLURM_PROCID=0 "$BIN" run "$SRC/jobs/smoke.yaml" --output x.h5 2> err || rc=$?
  [ $rc = 1 ] && grep -q "srun --mpi=pmix" err || { cat err; fail "no PMI message (rc $rc)"; }
  [ ! -e x.h5 ] || fail "output created" ;;
validation)  # every validation error through the CLI: exit 1, file:line:col, what was expected
  default_model; mkdir -p results
  head='model: {path: models/default}'
  printf '%s\ngroups:\n  - name: g\n    promts: {a: "x"}\n' "$head" | check_refused unknown_key "unknown_key.yaml:4:5" "unknown key 'promts'" "expected one of"
  printf '%s\ngroups:\n  - name: g\n    prompts: [x, y]\n' "$head" | check_refused wrong_type "wrong_type.yaml:4:14" "prompts"
  printf '%s\noutput: {path: results/o.h5}\nranks: {assign: explicit, explicit: {zero: [g/a]}}\ngroups:\n  - name: g\n    prompts: {a: "x"}\n' "$head" | check_refused wrong_rank_type "wrong_rank_type.yaml:3" "zero"
  printf '%s\ngroups:\n  - name: g\n    prompts: {a: "x"}\n  - name: g\n    prompts: {b: "y"}\n' "$head" | check_refused duplicate_group "duplicate_group.yaml:5" "'g'"
  printf '%s\ngroups:\n  - name: g\n    prompts: {a: "x", a: "y"}\n' "$head" | check_refused duplicate_id "duplicate_id.yaml:4" "duplicate"
  printf '%s\ngroups:\n  - name: g\n    vars: {q: ""}\n    prompts: {a: "{q}"}\n' "$head" | check_refused empty_prompt "empty_prompt.yaml:5" "empty"
  printf '%s\ngroups:\n  - name: g\n    vars: {question: "x"}\n    prompts: {a: "{qestion}"}\n' "$head" | check_refused unknown_var "unknown_var.yaml:5" "qestion" "question"
  printf '%s\nranks: {assign: explicit, explicit: {0: [g/a, g/zz]}}\ngroups:\n  - name: g\n    prompts: {a: "x", b: "y"}\n' "$head" | check_refused explicit_missing "explicit_missing.yaml:2" "g/zz"
  printf '%s\nranks: {assign: explicit, explicit: {0: [g/a]}}\ngroups:\n  - name: g\n    prompts: {a: "x", b: "y"}\n' "$head" | check_refused explicit_unassigned "g/b" "not assigned"
  printf '%s\nranks: {assign: explicit, explicit: {0: [g/a], 5: [g/b]}}\ngroups:\n  - name: g\n    prompts: {a: "x", b: "y"}\n' "$head" | check_refused explicit_rank "explicit_rank.yaml:2" "rank 5"
  printf '%s\noutput: {path: no/such/dir/o.h5}\ngroups:\n  - name: g\n    prompts: {a: "x"}\n' "$head" | check_refused output_dir "output_dir.yaml:2" "no/such/dir"
  long=$(printf 'word %.0s' $(seq 1 600))
  printf '%s\ngroups:\n  - name: g\n    prompts: {short: "x", long1: "%s", long2: "%s"}\n' "$head" "$long" "$long" | check_refused too_long "g/long1" "g/long2" "max_position_embeddings" "512"
  printf '%s\ngroups:\n  - name: g\n    prompts: {a: "x"\n' "$head" | check_refused yaml_syntax "yaml_syntax.yaml:"
  ;;
shared_window)  # BF16 weights are converted once per node into an MPI-3 shared window
  mkdir -p results
  "$BIN" make-model --out bf16 --dtype bf16 > /dev/null || fail "make-model"
  "$BIN" run "$SRC/jobs/smoke.yaml" --model bf16 --output results/b1.h5 > log1 || fail "1 rank"
  mpirun_n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --model bf16 --output results/b2.h5 > log2 || fail "2 ranks"
  grep -q "one shared-memory copy per node" log2 || { cat log2; fail "no shared window used"; }
  "$PY" "$HERE/compare_h5.py" results/b1.h5 results/b2.h5 --status || fail "shared-window run differs"
  ;;
subset)  # output.layers / output.heads: stored in ascending order, exact, and reduce reproduces the metrics
  need_data reference/hf-tiny-gqa
  mkdir -p results
  awk '{print} /^  store: full/ {print "  layers: [2, 0]"; print "  heads: [3, 1]"}' "$SRC/jobs/exp8.yaml" > sub.yaml
  grep -q "layers: \[2, 0\]" sub.yaml || fail "could not derive the YAML"
  mpirun_n 2 "$BIN" run sub.yaml --model "$HF/model-fp32" --output results/sub.h5 --quiet || fail "run"
  cp results/sub.h5 results/sub_reduced.h5
  mpirun_n 2 "$BIN" reduce results/sub_reduced.h5 -q || fail "reduce"
  "$PY" "$HERE/compare_h5.py" results/sub.h5 results/sub_reduced.h5 --status || fail "reduce differs from run"
  "$PY" - results/sub.h5 "$HF/outputs/fp32/seed2_cot" "$SRC/tests/common" <<'PY' || fail "subset content"
import sys, h5py, numpy as np
sys.path.insert(0, sys.argv[3]); import h5v2
f = h5py.File(sys.argv[1], "r")
a = h5v2.attention(f, "instructions/cot")
assert a.shape[:2] == (2, 2), a.shape
lay, hd = f["attention/layer"][()].tolist(), f["attention/head"][()].tolist()
assert lay == [0, 2] and hd == [1, 3], (lay, hd)
assert f["metrics/layer"][()].tolist() == [0, 2] and f["metrics/head"][()].tolist() == [1, 3]
ref = np.load(sys.argv[2] + "/attentions.npy")[[0, 2]][:, [1, 3]]
d = float(np.abs(a - ref).max())
print("subset max|diff|", d)
assert d <= 1e-4
assert h5v2.metric(f, "head_entropy", "instructions/cot").shape == (2, 2)
PY
  ;;
store_none)  # store: none keeps only metrics and /summary (computed from memory), and reduce keeps them
  need_data reference/hf-tiny-gqa
  mkdir -p results
  sed 's/store: full/store: none/' "$SRC/jobs/exp8.yaml" > none.yaml
  grep -q "store: none" none.yaml || fail "could not derive the YAML"
  mpirun_n 2 "$BIN" run none.yaml --model "$HF/model-fp32" --output results/none.h5 --quiet || fail "run"
  cp results/none.h5 results/none2.h5
  mpirun_n 2 "$BIN" reduce results/none2.h5 -q || fail "reduce"
  "$PY" "$HERE/compare_h5.py" results/none.h5 results/none2.h5 --status || fail "reduce changed the metrics"
  "$PY" - results/none.h5 <<'PY' || fail "content"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
assert "attention" not in f and f.attrs["store"] == b"none"
assert np.isfinite(f["metrics/layer_entropy"][()]).all() and (f["metrics/input"][()] == 0).all()
assert "summary" in f and (f["sweep/status"][()] == 1).all()
PY
  ;;
objects)  # the number of HDF5 objects does not grow with the prompt count (format 2)
  default_model
  for store in last_row none full; do
    for n in 100 5000; do
      [ $store = full ] && [ $n = 5000 ] && n=1000  # full maps: keep the test small
      "$PY" "$SRC/tests/common/make_sweep.py" $n s_${store}_$n --store $store --out o_${store}_$n.h5 || fail "make_sweep"
      mpirun_n 2 "$BIN" run s_${store}_$n/sweep.yaml --quiet || fail "run $store $n"
      eval "obj_${store}_$n=$("$PY" "$SRC/tests/io/count_objects.py" o_${store}_$n.h5)" || fail "count"
    done
  done
  echo "objects: last_row $obj_last_row_100 / $obj_last_row_5000, none $obj_none_100 / $obj_none_5000, full $obj_full_100 / $obj_full_1000"
  [ "$obj_last_row_100" = "$obj_last_row_5000" ] || fail "last_row: object count grows with the prompts"
  [ "$obj_none_100" = "$obj_none_5000" ] || fail "none: object count grows with the prompts"
  [ $((obj_full_1000 - obj_full_100)) -le 900 ] || fail "full: more than one object per prompt"
  "$PY" "$SRC/tests/io/check_h5out.py" o_last_row_5000.h5 o_none_100.h5 o_full_100.h5 || fail "structure" ;;
dry_run_size)  # --dry-run's estimate is within 5% of the real file, in every store mode
  default_model
  for store in full last_row none; do
    for n in 7 300; do
      "$PY" "$SRC/tests/common/make_sweep.py" $n d_$store$n --store $store --out d_$store$n.h5 || fail "make_sweep"
      est=$("$BIN" run d_$store$n/sweep.yaml --dry-run | sed -n 's/^output file: .* estimated at \([0-9]*\) bytes.*/\1/p')
      [ -n "$est" ] || fail "$store $n: no estimate"
      mpirun_n 2 "$BIN" run d_$store$n/sweep.yaml --quiet || fail "run $store $n"
      real=$(stat -c %s d_$store$n.h5)
      echo "$store n=$n: estimate $est, file $real"
      "$PY" -c "import sys; e, r = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if abs(e - r) <= 0.05 * r else 1)" "$est" "$real" \
        || fail "$store n=$n: estimate $est is not within 5% of $real"
    done
  done ;;
format1)  # a format-1 file is refused by --resume and by reduce, with its version named, and left untouched
  default_model; mkdir -p results
  "$PY" - results/v1.h5 <<'PY' || fail "make a v1 file"
import sys, h5py
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["format"] = "attnsweep"; f.attrs["format_version"] = 1
    f.attrs["config_sha256"] = "x"; f.create_group("prompts"); f.create_group("sweep")
PY
  sum0=$(md5sum < results/v1.h5)
  rc=0; "$BIN" run "$SRC/jobs/smoke.yaml" --output results/v1.h5 --resume 2> err || rc=$?
  [ $rc = 1 ] && grep -q "format_version is 1" err && grep -q "results/v1.h5" err || { cat err; fail "resume of a v1 file (rc $rc)"; }
  rc=0; "$BIN" reduce results/v1.h5 2> err || rc=$?
  [ $rc = 1 ] && grep -q "format_version is 1" err || { cat err; fail "reduce of a v1 file (rc $rc)"; }
  [ "$(md5sum < results/v1.h5)" = "$sum0" ] || fail "the v1 file was modified"
  # a variable-length string attribute (h5py's default) is refused before it is read: reading
  # one goes through the global heap, where libhdf5 1.10 loops on a corrupt collection
  "$BIN" run "$SRC/jobs/smoke.yaml" --output results/vl.h5 --quiet || fail "run"
  "$PY" -c 'import sys, h5py; h5py.File(sys.argv[1], "r+").attrs["store"] = "full"' results/vl.h5 || fail "rewrite store"
  rc=0; "$BIN" reduce results/vl.h5 2> err || rc=$?
  [ $rc = 1 ] && grep -q "attribute 'store' of / is a variable-length string" err || { cat err; fail "reduce of a vlen attribute (rc $rc)"; }
  # a /sweep/message column rewritten as variable-length strings (h5py's default) is refused by
  # --resume before it writes a message into it, and by reduce, with the expected layout named
  "$BIN" run "$SRC/jobs/smoke.yaml" --output results/msg.h5 --quiet || fail "run"
  "$PY" - results/msg.h5 <<'PY' || fail "rewrite /sweep/message"
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    n = f["sweep/status"].shape[0]
    del f["sweep/message"]
    f["sweep/message"] = ["x"] * n
    f["sweep/status"][0] = 2
PY
  for cmd in "run $SRC/jobs/smoke.yaml --output results/msg.h5 --resume --quiet" "reduce results/msg.h5"; do
    rc=0; $BIN $cmd 2> err || rc=$?
    [ $rc = 1 ] && grep -q "results/msg.h5: /sweep/message must be \[5\] fixed-length strings" err || { cat err; fail "$cmd with a vlen /sweep/message (rc $rc)"; }
  done
  # a corrupt token count whose attention block would overflow int64 (found by fuzz_h5) is refused
  "$BIN" run "$SRC/jobs/smoke.yaml" --output results/big.h5 --quiet || fail "run"
  "$PY" -c 'import sys, h5py; h5py.File(sys.argv[1], "r+")["sweep/n_tokens"][0] = 2**31 - 1' results/big.h5 || fail "rewrite n_tokens"
  rc=0; "$BIN" reduce results/big.h5 2> err || rc=$?
  [ $rc = 1 ] && grep -q "n_tokens=2147483647 makes the token or attention sums overflow" err || { cat err; fail "reduce of an overflowing n_tokens (rc $rc)"; } ;;
octave)  # GNU Octave reads one prompt's attention, token ids and a metric, equal to h5py's
  default_model; mkdir -p results
  "$BIN" run "$SRC/jobs/smoke.yaml" --output results/oc_full.h5 --quiet || fail "run"
  sed -e 's/store: full/store: last_row/' -e 's/dtype: float32/dtype: float16/' "$SRC/jobs/smoke.yaml" > lr.yaml
  "$BIN" run lr.yaml --output results/oc_lr.h5 --quiet || fail "run last_row"
  bash "$SRC/tests/io/test_octave.sh" results/oc_full.h5 1 || fail "octave on store: full"
  bash "$SRC/tests/io/test_octave.sh" results/oc_lr.h5 3 || fail "octave on store: last_row float16" ;;
concurrent)  # one writer per output: a second run, a resume and a reduce are refused while a run writes
  "$BIN" make-model --out slow --layers 6 --dim 384 --heads 6 --kv-heads 2 --ffn 1024 > /dev/null || fail "make-model"
  "$PY" "$SRC/tests/common/make_sweep.py" 400 cw --model slow --out cw.h5 --store full --dtype float32 || fail "make_sweep"
  # the test hook makes the first run last (>= 3 s of pauses between its batches), whatever the speed
  ATTNSWEEP_TEST_BATCH_PAUSE=0.1 mpirun_n 2 -x ATTNSWEEP_TEST_BATCH_PAUSE "$BIN" run cw/sweep.yaml --progress 0.05 > log 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q "^attnsweep run: created" log && break; sleep 0.02; done
  grep -q "^attnsweep run: created" log || { kill $pid; fail "the first run did not start: $(tail -3 log)"; }
  rc=0; "$BIN" run cw/sweep.yaml --resume 2> err2 > /dev/null || rc=$?
  still=$(kill -0 $pid 2>/dev/null && echo yes || echo no)
  rc3=0; "$BIN" run cw/sweep.yaml --force 2> err3 > /dev/null || rc3=$?
  rc4=0; "$BIN" reduce cw.h5 2> err4 > /dev/null || rc4=$?
  wait $pid || { cat log; fail "the first run failed"; }
  [ "$still" = yes ] || fail "the first run ended before the second writer was tried (make the sweep longer)"
  cat err2
  [ $rc = 1 ] && grep -q "is being written by another attnsweep process (host .*, pid [0-9]*" err2 || { cat err2; fail "a concurrent --resume was not refused (rc $rc)"; }
  [ $rc3 = 1 ] && grep -q "is being written by another attnsweep process" err3 || { cat err3; fail "a concurrent --force was not refused (rc $rc3)"; }
  [ $rc4 = 1 ] && grep -q "is being written by another attnsweep process" err4 || { cat err4; fail "reduce during a run was not refused (rc $rc4)"; }
  "$PY" -c "import h5py,sys; assert (h5py.File(sys.argv[1],'r')['sweep/status'][()]==1).all()" cw.h5 || fail "the first run's file is not complete"
  mpirun_n 2 "$BIN" reduce cw.h5 -q || fail "reduce after the run (the lock was not released)" ;;
nonfinite)  # NaN weights fail the load naming the tensor; a NaN in a stored attention fails reduce naming layer and head
  "$BIN" make-model --out nanm > /dev/null || fail "make-model"
  "$PY" - nanm/model.safetensors <<'PY' || fail "inject a NaN"
import json, struct, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    hdr = json.loads(f.read(n))
    t = hdr["model.layers.1.self_attn.q_proj.weight"]
    assert t["dtype"] == "F32", t
    f.seek(8 + n + t["data_offsets"][0] + 4 * 5)
    f.write(struct.pack("<f", float("nan")))
PY
  rc=0; "$BIN" run "$SRC/jobs/smoke.yaml" --model nanm --output nan.h5 2> err > /dev/null || rc=$?
  [ $rc = 1 ] && grep -q "model.layers.1.self_attn.q_proj.weight has a non-finite value (nan at element 5)" err \
    || { cat err; fail "NaN weights accepted (rc $rc)"; }
  default_model; mkdir -p results
  "$BIN" run "$SRC/jobs/smoke.yaml" --output results/nf.h5 --quiet || fail "run"
  "$PY" - results/nf.h5 <<'PY' || fail "inject a NaN into the file"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    T = int(f["sweep/n_tokens"][1]); a = int(f["sweep/attention_start"][1])
    # layer 2, head 3, query T-1, key 0 of prompt 1
    f["attention/full"][a + ((2 * 8 + 3) * T + T - 1) * T] = np.nan
PY
  rc=0; "$BIN" reduce results/nf.h5 2> err > /dev/null || rc=$?
  [ $rc = 1 ] && grep -q "attention of layer 2, head 3 is not finite" err && grep -q "arithmetic/cot" err \
    || { cat err; fail "reduce accepted a NaN attention (rc $rc)"; } ;;
verify)  # --resume and reduce check what they trust: a dataset of the wrong shape, or missing
  default_model; mkdir -p results
  "$BIN" run "$SRC/jobs/smoke.yaml" --output results/v.h5 --quiet || fail "run"
  cp results/v.h5 results/v2.h5
  "$PY" - results/v.h5 results/v2.h5 <<'PY' || fail "alter the files"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r+") as f:
    n = f["metrics/head_entropy"].shape
    del f["metrics/head_entropy"]
    f.create_dataset("metrics/head_entropy", data=np.zeros((n[0], n[1], n[2] - 1)))
with h5py.File(sys.argv[2], "r+") as f:
    del f["attention/full"]
PY
  rc=0; "$BIN" run "$SRC/jobs/smoke.yaml" --output results/v.h5 --resume 2> err > /dev/null || rc=$?
  [ $rc = 1 ] && grep -q "/metrics/head_entropy has shape \[5, 4, 7\]; expected \[5, 4, 8\]" err || { cat err; fail "a wrong shape was trusted (rc $rc)"; }
  rc=0; "$BIN" reduce results/v2.h5 2> err > /dev/null || rc=$?
  [ $rc = 1 ] && grep -q "/attention/full is missing" err || { cat err; fail "a missing dataset was trusted (rc $rc)"; } ;;
faults)  # a failure on one rank at every collective site: a clear error on every rank, no hang, and --resume completes
  default_model; mkdir -p results
  mpirun_n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/clean.h5 --quiet || fail "clean run"
  for np in 2 3; do
    for site in create open commit flush summary close; do
      for r in 0 1; do
        out=results/f_${site}_${r}_$np.h5
        rc=0
        ATTNSWEEP_FAULT_SITE=$site:$r timeout 120 "$MPIEXEC" --oversubscribe -n $np -x ATTNSWEEP_FAULT_SITE \
          "$BIN" run "$SRC/jobs/smoke.yaml" --output $out --quiet 2> err > /dev/null || rc=$?
        [ $rc != 124 ] || fail "$site on rank $r of $np: hang (timeout)"
        [ $rc = 1 ] || [ $rc = 3 ] || { cat err; fail "$site on rank $r of $np: exit $rc, expected 1 or 3"; }
        grep -q "fault injected at $site on rank $r" err || { cat err; fail "$site on rank $r of $np: no clear error"; }
        rc=0; timeout 120 "$MPIEXEC" --oversubscribe -n $np "$BIN" run "$SRC/jobs/smoke.yaml" --output $out \
          --resume --quiet 2> err || rc=$?
        [ $rc = 0 ] || { cat err; fail "$site on rank $r of $np: --resume gave exit $rc"; }
        "$PY" "$HERE/compare_h5.py" results/clean.h5 $out --status > cmp.log || { cat cmp.log; fail "$site on rank $r of $np: resumed file differs"; }
        echo "ok $site on rank $r of $np ranks: exit 1/3 with a clear error, resumed identical"
      done
    done
  done ;;
disk_full)  # a full disk at 5 sizes (tmpfs output folder): clear ENOSPC message, no hang, no crash; then --resume completes identically
  default_model; mkdir -p results
  mpirun_n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output results/clean.h5 --quiet || fail "clean run"
  mnt=$(mktemp -d "$PWD/tmpfs.XXXXXX")
  if ! mount -t tmpfs -o size=64k tmpfs "$mnt" 2> mnt.err; then
    case "${CI:-}" in "" | 0 | false | no) echo "SKIP: cannot mount a tmpfs here: $(cat mnt.err)"; exit 77 ;; esac
    fail "cannot mount a tmpfs: $(cat mnt.err)"
  fi
  umount "$mnt"
  for size in 40k 120k 300k 500k 680k; do
    mount -t tmpfs -o size=$size tmpfs "$mnt" || fail "mount $size"
    rc=0; timeout 120 "$MPIEXEC" --oversubscribe -n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output "$mnt/o.h5" --quiet 2> err > /dev/null || rc=$?
    if [ $rc = 0 ]; then umount "$mnt"; fail "$size: the run succeeded on a disk too small for it"; fi
    [ $rc = 1 ] || [ $rc = 3 ] || { cat err; umount "$mnt"; fail "$size: exit $rc (124 = hang, >128 = crash)"; }
    grep -qi "no space left on device" err || { cat err; umount "$mnt"; fail "$size: no 'no space left on device' message"; }
    mount -o remount,size=20m "$mnt" || fail "remount"
    rc=0; timeout 120 "$MPIEXEC" --oversubscribe -n 2 "$BIN" run "$SRC/jobs/smoke.yaml" --output "$mnt/o.h5" --resume --quiet 2> err2 || rc=$?
    [ $rc = 0 ] || { cat err2; umount "$mnt"; fail "$size: --resume after freeing space gave exit $rc"; }
    "$PY" "$HERE/compare_h5.py" results/clean.h5 "$mnt/o.h5" --status > cmp.log || { cat cmp.log; umount "$mnt"; fail "$size: the resumed file differs"; }
    echo "ok $size: $(grep -oi -m1 'no space left on device' err), resumed identical"
    umount "$mnt"
  done
  # the disk fills up while the run writes (another program takes the space): the batches that cannot
  # be written fail with ENOSPC, nothing hangs or crashes, and --resume completes after space is freed.
  # The pause hook keeps the run going (>= 4 s) while the disk fills, whatever the machine's speed.
  "$PY" "$SRC/tests/common/make_sweep.py" 200 dfs --store last_row --dtype float32 --out "$mnt/o.h5" || fail "make_sweep"
  mpirun_n 2 "$BIN" run dfs/sweep.yaml --output results/clean200.h5 --quiet || fail "clean run (200)"
  mount -t tmpfs -o size=8m tmpfs "$mnt" || fail "mount 8m"
  ATTNSWEEP_TEST_BATCH_PAUSE=0.25 "$MPIEXEC" --oversubscribe -n 2 -x ATTNSWEEP_TEST_BATCH_PAUSE "$BIN" run \
    dfs/sweep.yaml --quiet 2> err > /dev/null &
  pid=$!
  for _ in $(seq 1 500); do [ -e "$mnt/o.h5" ] && break; sleep 0.01; done
  dd if=/dev/zero of="$mnt/filler" bs=16k 2> /dev/null
  rc=0; wait $pid || rc=$?
  # 3: batches failed; 1: also the summary (the disk is still full at the end)
  [ $rc = 3 ] || [ $rc = 1 ] || { cat err; umount "$mnt"; fail "filled during the run: exit $rc, expected 3 or 1"; }
  grep -qi "no space left on device" err || { cat err; umount "$mnt"; fail "filled during the run: no ENOSPC message"; }
  rm -f "$mnt/filler"
  rc=0; timeout 120 "$MPIEXEC" --oversubscribe -n 2 "$BIN" run dfs/sweep.yaml --resume --quiet 2> err2 || rc=$?
  [ $rc = 0 ] || { cat err2; umount "$mnt"; fail "filled during the run: --resume gave exit $rc"; }
  "$PY" "$HERE/compare_h5.py" results/clean200.h5 "$mnt/o.h5" --status > cmp.log || { cat cmp.log; umount "$mnt"; fail "filled during the run: the resumed file differs"; }
  echo "ok filled during the run: exit $rc, resumed identical"
  umount "$mnt"
  rmdir "$mnt" ;;
kill_random)  # kill -9 at 20 points spread over the whole run (creation included); every one resumes to the clean file
  default_model
  "$PY" "$SRC/tests/common/make_sweep.py" 200 kr --store last_row --dtype float16 --out kr.h5 || fail "make_sweep"
  mpirun_n 2 "$BIN" run kr/sweep.yaml --output clean.h5 --quiet || fail "clean run"
  # fixed kill times (no calibration: the pause hook makes the run last >= 1.6 s on any machine)
  for ms in 0 15 40 70 100 150 200 260 330 400 480 560 650 750 850 950 1100 1250 1400 1600; do
    rm -f kr.h5 kr.h5.partial log
    ATTNSWEEP_TEST_BATCH_PAUSE=0.05 "$MPIEXEC" --oversubscribe -n 2 -x ATTNSWEEP_TEST_BATCH_PAUSE "$BIN" run kr/sweep.yaml --quiet > log 2>&1 &
    pid=$!
    sleep "$(awk -v m=$ms 'BEGIN{printf "%.3f", m / 1000}')"
    pkill -KILL -P "$pid"; kill -KILL "$pid" 2>/dev/null
    wait $pid 2>/dev/null
    for _ in $(seq 1 100); do pgrep -f "attnsweep run kr/sweep.yaml" > /dev/null || break; sleep 0.05; done
    state=$([ -e kr.h5 ] && echo "file" || { [ -e kr.h5.partial ] && echo "partial only" || echo "nothing"; })
    rc=0; timeout 120 "$MPIEXEC" --oversubscribe -n 2 "$BIN" run kr/sweep.yaml --resume --quiet 2> err || rc=$?
    [ $rc = 0 ] || { cat err; fail "kill at $ms ms ($state): --resume gave exit $rc"; }
    "$PY" "$HERE/compare_h5.py" clean.h5 kr.h5 --status > cmp.log || { cat cmp.log; fail "kill at $ms ms ($state): the resumed file differs"; }
    echo "ok kill -9 at $ms ms ($state): resumed identical"
  done ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
echo "test_run $CASE: passed"
