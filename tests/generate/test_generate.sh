#!/usr/bin/env bash
# test_generate.sh CASE - generation in sweeps end to end on stories260K (docs/SWEEP.md
# "Generation"). Truth: the golden greedy ids of ../shared/data/models/stories260K (llama2.c
# run.c and a float64 numpy re-implementation), a decode-step capture (test_gen_attention), and
# runs that must be identical (1/2/3 ranks, killed+resumed vs clean, reduce vs run).
#   env: ATTNSWEEP, GEN_ATTENTION, MPIEXEC, ATTNSWEEP_DATA_DIR, PY, SRC
set -uo pipefail
CASE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../common/e2e.sh" generate
need_data models/stories260K/stories260K.bin
ST=$DATA/models/stories260K
GOLD=$ST/golden_greedy_and_attention.json

# gen.yaml: three batches' worth of prompts (2 of them the golden prompts), a stop string, an
# answer regex, a group without generation, and a group whose budget differs
sweep() {  # sweep OUT.h5 [STORE]
  cat > gen.yaml <<YAML
model: {path: $ST/stories260K.bin, tokenizer: $ST/tok512.bin}
output: {path: $1, store: ${2:-full}}
generate: {max_new_tokens: 24}
groups:
  - name: golden
    prompts: {once: "Once upon a time", zoo: "Zoo"}
  - name: stop
    generate: {max_new_tokens: 40, stop: ["."], answer_regex: "named ([A-Z][a-z]+)"}
    prompts: {once: "Once upon a time", park: "One day, Lily went to the park"}
  - name: plain
    generate: null
    prompts: {a: "Lily liked"}
  - name: grid
    generate: {max_new_tokens: 9}
    template: "{who} had {n} toys"
    product: {who: [Tom, Lily, Ben, Sue, Max], n: [2, 3, 4, 5, 6, 7]}
YAML
}

case "$CASE" in
golden)  # the generated ids are the golden greedy ids of the same prompt prefix
  sweep g.h5
  mpirun_n 2 "$BIN" run gen.yaml --quiet || fail "run"
  "$PY" - g.h5 "$GOLD" <<'PY' || fail "golden ids"
import json, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); g = json.load(open(sys.argv[2]))["runs"]
sw = f["sweep"]; ids = [x.decode() for x in sw["prompt"][()]]
tok = f["tokens/token_id"][()]; ts = sw["token_start"][()]; nt = sw["n_tokens"][()]
ng, gs, sr = sw["n_generated"][()], sw["generated_start"][()], sw["stop_reason"][()]
text = f["text/utf8"][()]
def seq(p):
    i = ids.index(p); return i, tok[ts[i]:ts[i] + nt[i]]
bad = 0
for p, run, n in (("golden/once", "once_upon_a_time_steps64", 24), ("golden/zoo", "zoo_steps60", 24)):
    i, s = seq(p); want = g[run]["ids"][:len(g[run]["prompt_ids"]) + n]
    ok = s.tolist() == want and ng[i] == n and sr[i] == 0
    print(f"{p}: {ng[i]} generated, stop_reason {sr[i]}, ids {'= golden' if ok else 'DIFFER'}")
    bad += not ok
# the stop string '.' cuts the golden continuation after its first '.'
i, s = seq("stop/once"); want = g["once_upon_a_time_steps64"]["ids"]
t = bytes(text[sw["text_start"][i]:sw["text_start"][i] + sw["text_length"][i]]).decode()
ok = s.tolist() == want[:len(s)] and sr[i] == 2 and t == "Once upon a time, there was a little girl named Lily." \
    and gs[i] == len("Once upon a time")
print(f"stop/once: {ng[i]} generated, stop_reason {sr[i]}, text {t!r}"); bad += not ok
# a group without generation keeps its prompt; the grid's budget is 9
i, s = seq("plain/a"); bad += not (ng[i] == 0 and sr[i] == -1 and gs[i] == -1)
grid = [k for k, p in enumerate(ids) if p.startswith("grid/")]
bad += not all(0 < ng[k] <= 9 for k in grid)
# generated tokens' offsets are byte spans of the extended text; token_str is decode([id])
offs = f["tokens/offsets"][()]
for k in range(len(ids)):
    if ng[k] == 0: continue
    o = offs[ts[k] + nt[k] - ng[k]: ts[k] + nt[k]]
    bad += not (o[0][0] == gs[k] and o[-1][1] == sw["text_length"][k] and (o[1:, 0] == o[:-1, 1]).all())
