// RequestMemory: the broker-wide budget of request bytes held in memory
// (limits::broker_request_bytes_max). A connection reserves each chunk of a frame before reading it
// and releases the whole frame when its handler is done; a reservation that does not fit fails,
// and the connection waits and tries again, so a flood of large requests is pushed back through
// TCP instead of exhausting memory.
// Thread-safe (one atomic counter).
#pragma once

#include <atomic>
#include <cstddef>

#include "common/limits.h"

namespace strata::broker {

class RequestMemory {
 public:
  explicit RequestMemory(size_t budget_bytes = limits::broker_request_bytes_max)
      : budget_bytes_(budget_bytes) {}

  // Reserves `bytes` if they fit; false otherwise (nothing reserved).
  bool TryReserve(size_t bytes) {
    size_t used = used_bytes_.load(std::memory_order_relaxed);
    do {
      if (used + bytes > budget_bytes_) return false;
    } while (!used_bytes_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void Release(size_t bytes) { used_bytes_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t used_bytes() const { return used_bytes_.load(std::memory_order_relaxed); }

 private:
  const size_t budget_bytes_;
  std::atomic<size_t> used_bytes_{0};
};

}  // namespace strata::broker
