#!/usr/bin/env bash
# A full disk under a real stratad, on a real small file system:
#
#   disk_full_test.sh <strata binary> <stratad binary>
#
# Runs in a private mount namespace (unshare -m) on a 32 MiB tmpfs, so nothing is mounted outside
# this test and the mount goes away with it. Exits 77 (ctest: skipped, with the reason printed)
# when this machine refuses the namespace or the mount. Checks, with the disk filled up by a
# filler file:
#   - a producer is told the disk is full, naming the broker and the partition, and retries;
#   - everything acknowledged before stays readable, and reads go on while the disk is full;
#   - a partition with space still reserved keeps taking appends;
#   - creating a topic is refused up front, naming the free space and the reserve it needs, and
#     leaves nothing behind;
#   - once space is freed (the filler removed) the waiting producer delivers, without a restart,
#     and the broker shuts down cleanly and comes back with every record.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <strata binary> <stratad binary>" >&2
  exit 2
fi
strata=$(realpath "$1")
stratad=$(realpath "$2")

if [[ -z "${STRATA_DISK_FULL_INNER:-}" ]]; then
  if ! why=$(unshare -m --propagation private true 2>&1); then
    echo "SKIP: cannot make a private mount namespace here (unshare -m: $why)"
    exit 77
  fi
  export STRATA_DISK_FULL_INNER=1
  exec unshare -m --propagation private bash "$0" "$@"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-disk-full-test.XXXXXX")
pid=
producer=
cleanup() {
  if [[ -n "$producer" ]]; then kill -9 "$producer" 2>/dev/null || true; fi
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  umount "$tmp/disk" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/disk"
if ! why=$(mount -t tmpfs -o size=32m strata-disk-full-test "$tmp/disk" 2>&1); then
  echo "SKIP: mounting a small tmpfs is refused here ($why)"
  exit 77
fi
data=$tmp/disk/data

broker_log=$tmp/stratad.log
source "$(dirname "$0")/cli_test_lib.sh"
free_bytes() { df -B1 --output=avail "$tmp/disk" | tail -1 | tr -d ' '; }

start_broker() {
  "$stratad" --data-dir "$data" --listen 127.0.0.1:0 --metrics-listen off >"$tmp/stratad.log" 2>&1 &
  pid=$!
  wait_for_broker "$tmp/stratad.log"
}
stop_broker() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=
  [[ $rc -eq 0 ]] || fail "stratad exited $rc after SIGTERM"
}

start_broker
run "$strata" topic create events --partitions 1
expect_rc 0
run "$strata" topic create other --partitions 1
expect_rc 0
# Acknowledged before the disk fills: "before-1" .. "before-200" in events, one record in other
# (whose first append reserves its first preallocation step).
seq -f 'before-%g' 1 200 >"$tmp/before.txt"
run "$strata" produce events --file "$tmp/before.txt"
expect_rc 0
run bash -c "echo other-1 | '$strata' produce other"
expect_rc 0

# Fill the disk, leaving less than one preallocation step free.
fallocate -l $(( $(free_bytes) - 16 * 1024 )) "$tmp/disk/filler" ||
  fail "fallocate of the filler failed"
echo "free after filling: $(free_bytes) bytes"

# A producer that needs new space is told the disk is full, and keeps retrying.
# (About 400 KiB: more than the partition has reserved.)
pad=$(printf 'x%.0s' $(seq 1 120))
seq -f "during-%g-$pad" 1 3000 >"$tmp/during.txt"
"$strata" produce events --file "$tmp/during.txt" >"$tmp/producer.out" 2>"$tmp/producer.err" &
producer=$!
for _ in $(seq 1 300); do
  grep -q "no disk space" "$tmp/producer.err" && break
  kill -0 "$producer" 2>/dev/null || break
  sleep 0.1
done
out=$(cat "$tmp/producer.err")
last="strata produce events (disk full)"
expect_out "cannot deliver to events-0 yet"
expect_out "broker 0 has no disk space left for partition events-0; nothing was written"
expect_out "STORAGE_FULL"
kill -0 "$producer" 2>/dev/null || fail "the producer gave up instead of retrying"
echo "the producer says: $(head -1 "$tmp/producer.err")"

# Reads go on, and everything acknowledged is there.
run "$strata" consume events --from earliest --count 200
expect_rc 0
diff <(printf '%s\n' "$out") "$tmp/before.txt" >/dev/null ||
  fail "the acknowledged records do not read back as written"
# A partition with space still reserved keeps taking appends.
run bash -c "echo other-2 | '$strata' produce other"
expect_rc 0
expect_out "produced 1 record"

# A new topic is refused up front, naming the space, and leaves nothing behind.
ls "$data" >"$tmp/dirs-before"
run "$strata" topic create big --partitions 500
expect_rc 1
expect_out "not enough disk space for 500 new partition(s) of topic 'big'"
expect_out "free and they need a reserve of"
run "$strata" topic list
expect_rc 0
grep -q '^big' <<<"$out" && fail "the refused topic is listed"
diff "$tmp/dirs-before" <(ls "$data") >/dev/null || fail "the refused create left files behind"
[[ ! -e "$data/meta/topics/big.conf" ]] || fail "the refused create left its config"

# Space comes back: the waiting producer delivers everything, without a broker restart.
rm "$tmp/disk/filler"
producer_rc=0
wait "$producer" || producer_rc=$?
producer=
out=$(cat "$tmp/producer.out" "$tmp/producer.err")
last="strata produce events (after space returned)"
[[ $producer_rc -eq 0 ]] || fail "the producer exited $producer_rc after space returned"
expect_out "produced 3000 records"

# Every record, once and in order, also after a clean restart.
cat "$tmp/before.txt" "$tmp/during.txt" >"$tmp/all.txt"
stop_broker
start_broker
run "$strata" consume events --from earliest --count 3200
expect_rc 0
diff <(printf '%s\n' "$out") "$tmp/all.txt" >/dev/null || fail "events does not read back whole"
run "$strata" consume other --from earliest --count 2
expect_rc 0
[[ "$out" == $'other-1\nother-2' ]] || fail "other does not read back whole"
stop_broker
echo "disk_full_test: all checks passed"
