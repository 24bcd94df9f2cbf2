#!/usr/bin/env bash
# test_octave.sh FILE PROMPT_INDEX - GNU Octave reads one prompt of an attnsweep format-2 file the
# way docs/FORMAT.md documents for MATLAB / Octave users, and gets exactly what h5py reads.
#
# read_octave.m uses the octave-netcdf package (netCDF-4 reads HDF5 files and their dimension
# scales): ncread(file, '/group/var', start, count) for the prompt's row of /sweep, its text
# (/text/utf8), token ids, offsets and positions (slices of /tokens), its attention (the slice of
# the flat /attention/full reshaped to [T T H L], or the [H L T] block of /attention/last_row) and
# its /metrics/head_entropy row ([H L]). Every value must equal h5py's exactly (float16 attention
# converted to double), with Octave's axes the reverse of h5py's.
#
# Exit 0 pass, 1 fail, 77 skip: only when octave is not installed and CI is not set (with CI set,
# a missing octave is a failure). A missing octave-netcdf package is a failure.
#   env: PY (python with numpy + h5py, default /usr/bin/python3), CI
set -uo pipefail
FILE=${1:-}
IDX=${2:-}
if [ -z "$FILE" ] || [ -z "$IDX" ]; then
  echo "usage: test_octave.sh FILE PROMPT_INDEX"; exit 2
fi
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-/usr/bin/python3}
in_ci() { case "${CI:-}" in "" | 0 | false | no) return 1 ;; *) return 0 ;; esac; }

OCT=$(command -v octave-cli || command -v octave || true)
if [ -z "$OCT" ]; then
  if in_ci; then
    echo "FAIL: octave is not installed (CI=$CI); scripts/install-deps.sh installs octave octave-netcdf"
    exit 1
  fi
  echo "SKIP: octave is not installed (Debian: octave octave-netcdf; scripts/install-deps.sh)"
  exit 77
fi
[ -f "$FILE" ] || { echo "FAIL: $FILE not found"; exit 1; }
case "$IDX" in '' | *[!0-9]*) echo "FAIL: PROMPT_INDEX must be a row number (0-based), got '$IDX'"; exit 2 ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/attnsweep-octave-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export AS_HERE=$HERE AS_FILE=$FILE AS_INDEX=$IDX AS_OUT=$TMP/octave.txt HDF5_USE_FILE_LOCKING=FALSE
rc=0
"$OCT" --norc --quiet --no-history --eval \
  "addpath(getenv('AS_HERE')); read_octave(getenv('AS_FILE'), str2double(getenv('AS_INDEX')), getenv('AS_OUT'))" \
  2> "$TMP/err" || rc=$?
# Octave 7.3 (Debian 12) prints "ignoring const execution_exception& while preparing to exit" at every exit
grep -v "ignoring const execution_exception" "$TMP/err" >&2
if [ $rc = 3 ]; then
  echo "FAIL: Octave's netcdf package is missing (Debian: octave-netcdf; scripts/install-deps.sh)"; exit 1
fi
[ $rc = 0 ] || { echo "FAIL: octave exited with $rc"; exit 1; }

"$PY" - "$FILE" "$IDX" "$TMP/octave.txt" <<'PY'
import sys

import h5py
import numpy as np

path, i, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
got = {}
for line in open(out):
    name, size, vals = line.rstrip("\n").split("\t")
    got[name] = (tuple(int(x) for x in size.split(",")), np.array([float(v) for v in vals.split()]))
f = h5py.File(path, "r")
sw = f["sweep"]
L, H = int(f.attrs["n_layers"]), int(f.attrs["n_heads"])
T, s = int(sw["n_tokens"][i]), int(sw["token_start"][i])
a, n = int(sw["text_start"][i]), int(sw["text_length"][i])
want = {  # h5py's arrays (C order); Octave's are the same values with the axes reversed
    "n_tokens": np.array(T), "token_start": np.array(s), "status": sw["status"][i],
    "text": f["text/utf8"][a:a + n], "token_id": f["tokens/token_id"][s:s + T],
    "offsets": f["tokens/offsets"][s:s + T], "position": f["tokens/position"][s:s + T],
}
store = f.attrs["store"].decode()
if store == "full":
    a0 = int(sw["attention_start"][i])
    want["attention_start"] = np.array(a0)
    want["full"] = f["attention/full"][a0:a0 + L * H * T * T].reshape(L, H, T, T)
elif store == "last_row":
    want["last_row"] = f["attention/last_row"][s:s + T]
if "metrics/head_entropy" in f:
    want["head_entropy"] = f["metrics/head_entropy"][i]
bad = 0
for name, w in want.items():
    w = np.asarray(w)
    if name not in got:
        print(f"FAIL {name}: not read by Octave")
        bad += 1
        continue
    size, v = got[name]
    oct_shape = tuple(reversed(w.shape)) if w.ndim >= 2 else (w.size, 1)
    while len(oct_shape) > 2 and oct_shape[-1] == 1:  # Octave drops trailing singleton axes
        oct_shape = oct_shape[:-1]
    x = w.astype(np.float64).ravel()  # C order of h5py == column-major order of Octave's reversed axes
    same = v.shape == x.shape and np.array_equal(v, x, equal_nan=True)
    ok = same and size == oct_shape
    print(f"{'ok  ' if ok else 'FAIL'} {name}: Octave size {size} (h5py {w.shape} {w.dtype}), "
          f"{x.size} values {'identical' if same else 'DIFFER'}"
          + ("" if same or v.shape != x.shape else f", max |diff| {np.nanmax(np.abs(v - x)):.3g}"))
    bad += not ok
for name in set(got) - set(want):
    print(f"FAIL {name}: read by Octave but not expected for store {store}")
    bad += 1
print(f"test_octave: {path} prompt {i} (store {store}, dtype {f.attrs['dtype'].decode()}): {len(want)} quantities, {bad} failed")
sys.exit(1 if bad else 0)
PY
