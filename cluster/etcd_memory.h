// MemoryEtcd: an in-process EtcdClient for unit tests of the coordination logic, and for nothing
// else (integration tests and every real broker use a real etcd through EtcdHttpClient).
//
// It keeps etcd's model (cluster/etcd_client.h): revisions, create and mod revisions, leases
// whose keys are deleted together when they expire, transactions, watches from a past revision
// with compaction. Time is the test's: leases expire only through AdvanceClock or ExpireLease.
// Watch updates are delivered on a thread of MemoryEtcd's, in revision order, like the real
// client's; WaitForWatches() returns once every update so far has been delivered, so a test can
// step deterministically. SetAvailable(false) makes every call fail with Unavailable and ends
// every watch, as losing etcd would.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cluster/etcd_client.h"

namespace strata::cluster {

class MemoryEtcd final : public EtcdClient {
 public:
  MemoryEtcd();
  ~MemoryEtcd() override;

  absl::StatusOr<RangeResult> Range(const KeyRange& range) override;
  absl::StatusOr<int64_t> Put(std::string_view key, std::string_view value,
                              int64_t lease = 0) override;
  absl::StatusOr<int64_t> Delete(const KeyRange& range) override;
  absl::StatusOr<TxnResult> Commit(const Txn& txn) override;
  absl::StatusOr<Lease> GrantLease(int64_t ttl_seconds) override;
  absl::StatusOr<int64_t> KeepAlive(int64_t lease_id) override;
  absl::Status RevokeLease(int64_t lease_id) override;
  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      const KeyRange& range, int64_t start_revision,
      std::function<void(WatchUpdate)> on_update) override;

  // Moves the test's clock; leases not kept alive within their TTL expire, and their keys go.
  void AdvanceClock(int64_t ms);
  // Expires one lease now (as if its holder had stopped renewing long ago).
  void ExpireLease(int64_t lease_id);
  // Forgets the history at and below `revision`; watches from there end with compact_revision.
  void Compact(int64_t revision);
  void SetAvailable(bool available);
  // Blocks until every watch update produced so far has been delivered.
  void WaitForWatches();
  int64_t revision() const;

 private:
  struct LeaseState {
    int64_t ttl_seconds = 0;
    int64_t expires_at_ms = 0;
  };
  struct Event {
    int64_t revision = 0;
    WatchEvent event;
  };
  struct Watcher;
  class Handle;

  // Applies one op (under mu_), recording events; fills `out` for a range op.
  void ApplyLocked(const Op& op, int64_t revision, RangeResult* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HoldsLocked(const Compare& compare) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  RangeResult RangeLocked(const KeyRange& range) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes the lease and its keys at a new revision.
  void DropLeaseLocked(int64_t lease_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues what each watcher has not seen yet, up to the current revision.
  void NotifyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveWatcher(Watcher* watcher);
  void DeliveryLoop();

  mutable absl::Mutex mu_;
  bool available_ ABSL_GUARDED_BY(mu_) = true;
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 1;  // etcd starts at 1
  int64_t compacted_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t now_ms_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_lease_ ABSL_GUARDED_BY(mu_) = 1000;
  std::map<std::string, KeyValue> kvs_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, LeaseState> leases_ ABSL_GUARDED_BY(mu_);
  std::vector<Event> history_ ABSL_GUARDED_BY(mu_);  // revision order, above compacted_
  std::vector<std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
  // Updates waiting for the delivery thread, and how many are being delivered right now.
  std::deque<std::pair<std::shared_ptr<Watcher>, WatchUpdate>> pending_ ABSL_GUARDED_BY(mu_);
  int delivering_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread delivery_;
};

}  // namespace strata::cluster
