#include "consumer_offsets/group.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/logging.h"

namespace strata::consumer_offsets {

namespace {

GroupResult Error(GroupError error, std::string message) { return {error, std::move(message)}; }

size_t MetadataBytes(const std::vector<GroupProtocol>& protocols) {
  size_t n = 0;
  for (const auto& p : protocols) n += p.name.size() + p.metadata.size();
  return n;
}

}  // namespace

const char* GroupErrorName(GroupError error) {
  switch (error) {
    case GroupError::kNone: return "NONE";
    case GroupError::kCoordinatorNotAvailable: return "COORDINATOR_NOT_AVAILABLE";
    case GroupError::kIllegalGeneration: return "ILLEGAL_GENERATION";
    case GroupError::kUnknownMemberId: return "UNKNOWN_MEMBER_ID";
    case GroupError::kRebalanceInProgress: return "REBALANCE_IN_PROGRESS";
    case GroupError::kInconsistentGroupProtocol: return "INCONSISTENT_GROUP_PROTOCOL";
    case GroupError::kInvalidSessionTimeout: return "INVALID_SESSION_TIMEOUT";
    case GroupError::kMemberIdRequired: return "MEMBER_ID_REQUIRED";
    case GroupError::kFencedInstanceId: return "FENCED_INSTANCE_ID";
    case GroupError::kInvalidGroupId: return "INVALID_GROUP_ID";
    case GroupError::kGroupIdNotFound: return "GROUP_ID_NOT_FOUND";
    case GroupError::kNonEmptyGroup: return "NON_EMPTY_GROUP";
    case GroupError::kOffsetMetadataTooLarge: return "OFFSET_METADATA_TOO_LARGE";
    case GroupError::kGroupMaxSizeReached: return "GROUP_MAX_SIZE_REACHED";
    case GroupError::kUnknownTopicOrPartition: return "UNKNOWN_TOPIC_OR_PARTITION";
    case GroupError::kInvalidRequest: return "INVALID_REQUEST";
    case GroupError::kStorageError: return "STORAGE_ERROR";
    case GroupError::kShuttingDown: return "SHUTTING_DOWN";
    case GroupError::kNotCoordinator: return "NOT_COORDINATOR";
  }
  return "UNKNOWN";
}

const char* GroupStateName(GroupState state) {
  switch (state) {
    case GroupState::kEmpty: return "Empty";
    case GroupState::kPreparingRebalance: return "PreparingRebalance";
    case GroupState::kCompletingRebalance: return "CompletingRebalance";
    case GroupState::kStable: return "Stable";
    case GroupState::kDead: return "Dead";
  }
  return "Unknown";
}

std::optional<GroupState> ParseGroupState(std::string_view name) {
  for (GroupState s : {GroupState::kEmpty, GroupState::kPreparingRebalance,
                       GroupState::kCompletingRebalance, GroupState::kStable, GroupState::kDead}) {
    if (name == GroupStateName(s)) return s;
  }
  return std::nullopt;
}

Group::Group(std::string group_id, GroupConfig config, MemberIdGenerator new_member_id)
    : id_(std::move(group_id)), config_(config), new_member_id_(std::move(new_member_id)) {}

std::vector<absl::AnyInvocable<void()>> Group::TakeCompletions() {
  return std::exchange(completions_, {});
}

void Group::Complete(JoinCallback& cb, JoinResult result) {
  if (!cb) return;
  completions_.push_back([cb = std::move(cb), result = std::move(result)]() mutable {
    cb(std::move(result));
  });
  cb = nullptr;
}

void Group::Complete(SyncCallback& cb, SyncResult result) {
  if (!cb) return;
  completions_.push_back([cb = std::move(cb), result = std::move(result)]() mutable {
    cb(std::move(result));
  });
  cb = nullptr;
}

// --- JoinGroup -----------------------------------------------------------------------------------

GroupResult Group::CheckJoin(const JoinRequest& request, const std::string& member_id) const {
  if (state_ == GroupState::kDead) {
    return Error(GroupError::kCoordinatorNotAvailable,
                 absl::StrCat("group ", id_, " is being deleted; retry"));
  }
  if (request.session_timeout_ms < config_.min_session_timeout_ms ||
      request.session_timeout_ms > config_.max_session_timeout_ms) {
    return Error(GroupError::kInvalidSessionTimeout,
                 absl::StrCat("session_timeout_ms ", request.session_timeout_ms,
                              " is outside the broker's allowed range [",
                              config_.min_session_timeout_ms, ", ",
                              config_.max_session_timeout_ms, "]"));
  }
  if (request.rebalance_timeout_ms <= 0) {
    return Error(GroupError::kInvalidRequest, "rebalance_timeout_ms must be positive");
  }
  if (request.protocol_type.empty() || request.protocols.empty()) {
    return Error(GroupError::kInconsistentGroupProtocol,
                 "a member must name a protocol type and offer at least one protocol");
  }
  if (MetadataBytes(request.protocols) > limits::group_member_metadata_bytes_max) {
    return Error(GroupError::kInvalidRequest,
                 absl::StrCat("the member's protocol metadata is ", MetadataBytes(request.protocols),
                              " bytes, over the limit of ", limits::group_member_metadata_bytes_max));
  }
  if (!SupportsProtocols(request.protocol_type, request.protocols, member_id)) {
    return Error(GroupError::kInconsistentGroupProtocol,
                 absl::StrCat("group ", id_, " has members with protocol type '", protocol_type_,
                              "' and no assignor in common with this member's"));
  }
  return GroupResult::Ok();
}

bool Group::SupportsProtocols(const std::string& protocol_type,
                              const std::vector<GroupProtocol>& protocols,
                              const std::string& except) const {
  bool any_other = false;
  for (const auto& [id, m] : members_) {
    if (id == except) continue;
    any_other = true;
    if (m.protocol_type != protocol_type) return false;
  }
  if (!any_other) return true;
  for (const auto& p : protocols) {
    bool everyone = true;
    for (const auto& [id, m] : members_) {
      if (id == except) continue;
      if (MetadataFor(m, p.name) == nullptr) {
        everyone = false;
        break;
      }
    }
    if (everyone) return true;
  }
  return false;
}

void Group::Join(JoinRequest request, int64_t now_ms, JoinCallback done) {
  auto fail = [&](GroupResult r) {
    JoinResult out;
    out.result = std::move(r);
    out.member_id = request.member_id;
    Complete(done, std::move(out));
  };
  if (GroupResult r = CheckJoin(request, request.member_id); !r.ok()) return fail(std::move(r));

  if (request.member_id.empty()) {
    if (request.group_instance_id.has_value()) {
      auto it = static_members_.find(*request.group_instance_id);
      if (it != static_members_.end()) {
        return ReplaceStaticMember(it->second, std::move(request), now_ms, std::move(done));
      }
      const std::string id = new_member_id_(request.client_id);
      return AddMember(id, std::move(request), now_ms, std::move(done));
    }
    const std::string id = new_member_id_(request.client_id);
    if (request.require_known_member_id) {
      if (members_.size() + pending_members_.size() >= limits::group_members_max) {
        return fail(Error(GroupError::kGroupMaxSizeReached,
                          absl::StrCat("group ", id_, " already has ", limits::group_members_max,
                                       " members (limits::group_members_max)")));
      }
      pending_members_[id] = now_ms + request.session_timeout_ms;
      JoinResult out;
      out.result = Error(GroupError::kMemberIdRequired,
                         "a new member must rejoin with the member id given here");
      out.member_id = id;
      return Complete(done, std::move(out));
    }
    return AddMember(id, std::move(request), now_ms, std::move(done));
  }

  if (auto p = pending_members_.find(request.member_id); p != pending_members_.end()) {
    pending_members_.erase(p);
    const std::string id = request.member_id;
    return AddMember(id, std::move(request), now_ms, std::move(done));
  }
  if (GroupResult r = CheckMember(request.member_id, request.group_instance_id); !r.ok()) {
    return fail(std::move(r));
  }
  Member& member = members_.at(request.member_id);
  RejoinKnownMember(member, std::move(request), now_ms, std::move(done));
}

GroupResult Group::CheckMember(const std::string& member_id,
                               const std::optional<std::string>& instance_id) const {
  if (instance_id.has_value()) {
    auto it = static_members_.find(*instance_id);
    if (it != static_members_.end() && it->second != member_id) {
      return Error(GroupError::kFencedInstanceId,
                   absl::StrCat("group_instance_id ", *instance_id,
                                " now belongs to another member; this instance was replaced"));
    }
  }
  if (!members_.contains(member_id)) {
    return Error(GroupError::kUnknownMemberId,
                 absl::StrCat("member ", member_id, " is not in group ", id_,
                              " (its session expired or it left); rejoin"));
  }
  return GroupResult::Ok();
}

void Group::UpdateMember(Member& m, JoinRequest& request) {
  m.client_id = std::move(request.client_id);
  m.client_host = std::move(request.client_host);
  m.session_timeout_ms = request.session_timeout_ms;
  m.rebalance_timeout_ms = request.rebalance_timeout_ms;
  m.protocol_type = std::move(request.protocol_type);
  m.protocols = std::move(request.protocols);
}

void Group::AddMember(const std::string& member_id, JoinRequest request, int64_t now_ms,
                      JoinCallback done) {
  if (members_.size() >= limits::group_members_max) {
    JoinResult out;
    out.result = Error(GroupError::kGroupMaxSizeReached,
                       absl::StrCat("group ", id_, " already has ", limits::group_members_max,
                                    " members (limits::group_members_max)"));
    return Complete(done, std::move(out));
  }
  if (members_.empty()) protocol_type_ = request.protocol_type;
  Member& m = members_[member_id];
  m.id = member_id;
  m.instance_id = request.group_instance_id;
  if (m.instance_id.has_value()) static_members_[*m.instance_id] = member_id;
  UpdateMember(m, request);
  m.awaiting_join = std::move(done);
  m.heartbeat_deadline_ms = now_ms + m.session_timeout_ms;
  if (state_ == GroupState::kPreparingRebalance) {
    if (initial_delay_) {
      initial_delay_end_ms_ =
          std::min(now_ms + config_.initial_rebalance_delay_ms, initial_delay_max_ms_);
    }
    MaybeCompleteJoin(now_ms);
  } else {
    PrepareRebalance(now_ms, absl::StrCat("member ", member_id, " joined"));
  }
}

void Group::RejoinKnownMember(Member& m, JoinRequest request, int64_t now_ms, JoinCallback done) {
  const bool metadata_changed =
      m.protocols != request.protocols || m.protocol_type != request.protocol_type;
  UpdateMember(m, request);
  m.heartbeat_deadline_ms = now_ms + m.session_timeout_ms;
  switch (state_) {
    case GroupState::kPreparingRebalance:
      if (m.awaiting_join) {
        JoinResult superseded;
        superseded.result = Error(GroupError::kRebalanceInProgress,
                                  "superseded by a newer JoinGroup from the same member");
        superseded.member_id = m.id;
        Complete(m.awaiting_join, std::move(superseded));
      }
      m.awaiting_join = std::move(done);
      MaybeCompleteJoin(now_ms);
      return;
    case GroupState::kCompletingRebalance:
      if (!metadata_changed) {
        // The JoinGroup answer was lost: give it again.
        JoinResult again = CurrentJoinResult(m, false);
        return Complete(done, std::move(again));
      }
      m.awaiting_join = std::move(done);
      PrepareRebalance(now_ms, absl::StrCat("member ", m.id, " changed its metadata"));
      return;
    case GroupState::kStable:
      if (metadata_changed || m.id == leader_id_) {
        m.awaiting_join = std::move(done);
        PrepareRebalance(now_ms, absl::StrCat(m.id == leader_id_ ? "the leader " : "member ",
                                              m.id, " rejoined",
                                              metadata_changed ? " with new metadata" : ""));
        return;
      }
      return Complete(done, CurrentJoinResult(m, false));
    case GroupState::kEmpty:
    case GroupState::kDead: {
      JoinResult out;
      out.result = Error(GroupError::kUnknownMemberId, "the group has no members; rejoin");
      return Complete(done, std::move(out));
    }
  }
}

void Group::ReplaceStaticMember(std::string old_id, JoinRequest request, int64_t now_ms,
                                JoinCallback done) {
  Member old = std::move(members_.at(old_id));
  members_.erase(old_id);
  const GroupResult fenced = Error(GroupError::kFencedInstanceId,
                                   "a new instance with the same group_instance_id joined");
  JoinResult fenced_join;
  fenced_join.result = fenced;
  Complete(old.awaiting_join, std::move(fenced_join));
  SyncResult fenced_sync;
  fenced_sync.result = fenced;
  Complete(old.awaiting_sync, std::move(fenced_sync));

  const std::string new_id = new_member_id_(request.client_id);
  const bool metadata_changed =
      old.protocols != request.protocols || old.protocol_type != request.protocol_type;
  Member& m = members_[new_id];
  m = std::move(old);
  m.id = new_id;
  m.awaiting_join = nullptr;
  m.awaiting_sync = nullptr;
  static_members_[*m.instance_id] = new_id;
  if (leader_id_ == old_id) leader_id_ = new_id;
  UpdateMember(m, request);
  m.heartbeat_deadline_ms = now_ms + m.session_timeout_ms;
  LogEvent(LogLevel::kInfo, absl::StrCat("group ", id_, ": static member ", *m.instance_id,
                                         " rejoined as ", new_id, " (was ", old_id, ")"));
  switch (state_) {
    case GroupState::kStable:
      if (!metadata_changed) {
        // The restarted instance takes over its assignment without a rebalance.
        return Complete(done, CurrentJoinResult(m, /*skip_assignment=*/new_id == leader_id_));
      }
      m.awaiting_join = std::move(done);
      PrepareRebalance(now_ms, absl::StrCat("static member ", *m.instance_id,
                                            " rejoined with new metadata"));
      return;
    case GroupState::kCompletingRebalance:
      // The old instance may already hold an assignment of this generation: start over.
      m.awaiting_join = std::move(done);
      PrepareRebalance(now_ms, absl::StrCat("static member ", *m.instance_id,
                                            " rejoined during a rebalance"));
      return;
    case GroupState::kPreparingRebalance:
      m.awaiting_join = std::move(done);
      MaybeCompleteJoin(now_ms);
      return;
    case GroupState::kEmpty:
    case GroupState::kDead:
      m.awaiting_join = std::move(done);
      PrepareRebalance(now_ms, "static member rejoined");
      return;
  }
}

JoinResult Group::CurrentJoinResult(const Member& member, bool skip_assignment) const {
  JoinResult out;
  out.generation = generation_;
  out.protocol_type = protocol_type_;
  out.protocol_name = protocol_name_;
  out.leader_id = leader_id_;
  out.member_id = member.id;
  out.skip_assignment = skip_assignment;
  if (member.id == leader_id_) {
    for (const auto& [id, m] : members_) {
      const std::string* md = MetadataFor(m, protocol_name_);
      out.members.push_back({id, m.instance_id, md != nullptr ? *md : std::string()});
    }
  }
  return out;
}

// --- Rebalance phases ----------------------------------------------------------------------------

int32_t Group::MaxRebalanceTimeoutMs() const {
  int32_t t = 0;
  for (const auto& [id, m] : members_) t = std::max(t, m.rebalance_timeout_ms);
  return t;
}

void Group::PrepareRebalance(int64_t now_ms, const std::string& reason) {
  if (state_ == GroupState::kCompletingRebalance) {
    for (auto& [id, m] : members_) {
      SyncResult r;
      r.result = Error(GroupError::kRebalanceInProgress,
                       absl::StrCat("the group is rebalancing again (", reason, "); rejoin"));
      Complete(m.awaiting_sync, std::move(r));
    }
  }
  for (auto& [id, m] : members_) m.assignment.clear();
  const bool from_empty = state_ == GroupState::kEmpty;
  if (state_ != GroupState::kPreparingRebalance) {
    ++stats_.rebalances;
    rebalance_started_ms_ = now_ms;
  }
  state_ = GroupState::kPreparingRebalance;
  rebalance_deadline_ms_ = now_ms + MaxRebalanceTimeoutMs();
  initial_delay_ = from_empty && config_.initial_rebalance_delay_ms > 0;
  if (initial_delay_) {
    initial_delay_max_ms_ = rebalance_deadline_ms_;
    initial_delay_end_ms_ = std::min(now_ms + config_.initial_rebalance_delay_ms,
                                     initial_delay_max_ms_);
  }
  LogEvent(LogLevel::kInfo, absl::StrCat("group ", id_, ": preparing rebalance (", reason,
                                         "), generation ", generation_));
  MaybeCompleteJoin(now_ms);
}

void Group::MaybeCompleteJoin(int64_t now_ms) {
  if (state_ != GroupState::kPreparingRebalance) return;
  if (initial_delay_ && now_ms < initial_delay_end_ms_) return;
  bool all_joined = pending_members_.empty();
  for (const auto& [id, m] : members_) all_joined = all_joined && static_cast<bool>(m.awaiting_join);
  if (!all_joined && now_ms < rebalance_deadline_ms_) return;
  initial_delay_ = false;

  // Members that did not rejoin in time are out.
  std::vector<std::string> late;
  for (const auto& [id, m] : members_) {
    if (!m.awaiting_join) late.push_back(id);
  }
  for (const auto& id : late) {
    Member& m = members_.at(id);
    if (m.instance_id.has_value()) static_members_.erase(*m.instance_id);
    LogEvent(LogLevel::kInfo, absl::StrCat("group ", id_, ": member ", id,
                                           " did not rejoin within the rebalance timeout"));
    members_.erase(id);
  }

  ++generation_;
  if (members_.empty()) {
    state_ = GroupState::kEmpty;
    protocol_name_.clear();
    leader_id_.clear();
    LogEvent(LogLevel::kInfo, absl::StrCat("group ", id_, " is empty (generation ", generation_,
                                           ")"));
    return;
  }
  protocol_name_ = SelectProtocol();
  if (!members_.contains(leader_id_)) leader_id_ = members_.begin()->first;
  state_ = GroupState::kCompletingRebalance;
  rebalance_deadline_ms_ = now_ms + MaxRebalanceTimeoutMs();
  for (auto& [id, m] : members_) {
    m.heartbeat_deadline_ms = now_ms + m.session_timeout_ms;
    Complete(m.awaiting_join, CurrentJoinResult(m, false));
  }
  LogEvent(LogLevel::kInfo, absl::StrCat("group ", id_, ": generation ", generation_, " with ",
                                         members_.size(), " members, protocol ", protocol_name_,
                                         ", leader ", leader_id_));
}

std::string Group::SelectProtocol() const {
  std::vector<std::string> candidates;
  const Member& first = members_.begin()->second;
  for (const auto& p : first.protocols) {
    bool everyone = true;
    for (const auto& [id, m] : members_) everyone = everyone && MetadataFor(m, p.name) != nullptr;
    if (everyone) candidates.push_back(p.name);
  }
  // Each member votes for the candidate it lists first; ties go to the first member's order.
  std::map<std::string, int> votes;
  for (const auto& [id, m] : members_) {
    for (const auto& p : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
        ++votes[p.name];
        break;
      }
    }
  }
  std::string best;
  int best_votes = -1;
  for (const auto& c : candidates) {
    if (votes[c] > best_votes) {
      best = c;
      best_votes = votes[c];
    }
  }
  return best;
}

