#include "client/group_requests.h"

#include "absl/strings/str_cat.h"
#include "client/error_status.h"
#include "protocol/groups_generated.h"
#include "protocol/message.h"
#include "protocol/offsets_generated.h"

namespace strata::client {

namespace fb = protocol::fb;

namespace {

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

std::string Bytes(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

flatbuffers::Offset<flatbuffers::String> OptString(flatbuffers::FlatBufferBuilder& b,
                                                   const std::optional<std::string>& s) {
  return s.has_value() ? b.CreateString(*s) : 0;
}

template <typename Table>
absl::StatusOr<const Table*> Parse(const Response& response, const char* what) {
  return protocol::VerifyBody<Table>(response.body, what);
}

template <typename Table>
void FillReply(GroupReply& reply, const Table* t) {
  reply.code = t->error_code();
  reply.message = Str(t->error_message());
}

}  // namespace

absl::Status GroupStatus(const GroupReply& reply, std::string_view context) {
  return ErrorToStatus(reply.code, reply.message, context);
}

absl::StatusOr<CoordinatorReply> FindCoordinatorCall(Connection& conn, const std::string& group) {
  flatbuffers::FlatBufferBuilder b;
  b.Finish(fb::CreateFindCoordinatorRequest(b, b.CreateString(group)));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn.Call(protocol::ApiKey::kFindCoordinator, protocol::BuilderBytes(b)));
  STRATA_ASSIGN_OR_RETURN(auto t, Parse<fb::FindCoordinatorResponse>(response,
                                                                     "FindCoordinatorResponse"));
  CoordinatorReply reply;
  FillReply(reply, t);
  reply.node_id = t->node_id();
  reply.host = Str(t->host());
  reply.port = t->port();
  return reply;
}

absl::StatusOr<JoinReply> JoinGroupCall(Connection& conn, const JoinParams& p,
                                        int64_t timeout_ms) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::JoinGroupProtocol>> protocols;
  for (const auto& [name, metadata] : p.protocols) {
    protocols.push_back(fb::CreateJoinGroupProtocol(
        b, b.CreateString(name),
        b.CreateVector(reinterpret_cast<const uint8_t*>(metadata.data()), metadata.size())));
  }
  b.Finish(fb::CreateJoinGroupRequest(
      b, b.CreateString(p.group_id), p.session_timeout_ms, p.rebalance_timeout_ms,
      b.CreateString(p.member_id), OptString(b, p.group_instance_id),
      b.CreateString(p.protocol_type), b.CreateVector(protocols), b.CreateString(p.client_id),
      b.CreateString(p.reason)));
  STRATA_ASSIGN_OR_RETURN(Response response, conn.Call(protocol::ApiKey::kJoinGroup,
                                                       protocol::BuilderBytes(b), timeout_ms));
  STRATA_ASSIGN_OR_RETURN(auto t, Parse<fb::JoinGroupResponse>(response, "JoinGroupResponse"));
  JoinReply reply;
  FillReply(reply, t);
  reply.generation = t->generation_id();
  reply.protocol_name = Str(t->protocol_name());
  reply.leader = Str(t->leader());
  reply.member_id = Str(t->member_id());
  reply.skip_assignment = t->skip_assignment();
  if (t->members() != nullptr) {
    for (const auto* m : *t->members()) {
      JoinedMember jm;
      jm.member_id = Str(m->member_id());
      if (m->group_instance_id() != nullptr) jm.group_instance_id = m->group_instance_id()->str();
      jm.metadata = Bytes(m->metadata());
      reply.members.push_back(std::move(jm));
    }
  }
  return reply;
}

absl::StatusOr<SyncReply> SyncGroupCall(
    Connection& conn, const std::string& group_id, const std::string& member_id,
    const std::optional<std::string>& group_instance_id, int32_t generation,
    const std::string& protocol_name,
    const std::vector<std::pair<std::string, std::string>>& assignments, int64_t timeout_ms) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::SyncGroupAssignment>> entries;
  for (const auto& [member, bytes] : assignments) {
    entries.push_back(fb::CreateSyncGroupAssignment(
        b, b.CreateString(member),
        b.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())));
  }
  b.Finish(fb::CreateSyncGroupRequest(b, b.CreateString(group_id), generation,
                                      b.CreateString(member_id), OptString(b, group_instance_id),
                                      b.CreateString("consumer"), b.CreateString(protocol_name),
                                      b.CreateVector(entries)));
  STRATA_ASSIGN_OR_RETURN(Response response, conn.Call(protocol::ApiKey::kSyncGroup,
                                                       protocol::BuilderBytes(b), timeout_ms));
  STRATA_ASSIGN_OR_RETURN(auto t, Parse<fb::SyncGroupResponse>(response, "SyncGroupResponse"));
  SyncReply reply;
  FillReply(reply, t);
  reply.assignment = Bytes(t->assignment());
  return reply;
}

