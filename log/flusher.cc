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

void Flusher::Register(Log* log) {
  absl::MutexLock lock(&mu_);
  logs_.insert(log);
}

void Flusher::Unregister(Log* log) {
  absl::MutexLock run(&run_mu_);
  absl::MutexLock lock(&mu_);
  logs_.erase(log);
}

void Flusher::Notify() {
  absl::MutexLock lock(&mu_);
  notified_ = true;
}

void Flusher::Run() {
  while (true) {
    int64_t tick_ms = 100;
    {
      absl::MutexLock lock(&mu_);
      for (Log* log : logs_) {
        int64_t interval = log->config().flush.interval_ms;
        if (interval > 0) tick_ms = std::min(tick_ms, interval);
      }
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_ || stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Milliseconds(tick_ms));
      if (stop_) return;
      notified_ = false;
    }
    absl::MutexLock run(&run_mu_);
    std::vector<Log*> logs;
    {
      absl::MutexLock lock(&mu_);
      logs.assign(logs_.begin(), logs_.end());
    }
    int64_t now = clock_();
    // A failed flush is recorded by the log itself (it refuses appends from then on).
    for (Log* log : logs) (void)log->FlushIfDue(now);
  }
}

}  // namespace strata::log
