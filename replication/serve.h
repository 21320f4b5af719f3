// The leader's side of a follower's fetch, for one partition, before any read: whether this
// broker may answer (it leads at the epoch the follower names: Kafka's KIP-320 fencing), whether
// the follower's log diverges from the leader's (the diverging-epoch answer that replaced
// KIP-101/279's OffsetsForLeaderEpoch in newer Kafka), and the follower's progress for the
// ISR and the high watermark. The broker's data plane calls it, then reads from the fetch offset
// up to the log end when it says so; tests call it in-process. docs/cluster.md#truncation.
#pragma once

#include <cstdint>

#include "replication/channel.h"
#include "replication/replica_manager.h"

namespace strata::replication {

// KIP-320: a request naming a leader epoch (>= 0) older than the partition's is fenced
// (kFencedEpoch); a newer one means this broker has not caught up with the cluster
// (kUnknownEpoch). -1 is not checked. kNone when they agree.
ReplicaFetchError CheckLeaderEpoch(int32_t requested, int32_t current);

// Fills `result`'s error or diverging epoch; when it leaves both unset, the caller reads from
// `asked.fetch_offset` up to the log end (and the follower's progress has been recorded).
void CheckReplicaFetch(const Leadership& leadership, int32_t replica,
                       const ReplicaFetchPartition& asked, int64_t now_ms,
                       ReplicaFetchResult& result);

// Where a consumer's fetch offset stands on a leader. Consumers read below the high watermark,
// but a new leader may learn the high watermark a fetch after its predecessor did, so a consumer
// that read up to the old leader's high watermark can ask the new one for an offset above its
// (older) high watermark. That offset is still in the log (every ISR member's log reaches the
// high watermark), so the answer is "nothing yet", as Kafka gives: out of range is only below
// the log start or past the log end. docs/cluster.md#consumers-after-a-failover.
enum class ConsumerFetch {
  kRead,        // records in [offset, high_watermark) may be read
  kWait,        // high_watermark <= offset <= log_end: nothing to read yet
  kOutOfRange,  // offset < log_start or offset > log_end
};
ConsumerFetch ClassifyConsumerFetch(int64_t offset, int64_t log_start, int64_t high_watermark,
                                    int64_t log_end);

}  // namespace strata::replication
