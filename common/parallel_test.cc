#include "common/parallel.h"

#include <catch2/catch.hpp>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace strata {
namespace {

TEST_CASE("ParallelFor runs every index once, on at most the threads asked for", "[parallel]") {
  for (size_t count : {0, 1, 5, 1000}) {
    for (size_t threads : {1, 4, 64}) {
      std::vector<std::atomic<int>> runs(count);
      std::mutex mu;
      std::set<std::thread::id> seen;
      ParallelFor(count, threads, [&](size_t i) {
        runs[i].fetch_add(1);
        std::lock_guard<std::mutex> lock(mu);
        seen.insert(std::this_thread::get_id());
      });
      INFO("count " << count << ", threads " << threads);
      for (size_t i = 0; i < count; ++i) REQUIRE(runs[i].load() == 1);
      CHECK(seen.size() <= std::max<size_t>(1, std::min(count, threads)));
    }
  }
}

}  // namespace
}  // namespace strata
