#!/usr/bin/env bash
# One broker holding many partitions: what topic creation, a small fill, the idle footprint, a
# clean restart, a restart after kill -9 and produce throughput cost when one stratad holds
# --topics x --partitions partitions (default 100 x 100 = 10,000), next to this machine's limits,
# as a markdown table on stdout (progress on stderr) and optionally JSON.
#
#   bench/partition_scale.sh [--topics T] [--partitions P] [--records-per-partition N]
#                            [--spread-partitions K] [--duration S] [--runs R]
#                            [--segment-bytes B] [--bench-segment-bytes B] [--settle S]
#                            [--kill-writers W] [--no-touch] [--timeout S] [--json FILE] [--bin DIR]
#                            [--data-dir DIR] [--keep]
#
# Brokers that preallocate each partition's active segment whole (segment_bytes, 1 GiB by
# default) need ~10 TiB for 10,000 partitions: the script measures what one empty partition takes
# on disk first and stops if the disk cannot hold them all. With such a broker on a small disk:
#   bench/partition_scale.sh --segment-bytes 1048576 --bench-segment-bytes 8388608
#
# Starts its own stratad on a free loopback port with data in a temporary directory, and always
# stops it (by pid) and removes the directory (unless --keep). Needs python3 (standard library)
# for the report (bench/partition_scale_report.py). --help describes every option and figure.
set -euo pipefail
caller_pwd=$PWD
cd "$(dirname "$0")/.."
export LC_ALL=C

usage() {
  cat <<'EOF'
usage: bench/partition_scale.sh [options]

  --topics T                 topics to create (default 100)
  --partitions P             partitions per topic (default 100; T x P partitions in all)
  --records-per-partition N  small records (100 B values) written to every partition (default 10)
  --spread-partitions K      partitions of the topic for the throughput comparison (default 1000)
  --duration S               seconds of each throughput run (default 10)
  --runs R                   throughput runs per topic; medians are reported (default 3)
  --segment-bytes B          topic config segment_bytes for every topic the script creates
                             (default: the broker's default, 1 GiB; the script checks first
                             that the disk holds what one empty partition takes x all of them)
  --bench-segment-bytes B    segment_bytes of the two throughput topics (default: --segment-bytes);
                             tiny segments roll constantly under load and penalise the 8-partition
                             topic more than the K-partition one
  --settle S                 seconds to wait after the fill before reading the footprint (default 5)
  --kill-writers W           producers writing while the broker is killed with -9 (default 4,
                             each on its own topic, keys spread over its partitions; 0: kill idle)
  --no-touch                 before the kill -9, do not write one record to every partition first
                             (by default every log has changed since the last start, so none of
                             them can reopen as cleanly shut down: the worst case for recovery)
  --timeout S                longest wait for a start, a shutdown or a restart (default 900)
  --json FILE                also write every figure as JSON to FILE
  --bin DIR                  directory holding stratad and strata (default: build/broker/stratad
                             and build/client/strata of this repository)
  --data-dir DIR             the broker's data directory (must be absent or empty; default a
                             temporary directory under ${TMPDIR:-/tmp}); removed at exit unless --keep
  --keep                     keep the data directory and the logs; their paths are printed

Steps: (1) create T topics of P partitions with `strata topic create` one after another;
(2) fill every partition with N records (`strata produce TOPIC --key-separator :`, one call per
topic, keys chosen so that each partition gets N); (3) the idle broker's RSS, threads, open fds,
mappings and disk use; (4) SIGTERM, time to exit, time from exec of a new stratad until it
serves (a topic describe answers AND a one-record produce to the last topic's last partition is
acknowledged); (5) the same after kill -9 while W producers write; (6) `strata bench produce`
(1 KiB records, acks=1) on a K-partition topic and on an 8-partition topic, on the same broker,
R runs each; (7) the machine's limits; (8) the targets with met/missed.
EOF
}

topics=100
partitions=100
records_per_partition=10
spread=1000
duration=10
runs=3
segment_bytes=
bench_segment_bytes=
settle=5
kill_writers=4
touch=1
timeout_s=900
json=
bin=
data_arg=
keep=0
need_arg() { [ $# -ge 2 ] || { echo "$1 needs a value (see --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
    --topics) need_arg "$@"; topics=$2; shift 2 ;;
    --partitions) need_arg "$@"; partitions=$2; shift 2 ;;
    --records-per-partition) need_arg "$@"; records_per_partition=$2; shift 2 ;;
    --spread-partitions) need_arg "$@"; spread=$2; shift 2 ;;
    --duration) need_arg "$@"; duration=$2; shift 2 ;;
    --runs) need_arg "$@"; runs=$2; shift 2 ;;
    --segment-bytes) need_arg "$@"; segment_bytes=$2; shift 2 ;;
    --bench-segment-bytes) need_arg "$@"; bench_segment_bytes=$2; shift 2 ;;
    --settle) need_arg "$@"; settle=$2; shift 2 ;;
    --kill-writers) need_arg "$@"; kill_writers=$2; shift 2 ;;
    --no-touch) touch=0; shift ;;
    --timeout) need_arg "$@"; timeout_s=$2; shift 2 ;;
    --json) need_arg "$@"; json=$2; shift 2 ;;
    --bin) need_arg "$@"; bin=$2; shift 2 ;;
    --data-dir) need_arg "$@"; data_arg=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$caller_pwd/$1" ;; esac; }
