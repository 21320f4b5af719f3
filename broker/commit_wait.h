// AsyncWhenCommitted: awaits partition::Partition::WhenCommitted from a coroutine, with a
// deadline.
//
// An offset that is committed already completes through the partition's inline callback; the
// timer armed meanwhile is cancelled at once. Callers on a hot path (DataPlane::Produce) skip the
// call for such offsets with Partition::IsCommitted.
// The partition completes its waiters on whatever thread commits the data (today the flusher's
// fsync); the
// completion is posted back to the awaiting coroutine's executor (a connection's strand), where a
// timer races it. Whichever comes first completes the wait: OK, the log's error, or
// DeadlineExceeded. Both run on that one strand, so exactly one of them resumes the coroutine.
#pragma once

#include <chrono>
#include <memory>
#include <optional>

#include "broker/asio.h"
#include "common/status.h"
#include "partition/partition.h"

namespace strata::broker {

inline asio::awaitable<absl::Status> AsyncWhenCommitted(partition::Partition& partition,
                                                        int64_t offset, partition::Acks acks,
                                                        std::chrono::milliseconds timeout) {
  auto initiate = [&partition, offset, acks, timeout](auto handler) {
    using Handler = decltype(handler);
    struct State {
      explicit State(Executor ex) : timer(ex) {}
      asio::steady_timer timer;
      std::optional<Handler> handler;
      void Complete(absl::Status status) {
        if (!handler.has_value()) return;
        Handler h = std::move(*handler);
        handler.reset();
        timer.cancel();
        std::move(h)(std::move(status));
      }
    };
    Executor ex = asio::get_associated_executor(handler);
    auto state = std::make_shared<State>(ex);
    state->handler.emplace(std::move(handler));
    state->timer.expires_after(timeout);
    state->timer.async_wait([state](const asio::error_code& ec) {
      if (ec) return;  // cancelled: the partition answered first
      state->Complete(absl::DeadlineExceededError("timed out waiting for the commit"));
    });
    absl::Status st = partition.WhenCommitted(offset, acks, [state, ex](absl::Status s) {
      asio::post(ex, [state, s = std::move(s)]() mutable { state->Complete(std::move(s)); });
    });
    if (!st.ok()) {
      asio::post(ex, [state, st]() mutable { state->Complete(std::move(st)); });
    }
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(absl::Status)>(
      std::move(initiate), asio::use_awaitable);
}

}  // namespace strata::broker
