#include "record/partitioner.h"

#include <cstdlib>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/xxh3.h"

namespace strata::record {
namespace {

void CheckPartitions(int32_t partitions) {
  if (partitions <= 0) {
    LogEvent(LogLevel::kError,
             absl::StrCat("partitioner called with ", partitions, " partitions (must be > 0)"));
    std::abort();
  }
}

}  // namespace

int32_t PartitionForKey(std::span<const std::byte> key, int32_t partitions) {
  CheckPartitions(partitions);
  return int32_t(Xxh3_64(key.data(), key.size()) % uint64_t(partitions));
}

int32_t PartitionForKey(std::string_view key, int32_t partitions) {
  return PartitionForKey(std::as_bytes(std::span(key.data(), key.size())), partitions);
}

StickyPartitioner::StickyPartitioner(int32_t partitions, uint64_t seed)
    : partitions_(partitions), rng_state_(seed) {
  CheckPartitions(partitions);
  absl::MutexLock lock(&mu_);
  current_ = int32_t(NextRandom() % uint64_t(partitions_));
}

StickyPartitioner::StickyPartitioner(int32_t partitions)
    : StickyPartitioner(partitions, (uint64_t(std::random_device{}()) << 32) ^
                                        uint64_t(std::random_device{}())) {}

int32_t StickyPartitioner::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

int32_t StickyPartitioner::BatchCompleted(int32_t partition) {
  absl::MutexLock lock(&mu_);
  if (partition == current_ && partitions_ > 1) {
    // A step of 1..n-1 never lands on the current partition and reaches each other one equally.
    int32_t step = 1 + int32_t(NextRandom() % uint64_t(partitions_ - 1));
    current_ = (current_ + step) % partitions_;
  }
  return current_;
}

// splitmix64: tiny, fast, and good enough to spread partitions; the sequence depends only on the
// seed, so tests are deterministic.
uint64_t StickyPartitioner::NextRandom() {
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace strata::record
