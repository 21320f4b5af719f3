// The consumer-group membership APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, ListGroups, DescribeGroups and DeleteGroups (docs/consumer-groups.md). Each one
// translates between the wire tables of groups.fbs and consumer_offsets::GroupCoordinator, which
// holds the state machine; JoinGroup, SyncGroup and DeleteGroups may wait (for other members, for
// an fsync) without holding the connection's strand.
#include "absl/strings/str_cat.h"
#include "broker/admin_ops.h"
#include "broker/await_callback.h"
#include "cluster/member.h"
#include "broker/request_handler.h"
#include "protocol/groups_generated.h"
#include "protocol/message.h"
#include "protocol/request_size.h"

namespace strata::broker {

namespace fb = protocol::fb;
using consumer_offsets::GroupError;
using consumer_offsets::GroupResult;

fb::ErrorCode GroupErrorCode(GroupError error) {
  switch (error) {
    case GroupError::kNone: return fb::ErrorCode::NONE;
    case GroupError::kCoordinatorNotAvailable: return fb::ErrorCode::COORDINATOR_NOT_AVAILABLE;
    case GroupError::kIllegalGeneration: return fb::ErrorCode::ILLEGAL_GENERATION;
    case GroupError::kUnknownMemberId: return fb::ErrorCode::UNKNOWN_MEMBER_ID;
    case GroupError::kRebalanceInProgress: return fb::ErrorCode::REBALANCE_IN_PROGRESS;
    case GroupError::kInconsistentGroupProtocol:
      return fb::ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
    case GroupError::kInvalidSessionTimeout: return fb::ErrorCode::INVALID_SESSION_TIMEOUT;
    case GroupError::kMemberIdRequired: return fb::ErrorCode::MEMBER_ID_REQUIRED;
    case GroupError::kFencedInstanceId: return fb::ErrorCode::FENCED_INSTANCE_ID;
    case GroupError::kInvalidGroupId: return fb::ErrorCode::INVALID_GROUP_ID;
    case GroupError::kGroupIdNotFound: return fb::ErrorCode::GROUP_ID_NOT_FOUND;
    case GroupError::kNonEmptyGroup: return fb::ErrorCode::NON_EMPTY_GROUP;
    case GroupError::kOffsetMetadataTooLarge: return fb::ErrorCode::OFFSET_METADATA_TOO_LARGE;
    case GroupError::kGroupMaxSizeReached: return fb::ErrorCode::GROUP_MAX_SIZE_REACHED;
    case GroupError::kUnknownTopicOrPartition: return fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
    case GroupError::kInvalidRequest: return fb::ErrorCode::INVALID_REQUEST;
    case GroupError::kStorageError: return fb::ErrorCode::STORAGE_ERROR;
    case GroupError::kShuttingDown: return fb::ErrorCode::SHUTTING_DOWN;
    case GroupError::kNotCoordinator: return fb::ErrorCode::NOT_COORDINATOR;
  }
  return fb::ErrorCode::UNKNOWN;
}

namespace {

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

std::optional<std::string> OptStr(const flatbuffers::String* s) {
  if (s == nullptr) return std::nullopt;
  return s->str();
}

std::string Bytes(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> ToVector(flatbuffers::FlatBufferBuilder& b,
                                                            const std::string& bytes) {
  return b.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

flatbuffers::Offset<flatbuffers::String> OptString(flatbuffers::FlatBufferBuilder& b,
                                                   const std::optional<std::string>& s) {
  return s.has_value() ? b.CreateString(*s) : 0;
}

flatbuffers::Offset<flatbuffers::String> Message(flatbuffers::FlatBufferBuilder& b,
                                                 const GroupResult& r) {
  return r.ok() ? 0 : b.CreateString(r.message);
}

}  // namespace

asio::awaitable<Response> RequestHandler::FindCoordinator(const protocol::Frame& frame,
                                                          const fb::FindCoordinatorRequest* req) {
  const CoordinatorLookup found = co_await LookUpCoordinator(s_, Str(req->key()));
  ResponseBuilder b;
  // The coordinator's native address: this broker's, or the one it registered in the cluster.
  std::optional<HostPort> address;
  if (found.error.ok()) {
    if (s_.cluster == nullptr) {
      address = s_.advertised;
    } else if (auto view = s_.cluster->view(); view->brokers.contains(found.broker_id)) {
      const auto& broker = view->brokers.at(found.broker_id);
      address = HostPort{broker.host, broker.port};
    }
  }
  if (!address.has_value()) {
    const Error error = found.error.ok()
                            ? Error{fb::ErrorCode::COORDINATOR_NOT_AVAILABLE,
                                    "the coordinator just left the cluster; retry"}
                            : found.error;
    b.Finish(fb::CreateFindCoordinatorResponse(b, error.code, b.CreateString(error.message)));
    co_return FinishResponse(frame, b, true);
  }
  b.Finish(fb::CreateFindCoordinatorResponse(b, fb::ErrorCode::NONE, 0, found.broker_id,
                                             b.CreateString(address->host), address->port));
  co_return FinishResponse(frame, b, false);
}

asio::awaitable<Response> RequestHandler::JoinGroup(const protocol::Frame& frame, const fb::JoinGroupRequest* req,
                                                    const std::string& client_host) {
  const auto* r = req;
  consumer_offsets::JoinRequest join;
  join.member_id = Str(r->member_id());
  join.group_instance_id = OptStr(r->group_instance_id());
  join.client_id = Str(r->client_id());
  join.client_host = client_host;
  join.session_timeout_ms = r->session_timeout_ms();
  join.rebalance_timeout_ms = r->rebalance_timeout_ms();
  join.protocol_type = Str(r->protocol_type());
  join.reason = Str(r->reason());
  if (r->protocols() != nullptr) {
    for (const auto* p : *r->protocols()) {
      join.protocols.push_back({Str(p->name()), Bytes(p->metadata())});
    }
  }
  const std::string group_id = Str(r->group_id());
  auto* groups = s_.groups;
  const std::string* group = &group_id;
  consumer_offsets::JoinRequest* request = &join;
  consumer_offsets::JoinResult result = co_await AwaitCallback<consumer_offsets::JoinResult>(
      [groups, group, request](auto done) {
        groups->JoinGroup(*group, std::move(*request), std::move(done));
      });

  ResponseBuilder b;
  std::vector<flatbuffers::Offset<fb::JoinGroupMember>> members;
  for (const auto& m : result.members) {
    members.push_back(fb::CreateJoinGroupMember(b, b.CreateString(m.member_id),
                                                OptString(b, m.group_instance_id),
                                                ToVector(b, m.metadata)));
  }
  b.Finish(fb::CreateJoinGroupResponse(
      b, GroupErrorCode(result.result.error), Message(b, result.result), result.generation,
      b.CreateString(result.protocol_type), b.CreateString(result.protocol_name),
      b.CreateString(result.leader_id), result.skip_assignment, b.CreateString(result.member_id),
      b.CreateVector(members)));
  co_return FinishResponse(frame, b, !result.result.ok());
}

asio::awaitable<Response> RequestHandler::SyncGroup(const protocol::Frame& frame, const fb::SyncGroupRequest* req) {
  const auto* r = req;
  consumer_offsets::SyncRequest sync;
  sync.member_id = Str(r->member_id());
  sync.group_instance_id = OptStr(r->group_instance_id());
  sync.generation = r->generation_id();
  sync.protocol_type = Str(r->protocol_type());
  sync.protocol_name = Str(r->protocol_name());
  if (r->assignments() != nullptr) {
    for (const auto* a : *r->assignments()) {
      sync.assignments.emplace_back(Str(a->member_id()), Bytes(a->assignment()));
    }
  }
  const std::string group_id = Str(r->group_id());
  auto* groups = s_.groups;
  const std::string* group = &group_id;
  consumer_offsets::SyncRequest* request = &sync;
  consumer_offsets::SyncResult result = co_await AwaitCallback<consumer_offsets::SyncResult>(
      [groups, group, request](auto done) {
        groups->SyncGroup(*group, std::move(*request), std::move(done));
      });
  ResponseBuilder b;
  b.Finish(fb::CreateSyncGroupResponse(b, GroupErrorCode(result.result.error),
                                       Message(b, result.result),
                                       b.CreateString(result.protocol_type),
                                       b.CreateString(result.protocol_name),
                                       ToVector(b, result.assignment)));
  co_return FinishResponse(frame, b, !result.result.ok());
}

Response RequestHandler::Heartbeat(const protocol::Frame& frame, const fb::HeartbeatRequest* req) {
  const auto* r = req;
  const GroupResult result =
      s_.groups->Heartbeat(Str(r->group_id()), Str(r->member_id()),
                           OptStr(r->group_instance_id()), r->generation_id());
  ResponseBuilder b;
  b.Finish(fb::CreateHeartbeatResponse(b, GroupErrorCode(result.error), Message(b, result)));
  return FinishResponse(frame, b, !result.ok());
}

Response RequestHandler::LeaveGroup(const protocol::Frame& frame, const fb::LeaveGroupRequest* req) {
  const auto* r = req;
  std::vector<consumer_offsets::LeavingMember> leaving;
  if (r->members() != nullptr) {
    for (const auto* m : *r->members()) {
      leaving.push_back({Str(m->member_id()), OptStr(m->group_instance_id()), Str(m->reason())});
    }
  }
  auto [group_result, results] = s_.groups->LeaveGroup(Str(r->group_id()), leaving);
  ResponseBuilder b;
  bool has_error = !group_result.ok();
  std::vector<flatbuffers::Offset<fb::LeaveGroupMemberResponse>> members;
  for (size_t i = 0; i < leaving.size() && i < results.size(); ++i) {
    has_error |= !results[i].ok();
    members.push_back(fb::CreateLeaveGroupMemberResponse(
        b, b.CreateString(leaving[i].member_id), OptString(b, leaving[i].group_instance_id),
        GroupErrorCode(results[i].error), Message(b, results[i])));
  }
  b.Finish(fb::CreateLeaveGroupResponse(b, GroupErrorCode(group_result.error),
                                        Message(b, group_result), b.CreateVector(members)));
  return FinishResponse(frame, b, has_error);
}

Response RequestHandler::ListGroups(const protocol::Frame& frame, const fb::ListGroupsRequest* req) {
  std::vector<consumer_offsets::GroupState> states;
  if (req->states_filter() != nullptr) {
    for (const auto* s : *req->states_filter()) {
      auto state = consumer_offsets::ParseGroupState(Str(s));
      if (!state.has_value()) {
        return ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST,
                          absl::StrCat("unknown group state '", Str(s),
                                       "' (Empty, PreparingRebalance, CompletingRebalance, "
                                       "Stable)"));
      }
      states.push_back(*state);
    }
  }
  ResponseBuilder b;
  std::vector<flatbuffers::Offset<fb::ListedGroup>> groups;
  for (const auto& g : s_.groups->ListGroups(states)) {
    groups.push_back(fb::CreateListedGroup(b, b.CreateString(g.group_id),
                                           b.CreateString(g.protocol_type),
                                           b.CreateString(consumer_offsets::GroupStateName(g.state))));
  }
  b.Finish(fb::CreateListGroupsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(groups)));
  return FinishResponse(frame, b, false);
}

Response RequestHandler::DescribeGroups(const protocol::Frame& frame, const fb::DescribeGroupsRequest* req) {
  ResponseBuilder b;
  bool has_error = false;
  std::vector<flatbuffers::Offset<fb::DescribedGroup>> groups;
  if (req->groups() != nullptr) {
    for (const auto* g : *req->groups()) {
      auto [result, d] = s_.groups->DescribeGroup(Str(g));
      has_error |= !result.ok();
      std::vector<flatbuffers::Offset<fb::DescribedMember>> members;
      for (const auto& m : d.members) {
        members.push_back(fb::CreateDescribedMember(
            b, b.CreateString(m.member_id), OptString(b, m.group_instance_id),
            b.CreateString(m.client_id), b.CreateString(m.client_host), ToVector(b, m.metadata),
            ToVector(b, m.assignment)));
      }
      groups.push_back(fb::CreateDescribedGroup(
          b, GroupErrorCode(result.error), Message(b, result), b.CreateString(Str(g)),
          b.CreateString(consumer_offsets::GroupStateName(d.state)),
          b.CreateString(d.protocol_type), b.CreateString(d.protocol_name), d.generation,
          b.CreateVector(members)));
    }
  }
  b.Finish(fb::CreateDescribeGroupsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(groups)));
  return FinishResponse(frame, b, has_error);
}

asio::awaitable<Response> RequestHandler::DeleteGroups(const protocol::Frame& frame, const fb::DeleteGroupsRequest* req) {
  std::vector<std::string> ids;
  if (req->groups() != nullptr) {
    for (const auto* g : *req->groups()) ids.push_back(Str(g));
  }
  auto* groups = s_.groups;
  const std::vector<std::string>* wanted = &ids;
  std::vector<GroupResult> results = co_await AwaitCallback<std::vector<GroupResult>>(
      [groups, wanted](auto done) { groups->DeleteGroups(*wanted, std::move(done)); });
  ResponseBuilder b;
  bool has_error = false;
  std::vector<flatbuffers::Offset<fb::DeletedGroup>> out;
  for (size_t i = 0; i < ids.size() && i < results.size(); ++i) {
    has_error |= !results[i].ok();
    out.push_back(fb::CreateDeletedGroup(b, b.CreateString(ids[i]),
                                         GroupErrorCode(results[i].error),
                                         Message(b, results[i])));
  }
  b.Finish(fb::CreateDeleteGroupsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(out)));
  co_return FinishResponse(frame, b, has_error);
}

}  // namespace strata::broker
