#!/usr/bin/env bash
# Strata side by side with Redis Streams and NATS JetStream (issue 5): the same workloads on the
# same machine in one run, with the machine's limits (fio, memcpy) measured in that run, printed as
# a table of medians with their spread (min..max) and the ratios against the issue's targets.
# docs/compare.md describes the method, the workloads and each system's durability settings.
#
#   bench/compare.sh [--quick] [--runs N] [--json FILE] [--plot FILE.svg] [--build-dir DIR]
#                    [--keep DIR]
#
#   --quick      fewer messages and 2 runs: under 3 minutes (a full run takes about 15)
#   --runs N     repetitions of every figure (default 5; 2 with --quick)
#   --json FILE  also write the table, every run's figures and the ratios as JSON
#   --plot FILE  also draw throughput bars and latency percentile curves (gnuplot, SVG)
#   --build-dir  the CMake build directory to use or create (default build/, Release)
#   --keep DIR   keep every raw result line and server log in DIR
#
# Installs what it needs with apt-get when missing (redis-server, nats-server, libhiredis-dev,
# libnats-dev, fio, gnuplot-nox, python3; and Strata's own build dependencies through
# scripts/setup.sh), builds stratad, strata, log_bench and the peer clients (bench/peers/), starts
# every server on 127.0.0.1 on a free port with its data in a fresh temporary directory, and stops
# each one it started by PID, whatever happens.
set -euo pipefail
command_line="bench/compare.sh${*:+ $*}"
cd "$(dirname "$0")/.."
root=$(pwd)

quick=0
runs=
json_out=
plot_out=
build=build
keep=
usage() {
  sed -n '7,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; shift ;;
    --runs) runs=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    --plot) plot_out=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "compare.sh: unknown argument $1" >&2; usage ;;
  esac
