#include "broker/request_memory.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

namespace strata::broker {
namespace {

TEST_CASE("the request memory budget is never exceeded", "[broker][request_memory]") {
  RequestMemory memory(1000, 0);
  CHECK(memory.TryReserve(600, 600));
  CHECK(!memory.TryReserve(401, 401));
  CHECK(memory.TryReserve(400, 400));
  CHECK(memory.used_bytes() == 1000);
  memory.Release(600);
  CHECK(memory.TryReserve(600, 600));
  memory.Release(1000);
  CHECK(memory.used_bytes() == 0);

  // Many threads racing for it: the total held never passes the budget.
  RequestMemory shared(64, 0);
  std::atomic<int> over{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (shared.TryReserve(16, 16)) {
          if (shared.used_bytes() > 64) over.fetch_add(1);
          shared.Release(16);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(over.load() == 0);
  CHECK(shared.used_bytes() == 0);
}

TEST_CASE("large frames cannot take the part of the budget kept for small ones",
          "[broker][request_memory]") {
  const size_t large = limits::frame_small_bytes_max + 1;
  RequestMemory memory(10'000'000, 4'000'000);
  // Large frames fill what they may: 6,000,000 bytes.
  CHECK(memory.TryReserve(3'000'000, large));
  CHECK(memory.TryReserve(3'000'000, large));
  CHECK(!memory.TryReserve(1, large));
  // Small frames still fit, up to the whole budget.
  CHECK(memory.TryReserve(limits::frame_small_bytes_max, limits::frame_small_bytes_max));
  CHECK(memory.TryReserve(2'000'000, 100));
  CHECK(!memory.TryReserve(1'000'000, 100));
  CHECK(memory.used_bytes() == 6'000'000 + limits::frame_small_bytes_max + 2'000'000);
}

}  // namespace
}  // namespace strata::broker
