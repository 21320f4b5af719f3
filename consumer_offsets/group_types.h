// Value types of the consumer-group coordinator: error codes, the requests a member sends and
// the results it gets back. They mirror the wire tables of protocol/schemas/groups.fbs and
// offsets.fbs, without depending on protocol/ (the broker converts). Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"

namespace strata::consumer_offsets {

// What went wrong, chosen by what the member should do (docs/consumer-groups.md, "Errors").
enum class GroupError {
  kNone,
  kCoordinatorNotAvailable,  // the group's __consumer_offsets partition cannot serve; retry
  kIllegalGeneration,        // not the current generation: rejoin
  kUnknownMemberId,          // not a member (expired, left, never joined): rejoin with no id
  kRebalanceInProgress,      // rejoin to take part in the rebalance
  kInconsistentGroupProtocol,
  kInvalidSessionTimeout,
  kMemberIdRequired,         // rejoin with the member id in the result
  kFencedInstanceId,         // another member took this group_instance_id
  kInvalidGroupId,
  kGroupIdNotFound,
  kNonEmptyGroup,
  kOffsetMetadataTooLarge,
  kGroupMaxSizeReached,
  kUnknownTopicOrPartition,
  kInvalidRequest,
  kStorageError,             // a commit could not be made durable
  kShuttingDown,
  kNotCoordinator,           // another broker coordinates the group (a cluster): find it again
};

const char* GroupErrorName(GroupError error);

struct GroupResult {
  GroupError error = GroupError::kNone;
  std::string message;  // a sentence for a human when error != kNone

  bool ok() const { return error == GroupError::kNone; }
  static GroupResult Ok() { return {}; }
};

enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };

// "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead" (Kafka's names).
const char* GroupStateName(GroupState state);
std::optional<GroupState> ParseGroupState(std::string_view name);

// One assignor a member offers in JoinGroup, with its metadata (opaque bytes).
struct GroupProtocol {
  std::string name;
  std::string metadata;
  bool operator==(const GroupProtocol&) const = default;
};

struct JoinRequest {
  std::string member_id;  // empty for a new member
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 45'000;
  int32_t rebalance_timeout_ms = 300'000;
  std::string protocol_type;
  std::vector<GroupProtocol> protocols;  // in order of preference
  // A new dynamic member first gets MEMBER_ID_REQUIRED with its id and rejoins with it (Kafka's
  // KIP-394), so a member whose first response is lost is not left behind as a ghost.
  bool require_known_member_id = true;
  std::string reason;
};

struct JoinMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string metadata;  // for the selected protocol
};

struct JoinResult {
  GroupResult result;
  int32_t generation = -1;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader_id;
  std::string member_id;
  bool skip_assignment = false;
  std::vector<JoinMember> members;  // the leader only
};

struct SyncRequest {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  int32_t generation = -1;
  std::string protocol_type;  // empty: not checked
  std::string protocol_name;  // empty: not checked
  std::vector<std::pair<std::string, std::string>> assignments;  // the leader: member id -> bytes
};

struct SyncResult {
  GroupResult result;
  std::string protocol_type;
  std::string protocol_name;
  std::string assignment;
};

// A member to remove (LeaveGroup): by member id, or by group instance id, or both.
struct LeavingMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string reason;
};

struct MemberDescription {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // for the selected protocol
  std::string assignment;
};

struct GroupDescription {
  std::string group_id;
  GroupState state = GroupState::kEmpty;
  std::string protocol_type;
  std::string protocol_name;
  int32_t generation = 0;
  std::vector<MemberDescription> members;
};

using JoinCallback = absl::AnyInvocable<void(JoinResult)>;
using SyncCallback = absl::AnyInvocable<void(SyncResult)>;

}  // namespace strata::consumer_offsets
