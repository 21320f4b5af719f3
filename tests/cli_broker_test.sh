#!/usr/bin/env bash
# End-to-end test of the real `strata` CLI against a real `stratad`:
#
#   cli_broker_test.sh <strata binary> <stratad binary>
#
# Starts stratad on ephemeral loopback ports (always stopped on exit), then runs the README's user
# story (topic create, produce with keys, consume as JSON) and the other topic, produce and consume
# options, consumer groups (consume --group, group list/describe/reset-offsets/delete), the errors
# a user meets (existing topic, unknown topic, bad flags, a live group, no broker), a produce that
# outlives its broker (it says it is retrying, then delivers), and a SIGTERM
# that must exit 0.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <strata binary> <stratad binary>" >&2
  exit 2
fi
strata=$1
stratad=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-cli-broker-test.XXXXXX")
pid=
producer=
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  if [[ -n "$producer" ]]; then kill -9 "$producer" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

broker_log=$tmp/stratad.log
source "$(dirname "$0")/cli_test_lib.sh"

# Consumer groups form without the default 3 s wait for more members.
printf 'group_initial_rebalance_delay_ms = 0\n' >"$tmp/stratad.toml"
"$stratad" --data-dir "$tmp/data" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 \
  --config "$tmp/stratad.toml" >"$tmp/stratad.log" 2>&1 &
pid=$!
wait_for_broker "$tmp/stratad.log"

# Bad configuration stops start-up with what to fix, and the running broker is unaffected.
run "$stratad" --data-dir "$tmp/data2" --listen "127.0.0.1:$port" --metrics-listen off
expect_rc 1
expect_out "cannot listen on 127.0.0.1:$port"
expect_out "--listen"
touch "$tmp/not-a-dir"
run "$stratad" --data-dir "$tmp/not-a-dir/data" --listen 127.0.0.1:0 --metrics-listen off
expect_rc 1
expect_out "cannot use data directory"
expect_out "--data-dir"
printf 'listen = "127.0.0.1:0"\nlisten_prot = 5\n' >"$tmp/bad.toml"
run "$stratad" --config "$tmp/bad.toml"
expect_rc 2
expect_out "line 2"
expect_out "listen_prot"
run "$stratad" --listen nonsense
expect_rc 2
expect_out "HOST:PORT"
run "$stratad" --help
expect_rc 0
expect_out "127.0.0.1:9292"
expect_out "--metrics-listen"
expect_out "frame_read_timeout_ms"

# The user story from the README.
run "$strata" topic create orders --partitions 8
expect_rc 0
expect_out "created topic orders with 8 partitions"
run_stdin 'k1:hello\nk2:world\n' "$strata" produce orders --key-separator :
expect_rc 0
expect_out "produced 2 records"
run "$strata" consume orders --from earliest --count 2 --format json
expect_rc 0
expect_lines 2
expect_out '"key":"k1"'
expect_out '"value":"hello"'
expect_out '"key":"k2"'
expect_out '"value":"world"'
expect_out '"topic":"orders"'

# Topics: list, describe, alter, and the errors.
run "$strata" topic list
expect_rc 0
expect_out orders
run "$strata" topic describe orders
expect_rc 0
expect_out "segment_bytes=1073741824"
run "$strata" topic alter orders --config retention_ms=3600000
expect_rc 0
run "$strata" topic describe orders
expect_out "retention_ms=3600000"
run "$strata" topic alter orders --config no_such_key=1
expect_rc 1
expect_out "no_such_key"
run "$strata" topic create orders
expect_rc 1
expect_out "already exists"
run "$strata" topic create 'bad name!'
expect_rc 1
run "$strata" topic describe nope
expect_rc 1
expect_out "nope"

# Produce options: headers, acks, compression, a file, an explicit partition.
printf 'a\nb\nc\n' >"$tmp/input.txt"
run "$strata" topic create logs --partitions 2
expect_rc 0
run "$strata" produce logs --file "$tmp/input.txt" -H source=test --acks 1 --compression lz4 \
  --partition 1
