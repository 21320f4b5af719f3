// GroupConsumer: a consumer that is a member of a consumer group. The group shares the partitions
// of the subscribed topics among its members, rebalances when members come and go, and stores
// how far each partition has been consumed (its committed offsets) on the broker.
//
//   GroupConsumerConfig config;
//   config.group_id = "billing";
//   auto consumer = GroupConsumer::Create(config);
//   (*consumer)->Subscribe({"orders"});
//   while (running) {
//     auto records = (*consumer)->Poll(500);   // joins the group on the first call
//     for (const auto& r : *records) Process(r);
//   }                                          // auto-commit (every 5 s) commits what Poll returned
//   (*consumer)->Close();                      // commits, leaves the group
//
// Delivery is at least once: a commit records the position after the records Poll has returned,
// so records returned after the last commit are delivered again (to this or another member) if
// the consumer dies.
//
// The group protocol is Kafka's classic one (docs/consumer-groups.md): JoinGroup, the leader
// computes the assignment with the chosen assignor (client/assignor.h), SyncGroup hands it out,
// Heartbeats keep the member in. With only cooperative assignors configured (cooperative-sticky)
// a rebalance revokes only the partitions that move, in a second round; otherwise (eager) every
// member revokes everything before rejoining.
//
// Threads: the caller's thread runs Poll, the commits, and every RebalanceListener callback and
// CommitAsync callback (from within Poll, CommitSync or Close). A background thread sends
// heartbeats every heartbeat_interval_ms on its own connection, sends CommitAsync requests, and
// notices when the group starts a rebalance (the next Poll then rejoins) and when the caller has
// not called Poll for max_poll_interval_ms (it then leaves the group, so that the partitions go to
// live members; the next Poll rejoins).
//
// In a cluster the group's coordinator is one broker (FindCoordinator, asked of any broker); the
// fetches go to each partition's leader (Consumer). When the coordinator moves (NOT_COORDINATOR,
// COORDINATOR_NOT_AVAILABLE, SHUTTING_DOWN or a lost connection) the member finds it again:
// joins retry, commits are resent to the new coordinator until request_timeout_ms, heartbeats
// reconnect.
//
// Poll may take longer than its timeout while the group rebalances: JoinGroup waits until every
// member has rejoined (at most the members' rebalance timeout, max_poll_interval_ms).
//
// Not thread-safe: one thread at a time calls its methods, like Kafka's consumer.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "client/assignor.h"
#include "client/connection.h"
#include "client/consumer.h"
#include "client/group_requests.h"
#include "client/types.h"
#include "common/status.h"

namespace strata::client {

struct GroupConsumerConfig {
  std::string bootstrap = kDefaultBootstrap;  // "host:port", or several: "h1:p1,h2:p2"
  std::string group_id;
  // Static membership: a stable name for this instance. A restart within session_timeout_ms
  // keeps its partitions without a rebalance; Close does not leave the group.
  std::optional<std::string> group_instance_id;
  std::string client_id = "strata-cpp-consumer";
  // Offered to the group in order of preference; the group uses one every member offers.
  std::vector<std::string> assignors = {"range", "cooperative-sticky"};
  // Where to start a partition the group has no committed offset for.
  OffsetReset auto_offset_reset = OffsetReset::kLatest;
  bool enable_auto_commit = true;
  int64_t auto_commit_interval_ms = 5000;
  int32_t session_timeout_ms = 45'000;
  int32_t heartbeat_interval_ms = 3'000;
  int32_t max_poll_interval_ms = 300'000;  // also the rebalance timeout
  // The leader re-reads the subscribed topics' partition counts this often and rebalances when
  // they changed (new partitions, a topic created after subscribing).
  int64_t metadata_max_age_ms = 30'000;
  int64_t retry_backoff_ms = 100;
  int32_t fetch_max_bytes = 50 << 20;
  int32_t partition_max_bytes = 1 << 20;
  int64_t connect_timeout_ms = 5000;
  int64_t request_timeout_ms = 30000;
};

// Told about assignment changes, on the thread that called Poll (or Close).
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Before partitions are taken away; positions can still be committed (CommitSync).
  virtual void OnPartitionsRevoked(const std::vector<TopicPartition>& partitions) {}
  // After partitions were added; they start from the committed offsets.
  virtual void OnPartitionsAssigned(const std::vector<TopicPartition>& partitions) {}
  // The member was removed from the group (its session expired, it was fenced): the partitions
  // already belong to someone else, so committing them is refused. Defaults to Revoked.
  virtual void OnPartitionsLost(const std::vector<TopicPartition>& partitions) {
    OnPartitionsRevoked(partitions);
  }
};

using CommitCallback = absl::AnyInvocable<void(absl::Status)>;

class GroupConsumer {
 public:
  // Checks the config and connects to the bootstrap broker. `listener` (optional) must outlive
  // the consumer.
  static absl::StatusOr<std::unique_ptr<GroupConsumer>> Create(GroupConsumerConfig config,
                                                              RebalanceListener* listener = nullptr);
  ~GroupConsumer();  // Close(), if not called

