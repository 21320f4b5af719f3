// The admin APIs: Metadata, CreateTopics, DeleteTopics, InitProducerId, DescribeConfigs,
// AlterConfigs and ListOffsets (docs/protocol.md). They are short, may touch files (topic
// creation), and never wait on anything but their own I/O.
#include <map>

#include "absl/strings/str_cat.h"
#include "broker/request_handler.h"
#include "broker/admin_ops.h"
#include "io/file_system.h"
#include "partition/topic_config.h"
#include "protocol/configs_generated.h"
#include "protocol/init_producer_id_generated.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/message.h"
#include "protocol/request_size.h"
#include "protocol/metadata_generated.h"
#include "protocol/topics_generated.h"

namespace strata::broker {

namespace fb = protocol::fb;
using partition::TopicConfig;

namespace {

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

// Describes the topics a Metadata or DescribeConfigs request names (every topic when it names
// none): found(TopicInfo) for each that exists, missing(name, message) for the others. True if
// any was missing.
template <typename Found, typename Missing>
bool DescribeEach(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* requested,
                  const partition::TopicManager& topics, Found&& found, Missing&& missing) {
  std::vector<std::string> names;
  if (requested == nullptr || requested->size() == 0) {
    names = topics.List();
  } else {
    for (const auto* t : *requested) names.push_back(Str(t));
  }
  bool any_missing = false;
  for (const std::string& name : names) {
    auto info = topics.Describe(name);
    if (!info.ok()) {
      any_missing = true;
      missing(name, absl::StrCat("topic `", name, "` does not exist"));
      continue;
    }
    found(*info);
  }
  return any_missing;
}

}  // namespace

std::map<std::string, std::string> ConfigOverrides(
    const flatbuffers::Vector<flatbuffers::Offset<fb::ConfigEntry>>* entries) {
  std::map<std::string, std::string> out;
  if (entries == nullptr) return out;
  for (const auto* e : *entries) out[Str(e->key())] = Str(e->value());
  return out;
}

Response RequestHandler::Metadata(const protocol::Frame& frame, const fb::MetadataRequest* req) {
  ResponseBuilder b;
  bool has_error = false;
  std::vector<flatbuffers::Offset<fb::TopicMetadata>> topics;
  const auto missing = [&](const std::string& name, const std::string& message) {
    topics.push_back(fb::CreateTopicMetadata(b, b.CreateString(name),
                                             fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                                             b.CreateString(message)));
  };
  const auto found = [&](const partition::TopicInfo& info) {
    std::vector<flatbuffers::Offset<fb::PartitionMetadata>> parts;
    for (const auto& p : info.partitions) {
      if (!p.status.ok()) {
        has_error = true;
        parts.push_back(fb::CreatePartitionMetadata(
            b, p.index, fb::ErrorCode::STORAGE_ERROR,
            b.CreateString(absl::StrCat("partition offline: ", p.status.ToString())), -1, 0));
        continue;
      }
      // One node: this broker leads every partition.
      parts.push_back(fb::CreatePartitionMetadata(b, p.index, fb::ErrorCode::NONE, 0, s_.node_id,
                                                  p.leader_epoch, p.log_start_offset,
                                                  p.high_watermark));
    }
    topics.push_back(fb::CreateTopicMetadata(b, b.CreateString(info.name), fb::ErrorCode::NONE, 0,
                                             b.CreateVector(parts)));
  };
  has_error |= DescribeEach(req->topics(), *s_.topics, found, missing);
  std::vector<flatbuffers::Offset<fb::BrokerInfo>> brokers{fb::CreateBrokerInfo(
      b, s_.node_id, b.CreateString(s_.advertised.host), s_.advertised.port)};
  b.Finish(fb::CreateMetadataResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(brokers),
                                      s_.node_id, b.CreateVector(topics)));
  return FinishResponse(frame, b, has_error);
}

asio::awaitable<Response> RequestHandler::CreateTopics(const protocol::Frame& frame,
                                                       const fb::CreateTopicsRequest* req) {
  ResponseBuilder b;
  bool has_error = false;
  std::vector<flatbuffers::Offset<fb::TopicResult>> results;
  if (req->topics() != nullptr) {
    for (const auto* t : *req->topics()) {
      NewTopicRequest topic;
      topic.name = Str(t->name());
      topic.partitions = t->partitions();
      topic.replication_factor = t->replication_factor();
      topic.min_insync_replicas = t->min_insync_replicas();
      topic.config = ConfigOverrides(t->configs());
      topic.validate_only = req->validate_only();
      const std::string name = topic.name;
      const Error result = co_await CreateTopic(s_, std::move(topic));
      has_error |= !result.ok();
      results.push_back(fb::CreateTopicResult(b, b.CreateString(name), result.code,
                                              b.CreateString(result.message)));
    }
  }
  b.Finish(fb::CreateCreateTopicsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(results)));
  co_return FinishResponse(frame, b, has_error);
}

