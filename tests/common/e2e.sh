# e2e.sh - shared set-up of the bash end-to-end tests (sourced, not run).
#   usage: HERE=...; source "$HERE/../common/e2e.sh" TAG
# Reads ATTNSWEEP (the binary), MPIEXEC, ATTNSWEEP_DATA_DIR, PY and SRC from the environment
# (CTest sets them); makes a scratch folder $TMP (removed on exit) and cd's into it; defines
# fail, need_data (exit 77 = CTest skip when reference data is absent), mpirun_n,
# default_model (the built-in model in ./models/default) and check_refused.
BIN=${ATTNSWEEP:?}
MPIEXEC=${MPIEXEC:-mpiexec}
DATA=${ATTNSWEEP_DATA_DIR:-}
PY=${PY:-/usr/bin/python3}
SRC=${SRC:-$(cd "$HERE/../.." && pwd)}
HF=$DATA/reference/hf-tiny-gqa
export SRC
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
export OPENBLAS_NUM_THREADS=1 HDF5_USE_FILE_LOCKING=FALSE
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attnsweep-${1:-test}-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
need_data() {
  if [ ! -e "$DATA/$1" ]; then
    echo "SKIP: reference data $DATA/$1 not found (configure with -DATTNSWEEP_DATA_DIR=...)"
    exit 77
  fi
}
mpirun_n() { local n=$1; shift; "$MPIEXEC" --oversubscribe -n "$n" "$@"; }
default_model() { [ -d models/default ] || "$BIN" make-model --out models/default > /dev/null || fail "make-model"; }
# check_refused NAME WANT...: the sweep YAML on stdin, saved as NAME.yaml, is refused by
# `run --dry-run` with exit 1 and a message holding every WANT (fixed strings)
check_refused() {
  local name=$1; shift
  cat > "$name.yaml"
  rc=0; "$BIN" run "$name.yaml" --dry-run > out 2> err || rc=$?
  [ $rc = 1 ] || { cat out err; fail "$name: exit code $rc, expected 1"; }
  for want in "$@"; do grep -qF -- "$want" err || { cat err; fail "$name: message lacks '$want'"; }; done
  echo "ok $name: $(head -c 200 err)"
}
