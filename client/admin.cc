#include "client/admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/consumer_protocol.h"
#include "client/error_status.h"
#include "protocol/groups_generated.h"
#include "protocol/configs_generated.h"
#include "protocol/topics_generated.h"

namespace strata::client {

namespace fb = protocol::fb;

namespace {

std::vector<flatbuffers::Offset<fb::ConfigEntry>> Entries(flatbuffers::FlatBufferBuilder& fbb,
                                                          const ConfigList& configs) {
  std::vector<flatbuffers::Offset<fb::ConfigEntry>> out;
  for (const auto& [k, v] : configs) out.push_back(fb::CreateConfigEntryDirect(fbb, k.c_str(), v.c_str()));
  return out;
}

// The result for `name` in a list of TopicResult; DataLoss if the broker left it out.
absl::Status TopicResultStatus(const flatbuffers::Vector<flatbuffers::Offset<fb::TopicResult>>* results,
                               const std::string& name, std::string_view context) {
  if (results != nullptr) {
    for (const fb::TopicResult* r : *results) {
      if (r->name() != nullptr && r->name()->string_view() == name) {
        return ErrorToStatus(r->error_code(), r->error_message(), context);
      }
    }
  }
  return absl::DataLossError(
      absl::StrCat(std::string(context), ": the broker's answer does not mention topic '", name, "'"));
}

}  // namespace

namespace {
ClusterClientOptions ClusterOptions(const std::string& bootstrap, const ConnectionOptions& options) {
  ClusterClientOptions out;
  out.bootstrap = bootstrap;
  out.connection = options;
  return out;
}
}  // namespace

Admin::Admin(std::string bootstrap, ConnectionOptions options)
    : bootstrap_(std::move(bootstrap)),
      options_(std::move(options)),
      cluster_(ClusterOptions(bootstrap_, options_)) {}

absl::StatusOr<std::unique_ptr<Admin>> Admin::Connect(std::string_view bootstrap,
                                                      ConnectionOptions options) {
  if (options.client_software_name == ConnectionOptions().client_software_name) {
    options.client_software_name = "strata-cpp-admin";
  }
  std::unique_ptr<Admin> admin(new Admin(std::string(bootstrap), std::move(options)));
  STRATA_RETURN_IF_ERROR(admin->Conn().status());
  return admin;
}

absl::StatusOr<Connection*> Admin::Conn() { return cluster_.Any(); }

absl::Status Admin::CreateTopic(const NewTopic& topic, bool validate_only) {
  const std::string& name = topic.name;
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  flatbuffers::FlatBufferBuilder fbb;
  auto entries = Entries(fbb, topic.configs);
  std::vector<flatbuffers::Offset<fb::CreatableTopic>> topics{fb::CreateCreatableTopicDirect(
      fbb, name.c_str(), topic.partitions, &entries, topic.replication_factor,
      topic.min_insync_replicas)};
  fbb.Finish(fb::CreateCreateTopicsRequestDirect(fbb, &topics, validate_only));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn->Call(protocol::ApiKey::kCreateTopics, protocol::BuilderBytes(fbb)));
  const std::string context = absl::StrCat("creating topic '", name, "'");
  STRATA_ASSIGN_OR_RETURN(const fb::CreateTopicsResponse* body,
                          CheckResponse<fb::CreateTopicsResponse>(
                              response.body, "CreateTopicsResponse", context));
  return TopicResultStatus(body->topics(), name, context);
}

absl::Status Admin::DeleteTopic(const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<flatbuffers::String>> names{fbb.CreateString(name)};
  fbb.Finish(fb::CreateDeleteTopicsRequestDirect(fbb, &names));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn->Call(protocol::ApiKey::kDeleteTopics, protocol::BuilderBytes(fbb)));
  const std::string context = absl::StrCat("deleting topic '", name, "'");
  STRATA_ASSIGN_OR_RETURN(const fb::DeleteTopicsResponse* body,
                          CheckResponse<fb::DeleteTopicsResponse>(
                              response.body, "DeleteTopicsResponse", context));
  return TopicResultStatus(body->topics(), name, context);
}

absl::StatusOr<ClusterStatus> Admin::DescribeCluster(int32_t issues_max) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  return client::DescribeCluster(*conn, issues_max);
}

absl::StatusOr<ClusterMetadata> Admin::Metadata(const std::vector<std::string>& topics) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  return FetchMetadata(*conn, topics);
}

