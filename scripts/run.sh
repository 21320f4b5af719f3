#!/usr/bin/env bash
# Installs dependencies, builds Strata, and starts a single-node broker (stratad) in the
# foreground with its data in ./strata-data, after printing the commands to try next.
# Ctrl-C (SIGINT) or SIGTERM stops it cleanly. Extra arguments go to stratad, e.g.
#   ./scripts/run.sh --listen 127.0.0.1:9393 --log-level warn
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"

mkdir -p strata-data
cat <<'TXT'

== Starting stratad: native protocol on 127.0.0.1:9292, metrics on http://127.0.0.1:9300/metrics,
   data in ./strata-data. Ctrl-C stops it cleanly.

In another terminal, try:
  build/client/strata topic create orders --partitions 8
  printf 'k1:hello\nk2:world\n' | build/client/strata produce orders --key-separator :
  build/client/strata consume orders --from earliest --count 2 --format json
  build/client/strata topic describe orders
  build/client/strata bench produce --duration 5          # throughput and latency, live broker
  curl -s http://127.0.0.1:9300/metrics | grep strata_partition
  build/client/strata log verify strata-data/orders-0     # offline check (stop stratad first)
  build/client/strata --help

TXT
exec build/broker/stratad --data-dir ./strata-data "$@"
