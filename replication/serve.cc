#include "replication/serve.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace strata::replication {

ReplicaFetchError CheckLeaderEpoch(int32_t requested, int32_t current) {
  if (requested < 0 || requested == current) return ReplicaFetchError::kNone;
  return requested < current ? ReplicaFetchError::kFencedEpoch : ReplicaFetchError::kUnknownEpoch;
}

void CheckReplicaFetch(const Leadership& leadership, int32_t replica,
                       const ReplicaFetchPartition& asked, int64_t now_ms,
                       ReplicaFetchResult& result) {
  const std::string name = absl::StrCat(asked.topic, "/", asked.index);
  if (leadership.kind != Leadership::Kind::kLeader) {
    result.error = ReplicaFetchError::kNotLeader;
    result.message = absl::StrCat("this broker does not lead ", name);
    return;
  }
  partition::Partition& p = *leadership.partition;
  result.error = CheckLeaderEpoch(asked.current_leader_epoch, leadership.leader_epoch);
  if (result.error != ReplicaFetchError::kNone) {
    result.message = absl::StrCat("replica ", replica, " follows ", name, " at epoch ",
                                  asked.current_leader_epoch, "; the leader's epoch is ",
                                  leadership.leader_epoch);
    return;
  }
  result.high_watermark = p.high_watermark();
  result.log_start_offset = p.log_start_offset();
  if (asked.last_fetched_epoch >= 0) {
    partition::EpochEnd end = p.EndOffsetForEpoch(asked.last_fetched_epoch);
    if (end.epoch < 0) {
      // The follower has batches of an epoch newer than any this leader knows: it cannot have,
      // unless this leader is stale; the follower waits for the cluster to sort it out.
      result.error = ReplicaFetchError::kUnknownEpoch;
      result.message = absl::StrCat("replica ", replica, " has batches of epoch ",
                                    asked.last_fetched_epoch, ", newer than the leader's epochs");
      return;
    }
    if (end.epoch != asked.last_fetched_epoch || end.end_offset < asked.fetch_offset) {
      result.diverging_epoch = end.epoch;
      result.diverging_end_offset = end.end_offset;
      return;
    }
  }
  if (asked.fetch_offset < p.log_start_offset() || asked.fetch_offset > p.log_end_offset()) {
    result.error = ReplicaFetchError::kOffsetOutOfRange;
    result.message = absl::StrCat("offset ", asked.fetch_offset, " is outside ", name, "'s log [",
                                  p.log_start_offset(), ", ", p.log_end_offset(), "]");
    return;
  }
  leadership.state->OnFollowerFetch(replica, asked.fetch_offset, now_ms);
  // The follower's fetch may have moved the high watermark: answer with the new one.
  result.high_watermark = p.high_watermark();
}

ConsumerFetch ClassifyConsumerFetch(int64_t offset, int64_t log_start, int64_t high_watermark,
                                    int64_t log_end) {
  if (offset < log_start || offset > std::max(log_end, high_watermark)) {
    return ConsumerFetch::kOutOfRange;
  }
  return offset < high_watermark ? ConsumerFetch::kRead : ConsumerFetch::kWait;
}

}  // namespace strata::replication
