// AwaitCallback: awaits an operation that reports its result through a callback, from a
// coroutine. `start(done)` begins the operation; `done(T)` may be called on any thread, at once or
// later, exactly once. The result is posted back to the awaiting coroutine's executor (a
// connection's strand), so the coroutine resumes where it was suspended.
//
// Used for the group coordinator's JoinGroup, SyncGroup, commits and deletes, which wait for other
// members or for an fsync. The coordinator guarantees every callback runs (at the latest when it
// shuts down), so no timer is needed here.
#pragma once

#include <memory>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "broker/asio.h"

namespace strata::broker {

template <typename T, typename Start>
asio::awaitable<T> AwaitCallback(Start start) {
  auto initiate = [start = std::move(start)](auto handler) mutable {
    using Handler = decltype(handler);
    Executor ex = asio::get_associated_executor(handler);
    auto shared = std::make_shared<Handler>(std::move(handler));
    start(absl::AnyInvocable<void(T)>([shared, ex](T result) mutable {
      asio::post(ex, [shared, result = std::move(result)]() mutable {
        (*shared)(std::move(result));
      });
    }));
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(T)>(std::move(initiate),
                                                                      asio::use_awaitable);
}

}  // namespace strata::broker
