#include "broker/fetch_waiters.h"

#include <catch2/catch.hpp>
#include <thread>

namespace strata::broker {
namespace {

using namespace std::chrono_literals;

// Parks a waiter on `strand` for `partitions` with a deadline of `wait`; returns whether it was
// woken before the deadline, via `woken`.
asio::awaitable<void> Park(FetchWaiters& waiters, std::vector<FetchWaiters::PartitionKey> keys,
                           std::chrono::milliseconds wait, bool& woken, bool& registered) {
  auto waiter = std::make_shared<FetchWaiters::Waiter>(co_await asio::this_coro::executor);
  FetchWaiters::Registration registration(&waiters, waiter, std::move(keys));
  registered = true;
  if (!waiter->notified.load()) {
    waiter->timer.expires_after(wait);
    auto [ec] = co_await waiter->timer.async_wait(kUseAwaitableTuple);
    woken = ec == asio::error::operation_aborted;
  } else {
    woken = true;
  }
}

TEST_CASE("a notify wakes the waiters of that partition only", "[broker][fetch_waiters]") {
  asio::io_context io;
  FetchWaiters waiters;
  bool a_woken = false, a_registered = false, b_woken = false, b_registered = false;
  asio::co_spawn(asio::make_strand(io), Park(waiters, {{"t", 0}, {"t", 1}}, 10s, a_woken,
                                             a_registered),
                 asio::detached);
  asio::co_spawn(asio::make_strand(io), Park(waiters, {{"t", 2}}, 300ms, b_woken, b_registered),
                 asio::detached);
  std::thread runner([&] { io.run(); });
  while (!a_registered || !b_registered) std::this_thread::sleep_for(1ms);
  const auto start = std::chrono::steady_clock::now();
  waiters.Notify("t", 1);   // from another thread, as a produce would
  waiters.Notify("u", 2);   // nobody waits on it
  runner.join();            // both coroutines finish: a woken, b by its deadline
  CHECK(a_woken);
  CHECK(!b_woken);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("a notify before the sleep is not lost", "[broker][fetch_waiters]") {
  asio::io_context io;
  FetchWaiters waiters;
  auto waiter = std::make_shared<FetchWaiters::Waiter>(io.get_executor());
  FetchWaiters::Registration registration(&waiters, waiter, {{"t", 0}});
  waiters.Notify("t", 0);  // lands before the waiter sleeps
  CHECK(waiter->notified.load());
  waiters.NotifyAll();     // already notified: nothing more is posted
  bool cancelled = false;
  waiter->timer.expires_after(10s);
  waiter->timer.async_wait([&](const asio::error_code& ec) {
    cancelled = ec == asio::error::operation_aborted;
  });
  io.run();  // the posted cancel runs after the wait started
  CHECK(cancelled);
}

}  // namespace
}  // namespace strata::broker
