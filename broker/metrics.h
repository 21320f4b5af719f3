// BrokerMetrics: the broker's counters and histograms, and their Prometheus text rendering for
// GET /metrics (docs/broker.md lists every metric).
//
// Counters and histograms are atomics, updated from any io thread without locks. Per-partition
// gauges (log start, log end, high watermark, segment count) are read from the TopicManager at
// scrape time, so nothing per partition is kept here.
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "common/histogram.h"
#include "partition/topic_manager.h"
#include "protocol/api.h"

namespace strata::broker {

class BrokerMetrics {
 public:
  struct PerApi {
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> errors{0};  // responses carrying any error code, at any level
  };

  // Index kApiKeyCount counts requests for unknown APIs.
  PerApi& api(uint16_t api_key) { return apis_[api_key < protocol::kApiKeyCount ? api_key
                                                                                : protocol::kApiKeyCount]; }

  Histogram produce_latency_us;  // request read -> response queued (acks=all includes the fsync)
  Histogram fetch_latency_us;    // includes the long-poll wait
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> records_bytes_in{0};   // produced batch bytes appended
  std::atomic<uint64_t> records_bytes_out{0};  // fetched batch bytes sent
  std::atomic<int64_t> connections_open{0};
  std::atomic<int64_t> fetches_parked{0};  // fetches in their long-poll wait now
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};  // over limits::connections_max
  std::atomic<uint64_t> connections_timed_out{0};  // idle or a frame too slow to arrive
  std::atomic<uint64_t> bad_frames{0};             // sizes that cannot be a frame: connection closed
  std::atomic<uint64_t> request_memory_waits{0};   // reads paused: the request memory budget was spent

  // The Prometheus text exposition (version 0.0.4) of everything, per-partition gauges included.
  std::string Render(const partition::TopicManager& topics, int32_t node_id) const;

 private:
  std::array<PerApi, protocol::kApiKeyCount + 1> apis_;
};

}  // namespace strata::broker
