#!/usr/bin/env bash
# run_fuzz.sh BIN TARGET SECONDS - one libFuzzer target for SECONDS, on a seed corpus generated
# here from ../shared/data and the project's own files (never copied into the repository).
# Exit 0 when the fuzzer found nothing; a crash, hang or sanitizer report fails, and the
# reproducer is kept (printed path). env: ATTNSWEEP_DATA_DIR, SRC, ATTNSWEEP (a fuzz-build binary),
# ATTNSWEEP_FUZZ_RUNS (optional: stop after that many executions), ATTNSWEEP_FUZZ_MAX_LEN (optional:
# libFuzzer's -max_len, the largest input in bytes; default: the largest seed)
set -uo pipefail
BIN=$1 TARGET=$2 SECS=$3
DATA=${ATTNSWEEP_DATA_DIR:-$SRC/../shared/data}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/attnsweep-fuzz-$TARGET-XXXXXX")
SEEDS=$WORK/seeds
mkdir -p "$SEEDS"
seed() { [ -f "$1" ] && cp "$1" "$SEEDS/$(basename "$1").$RANDOM"; }
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
case $TARGET in
sweep)
  for f in "$SRC"/jobs/*.yaml "$SRC"/config/*.yaml; do seed "$f"; done ;;
prompt_file)
  printf '{"id": "a", "text": "What is 15 plus 27?"}\n"Just a string"\n\n{"text": "caf\\u00e9"}\n' > "$SEEDS/p.jsonl"
  printf '{"text": "Q 15 plus 27", "item": 7, "gold": "42", "cot": true, "w": 0.5, "n": null, "spans": {"s": "15 plus"}}\n{"text": "x", "item": "a"}\n' > "$SEEDS/m.jsonl"
  printf 'one prompt per line\nsecond\r\n' > "$SEEDS/p.txt" ;;
model)
  "$ATTNSWEEP" make-model --out "$WORK/m" > /dev/null || exit 1
  export ATTNSWEEP_FUZZ_CONFIG=$WORK/m/config.json
  seed "$WORK/m/model.safetensors"
  seed "$DATA/models/stories260K/stories260K.bin"
  seed "$DATA/reference/hf-tiny-gqa/model-fp32/config.json" ;;
tokenizer)
  "$ATTNSWEEP" make-model --out "$WORK/m" > /dev/null || exit 1
  seed "$WORK/m/tokenizer.json"
  seed "$DATA/models/stories260K/tok512.bin"
  seed "$DATA/tokenizers/vectors/ggml-vocab-llama-spm.gguf"
  g=$DATA/tokenizers/vectors/ggml-vocab-llama-spm.gguf  # + the same vocabulary cut to 1000 pieces
  if [ -f "$g" ]; then /usr/bin/python3 "$SRC/tests/fuzz/small_gguf.py" "$g" "$SEEDS/small.gguf" 1000 || exit 1; fi ;;
encode)
  export ATTNSWEEP_FUZZ_TOKENIZER=$DATA/tokenizers/llama2/tokenizer.json
  [ -f "$ATTNSWEEP_FUZZ_TOKENIZER" ] || { echo "SKIP: $ATTNSWEEP_FUZZ_TOKENIZER is absent"; exit 77; }
  printf 'What is 15 plus 27?' > "$SEEDS/a"
  printf 'Caf\xc3\xa9 na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\n\ttabs' > "$SEEDS/b"
  printf 'bad \xff byte \xc3' > "$SEEDS/c" ;;
h5)
  "$ATTNSWEEP" make-model --out "$WORK/m" > /dev/null || exit 1
  for st in full last_row none; do
    (cd "$WORK" && "$ATTNSWEEP" extract --model m --text "What is 15 plus 27?" --store $st \
      --out "$SEEDS/o_$st.h5" --quiet) || exit 1
  done
  (cd "$WORK" && "$ATTNSWEEP" extract --model m --text "What is 15 plus 27?" --weights norms \
    --out "$SEEDS/o_norms.h5" --quiet) || exit 1  # value norms without probabilities (store none)
  # a sweep file with every optional part: generation, answers, logits, value norms, scores
  cat > "$WORK/all.yaml" <<'YAML'
model: {path: m}
output: {path: all.h5, store: last_row, dtype: float16, weights: both, scores: true, logits: true, topk: 3}
generate: {max_new_tokens: 4}
groups:
  - name: g
    template: "Q: What is {a} plus 2?"
    product: {a: [1, 40]}
    vars: {gold: "3"}
    spans: {q: "What is"}
analysis: {answer: gold, keywords: ["plus"]}
YAML
  (cd "$WORK" && "$ATTNSWEEP" run all.yaml --quiet && mv all.h5 "$SEEDS/o_all.h5") || exit 1 ;;
*) echo "unknown target $TARGET"; exit 2 ;;
esac
mkdir -p "$WORK/corpus"
echo "fuzz_$TARGET: $(ls "$SEEDS" | wc -l) seeds, ${SECS}s"
cd "$WORK" || exit 1
runs=()
# ATTNSWEEP_FUZZ_RUNS=N stops after N executions (or SECS, whichever comes first)
if [ -n "${ATTNSWEEP_FUZZ_RUNS:-}" ]; then runs=(-runs="$ATTNSWEEP_FUZZ_RUNS"); fi
if [ -n "${ATTNSWEEP_FUZZ_MAX_LEN:-}" ]; then runs+=(-max_len="$ATTNSWEEP_FUZZ_MAX_LEN"); fi
"$BIN" "${runs[@]}" -max_total_time="$SECS" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
  -artifact_prefix="$WORK/" "$WORK/corpus" "$SEEDS" 2>&1 | tail -25
rc=${PIPESTATUS[0]}
if [ "$rc" != 0 ]; then
  echo "FAIL: fuzz_$TARGET found a problem (exit $rc); reproducer(s): $(ls "$WORK"/crash-* "$WORK"/timeout-* "$WORK"/oom-* 2>/dev/null)"
  exit 1
fi
rm -rf "$WORK"
echo "fuzz_$TARGET: nothing found in ${SECS}s"