absl::StatusOr<std::vector<std::string>> Admin::ListTopics() {
  STRATA_ASSIGN_OR_RETURN(ClusterMetadata md, Metadata({}));
  std::vector<std::string> names;
  for (const TopicInfo& t : md.topics) names.push_back(t.name);
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<TopicInfo> Admin::DescribeTopic(const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  return FetchTopicMetadata(*conn, name);
}

absl::StatusOr<ConfigList> Admin::DescribeConfigs(const std::string& name) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<flatbuffers::String>> names{fbb.CreateString(name)};
  fbb.Finish(fb::CreateDescribeConfigsRequestDirect(fbb, &names));
  STRATA_ASSIGN_OR_RETURN(Response response, conn->Call(protocol::ApiKey::kDescribeConfigs,
                                                        protocol::BuilderBytes(fbb)));
  const std::string context = absl::StrCat("describing the config of topic '", name, "'");
  STRATA_ASSIGN_OR_RETURN(const fb::DescribeConfigsResponse* body,
                          CheckResponse<fb::DescribeConfigsResponse>(
                              response.body, "DescribeConfigsResponse", context));
  if (body->topics() != nullptr) {
    for (const fb::DescribedTopicConfig* t : *body->topics()) {
      if (t->name() == nullptr || t->name()->string_view() != name) continue;
      STRATA_RETURN_IF_ERROR(ErrorToStatus(t->error_code(), t->error_message(), context));
      ConfigList out;
      if (t->configs() != nullptr) {
        for (const fb::ConfigEntry* e : *t->configs()) {
          out.emplace_back(e->key() ? e->key()->str() : "", e->value() ? e->value()->str() : "");
        }
      }
      return out;
    }
  }
  return absl::DataLossError(
      absl::StrCat(std::string(context), ": the broker's answer does not mention the topic"));
}

absl::Status Admin::AlterConfigs(const std::string& name, const ConfigList& configs,
                                 bool validate_only) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  flatbuffers::FlatBufferBuilder fbb;
  auto entries = Entries(fbb, configs);
  std::vector<flatbuffers::Offset<fb::AlterTopicConfig>> topics{
      fb::CreateAlterTopicConfigDirect(fbb, name.c_str(), &entries)};
  fbb.Finish(fb::CreateAlterConfigsRequestDirect(fbb, &topics, validate_only));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn->Call(protocol::ApiKey::kAlterConfigs, protocol::BuilderBytes(fbb)));
  const std::string context = absl::StrCat("altering the config of topic '", name, "'");
  STRATA_ASSIGN_OR_RETURN(const fb::AlterConfigsResponse* body,
                          CheckResponse<fb::AlterConfigsResponse>(
                              response.body, "AlterConfigsResponse", context));
  return TopicResultStatus(body->topics(), name, context);
}

absl::StatusOr<std::vector<PartitionOffset>> Admin::ListOffsets(const std::string& topic,
                                                                std::vector<int32_t> partitions,
                                                                int64_t timestamp_ms) {
  STRATA_ASSIGN_OR_RETURN(ClusterMetadata md, cluster_.Refresh({topic}));
  STRATA_ASSIGN_OR_RETURN(TopicInfo info, TopicFrom(md, topic));
  if (partitions.empty()) {
    for (const PartitionInfo& p : info.partitions) partitions.push_back(p.index);
  }
  return cluster_.ListOffsets(topic, partitions, timestamp_ms);
}

absl::StatusOr<Connection*> Admin::GroupConn(const std::string& group) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  STRATA_ASSIGN_OR_RETURN(CoordinatorReply found, FindCoordinatorCall(*conn, group));
  STRATA_RETURN_IF_ERROR(
      GroupStatus(found, absl::StrCat("finding the coordinator of group '", group, "'")));
  auto hp = ParseHostPort(conn->address());
  if (hp.ok() && hp->host == found.host && hp->port == found.port) return conn;
  const std::string address = FormatAddress(found.host, found.port);
  if (group_conn_ == nullptr || !group_conn_->ok() || group_conn_address_ != address) {
    group_conn_.reset();
    STRATA_ASSIGN_OR_RETURN(group_conn_, Connection::Connect(address, options_));
    group_conn_address_ = address;
  }
  return group_conn_.get();
}

absl::StatusOr<std::vector<GroupListing>> Admin::ListGroups() {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::CreateListGroupsRequest(fbb));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn->Call(protocol::ApiKey::kListGroups, protocol::BuilderBytes(fbb)));
  STRATA_ASSIGN_OR_RETURN(const fb::ListGroupsResponse* body,
                          CheckResponse<fb::ListGroupsResponse>(response.body, "ListGroupsResponse",
                                                                "listing groups"));
  std::vector<GroupListing> out;
  if (body->groups() != nullptr) {
    for (const auto* g : *body->groups()) {
      out.push_back({g->group_id() ? g->group_id()->str() : "",
                     g->protocol_type() ? g->protocol_type()->str() : "",
                     g->state() ? g->state()->str() : ""});
    }
  }
  return out;
}

