#include "log/prefaulter.h"

#include "common/limits.h"

namespace strata::log {

Prefaulter::Prefaulter() : thread_([this] { Run(); }) {}

Prefaulter::~Prefaulter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void Prefaulter::Request(std::shared_ptr<io::Mapping> mapping, uint64_t pos, uint64_t len) {
  absl::MutexLock lock(&mu_);
  if (jobs_.size() >= limits::prefault_requests_max) return;  // a hint: dropping it is safe
  jobs_.push_back(Job{std::move(mapping), pos, len});
}

void Prefaulter::Run() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Prefaulter* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stop_ || !p->jobs_.empty();
          },
          this));
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job.mapping->Prefault(job.pos, job.len);
  }
}

Prefaulter& Prefaulter::Default() {
  // Never destroyed: logs may outlive static destruction order at exit.
  static Prefaulter* instance = new Prefaulter();
  return *instance;
}

}  // namespace strata::log
