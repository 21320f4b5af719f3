// ParallelFor: runs fn(0), ..., fn(count - 1) on at most `threads` threads (the caller's among
// them) and returns when all have run. For bursts of blocking work, such as opening thousands of
// partitions at start-up, where each call mostly waits on the disk: a few threads overlap those
// waits on any number of cores. Calls run in no particular order; `fn` must be safe to call
// concurrently for different indexes.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace strata {

template <typename Fn>
void ParallelFor(size_t count, size_t threads, Fn&& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> helpers;
  const size_t extra = std::min(count, std::max<size_t>(threads, 1)) - (count > 0 ? 1 : 0);
  helpers.reserve(extra);
  for (size_t t = 0; t < extra; ++t) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
}

}  // namespace strata