done
# Output paths are taken relative to where the script was started.
abs() { case $1 in /*) echo "$1" ;; *) echo "$OLDPWD/$1" ;; esac; }
[ -n "$json_out" ] && json_out=$(abs "$json_out")
[ -n "$plot_out" ] && plot_out=$(abs "$plot_out")
[ -n "$keep" ] && keep=$(abs "$keep")

# Sizes. W1 is the issue's 500k messages in a full run; W3 sends fewer messages than W2 because
# each one costs an fsync (~1-5 ms on this VM's disk), which would make 20k of them minutes long.
if [ "$quick" -eq 1 ]; then
  runs=${runs:-2}
  w1_records=100000; w2_records=2000; w3_records=300; w5_seconds=5; w6_records=200000
  w6_producers="1 8"; fio_seq_size=256M; fio_sync_ios=300; w3_probe_ios=200; rtt_round_trips=5000
  stream_mib=512
else
  runs=${runs:-5}
  w1_records=500000; w2_records=20000; w3_records=2000; w5_seconds=10; w6_records=1000000
  w6_producers="1 2 4 8"; fio_seq_size=1G; fio_sync_ios=2000; w3_probe_ios=500; rtt_round_trips=20000
  stream_mib=2048
fi
sync_warmup_s=0.5
w5_warmup_s=1
log() { echo "== $(date +%T) $*" >&2; }

# --- install and build ---------------------------------------------------------------------------

packages=(redis-server redis-tools nats-server libhiredis-dev libnats-dev fio gnuplot-nox python3)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
./scripts/setup.sh

if [ ! -f "$build/CMakeCache.txt" ]; then
  log "configuring $build (Release)"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
else
  cmake "$build" >/dev/null  # finds hiredis and libnats if they were just installed
fi
log "building stratad strata log_bench redis_bench nats_bench in $build"
cmake --build "$build" -j2 --target stratad strata log_bench loopback_rtt loopback_stream redis_bench nats_bench >/dev/null
strata=$build/client/strata
stratad=$build/broker/stratad
log_bench=$build/bench/log_bench
loopback_rtt=$build/bench/loopback_rtt
loopback_stream=$build/bench/loopback_stream
redis_bench=$build/bench/peers/redis_bench
nats_bench=$build/bench/peers/nats_bench

# --- servers -------------------------------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-compare.XXXXXX")
results=$tmp/results
mkdir -p "$results"
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$keep" ]; then
    mkdir -p "$keep"
    cp -r "$results" "$tmp"/*.log "$keep"/ 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local p
  # Below the kernel's ephemeral range (32768+ by default), where no client's connection can hold
  # the port; and not in use by any socket now.
  local used
  used=$(ss -Htan | awk '{n = split($4, a, ":"); print a[n]}')
  for p in $(shuf -i 20000-32000 -n 100); do
    if ! grep -qx "$p" <<<"$used"; then echo "$p"; return; fi
  done
  echo "compare.sh: no free port" >&2
  exit 1
}

wait_port() {  # wait_port PORT PID LOG
  for _ in $(seq 1 400); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.05
  done
  echo "compare.sh: the server on port $1 did not start:" >&2
  tail -20 "$3" >&2
  exit 1
}

# start_server SYSTEM: a fresh server with fresh data; sets port and server_pid.
start_server() {
  local system=$1
  port=$(free_port)
  data=$tmp/data-$system
  rm -rf "$data"
  mkdir -p "$data"
  local server_log=$tmp/$system.log
  case $system in
    strata)
      "$stratad" --data-dir "$data" --listen "127.0.0.1:$port" --metrics-listen off \
        --log-level warn >>"$server_log" 2>&1 &
      ;;
    redis)
      # appendonly + everysec is the issue's setting for W1, W2, W4-W6; W3 switches to always.
      # RDB snapshots are off (they are not part of either durability setting).
      redis-server --bind 127.0.0.1 --port "$port" --dir "$data" --appendonly yes \
        --appendfsync everysec --save '' --protected-mode no --daemonize no \
        --logfile "$server_log" >/dev/null 2>&1 &
      ;;
    nats)
      printf 'listen: 127.0.0.1:%s\njetstream {\n  store_dir: "%s"\n}\n' "$port" "$data/js" \
        >"$data/nats.conf"
      nats-server -c "$data/nats.conf" >>"$server_log" 2>&1 &
      ;;
  esac
  server_pid=$!
  wait_port "$port" "$server_pid" "$server_log"
}

stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  rm -rf "$data"
}

# record SYSTEM WORKLOAD CMD...: runs one measurement and appends its JSON line to
# results/SYSTEM.WORKLOAD.jsonl (a line with "failed" when it printed none).
record() {
  local system=$1 workload=$2
  shift 2
  local out
  out=$("$@" 2>>"$tmp/clients.log" | grep '^{' | tail -1) || true
  if [ -z "$out" ]; then
    out="{\"failed\":true,\"command\":\"$*\"}"
    echo "compare.sh: $system $workload failed: $*" >&2
  fi
  echo "$out" >>"$results/$system.$workload.jsonl"
}

bench() { "$strata" --bootstrap "127.0.0.1:$port" bench "$@" --json; }
peer() {  # peer SYSTEM ARGS...
  local system=$1
  shift
  if [ "$system" = redis ]; then "$redis_bench" --port "$port" "$@"; else "$nats_bench" --port "$port" "$@"; fi
}

# Busy CPU time and the data disk's busy time, for W6's "which one saturates".
disk=$(lsblk -no PKNAME "$(df --output=source "$tmp" | tail -1)" 2>/dev/null || true)
[ -n "$disk" ] || disk=$(basename "$(df --output=source "$tmp" | tail -1)")
cpu_sample() { awk '/^cpu / {idle = $5 + $6; total = 0; for (i = 2; i <= 9; i++) total += $i; print total, idle}' /proc/stat; }
disk_ticks() { awk -v d="$disk" '$3 == d {print $13}' /proc/diskstats; }
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }  # user + system CPU
clk_tck=$(getconf CLK_TCK)
# utilization SYSTEM WORKLOAD CMD...: record, then append the run's machine-wide CPU busy %, the
# server's own CPU (% of one core) and the data disk's busy % to results/SYSTEM.WORKLOAD.util.jsonl.
# The machine's CPU comes from the client's own report over its measured window
# (machine_cpu_busy_pct) when it gives one: over the whole command, start-up (connecting,
# creating the topic) hid a saturated sub-second window. The rest span the whole command.
utilization() {
  local system=$1 workload=$2
  local t0 i0 t1 i1 d0 d1 s0 s1 p0 p1
  read -r t0 i0 < <(cpu_sample)
  d0=$(disk_ticks); p0=$(server_ticks); s0=$(date +%s%N)
  record "$@"
  read -r t1 i1 < <(cpu_sample)
  d1=$(disk_ticks); p1=$(server_ticks); s1=$(date +%s%N)
  local window_cpu
  window_cpu=$(tail -1 "$results/$system.$workload.jsonl" |
    sed -n 's/.*"machine_cpu_busy_pct":\([0-9.]*\).*/\1/p')
  awk -v t="$((t1 - t0))" -v i="$((i1 - i0))" -v d="$((${d1:-0} - ${d0:-0}))" \
    -v p="$((p1 - p0))" -v hz="$clk_tck" -v ms="$(((s1 - s0) / 1000000))" -v w="$window_cpu" \
    'BEGIN {c = w != "" ? w : (t > 0 ? 100 * (t - i) / t : 0); b = ms > 0 ? 100 * d / ms : 0
           s = ms > 0 ? 100 * (p / hz) / (ms / 1000) : 0
           printf "{\"cpu_busy_pct\":%.1f,\"server_cpu_pct\":%.1f,\"disk_busy_pct\":%.1f}\n", c, s, b}' \
    >>"$results/$system.$workload.util.jsonl"
}

