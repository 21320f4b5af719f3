// Choosing a partition for a record.
//
// A record with a key goes to PartitionForKey(key, n) = XXH3-64(key bytes) mod n: every record
// with the same key lands in the same partition (so it is read in order) as long as the partition
// count does not change; raising it moves most keys, which is why a topic's partition count is
// fixed at creation unless an operator raises it knowingly. This is not Kafka's murmur2 rule, so a
// Kafka client and a Strata client place the same key differently.
//
// A record without a key (a null key; an empty key is still a key) goes wherever the
// StickyPartitioner says: it stays on one partition until the producer reports that a batch for
// it was completed, then moves to a different one chosen at random. Records then fill large
// batches instead of spraying one tiny batch per partition (Kafka's KIP-480), and over many
// batches the load spreads evenly.
//
// PartitionForKey is a pure function. StickyPartitioner is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace strata::record {

// XXH3-64 of the key bytes mod `partitions`. `partitions` must be > 0 (aborts otherwise: a caller
// bug, since a topic's config never allows fewer than 1).
int32_t PartitionForKey(std::span<const std::byte> key, int32_t partitions);
int32_t PartitionForKey(std::string_view key, int32_t partitions);

class StickyPartitioner {
 public:
  // `partitions` must be > 0. The seed fixes the sequence of partitions chosen (tests inject one);
  // without one it comes from std::random_device.
  StickyPartitioner(int32_t partitions, uint64_t seed);
  explicit StickyPartitioner(int32_t partitions);

  // The partition for the next null-key record.
  int32_t Current() const;
  // Reports that the batch being filled for `partition` was completed (sent). If that is still
  // the current partition, moves to a different one (uniformly among the other n - 1; with one
  // partition it stays). Reports about an earlier partition are ignored, so several threads
  // completing the same batch move it once. Returns the (new) current partition.
  int32_t BatchCompleted(int32_t partition);

 private:
  uint64_t NextRandom() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int32_t partitions_;
  mutable absl::Mutex mu_;
  uint64_t rng_state_ ABSL_GUARDED_BY(mu_);
  int32_t current_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace strata::record
