#!/usr/bin/env bash
# Installs dependencies, builds Strata, and runs the whole suite twice: a Release build, then an
# AddressSanitizer + UndefinedBehaviorSanitizer build.
#
#   ./scripts/test.sh              everything
#   STRATA_SKIP_SANITIZE=1 ./scripts/test.sh   the Release suite only (quicker, for local loops)
#   STRATA_SKIP_FUZZ=1 ./scripts/test.sh       without the short fuzz run (scripts/fuzz.sh)
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

if [ "${STRATA_SKIP_SANITIZE:-0}" != "1" ]; then
  echo "== ASan+UBSan build and tests"
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_SANITIZE=ON \
    -DSTRATA_BENCH=OFF >/dev/null
  cmake --build build-asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"
fi
if [ "${STRATA_SKIP_FUZZ:-0}" != "1" ]; then
  ./scripts/fuzz.sh
fi
echo "== all tests passed"