absl::StatusOr<GroupInfo> Admin::DescribeGroup(const std::string& group) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, GroupConn(group));
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<flatbuffers::String>> names{fbb.CreateString(group)};
  fbb.Finish(fb::CreateDescribeGroupsRequest(fbb, fbb.CreateVector(names)));
  STRATA_ASSIGN_OR_RETURN(Response response, conn->Call(protocol::ApiKey::kDescribeGroups,
                                                        protocol::BuilderBytes(fbb)));
  const std::string context = absl::StrCat("describing group '", group, "'");
  STRATA_ASSIGN_OR_RETURN(const fb::DescribeGroupsResponse* body,
                          CheckResponse<fb::DescribeGroupsResponse>(
                              response.body, "DescribeGroupsResponse", context));
  if (body->groups() == nullptr || body->groups()->size() != 1) {
    return absl::DataLossError(absl::StrCat(context, ": the broker's answer lists no group"));
  }
  const fb::DescribedGroup* g = body->groups()->Get(0);
  STRATA_RETURN_IF_ERROR(ErrorToStatus(g->error_code(), g->error_message(), context));
  auto str = [](const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); };
  GroupInfo info;
  info.group_id = group;
  info.state = str(g->state());
  info.protocol_type = str(g->protocol_type());
  info.protocol_name = str(g->protocol_name());
  info.generation = g->generation_id();
  if (g->members() != nullptr) {
    for (const auto* m : *g->members()) {
      GroupMemberInfo member;
      member.member_id = str(m->member_id());
      if (m->group_instance_id() != nullptr) member.group_instance_id = m->group_instance_id()->str();
      member.client_id = str(m->client_id());
      member.client_host = str(m->client_host());
      if (info.protocol_type == "consumer" && m->assignment() != nullptr) {
        auto a = DecodeAssignment(
            {reinterpret_cast<const std::byte*>(m->assignment()->data()), m->assignment()->size()});
        if (a.ok()) member.assignment = std::move(a->partitions);
      }
      info.members.push_back(std::move(member));
    }
  }
  return info;
}

absl::Status Admin::DeleteGroup(const std::string& group) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, GroupConn(group));
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<flatbuffers::String>> names{fbb.CreateString(group)};
  fbb.Finish(fb::CreateDeleteGroupsRequest(fbb, fbb.CreateVector(names)));
  STRATA_ASSIGN_OR_RETURN(Response response,
                          conn->Call(protocol::ApiKey::kDeleteGroups, protocol::BuilderBytes(fbb)));
  const std::string context = absl::StrCat("deleting group '", group, "'");
  STRATA_ASSIGN_OR_RETURN(const fb::DeleteGroupsResponse* body,
                          CheckResponse<fb::DeleteGroupsResponse>(response.body,
                                                                  "DeleteGroupsResponse", context));
  if (body->results() == nullptr || body->results()->size() != 1) {
    return absl::DataLossError(absl::StrCat(context, ": the broker's answer lists no group"));
  }
  const fb::DeletedGroup* r = body->results()->Get(0);
  return ErrorToStatus(r->error_code(), r->error_message(), context);
}

absl::StatusOr<std::map<TopicPartition, CommittedOffset>> Admin::GroupOffsets(
    const std::string& group) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, GroupConn(group));
  STRATA_ASSIGN_OR_RETURN(OffsetFetchReply reply,
                          OffsetFetchCall(*conn, group, "", -1, std::nullopt));
  STRATA_RETURN_IF_ERROR(
      GroupStatus(reply, absl::StrCat("reading the offsets of group '", group, "'")));
  return std::move(reply.offsets);
}

absl::Status Admin::CommitGroupOffsets(const std::string& group,
                                       const std::map<TopicPartition, int64_t>& offsets) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, GroupConn(group));
  std::map<TopicPartition, OffsetToCommit> request;
  for (const auto& [tp, offset] : offsets) request[tp] = OffsetToCommit{offset, ""};
  STRATA_ASSIGN_OR_RETURN(CommitReply reply,
                          OffsetCommitCall(*conn, group, "", std::nullopt, -1, request));
  const std::string context = absl::StrCat("committing offsets of group '", group, "'");
  STRATA_RETURN_IF_ERROR(GroupStatus(reply, context));
  for (const auto& [tp, r] : reply.partitions) {
    STRATA_RETURN_IF_ERROR(
        GroupStatus(r, absl::StrCat(context, " for ", tp.topic, "-", tp.partition)));
  }
  return absl::OkStatus();
}

}  // namespace strata::client
