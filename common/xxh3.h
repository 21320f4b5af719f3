// XXH3-64, the checksum of record batches, with the fastest implementation this CPU supports.
//
// The Debian libxxhash is built for baseline x86-64 (SSE2). XXH3 runs ~2.5x faster with AVX2,
// and every append and every consumer hashes each byte once, so Strata compiles xxhash.h's inline
// implementation twice (baseline and -mavx2) and picks one at startup. The result is the same
// XXH3-64 value either way (tested in common/xxh3_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata {

uint64_t Xxh3_64(const void* data, size_t size);

namespace internal {
uint64_t Xxh3_64Baseline(const void* data, size_t size);
uint64_t Xxh3_64Avx2(const void* data, size_t size);  // only call when the CPU has AVX2
}  // namespace internal

}  // namespace strata
