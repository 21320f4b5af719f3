#!/usr/bin/env bash
# The cluster's costs on this machine: how long a partition is without a writable leader when its
# leader is killed (kill -9) or stopped (SIGTERM), and what replication costs a producer (acks=all
# with 3 replicas against acks=1 with 1), next to the machine's limits measured in the same run
# (fio: 4 KiB write + fdatasync latency, sequential write bandwidth; the raw loopback round trip).
# Prints markdown tables on stdout (progress on stderr) and writes every figure as JSON.
#
#   bench/cluster_bench.sh [--trials N] [--quick] [--duration S] [--rounds R] [--json FILE]
#                          [--keep] [--no-replication]
#
#   --trials N    failover trials per signal (default 20; --quick 3)
#   --duration S  seconds of each replication throughput run (default 10; --quick 3)
#   --rounds R    alternating rounds of the two replication configurations (default 3; --quick 1)
#   --json FILE   where the JSON goes (default docs/perf/cluster-YYYY-MM-DD.json; --quick: only
#                 inside the run's folder, unless given)
#   --keep        keep the cluster's folder (broker and etcd logs, data, raw figures)
#   --no-replication  failover only, with no other topic in the cluster (the replication topics'
#                 partitions give each follower a fetcher per leader broker already)
#
# The cluster is scripts/cluster.sh's: etcd and 3 brokers on 127.0.0.1, ports from
# $STRATA_CLUSTER_PORT_BASE (default 9400: brokers on base+1..3, metrics on base+101..103, etcd on
# base+90/91), data and logs in $STRATA_CLUSTER_DIR (default a new folder under /tmp), which must
# not hold a cluster already. Everything the script starts is stopped by pid on exit, failure
# included. Needs a Release build in build/ with the targets stratad, strata, cluster_failover and
# loopback_rtt, and python3 for the report (bench/cluster_bench_report.py).
#
# Failover, per trial: wait until the failover topic (1 partition, 3 replicas, min ISR 2) has a
# full ISR and is led by its preferred replica; send the signal to the leader's pid (the time is
# taken in the shell just before, from $EPOCHREALTIME); wait until the old process is gone and a
# record was acknowledged after that; restart the broker. `cluster_failover write` writes one
# acks=all record at a time all along and logs every acknowledgement. The failover time of a trial
# is the first acknowledgement on the new leader minus the signal time: the first acknowledged
# after the signal whose batch is in a newer leader epoch than the old leader's, or that needed a
# retry (an idempotent retry the new leader answered from its log). The leader epochs of the
# batches are read after the run, with the cluster stopped, by `strata log dump`.
set -euo pipefail
caller_pwd=$PWD
cd "$(dirname "$0")/.."
export LC_ALL=C

trials=20
duration=10
rounds=3
quick=0
trials_given=0
json=
keep=0
replication=1
while [ $# -gt 0 ]; do
  case $1 in
    --trials) trials=$2; trials_given=1; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --json) json=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-replication) replication=0; shift ;;
    -h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--trials N] [--quick] [--duration S] [--rounds R] [--json FILE] [--keep] [--no-replication]" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  [ "$trials_given" = 1 ] || trials=3
  duration=3
  rounds=1
