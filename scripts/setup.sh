#!/usr/bin/env bash
# Installs Strata's build and test dependencies from Debian's packages.
# Idempotent: when every package is already installed (and tests/kafka/js/node_modules matches its
# lock file) it prints nothing and touches nothing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libasio-dev                              # standalone Asio (networking)
  libflatbuffers-dev flatbuffers-compiler  # wire schemas + flatc
  libxxhash-dev                            # XXH3-64 batch checksums
  liblz4-dev                               # LZ4 frame compression of record sections
  libabsl-dev                              # absl::Status, synchronization, strings
  catch2                                   # unit tests
  libbenchmark-dev                         # bench/
  libcli11-dev                             # the strata CLI's argument parsing
  clang-14 libclang-rt-14-dev              # fuzz/: libFuzzer and its sanitizer runtimes
  etcd-server                              # cluster coordination (leases, election, partition state)
  libcurl4-openssl-dev                     # HTTP to etcd's v3 JSON gateway (cluster/etcd_http.cc)
  nlohmann-json3-dev                       # the JSON bodies of that gateway
  nftables                                 # network partitions in the fault tests
  iproute2 util-linux python3              # the fault campaign: ip, unshare -n, its driver
  # tests/kafka: real Kafka clients against the Kafka listener (librdkafka 2.0.2 under all three)
  kcat librdkafka-dev python3-confluent-kafka python3-kafka python3-lz4
)
# Node for tests/kafka/js (kafkajs). Debian's npm depends on Debian's nodejs and conflicts with
# NodeSource's nodejs, which bundles npm ("Provides: npm", "Conflicts: npm"), so each is asked
# for only when its command is missing: a machine with NodeSource's node gets neither.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done"
fi

# kafkajs and kafkajs-lz4 for tests/kafka/js, as pinned by its package-lock.json: `npm ci` runs
# only when node_modules is missing or the lock file changed since it last ran (a stamp in
# node_modules holds the lock's checksum). The lz4 package's install script compiles its native
# binding with node-gyp against this machine's node headers (build-essential and python3 above).
js_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/kafka/js"
lock_sum=$(sha256sum "$js_dir/package-lock.json" | cut -d' ' -f1)
stamp="$js_dir/node_modules/.strata-lock-sha256"
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: npm ci in tests/kafka/js"
  (cd "$js_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" >"$stamp"
fi
