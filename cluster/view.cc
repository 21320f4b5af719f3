#include "cluster/view.h"

#include "absl/strings/str_cat.h"

namespace strata::cluster {

ClusterView ClusterView::FromRange(const Keys& keys, const RangeResult& range,
                                   std::vector<std::string>* errors) {
  ClusterView view;
  view.revision = range.revision;
  for (const KeyValue& kv : range.kvs) view.Put(keys, kv, errors);
  return view;
}

void ClusterView::Apply(const Keys& keys, const WatchEvent& event,
                        std::vector<std::string>* errors) {
  revision = std::max(revision, event.kv.mod_revision);
  if (event.type == WatchEvent::Type::kPut) {
    Put(keys, event.kv, errors);
    return;
  }
  auto parsed = keys.Parse(event.kv.key);
  if (!parsed) return;
  switch (parsed->kind) {
    case Keys::Parsed::Kind::kBroker:
      brokers.erase(parsed->broker_id);
      break;
    case Keys::Parsed::Kind::kController:
      controller.reset();
      break;
    case Keys::Parsed::Kind::kTopic:
      topics.erase(parsed->partition.topic);
      break;
    case Keys::Parsed::Kind::kPartition:
      partitions.erase(parsed->partition);
      break;
  }
}

void ClusterView::Put(const Keys& keys, const KeyValue& kv, std::vector<std::string>* errors) {
  auto parsed = keys.Parse(kv.key);
  if (!parsed) return;
  auto report = [&](const absl::Status& status) {
    if (errors != nullptr) errors->push_back(absl::StrCat(kv.key, ": ", status.message()));
  };
  switch (parsed->kind) {
    case Keys::Parsed::Kind::kBroker: {
      auto broker = DecodeBroker(kv.value);
      if (!broker.ok()) return report(broker.status());
      broker->epoch = kv.create_revision;
      brokers[parsed->broker_id] = *broker;
      return;
    }
    case Keys::Parsed::Kind::kController: {
      auto controller_info = DecodeController(kv.value);
      if (!controller_info.ok()) return report(controller_info.status());
      controller_info->epoch = kv.create_revision;
      controller = *controller_info;
      return;
    }
    case Keys::Parsed::Kind::kTopic: {
      auto topic = DecodeTopic(kv.value);
      if (!topic.ok()) return report(topic.status());
      topics[parsed->partition.topic] = *topic;
      return;
    }
    case Keys::Parsed::Kind::kPartition: {
      auto state = DecodePartition(kv.value);
      if (!state.ok()) return report(state.status());
      state->mod_revision = kv.mod_revision;
      partitions[parsed->partition] = *state;
      return;
    }
  }
}

bool ClusterView::CanLead(int32_t broker) const {
  auto it = brokers.find(broker);
  return it != brokers.end() && !it->second.shutting_down;
}

bool ClusterView::StaleInIsr(const PartitionState& state, int32_t broker) const {
  // No entry: a record from before isr_epochs, taken as current. An entry of 0: admitted while
  // its registration was not known, so no run of it can be trusted to be the one admitted.
  auto recorded = state.isr_epochs.find(broker);
  if (recorded == state.isr_epochs.end()) return false;
  auto it = brokers.find(broker);
  return it != brokers.end() && it->second.epoch != recorded->second;
}

const PartitionState* ClusterView::Find(const TopicPartitionId& id) const {
  auto it = partitions.find(id);
  return it == partitions.end() ? nullptr : &it->second;
}

}  // namespace strata::cluster