const std::string* Group::MetadataFor(const Member& member, const std::string& protocol) const {
  for (const auto& p : member.protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

// --- SyncGroup -----------------------------------------------------------------------------------

void Group::Sync(SyncRequest request, int64_t now_ms, SyncCallback done) {
  auto fail = [&](GroupResult r) {
    SyncResult out;
    out.result = std::move(r);
    Complete(done, std::move(out));
  };
  if (state_ == GroupState::kDead) {
    return fail(Error(GroupError::kCoordinatorNotAvailable, "the group is being deleted"));
  }
  if (GroupResult r = CheckMember(request.member_id, request.group_instance_id); !r.ok()) {
    return fail(std::move(r));
  }
  if (request.generation != generation_) {
    return fail(Error(GroupError::kIllegalGeneration,
                      absl::StrCat("generation ", request.generation, " is not the group's (",
                                   generation_, "); rejoin")));
  }
  if ((!request.protocol_type.empty() && request.protocol_type != protocol_type_) ||
      (!request.protocol_name.empty() && request.protocol_name != protocol_name_)) {
    return fail(Error(GroupError::kInconsistentGroupProtocol,
                      absl::StrCat("the group uses ", protocol_type_, "/", protocol_name_)));
  }
  Member& m = members_.at(request.member_id);
  m.heartbeat_deadline_ms = now_ms + m.session_timeout_ms;
  switch (state_) {
    case GroupState::kPreparingRebalance:
      return fail(Error(GroupError::kRebalanceInProgress, "the group is rebalancing; rejoin"));
    case GroupState::kStable: {
      SyncResult out;
      out.protocol_type = protocol_type_;
      out.protocol_name = protocol_name_;
      out.assignment = m.assignment;
      return Complete(done, std::move(out));
    }
    case GroupState::kCompletingRebalance: {
      if (m.awaiting_sync) {
        SyncResult superseded;
        superseded.result = Error(GroupError::kRebalanceInProgress,
                                  "superseded by a newer SyncGroup from the same member");
        Complete(m.awaiting_sync, std::move(superseded));
      }
      if (m.id == leader_id_) {
        for (const auto& [id, bytes] : request.assignments) {
          if (bytes.size() > limits::group_member_metadata_bytes_max) {
            return fail(Error(GroupError::kInvalidRequest,
                              absl::StrCat("the assignment of ", id, " is ", bytes.size(),
                                           " bytes, over the limit of ",
                                           limits::group_member_metadata_bytes_max)));
          }
        }
        for (auto& [id, member] : members_) member.assignment.clear();
        for (auto& [id, bytes] : request.assignments) {
          auto it = members_.find(id);
          if (it != members_.end()) it->second.assignment = std::move(bytes);
        }
        m.awaiting_sync = std::move(done);
        CompleteSync(now_ms);
        return;
      }
      m.awaiting_sync = std::move(done);
      return;
    }
    case GroupState::kEmpty:
    case GroupState::kDead:
      return fail(Error(GroupError::kUnknownMemberId, "the group has no members; rejoin"));
  }
}

void Group::CompleteSync(int64_t now_ms) {
  state_ = GroupState::kStable;
  ++stats_.rebalances_completed;
  stats_.last_rebalance_duration_ms = now_ms - rebalance_started_ms_;
  stats_.rebalance_duration_ms_total += static_cast<double>(stats_.last_rebalance_duration_ms);
  for (auto& [id, m] : members_) {
    SyncResult out;
    out.protocol_type = protocol_type_;
    out.protocol_name = protocol_name_;
    out.assignment = m.assignment;
    Complete(m.awaiting_sync, std::move(out));
  }
  LogEvent(LogLevel::kInfo, absl::StrCat("group ", id_, " is stable at generation ", generation_,
                                         " after ", stats_.last_rebalance_duration_ms, " ms"));
}

// --- Heartbeat, LeaveGroup, commits ------------------------------------------------------------

GroupResult Group::Heartbeat(const std::string& member_id,
                             const std::optional<std::string>& group_instance_id,
                             int32_t generation, int64_t now_ms) {
  if (state_ == GroupState::kDead) {
    return Error(GroupError::kCoordinatorNotAvailable, "the group is being deleted");
  }
  if (state_ == GroupState::kEmpty) {
    return Error(GroupError::kUnknownMemberId, "the group has no members; rejoin");
  }
  if (GroupResult r = CheckMember(member_id, group_instance_id); !r.ok()) return r;
  if (generation != generation_) {
    return Error(GroupError::kIllegalGeneration,
                 absl::StrCat("generation ", generation, " is not the group's (", generation_,
                              "); rejoin"));
  }
  Member& m = members_.at(member_id);
  m.heartbeat_deadline_ms = now_ms + m.session_timeout_ms;
  if (state_ == GroupState::kPreparingRebalance) {
    return Error(GroupError::kRebalanceInProgress, "the group is rebalancing; rejoin");
  }
  return GroupResult::Ok();
}

std::vector<GroupResult> Group::Leave(const std::vector<LeavingMember>& leaving, int64_t now_ms) {
  std::vector<GroupResult> results;
  for (const auto& l : leaving) {
    std::string member_id = l.member_id;
    if (member_id.empty() && l.group_instance_id.has_value()) {
      auto it = static_members_.find(*l.group_instance_id);
      if (it != static_members_.end()) member_id = it->second;
    }
    if (state_ == GroupState::kDead) {
      results.push_back(Error(GroupError::kCoordinatorNotAvailable, "the group is being deleted"));
      continue;
    }
    if (GroupResult r = CheckMember(member_id, l.group_instance_id); !r.ok()) {
      results.push_back(std::move(r));
      continue;
    }
    RemoveMember(member_id, GroupError::kUnknownMemberId,
                 absl::StrCat("member ", member_id, " left",
                              l.reason.empty() ? "" : absl::StrCat(" (", l.reason, ")")),
                 now_ms);
    results.push_back(GroupResult::Ok());
  }
  return results;
}

void Group::RemoveMember(const std::string& member_id, GroupError error, const std::string& why,
                         int64_t now_ms) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  Member& m = it->second;
  JoinResult j;
  j.result = Error(error, why);
  Complete(m.awaiting_join, std::move(j));
  SyncResult s;
  s.result = Error(error, why);
  Complete(m.awaiting_sync, std::move(s));
  if (m.instance_id.has_value()) static_members_.erase(*m.instance_id);
  members_.erase(it);
  if (leader_id_ == member_id) leader_id_.clear();
  switch (state_) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance:
      PrepareRebalance(now_ms, why);
      break;
    case GroupState::kPreparingRebalance:
      MaybeCompleteJoin(now_ms);
      break;
    case GroupState::kEmpty:
    case GroupState::kDead:
      break;
  }
}

