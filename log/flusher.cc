#include "log/flusher.h"

#include <algorithm>
#include <vector>

#include "absl/time/time.h"
#include "log/log.h"

namespace strata::log {

Flusher::Flusher(Clock clock) : clock_(std::move(clock)), thread_([this] { Run(); }) {}

Flusher::~Flusher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void Flusher::MarkDirty(Log* log) {
  absl::MutexLock lock(&mu_);
  dirty_.insert(log);
}

void Flusher::Notify(Log* log) {
  absl::MutexLock lock(&mu_);
  dirty_.insert(log);
  notified_ = true;
}

void Flusher::Unregister(Log* log) {
  absl::MutexLock run(&run_mu_);
  absl::MutexLock lock(&mu_);
  dirty_.erase(log);
}

void Flusher::Run() {
  while (true) {
    std::vector<Log*> logs;
    {
      absl::MutexLock lock(&mu_);
      int64_t tick_ms = 100;
      for (Log* log : dirty_) {
        int64_t interval = log->config().flush.interval_ms;
        if (interval > 0) tick_ms = std::min(tick_ms, interval);
      }
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_ || stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Milliseconds(tick_ms));
      if (stop_) return;
      notified_ = false;
    }
    absl::MutexLock run(&run_mu_);
    {
      absl::MutexLock lock(&mu_);
      logs.assign(dirty_.begin(), dirty_.end());
      dirty_.clear();
    }
    const int64_t now = clock_();
    for (Log* log : logs) {
      // A failed flush is recorded by the log itself (it refuses appends from then on).
      (void)log->FlushIfDue(now);
      // Data that arrives from here on marks the log again; what is left now (not yet due by
      // age) keeps it on the list.
      if (log->FlushPending()) MarkDirty(log);
    }
  }
}

}  // namespace strata::log