expect_rc 0
expect_out "produced 3 records"
run "$strata" consume logs --partition 1 --from 1 --count 2 --format json
expect_rc 0
expect_lines 2
expect_out '"value":"b"'
expect_out '"source"'
run "$strata" consume logs --partition 1 --from earliest --format text
expect_rc 0
expect_lines 3
run "$strata" consume logs --from @0 --count 3
expect_rc 0
expect_lines 3
run "$strata" consume logs --from latest --count 1
expect_rc 0
expect_lines 0
run "$strata" consume logs --partition 1 --from 99
expect_rc 0
expect_out "logs-1 ends at offset 3, so there is nothing at or after offset 99"
run "$strata" consume logs --from yesterday
expect_rc 2
run "$strata" produce nope --acks all </dev/null
expect_rc 1
expect_out "nope"

# Consumer groups: consume as a member, committed offsets, describe, reset-offsets, delete.
run "$strata" topic create clicks --partitions 3
expect_rc 0
run_stdin 'a:1\nb:2\nc:3\nd:4\ne:5\nf:6\n' "$strata" produce clicks --key-separator :
expect_rc 0
run "$strata" consume clicks --group web --format json
expect_rc 0
expect_lines 6
run "$strata" consume clicks --group web
expect_rc 0
expect_lines 0  # everything was committed
run "$strata" group list
expect_rc 0
expect_out "web"
expect_out "Empty"
run "$strata" group describe web
expect_rc 0
expect_out "total lag: 0"
run_stdin 'g:7\n' "$strata" produce clicks --key-separator :
run "$strata" group describe web
expect_out "total lag: 1"
run "$strata" group reset-offsets web --topic clicks --to earliest --dry-run
expect_rc 0
expect_out "dry run: nothing changed"
run "$strata" consume clicks --group web
expect_lines 1  # the dry run changed nothing
run "$strata" group reset-offsets web --topic clicks --to earliest
expect_rc 0
expect_out "reset 3 partitions"
run "$strata" consume clicks --group web
expect_lines 7
# A live member: reset and delete are refused with what to do; SIGTERM leaves cleanly (exit 0).
"$strata" consume clicks --group web --follow >"$tmp/member.out" 2>&1 &
member=$!
for _ in $(seq 1 200); do
  run "$strata" group describe web
  [[ "$out" == *"1 member"* && "$out" == *"partitions: clicks"* ]] && break
  sleep 0.05
done
expect_out "1 member"
expect_out "partitions: clicks-0 clicks-1 clicks-2"
run "$strata" group reset-offsets web --topic clicks --to latest
expect_rc 1
expect_out "live member"
expect_out "stop its consumers first"
run "$strata" group delete web
expect_rc 1
expect_out "Stop the group's consumers"
kill -TERM "$member"
wait "$member" || fail "strata consume --group exited $? after SIGTERM"
run "$strata" group describe web
expect_out "0 members"
run "$strata" group delete web
expect_rc 0
run "$strata" group describe web
expect_rc 1
expect_out "there is no group 'web'"
run "$strata" consume clicks --group web --partition 0
expect_rc 2
expect_out "the group decides"
run "$strata" consume clicks --group web --from 3
expect_rc 1
expect_out "reset-offsets"
run "$strata" topic create __private
expect_rc 1
expect_out "reserved"

# bench produce --sync: one record at a time, each acknowledged (here fsynced) before the next.
run "$strata" topic create synced --config flush_always=true
expect_rc 0
run "$strata" bench produce --topic synced --sync --records 50 --warmup 0 --json
expect_rc 0
expect_out '"sync":true'
expect_out '"records":50,'
expect_out '"errors":0,'
run "$strata" consume synced --from earliest --count 50 --format json
expect_rc 0
expect_lines 50
run "$strata" bench produce --topic synced --sync --rate 100 --records 5
expect_rc 2
expect_out "drop --rate"
# bench consume reads them back, and says so when the topic holds fewer than --records.
run "$strata" bench consume --topic synced --records 80 --warmup 0 --json
expect_rc 0
expect_out '"records":50,'
expect_out "the topic ran out after 50 of --records 80"

