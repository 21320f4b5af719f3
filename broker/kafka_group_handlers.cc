// Kafka's consumer group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// ListGroups, DescribeGroups, OffsetCommit and OffsetFetch (docs/kafka.md#groups). Each one
// translates between Kafka's messages and consumer_offsets::GroupCoordinator, the same state
// machine the native protocol's groups use, so a group's members and offsets are one whichever
// protocol a member speaks.
#include "absl/strings/str_cat.h"
#include "broker/admin_ops.h"
#include "broker/await_callback.h"
#include "broker/kafka_handler.h"
#include "broker/request_handler.h"

namespace strata::broker {

namespace {

using consumer_offsets::GroupError;
using consumer_offsets::GroupResult;

// A coordinator's answer as Kafka's code. A stopping coordinator, or one that cannot make a
// commit durable, is "not available": the client finds the coordinator again and retries.
int16_t GroupCode(GroupError error) {
  if (error == GroupError::kShuttingDown || error == GroupError::kStorageError) {
    return static_cast<int16_t>(KafkaError::kCoordinatorNotAvailable);
  }
  return KafkaErrorCode(GroupErrorCode(error));
}

std::string AsString(const std::vector<std::byte>& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::vector<std::byte> AsBytes(const std::string& s) {
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return std::vector<std::byte>(p, p + s.size());
}

}  // namespace

asio::awaitable<KafkaResponse> KafkaHandler::FindCoordinator(
    const kafka::RequestHeader& h, const kafka::FindCoordinatorRequest& req) {
  kafka::FindCoordinatorResponse resp;
  resp.node_id = -1;
  if (req.key_type != 0) {
    resp.error_code = static_cast<int16_t>(KafkaError::kInvalidRequest);
    resp.error_message = "only group coordinators (key_type 0) exist: transactions are not served";
    co_return EncodeResponse(h, resp);
  }
  const CoordinatorLookup found = co_await LookUpCoordinator(s_, req.key);
  std::optional<HostPort> address;
  if (found.error.ok()) address = KafkaAddress(found.broker_id);
  if (!address.has_value()) {
    resp.error_code = found.error.ok()
                          ? static_cast<int16_t>(KafkaError::kCoordinatorNotAvailable)
                          : KafkaErrorCode(found.error.code);
    resp.error_message = found.error.ok()
                             ? absl::StrCat("the coordinator, broker ", found.broker_id,
                                            ", has no Kafka listener or just left; retry")
                             : found.error.message;
    co_return EncodeResponse(h, resp);
  }
  resp.node_id = found.broker_id;
  resp.host = address->host;
  resp.port = address->port;
  co_return EncodeResponse(h, resp);
}

asio::awaitable<KafkaResponse> KafkaHandler::JoinGroup(const kafka::RequestHeader& h,
                                                       const kafka::JoinGroupRequest& req,
                                                       const std::string& client_host) {
  consumer_offsets::JoinRequest join;
  join.member_id = req.member_id;
  join.group_instance_id = req.group_instance_id;
  join.client_id = h.client_id.value_or("");
  join.client_host = client_host;
  join.session_timeout_ms = req.session_timeout_ms;
  // v0 has no rebalance timeout: Kafka uses the session timeout.
  join.rebalance_timeout_ms =
      req.rebalance_timeout_ms >= 0 ? req.rebalance_timeout_ms : req.session_timeout_ms;
  join.protocol_type = req.protocol_type;
  // MEMBER_ID_REQUIRED (KIP-394) exists from v4; older clients get their id with the join.
  join.require_known_member_id = h.api_version >= 4;
  for (const auto& p : req.protocols) join.protocols.push_back({p.name, AsString(p.metadata)});
  auto* groups = s_.groups;
  const std::string* group = &req.group_id;
  consumer_offsets::JoinRequest* request = &join;
  consumer_offsets::JoinResult result = co_await AwaitCallback<consumer_offsets::JoinResult>(
      [groups, group, request](auto done) {
        groups->JoinGroup(*group, std::move(*request), std::move(done));
      });
  kafka::JoinGroupResponse resp;
  resp.error_code = GroupCode(result.result.error);
  resp.generation_id = result.generation;
  resp.protocol_name = result.protocol_name;
  resp.leader = result.leader_id;
  resp.member_id = result.member_id;
  for (const auto& m : result.members) {
    resp.members.push_back({m.member_id, m.group_instance_id, AsBytes(m.metadata)});
  }
  co_return EncodeResponse(h, resp);
}

asio::awaitable<KafkaResponse> KafkaHandler::SyncGroup(const kafka::RequestHeader& h,
                                                       const kafka::SyncGroupRequest& req) {
  consumer_offsets::SyncRequest sync;
  sync.member_id = req.member_id;
  sync.group_instance_id = req.group_instance_id;
  sync.generation = req.generation_id;
  for (const auto& a : req.assignments) {
    sync.assignments.emplace_back(a.member_id, AsString(a.assignment));
  }
  auto* groups = s_.groups;
  const std::string* group = &req.group_id;
  consumer_offsets::SyncRequest* request = &sync;
  consumer_offsets::SyncResult result = co_await AwaitCallback<consumer_offsets::SyncResult>(
      [groups, group, request](auto done) {
        groups->SyncGroup(*group, std::move(*request), std::move(done));
      });
  kafka::SyncGroupResponse resp;
  resp.error_code = GroupCode(result.result.error);
  resp.assignment = AsBytes(result.assignment);
  co_return EncodeResponse(h, resp);
}

KafkaResponse KafkaHandler::Heartbeat(const kafka::RequestHeader& h,
                                      const kafka::HeartbeatRequest& req) {
  const GroupResult result = s_.groups->Heartbeat(req.group_id, req.member_id,
                                                  req.group_instance_id, req.generation_id);
  kafka::HeartbeatResponse resp;
  resp.error_code = GroupCode(result.error);
  return EncodeResponse(h, resp);
}

KafkaResponse KafkaHandler::LeaveGroup(const kafka::RequestHeader& h,
                                       const kafka::LeaveGroupRequest& req) {
  std::vector<consumer_offsets::LeavingMember> leaving;
  if (h.api_version <= 2) {
    leaving.push_back({req.member_id, std::nullopt, ""});
  } else {
    for (const auto& m : req.members) leaving.push_back({m.member_id, m.group_instance_id, ""});
  }
  auto [group_result, results] = s_.groups->LeaveGroup(req.group_id, leaving);
  kafka::LeaveGroupResponse resp;
  resp.error_code = GroupCode(group_result.error);
  for (size_t i = 0; i < leaving.size() && i < results.size(); ++i) {
    if (h.api_version <= 2 && resp.error_code == 0) resp.error_code = GroupCode(results[i].error);
    resp.members.push_back(
        {leaving[i].member_id, leaving[i].group_instance_id, GroupCode(results[i].error)});
  }
  return EncodeResponse(h, resp);
}

KafkaResponse KafkaHandler::ListGroups(const kafka::RequestHeader& h,
                                       const kafka::ListGroupsRequest&) {
  kafka::ListGroupsResponse resp;
  for (const auto& g : s_.groups->ListGroups({})) {
    resp.groups.push_back({g.group_id, g.protocol_type});
  }
  return EncodeResponse(h, resp);
}

KafkaResponse KafkaHandler::DescribeGroups(const kafka::RequestHeader& h,
                                           const kafka::DescribeGroupsRequest& req) {
  kafka::DescribeGroupsResponse resp;
  for (const std::string& id : req.groups) {
    auto [result, d] = s_.groups->DescribeGroup(id);
    auto& g = resp.groups.emplace_back();
    g.group_id = id;
    if (result.error == GroupError::kGroupIdNotFound) {
      g.group_state = "Dead";  // Kafka's answer for a group it does not know, before v6
      continue;
    }
    g.error_code = GroupCode(result.error);
    if (!result.ok()) continue;
    g.group_state = consumer_offsets::GroupStateName(d.state);
    g.protocol_type = d.protocol_type;
    g.protocol_data = d.protocol_name;
    for (const auto& m : d.members) {
      g.members.push_back({m.member_id, m.group_instance_id, m.client_id, m.client_host,
                           AsBytes(m.metadata), AsBytes(m.assignment)});
    }
  }
  return EncodeResponse(h, resp);
}

asio::awaitable<KafkaResponse> KafkaHandler::OffsetCommit(const kafka::RequestHeader& h,
                                                          const kafka::OffsetCommitRequest& req) {
  std::vector<consumer_offsets::CommitEntry> entries;
  for (const auto& t : req.topics) {
    for (const auto& p : t.partitions) {
      entries.push_back({t.name, p.partition_index, p.committed_offset,
                         p.committed_metadata.value_or("")});
    }
  }
  auto* groups = s_.groups;
  struct Args {
    const std::string* group_id;
    const std::string* member_id;
    const std::optional<std::string>* instance;
    int32_t generation;
    std::vector<consumer_offsets::CommitEntry>* entries;
  } args{&req.group_id, &req.member_id, &req.group_instance_id, req.generation_id, &entries};
  consumer_offsets::CommitOutcome outcome =
      co_await AwaitCallback<consumer_offsets::CommitOutcome>([groups, args](auto done) {
        groups->CommitOffsets(*args.group_id, *args.member_id, *args.instance, args.generation,
                              std::move(*args.entries), std::move(done));
      });
  kafka::OffsetCommitResponse resp;
  size_t i = 0;
  for (const auto& t : req.topics) {
    auto& topic = resp.topics.emplace_back();
    topic.name = t.name;
    for (const auto& p : t.partitions) {
      const GroupResult& e = i < outcome.entries.size() && outcome.group.ok()
                                 ? outcome.entries[i]
                                 : outcome.group;
      ++i;
      topic.partitions.push_back({p.partition_index, GroupCode(e.error)});
    }
  }
  co_return EncodeResponse(h, resp);
}

KafkaResponse KafkaHandler::OffsetFetch(const kafka::RequestHeader& h,
                                        const kafka::OffsetFetchRequest& req) {
  std::optional<std::vector<consumer_offsets::TopicPartitionId>> wanted;
  if (req.topics.has_value()) {
    wanted.emplace();
    for (const auto& t : *req.topics) {
      for (int32_t p : t.partition_indexes) wanted->emplace_back(t.name, p);
    }
  }
  // Kafka's OffsetFetch before v7 names no member: any client may read a group's offsets.
  consumer_offsets::FetchOutcome outcome = s_.groups->FetchOffsets(req.group_id, "", -1, wanted);
  kafka::OffsetFetchResponse resp;
  resp.error_code = GroupCode(outcome.group.error);
  if (h.api_version < 2 && resp.error_code != 0 && req.topics.has_value()) {
    // No top-level error before v2: every partition asked carries it (as Kafka answers), so a
    // client that reads only partitions (kafka-python sends v1) sees the failure and retries
    // instead of taking "no offsets" and resetting its positions.
    for (const auto& t : *req.topics) {
      auto& topic = resp.topics.emplace_back();
      topic.name = t.name;
      for (int32_t index : t.partition_indexes) {
        auto& p = topic.partitions.emplace_back();
        p.partition_index = index;
        p.committed_offset = -1;
        p.metadata = std::string();
        p.error_code = resp.error_code;
      }
    }
    return EncodeResponse(h, resp);
  }
  for (const auto& o : outcome.offsets) {
    if (resp.topics.empty() || resp.topics.back().name != o.topic) {
      resp.topics.emplace_back().name = o.topic;
    }
    auto& p = resp.topics.back().partitions.emplace_back();
    p.partition_index = o.partition;
    p.committed_offset = o.value.has_value() ? o.value->offset : -1;
    p.metadata = o.value.has_value() ? o.value->metadata : std::string();
  }
  return EncodeResponse(h, resp);
}

}  // namespace strata::broker