fi
case $json in
  "") ;;
  /*) ;;
  *) json=$caller_pwd/$json ;;
esac
[ -n "$json" ] || [ "$quick" = 1 ] || json=$PWD/docs/perf/cluster-$(date -u +%F).json

strata=build/client/strata
stratad=build/broker/stratad
failover=build/bench/cluster_failover
loopback_rtt=build/bench/loopback_rtt
for b in "$strata" "$stratad" "$failover" "$loopback_rtt"; do
  [ -x "$b" ] || {
    echo "$b is missing: cmake --build build --target stratad strata cluster_failover loopback_rtt" >&2
    exit 1
  }
done
for tool in etcd python3 curl ss; do
  command -v "$tool" >/dev/null || { echo "cluster_bench.sh: needs $tool" >&2; exit 1; }
done

export STRATA_CLUSTER_PORT_BASE=${STRATA_CLUSTER_PORT_BASE:-9400}
base=$STRATA_CLUSTER_PORT_BASE
if [ -n "${STRATA_CLUSTER_DIR:-}" ]; then
  if compgen -G "$STRATA_CLUSTER_DIR/broker-*" >/dev/null || [ -e "$STRATA_CLUSTER_DIR/etcd" ]; then
    echo "cluster_bench.sh: $STRATA_CLUSTER_DIR holds a cluster already; give an empty folder" >&2
    exit 1
  fi
  mkdir -p "$STRATA_CLUSTER_DIR"
else
  STRATA_CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/strata-cluster-bench.XXXXXX")
  export STRATA_CLUSTER_DIR
fi
dir=$STRATA_CLUSTER_DIR
# Another process on one of our ports would take our place silently (etcd's health check would
# pass against someone else's etcd).
for port in $((base + 1)) $((base + 2)) $((base + 3)) $((base + 101)) $((base + 102)) \
  $((base + 103)) $((base + 90)) $((base + 91)); do
  if ss -ltnH "sport = :$port" | grep -q .; then
    echo "cluster_bench.sh: port $port is in use; pick another STRATA_CLUSTER_PORT_BASE" >&2
    exit 1
  fi
done
B=127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))
raw=$dir/bench
mkdir -p "$raw"

writer_pid=
cleanup() {
  local status=$?
  set +e
  if [ -n "$writer_pid" ] && kill -0 "$writer_pid" 2>/dev/null; then
    kill -TERM "$writer_pid"
    for _ in $(seq 1 100); do kill -0 "$writer_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$writer_pid" 2>/dev/null && kill -KILL "$writer_pid"
    wait "$writer_pid" 2>/dev/null
  fi
  # Stops etcd and every broker by the pids in their pid files (SIGTERM, then SIGKILL after 10 s).
  scripts/cluster.sh down >>"$raw/cluster.log" 2>&1
  if [ "$keep" = 1 ] || [ "$status" != 0 ]; then
    echo "cluster_bench.sh: the cluster's folder (logs, data, raw figures) is kept: $dir" >&2
  else
    rm -rf "$dir"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# --- the machine's limits ---------------------------------------------------------------------

log "limits: fio 4 KiB write + fdatasync, sequential 1 MiB writes; loopback round trip"
fio_dir=$dir/fio
mkdir -p "$fio_dir"
sync_ios=$([ "$quick" = 1 ] && echo 200 || echo 1000)
seq_size=$([ "$quick" = 1 ] && echo 256M || echo 1G)
limits_fio() {
  fio --name=sync --directory="$fio_dir" --rw=write --bs=4k --size=$((sync_ios * 4))k \
    --fdatasync=1 --ioengine=psync --output-format=json 2>>"$raw/limits.err" |
    python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
w, s = j["write"]["clat_ns"]["percentile"], j["sync"]["lat_ns"]["percentile"]
ms = lambda p: (w[p] + s[p]) / 1e6
print(json.dumps({"fdatasync_p50_ms": ms("50.000000"), "fdatasync_p99_ms": ms("99.000000")}))'
  rm -rf "${fio_dir:?}"/*
  fio --name=seq --directory="$fio_dir" --rw=write --bs=1M --size="$seq_size" --ioengine=psync \
    --end_fsync=1 --output-format=json 2>>"$raw/limits.err" |
    python3 -c 'import json, sys; j = json.load(sys.stdin)["jobs"][0]["write"]; print(json.dumps({"seq_write_fsync_mib_s": j["bw_bytes"] / 2**20}))'
  rm -rf "$fio_dir"
}
if command -v fio >/dev/null; then
  limits_fio >"$raw/limits.fio.jsonl"
else
  echo "cluster_bench.sh: fio is not installed; the disk's limits are left out" >&2
  : >"$raw/limits.fio.jsonl"
fi
"$loopback_rtt" $([ "$quick" = 1 ] && echo 5000 || echo 20000) >"$raw/limits.rtt.jsonl"

# --- the cluster ------------------------------------------------------------------------------

log "starting etcd and 3 brokers in $dir (ports from $base)"
scripts/cluster.sh up 3 >>"$raw/cluster.log" 2>&1 || {
  echo "cluster_bench.sh: the cluster did not start; see $raw/cluster.log" >&2
  tail -5 "$raw/cluster.log" >&2
  exit 1
}
ttl=$("$stratad" --help 2>&1 | sed -n 's/^ *broker_lease_ttl_s *= *\([0-9]*\).*/\1/p' | head -1)
for _ in $(seq 1 100); do
  "$strata" --bootstrap "$B" cluster status >/dev/null 2>&1 && break
  sleep 0.2