[ -z "$bin" ] || bin=$(abspath "$bin")
[ -z "$data_arg" ] || data_arg=$(abspath "$data_arg")
[ -z "$json" ] || json=$(abspath "$json")
posint() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] || { echo "$1 must be an integer >= $3, not '$2'" >&2; exit 2; }; }
posint --topics "$topics" 1
posint --partitions "$partitions" 1
posint --records-per-partition "$records_per_partition" 1
posint --spread-partitions "$spread" 1
posint --duration "$duration" 1
posint --runs "$runs" 1
posint --settle "$settle" 0
posint --kill-writers "$kill_writers" 0
posint --timeout "$timeout_s" 1
[ -z "$segment_bytes" ] || posint --segment-bytes "$segment_bytes" 1
[ -z "$bench_segment_bytes" ] || posint --bench-segment-bytes "$bench_segment_bytes" 1
# `strata bench produce` (throughput runs and the kill -9 writers) sends batches of up to 128 KiB
# (--batch-bytes 131072), and the broker refuses a batch larger than the topic's segment.
seg_floor=262144
if [ "${bench_segment_bytes:-${segment_bytes:-$seg_floor}}" -lt $seg_floor ]; then
  echo "segment_bytes of the throughput topics must be >= $seg_floor (strata bench produce sends batches of up to 128 KiB): set --bench-segment-bytes" >&2
  exit 2
fi
if [ -n "$segment_bytes" ] && [ "$segment_bytes" -lt $seg_floor ] && [ "$kill_writers" -gt 0 ]; then
  echo "--segment-bytes $segment_bytes is too small for the kill -9 step's strata bench produce writers (batches up to 128 KiB): use >= $seg_floor or --kill-writers 0" >&2
  exit 2
fi

if [ -n "$bin" ]; then
  stratad=$bin/stratad
  strata=$bin/strata
  [ -x "$stratad" ] || stratad=$bin/broker/stratad
  [ -x "$strata" ] || strata=$bin/client/strata
else
  stratad=build/broker/stratad
  strata=build/client/strata
fi
for b in "$strata" "$stratad"; do
  [ -x "$b" ] || { echo "$b is missing: build first (./scripts/run.sh or ./scripts/test.sh) or pass --bin DIR" >&2; exit 1; }
