#!/usr/bin/env bash
# test_extract.sh CASE - end-to-end tests of `attnsweep extract` through the CLI.
# Expected values come from ../shared/data (HF transformers and llama.cpp dumps),
# never from attnsweep's own earlier output. Exit 77 (skip) when the data is absent.
#   env: ATTNSWEEP (binary), ATTNSWEEP_DATA_DIR, PY (python with numpy + h5py)
set -uo pipefail
CASE=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../common/e2e.sh" cli
ids_of() { "$PY" -c "import numpy,sys; print(','.join(map(str, numpy.load(sys.argv[1]).tolist())))" "$1"; }

case "$CASE" in
ids_fp32)   # --ids from the reference case, HF model folder (F32, zero-copy)
  need_data reference/hf-tiny-gqa
  for c in T033 seed5_fewshot; do
    "$BIN" extract --model "$HF/model-fp32" --ids "$(ids_of "$HF/outputs/fp32/$c/ids.npy")" \
      --id "$c" --out "$TMP/$c.h5" || fail "extract $c"
    "$PY" "$HERE/check_extract.py" "$TMP/$c.h5" --id "$c" --ref "$HF/outputs/fp32/$c" || fail "check $c"
  done ;;
text_fp32)  # --text through the folder's tokenizer.json: ids and attention must match HF
  need_data reference/hf-tiny-gqa
  "$BIN" extract --model "$HF/model-fp32" --text "What is 15 plus 27?" --id seed1_plain \
    --out "$TMP/t.h5" || fail "extract"
  "$PY" "$HERE/check_extract.py" "$TMP/t.h5" --id seed1_plain --ref "$HF/outputs/fp32/seed1_plain" \
    --text "What is 15 plus 27?" || fail "check"
  printf 'Q: What is 3 plus 4?\nA: 7\n\nQ: What is 15 plus 27?\nA:' > "$TMP/fewshot.txt"
  "$BIN" extract --model "$HF/model-fp32" --text - --id fewshot --out "$TMP/f.h5" < "$TMP/fewshot.txt" || fail "extract stdin"
  "$PY" "$HERE/check_extract.py" "$TMP/f.h5" --id fewshot --ref "$HF/outputs/fp32/seed5_fewshot" \
    --text "$(cat "$TMP/fewshot.txt")" || fail "check stdin" ;;
sharded_f16_last_row)  # sharded safetensors, float16 storage of the last query row
  need_data reference/hf-tiny-gqa
  c=seed2_cot
  "$BIN" extract --model "$HF/model-sharded" --ids "$(ids_of "$HF/outputs/fp32/$c/ids.npy")" \
    --store last_row --dtype float16 --out "$TMP/s.h5" || fail "extract"
  "$PY" "$HERE/check_extract.py" "$TMP/s.h5" --ref "$HF/outputs/fp32/$c" --last-row --float16 --tol 1e-3 || fail "check" ;;
bf16)
  need_data reference/hf-tiny-gqa
  c=seed4_qa
  "$BIN" extract --model "$HF/model-bf16" --text $'Question: What is 15 plus 27?\nAnswer:' --out "$TMP/b.h5" || fail "extract"
  "$PY" "$HERE/check_extract.py" "$TMP/b.h5" --ref "$HF/outputs/bf16/$c" || fail "check" ;;
llama2c)    # llama2.c checkpoint + tokenizer.bin against llama.cpp's dump
  need_data reference/llamacpp-stories260K
  S=$DATA/models/stories260K
  "$BIN" extract --model "$S/stories260K.bin" --tokenizer "$S/tok512.bin" \
    --text "Lily had a big red ball. She" --out "$TMP/l.h5" || fail "extract"
  R=$DATA/reference/llamacpp-stories260K
  "$PY" "$HERE/check_extract.py" "$TMP/l.h5" --ref-ids "$R/tokens_p2.npy" --ref-att "$R/attn_p2.npy" || fail "check" ;;
