// Group: the membership state machine of one consumer group, Kafka's classic group protocol.
//
//            join (first member)               every member rejoined, or
//   Empty ------------------------> Preparing  the rebalance timeout passed
//     ^                             Rebalance ----------------------------> Completing
//     |  last member gone              ^  ^                                  Rebalance
//     +--------------------------------+  | join / leave / session expiry        |
//                                         |  / metadata change                   | leader's
//                                         +------------- Stable <----------------+ SyncGroup
//
// - Preparing: the group waits for every known member to send JoinGroup (their heartbeats get
//   REBALANCE_IN_PROGRESS, which tells them to). A member that neither rejoins nor heartbeats
//   within its session timeout is removed; one that keeps heartbeating is waited for until the
//   rebalance timeout (the largest of the members'), then removed. A group that was Empty first
//   waits `initial_rebalance_delay_ms` (extended by each member that joins meanwhile, up to the
//   rebalance timeout) so that members starting together land in one rebalance.
// - Completing: the generation id went up and every JoinGroup was answered; the leader (a client)
//   got every member's metadata and computes the assignment. Followers' SyncGroup requests wait
//   for the leader's. Members that do not SyncGroup within the rebalance timeout are removed.
// - Stable: SyncGroup answers at once with the member's assignment; heartbeats keep members in.
// - Dead: the group was deleted; every request fails.
// Static members (group_instance_id) keep their assignment across a restart: rejoining with an
// empty member id replaces the old member id (fencing the old instance) and, in a Stable group
// whose metadata did not change, returns the current generation without a rebalance.
//
// Pure logic: no I/O, no threads, no clocks. Every call gets `now_ms` (a monotonic clock), and
// Tick(now_ms) performs the expirations that are due. JoinGroup and SyncGroup may complete later
// (another member's call, or a Tick); their callbacks are not run inside the call but queued, and
// TakeCompletions() hands them to the caller, which runs them with no lock held.
//
// Not thread-safe: the GroupCoordinator serializes calls under its mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "consumer_offsets/group_types.h"

namespace strata::consumer_offsets {

struct GroupConfig {
  int32_t min_session_timeout_ms = 6'000;      // Kafka's group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1'800'000;  // Kafka's group.max.session.timeout.ms
  int32_t initial_rebalance_delay_ms = 3'000;  // Kafka's group.initial.rebalance.delay.ms
};

// Counters of one group, for metrics.
struct GroupStats {
  uint64_t rebalances = 0;                // rebalances started
  uint64_t rebalances_completed = 0;      // reached Stable
  int64_t last_rebalance_duration_ms = -1;  // start of PreparingRebalance to Stable
  double rebalance_duration_ms_total = 0;
};

class Group {
 public:
  // `new_member_id` makes member ids (tests pass a deterministic one); given the client id.
  using MemberIdGenerator = std::function<std::string(const std::string& client_id)>;

  Group(std::string group_id, GroupConfig config, MemberIdGenerator new_member_id);
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  void Join(JoinRequest request, int64_t now_ms, JoinCallback done);
  void Sync(SyncRequest request, int64_t now_ms, SyncCallback done);
  GroupResult Heartbeat(const std::string& member_id,
                        const std::optional<std::string>& group_instance_id, int32_t generation,
                        int64_t now_ms);
  // One result per leaving member, in order.
  std::vector<GroupResult> Leave(const std::vector<LeavingMember>& members, int64_t now_ms);

  // May this member commit offsets (generation -1 with an empty member id: only while the group
  // has no members) / read them (an empty member id always may)?
  GroupResult CheckCommit(const std::string& member_id,
                          const std::optional<std::string>& group_instance_id,
                          int32_t generation) const;
  GroupResult CheckFetch(const std::string& member_id, int32_t generation) const;

  // Expires members and rebalance phases whose time is up.
  void Tick(int64_t now_ms);
  // Fails every waiting JoinGroup and SyncGroup with `error` (broker shutdown, group deleted).
  void FailWaiting(GroupError error, const std::string& message);
  // Deleted: every later call fails. Only for a group without members.
  void MarkDead();