asio::awaitable<Response> RequestHandler::DeleteTopics(const protocol::Frame& frame,
                                                       const fb::DeleteTopicsRequest* req) {
  ResponseBuilder b;
  bool has_error = false;
  std::vector<flatbuffers::Offset<fb::TopicResult>> results;
  if (req->topics() != nullptr) {
    for (const auto* t : *req->topics()) {
      const std::string name = Str(t);
      const Error result = co_await DeleteTopic(s_, name);
      has_error |= !result.ok();
      results.push_back(fb::CreateTopicResult(b, b.CreateString(name), result.code,
                                              b.CreateString(result.message)));
    }
  }
  b.Finish(fb::CreateDeleteTopicsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(results)));
  co_return FinishResponse(frame, b, has_error);
}

Response RequestHandler::InitProducerId(const protocol::Frame& frame, const fb::InitProducerIdRequest* req) {
  ResponseBuilder b;
  auto id = s_.producer_ids->Next();
  if (!id.ok()) {
    b.Finish(fb::CreateInitProducerIdResponse(
        b, fb::ErrorCode::STORAGE_ERROR,
        b.CreateString(absl::StrCat("cannot reserve producer ids: ", id.status().ToString()))));
    return FinishResponse(frame, b, true);
  }
  b.Finish(fb::CreateInitProducerIdResponse(b, fb::ErrorCode::NONE, 0, *id, 0));
  return FinishResponse(frame, b, false);
}

Response RequestHandler::DescribeConfigs(const protocol::Frame& frame, const fb::DescribeConfigsRequest* req) {
  ResponseBuilder b;
  std::vector<flatbuffers::Offset<fb::DescribedTopicConfig>> topics;
  const auto missing = [&](const std::string& name, const std::string& message) {
    topics.push_back(fb::CreateDescribedTopicConfig(b, b.CreateString(name),
                                                    fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                                                    b.CreateString(message)));
  };
  const auto found = [&](const partition::TopicInfo& info) {
    std::vector<flatbuffers::Offset<fb::ConfigEntry>> entries;
    for (const auto& [key, value] : TopicConfigEntries(info.config)) {
      entries.push_back(fb::CreateConfigEntry(b, b.CreateString(key), b.CreateString(value)));
    }
    topics.push_back(fb::CreateDescribedTopicConfig(b, b.CreateString(info.name),
                                                    fb::ErrorCode::NONE, 0,
                                                    b.CreateVector(entries)));
  };
  const bool has_error = DescribeEach(req->topics(), *s_.topics, found, missing);
  b.Finish(fb::CreateDescribeConfigsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(topics)));
  return FinishResponse(frame, b, has_error);
}

Response RequestHandler::AlterConfigs(const protocol::Frame& frame, const fb::AlterConfigsRequest* req) {
  ResponseBuilder b;
  bool has_error = false;
  std::vector<flatbuffers::Offset<fb::TopicResult>> results;
  if (req->topics() != nullptr) {
    for (const auto* t : *req->topics()) {
      const std::string name = Str(t->name());
      const auto overrides = ConfigOverrides(t->configs());
      fb::ErrorCode code = fb::ErrorCode::NONE;
      std::string message;
      auto info = s_.topics->Describe(name);
      if (s_.cluster != nullptr) {
        code = fb::ErrorCode::INVALID_REQUEST;
        message = "changing a topic's settings in a cluster is not supported yet: the settings "
                  "are fixed at creation (docs/cluster.md#what-is-not-there-yet)";
      } else if (!info.ok()) {
        code = fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
        message = absl::StrCat("topic `", name, "` does not exist");
      } else if (IsInternalTopic(name)) {
        code = fb::ErrorCode::INVALID_CONFIG;
        message = absl::StrCat(name, " is an internal topic; its settings come from the broker's "
                               "configuration (offsets_topic_* keys)");
      } else if (req->validate_only()) {
        auto config = partition::ApplyTopicConfigOverrides(info->config, overrides);
        if (!config.ok()) {
          code = fb::ErrorCode::INVALID_CONFIG;
          message = std::string(config.status().message());
        }
      } else {
        auto config = s_.topics->Alter(name, overrides);
        if (absl::IsNotFound(config.status())) {
          code = fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
          message = std::string(config.status().message());
        } else if (absl::IsInvalidArgument(config.status())) {
          code = fb::ErrorCode::INVALID_CONFIG;
          message = std::string(config.status().message());
        } else if (io::IsNoSpace(config.status())) {
          code = fb::ErrorCode::STORAGE_FULL;
          message = absl::StrCat("broker ", s_.node_id, ": ", config.status().message());
        } else if (!config.ok()) {
          code = fb::ErrorCode::STORAGE_ERROR;
          message = config.status().ToString();
        }
      }
      has_error |= code != fb::ErrorCode::NONE;
      results.push_back(
          fb::CreateTopicResult(b, b.CreateString(name), code, b.CreateString(message)));
    }
  }
  b.Finish(fb::CreateAlterConfigsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(results)));
  return FinishResponse(frame, b, has_error);
}

}  // namespace strata::broker
