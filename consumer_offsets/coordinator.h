// GroupCoordinator: every consumer group this broker coordinates, their membership (group.h) and
// their committed offsets (offset_store.h), behind the operations of the group APIs
// (protocol/schemas/groups.fbs, offsets.fbs; docs/consumer-groups.md).
//
// A group is coordinated by the leader of its partition of __consumer_offsets. On one node that
// is always this broker, but the lookup is real: FindCoordinator creates the topic on first use
// and reports COORDINATOR_NOT_AVAILABLE while the group's partition cannot serve.
//
// Groups exist from their first JoinGroup or commit, or from offsets found at start-up (then
// Empty). Membership is not persisted: after a broker restart every member rejoins (its heartbeat
// gets UNKNOWN_MEMBER_ID), and the committed offsets, which are, tell it where to resume.
// An Empty group's offsets expire once it has been empty for offsets_retention_ms (for a group
// loaded at start-up, counted from its newest commit); offsets of deleted topics go at the same
// check. Both write tombstones, which compaction later removes from the log.
//
// Thread-safety: all methods are thread-safe. One mutex guards the groups; offsets have the
// store's own lock. JoinGroup, SyncGroup, commits and deletes complete through callbacks, run
// with no coordinator lock held, either on the calling thread, on the ticker thread (a rebalance
// completed by a timeout) or on a log flusher (a commit became durable); they must not block.
// A ticker thread performs the groups' expirations every few milliseconds and the offsets expiry
// check every offsets_retention_check_interval_ms.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/status.h"
#include "consumer_offsets/group.h"
#include "consumer_offsets/offset_store.h"
#include "log/log_config.h"
#include "partition/topic_manager.h"

namespace strata::consumer_offsets {

struct CoordinatorConfig {
  GroupConfig group;
  OffsetsTopicConfig offsets_topic;
  int64_t offsets_retention_ms = 7ll * 24 * 3600 * 1000;   // Kafka's offsets.retention.minutes
  int64_t offsets_retention_check_interval_ms = 600'000;  // Kafka's default
  // One broker of a cluster: a group is coordinated here only while this broker leads its
  // partition of __consumer_offsets (OnOffsetsLeadership), and the broker creates the topic
  // through the cluster (FindCoordinator then only checks).
  bool clustered = false;
};

struct CoordinatorOptions {
  log::Clock wall_clock;       // commit timestamps and expiry; default: the system clock
  log::Clock monotonic_clock;  // session and rebalance timers; default: steady_clock
  bool start_ticker = true;    // false: tests call TEST_Tick
};

struct CommitEntry {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string metadata;
};

// A group-level result (member checks) and one result per entry, in request order.
struct CommitOutcome {
  GroupResult group;
  std::vector<GroupResult> entries;
};

struct FetchedOffset {
  std::string topic;
  int32_t partition = 0;
  std::optional<OffsetValue> value;  // nullopt: nothing committed
};

struct FetchOutcome {
  GroupResult group;
  std::vector<FetchedOffset> offsets;
};

struct ListedGroup {
  std::string group_id;
  std::string protocol_type;
  GroupState state = GroupState::kEmpty;
};

// What metrics show of one group.
struct GroupSnapshot {
  std::string group_id;
  GroupState state = GroupState::kEmpty;
  int32_t generation = 0;
  size_t members = 0;
  GroupStats stats;
  std::map<TopicPartitionId, OffsetValue> offsets;
};

class GroupCoordinator {
 public:
  static absl::StatusOr<std::unique_ptr<GroupCoordinator>> Open(partition::TopicManager* topics,
                                                                CoordinatorConfig config,
                                                                CoordinatorOptions options = {});
  ~GroupCoordinator();

  // Makes sure __consumer_offsets exists and `group_id`'s partition of it can serve.
  GroupResult FindCoordinator(const std::string& group_id);
  // A cluster: this broker gained or lost the leadership of partition `index` of
  // __consumer_offsets (`partitions` in all). Either way the groups stored there start afresh:
  // their waiting members are answered NOT_COORDINATOR and the groups forgotten; gaining it, the
  // partition's offsets are loaded and its groups appear as Empty.
  void OnOffsetsLeadership(int32_t index, int32_t partitions, bool leader);

