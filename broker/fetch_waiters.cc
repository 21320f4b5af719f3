#include "broker/fetch_waiters.h"

namespace strata::broker {

FetchWaiters::Registration::Registration(FetchWaiters* owner, std::shared_ptr<Waiter> waiter,
                                         std::vector<PartitionKey> partitions)
    : owner_(owner), waiter_(std::move(waiter)), partitions_(std::move(partitions)) {
  absl::MutexLock lock(&owner_->mu_);
  for (const auto& key : partitions_) owner_->waiters_[key].insert(waiter_);
}

FetchWaiters::Registration::~Registration() {
  absl::MutexLock lock(&owner_->mu_);
  for (const auto& key : partitions_) {
    auto it = owner_->waiters_.find(key);
    if (it == owner_->waiters_.end()) continue;
    it->second.erase(waiter_);
    if (it->second.empty()) owner_->waiters_.erase(it);
  }
}

void FetchWaiters::Wake(const std::shared_ptr<Waiter>& waiter) {
  if (waiter->notified.exchange(true)) return;
  // The timer belongs to the waiter's executor; the shared_ptr keeps it alive until this runs.
  asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
}

void FetchWaiters::Notify(const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&mu_);
  auto it = waiters_.find(PartitionKey(topic, partition));
  if (it == waiters_.end()) return;
  for (const auto& waiter : it->second) Wake(waiter);
}

void FetchWaiters::NotifyAll() {
  absl::MutexLock lock(&mu_);
  for (const auto& [key, set] : waiters_) {
    for (const auto& waiter : set) Wake(waiter);
  }
}

}  // namespace strata::broker