assert dict(sw["stop_reason"].attrs)["flag_meanings"] == b"none length eos stop_string"
# analysis/load.py reads the same
sys.path.insert(0, __import__("os").environ["SRC"] + "/analysis"); import load
with load.open_sweep(sys.argv[1]) as s:
    gd = s.generated("stop/once")
    bad += not (gd["text"] == ", there was a little girl named Lily." and gd["n"] == 11
                and gd["stop_reason"] == "stop_string" and gd["prompt_text"] == "Once upon a time")
    bad += not (s.generated("plain/a")["n"] == 0 and s.generated("plain/a")["stop_reason"] == "none")
sys.exit(1 if bad else 0)
PY
  ;;
attention)  # stored [L, H, T, T] of prompt + generated = a decode-step capture; rows sum to 1
  sweep g.h5
  mpirun_n 2 "$BIN" run gen.yaml --quiet || fail "run"
  "$GEN_ATTENTION" g.h5 || fail "attention vs decode capture"
  "$PY" - g.h5 "$GOLD" <<'PY' || fail "prompt rows vs golden"
import json, sys, h5py, numpy as np
sys.path.insert(0, __import__("os").environ["SRC"] + "/tests/common"); import h5v2
f = h5py.File(sys.argv[1], "r"); tf = json.load(open(sys.argv[2]))["teacher_forced_once_upon_a_time"]
want = np.array(tf["attention_probs_flat_row_major"]).reshape(tf["attention_shape"])
a = h5v2.attention(f, "golden/once")            # (L, H, T_total, T_total)
d = float(np.abs(a[:, :, :5, :5] - want).max())
print(f"golden/once prompt rows vs golden attention: max|diff| {d:.2g}")
sys.exit(0 if d <= 1e-4 else 1)
PY
  ;;
ranks_123)  # bit-identical files on 1, 2 and 3 ranks with generation on
  for n in 1 2 3; do sweep r$n.h5; mpirun_n $n "$BIN" run gen.yaml --quiet || fail "run on $n ranks"; done
  "$PY" "$SRC/tests/run/compare_h5.py" r1.h5 r2.h5 r3.h5 --status || fail "files differ"
  # batches that decode in several KV-cache groups (test hook): still rank-independent, and
  # the golden prompts still give the golden ids
  for n in 1 3; do
    sweep k$n.h5; ATTNSWEEP_TEST_GEN_KV_TOKENS=60 mpirun_n $n "$BIN" run gen.yaml --quiet || fail "split run on $n ranks"
  done
  "$PY" "$SRC/tests/run/compare_h5.py" k1.h5 k3.h5 --status || fail "split files differ"
  "$PY" - k1.h5 "$GOLD" <<'PY' || fail "golden ids with split decode groups"
import json, sys, h5py
f = h5py.File(sys.argv[1], "r"); g = json.load(open(sys.argv[2]))["runs"]; sw = f["sweep"]
ids = [x.decode() for x in sw["prompt"][()]]; i = ids.index("golden/once")
s = f["tokens/token_id"][sw["token_start"][i]:sw["token_start"][i] + sw["n_tokens"][i]].tolist()
assert s == g["once_upon_a_time_steps64"]["ids"][:len(s)] and sw["n_generated"][i] == 24, s
PY
  ;;
answer_gen)  # analysis.answer with generation: correct = the generated answer span equals the
  # expected answer (trimmed); a prompt without generation keeps the first-token rule
  sweep a.h5
  "$PY" - <<'PY' || fail "edit the sweep"
import re
y = open("gen.yaml").read()
y = y.replace("    prompts: {once: \"Once upon a time\", park:", "    vars: {gold: \" Lily \"}\n    prompts: {once: \"Once upon a time\", park:")
y = y.replace("    generate: {max_new_tokens: 9}\n", "    generate: {max_new_tokens: 9}\n    vars: {gold: \"7\"}\n")
y += "analysis: {answer: gold}\n"
open("gen.yaml", "w").write(y)
PY
  mpirun_n 2 "$BIN" run gen.yaml --quiet || fail "run"
  "$PY" - a.h5 <<'PY' || fail "answer_correct"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r"); sw = f["sweep"]; b = f["behaviour"]
