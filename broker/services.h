// Services: what the request handlers and the data plane use of the broker. Plain pointers to
// objects the Broker owns and that outlive every request; each is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "broker/config.h"
#include "broker/fetch_waiters.h"
#include "broker/metrics.h"
#include "broker/producer_ids.h"
#include "consumer_offsets/coordinator.h"
#include "partition/topic_manager.h"

namespace strata::broker {

struct Services {
  partition::TopicManager* topics = nullptr;
  ProducerIdAllocator* producer_ids = nullptr;
  FetchWaiters* fetch_waiters = nullptr;
  BrokerMetrics* metrics = nullptr;
  consumer_offsets::GroupCoordinator* groups = nullptr;
  int32_t node_id = 0;
  HostPort advertised;  // the native listener as clients should reach it
  const std::atomic<bool>* stopping = nullptr;  // set once shutdown starts
};


}  // namespace strata::broker
