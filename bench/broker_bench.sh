#!/usr/bin/env bash
# The single-node broker's throughput and latency (`strata bench`) next to the storage engine's
# in-process append rate (`log_bench`), measured in one session on this machine, as a markdown
# table. Each figure is the median of --runs runs; the ratio column divides the broker's MiB/s by
# the in-process rate of the matching log_bench workload (1 KiB records, 256-record batches; no
# fsync for acks=1, group-committed fsync for acks=all), which is the cost of the network path.
#
#   bench/broker_bench.sh [--runs N] [--duration S]      (defaults: 3 runs of 10 s)
#
# Needs a Release build in build/ (./scripts/run.sh or ./scripts/test.sh make one). Starts its own
# stratad on a free loopback port with data in a temporary directory, and always stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
duration=10
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--duration S]" >&2; exit 2 ;;
  esac
done
strata=build/client/strata
stratad=build/broker/stratad
log_bench=build/bench/log_bench
for b in "$strata" "$stratad" "$log_bench"; do
  [ -x "$b" ] || { echo "$b is missing: build first (./scripts/run.sh or ./scripts/test.sh)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-broker-bench.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "n/a"; else print v[int((NR + 1) / 2)]}'; }
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }  # field NAME < one JSON object

echo "== in-process appends (log_bench, median of 3)" >&2
"$log_bench" --dir="$tmp" \
  --benchmark_filter='BM_Memcpy|BM_DiskWriteFsync|BM_Append/1024/256/[01]/1/' 2>/dev/null >"$tmp/log_bench.txt"
limits=$(grep '^Limits measured' "$tmp/log_bench.txt" | sed 's/; fresh page-cache.*//')
# The broker appends by pwrite (log_append_path = "write"): compare with the same path in-process.
inproc0=$(awk -F'|' '$2 ~ /BM_Append\/1024\/256\/0\/1 / {gsub(/ /, "", $3); print $3}' "$tmp/log_bench.txt")
inproc1=$(awk -F'|' '$2 ~ /BM_Append\/1024\/256\/1\/1 / {gsub(/ /, "", $3); print $3}' "$tmp/log_bench.txt")

"$stratad" --data-dir "$tmp/data" --listen 127.0.0.1:0 --metrics-listen off --log-level warn \
  >"$tmp/stratad.log" 2>&1 &
pid=$!
port=
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*native protocol on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/stratad.log")
  [ -n "$port" ] && break
  sleep 0.05
done
# --log-level warn hides the start-up line: fall back to asking the kernel.
if [ -z "$port" ]; then
  sleep 0.5
  port=$(ss -ltnp 2>/dev/null | awk -v p="pid=$pid," '$0 ~ p {split($4, a, ":"); print a[2]; exit}')
fi
[ -n "$port" ] || { echo "stratad did not start:" >&2; cat "$tmp/stratad.log" >&2; exit 1; }
bench() { "$strata" --bootstrap "127.0.0.1:$port" bench "$@" --json; }

declare -A rows
run_case() {  # run_case NAME ARGS...
  local name=$1
  shift
  : >"$tmp/$name.json"
  for i in $(seq 1 "$runs"); do
    echo "== $name run $i/$runs: strata bench $*" >&2
    bench "$@" >>"$tmp/$name.json"
    echo >>"$tmp/$name.json"
  done
  local m
  m=$(grep -c . "$tmp/$name.json")
  [ "$m" -eq "$runs" ] || { echo "$name: expected $runs results" >&2; exit 1; }
  rows[$name]="$(field msgs_per_s <"$tmp/$name.json" | median) $(field mib_per_s <"$tmp/$name.json" | median) $(field p50 <"$tmp/$name.json" | median) $(field p99 <"$tmp/$name.json" | median) $(field p999 <"$tmp/$name.json" | median) $(field max <"$tmp/$name.json" | median)"
}

run_case produce_acks1 produce --topic bench-acks1 --acks 1 --duration "$duration"
run_case produce_acksall produce --topic bench-acksall --acks all --duration "$duration"
run_case produce_acksall_4p produce --topic bench-acksall-4p --acks all --producers 4 --duration "$duration"
run_case consume consume --topic bench-acks1 --duration "$duration"
run_case e2e_10k e2e --topic bench-e2e --rate 10000 --duration "$duration"

echo
echo "$limits; in-process appends of 1 KiB records in 256-record batches: $inproc0 MiB/s without fsync, $inproc1 MiB/s with group-committed fsyncs."
echo
echo "| workload | msgs/s | MiB/s | of in-process | p50 ms | p99 ms | p99.9 ms | max ms |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
row() {  # row LABEL NAME INPROC
  read -r msgs mib p50 p99 p999 max <<<"${rows[$2]}"
  local ratio=""
  [ -n "$3" ] && ratio=$(awk -v a="$mib" -v b="$3" 'BEGIN {printf "%.3f", a / b}')
  printf '| %s | %.0f | %.1f | %s | %s | %s | %s | %s |\n' "$1" "$msgs" "$mib" "$ratio" "$p50" "$p99" "$p999" "$max"
}
row "produce acks=1, 1 producer (closed loop)" produce_acks1 "$inproc0"
row "produce acks=all, 1 producer (closed loop)" produce_acksall "$inproc1"
row "produce acks=all, 4 producers (closed loop)" produce_acksall_4p "$inproc1"
row "consume from earliest" consume ""
row "e2e, open loop at 10,000/s" e2e_10k ""
