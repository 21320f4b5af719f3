#!/usr/bin/env bash
# Installs dependencies, builds Strata, and runs what exists so far: the storage engine.
#
# The broker (stratad) does not exist yet, so this runs a quick in-process benchmark of the log
# and a small demo: it writes a partition log under ./strata-data/demo-0 and inspects it with the
# offline `strata log` tools.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"

echo
echo "== Quick benchmark of the log: one short run, straight after a build, so expect noise."
echo "   README's figures come from the full run: build/bench/log_bench (a minute or two)."
build/bench/log_bench --quick --benchmark_filter='BM_Memcpy|BM_DiskWriteFsync|BM_PageCacheWrite|BM_Append/1024/16/.|BM_Replay' 2>/dev/null \
  | sed -n '/^Limits measured/,$p'

echo
echo "== Demo: a partition log of 10,000 records in ./strata-data/demo-0"
rm -rf strata-data/demo-0
mkdir -p strata-data
build/tests/make_test_log strata-data/demo-0 10000
build/client/strata log verify strata-data/demo-0
build/client/strata log dump strata-data/demo-0 --max-batches 2 | head -n 8

cat <<'TXT'

Try next:
  build/client/strata log dump strata-data/demo-0 --records --from-offset 5000 --max-batches 1
  build/client/strata log verify strata-data/demo-0
  build/client/strata --help
  build/bench/log_bench            # the full storage benchmark (a minute or two)
TXT
