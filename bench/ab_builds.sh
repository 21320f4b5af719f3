#!/usr/bin/env bash
# Two builds of Strata side by side on the broker's own workloads, alternating run by run so the
# machine's drift falls on both alike: the check that a change lost no throughput. bench/compare.sh
# measures one build against Redis and NATS; this measures a build against an earlier one.
#
#   bench/ab_builds.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [--rounds N]
#
# Each build dir must hold broker/stratad and client/strata (build one of an older commit with
# `git worktree add /tmp/before REV && cmake -S /tmp/before -B /tmp/before/build && cmake --build
# /tmp/before/build --target stratad strata`). Every run starts a fresh broker of the build under
# test with a fresh data directory, drives it with the AFTER build's `strata bench` (so only the
# broker differs), and stops it by PID. W4 also swaps the clients (broker x client, four ways), as a
# replay's cost is mostly the consumer's. Workloads are those of docs/compare.md:
#   W2  20,000 produces one at a time (acks=1)
#   W3  2,000 produces one at a time, each fsynced (acks=all)
#   W4  replay 500,000 x 1 KiB from one partition
#   W6  2 producers x 2 partitions, 1,000,000 x 100 B
# Prints each run's msgs/s, then per workload the medians and after/before.
set -euo pipefail
usage() { sed -n 6,7p "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
before=$(cd "$1" && pwd); after=$(cd "$2" && pwd); shift 2
rounds=5
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    *) usage ;;
  esac
done
for b in "$before" "$after"; do
  [ -x "$b/broker/stratad" ] && [ -x "$b/client/strata" ] ||
    { echo "$b: no broker/stratad or client/strata; build them first" >&2; exit 2; }
done

pid=
data=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ -n "$data" ] && rm -rf "$data" "$data.log"
  pid=; data=
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_broker() {  # build_dir -> sets pid, data, port
  data=$(mktemp -d)
  port=$(free_port)
  "$1/broker/stratad" --data-dir "$data" --listen "127.0.0.1:$port" --metrics-listen off \
    >"$data.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "the broker of $1 did not start; its log: $data.log" >&2
  exit 1
}

msgs_per_s() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["msgs_per_s"]))'; }

results=$(mktemp)
run() {  # workload label broker_build client_build bench-args...
  local workload=$1 label=$2 broker=$3 client=$4; shift 4
  start_broker "$broker"
  if [ "$workload" = W4 ]; then
    "$after/client/strata" --bootstrap "127.0.0.1:$port" bench produce --topic w4 --partitions 1 \
      --records 500000 --warmup 0 --json >/dev/null
  fi
  local v
  v=$("$client/client/strata" --bootstrap "127.0.0.1:$port" bench "$@" --json | msgs_per_s)
  cleanup
  echo "$workload $label $v" | tee -a "$results"
}

for r in $(seq "$rounds"); do
  echo "== round $r/$rounds" >&2
  run W2 before "$before" "$after" produce --topic w2 --partitions 1 --sync --records 20000
  run W2 after "$after" "$after" produce --topic w2 --partitions 1 --sync --records 20000
  run W3 before "$before" "$after" produce --topic w3 --partitions 1 --sync --acks all --records 2000
  run W3 after "$after" "$after" produce --topic w3 --partitions 1 --sync --acks all --records 2000
  for pair in "before before" "after after" "before after" "after before"; do
    set -- $pair
    b=$before; [ "$1" = after ] && b=$after
    c=$before; [ "$2" = after ] && c=$after
    label=$1; [ "$1" != "$2" ] && label="broker-$1/client-$2"
    run W4 "$label" "$b" "$c" consume --topic w4 --records 500000 --warmup 0
  done
  run W6 before "$before" "$after" produce --topic w6 --partitions 2 --producers 2 \
    --partition-per-producer --record-bytes 100 --records 1000000 --warmup 0
  run W6 after "$after" "$after" produce --topic w6 --partitions 2 --producers 2 \
    --partition-per-producer --record-bytes 100 --records 1000000 --warmup 0
done

python3 - "$results" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    w, label, v = line.split()
    runs[(w, label)].append(int(v))
print("| workload | build | msgs/s median | min..max | after/before |")
print("| --- | --- | --- | --- | --- |")
for w in sorted({w for w, _ in runs}):
    base = statistics.median(runs[(w, "before")])
    for (ww, label), vs in sorted(runs.items()):
        if ww != w:
            continue
        m = statistics.median(vs)
        print(f"| {w} | {label} | {m:,.0f} | {min(vs):,}..{max(vs):,} | {m / base:.2f} |")
PY
rm -f "$results"
