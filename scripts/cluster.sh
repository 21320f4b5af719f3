#!/usr/bin/env bash
# A Strata cluster on this machine: one etcd and N brokers on 127.0.0.1, every process in the
# background, their data and logs under one folder (./strata-cluster, or $STRATA_CLUSTER_DIR).
#
#   ./scripts/cluster.sh up 3        build if needed, start etcd and brokers 1..3, print what to try
#   ./scripts/cluster.sh status      which processes run, and the cluster as `strata` sees it
#   ./scripts/cluster.sh kill 2      kill -9 broker 2 (a crash: its leaderships fail over)
#   ./scripts/cluster.sh stop 2      SIGTERM broker 2 (a clean stop: it hands leaderships over)
#   ./scripts/cluster.sh restart 2   start broker 2 again on its data and ports
#   ./scripts/cluster.sh down        stop everything this script started, by pid
#
# Ports: broker I listens on $STRATA_CLUSTER_PORT_BASE+I (default 9400+I), its metrics on
# 9500+I, Kafka clients on 9600+I (docs/kafka.md), etcd's clients on 9490 and its peers on 9491.
# docs/cluster.md explains the cluster; each broker's settings are in its broker-I/stratad.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${STRATA_CLUSTER_DIR:-$PWD/strata-cluster}
base=${STRATA_CLUSTER_PORT_BASE:-9400}
etcd_port=$((base + 90))
etcd_peer_port=$((base + 91))
stratad=build/broker/stratad
strata=build/client/strata

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

alive() {  # alive PIDFILE: the pid in it runs
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

bootstrap() {  # every broker's address, comma-separated
  local list="" d
  for d in "$dir"/broker-*; do
    [ -d "$d" ] || continue
    list="${list:+$list,}127.0.0.1:$((base + ${d##*-}))"
  done
  echo "$list"
}

start_etcd() {
  if alive "$dir/etcd/pid"; then return; fi
  mkdir -p "$dir/etcd"
  etcd --name strata-etcd --data-dir "$dir/etcd/data" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "strata-etcd=http://127.0.0.1:$etcd_peer_port" \
    --auto-compaction-mode revision --auto-compaction-retention 10000 \
    >>"$dir/etcd/etcd.log" 2>&1 &
  echo $! >"$dir/etcd/pid"
  for _ in $(seq 1 100); do
    if curl -fs "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q true; then
      echo "etcd: 127.0.0.1:$etcd_port (pid $(cat "$dir/etcd/pid"), log $dir/etcd/etcd.log)"
      return
    fi
    sleep 0.1
  done
  echo "cluster.sh: etcd did not become healthy; see $dir/etcd/etcd.log" >&2
  exit 1
}

start_broker() {  # start_broker I
  local i=$1 d="$dir/broker-$1"
  if alive "$d/pid"; then
    echo "broker $i: already running (pid $(cat "$d/pid"))"
    return
  fi
  mkdir -p "$d/data"
  if [ ! -f "$d/stratad.toml" ]; then
    cat >"$d/stratad.toml" <<TOML
# Broker $i of the cluster started by scripts/cluster.sh (keys: stratad --help).
node_id = $i
data_dir = "$d/data"
listen = "127.0.0.1:$((base + i))"
metrics_listen = "127.0.0.1:$((base + 100 + i))"
kafka_listen = "127.0.0.1:$((base + 200 + i))"
etcd = "127.0.0.1:$etcd_port"
cluster_name = "local"
TOML
  fi
  "$stratad" --config "$d/stratad.toml" >>"$d/stratad.log" 2>&1 &
  echo $! >"$d/pid"
  for _ in $(seq 1 150); do
    if grep -q "native protocol on" "$d/stratad.log" 2>/dev/null && alive "$d/pid"; then
      echo "broker $i: 127.0.0.1:$((base + i)), Kafka clients 127.0.0.1:$((base + 200 + i)) (pid $(cat "$d/pid"), log $d/stratad.log)"
      return
    fi
    if ! alive "$d/pid"; then break; fi
    sleep 0.1
  done
  echo "cluster.sh: broker $i did not start; the end of $d/stratad.log:" >&2
  tail -5 "$d/stratad.log" >&2
  exit 1
}

stop_pid() {  # stop_pid PIDFILE SIGNAL NAME: signal it, wait for it to exit
  local pidfile=$1 signal=$2 name=$3
  if ! alive "$pidfile"; then
    rm -f "$pidfile"
    return
  fi
  local pid
  pid=$(cat "$pidfile")
  kill "-$signal" "$pid"
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name (pid $pid) did not stop on SIG$signal in 10 s; killing it" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  echo "$name: stopped (SIG$signal)"
}

cmd=${1:-}
case "$cmd" in
  up)
    n=${2:-3}
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 9 ] || {
      echo "cluster.sh: up takes a broker count from 1 to 9" >&2
      exit 2
    }
    if [ ! -x "$stratad" ] || [ ! -x "$strata" ]; then
      ./scripts/setup.sh
      cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
      cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target stratad strata
    fi
    mkdir -p "$dir"
    start_etcd
    for i in $(seq 1 "$n"); do start_broker "$i"; done
    b=$(bootstrap)
    # After a restart of the whole cluster its partitions are offline until their last in-sync
    # replicas are back and re-elected: wait for that (a fresh cluster is healthy at once).
    for _ in $(seq 1 100); do
      rc=0
      "$strata" --bootstrap "$b" cluster status >/dev/null 2>&1 || rc=$?
      [ "$rc" -ne 3 ] && break
      sleep 0.2
    done
    if [ "${rc:-0}" -eq 3 ]; then
      echo "cluster.sh: some partitions are still offline or below min ISR; see: $strata --bootstrap $b cluster status" >&2
    fi
    cat <<TXT

