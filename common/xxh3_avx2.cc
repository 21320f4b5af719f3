// Compiled with -mavx2 (see common/CMakeLists.txt); called only when the CPU supports AVX2.
#include "common/xxh3.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace strata::internal {
uint64_t Xxh3_64Avx2(const void* data, size_t size) { return XXH3_64bits(data, size); }
}  // namespace strata::internal
