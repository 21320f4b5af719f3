// RequestMemory: the broker-wide budget of request bytes held in memory
// (limits::broker_request_bytes_max). A connection reserves each chunk of a frame before reading it,
// gives back what the read did not fill, and releases the whole frame when its handler is done; a
// reservation that does not fit fails, and the connection waits and tries again, so a flood of
// large requests is pushed back through TCP instead of exhausting memory.
// Large frames (over limits::frame_small_bytes_max) may not use the last
// limits::request_small_reserve_bytes of the budget: however many large frames are held
// part-read, small requests (heartbeats, commits, fetches, ordinary produces) still get in.
// Thread-safe (one atomic counter).
#pragma once

#include <atomic>
#include <cstddef>

#include "common/limits.h"

namespace strata::broker {

class RequestMemory {
 public:
  explicit RequestMemory(size_t budget_bytes = limits::broker_request_bytes_max,
                         size_t small_reserve_bytes = limits::request_small_reserve_bytes)
      : budget_bytes_(budget_bytes), large_budget_bytes_(budget_bytes - small_reserve_bytes) {}

  // Reserves `bytes` for a frame of `frame_bytes` if they fit; false otherwise (nothing reserved).
  bool TryReserve(size_t bytes, size_t frame_bytes) {
    const size_t limit =
        frame_bytes > limits::frame_small_bytes_max ? large_budget_bytes_ : budget_bytes_;
    size_t used = used_bytes_.load(std::memory_order_relaxed);
    do {
      if (used + bytes > limit) return false;
    } while (!used_bytes_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void Release(size_t bytes) { used_bytes_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t used_bytes() const { return used_bytes_.load(std::memory_order_relaxed); }

 private:
  const size_t budget_bytes_;
  const size_t large_budget_bytes_;
  std::atomic<size_t> used_bytes_{0};
};

}  // namespace strata::broker
