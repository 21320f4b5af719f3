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

// XXH3-128, for identifying keys by hash where a 64-bit collision would cost data: compaction's
// key map (log/compaction.h) drops a record when another with the same hash is newer. Baseline
// implementation only; the map hashes each key once per pass.
struct Hash128 {
  uint64_t low = 0;
  uint64_t high = 0;
  friend bool operator==(const Hash128&, const Hash128&) = default;
};
Hash128 Xxh3_128(const void* data, size_t size);

namespace internal {
uint64_t Xxh3_64Baseline(const void* data, size_t size);
uint64_t Xxh3_64Avx2(const void* data, size_t size);  // only call when the CPU has AVX2
}  // namespace internal

}  // namespace strata
