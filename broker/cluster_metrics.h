// The cluster part of /metrics (docs/cluster.md#metrics lists the series): the controller's id
// and epoch as this broker sees them; the partitions this broker leads that are under-replicated
// or below min_insync_replicas; ISR shrinks and expands it made; each follower's lag behind it
// in records and milliseconds; the follower fetchers' truncations and errors; and, on the
// controller only, the cluster-wide counts of offline, below-min-ISR and under-replicated
// partitions, including those whose brokers are down (their own metrics are gone with them).
#pragma once

#include <cstdint>
#include <string>

#include "cluster/view.h"
#include "replication/replica_manager.h"

namespace strata::broker {

// Prometheus text; `view` may be null (not joined yet).
std::string RenderClusterMetrics(const cluster::ClusterView* view,
                                 const replication::ReplicaManager& replicas, int32_t self);

}  // namespace strata::broker