  // Callbacks that became due during the calls so far, to run with no lock held.
  std::vector<absl::AnyInvocable<void()>> TakeCompletions();

  const std::string& id() const { return id_; }
  GroupState state() const { return state_; }
  int32_t generation() const { return generation_; }
  const std::string& leader_id() const { return leader_id_; }
  const std::string& protocol_type() const { return protocol_type_; }
  const std::string& protocol_name() const { return protocol_name_; }
  size_t member_count() const { return members_.size(); }
  bool has_member(const std::string& member_id) const { return members_.contains(member_id); }
  bool has_timers() const { return !members_.empty() || !pending_members_.empty(); }
  GroupDescription Describe() const;
  const GroupStats& stats() const { return stats_; }

 private:
  struct Member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<GroupProtocol> protocols;
    std::string assignment;
    JoinCallback awaiting_join;  // empty when not waiting
    SyncCallback awaiting_sync;
    int64_t heartbeat_deadline_ms = 0;
  };

  // Validation shared by Join's paths; kNone when the request may proceed.
  GroupResult CheckJoin(const JoinRequest& request, const std::string& member_id) const;
  GroupResult CheckMember(const std::string& member_id,
                          const std::optional<std::string>& instance_id) const;
  void AddMember(const std::string& member_id, JoinRequest request, int64_t now_ms,
                 JoinCallback done);
  void RejoinKnownMember(Member& member, JoinRequest request, int64_t now_ms, JoinCallback done);
  // `old_id` by value: it is replaced in static_members_ on the way.
  void ReplaceStaticMember(std::string old_id, JoinRequest request, int64_t now_ms,
                           JoinCallback done);
  void UpdateMember(Member& member, JoinRequest& request);
  void RemoveMember(const std::string& member_id, GroupError error, const std::string& why,
                    int64_t now_ms);
  void PrepareRebalance(int64_t now_ms, const std::string& reason);
  void MaybeCompleteJoin(int64_t now_ms);
  void CompleteSync(int64_t now_ms);
  // The JoinGroup answer for `member` in the current generation.
  JoinResult CurrentJoinResult(const Member& member, bool skip_assignment) const;
  // The protocol every member supports that most members prefer; empty if there is none.
  std::string SelectProtocol() const;
  // Can `protocols` join the other members (all but `except`)?
  bool SupportsProtocols(const std::string& protocol_type,
                         const std::vector<GroupProtocol>& protocols,
                         const std::string& except) const;
  int32_t MaxRebalanceTimeoutMs() const;
  const std::string* MetadataFor(const Member& member, const std::string& protocol) const;
  void Complete(JoinCallback& cb, JoinResult result);
  void Complete(SyncCallback& cb, SyncResult result);

  const std::string id_;
  const GroupConfig config_;
  MemberIdGenerator new_member_id_;

  GroupState state_ = GroupState::kEmpty;
  int32_t generation_ = 0;
  std::string protocol_type_;
  std::string protocol_name_;
  std::string leader_id_;
  std::map<std::string, Member> members_;
  std::map<std::string, std::string> static_members_;  // group instance id -> member id
  std::map<std::string, int64_t> pending_members_;     // given MEMBER_ID_REQUIRED -> expiry
  int64_t rebalance_deadline_ms_ = 0;  // Preparing: give up waiting; Completing: sync deadline
  int64_t rebalance_started_ms_ = 0;
  // Preparing after Empty: the initial delay ends at initial_delay_end_ms_ (extended by joins,
  // never past initial_delay_max_ms_).
  bool initial_delay_ = false;
  int64_t initial_delay_end_ms_ = 0;
  int64_t initial_delay_max_ms_ = 0;
  GroupStats stats_;
  std::vector<absl::AnyInvocable<void()>> completions_;
};

}  // namespace strata::consumer_offsets
