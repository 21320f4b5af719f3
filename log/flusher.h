// Flusher: one background thread that group-commits fsyncs for any number of logs.
//
// Each pass asks every registered log whether a flush is due under its policy (bytes, age, or a
// waiter under flush=always) and fsyncs the ones that are; one fsync completes every append
// waiting on it. Logs wake it with Notify when an append crosses a threshold; otherwise it ticks
// at the shortest flush interval among its logs.
// Thread-safe. A log must Unregister before it is destroyed (Log does this itself).
#pragma once

#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "log/log_config.h"

namespace strata::log {

class Log;

class Flusher {
 public:
  explicit Flusher(Clock clock = SystemClock());
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void Register(Log* log);
  // Returns once no flush pass is using `log`.
  void Unregister(Log* log);
  void Notify();

 private:
  void Run();

  Clock clock_;
  absl::Mutex run_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // held for a whole flush pass
  absl::Mutex mu_;
  std::set<Log*> logs_ ABSL_GUARDED_BY(mu_);
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace strata::log