done
report_py=bench/partition_scale_report.py
[ -f "$report_py" ] || { echo "$report_py is missing" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed for the report" >&2; exit 1; }
[ -n "${EPOCHREALTIME:-}" ] || { echo "needs bash 5 (\$EPOCHREALTIME)" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Work directory (logs, scratch files), data directory, and the cleanup that always runs.
work=$(mktemp -d "${TMPDIR:-/tmp}/strata-partition-scale.XXXXXX")
data_created=0
if [ -n "$data_arg" ]; then
  data=$data_arg
  if [ -e "$data" ]; then
    [ -d "$data" ] && [ -z "$(ls -A "$data")" ] || { rm -rf "$work"; echo "--data-dir $data must be absent or empty" >&2; exit 2; }
  else
    mkdir -p "$data"
    data_created=1
  fi
  data=$(cd "$data" && pwd)
else
  data=$work/data
  mkdir -p "$data"
fi

keep_work=0     # 1: keep the logs and raw results (the report failed)
pid=            # the running stratad
writer_pids=()  # background producers (kill -9 step)
child=          # a background strata command the script waits for
cleanup() {
  local rc=$?
  # Ignore further Ctrl-C/SIGTERM: an interrupted cleanup could leave stratad running.
  trap '' INT TERM
  trap - EXIT
  for w in "${writer_pids[@]}" $child; do kill -TERM "$w" 2>/dev/null || true; done
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    # A clean shutdown of many partitions takes a while (see the table); the data is deleted
    # next unless --keep, so do not wait for it for ever.
    local limit=60
    [ "$keep" = 0 ] || limit=$timeout_s
    echo "stopping stratad (pid $pid): SIGTERM, then SIGKILL if it is still running after $limit s" >&2
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ] && [ $waited -lt $((limit * 10)) ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ]; then
      echo "stratad (pid $pid) did not exit within $limit s of SIGTERM: kill -9" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  fi
  for w in "${writer_pids[@]}" $child; do wait "$w" 2>/dev/null || true; done
  if [ "$keep" = 1 ]; then
    echo "kept: data in $data, logs in $work" >&2
  else
    if [ "$data" != "$work/data" ]; then
      if [ "$data_created" = 1 ]; then rm -rf "$data"; else find "$data" -mindepth 1 -delete 2>/dev/null || true; fi
    else
      rm -rf "$data"
    fi
    if [ "$keep_work" = 1 ]; then echo "kept the logs and raw results in $work" >&2; else rm -rf "$work"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM

proc_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone; }
alive() { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ]; }
now() { printf '%s\n' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f\n", b - a}'; }
progress() { echo "$*" >&2; }
die() {
  echo "FAILED: $*" >&2
  if [ -n "$pid" ] && ! alive; then
    local st=
    wait "$pid" 2>/dev/null || st=$?
    echo "stratad (pid $pid) is not running any more${st:+ (exit status $st)}" >&2
    pid=
  fi
  if [ -n "${cur_log:-}" ] && [ -f "$cur_log" ]; then
    echo "--- last lines of the broker's log ($cur_log):" >&2
    tail -n 15 "$cur_log" >&2
  fi
  exit 1
}
results=$work/results.tsv
: >"$results"
put() { printf '%s\t%s\n' "$1" "$2" >>"$results"; }  # put KEY VALUE: a figure for the report
get() { awk -F'\t' -v k="$1" '$1 == k {v = $2} END {print v}' "$results"; }

total_partitions=$((topics * partitions))
width=${#topics}
[ "$width" -ge 4 ] || width=4
topic_name() { printf 'scale-%0*d' "$width" "$1"; }
last_topic=$(topic_name "$topics")
last_partition=$((partitions - 1))
config_args=()
[ -z "$segment_bytes" ] || config_args=(--config "segment_bytes=$segment_bytes")
bench_segment_bytes=${bench_segment_bytes:-$segment_bytes}
bench_config_args=()
[ -z "$bench_segment_bytes" ] || bench_config_args=(--config "segment_bytes=$bench_segment_bytes")

put topics "$topics"
put partitions "$partitions"
put total_partitions "$total_partitions"
put records_per_partition "$records_per_partition"
put record_value_bytes 100
put spread_partitions "$spread"
put duration_s "$duration"
put runs "$runs"
put segment_bytes_arg "${segment_bytes:-default}"
put bench_segment_bytes_arg "${bench_segment_bytes:-default}"
put settle_s "$settle"
put kill_writers "$kill_writers"
put stratad "$stratad"
put strata "$strata"
put data_dir "$data"
put commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$( [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || echo ' (work tree modified)')"
put stratad_mtime "$(date -u -r "$stratad" '+%Y-%m-%d %H:%M UTC')"
put started_utc "$(date -u '+%Y-%m-%d %H:%M UTC')"

# ---------------------------------------------------------------------------------------------
# The machine's limits.
put nproc "$(nproc)"
put loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
put ulimit_n_soft "$(ulimit -Sn)"
put ulimit_n_hard "$(ulimit -Hn)"
put max_map_count "$(cat /proc/sys/vm/max_map_count)"
put mem_total_kib "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
put mem_available_kib "$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
put mem_free_kib "$(awk '/^MemFree:/ {print $2}' /proc/meminfo)"
read -r fs_type disk_avail_kib disk_size_kib <<<"$(df -PTk "$data" | awk 'NR == 2 {print $2, $5, $3}')"
put fs_type "$fs_type"
put disk_avail_kib "$disk_avail_kib"
put disk_size_kib "$disk_size_kib"
# What one small synchronous write costs on the data dir's disk right now: creating, closing and
# opening partitions are runs of fsyncs, so this puts those figures in context.
fsync_probe() {  # fsync_probe KEY: 200 x 4 KiB writes with O_DSYNC (dd), milliseconds each
  local f=$data/.partition-scale-fsync-probe t0
  t0=$(now)
  dd if=/dev/zero of="$f" bs=4096 count=200 oflag=dsync status=none || die "dd oflag=dsync on $data failed"
  put "$1" "$(awk -v s="$(since "$t0")" 'BEGIN {printf "%.3f", s * 1000 / 200}')"
  rm -f "$f"
}
fsync_probe dsync_write_ms_start
progress "== limits: $(nproc) cores, MemAvailable $(($(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) / 1024)) MiB, ulimit -n $(ulimit -Sn)/$(ulimit -Hn), vm.max_map_count $(cat /proc/sys/vm/max_map_count), $((disk_avail_kib / 1024)) MiB free on $data ($fs_type), 4 KiB O_DSYNC write $(get dsync_write_ms_start) ms"

# ---------------------------------------------------------------------------------------------
# The broker.
cur_log=
t_exec=
start_broker() {  # start_broker NAME: exec stratad, logging to $work/NAME.log
  cur_log=$work/$1.log
  t_exec=$(now)
  "$stratad" --data-dir "$data" --listen 127.0.0.1:0 --metrics-listen off --log-level info \
    >"$cur_log" 2>&1 &
  pid=$!
}
port=
sc() { timeout --foreground 60 "$strata" --bootstrap "127.0.0.1:$port" "$@"; }  # strata against our broker
log_port() { sed -n 's/.*native protocol on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$cur_log" | head -n 1; }

# wait_serving PREFIX [probe]: from $t_exec until the broker listens (PREFIX_listen_s), and with
# `probe`, until `strata topic describe LAST` answers (PREFIX_metadata_s) and a one-record produce
# to LAST's last partition is acknowledged (PREFIX_serve_s: "serves").
wait_serving() {
  local prefix=$1 probe=${2:-} next_note=5 t_listen= t_meta= t_serve= out
  port=
  while :; do
    alive || die "stratad (pid $pid) exited while starting"
    local el
    el=$(since "$t_exec")
    if awk -v e="$el" -v t="$timeout_s" 'BEGIN {exit !(e > t)}'; then
      die "stratad did not serve within --timeout $timeout_s s (listening: ${t_listen:-no}, metadata: ${t_meta:-no})"
    fi
    if awk -v e="$el" -v n="$next_note" 'BEGIN {exit !(e >= n)}'; then
      progress "   ... $el s since exec (listening at: ${t_listen:-not yet}, metadata at: ${t_meta:-not yet})"
      next_note=$((next_note + 5))
    fi
    if [ -z "$t_listen" ]; then
      port=$(log_port)
      if [ -n "$port" ]; then
        t_listen=$(since "$t_exec")
        [ -n "$probe" ] || break
        continue
      fi
    elif [ -z "$t_meta" ]; then
      if sc topic describe "$last_topic" >/dev/null 2>&1; then t_meta=$(since "$t_exec"); continue; fi
    else
      if out=$(echo "serve-probe" | sc produce "$last_topic" --partition "$last_partition" 2>&1); then
        t_serve=$(since "$t_exec")
        break
      fi
    fi
    sleep 0.02
  done
  put "${prefix}_listen_s" "$t_listen"
  [ -z "$probe" ] || { put "${prefix}_metadata_s" "$t_meta"; put "${prefix}_serve_s" "$t_serve"; }
  serve_s=${t_serve:-$t_listen}
}

# stop_broker PREFIX SIGNAL: send SIGNAL, wait for the pid to exit; PREFIX_shutdown_s, PREFIX_exit_code.
stop_broker() {
  local prefix=$1 sig=$2 t0 rc=0 next_note=5
  t0=$(now)
  # After kill -9 bash would print a "Killed" job notice; its exit status says nothing anyway.
  [ "$sig" != KILL ] || disown "$pid"
  kill "-$sig" "$pid"
  while kill -0 "$pid" 2>/dev/null && [ "$(proc_state "$pid")" != Z ]; do
    local el
    el=$(since "$t0")
    awk -v e="$el" -v t="$timeout_s" 'BEGIN {exit !(e > t)}' && die "stratad did not exit within --timeout $timeout_s s of SIG$sig"
    if awk -v e="$el" -v n="$next_note" 'BEGIN {exit !(e >= n)}'; then
      progress "   ... waiting for stratad to exit: $el s"
      next_note=$((next_note + 5))
    fi
    sleep 0.01
  done
  put "${prefix}_shutdown_s" "$(since "$t0")"
  if [ "$sig" = KILL ]; then rc=killed; else wait "$pid" 2>/dev/null || rc=$?; fi
  pid=
  put "${prefix}_exit_code" "$rc"
}

footprint() {  # footprint PREFIX: RSS, threads, fds, mappings of the running broker
  put "$1_rss_kib" "$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"
  put "$1_hwm_kib" "$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")"
  put "$1_rss_anon_kib" "$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")"
  put "$1_rss_file_kib" "$(awk '/^RssFile:/ {print $2}' "/proc/$pid/status")"
  put "$1_threads" "$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")"
  put "$1_fds" "$(ls "/proc/$pid/fd" | wc -l)"
  put "$1_maps" "$(wc -l <"/proc/$pid/maps")"
}

# log_lines FILE PREFIX: what the broker logged beyond the usual start-up line.
log_lines() {
  local f=$1 prefix=$2
  put "${prefix}_log_lines" "$(grep -c . "$f" || true)"
  put "${prefix}_log_recovered" "$(grep -ci 'recover' "$f" || true)"
  put "${prefix}_log_warn_error" "$(grep -cE ' (WARN|ERROR) ' "$f" || true)"
  cp "$f" "$work/$prefix.broker.log"
  progress "   stratad logged $(grep -c . "$f" || true) lines; lines about recovery: $(grep -ci 'recover' "$f" || true); WARN/ERROR lines: $(grep -cE ' (WARN|ERROR) ' "$f" || true). First lines:"
  head -n 8 "$f" | sed 's/^/     | /' >&2
  if grep -qE ' (WARN|ERROR) ' "$f"; then
    progress "   WARN/ERROR lines (up to 10):"
    grep -E ' (WARN|ERROR) ' "$f" | head -n 10 | sed 's/^/     | /' >&2
  fi
  grep -i 'recover' "$f" | head -n 3 >"$work/$prefix.recovery-sample.txt" || true
}

# check_fill PREFIX MODE: every partition of every topic holds N records (MODE exact) or at least
# N (MODE atleast); the count of partitions short is PREFIX_partitions_short.
check_fill() {
  local prefix=$1 mode=$2 short=0 i t out
  for i in $(seq 1 "$topics"); do
    t=$(topic_name "$i")
    out=$(sc topic describe "$t" 2>&1) || die "strata topic describe $t failed: $out"
    short=$((short + $(awk -v n="$records_per_partition" -v m="$mode" -v p="$partitions" '
      $1 ~ /^[0-9]+$/ && NF >= 5 {seen++; if ((m == "exact" && $5 != n) || $5 < n) bad++}
      END {print bad + (p - seen)}' <<<"$out")))
  done
  put "${prefix}_partitions_short" "$short"
  [ "$short" -eq 0 ] || die "$short partitions do not hold $([ "$mode" = exact ] && echo exactly || echo at least) $records_per_partition records ($prefix)"
}

# ---------------------------------------------------------------------------------------------
progress "== starting stratad ($stratad) on 127.0.0.1:0, data in $data"
start_broker start
wait_serving start
progress "   listening on 127.0.0.1:$port after $(get start_listen_s) s"
sleep 1
footprint empty

# Preflight: a 1-partition probe topic shows what one partition costs (preallocated disk, fds,
# mappings) before committing to T x P of them.
out=$(sc topic create scale-probe --partitions 1 "${config_args[@]}" 2>&1) || die "strata topic create scale-probe failed: $out"
probe_kib=$(du -sk "$data/scale-probe-0" | awk '{print $1}')
seg=$(sc topic describe scale-probe | awk -F= '/^ *segment_bytes=/ {print $2}')
out=$(sc topic delete scale-probe 2>&1) || die "strata topic delete scale-probe failed: $out"
put segment_bytes "$seg"
put probe_partition_disk_kib "$probe_kib"
out=$(sc topic create scale-probe-bench --partitions 1 "${bench_config_args[@]}" 2>&1) || die "strata topic create scale-probe-bench failed: $out"
bench_probe_kib=$(du -sk "$data/scale-probe-bench-0" | awk '{print $1}')
put bench_segment_bytes "$(sc topic describe scale-probe-bench | awk -F= '/^ *segment_bytes=/ {print $2}')"
out=$(sc topic delete scale-probe-bench 2>&1) || die "strata topic delete scale-probe-bench failed: $out"
put bench_probe_partition_disk_kib "$bench_probe_kib"
# Partitions alive at once: T x P, plus the calibration topic (P, deleted before the rest) or
# the two throughput topics (K + 8).
peak_parts=$((total_partitions + (partitions > spread + 8 ? partitions : spread + 8)))
need_kib=$((probe_kib * total_partitions))
extra_kib=$((probe_kib * partitions))
[ $((bench_probe_kib * (spread + 8))) -le "$extra_kib" ] || extra_kib=$((bench_probe_kib * (spread + 8)))
need_kib=$((need_kib + extra_kib))
# Room for one throughput run's data as well (deleted after each run), at up to 1 GiB/s.
run_kib=$((duration * 1024 * 1024 + 2 * 1024 * 1024))
avail_kib=$(df -Pk "$data" | awk 'NR == 2 {print $4}')
progress "   one empty partition: $probe_kib KiB on disk (segment_bytes $seg); throughput topics: $bench_probe_kib KiB each"
progress "   $peak_parts partitions at once would take $((need_kib / 1024)) MiB, plus ~$((run_kib / 1024)) MiB for a throughput run; $((avail_kib / 1024)) MiB free"
if [ $((need_kib + run_kib)) -gt "$avail_kib" ]; then
  die "not enough disk: $total_partitions partitions x $probe_kib KiB (an empty partition's preallocated segment) + $((extra_kib / 1024)) MiB for the scratch or throughput topics = $((need_kib / 1024 / 1024)) GiB, + $((run_kib / 1024 / 1024)) GiB for a throughput run's data, > $((avail_kib / 1024 / 1024)) GiB free on $data. Use a smaller --segment-bytes (and --bench-segment-bytes), fewer partitions, or another --data-dir"
fi
nofile=$(awk '/^Max open files/ {print $4}' "/proc/$pid/limits")
put stratad_nofile_soft "$nofile"

# ---------------------------------------------------------------------------------------------
# 1. Topic creation.
progress "== 1. creating $topics topics of $partitions partitions: strata topic create scale-N --partitions $partitions ${config_args[*]}"
t0=$(now)
step=$(( topics >= 10 ? topics / 10 : 1 ))
for i in $(seq 1 "$topics"); do
  t=$(topic_name "$i")
  out=$(sc topic create "$t" --partitions "$partitions" "${config_args[@]}" 2>&1) || die "strata topic create $t --partitions $partitions failed after $((i - 1)) topics ($(since "$t0") s): $out"
  if [ "$i" = 1 ] && [ "$topics" -gt 1 ]; then
    # What one topic's partitions cost in fds and mappings, projected to all of them.
    fds1=$(ls "/proc/$pid/fd" | wc -l)
    maps1=$(wc -l <"/proc/$pid/maps")
    proj_fds=$(( $(get empty_fds) + (fds1 - $(get empty_fds)) * peak_parts / partitions ))
    proj_maps=$(( $(get empty_maps) + (maps1 - $(get empty_maps)) * peak_parts / partitions ))
    progress "   projected for $peak_parts partitions: ~$proj_fds fds (soft limit $nofile), ~$proj_maps mappings (vm.max_map_count $(cat /proc/sys/vm/max_map_count))"
    [ "$proj_fds" -lt "$nofile" ] || progress "   WARNING: that is over stratad's fd soft limit (ulimit -n $nofile): expect failures"
    [ "$proj_maps" -lt "$(cat /proc/sys/vm/max_map_count)" ] || progress "   WARNING: that is over vm.max_map_count: expect failures"
  fi
  if [ $((i % step)) -eq 0 ] || [ "$i" -eq "$topics" ]; then
    progress "   created $i/$topics topics ($((i * partitions)) partitions) in $(since "$t0") s"
  fi
done
put create_s "$(since "$t0")"

# ---------------------------------------------------------------------------------------------
# 2. Fill. Keys pick partitions by hash, so first learn one key per partition: write 20 x P
# distinct keys to a scratch topic of P partitions, read them back (JSON shows each record's
# partition), delete it. Then one `strata produce` per topic writes N records with each key.
progress "== 2. filling every partition with $records_per_partition records of 100 B"
t0=$(now)
calib_n=$((partitions * 20))
out=$(sc topic create scale-calibrate --partitions "$partitions" "${config_args[@]}" 2>&1) || die "strata topic create scale-calibrate failed: $out"
seq 0 $((calib_n - 1)) | sed 's/^\(.*\)$/k\1:c/' >"$work/calibrate.txt"
out=$(sc produce scale-calibrate --key-separator : --acks 1 --file "$work/calibrate.txt" 2>&1) || die "calibration produce failed: $out"
sc consume scale-calibrate --from earliest --count "$calib_n" --format json >"$work/calibrate.json" 2>"$work/calibrate.err" ||
  die "calibration consume failed: $(cat "$work/calibrate.err")"
sed -n 's/.*"partition":\([0-9]*\),.*"key":"\([^"]*\)".*/\1 \2/p' "$work/calibrate.json" |
  awk '!($1 in k) {k[$1] = $2} END {for (p in k) print p, k[p]}' | sort -n >"$work/keys.txt"
[ "$(wc -l <"$work/keys.txt")" -eq "$partitions" ] || die "calibration found keys for $(wc -l <"$work/keys.txt") of $partitions partitions"
out=$(sc topic delete scale-calibrate 2>&1) || die "strata topic delete scale-calibrate failed: $out"
# Values of exactly 100 bytes: "record J of partition P" padded with dots.
awk -v n="$records_per_partition" '{for (j = 0; j < n; j++) {v = "record " j " of partition " $1 " "; while (length(v) < 100) v = v "."; print $2 ":" v}}' \
  "$work/keys.txt" >"$work/fill.txt"
put fill_calibrate_s "$(since "$t0")"
t1=$(now)
for i in $(seq 1 "$topics"); do
  t=$(topic_name "$i")
  out=$(sc produce "$t" --key-separator : --file "$work/fill.txt" 2>&1) || die "strata produce $t --key-separator : --file fill.txt failed after $((i - 1)) topics: $out"
  if [ $((i % step)) -eq 0 ] || [ "$i" -eq "$topics" ]; then
    progress "   filled $i/$topics topics ($((i * partitions * records_per_partition)) records) in $(since "$t1") s"
  fi
done
put fill_produce_s "$(since "$t1")"
put fill_s "$(since "$t0")"
progress "   checking that every partition holds exactly $records_per_partition records (strata topic describe)"
check_fill fill exact

# ---------------------------------------------------------------------------------------------
# 3. Idle footprint.
progress "== 3. idle footprint, $settle s after the fill"
sleep "$settle"
footprint idle
put idle_disk_kib "$(du -sk "$data" | awk '{print $1}')"
put idle_disk_human "$(du -sh "$data" | awk '{print $1}')"
put idle_disk_apparent_kib "$(du -sk --apparent-size "$data" | awk '{print $1}')"
progress "   RSS $(get idle_rss_kib) KiB, $(get idle_threads) threads, $(get idle_fds) fds, $(get idle_maps) mappings, $(get idle_disk_human) on disk"

# ---------------------------------------------------------------------------------------------
# 4. Clean restart.
progress "== 4. clean restart: SIGTERM, wait for exit, exec stratad, wait until it serves"
stop_broker clean TERM
progress "   exited with code $(get clean_exit_code) after $(get clean_shutdown_s) s"
[ "$(get clean_exit_code)" = 0 ] || die "stratad exited with code $(get clean_exit_code) after SIGTERM"
start_broker restart-clean
wait_serving clean probe
progress "   listening at $(get clean_listen_s) s, metadata at $(get clean_metadata_s) s, serves (produce to $last_topic/$last_partition acknowledged) at $(get clean_serve_s) s after exec"
footprint clean_serving
log_lines "$cur_log" clean
check_fill clean atleast

# ---------------------------------------------------------------------------------------------
# 5. Restart after kill -9, while producers write (or idle with --kill-writers 0). First one record
# to every partition, so that no log is still as the clean shutdown left it (a broker may reopen
# those without recovering them).
put kill_touch "$touch"
if [ "$touch" = 1 ]; then
  progress "== 5. kill -9: first one record to each of the $total_partitions partitions (strata produce TOPIC --key-separator : --acks 1, one call per topic)"
  awk '{print $2 ":touched before the kill"}' "$work/keys.txt" >"$work/touch.txt"
  t0=$(now)
  for i in $(seq 1 "$topics"); do
    t=$(topic_name "$i")
    out=$(sc produce "$t" --key-separator : --acks 1 --file "$work/touch.txt" 2>&1) || die "strata produce $t --key-separator : --acks 1 --file touch.txt failed: $out"
    if [ $((i % step)) -eq 0 ] || [ "$i" -eq "$topics" ]; then
      progress "   wrote to $i/$topics topics ($((i * partitions)) partitions) in $(since "$t0") s"
    fi
  done
  put kill_touch_s "$(since "$t0")"
fi
writer_topics=()
if [ "$kill_writers" -gt 0 ]; then
  for w in $(seq 0 $((kill_writers - 1))); do
    idx=$(( kill_writers > 1 ? 1 + w * (topics - 1) / (kill_writers - 1) : topics ))
    t=$(topic_name "$idx")
    [[ " ${writer_topics[*]} " == *" $t "* ]] || writer_topics+=("$t")
  done
  put kill_writer_topics "${writer_topics[*]}"
  progress "== 5. kill -9 while ${#writer_topics[@]} producers write (strata bench produce --topic T --record-bytes 100 --warmup 0, acks=1, keys spread over $partitions partitions) to ${writer_topics[*]}"
  before=$(sc topic describe "${writer_topics[0]}" | awk '$1 ~ /^[0-9]+$/ && NF >= 5 {s += $5} END {print s + 0}')
  for t in "${writer_topics[@]}"; do
    "$strata" --bootstrap "127.0.0.1:$port" bench produce --topic "$t" --record-bytes 100 --warmup 0 \
      --duration 3600 >"$work/writer-$t.log" 2>&1 &
    writer_pids+=($!)
  done
  # Wait until the first writer's topic grows (the writers are writing), then 2 s more.
  t0=$(now)
  while :; do
    cur=$(sc topic describe "${writer_topics[0]}" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && NF >= 5 {s += $5} END {print s + 0}')
    [ "${cur:-0}" -gt "$before" ] && break
    awk -v e="$(since "$t0")" 'BEGIN {exit !(e > 60)}' && die "the writers wrote nothing within 60 s: $(cat "$work"/writer-*.log)"
    sleep 0.1
  done
  sleep 2
  cur=$(sc topic describe "${writer_topics[0]}" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && NF >= 5 {s += $5} END {print s + 0}')
  put kill_writer0_records_before_kill "$((cur - before))"
  put kill_mode "while writing"
else
  progress "== 5. kill -9 of the idle broker"
  put kill_mode "idle"
fi
stop_broker kill KILL
for w in "${writer_pids[@]}"; do kill -TERM "$w" 2>/dev/null || true; wait "$w" 2>/dev/null || true; done
writer_pids=()
start_broker restart-kill9
wait_serving kill probe
progress "   listening at $(get kill_listen_s) s, metadata at $(get kill_metadata_s) s, serves at $(get kill_serve_s) s after exec"
footprint kill_serving
log_lines "$cur_log" kill
check_fill kill atleast

# ---------------------------------------------------------------------------------------------
# 6. Throughput over K partitions vs over 8, on the same broker. Each run gets a fresh topic
# (created before and deleted after it, untimed) so that runs start alike and disk stays bounded.
put loadavg_before_bench "$(cut -d' ' -f1-3 /proc/loadavg)"
fsync_probe dsync_write_ms_before_bench
progress "== 6. strata bench produce (1 KiB records, acks=1) over $spread partitions vs over 8, $runs runs of $duration s each"
: >"$work/bench-spread.jsonl"
: >"$work/bench-eight.jsonl"
: >"$work/create-spread.txt"
: >"$work/delete-spread.txt"
: >"$work/delete-eight.txt"
: >"$work/delete-timeouts.txt"
bench_run() {  # bench_run NAME PARTITIONS RUN
  local name=$1 n=$2 r=$3 t="scale-bench-$1" t0 out
  t0=$(now)
  out=$(sc topic create "$t" --partitions "$n" "${bench_config_args[@]}" 2>&1) || die "strata topic create $t --partitions $n failed: $out"
  [ "$name" != spread ] || since "$t0" >>"$work/create-spread.txt"
  progress "   run $r/$runs over $n partitions: strata bench produce --topic $t --duration $duration --json"
  timeout --foreground $((duration + 300)) "$strata" --bootstrap "127.0.0.1:$port" bench produce --topic "$t" \
    --duration "$duration" --json >"$work/bench-$name-$r.json" 2>"$work/bench-$name-$r.err" &
  child=$!
  wait "$child" || die "strata bench produce --topic $t failed: $(cat "$work/bench-$name-$r.err")"
  child=
  grep -q '"msgs_per_s"' "$work/bench-$name-$r.json" || die "strata bench produce printed no result: $(cat "$work/bench-$name-$r.json" "$work/bench-$name-$r.err")"
  cat "$work/bench-$name-$r.json" >>"$work/bench-$name.jsonl"
  [ "$name" != spread ] || footprint "with_spread_$r"  # the K-partition topic still exists
  progress "     $(sed -n 's/.*"msgs_per_s":\([0-9.]*\).*"mib_per_s":\([0-9.]*\).*"errors":\([0-9]*\).*/\1 msgs\/s, \2 MiB\/s, \3 errors/p' "$work/bench-$name-$r.json")"
  # Delete it (timed). The CLI gives up after its request timeout; the broker may still finish.
  t0=$(now)
  if ! out=$(sc topic delete "$t" 2>&1); then
    progress "     strata topic delete $t failed after $(since "$t0") s ($out); waiting until the topic is gone"
    echo "$name $r" >>"$work/delete-timeouts.txt"
    while :; do
      if ! out=$(sc topic describe "$t" 2>&1); then
        case $out in *"does not exist"*) break ;; esac
      fi
      awk -v e="$(since "$t0")" -v t="$timeout_s" 'BEGIN {exit !(e > t)}' && die "topic $t still exists $timeout_s s after strata topic delete: $out"
      sleep 0.5
    done
  fi
  since "$t0" >>"$work/delete-$name.txt"
  progress "     deleted in $(tail -n 1 "$work/delete-$name.txt") s"
}
for r in $(seq 1 "$runs"); do
  bench_run spread "$spread" "$r"
  bench_run eight 8 "$r"
done
footprint after_bench
put loadavg_after_bench "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------------------------------
# The report. The broker stays up until the cleanup stops it.
put finished_utc "$(date -u '+%Y-%m-%d %H:%M UTC')"
report_args=("$results" --bench-spread "$work/bench-spread.jsonl" --bench-eight "$work/bench-eight.jsonl"
  --create-spread "$work/create-spread.txt" --delete-spread "$work/delete-spread.txt"
  --delete-eight "$work/delete-eight.txt" --delete-timeouts "$work/delete-timeouts.txt")
[ -z "$json" ] || report_args+=(--json "$json")
python3 "$report_py" "${report_args[@]}" || { keep_work=1; die "the report failed (raw results: $results)"; }
