// Histogram: a lock-free, HDR-style latency histogram (log-linear buckets) for metrics and
// benchmarks.
//
// Values (any unit; callers use microseconds or nanoseconds and say so in the name) fall into
// buckets whose width is 1/kSubBuckets of their power of two, so any percentile read back is within
// 1/kSubBuckets (6.25%) of the true value, over the whole int64 range, in a fixed 8 KiB.
//
// Thread-safe: Record may run on any number of threads at once (relaxed atomics); readers see a
// consistent-enough snapshot for reporting (counts may be mid-update by a few records).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

namespace strata {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 4;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;
  // Values below kSubBuckets get one exact bucket each; every power of two above, up to 2^62
  // (the highest an int64 reaches), gets kSubBuckets.
  static constexpr int kBuckets = kSubBuckets + (63 - kSubBucketBits) * kSubBuckets;

  Histogram() = default;
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Negative values count as 0.
  void Record(int64_t value);

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  int64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  int64_t max() const { return max_.load(std::memory_order_relaxed); }

  // The value at quantile q in [0, 1] (the upper edge of its bucket, capped by max()); 0 when
  // empty.
  int64_t Percentile(double q) const;
  // How many recorded values are <= `bound` (exact when `bound` + 1 is a bucket edge, e.g. any
  // power of two minus one, otherwise counted to the bucket holding `bound`).
  uint64_t CountAtOrBelow(int64_t bound) const;

  // Adds every value of `other` into this one (benchmarks merge per-thread histograms).
  void Merge(const Histogram& other);
  void Reset();

  static int BucketOf(int64_t value);
  // The largest value that falls into `bucket`.
  static int64_t BucketUpperEdge(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> max_{0};
};

}  // namespace strata
