#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan, in build-fuzz/) and runs each one
# for a short time from a generated seed corpus. Exits non-zero if any target finds a crash, and
# prints the input that reproduces it.
#
#   ./scripts/fuzz.sh                        every target, STRATA_FUZZ_SECONDS (default 10) each
#   ./scripts/fuzz.sh fuzz_batch fuzz_frame  just these
#   STRATA_FUZZ_SECONDS=600 ./scripts/fuzz.sh fuzz_request_produce   a longer session
#
# The corpus of each target grows in build-fuzz/corpus/<target> across runs; crashes are written to
# build-fuzz/crashes/<target>/. Replay one with: build-fuzz/fuzz/<target> <crash file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${STRATA_FUZZ_SECONDS:-10}
jobs=$(nproc 2>/dev/null || echo 2)
build=build-fuzz

echo "== fuzz build (clang-14, libFuzzer + ASan + UBSan)"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSTRATA_FUZZ=ON -DSTRATA_BENCH=OFF >/dev/null
# Only the fuzz targets and the seed writer: the rest of the tree is tested by scripts/test.sh.
cmake --build "$build" -j "$jobs" --target fuzz

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets <"$build/fuzz_targets.txt"
fi

seeds="$build/seeds"
rm -rf "$seeds"
"$build/fuzz/fuzz_seeds" "$seeds" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Runs one target; its report goes to $build/fuzz-<target>.report, and a failure leaves
# $build/fuzz-<target>.failed.
run_one() {
  local t=$1 corpus="$build/corpus/$1" crashes="$build/crashes/$1" log="$build/fuzz-$1.log"
  local report="$build/fuzz-$1.report"
  mkdir -p "$corpus" "$crashes"
  rm -f "$build/fuzz-$t.failed"
  local seed_dirs=()
  [ -d "$seeds/$t" ] && seed_dirs+=("$seeds/$t")
  # New inputs go to the first corpus directory; the seeds are only read.
  if "$build/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" "${seed_dirs[@]}" >"$log" 2>&1; then
    { echo "== $t (${seconds}s)"
      grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$log" | tr '\n' ' ' || true
      echo; } >"$report"
  else
    { echo "!! $t failed; log: $log"
      grep -E "ERROR: |runtime error|SUMMARY" "$log" | head -5 || true
      grep -E "Test unit written to" "$log" | sed 's/.*Test unit written to /   reproducer: /' || true
      echo "   replay: $build/fuzz/$t <reproducer>"; } >"$report"
    touch "$build/fuzz-$t.failed"
  fi
}

# One target per core at a time (each is single-threaded).
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true
failed=()
for t in "${targets[@]}"; do
  cat "$build/fuzz-$t.report"
  [ -e "$build/fuzz-$t.failed" ] && failed+=("$t")
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "== fuzzing found crashes in: ${failed[*]}"
  exit 1
fi
echo "== fuzzing: ${#targets[@]} targets, no crashes"
