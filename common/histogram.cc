#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace strata {

int Histogram::BucketOf(int64_t value) {
  if (value < kSubBuckets) return value < 0 ? 0 : static_cast<int>(value);
  const auto v = static_cast<uint64_t>(value);
  const int msb = 63 - std::countl_zero(v);           // >= kSubBucketBits
  const int shift = msb - kSubBucketBits;              // low bits dropped
  const int sub = static_cast<int>((v >> shift) & (kSubBuckets - 1));
  return kSubBuckets + shift * kSubBuckets + sub;
}

int64_t Histogram::BucketUpperEdge(int bucket) {
  if (bucket < kSubBuckets) return bucket;
  const int shift = (bucket - kSubBuckets) / kSubBuckets;
  const uint64_t sub = static_cast<uint64_t>((bucket - kSubBuckets) % kSubBuckets);
  const uint64_t lower = (uint64_t{kSubBuckets} | sub) << shift;
  const uint64_t upper = lower + ((uint64_t{1} << shift) - 1);
  return upper > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(upper);
}

void Histogram::Record(int64_t value) {
  if (value < 0) value = 0;
  buckets_[BucketOf(value)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

int64_t Histogram::Percentile(double q) const {
  uint64_t total = 0;
  std::array<uint64_t, kBuckets> snap;
  for (int i = 0; i < kBuckets; ++i) {
    snap[i] = buckets_[i].load(std::memory_order_relaxed);
    total += snap[i];
  }
  if (total == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the value at q: at least 1, so q = 0 gives the smallest value's bucket.
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * double(total))));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += snap[i];
    if (seen >= rank) return std::min(BucketUpperEdge(i), max());
  }
  return max();
}

uint64_t Histogram::CountAtOrBelow(int64_t bound) const {
  if (bound < 0) return 0;
  const int last = BucketOf(bound);
  uint64_t n = 0;
  for (int i = 0; i <= last; ++i) n += buckets_[i].load(std::memory_order_relaxed);
  return n;
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) {
    buckets_[i].fetch_add(other.buckets_[i].load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
  }
  count_.fetch_add(other.count(), std::memory_order_relaxed);
  sum_.fetch_add(other.sum(), std::memory_order_relaxed);
  int64_t seen = max_.load(std::memory_order_relaxed);
  const int64_t v = other.max();
  while (v > seen && !max_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}

void Histogram::Reset() {
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  sum_.store(0, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

}  // namespace strata
