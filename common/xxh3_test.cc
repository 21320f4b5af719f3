#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "common/xxh3.h"

namespace strata {
namespace {

TEST_CASE("every XXH3 implementation gives the same value", "[xxh3]") {
  std::mt19937_64 rng(42);
  std::vector<unsigned char> data(70000);
  for (auto& b : data) b = static_cast<unsigned char>(rng());
  for (size_t size : {0, 1, 3, 16, 17, 128, 129, 240, 241, 1024, 4096, 65536, 70000}) {
    INFO("size " << size);
    uint64_t base = internal::Xxh3_64Baseline(data.data(), size);
    CHECK(Xxh3_64(data.data(), size) == base);
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) CHECK(internal::Xxh3_64Avx2(data.data(), size) == base);
#endif
  }
  // A published XXH3-64 test vector: the empty input.
  CHECK(Xxh3_64("", 0) == 0x2D06800538D394C2ull);
}

TEST_CASE("XXH3-128 matches the published value and separates near inputs", "[xxh3]") {
  // The empty input's XXH3-128 (xxhash's sanity-check table).
  Hash128 empty = Xxh3_128("", 0);
  CHECK(empty.low == 0x6001C324468D497Full);
  CHECK(empty.high == 0x99AA06D3014798D8ull);
  CHECK(Xxh3_128("key-1", 5) != Xxh3_128("key-2", 5));
  CHECK(Xxh3_128("key-1", 5) == Xxh3_128("key-1", 5));
}

}  // namespace
}  // namespace strata
