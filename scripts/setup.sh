#!/usr/bin/env bash
# Installs Strata's build and test dependencies from Debian's packages.
# Idempotent: when every package is already installed it prints nothing and touches nothing.
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
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
