#!/usr/bin/env bash
# End-to-end test of the real `strata` binary's offline log tools.
#
#   cli_log_test.sh <strata binary> <make_test_log binary>
#
# Writes a multi-segment log with make_test_log, then checks help and usage errors, `log verify`
# (ok, then corrupt after flipping one byte of a batch in the middle of the first segment, then a
# missing directory) and `log dump`, including that neither tool changes the directory.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 <strata binary> <make_test_log binary>" >&2
  exit 2
fi
strata=$1
make_test_log=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-cli-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

source "$(dirname "$0")/cli_test_lib.sh"

dir=$tmp/orders-0
"$make_test_log" "$dir" 2000

# --- Help teaches: a description, the options, examples; only commands that exist -------------
run "$strata" --help
expect_rc 0
expect_out "offline"
expect_out "log"
expect_out "Examples:"
expect_out "strata log verify"
# The only command is `log`: the Subcommands section has exactly one entry.
[[ $(sed -n '/^Subcommands:/,/^$/p' <<<"$out" | grep -c '^  [a-z]') -eq 1 ]] ||
  fail "strata --help lists commands other than 'log'"

run "$strata" log --help
expect_rc 0
expect_out "dump"
expect_out "verify"
expect_out "Examples:"

run "$strata" log dump --help
expect_rc 0
for opt in --records --from-offset --max-batches DIR Examples:; do expect_out "$opt"; done

run "$strata" log verify --help
expect_rc 0
expect_out "corrupt: <file> at position"
expect_out "Examples:"

# --- Usage errors say what to run instead ---------------------------------------------------
run "$strata"
expect_rc 2
expect_out "'strata log'"
expect_out "Run 'strata --help'"

run "$strata" frobnicate
expect_rc 2
expect_out "frobnicate"
expect_out "'strata log'"

run "$strata" log frobnicate
expect_rc 2
expect_out "'strata log dump', 'strata log verify' or 'strata log compare'"

run "$strata" log dump
expect_rc 2
expect_out "Run 'strata log dump --help'"

run "$strata" log dump "$dir" --max-batches -1
expect_rc 2

# --- verify and dump on a good log ----------------------------------------------------------
before=$(cd "$dir" && sha256sum -- * | sort)

run "$strata" log verify "$dir"
expect_rc 0
expect_out "ok: "
expect_out "200 batches, offsets [0, 2000)"

run "$strata" log dump "$dir" --records
expect_rc 0
expect_out "segment 00000000000000000000.log base_offset=0"
expect_out "base_offset=1990 last_offset=1999"
expect_out 'record offset=1234 '
expect_out 'key="key-4" value="value-1234.'
expect_out 'headers=["h"="x"]'

run "$strata" log dump "$dir" --from-offset 1000 --max-batches 1
expect_rc 0
expect_out "base_offset=1000 last_offset=1009"
expect_no_out "base_offset=1010 "
expect_out "stopped after 1 batches"

# --- One flipped byte in a batch in the middle of the first segment -------------------------
first=$(find "$dir" -name '*.log' | sort | head -n 1)
name=$(basename "$first")
mapfile -t positions < <("$strata" log dump "$dir" | awk -v seg="$name" '
  $1 == "segment" { current = $2 }
  $1 == "batch" && current == seg { sub("position=", "", $2); print $2 }')
[[ ${#positions[@]} -gt 4 ]] || fail "expected several batches in $name, found ${#positions[@]}"
middle=${positions[$(( ${#positions[@]} / 2 ))]}
at=$(( middle + 70 ))  # inside the records, which the checksum covers
old=$(od -An -tu1 -j "$at" -N1 "$first" | tr -d ' ')
# shellcheck disable=SC2059  # the format is the octal escape of the new byte
printf "$(printf '\\%03o' $(( old ^ 255 )))" |
  dd of="$first" bs=1 seek="$at" conv=notrunc status=none

run "$strata" log verify "$dir"
expect_rc 1
expect_out "corrupt: $first at position $middle: "
expect_out "checksum mismatch"

run "$strata" log dump "$dir"
expect_rc 0
expect_out "batch position=$middle "
expect_out "checksum=BAD: "
expect_out "base_offset=1990 last_offset=1999"  # the dump went on past the bad batch

# Neither tool wrote anything: the one file this test changed is the only difference, and no
# file appeared or went away.
after=$(cd "$dir" && sha256sum -- * | sort)
changed=$(diff <(echo "$before") <(echo "$after") | grep -c '^>' || true)
[[ $changed -eq 1 ]] || fail "expected exactly one changed file (the flipped one), found $changed"

# --- A directory that is not there ----------------------------------------------------------
run "$strata" log verify "$tmp/no-such-partition"
expect_rc 2
expect_out "no-such-partition"
expect_out "Pass the directory of one partition"

run "$strata" log dump "$tmp/no-such-partition"
expect_rc 2
expect_out "Pass the directory of one partition"

mkdir "$tmp/empty"
run "$strata" log verify "$tmp/empty"
expect_rc 2
expect_out "holds no segment files"

echo "cli_log_test: all checks passed"