GroupResult Group::CheckCommit(const std::string& member_id,
                               const std::optional<std::string>& group_instance_id,
                               int32_t generation) const {
  if (state_ == GroupState::kDead) {
    return Error(GroupError::kCoordinatorNotAvailable, "the group is being deleted");
  }
  if (generation < 0 && member_id.empty()) {
    if (state_ == GroupState::kEmpty) return GroupResult::Ok();
    return Error(GroupError::kUnknownMemberId,
                 absl::StrCat("group ", id_, " has ", members_.size(),
                              " live members; only a member may commit (or stop them first)"));
  }
  if (GroupResult r = CheckMember(member_id, group_instance_id); !r.ok()) return r;
  if (generation != generation_) {
    return Error(GroupError::kIllegalGeneration,
                 absl::StrCat("generation ", generation, " is not the group's (", generation_,
                              "); the partitions may have moved: rejoin"));
  }
  if (state_ == GroupState::kCompletingRebalance) {
    return Error(GroupError::kRebalanceInProgress, "the group is completing a rebalance; rejoin");
  }
  return GroupResult::Ok();
}

GroupResult Group::CheckFetch(const std::string& member_id, int32_t generation) const {
  if (member_id.empty()) return GroupResult::Ok();
  if (GroupResult r = CheckMember(member_id, std::nullopt); !r.ok()) return r;
  if (generation != generation_) {
    return Error(GroupError::kIllegalGeneration,
                 absl::StrCat("generation ", generation, " is not the group's (", generation_,
                              "); rejoin"));
  }
  return GroupResult::Ok();
}

