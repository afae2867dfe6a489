#!/usr/bin/env bash
# Runs every fuzz target of a DOORMAN_BUILD_FUZZ build for SECONDS each, one after the other.
# Each starts from the repository's seeds (fuzz/corpus/<target>/) copied into a scratch corpus
# under the build directory, which keeps growing from run to run while the repository's stays as
# it is. A finding (a crash, a broken property, a leak, a timeout) is saved under
# BUILD/fuzz/findings/<target>/ and makes the run fail, after the other targets have run.
#
#   scripts/fuzz.sh BUILD SECONDS [libFuzzer options...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/fuzz.sh BUILD SECONDS [libFuzzer options...]}
seconds=${2:?usage: scripts/fuzz.sh BUILD SECONDS [libFuzzer options...]}
shift 2

targets_file=$build/fuzz/targets.txt
[ -s "$targets_file" ] || { echo "fuzz: $targets_file is missing: build with -DDOORMAN_BUILD_FUZZ=ON" >&2; exit 2; }

failed=()
while read -r target; do
  [ -n "$target" ] || continue
  corpus=$build/fuzz/corpus/$target
  findings=$build/fuzz/findings/$target
  log=$build/fuzz/$target.log
  mkdir -p "$corpus" "$findings"
  [ -d "fuzz/corpus/$target" ] && cp -n "fuzz/corpus/$target"/* "$corpus"/ 2>/dev/null || true
  options=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1
           -artifact_prefix="$findings/")
  [ -f "fuzz/$target.dict" ] && options+=(-dict="fuzz/$target.dict")
  echo "fuzz: $target for ${seconds}s (corpus $corpus)" >&2
  if "$build/fuzz/fuzz-$target" "${options[@]}" "$@" "$corpus" >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|^Done ' "$log" >&2 || tail -n 3 "$log" >&2
  else
    tail -n 40 "$log" >&2
    echo "fuzz: $target found a problem: input in $findings/, log in $log" >&2
    failed+=("$target")
  fi
done <"$targets_file"

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
