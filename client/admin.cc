#include "client/admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/error_status.h"
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

Admin::Admin(std::string bootstrap, ConnectionOptions options)
    : bootstrap_(std::move(bootstrap)), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Admin>> Admin::Connect(std::string_view bootstrap,
                                                      ConnectionOptions options) {
  if (options.client_software_name == ConnectionOptions().client_software_name) {
    options.client_software_name = "strata-cpp-admin";
  }
  std::unique_ptr<Admin> admin(new Admin(std::string(bootstrap), std::move(options)));
  STRATA_RETURN_IF_ERROR(admin->Conn().status());
  return admin;
}

absl::StatusOr<Connection*> Admin::Conn() {
  if (conn_ == nullptr || !conn_->ok()) {
    conn_.reset();
    STRATA_ASSIGN_OR_RETURN(conn_, Connection::Connect(bootstrap_, options_));
  }
  return conn_.get();
}

absl::Status Admin::CreateTopic(const std::string& name, int32_t partitions,
                                const ConfigList& configs, bool validate_only) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  flatbuffers::FlatBufferBuilder fbb;
  auto entries = Entries(fbb, configs);
  std::vector<flatbuffers::Offset<fb::CreatableTopic>> topics{
      fb::CreateCreatableTopicDirect(fbb, name.c_str(), partitions, &entries)};
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
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Conn());
  if (partitions.empty()) {
    STRATA_ASSIGN_OR_RETURN(TopicInfo info, FetchTopicMetadata(*conn, topic));
    for (const PartitionInfo& p : info.partitions) partitions.push_back(p.index);
  }
  return client::ListOffsets(*conn, topic, partitions, timestamp_ms);
}

}  // namespace strata::client
