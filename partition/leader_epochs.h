// LeaderEpochs: where each leader epoch of a partition's log begins (Kafka's leader-epoch cache,
// KIP-101), and the answer a leader gives a follower about where an epoch ends (KIP-279).
//
// Every batch carries the leader epoch it was appended in (docs/format.md), so the cache is
// rebuilt from the log's batch headers when a partition opens, and needs no file of its own. A
// new leader also assigns its epoch at its log end before it appends anything, so that it can
// answer for that epoch at once (an epoch with no batch is forgotten by a restart, which is
// harmless: the answer for it becomes the answer for the epoch before).
//
// A plain value; the Partition holding it serializes access.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace strata::partition {

struct EpochEnd {
  int32_t epoch = -1;       // the largest known epoch <= the one asked (-1: none is known)
  int64_t end_offset = -1;  // where that epoch's batches end: the next epoch's start, or the
                            // log end for the latest epoch
};

class LeaderEpochs {
 public:
  // `epoch` begins at `start_offset`: from a batch's header (only the first batch of an epoch
  // counts) or from an election. Epochs below the latest are ignored: batches of an older epoch
  // after a newer one cannot be in a log (leaders' epochs only grow).
  void Assign(int32_t epoch, int64_t start_offset);
  // The log was truncated to `log_end`: epochs that begin at or after it are forgotten.
  void TruncateTo(int64_t log_end);
  void Clear() { starts_.clear(); }

  // The latest epoch, -1 when none is known.
  int32_t latest() const { return starts_.empty() ? -1 : starts_.rbegin()->first; }
  // KIP-279: the largest epoch <= `epoch` and where it ends (the start of the next epoch, or
  // `log_end` for the latest). When `epoch` is older than every known epoch: `epoch` itself,
  // ending where the first known one starts. When it is newer than every known epoch:
  // {-1, -1} (the asker knows of an epoch this log never had).
  EpochEnd EndOffsetFor(int32_t epoch, int64_t log_end) const;

  std::vector<std::pair<int32_t, int64_t>> entries() const {
    return {starts_.begin(), starts_.end()};
  }

 private:
  std::map<int32_t, int64_t> starts_;  // epoch -> its first offset
};

}  // namespace strata::partition