# Delete removes the topic.
run "$strata" topic delete logs
expect_rc 0
run "$strata" topic list
[[ "$out" != *logs* ]] || fail "deleted topic still listed"

# SIGTERM: clean exit 0; the data survives a restart, and a --follow consumer carries on.
"$strata" consume orders --from earliest --follow >"$tmp/follow.out" 2>"$tmp/follow.err" &
follower=$!
for _ in $(seq 1 200); do
  [[ $(grep -c . "$tmp/follow.out" || true) -ge 2 ]] && break
  sleep 0.05
done
kill -TERM "$pid"
wait "$pid" || fail "stratad exited $? after SIGTERM"
pid=
grep -q "stopped cleanly" "$tmp/stratad.log" || fail "no clean-stop line"
"$stratad" --data-dir "$tmp/data" --listen "127.0.0.1:$port" --metrics-listen 127.0.0.1:0 \
  >>"$tmp/stratad.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  run "$strata" consume orders --from earliest --count 2
  [[ $rc -eq 0 ]] && break
  sleep 0.05
done
expect_rc 0
expect_lines 2
run_stdin 'k9:after-restart\n' "$strata" produce orders --key-separator :
expect_rc 0
for _ in $(seq 1 100); do
  grep -q after-restart "$tmp/follow.out" && break
  sleep 0.1
done
out=$(cat "$tmp/follow.err")
grep -q after-restart "$tmp/follow.out" || fail "consume --follow did not carry on after a restart"
expect_out "retrying until it is back"
kill "$follower"
wait "$follower" 2>/dev/null || true

# A produce that outlives its broker says it is retrying, and delivers once the broker is back.
run "$strata" topic create outage --partitions 1
expect_rc 0
mkfifo "$tmp/produce.in"
"$strata" produce outage --key-separator : <"$tmp/produce.in" >"$tmp/produce.out" \
  2>"$tmp/produce.err" &
producer=$!
exec 3>"$tmp/produce.in"
printf 'k1:before-outage\n' >&3
for _ in $(seq 1 100); do
  run "$strata" consume outage --from earliest --count 1
  grep -q before-outage <<<"$out" && break
  sleep 0.1
done
expect_out before-outage
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=
printf 'k1:during-outage\n' >&3
for _ in $(seq 1 100); do
  grep -q "retrying for up to" "$tmp/produce.err" && break
  sleep 0.1
done
out=$(cat "$tmp/produce.err")
expect_out "strata produce: cannot deliver to outage-0 yet"
expect_out "retrying for up to"
# (3>&-: the broker must not hold the produce's input open.)
"$stratad" --data-dir "$tmp/data" --listen "127.0.0.1:$port" --metrics-listen 127.0.0.1:0 \
  >>"$tmp/stratad.log" 2>&1 3>&- &
pid=$!
exec 3>&-  # end of input: produce flushes, delivers and exits
for _ in $(seq 1 300); do
  kill -0 "$producer" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$producer" 2>/dev/null; then
  out=$(cat "$tmp/produce.err")
  fail "strata produce did not finish within 30 s of the broker coming back"
fi
set +e
wait "$producer"
rc=$?
set -e
producer=
out=$(cat "$tmp/produce.out" "$tmp/produce.err")
last="produce across a broker restart"
expect_rc 0
expect_out "produced 2 records"
run "$strata" consume outage --from earliest --count 2
expect_rc 0
expect_lines 2
expect_out before-outage
expect_out during-outage

# No broker: a message that says what to do.
kill -TERM "$pid"
wait "$pid" || true
pid=
run "$strata" topic list
expect_rc 1
expect_out "is stratad running?"
run "$strata" --bootstrap 127.0.0.1 topic list
expect_rc 1
expect_out "cannot reach 127.0.0.1:9292"

echo "cli_broker_test: ok"
