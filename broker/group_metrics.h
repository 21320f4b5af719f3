// The consumer-group part of /metrics: per group its state, members and rebalances; per group and
// partition the committed offset, the lag behind the log end, and the age of the oldest record the
// group has not consumed yet (docs/broker.md lists the series).
#pragma once

#include <cstdint>
#include <string>

#include "consumer_offsets/coordinator.h"
#include "partition/topic_manager.h"

namespace strata::broker {

// Prometheus text for every group; `now_ms` is wall-clock time (record timestamps are).
std::string RenderGroupMetrics(const consumer_offsets::GroupCoordinator& groups,
                               const partition::TopicManager& topics, int64_t now_ms);

}  // namespace strata::broker