ids = [x.decode() for x in sw["prompt"][()]]
utf8 = f["text/utf8"][()]
ac = b["answer_correct"][()]
def text(i):
    a, n = sw["text_start"][i], sw["text_length"][i]
    return utf8[a:a + n].tobytes().decode()
i = ids.index("stop/once")
gen = text(i)[sw["generated_start"][i]:]
print("stop/once generated:", repr(gen), "answer_correct", ac[i])
assert "named Lily" in gen and ac[i] == 1, (gen, ac[i])
# grid prompts: the answer is the last number generated; correct iff it is "7"
import re
n_ok = 0
for k, p in enumerate(ids):
    if not p.startswith("grid/"):
        continue
    g = text(k)[sw["generated_start"][k]:]
    nums = re.findall(r"-?[0-9]+(?:\.[0-9]+)?", g)
    want = 1 if nums and nums[-1] == "7" else 0
    assert ac[k] == want, (p, g, ac[k])
    n_ok += want
for p in ("golden/once", "golden/zoo", "plain/a"):
    assert ac[ids.index(p)] == -1, (p, ac[ids.index(p)])  # no expected answer
print(f"answer_correct from the generated answers: stop/once = 1, {n_ok} grid prompts say 7")
PY
  ;;
stop_compute)  # a stop string ends its sequence's decode at once (no compute past the stop),
  # with the same stored result as the exact cut on rank 0
  sweep s.h5
  mpirun_n 2 "$BIN" run gen.yaml > log 2>&1 || { cat log; fail "run"; }
  n=$(sed -n 's/^attnsweep run: generated \([0-9]*\) tokens.*/\1/p' log)
  [ -n "$n" ] || { cat log; fail "no generation line"; }
  "$PY" - s.h5 "$n" <<'PY' || fail "decoded tokens"
import sys, h5py
f = h5py.File(sys.argv[1], "r"); sw = f["sweep"]
ng, sr = sw["n_generated"][()], sw["stop_reason"][()]
stopped = int((sr == 2).sum())
print(f"decoded {sys.argv[2]} tokens, stored {int(ng.sum())}; {stopped} prompts ended by a stop string")
assert stopped >= 2, stopped  # the "." group stops early
assert int(sys.argv[2]) == int(ng.sum()), "tokens were decoded past a stop string"
PY
  ;;
journal)  # a run that fails during generation (before the file exists) keeps its generations in
  # the journals; --resume (on another rank count) reuses them and completes to a clean run's file
  sweep clean.h5; mpirun_n 1 "$BIN" run gen.yaml --quiet || fail "clean run"
  sweep out.h5
  rc=0; ATTNSWEEP_FAULT_SITE=generate:1 mpirun_n 2 -x ATTNSWEEP_FAULT_SITE "$BIN" run gen.yaml --quiet 2> err || rc=$?
  [ $rc = 1 ] && grep -q "fault injected at generate on rank 1" err || { cat err; fail "the fault did not fail the run (rc $rc)"; }
  [ ! -e out.h5 ] || fail "a file was created although generation failed"
  ls out.h5.gen-*-r0 out.h5.gen-*-r1 > /dev/null || fail "no journal per rank"
  # a torn tail (a kill during a write) and a journal of another job are ignored
  j1=$(ls out.h5.gen-*-r1); printf '\x07\x00\x00\x00garbage' >> "$j1"
  printf 'ASGENJ1\n\x01\x02\x03\x04\x05\x06\x07\x08' > out.h5.gen-0000000000000000-r9
  mpirun_n 3 "$BIN" run gen.yaml --resume > log 2>&1 || { cat log; fail "resume"; }
  grep "generation journal" log || fail "the journals were not reused"
  grep -q "generation journal: [1-9][0-9]* prompts' generations kept from 2 journal(s)" log || fail "journal count"
  "$PY" "$SRC/tests/run/compare_h5.py" clean.h5 out.h5 --status || fail "resumed != clean"
  ls out.h5.gen-* 2> /dev/null && fail "journals left after the file was created"
  # a stale journal of another sweep (other budgets) is not reused
  sweep other.h5; rc=0; ATTNSWEEP_FAULT_SITE=generate:0 mpirun_n 1 -x ATTNSWEEP_FAULT_SITE "$BIN" run gen.yaml --quiet 2> /dev/null || rc=$?
  [ $rc = 1 ] || fail "second fault (rc $rc)"
  sed -i 's/max_new_tokens: 24/max_new_tokens: 23/' gen.yaml
  mpirun_n 1 "$BIN" run gen.yaml > log2 2>&1 || { cat log2; fail "run with other budgets"; }
  grep -q "generation journal" log2 && fail "a journal of another job was reused"
  echo "journal ok" ;;
