// The consumer-group requests of the native protocol (protocol/schemas/groups.fbs, offsets.fbs)
// as blocking calls on one Connection, shared by GroupConsumer and Admin.
//
// A call fails (the StatusOr) only when no usable answer came back: the connection broke, the
// broker timed out, the body did not verify. An answer that carries an error code is a success
// whose `code` says what the group coordinator decided, because the caller's next step depends on
// the exact code (rejoin, take the member id it was given, find the coordinator again...), which
// an absl::Status would blur. GroupStatus() turns a code into a status when the caller just
// reports it.
//
// Plain functions; the Connection is not thread-safe, so callers serialise per connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.h"
#include "client/types.h"
#include "common/status.h"
#include "protocol/errors_generated.h"

namespace strata::client {

struct GroupReply {
  protocol::fb::ErrorCode code = protocol::fb::ErrorCode::NONE;
  std::string message;
  bool ok() const { return code == protocol::fb::ErrorCode::NONE; }
};

// `code` as a status for a caller that only reports it ("<context>: <message> (<CODE>)").
absl::Status GroupStatus(const GroupReply& reply, std::string_view context);

struct CoordinatorReply : GroupReply {
  int32_t node_id = -1;
  std::string host;
  uint16_t port = 0;
  std::string address() const { return host + ":" + std::to_string(port); }
};
absl::StatusOr<CoordinatorReply> FindCoordinatorCall(Connection& conn, const std::string& group);

struct JoinParams {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  int32_t session_timeout_ms = 45'000;
  int32_t rebalance_timeout_ms = 300'000;
  std::string protocol_type = "consumer";
  std::vector<std::pair<std::string, std::string>> protocols;  // name -> metadata bytes
  std::string reason;
};

struct JoinedMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string metadata;
};

struct JoinReply : GroupReply {
  int32_t generation = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  bool skip_assignment = false;
  std::vector<JoinedMember> members;
};
// Waits up to `timeout_ms` (a JoinGroup waits for the whole group to rejoin).
absl::StatusOr<JoinReply> JoinGroupCall(Connection& conn, const JoinParams& params,
                                        int64_t timeout_ms);

struct SyncReply : GroupReply {
  std::string assignment;
};
absl::StatusOr<SyncReply> SyncGroupCall(
    Connection& conn, const std::string& group_id, const std::string& member_id,
    const std::optional<std::string>& group_instance_id, int32_t generation,
    const std::string& protocol_name,
    const std::vector<std::pair<std::string, std::string>>& assignments, int64_t timeout_ms);

absl::StatusOr<GroupReply> HeartbeatCall(Connection& conn, const std::string& group_id,
                                         const std::string& member_id,
                                         const std::optional<std::string>& group_instance_id,
                                         int32_t generation);

// The reply of the one member leaving (a group-level error comes back as its code too).
absl::StatusOr<GroupReply> LeaveGroupCall(Connection& conn, const std::string& group_id,
                                          const std::string& member_id,
                                          const std::optional<std::string>& group_instance_id,
                                          const std::string& reason);

struct OffsetToCommit {
  int64_t offset = 0;
  std::string metadata;
};

struct CommitReply : GroupReply {  // the group-level code; per partition below
  std::map<TopicPartition, GroupReply> partitions;
};
// generation -1 and an empty member id: an admin commit for a group without members.
absl::StatusOr<CommitReply> OffsetCommitCall(Connection& conn, const std::string& group_id,
                                             const std::string& member_id,
                                             const std::optional<std::string>& group_instance_id,
                                             int32_t generation,
                                             const std::map<TopicPartition, OffsetToCommit>& offsets);

struct CommittedOffset {
  int64_t offset = -1;  // -1: nothing committed
  std::string metadata;
  int64_t commit_timestamp_ms = -1;
};
struct OffsetFetchReply : GroupReply {
  std::map<TopicPartition, CommittedOffset> offsets;
};
// `partitions` nullopt: every partition the group has committed. An empty member_id reads
// without a membership check (admin tools).
absl::StatusOr<OffsetFetchReply> OffsetFetchCall(
    Connection& conn, const std::string& group_id, const std::string& member_id,
    int32_t generation, const std::optional<std::vector<TopicPartition>>& partitions);

}  // namespace strata::client
