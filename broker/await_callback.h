// AwaitCallback: awaits an operation that reports its result through a callback, from a
// coroutine. `start(done)` begins the operation; `done(T)` may be called on any thread, at once or
// later, exactly once. The result is posted back to the awaiting coroutine's executor (a
// connection's strand), so the coroutine resumes where it was suspended.
//
// Used for the group coordinator's JoinGroup, SyncGroup, commits and deletes, which wait for other
// members or for an fsync. The coordinator guarantees every callback runs (at the latest when it
// shuts down), so no timer is needed here.
//
// `start` must be trivially copyable: capture pointers to the awaiting coroutine's locals (they
// live until it resumes), never strings or containers by value. Asio passes the initiation through
// a coroutine's parameters, and GCC 12 relocated a lambda capturing a std::string there bitwise,
// leaving the string pointing at its old buffer (found by ASan as a free of a non-heap pointer).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "broker/asio.h"

namespace strata::broker {

template <typename T, typename Start>
asio::awaitable<T> AwaitCallback(Start start) {
  static_assert(std::is_trivially_copyable_v<Start>,
                "capture pointers to the caller's locals, not values (see above)");
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
