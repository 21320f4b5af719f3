#include "common/xxh3.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace strata {
namespace internal {
uint64_t Xxh3_64Baseline(const void* data, size_t size) { return XXH3_64bits(data, size); }
}  // namespace internal

Hash128 Xxh3_128(const void* data, size_t size) {
  XXH128_hash_t h = XXH3_128bits(data, size);
  return Hash128{h.low64, h.high64};
}

uint64_t Xxh3_64(const void* data, size_t size) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return internal::Xxh3_64Avx2(data, size);
#endif
  return internal::Xxh3_64Baseline(data, size);
}

}  // namespace strata
