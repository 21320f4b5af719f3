// ClusterMember: one broker's part in the cluster's coordination through etcd.
//
//  - It registers the broker under `brokers/<id>`, attached to a lease it keeps alive (one
//    renewal every TTL/3). When etcd says the lease is gone (the broker was paused or cut off for
//    longer than the TTL), it registers again under a new lease, and so with a new broker epoch.
//    A leftover registration of an earlier run of the same broker is revoked first.
//  - It keeps a ClusterView current (a range read of the cluster's prefix, then a watch from the
//    next revision; after a compacted or broken watch, or an etcd restart, it reads again) and
//    hands every new view to the listener.
//  - It campaigns for the controller key whenever there is none; while it holds it, it carries
//    out the controller's decisions (cluster/controller.h), each write fenced by the controller
//    epoch. Failovers are written as soon as the view shows them; moves back to preferred
//    leaders at most one per `leader_rebalance_interval_ms`.
//  - It runs the writes the broker asks for (create and delete topics, a leader's ISR change) and
//    calls their callbacks when the view shows their effect.
//
// Everything runs on the member's own thread (blocking calls to etcd never block the broker's io
// threads); the listener and every callback run there too and must not block for long. The
// public methods are safe from any thread. docs/cluster.md describes the whole protocol.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cluster/controller.h"
#include "cluster/etcd_client.h"
#include "cluster/view.h"

namespace strata::cluster {

struct MemberOptions {
  std::string cluster_name = "strata";
  BrokerInfo self;  // id, host and port; the epoch comes from the registration
  int64_t lease_ttl_seconds = 3;
  int64_t leader_rebalance_interval_ms = 1000;
  // After a failed call to etcd, the next try waits this long.
  int64_t retry_backoff_ms = 200;
};

class ClusterMember {
 public:
  using Listener = std::function<void(std::shared_ptr<const ClusterView>)>;
  using Done = std::function<void(absl::Status)>;

  ClusterMember(EtcdClient& etcd, MemberOptions options, Listener listener);
  ~ClusterMember();  // Stop()
  ClusterMember(const ClusterMember&) = delete;
  ClusterMember& operator=(const ClusterMember&) = delete;

  // Registers, reads the cluster and starts the member's thread; returns once the listener has
  // had the first view. Unavailable when etcd cannot be reached within `timeout`.
  absl::Status Start(std::chrono::milliseconds timeout);
  // A clean leave: marks the registration as shutting down so the controller moves this
  // broker's leaderships to others, waits (up to `timeout`) until it leads nothing, then revokes
  // the lease (its registration, and the controller key if it held it, go at once) and stops.
  void Leave(std::chrono::milliseconds timeout);
  // Stops the thread and leaves etcd as it is: the lease runs out by itself.
  void Stop();

  std::shared_ptr<const ClusterView> view() const;
  const Keys& keys() const { return keys_; }
  int32_t broker_id() const { return options_.self.id; }

  // Writes a new topic's record (CreateTopicTxn) and calls `done` once every partition of it has
  // a state with a leader in the view, or with the error: AlreadyExists, InvalidArgument (from
  // CreateTopicTxn), Unavailable (no controller, or etcd unreachable), DeadlineExceeded.
  void CreateTopic(NewTopic topic, std::chrono::milliseconds timeout, Done done);
  // Deletes a topic's records; `done` once the view no longer has it. NotFound if it has none.
  void DeleteTopic(std::string name, std::chrono::milliseconds timeout, Done done);
  // A leader's ISR change: sets `isr` on the partition's state if it is still exactly `expected`
  // (same mod revision), bumping the partition epoch; `done` with OK once written, Aborted if the
  // state had changed (the caller reads the new one from the next view).
  void AlterIsr(TopicPartitionId id, PartitionState expected, std::vector<int32_t> isr,
                std::map<int32_t, int64_t> epochs, Done done);
  // Reserves `count` idempotent-producer ids unique across the cluster: raises the counter at
  // `producer_ids` by compare-and-set and returns the first id of the block. Blocking (one etcd
  // transaction, a few if brokers race); callable from any thread.
  absl::StatusOr<int64_t> ReserveProducerIds(int64_t count);

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiter {
    std::function<bool(const ClusterView&)> satisfied;
    Clock::time_point deadline;
    Done done;
  };

  void Run();
  absl::Status Register();
  absl::Status Resync();
  void KeepAliveIfDue(Clock::time_point now);
  void ControlIfDue(Clock::time_point now);
  void Campaign();
  void Publish();
  void CheckWaiters(Clock::time_point now);
  // Queues `task` for the member's thread.
  void Post(std::function<void()> task);
  void OnWatch(WatchUpdate update);

  EtcdClient& etcd_;
  const MemberOptions options_;
  const Keys keys_;
  const Listener listener_;

  // Shared with other threads.
  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::deque<WatchUpdate> watch_updates_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const ClusterView> published_ ABSL_GUARDED_BY(mu_);

  // The member's thread only.
  std::thread thread_;
  int64_t lease_id_ = 0;
  Clock::time_point next_keepalive_{};
  ClusterView view_;
  bool view_changed_ = false;
  std::unique_ptr<WatchHandle> watch_;
  bool resync_needed_ = true;
  Clock::time_point next_resync_{};
  int64_t controller_epoch_ = 0;  // > 0 while this member holds the controller key
  int64_t awaited_revision_ = 0;  // the controller plans only from views at least this recent
  Clock::time_point next_preferred_move_{};
  std::vector<Waiter> waiters_;
};

}  // namespace strata::cluster
