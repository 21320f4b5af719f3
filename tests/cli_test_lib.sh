# Helpers the shell tests of the CLI and the broker source (cli_log_test.sh, cli_broker_test.sh,
# disk_full_test.sh). `run` captures a command's output in $out and its exit code in $rc; the
# expect_* functions check them and `fail` stops the test, printing the last command's output and,
# when the test has set `broker_log`, that file (the broker's log).

fail() {
  printf 'FAIL: %s\n--- output of the last command ---\n%s\n' "$1" "${out:-}" >&2
  if [[ -n "${broker_log:-}" ]]; then
    printf -- '--- stratad log ---\n%s\n' "$(cat "$broker_log" 2>/dev/null)" >&2
  fi
  exit 1
}
# run CMD...: runs it with stdout and stderr captured in $out and its exit code in $rc.
run() {
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  last="$*"
}
# run_stdin INPUT CMD...: the same, with INPUT (printf %b escapes) on its standard input.
run_stdin() {
  local input=$1
  shift
  set +e
  out=$(printf '%b' "$input" | "$@" 2>&1)
  rc=$?
  set -e
  last="$*"
}
expect_rc() { [[ $rc -eq $1 ]] || fail "'$last' exited $rc, expected $1"; }
expect_out() { grep -qF -- "$1" <<<"$out" || fail "'$last' did not print: $1"; }
expect_no_out() { ! grep -qF -- "$1" <<<"$out" || fail "'$last' printed: $1"; }
expect_lines() {
  local n
  n=$(grep -c . <<<"$out" || true)
  [[ $n -eq $1 ]] || fail "'$last' printed $n lines, expected $1"
}
# wait_for_broker LOG: waits (up to 10 s) for a stratad started with --listen 127.0.0.1:0 and
# logging to LOG to say where it listens, then sets `port` and STRATA_BOOTSTRAP to it.
wait_for_broker() {
  port=
  for _ in $(seq 1 200); do
    # The log may not exist yet: the broker's shell creates it after the caller went on.
    port=$(sed -n 's/.*native protocol on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" 2>/dev/null || true)
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || fail "stratad did not start"
  export STRATA_BOOTSTRAP=127.0.0.1:$port
}
