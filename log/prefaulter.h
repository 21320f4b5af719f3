// Prefaulter: a background thread that faults in the pages just ahead of each active segment's
// write position, so that appends copy into memory that is already mapped instead of taking a
// page fault (and the kernel's zeroing of a fresh page-cache page) every 4 KiB on the append
// path. docs/performance.md has the measurements behind this.
//
// Requests are hints: if the thread falls behind or its queue is full, the appender simply takes
// the faults itself, so correctness never depends on it. The queue is bounded
// (limits::prefault_requests_max); a request keeps its mapping alive until it is served.
// Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "io/file_system.h"

namespace strata::log {

class Prefaulter {
 public:
  Prefaulter();
  ~Prefaulter();
  Prefaulter(const Prefaulter&) = delete;
  Prefaulter& operator=(const Prefaulter&) = delete;

  // Asks for [pos, pos + len) of `mapping` to be faulted in for writing. Never blocks.
  void Request(std::shared_ptr<io::Mapping> mapping, uint64_t pos, uint64_t len);

  // The instance shared by every log in the process.
  static Prefaulter& Default();

 private:
  struct Job {
    std::shared_ptr<io::Mapping> mapping;
    uint64_t pos;
    uint64_t len;
  };
  void Run();

  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace strata::log
