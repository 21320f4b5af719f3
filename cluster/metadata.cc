#include "cluster/metadata.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace strata::cluster {
namespace {

using Json = nlohmann::json;

// Parses `text` and runs `read` on it; every JSON error (syntax, a missing field, a wrong type)
// becomes DataLoss naming what was being read.
template <typename T, typename Read>
absl::StatusOr<T> Decode(absl::string_view what, absl::string_view text, Read read) {
  try {
    Json json = Json::parse(text);
    return read(json);
  } catch (const Json::exception& e) {
    return absl::DataLossError(absl::StrCat("malformed ", what, " record in etcd: ", e.what()));
  } catch (const std::invalid_argument& e) {
    return absl::DataLossError(absl::StrCat("malformed ", what, " record in etcd: ", e.what()));
  }
}

std::optional<int32_t> ParseInt(absl::string_view text) {
  int32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

bool PartitionState::InIsr(int32_t broker) const {
  return std::find(isr.begin(), isr.end(), broker) != isr.end();
}

Keys::Keys(absl::string_view cluster_name) : root_(absl::StrCat("/strata/", cluster_name, "/")) {}

std::string Keys::broker(int32_t id) const { return absl::StrCat(root_, "brokers/", id); }
std::string Keys::brokers() const { return absl::StrCat(root_, "brokers/"); }
std::string Keys::controller() const { return absl::StrCat(root_, "controller"); }
std::string Keys::topic(absl::string_view name) const {
  return absl::StrCat(root_, "topics/", name);
}
std::string Keys::topics() const { return absl::StrCat(root_, "topics/"); }
std::string Keys::partition(absl::string_view topic, int32_t index) const {
  return absl::StrCat(root_, "partitions/", topic, "/", index);
}
std::string Keys::producer_ids() const { return absl::StrCat(root_, "producer_ids"); }

std::string Keys::partitions(absl::string_view topic) const {
  return absl::StrCat(root_, "partitions/", topic, "/");
}

std::optional<Keys::Parsed> Keys::Parse(absl::string_view key) const {
  if (!absl::StartsWith(key, root_)) return std::nullopt;
  key.remove_prefix(root_.size());
  auto after = [&](absl::string_view prefix) -> std::optional<absl::string_view> {
    if (!absl::StartsWith(key, prefix)) return std::nullopt;
    return key.substr(prefix.size());
  };
  if (key == "controller") {
    Parsed parsed;
    parsed.kind = Parsed::Kind::kController;
    return parsed;
  }
  if (auto rest = after("brokers/")) {
    auto id = ParseInt(*rest);
    if (!id) return std::nullopt;
    Parsed parsed;
    parsed.kind = Parsed::Kind::kBroker;
    parsed.broker_id = *id;
    return parsed;
  }
  if (auto rest = after("topics/")) {
    if (rest->empty()) return std::nullopt;
    Parsed parsed;
    parsed.kind = Parsed::Kind::kTopic;
    parsed.partition.topic = std::string(*rest);
    return parsed;
  }
  if (auto rest = after("partitions/")) {
    // Topic names cannot hold '/' (partition/topic_config.h), so the last one splits.
    size_t slash = rest->rfind('/');
    if (slash == absl::string_view::npos || slash == 0) return std::nullopt;
    auto index = ParseInt(rest->substr(slash + 1));
    if (!index) return std::nullopt;
    Parsed parsed;
    parsed.kind = Parsed::Kind::kPartition;
    parsed.partition = {std::string(rest->substr(0, slash)), *index};
    return parsed;
  }
  return std::nullopt;
}

std::string EncodeBroker(const BrokerInfo& broker) {
  Json json = {{"id", broker.id}, {"host", broker.host}, {"port", broker.port}};
  if (broker.shutting_down) json["shutting_down"] = true;
  if (broker.kafka_port != 0) {
    json["kafka_host"] = broker.kafka_host;
    json["kafka_port"] = broker.kafka_port;
  }
  return json.dump();
}

absl::StatusOr<BrokerInfo> DecodeBroker(absl::string_view text) {
  return Decode<BrokerInfo>("broker", text, [](const Json& json) {
    BrokerInfo broker;
    broker.id = json.at("id").get<int32_t>();
    broker.host = json.at("host").get<std::string>();
    broker.port = json.at("port").get<uint16_t>();
    broker.shutting_down = json.value("shutting_down", false);
    broker.kafka_host = json.value("kafka_host", std::string());
    broker.kafka_port = json.value("kafka_port", uint16_t{0});
    return broker;
  });
}

std::string EncodeController(const ControllerInfo& controller) {
  return Json{{"broker_id", controller.broker_id}}.dump();
}

absl::StatusOr<ControllerInfo> DecodeController(absl::string_view text) {
  return Decode<ControllerInfo>("controller", text, [](const Json& json) {
    ControllerInfo controller;
    controller.broker_id = json.at("broker_id").get<int32_t>();
    return controller;
  });
}

std::string EncodeTopic(const TopicRecord& topic) {
  return Json{{"name", topic.name},
              {"replication_factor", topic.replication_factor},
              {"min_insync_replicas", topic.min_insync_replicas},
              {"config", topic.config},
              {"replicas", topic.replicas}}
      .dump();
}

absl::StatusOr<TopicRecord> DecodeTopic(absl::string_view text) {
  return Decode<TopicRecord>("topic", text, [](const Json& json) {
    TopicRecord topic;
    topic.name = json.at("name").get<std::string>();
    topic.replication_factor = json.at("replication_factor").get<int32_t>();
    topic.min_insync_replicas = json.at("min_insync_replicas").get<int32_t>();
    topic.config = json.at("config").get<std::map<std::string, std::string>>();
    topic.replicas = json.at("replicas").get<std::vector<std::vector<int32_t>>>();
    return topic;
  });
}

// JSON objects have string keys: {"1": 123, ...}.
Json IsrEpochsJson(const std::map<int32_t, int64_t>& epochs) {
  Json json = Json::object();
  for (const auto& [broker, epoch] : epochs) json[std::to_string(broker)] = epoch;
  return json;
}

std::string EncodePartition(const PartitionState& state) {
  return Json{{"replicas", state.replicas},
              {"leader", state.leader},
              {"leader_epoch", state.leader_epoch},
              {"isr", state.isr},
              {"isr_epochs", IsrEpochsJson(state.isr_epochs)},
              {"last_leader", state.last_leader},
              {"partition_epoch", state.partition_epoch},
              {"controller_epoch", state.controller_epoch}}
      .dump();
}

absl::StatusOr<PartitionState> DecodePartition(absl::string_view text) {
  return Decode<PartitionState>("partition", text, [](const Json& json) {
    PartitionState state;
    state.replicas = json.at("replicas").get<std::vector<int32_t>>();
    state.leader = json.at("leader").get<int32_t>();
    state.leader_epoch = json.at("leader_epoch").get<int32_t>();
    state.isr = json.at("isr").get<std::vector<int32_t>>();
    if (json.contains("isr_epochs")) {
      for (const auto& [broker, epoch] : json.at("isr_epochs").items()) {
        auto id = ParseInt(broker);
        if (!id) throw std::invalid_argument("isr_epochs: a key is not a broker id");
        state.isr_epochs[*id] = epoch.get<int64_t>();
      }
    }
    state.last_leader = json.value("last_leader", kNoLeader);
    state.partition_epoch = json.at("partition_epoch").get<int32_t>();
    state.controller_epoch = json.value("controller_epoch", int64_t{-1});
    return state;
  });
}

absl::StatusOr<std::vector<std::vector<int32_t>>> AssignReplicas(std::vector<int32_t> brokers,
                                                                 int32_t partitions,
                                                                 int32_t replication_factor,
                                                                 uint32_t start) {
  const auto n = static_cast<int32_t>(brokers.size());
  if (replication_factor < 1) {
    return absl::InvalidArgumentError("replication factor must be at least 1");
  }
  if (replication_factor > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication factor ", replication_factor, " is more than the ", n,
                     " live broker(s); add brokers or lower --replication-factor"));
  }
  std::sort(brokers.begin(), brokers.end());
  // Partition p is led by broker (start + p) mod n and replicated on the next ones in order, so
  // leaders and replicas are each spread evenly.
  std::vector<std::vector<int32_t>> replicas(partitions);
  for (int32_t p = 0; p < partitions; p++) {
    for (int32_t r = 0; r < replication_factor; r++) {
      replicas[p].push_back(brokers[(start + p + r) % n]);
    }
  }
  return replicas;
}

}  // namespace strata::cluster