capture)  # --weights / --scores / --topk / --logits: value norms, scores and logits vs HF
  need_data reference/hf-tiny-gqa
  CAP=$SRC/tests/run/check_capture.py
  c=seed2_cot ids=$(ids_of "$HF/outputs/fp32/seed2_cot/ids.npy")
  for st in full last_row; do
    "$BIN" extract --model "$HF/model-fp32" --ids "$ids" --id instructions/cot --store $st \
      --weights both --scores --topk 3 --logits --out "$TMP/c_$st.h5" --quiet || fail "extract --store $st"
    "$PY" "$CAP" hf "$TMP/c_$st.h5" "$HF" instructions/cot=$c || fail "$st: value norms / scores vs HF"
  done
  "$PY" - "$TMP/c_full.h5" "$HF/outputs/fp32/$c/logits_last.npy" <<'PY' || fail "logits / top-k vs HF"
import sys, h5py, numpy as np
f, z = h5py.File(sys.argv[1], "r"), np.load(sys.argv[2]).astype(np.float64).ravel()
lg = f["behaviour/logits"][0].astype(np.float64)
d = np.abs(lg - z).max()
ids = f["behaviour/topk_id"][0]
kth = np.sort(z)[-3]  # HF's 3 largest logits are ours, up to near-ties within 1e-4
assert d <= 1e-4 and ids.shape == (3,) and (z[ids] >= kth - 1e-4).all(), (d, ids, np.argsort(z)[-3:])
print(f"logits max|diff| vs HF {d:.2g}; top-3 ids {ids.tolist()}")
PY
  "$BIN" extract --model "$HF/model-fp32" --ids "$ids" --id instructions/cot --weights norms \
    --out "$TMP/n.h5" --quiet || fail "extract --weights norms"
  "$PY" "$CAP" norms_only "$TMP/n.h5" || fail "--weights norms: value norms only"
  "$PY" "$CAP" same_norms "$TMP/c_full.h5" "$TMP/n.h5" || fail "--weights norms vs both: value norms differ"
  expect_usage() { # expected-substring args...: exit 2, the message, no file
    local want=$1 rc=0; shift
    "$@" > /dev/null 2> "$TMP/err" || rc=$?
    [ $rc = 2 ] && grep -q -- "$want" "$TMP/err" && [ ! -e "$TMP/x.h5" ] || fail "'$*': rc $rc, $(cat "$TMP/err")"
  }
  expect_usage "expected --store none or no --store" "$BIN" extract --model "$HF/model-fp32" --ids 1,2 --weights norms --store full --out "$TMP/x.h5"
  expect_usage "expected --store full or last_row" "$BIN" extract --model "$HF/model-fp32" --ids 1,2 --scores --store none --out "$TMP/x.h5"
  expect_usage "--weights expects probs, norms or both" "$BIN" extract --model "$HF/model-fp32" --ids 1,2 --weights x --out "$TMP/x.h5"
  expect_usage "--topk expects an integer" "$BIN" extract --model "$HF/model-fp32" --ids 1,2 --topk 0 --out "$TMP/x.h5"
  rc=0; "$BIN" extract --model "$HF/model-fp32" --ids 1,2 --topk 32001 --out "$TMP/x.h5" 2> "$TMP/err" || rc=$?
  [ $rc = 1 ] && grep -q "has 32000 tokens; expected 1 <= K <= 32000" "$TMP/err" && [ ! -e "$TMP/x.h5" ] || fail "--topk 32001: rc $rc, $(cat "$TMP/err")" ;;
no_overwrite)  # an existing output is never touched without --force
  need_data reference/hf-tiny-gqa
  echo "precious" > "$TMP/o.h5"
  if "$BIN" extract --model "$HF/model-fp32" --ids 1,2,3 --out "$TMP/o.h5" 2> "$TMP/err"; then
    fail "extract overwrote an existing file"
  fi
  grep -q "already exists" "$TMP/err" || fail "message does not say the file exists: $(cat "$TMP/err")"
  grep -q -- "--force" "$TMP/err" || fail "message gives no hint about --force"
  [ "$(cat "$TMP/o.h5")" = precious ] || fail "existing file was modified"
  "$BIN" extract --model "$HF/model-fp32" --ids 1,2,3 --out "$TMP/o.h5" --force || fail "--force did not overwrite"
  "$PY" -c "import h5py,sys; f=h5py.File(sys.argv[1]); assert f['attention/full'].shape==(3*4*3*3,) and f.attrs['format_version']==2" "$TMP/o.h5" || fail "forced file not valid" ;;