resume)  # a failed prompt, then --resume (on another rank count) = a clean run; no regeneration
  sweep clean.h5; mpirun_n 1 "$BIN" run gen.yaml --quiet || fail "clean run"
  sweep out.h5
  rc=0; ATTNSWEEP_FAULT_PROMPT=stop/park mpirun_n 2 "$BIN" run gen.yaml --quiet 2> err || rc=$?
  [ $rc = 3 ] || { cat err; fail "exit code $rc, expected 3"; }
  mpirun_n 3 "$BIN" run gen.yaml --resume > log 2>&1 || { cat log; fail "resume"; }
  grep -q "^attnsweep run: generated" log && fail "--resume generated again"
  grep -q "reopened" log || fail "not reopened"
  "$PY" "$SRC/tests/run/compare_h5.py" clean.h5 out.h5 --status || fail "resumed != clean"
  # a file whose generated tokens do not match the sweep is refused
  "$PY" - out.h5 <<'PY' || fail "edit"
import sys, h5py
f = h5py.File(sys.argv[1], "r+"); f["sweep/status"][0] = 0; f["sweep/n_generated"][0] += 1
PY
  rc=0; mpirun_n 2 "$BIN" run gen.yaml --resume --quiet 2> err || rc=$?
  [ $rc != 0 ] && grep -q "generated" err || { cat err; fail "inconsistent generated tokens accepted"; } ;;
reduce)  # attnsweep reduce recomputes the run's metrics (spans over generated text) exactly
  sweep g.h5
  mpirun_n 2 "$BIN" run gen.yaml --quiet || fail "run"
  cp g.h5 red.h5
  mpirun_n 2 "$BIN" reduce red.h5 --quiet || fail "reduce"
  "$PY" "$SRC/tests/run/compare_h5.py" g.h5 red.h5 || fail "reduce != run"
  "$PY" - g.h5 <<'PY' || fail "spans"
import sys, h5py
f = h5py.File(sys.argv[1], "r"); m = f["metrics"]; sw = f["sweep"]
ids = [x.decode() for x in sw["prompt"][()]]; i = ids.index("stop/once")
s0, n = m["span_start"][i], m["span_count"][i]
sp = {m["span_name"][k].decode(): m["span_bytes"][k].tolist() for k in range(s0, s0 + n)}
t = "Once upon a time, there was a little girl named Lily."
print("stop/once spans", sp)
assert sp["answer"] == [t.index("Lily"), t.index("Lily") + 4], sp
assert sp["reasoning"] == [len("Once upon a time"), t.index("Lily")], sp
# span_mass_from_answer from the stored full maps, independently: mean over the answer's rows
sys.path.insert(0, __import__("os").environ["SRC"] + "/tests/common"); import h5v2
import numpy as np
A = h5v2.attention(f, "stop/once").astype(np.float64)      # (L, H, T, T)
tk = m["span_tokens"][()]; got = m["span_mass_from_answer"][()]
names_i = [m["span_name"][k].decode() for k in range(s0, s0 + n)]
a0, a1 = tk[s0 + names_i.index("answer")]
worst = 0.0
for k in range(s0, s0 + n):
    b0, b1 = tk[k]
    want = np.full(A.shape[:2], np.nan) if b0 < 0 else A[:, :, a0:a1, b0:b1].sum(axis=3).mean(axis=2)
    ok = np.allclose(got[k], want, rtol=0, atol=1e-12, equal_nan=True)
    worst = max(worst, float(np.nanmax(np.abs(got[k] - want))) if b0 >= 0 else 0.0)
    assert ok, (names_i[k - s0], got[k], want)