== A cluster of $n broker(s) is up; data and logs in $dir.

Try:
  $strata --bootstrap $b cluster status
  $strata --bootstrap $b topic create orders --partitions 6 --replication-factor $((n < 3 ? n : 3))
  $strata --bootstrap $b topic describe orders          # leader, epoch, replicas, ISR
  seq 1 100000 | $strata --bootstrap $b produce orders --acks all
  ./scripts/cluster.sh kill 1                               # kill -9 a broker mid-stream
  $strata --bootstrap $b cluster status                     # under-replicated, new leaders
  ./scripts/cluster.sh restart 1                            # it catches up and leads again
  $strata --bootstrap $b consume orders --from earliest --count 100000 | tail -1
  kcat -b 127.0.0.1:$((base + 201)) -L                  # the same cluster, as a Kafka client sees it
  ./scripts/cluster.sh down
TXT
    ;;
  status)
    if alive "$dir/etcd/pid"; then
      echo "etcd: running (pid $(cat "$dir/etcd/pid")) on 127.0.0.1:$etcd_port"
    else
      echo "etcd: not running"
    fi
    for d in "$dir"/broker-*; do
      [ -d "$d" ] || continue
      i=${d##*-}
      if alive "$d/pid"; then
        echo "broker $i: running (pid $(cat "$d/pid")) on 127.0.0.1:$((base + i))"
      else
        echo "broker $i: not running"
      fi
    done
    b=$(bootstrap)
    if [ -n "$b" ]; then
      echo
      "$strata" --bootstrap "$b" cluster status || true
    fi
    ;;
  kill | stop | restart)
    i=${2:-}
    [ -n "$i" ] && [ -d "$dir/broker-$i" ] || {
      echo "cluster.sh: $cmd takes the number of a broker of $dir (see: cluster.sh status)" >&2
      exit 2
    }
    case "$cmd" in
      kill) stop_pid "$dir/broker-$i/pid" KILL "broker $i" ;;
      stop) stop_pid "$dir/broker-$i/pid" TERM "broker $i" ;;
      restart)
        stop_pid "$dir/broker-$i/pid" TERM "broker $i"
        start_broker "$i"
        ;;
    esac
    ;;
  down)
    for d in "$dir"/broker-*; do
      [ -d "$d" ] || continue
      stop_pid "$d/pid" TERM "broker ${d##*-}"
    done
    stop_pid "$dir/etcd/pid" TERM "etcd"
    echo "Data is kept in $dir; remove it to start afresh."
    ;;
  *) usage ;;
esac