  // The topics to consume (replaces any earlier subscription; the group rebalances).
  absl::Status Subscribe(std::vector<std::string> topics);

  // Joins or rejoins the group when needed, then returns records from the assigned partitions,
  // waiting up to `timeout_ms` for the first. Runs due callbacks and auto-commits.
  //   FailedPrecondition  nothing subscribed, or this instance was fenced (FENCED_INSTANCE_ID)
  //   InvalidArgument     the group refused the member (inconsistent assignors, bad timeout)
  //   DataLoss            a batch failed verification
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(int64_t timeout_ms);

  // Commits the position of every assigned partition (the offset after the last record Poll
  // returned), or the given offsets, and waits until the broker has stored them durably.
  //   Aborted  the group is rebalancing or the member was removed: the commit did not happen, and
  //            records after the last successful commit may be delivered again
  absl::Status CommitSync();
  absl::Status CommitSync(const std::map<TopicPartition, int64_t>& offsets);
  // Sends the commit in the background; `done` (optional) runs in a later Poll, CommitSync or
  // Close with its outcome. A newer async commit does not wait for an older one.
  void CommitAsync(CommitCallback done = nullptr);

  // The committed offset of a partition (nullopt: none).
  absl::StatusOr<std::optional<int64_t>> Committed(const TopicPartition& tp);
  // The next offset Poll returns for an assigned partition.
  absl::StatusOr<int64_t> Position(const TopicPartition& tp);

  std::vector<TopicPartition> Assignment() const;
  std::string member_id() const;
  int32_t generation() const;
  // Heartbeats the coordinator accepted (no rebalance in progress, this member and generation
  // current), since Create. Kafka's consumer reports the same as heartbeat-total.
  uint64_t heartbeats_accepted() const;

  // Commits (with auto-commit on), revokes the partitions, leaves the group (a static member does
  // not leave: a restart takes its partitions back) and stops the heartbeat thread. Idempotent.
  absl::Status Close();

 private:
  enum class State { kUnjoined, kStable };

  GroupConsumer(GroupConsumerConfig config, RebalanceListener* listener);
  absl::Status Start();
  // The connection to the group's coordinator (found with FindCoordinator), reconnected if lost.
  absl::StatusOr<Connection*> Coordinator();
  absl::StatusOr<std::unique_ptr<Connection>> ConnectToCoordinator();
  // Joins (and syncs) until the member is Stable with an assignment, or a fatal error.
  absl::Status Rebalance();
  // One JoinGroup + SyncGroup round. OK with `retry` false when done; `retry` true to go again.
  absl::Status JoinAndSync(bool* retry);
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ComputeAssignment(
      const JoinReply& join);
  absl::Status AdoptAssignment(std::vector<TopicPartition> assigned, int32_t generation);
  void RevokeForRejoin();
  // The member lost its partitions (removed by the group): forget them without committing.
  void LosePartitions();
  absl::Status CommitOffsets(const std::map<TopicPartition, int64_t>& offsets);
  std::map<TopicPartition, int64_t> Positions();
  void RunCommitCallbacks();
  void MaybeAutoCommit();
  bool MetadataChanged();
  void HeartbeatLoop();
  RebalanceProtocol Protocol() const;

  const GroupConsumerConfig config_;
  RebalanceListener* const listener_;
  std::unique_ptr<Consumer> fetcher_;   // fetches for the owned partitions; bootstrap connection
  std::unique_ptr<Connection> coordinator_;  // joins, syncs, commits (caller's thread)
  std::vector<std::string> topics_;
  std::set<TopicPartition> owned_;
  State state_ = State::kUnjoined;
  bool closed_ = false;
  int64_t next_auto_commit_ms_ = 0;
  int64_t next_metadata_check_ms_ = 0;
  std::map<std::string, int32_t> assigned_partition_counts_;  // as the leader last saw them
  bool is_leader_ = false;

  // Shared with the heartbeat thread.
  mutable absl::Mutex mu_;
  std::string member_id_ ABSL_GUARDED_BY(mu_);
  int32_t generation_ ABSL_GUARDED_BY(mu_) = -1;
  uint64_t heartbeats_accepted_ ABSL_GUARDED_BY(mu_) = 0;
  bool heartbeating_ ABSL_GUARDED_BY(mu_) = false;  // Stable: the thread sends heartbeats
  bool rejoin_needed_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;  // removed by the group: partitions are not ours
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
  int64_t last_poll_ms_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  struct AsyncCommit {
    std::map<TopicPartition, int64_t> offsets;
    CommitCallback done;
  };
  std::deque<AsyncCommit> async_commits_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<CommitCallback, absl::Status>> completed_commits_ ABSL_GUARDED_BY(mu_);
  std::thread heartbeat_thread_;
};

}  // namespace strata::client