print(f"span_mass_from_answer = mean over answer rows of the span's mass: max|diff| {worst:.2g}")
# /summary/answer_mass: per group and span name, the mean over prompts of the head mean
sm = f["summary"]; gnames = [x.decode() for x in sm["group"][()]]; snames = [x.decode() for x in sm["span_name"][()]]
grp = [x.decode() for x in sw["group"][()]]; am, ac = sm["answer_mass"][()], sm["answer_mass_count"][()]
checked = 0
for gi, gname in enumerate(gnames):
    for si, sname in enumerate(snames):
        vals = []
        for p in [k for k in range(len(ids)) if grp[k] == gname]:
            a, c = m["span_start"][p], m["span_count"][p]
            nm = [m["span_name"][k].decode() for k in range(a, a + c)]
            if sname in nm and not np.isnan(got[a + nm.index(sname)][0, 0]):
                vals.append(got[a + nm.index(sname)].mean(axis=1))
        assert ac[gi, si] == len(vals), (gname, sname, ac[gi, si], len(vals))
        if vals:
            assert np.allclose(am[gi, si], np.mean(vals, axis=0), rtol=1e-12, atol=1e-15), (gname, sname)
            checked += 1
        else:
            assert np.isnan(am[gi, si]).all()
assert checked >= 3, checked
print(f"/summary/answer_mass: {checked} (group, span) means match /metrics")
g = ids.index("golden/zoo")  # no answer (no number): NaN everywhere
z0, zn = m["span_start"][g], m["span_count"][g]
assert np.isnan(got[z0:z0 + zn]).all()
j = ids.index("plain/a"); names = [m["span_name"][k].decode() for k in range(m["span_start"][j], m["span_start"][j] + m["span_count"][j])]
assert "answer" not in names and "reasoning" not in names, names
PY
  # report.py shows the answer mass, and every number of its tables equals the file
  MPLBACKEND=Agg MPLCONFIGDIR=$TMP/mpl "$PY" "$SRC/analysis/report.py" g.h5 --out rep > /dev/null || fail "report.py"
  grep -q "with the model's own reasoning (generation)" rep/report.md || fail "no answer-mass section"
  MPLBACKEND=Agg "$PY" "$SRC/tests/analysis/check_report.py" g.h5 rep --tables answer_mass || fail "report check"
  # the structure of docs/FORMAT.md, generation columns included (independent checker)
  "$PY" "$SRC/tests/io/check_h5out.py" g.h5 > /dev/null || { "$PY" "$SRC/tests/io/check_h5out.py" g.h5 | grep FAIL; fail "structure"; }
  ;;
objects)  # generation adds 3 /sweep columns, /metrics/span_mass_from_answer and 2 /summary datasets; not growing with N
  for n in 2 6; do
    cat > o$n.yaml <<YAML
model: {path: $ST/stories260K.bin, tokenizer: $ST/tok512.bin}
output: {path: o$n.h5, store: last_row}
generate: {max_new_tokens: 4}
groups:
  - name: g
    template: "{a} plus {b}"
    product: {a: [$(seq -s, 1 $n)], b: [$(seq -s, 1 $n)]}
YAML
    mpirun_n 2 "$BIN" run o$n.yaml --quiet || fail "run $n"
    sed 's/^generate:.*$//' o$n.yaml | sed "s/o$n.h5/p$n.h5/" > p$n.yaml
    mpirun_n 2 "$BIN" run p$n.yaml --quiet || fail "run $n without generation"
  done
  a=$("$PY" "$SRC/tests/io/count_objects.py" o2.h5) b=$("$PY" "$SRC/tests/io/count_objects.py" o6.h5)
  c=$("$PY" "$SRC/tests/io/count_objects.py" p2.h5)
  echo "objects: generating 4 prompts $a, 36 prompts $b; without generation $c"
  [ "$a" = "$b" ] || fail "the object count grows with the prompts"
  [ $((a - c)) = 6 ] || fail "generation adds $((a - c)) objects, expected 6"
  "$PY" - o2.h5 p2.h5 <<'PY' || fail "generation's datasets"
import sys, h5py
g, p = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
new = ["sweep/n_generated", "sweep/generated_start", "sweep/stop_reason", "metrics/span_mass_from_answer",
       "summary/answer_mass", "summary/answer_mass_count"]
assert all(n in g for n in new) and not any(n in p for n in new), [(n, n in g, n in p) for n in new]
# the worker has the full maps even under store: last_row, so the metric has values there
import numpy as np; assert g["metrics/span_mass_from_answer"].shape[1:] == (5, 8)
PY
  ;;
*) fail "unknown case $CASE" ;;
esac
echo "PASS: $CASE"