// --- Time ----------------------------------------------------------------------------------------

void Group::Tick(int64_t now_ms) {
  for (auto it = pending_members_.begin(); it != pending_members_.end();) {
    it = it->second <= now_ms ? pending_members_.erase(it) : std::next(it);
  }
  // A member waiting on JoinGroup or SyncGroup is alive: its request is its heartbeat.
  std::vector<std::string> expired;
  for (const auto& [id, m] : members_) {
    if (!m.awaiting_join && !m.awaiting_sync && m.heartbeat_deadline_ms <= now_ms) {
      expired.push_back(id);
    }
  }
  for (const auto& id : expired) {
    LogEvent(LogLevel::kInfo, absl::StrCat("group ", id_, ": member ", id,
                                           " expired (no heartbeat within its session timeout)"));
    RemoveMember(id, GroupError::kUnknownMemberId,
                 absl::StrCat("member ", id, " expired: no heartbeat within its session timeout"),
                 now_ms);
  }
  if (state_ == GroupState::kCompletingRebalance && now_ms >= rebalance_deadline_ms_) {
    std::vector<std::string> unsynced;
    for (const auto& [id, m] : members_) {
      if (!m.awaiting_sync) unsynced.push_back(id);
    }
    for (const auto& id : unsynced) {
      RemoveMember(id, GroupError::kUnknownMemberId,
                   absl::StrCat("member ", id, " did not send SyncGroup within the rebalance "
                                "timeout"),
                   now_ms);
    }
  }
  MaybeCompleteJoin(now_ms);
}

void Group::FailWaiting(GroupError error, const std::string& message) {
  for (auto& [id, m] : members_) {
    JoinResult j;
    j.result = Error(error, message);
    j.member_id = id;
    Complete(m.awaiting_join, std::move(j));
    SyncResult s;
    s.result = Error(error, message);
    Complete(m.awaiting_sync, std::move(s));
  }
}

void Group::MarkDead() {
  FailWaiting(GroupError::kCoordinatorNotAvailable, "the group was deleted");
  members_.clear();
  static_members_.clear();
  pending_members_.clear();
  state_ = GroupState::kDead;
}

GroupDescription Group::Describe() const {
  GroupDescription d;
  d.group_id = id_;
  d.state = state_;
  d.protocol_type = protocol_type_;
  d.protocol_name = protocol_name_;
  d.generation = generation_;
  for (const auto& [id, m] : members_) {
    const std::string* md = MetadataFor(m, protocol_name_);
    d.members.push_back({id, m.instance_id, m.client_id, m.client_host,
                         md != nullptr ? *md : std::string(), m.assignment});
  }
  return d;
}

}  // namespace strata::consumer_offsets
