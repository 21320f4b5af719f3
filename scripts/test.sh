#!/usr/bin/env bash
# Installs dependencies, builds Strata, and runs the whole suite twice: a Release build (GCC), then
# an AddressSanitizer + UndefinedBehaviorSanitizer build (clang), then a short run of every
# libFuzzer target (scripts/fuzz.sh).
#
#   ./scripts/test.sh              everything
#   STRATA_SKIP_SANITIZE=1 ./scripts/test.sh   skip the sanitizer suite (quicker local loops)
#   STRATA_SKIP_FUZZ=1 ./scripts/test.sh       skip the fuzz run
#   STRATA_SKIP_FAULTS=1 ./scripts/test.sh     skip the fault campaign
#
# After the Release tests, a short fault campaign (tests/fault/campaign.py, about 2 minutes, a new
# seed each time, printed with the command that replays it) runs a three-broker cluster through
# kills, pauses, power-loss cuts and network partitions and checks every acknowledged record.
#
# Randomized tests print their seed; STRATA_SEED=<n> replays one.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

jobs=$(nproc 2>/dev/null || echo 2)

echo "== Release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

if [ "${STRATA_SKIP_FAULTS:-0}" != "1" ]; then
  echo "== fault campaign (tests/fault/campaign.py, about 2 minutes)"
  # It needs root and a private network namespace; where neither is allowed, say so and go on.
  if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
    python3 tests/fault/campaign.py --duration 75 --build build
  else
    echo "   skipped: the campaign needs root and a network namespace (unshare -n), for nftables"
  fi
fi

if [ "${STRATA_SKIP_SANITIZE:-0}" != "1" ]; then
  # One clang build serves both the sanitizer pass and the fuzzers (scripts/fuzz.sh reuses it):
  # every library and test is built with ASan + UBSan (and libFuzzer's coverage hooks), which
  # saves a third full build of the tree on a 2-core CI machine. `-DSTRATA_SANITIZE=ON` still gives
  # a GCC ASan+UBSan build for local use.
  echo "== ASan+UBSan build (clang-14) and tests"
  CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTRATA_FUZZ=ON -DSTRATA_BENCH=OFF >/dev/null
  cmake --build build-fuzz -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-fuzz --output-on-failure -j "$jobs"
fi
if [ "${STRATA_SKIP_FUZZ:-0}" != "1" ]; then
  ./scripts/fuzz.sh
fi
echo "== all tests passed"
