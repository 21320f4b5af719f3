// FetchWaiters: wakes long-polling Fetch requests when a produce lands on a partition they read.
//
// A parked Fetch registers a Waiter for its partitions, then re-checks for data, then sleeps on the
// Waiter's timer until its deadline. Notify (after an append) marks every waiter of that partition
// and cancels its timer on the waiter's own executor (a connection's strand), so the wake-up
// cannot be lost: a notify that lands between the re-check and the sleep is seen as `notified`
// before sleeping or cancels the sleep, both on the same strand.
// Thread-safe: one mutex guards the partition -> waiters table.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/asio.h"

namespace strata::broker {

class FetchWaiters {
 public:
  struct Waiter {
    explicit Waiter(Executor ex) : timer(ex) {}
    asio::steady_timer timer;  // used only on its executor
    std::atomic<bool> notified{false};
  };

  using PartitionKey = std::pair<std::string, int32_t>;

  // Registers `waiter` for `partitions`; Unregister must follow (the Registration does it).
  class Registration {
   public:
    Registration(FetchWaiters* owner, std::shared_ptr<Waiter> waiter,
                 std::vector<PartitionKey> partitions);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

   private:
    FetchWaiters* owner_;
    std::shared_ptr<Waiter> waiter_;
    std::vector<PartitionKey> partitions_;
  };

  // Wakes every waiter of the partition.
  void Notify(const std::string& topic, int32_t partition);
  // Wakes every waiter (shutdown).
  void NotifyAll();

 private:
  static void Wake(const std::shared_ptr<Waiter>& waiter);

  absl::Mutex mu_;
  std::map<PartitionKey, std::set<std::shared_ptr<Waiter>>> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::broker