  void JoinGroup(const std::string& group_id, JoinRequest request, JoinCallback done);
  void SyncGroup(const std::string& group_id, SyncRequest request, SyncCallback done);
  GroupResult Heartbeat(const std::string& group_id, const std::string& member_id,
                        const std::optional<std::string>& group_instance_id, int32_t generation);
  // A group-level result, and one per member (the group-level error repeated when set).
  std::pair<GroupResult, std::vector<GroupResult>> LeaveGroup(
      const std::string& group_id, const std::vector<LeavingMember>& members);

  // Checks the member (generation -1 and an empty member id: only for a group without members),
  // then each entry (the partition must exist, metadata within limits::offset_metadata_bytes_max;
  // a negative offset is stored as given, as Kafka does, and read as "nothing committed"), stores
  // the valid entries in one durable write and calls `done`.
  void CommitOffsets(const std::string& group_id, const std::string& member_id,
                     const std::optional<std::string>& group_instance_id, int32_t generation,
                     std::vector<CommitEntry> entries, absl::AnyInvocable<void(CommitOutcome)> done);
  // `partitions` nullopt: every committed partition of the group. A non-empty member_id is
  // checked like a commit.
  FetchOutcome FetchOffsets(const std::string& group_id, const std::string& member_id,
                            int32_t generation,
                            const std::optional<std::vector<TopicPartitionId>>& partitions);

  // Every group, sorted by id; `states` empty: all states.
  std::vector<ListedGroup> ListGroups(const std::vector<GroupState>& states) const;
  // kGroupIdNotFound for a group this coordinator does not know.
  std::pair<GroupResult, GroupDescription> DescribeGroup(const std::string& group_id) const;
  // Per group, in order: kGroupIdNotFound, kNonEmptyGroup (it has members), or deleted (its
  // offsets tombstoned durably).
  void DeleteGroups(std::vector<std::string> group_ids,
                    absl::AnyInvocable<void(std::vector<GroupResult>)> done);

  std::vector<GroupSnapshot> Snapshot() const;

  // Fails every waiting JoinGroup/SyncGroup with SHUTTING_DOWN and stops the ticker. Idempotent.
  void Shutdown();

  // One ticker pass now (session expiry, rebalance timeouts, and the offsets expiry check if due).
  void TEST_Tick();
  // The offsets expiry check now, regardless of its interval.
  void TEST_ExpireOffsets();

  // InvalidGroupId unless 1..limits::group_id_bytes_max bytes without control characters.
  static GroupResult ValidateGroupId(const std::string& group_id);

 private:
  struct Entry {
    std::unique_ptr<Group> group;
    int64_t empty_since_wall_ms = 0;  // when it last became Empty (for expiry)
  };

  GroupCoordinator(partition::TopicManager* topics, CoordinatorConfig config,
                   CoordinatorOptions options, std::unique_ptr<OffsetStore> store);
  // The group, created Empty if absent (nullptr with `error` set past limits::groups_max).
  Entry* GetOrCreate(const std::string& group_id, GroupResult* error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Updates empty_since after a call that may have changed the state, and takes the callbacks
  // that became due.
  std::vector<absl::AnyInvocable<void()>> AfterCall(Entry& entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Validity of the group id and availability of its partition.
  GroupResult CheckGroup(const std::string& group_id) const;
  std::string NewMemberId(const std::string& client_id);
  void TickerLoop();
  void Tick();
  void ExpireOffsets();

  partition::TopicManager* const topics_;
  const CoordinatorConfig config_;
  CoordinatorOptions options_;
  std::unique_ptr<OffsetStore> store_;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> groups_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  int64_t next_expiry_check_ms_ = 0;  // ticker thread only

  absl::Notification stop_;
  std::thread ticker_;
};

}  // namespace strata::consumer_offsets