done
ft=cluster-bench-failover
"$strata" --bootstrap "$B" topic create "$ft" --partitions 1 --replication-factor 3 \
  --min-insync-replicas 2 >>"$raw/cluster.log"
topics=$ft
if [ "$replication" = 1 ]; then
  "$strata" --bootstrap "$B" topic create cluster-bench-rf3 --partitions 3 --replication-factor 3 \
    --min-insync-replicas 2 >>"$raw/cluster.log"
  "$strata" --bootstrap "$B" topic create cluster-bench-rf1 --partitions 3 --replication-factor 1 \
    >>"$raw/cluster.log"
  topics="$ft cluster-bench-rf3 cluster-bench-rf1"
fi
for t in $topics; do
  "$failover" wait --bootstrap "$B" --topic "$t" --timeout-s 60 --preferred
done

# --- replication cost ---------------------------------------------------------------------------

# The same producer settings for both (strata bench's defaults: one producer, 1 KiB records,
# closed loop, 128 KiB batches, linger 1 ms), then one record at a time for the round trip.
: >"$raw/replication.jsonl"
for r in $(seq 1 "$((replication == 1 ? rounds : 0))"); do
  for cfg in rf3 rf1; do
    acks=$([ "$cfg" = rf3 ] && echo all || echo 1)
    log "replication round $r/$rounds: $cfg acks=$acks, closed loop ${duration}s"
    out=$("$strata" --bootstrap "$B" bench produce --topic "cluster-bench-$cfg" --acks "$acks" \
      --duration "$duration" --json)
    echo "{\"config\":\"$cfg\",\"round\":$r,\"kind\":\"throughput\",\"result\":$out}" >>"$raw/replication.jsonl"
    log "replication round $r/$rounds: $cfg acks=$acks, one at a time $((duration / 2 + 1))s"
    out=$("$strata" --bootstrap "$B" bench produce --topic "cluster-bench-$cfg" --acks "$acks" \
      --sync --duration $((duration / 2 + 1)) --json)
    echo "{\"config\":\"$cfg\",\"round\":$r,\"kind\":\"sync\",\"result\":$out}" >>"$raw/replication.jsonl"
  done
done

# --- failover -------------------------------------------------------------------------------

request_timeout_ms=1000
retry_backoff_ms=10
retry_backoff_max_ms=50
acks_file=$raw/acks.txt
: >"$acks_file"
"$failover" write --bootstrap "$B" --topic "$ft" --out "$acks_file" \
  --request-timeout-ms $request_timeout_ms --retry-backoff-ms $retry_backoff_ms \
  --retry-backoff-max-ms $retry_backoff_max_ms 2>>"$raw/writer.log" &
writer_pid=$!
: >"$raw/trials.jsonl"