absl::StatusOr<GroupReply> HeartbeatCall(Connection& conn, const std::string& group_id,
                                         const std::string& member_id,
                                         const std::optional<std::string>& group_instance_id,
                                         int32_t generation) {
  flatbuffers::FlatBufferBuilder b;
  b.Finish(fb::CreateHeartbeatRequest(b, b.CreateString(group_id), generation,
                                      b.CreateString(member_id), OptString(b, group_instance_id)));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn.Call(protocol::ApiKey::kHeartbeat, protocol::BuilderBytes(b)));
  STRATA_ASSIGN_OR_RETURN(auto t, Parse<fb::HeartbeatResponse>(response, "HeartbeatResponse"));
  GroupReply reply;
  FillReply(reply, t);
  return reply;
}

absl::StatusOr<GroupReply> LeaveGroupCall(Connection& conn, const std::string& group_id,
                                          const std::string& member_id,
                                          const std::optional<std::string>& group_instance_id,
                                          const std::string& reason) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::LeaveGroupMember>> members{fb::CreateLeaveGroupMember(
      b, b.CreateString(member_id), OptString(b, group_instance_id), b.CreateString(reason))};
  b.Finish(fb::CreateLeaveGroupRequest(b, b.CreateString(group_id), b.CreateVector(members)));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn.Call(protocol::ApiKey::kLeaveGroup, protocol::BuilderBytes(b)));
  STRATA_ASSIGN_OR_RETURN(auto t, Parse<fb::LeaveGroupResponse>(response, "LeaveGroupResponse"));
  GroupReply reply;
  FillReply(reply, t);
  if (reply.ok() && t->members() != nullptr && t->members()->size() > 0) {
    FillReply(reply, t->members()->Get(0));
  }
  return reply;
}

absl::StatusOr<CommitReply> OffsetCommitCall(Connection& conn, const std::string& group_id,
                                             const std::string& member_id,
                                             const std::optional<std::string>& group_instance_id,
                                             int32_t generation,
                                             const std::map<TopicPartition, OffsetToCommit>& offsets) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::OffsetCommitTopic>> topics;
  for (auto it = offsets.begin(); it != offsets.end();) {
    const std::string& topic = it->first.topic;
    std::vector<flatbuffers::Offset<fb::OffsetCommitPartition>> parts;
    for (; it != offsets.end() && it->first.topic == topic; ++it) {
      parts.push_back(fb::CreateOffsetCommitPartition(b, it->first.partition, it->second.offset,
                                                      b.CreateString(it->second.metadata)));
    }
    topics.push_back(
        fb::CreateOffsetCommitTopic(b, b.CreateString(topic), b.CreateVector(parts)));
  }
  b.Finish(fb::CreateOffsetCommitRequest(b, b.CreateString(group_id), generation,
                                         b.CreateString(member_id),
                                         OptString(b, group_instance_id), b.CreateVector(topics)));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn.Call(protocol::ApiKey::kOffsetCommit, protocol::BuilderBytes(b)));
  STRATA_ASSIGN_OR_RETURN(auto t,
                          Parse<fb::OffsetCommitResponse>(response, "OffsetCommitResponse"));
  CommitReply reply;
  FillReply(reply, t);
  if (t->topics() != nullptr) {
    for (const auto* topic : *t->topics()) {
      if (topic->partitions() == nullptr) continue;
      for (const auto* p : *topic->partitions()) {
        GroupReply& r = reply.partitions[TopicPartition{Str(topic->name()), p->index()}];
        FillReply(r, p);
      }
    }
  }
  return reply;
}

absl::StatusOr<OffsetFetchReply> OffsetFetchCall(
    Connection& conn, const std::string& group_id, const std::string& member_id,
    int32_t generation, const std::optional<std::vector<TopicPartition>>& partitions) {
  flatbuffers::FlatBufferBuilder b;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::OffsetFetchTopic>>> topics = 0;
  if (partitions.has_value()) {
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& tp : *partitions) by_topic[tp.topic].push_back(tp.partition);
    std::vector<flatbuffers::Offset<fb::OffsetFetchTopic>> list;
    for (const auto& [topic, parts] : by_topic) {
      list.push_back(
          fb::CreateOffsetFetchTopic(b, b.CreateString(topic), b.CreateVector(parts)));
    }
    topics = b.CreateVector(list);
  }
  b.Finish(fb::CreateOffsetFetchRequest(b, b.CreateString(group_id), b.CreateString(member_id),
                                        generation, topics));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn.Call(protocol::ApiKey::kOffsetFetch, protocol::BuilderBytes(b)));
  STRATA_ASSIGN_OR_RETURN(auto t, Parse<fb::OffsetFetchResponse>(response, "OffsetFetchResponse"));
  OffsetFetchReply reply;
  FillReply(reply, t);
  if (t->topics() != nullptr) {
    for (const auto* topic : *t->topics()) {
      if (topic->partitions() == nullptr) continue;
      for (const auto* p : *topic->partitions()) {
        CommittedOffset c;
        c.offset = p->committed_offset();
        c.metadata = Str(p->committed_metadata());
        c.commit_timestamp_ms = p->commit_timestamp_ms();
        reply.offsets[TopicPartition{Str(topic->name()), p->index()}] = std::move(c);
      }
    }
  }
  return reply;
}

}  // namespace strata::client
