#!/usr/bin/env bash
# check_format.sh - every C source and header follows the committed .clang-format.
# Skipped (exit 77) when clang-format is not installed.
set -uo pipefail
SRC=${SRC:?}
cd "$SRC"
CF=$(command -v clang-format || true)
[ -n "$CF" ] || { echo "SKIP: clang-format is not installed"; exit 77; }
if git rev-parse --git-dir > /dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h')
else
  mapfile -t files < <(find src include tests bench -name '*.[ch]')
fi
[ ${#files[@]} -gt 0 ] || { echo "FAIL: no sources found"; exit 1; }
bad=0
for f in "${files[@]}"; do
  if ! "$CF" --dry-run --Werror "$f" > /dev/null 2>&1; then
    echo "not formatted: $f   (fix: clang-format -i $f)"; bad=$((bad + 1))
  fi
done
echo "check_format: ${#files[@]} files, $bad not formatted ($($CF --version | head -1))"
[ $bad = 0 ]