# Whether PID still runs. A zombie has exited: this VM's init reaps orphans 1-2 s late, and
# kill -0 succeeds on a zombie.
running() {
  local state
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

last_ack_us() { tail -n 1 "$acks_file" | awk '$1 == "A" {print $3}'; }

trial() {  # trial SIGNAL N
  local sig=$1 n=$2
  "$failover" wait --bootstrap "$B" --topic "$ft" --timeout-s 120 --preferred || {
    echo "cluster_bench.sh: the failover topic did not recover before trial $sig $n" >&2
    return 1
  }
  # Acknowledgements must be flowing before the signal: the last one less than 100 ms old.
  local ok=0
  for _ in $(seq 1 100); do
    sleep 0.2
    local last
    last=$(last_ack_us)
    if [ -n "$last" ] && [ $(($(now_us) - last)) -lt 100000 ]; then ok=1; break; fi
  done
  [ "$ok" = 1 ] || { echo "cluster_bench.sh: no acknowledgements before trial $sig $n" >&2; return 1; }
  sleep 0.5
  local leader epoch isr replicas preferred
  read -r leader epoch isr replicas preferred < <("$failover" leader --bootstrap "$B" --topic "$ft")
  local pid
  pid=$(cat "$dir/broker-$leader/pid")
  local t_signal=$EPOCHREALTIME
  kill "-$sig" "$pid"
  t_signal=${t_signal/./}
  # Wait for the old process to exit, then for an acknowledgement after that (so from the new
  # leader); at most 60 s.
  local t_exit="" t_ack="" deadline=$(($(now_us) + 60000000))
  while [ "$(now_us)" -lt "$deadline" ]; do
    if [ -z "$t_exit" ] && ! running "$pid"; then t_exit=$(now_us); fi
    if [ -n "$t_exit" ]; then
      local last
      last=$(last_ack_us)
      if [ -n "$last" ] && [ "$last" -gt "$t_exit" ]; then t_ack=$last; break; fi
    fi
    sleep 0.02
  done
  if [ -z "$t_exit" ]; then
    echo "cluster_bench.sh: broker $leader (pid $pid) still runs 60 s after SIG$sig" >&2
    return 1
  fi
  echo "{\"signal\":\"$sig\",\"trial\":$n,\"leader\":$leader,\"epoch\":$epoch,\"pid\":$pid,\"signal_us\":$t_signal,\"exit_seen_us\":$t_exit,\"ack_after_exit_us\":${t_ack:-null}}" \
    >>"$raw/trials.jsonl"
  log "failover $sig $n/$trials: broker $leader (epoch $epoch) signalled; exited after $(((t_exit - t_signal) / 1000)) ms; $([ -n "$t_ack" ] && echo "acks resumed" || echo "NO ack within 60 s")"
  scripts/cluster.sh restart "$leader" >>"$raw/cluster.log" 2>&1
}

for sig in KILL TERM; do
  for n in $(seq 1 "$trials"); do trial "$sig" "$n"; done
done
"$failover" wait --bootstrap "$B" --topic "$ft" --timeout-s 120 --preferred || true
kill -TERM "$writer_pid"
wait "$writer_pid" || true
writer_pid=

# The leader epoch of every batch, from a copy that holds them all (every broker is in the ISR
# again), read with the cluster stopped.
scripts/cluster.sh down >>"$raw/cluster.log" 2>&1
partition_dir=$(find "$dir/broker-1/data" -maxdepth 2 -type d -name "$ft*0" | head -1)
"$strata" log dump "$partition_dir" |
  sed -n 's/.*base_offset=\([0-9]*\) last_offset=\([0-9]*\) leader_epoch=\([0-9]*\).*/\1 \2 \3/p' \
    >"$raw/epochs.txt"

python3 bench/cluster_bench_report.py --raw "$raw" --trials "$trials" --duration "$duration" \
  --rounds "$rounds" --ttl-s "${ttl:-3}" --commit "$(git rev-parse --short HEAD)" \
  --client "request_timeout_ms=$request_timeout_ms retry_backoff_ms=$retry_backoff_ms retry_backoff_max_ms=$retry_backoff_max_ms" \
  --json "${json:-$raw/cluster.json}"
log "JSON: ${json:-$raw/cluster.json}"