bad_input)  # clear errors, exit 1, no file left behind
  need_data reference/hf-tiny-gqa
  expect_err() { # expected-substring args...
    local want=$1; shift
    if "$@" > "$TMP/out" 2> "$TMP/err"; then fail "succeeded: $*"; fi
    grep -q -- "$want" "$TMP/err" || fail "'$*': stderr lacks '$want': $(cat "$TMP/err")"
    [ ! -e "$TMP/x.h5" ] || fail "'$*' left $TMP/x.h5 behind"
  }
  expect_err "no such file or directory" "$BIN" extract --model "$TMP/nope" --ids 1,2 --out "$TMP/x.h5"
  expect_err "outside the model's vocabulary" "$BIN" extract --model "$HF/model-fp32" --ids 1,32000 --out "$TMP/x.h5"
  expect_err "expected comma-separated" "$BIN" extract --model "$HF/model-fp32" --ids 1,x --out "$TMP/x.h5"
  expect_err "max_position_embeddings" "$BIN" extract --model "$HF/model-fp32" --ids "$(seq -s, 1 300)" --out "$TMP/x.h5"
  expect_err "prompt id" "$BIN" extract --model "$HF/model-fp32" --ids 1,2 --id "a/b/c" --out "$TMP/x.h5"
  expect_err "needs a tokenizer" "$BIN" extract --model "$DATA/models/stories260K/stories260K.bin" --text hi --out "$TMP/x.h5"
  expect_err "UTF-8" "$BIN" extract --model "$HF/model-fp32" --text $'bad \xff byte' --out "$TMP/x.h5"
  rc=0; "$BIN" extract --model "$HF/model-fp32" --out "$TMP/x.h5" 2> "$TMP/err" || rc=$?
  [ "$rc" = 2 ] || fail "missing --ids/--text: exit code $rc, expected 2 (usage)" ;;
default_model)  # the built-in default model: deterministic, loads through the HF path, runs
  "$BIN" make-model --out "$TMP/m1" || fail "make-model"
  "$BIN" make-model --out "$TMP/m2" || fail "make-model 2"
  cmp "$TMP/m1/model.safetensors" "$TMP/m2/model.safetensors" || fail "make-model is not deterministic"
  cmp "$TMP/m1/tokenizer.json" "$TMP/m2/tokenizer.json" || fail "tokenizer.json is not deterministic"
  if "$BIN" make-model --out "$TMP/m1" 2> "$TMP/err"; then fail "make-model overwrote without --force"; fi
  "$PY" -c "import json,sys; json.load(open(sys.argv[1]))" "$TMP/m1/tokenizer.json" || fail "tokenizer.json is not JSON"
  "$BIN" inspect --model "$TMP/m1" | grep -q "LlamaForCausalLM" || fail "inspect"
  "$BIN" extract --model "$TMP/m1" --text "What is 15 plus 27?" --out "$TMP/d.h5" || fail "extract on default model"
  "$PY" - "$TMP/d.h5" "$SRC/tests/common" <<'PYEOF' || fail "default model output"
import sys, h5py, numpy as np
sys.path.insert(0, sys.argv[2]); import h5v2
f = h5py.File(sys.argv[1], "r")
a = h5v2.attention(f, "prompt")
toks = list(f["tokens/token_str"].asstr()[()])
T = a.shape[-1]
assert a.shape == (4, 8, T, T), a.shape
assert np.all(a[..., np.triu(np.ones((T, T), bool), 1)] == 0)
assert np.abs(a.sum(-1) - 1).max() < 1e-5
assert toks[0] == "<s>", toks
assert "".join(toks[1:]).strip() == "What is 15 plus 27?".strip() or "".join(toks[1:]).replace("  ", " ").strip().startswith("What"), toks
# Llama-style digit splitting: "15" is two tokens
assert "1" in toks and "5" in toks, toks
print("default model ok:", T, "tokens", toks)
PYEOF
  ;;
*) echo "unknown case $CASE"; exit 2 ;;
esac
echo "test_extract $CASE: passed"