# --- limits --------------------------------------------------------------------------------------

measure_limits() {
  local dir=$tmp/fio
  mkdir -p "$dir"
  log "limits: fio sequential 1 MiB writes of $fio_seq_size with an fsync at the end"
  fio --name=seq --directory="$dir" --rw=write --bs=1M --size="$fio_seq_size" --ioengine=psync \
    --end_fsync=1 --output-format=json 2>>"$tmp/clients.log" \
    | python3 -c 'import json, sys; j = json.load(sys.stdin)["jobs"][0]["write"]; print(json.dumps({"seq_write_fsync_mib_s": j["bw_bytes"] / 2**20}))' \
    >>"$results/limits.seq.jsonl"
  rm -f "$dir"/*
  log "limits: fio $fio_sync_ios x (4 KiB write + fdatasync)"
  fio_sync "$fio_sync_ios" >>"$results/limits.sync.jsonl"
  rm -rf "$dir"
  log "limits: raw loopback round trips (1 KiB request, 16 B answer), W2's floor"
  "$loopback_rtt" "$rtt_round_trips" >>"$results/limits.rtt.jsonl"
  log "limits: one raw loopback TCP stream of $stream_mib MiB (1 MiB writes and reads), W4's ceiling"
  "$loopback_stream" "$stream_mib" >>"$results/limits.stream.jsonl"
  log "limits: memcpy (log_bench BM_Memcpy)"
  "$log_bench" --quick --dir="$tmp" --benchmark_filter='^BM_Memcpy' \
    --benchmark_out="$tmp/memcpy.json" --benchmark_out_format=json >/dev/null 2>>"$tmp/clients.log"
  python3 -c 'import json, sys; b = json.load(open(sys.argv[1]))["benchmarks"][0]; print(json.dumps({"memcpy_mib_s": b["bytes_per_second"] / 2**20}))' \
    "$tmp/memcpy.json" >>"$results/limits.memcpy.jsonl"
}

# fio_sync IOS: one JSON line with the p50 and p99 of IOS appends of 4 KiB + fdatasync to a new file.
fio_sync() {
  local dir=$tmp/fio-sync
  mkdir -p "$dir"
  fio --name=sync --directory="$dir" --rw=write --bs=4k --size=$(($1 * 4))k \
    --fdatasync=1 --ioengine=psync --output-format=json 2>>"$tmp/clients.log" \
    | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
w, s = j["write"]["clat_ns"]["percentile"], j["sync"]["lat_ns"]["percentile"]
ms = lambda p: (w[p] + s[p]) / 1e6
print(json.dumps({"fdatasync_p50_ms": ms("50.000000"), "fdatasync_p99_ms": ms("99.000000"),
                  "sync_only_p50_ms": s["50.000000"] / 1e6, "write_p50_ms": w["50.000000"] / 1e6}))'
  rm -rf "$dir"
}

# --- workloads -----------------------------------------------------------------------------------

# W1, W4, W2, W3 and W6 on one fresh server per system and repetition.
run_throughput_and_latency() {
  local system=$1 r=$2
  start_server "$system"
  log "run $r/$runs $system: W1 (produce $w1_records x 1 KiB, pipelined/async), W4 (replay them)"
  case $system in
    strata)
      record strata W1 bench produce --topic w1 --partitions 1 --records "$w1_records" --warmup 0
      record strata W4 bench consume --topic w1 --records "$w1_records" --warmup 0
      ;;
    *)
      record "$system" W1 peer "$system" --mode produce --stream w1 --records "$w1_records"
      record "$system" W4 peer "$system" --mode replay --stream w1 --records "$w1_records"
      ;;
  esac
  log "run $r/$runs $system: W2 ($w2_records one at a time), W3 ($w3_records, each fsynced)"
  case $system in
    strata)
      record strata W2 bench produce --topic w2 --partitions 1 --sync --records "$w2_records" \
        --warmup "$sync_warmup_s"
      "$strata" --bootstrap "127.0.0.1:$port" topic create w3 --partitions 1 \
        --config flush_always=true >/dev/null
      # This disk's fdatasync latency changes from minute to minute (0.1 ms or 4 ms here): the
      # reference for W3's ratio is measured right before it, in the same repetition.
      fio_sync "$w3_probe_ios" >>"$results/limits.sync_w3.jsonl"
      record strata W3 bench produce --topic w3 --sync --records "$w3_records" \
        --warmup "$sync_warmup_s"
      ;;
    redis)
      record redis W2 peer redis --mode sync --stream w2 --records "$w2_records" \
        --warmup "$sync_warmup_s"
      redis-cli -p "$port" CONFIG SET appendfsync always >/dev/null
      record redis W3 peer redis --mode sync --stream w3 --records "$w3_records" \
        --warmup "$sync_warmup_s"
      redis-cli -p "$port" CONFIG SET appendfsync everysec >/dev/null
      ;;
    nats)
      record nats W2 peer nats --mode sync --stream w2 --records "$w2_records" \
        --warmup "$sync_warmup_s"
      ;;
  esac
  local p
  for p in $w6_producers; do
    log "run $r/$runs $system: W6 with $p producers x $p partitions/streams, $w6_records x 100 B"
    case $system in
      strata)
        # Producer k writes partition k, as each peer producer writes its own stream.
        utilization strata "W6p$p" bench produce --topic "w6-$p" --partitions "$p" --producers "$p" \
          --partition-per-producer --record-bytes 100 --records "$w6_records" --warmup 0
        ;;
      *)
        utilization "$system" "W6p$p" peer "$system" --mode produce --stream "w6-$p" \
          --producers "$p" --record-bytes 100 --records "$w6_records"
        ;;
    esac
  done
  stop_server
}

run_e2e() {
  local system=$1 r=$2 rate=$3
  start_server "$system"
  log "run $r/$runs $system: W5 (open loop at $rate msgs/s for $w5_seconds s, one consumer tailing)"
  case $system in
    strata)
      record strata W5 bench e2e --topic w5 --partitions 1 --rate "$rate" --duration "$w5_seconds" \
        --warmup "$w5_warmup_s"
      ;;
    *)
      record "$system" W5 peer "$system" --mode e2e --stream w5 --rate "$rate" \
        --duration "$w5_seconds" --warmup "$w5_warmup_s"
      ;;
  esac
  stop_server
}

# NATS 2.9.10 has no per-message fsync: ask the installed server, so the reason is its own words.
nats_w3_reason() {
  local conf=$tmp/nats-sync.conf
  printf 'listen: 127.0.0.1:0\njetstream {\n  store_dir: "%s"\n  sync_interval: always\n}\n' \
    "$tmp/nats-sync" >"$conf"
  local said
  said=$(timeout 5 nats-server -c "$conf" -t 2>&1 | head -1 || true)
  local version
  version=$(nats-server --version 2>&1 | head -1)
  if grep -qi "unknown field" <<<"$said"; then
    echo "$version rejects 'sync_interval: always' ($said): it has no per-message fsync, and its file store syncs in the background (every 2 min by default)"
  else
    echo "$version accepted sync_interval, but compare.sh does not configure it yet"
  fi
}

# --- the run -------------------------------------------------------------------------------------

started=$(date +%s)
systems="strata redis nats"
for r in $(seq 1 "$runs"); do
  measure_limits
  for system in $systems; do run_throughput_and_latency "$system" "$r"; done
done
# W5's rate: half of Strata's W1 peak (the median of this run's W1 figures).
rate=$(python3 -c '
import json, statistics, sys
v = [json.loads(l).get("msgs_per_s", 0) for l in open(sys.argv[1]) if l.strip()]
v = [x for x in v if x > 0]
print(int(statistics.median(v) / 2) if v else 1000)' "$results/strata.W1.jsonl")
for r in $(seq 1 "$runs"); do
  for system in $systems; do run_e2e "$system" "$r" "$rate"; done
done
elapsed=$(($(date +%s) - started))

machine=$(python3 -c '
import json, os, platform, subprocess, sys
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return ""
print(json.dumps({
    "cores": os.cpu_count(),
    "cpu": sh("grep -m1 \"model name\" /proc/cpuinfo | cut -d: -f2").strip(),
    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    "kernel": platform.release(),
    "disk": " ".join(sh("df --output=source,fstype \"%s\" | tail -1" % sys.argv[1]).split()),
    "redis": sh("redis-server --version"),
    "nats": sh("nats-server --version"),
    "hiredis": sh("pkg-config --modversion hiredis"),
    "libnats": sh("pkg-config --modversion libnats"),
}))' "$tmp")

python3 "$root/bench/compare_report.py" --results "$results" --runs "$runs" --quick "$quick" \
  --command "$command_line" \
  --w5-rate "$rate" --elapsed-s "$elapsed" --machine "$machine" \
  --nats-w3 "$(nats_w3_reason)" \
  --sizes "W1=$w1_records W2=$w2_records W3=$w3_records W4=$w1_records W5=${w5_seconds}s W6=$w6_records" \
  ${json_out:+--json "$json_out"} ${plot_out:+--plot "$plot_out"}
