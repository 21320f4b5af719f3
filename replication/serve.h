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

}  // namespace strata::replication
