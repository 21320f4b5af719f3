#!/usr/bin/env bash
# The Kafka listener's cost: the same workloads through Strata's native protocol (`strata bench`)
# and through its Kafka listener (bench/kafka_bench.cc, librdkafka), on one fresh broker per
# repetition, alternating which protocol goes first. Prints each figure's median with its spread
# and the ratio Kafka / native. docs/kafka.md#performance reports the figures.
#
#   bench/kafka_compare.sh [--runs N] [--records N] [--build-dir DIR]
#
#   W1  one producer, 1 KiB records, pipelined, acks=1, one partition
#   W4  replay W1's records from the start: through librdkafka's consumer, and through
#       kafka_bench's lean replay (Strata's own Kafka codec, no librdkafka), which shows the
#       broker's Kafka path without librdkafka's per-message cost
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
records=500000
build=build
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kafka_compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
log() { echo "== $(date +%T) $*" >&2; }

./scripts/setup.sh
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
log "building stratad strata kafka_bench in $build"
cmake --build "$build" -j2 --target stratad strata kafka_bench loopback_stream >/dev/null
stratad=$build/broker/stratad
strata=$build/client/strata
kafka_bench=$build/bench/kafka_bench

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-kafka-compare.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_broker() {  # a fresh broker on fresh data; sets pid, native, kafka
  rm -rf "$tmp/data"
  "$stratad" --data-dir "$tmp/data" --listen 127.0.0.1:0 --metrics-listen off \
    --kafka-listen 127.0.0.1:0 >"$tmp/stratad.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do
    native=$(grep -o "native protocol on [0-9.:]*" "$tmp/stratad.log" | awk '{print $4}' || true)
    kafka=$(grep -o "kafka protocol on [0-9.:]*" "$tmp/stratad.log" | awk '{print $4}' || true)
    [ -n "$native" ] && [ -n "$kafka" ] && return
    sleep 0.05
  done
  echo "kafka_compare.sh: stratad did not start:" >&2
  cat "$tmp/stratad.log" >&2
  exit 1
}
stop_broker() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

results=$tmp/results.jsonl
# The machine's limit for W4: one raw loopback TCP stream (1 MiB writes and reads).
log "limit: one raw loopback TCP stream"
"$build/bench/loopback_stream" 1024 >"$tmp/stream.json"
for r in $(seq 1 "$runs"); do
  order="native kafka"
  [ $((r % 2)) -eq 0 ] && order="kafka native"
  for side in $order; do
    start_broker
    "$strata" --bootstrap "$native" topic create w1 --partitions 1 >/dev/null
    if [ "$side" = native ]; then
      w1=$("$strata" --bootstrap "$native" bench produce --topic w1 --partitions 1 \
             --records "$records" --warmup 0 --json)
      w4=$("$strata" --bootstrap "$native" bench consume --topic w1 --records "$records" \
             --warmup 0 --json)
    else
      w1=$("$kafka_bench" produce "$kafka" w1 "$records" 1024 1 none)
      w4=$("$kafka_bench" consume "$kafka" w1 "$records")
      w4_lean=$("$kafka_bench" replay "$kafka" w1 "$records")
      echo "{\"run\":$r,\"side\":\"kafka-lean\",\"w4\":$w4_lean}" >>"$results"
    fi
    stop_broker
    echo "{\"run\":$r,\"side\":\"$side\",\"w1\":$w1,\"w4\":$w4}" >>"$results"
    log "run $r/$runs $side: W1 $(grep -o '"msgs_per_s":[0-9.]*' <<<"$w1" | cut -d: -f2) msgs/s," \
        "W4 $(grep -o '"msgs_per_s":[0-9.]*' <<<"$w4" | cut -d: -f2) msgs/s"
  done
done

python3 - "$results" "$runs" "$records" "$tmp/stream.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
stream = json.load(open(sys.argv[4]))["loopback_stream_mib_s"]
print(f"\nKafka listener vs native protocol: {sys.argv[2]} runs of {sys.argv[3]} 1 KiB records, "
      "medians (min..max), msgs/s")
print(f"{'workload':<44} {'native (strata bench)':>26} {'Kafka (librdkafka)':>26} {'Kafka/native':>13}")
def fig(side, w):
    v = [r[w]["msgs_per_s"] for r in rows if r["side"] == side and w in r]
    return (statistics.median(v), min(v), max(v))
cell = lambda m: f"{m[0]:>10,.0f} ({m[1]:,.0f}..{m[2]:,.0f})"
for w, side, name in (("w1", "kafka", "W1 produce, 1 producer, acks=1, 1 partition"),
                      ("w4", "kafka", "W4 replay W1 (librdkafka consumer)"),
                      ("w4", "kafka-lean", "W4 replay W1 (kafka_bench replay)")):
    native, kafka = fig("native", w), fig(side, w)
    print(f"{name:<44} {cell(native):>26} {cell(kafka):>26} {kafka[0] / native[0]:>13.2f}")
print(f"limit: one loopback TCP stream moves {stream:,.0f} MiB/s, "
      f"{stream * 1024:,.0f} 1 KiB records/s at most (W4's ceiling)")
PY
