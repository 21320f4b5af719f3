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

# The addresses stratad will use, so the commands below reach it (flags win over the defaults).
listen=127.0.0.1:9292
metrics=127.0.0.1:9300
kafka=127.0.0.1:9092  # Kafka clients (docs/kafka.md); --kafka-listen off turns it off
kafka_flag=(--kafka-listen "$kafka")
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --listen) listen=${args[i + 1]:-$listen} ;;
    --listen=*) listen=${args[i]#--listen=} ;;
    --metrics-listen) metrics=${args[i + 1]:-$metrics} ;;
    --metrics-listen=*) metrics=${args[i]#--metrics-listen=} ;;
    --kafka-listen) kafka=${args[i + 1]:-$kafka}; kafka_flag=() ;;
    --kafka-listen=*) kafka=${args[i]#--kafka-listen=}; kafka_flag=() ;;
  esac
done
strata="build/client/strata"
if [ "$listen" != "127.0.0.1:9292" ]; then strata="build/client/strata --bootstrap $listen"; fi

cat <<TXT

== Starting stratad: native protocol on $listen, Kafka clients on $kafka, metrics on
   http://$metrics/metrics, data in ./strata-data. Ctrl-C stops it cleanly.

In another terminal, try:
  $strata topic create orders --partitions 8
  printf 'k1:hello\nk2:world\n' | $strata produce orders --key-separator :
  $strata consume orders --from earliest --count 2 --format json
  $strata consume orders --group billing          # as a member of consumer group billing
  $strata group describe billing                  # its members, committed offsets, lag
  $strata topic describe orders
  $strata bench produce --duration 5          # throughput and latency, live broker
  curl -s http://$metrics/metrics | grep strata_partition
  build/client/strata log verify strata-data/orders-0     # offline check (stop stratad first)
  build/client/strata --help
  kcat -b $kafka -L                               # the same broker, as a Kafka client sees it
  kcat -b $kafka -C -t orders -o beginning -e     # what strata produce wrote

TXT
exec build/broker/stratad --data-dir ./strata-data "${kafka_flag[@]}" "$@"
