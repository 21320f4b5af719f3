// Flusher: one background thread that group-commits fsyncs for any number of logs.
//
// A log tells the flusher when it gets unflushed data (MarkDirty) and when a flush is due now
// (Notify: a byte threshold crossed, or someone waiting for durability). Each pass visits only
// those logs, asks each whether a flush is due under its policy (bytes, age, or a waiter) and
// fsyncs the ones that are; one fsync completes every append waiting on it. A log that is still
// dirty afterwards (its age threshold not yet reached) stays on the list. Between passes the
// thread sleeps until notified, or for the shortest flush interval among the dirty logs. So an
// idle log costs the flusher nothing, however many a broker holds.
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

  // `log` has unflushed data: visit it on the passes until it is clean.
  void MarkDirty(Log* log);
  // `log` has a flush due now: visit it and wake the thread.
  void Notify(Log* log);
  // Returns once no flush pass is using `log`, and forgets it.
  void Unregister(Log* log);

 private:
  void Run();

  Clock clock_;
  absl::Mutex run_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // held for a whole flush pass
  absl::Mutex mu_;
  std::set<Log*> dirty_ ABSL_GUARDED_BY(mu_);
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace strata::log
