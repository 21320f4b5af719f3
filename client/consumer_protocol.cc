#include "client/consumer_protocol.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "protocol/consumer_protocol_generated.h"
#include "protocol/message.h"

namespace strata::client {

namespace fb = protocol::fb;

namespace {

using PartitionsOffset =
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::TopicPartitions>>>;

PartitionsOffset BuildPartitions(flatbuffers::FlatBufferBuilder& fbb,
                                 const std::vector<TopicPartition>& partitions) {
  std::map<std::string, std::set<int32_t>> by_topic;
  for (const TopicPartition& tp : partitions) by_topic[tp.topic].insert(tp.partition);
  std::vector<flatbuffers::Offset<fb::TopicPartitions>> tables;
  for (const auto& [topic, indexes] : by_topic) {
    const std::vector<int32_t> sorted(indexes.begin(), indexes.end());
    // CreateString(std::string), not the Direct helper's c_str(): a name is its bytes, and one
    // the decoder accepted with a NUL in it must encode unchanged.
    tables.push_back(
        fb::CreateTopicPartitions(fbb, fbb.CreateString(topic), fbb.CreateVector(sorted)));
  }
  return fbb.CreateVector(tables);
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> BuildBytes(flatbuffers::FlatBufferBuilder& fbb,
                                                             const std::string& bytes) {
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::vector<std::byte> Finish(const flatbuffers::FlatBufferBuilder& fbb) {
  std::span<const std::byte> bytes = protocol::BuilderBytes(fbb);
  return {bytes.begin(), bytes.end()};
}

absl::StatusOr<std::vector<TopicPartition>> ReadPartitions(
    const flatbuffers::Vector<flatbuffers::Offset<fb::TopicPartitions>>* tables, const char* what) {
  std::set<TopicPartition> out;
  if (tables == nullptr) return std::vector<TopicPartition>();
  for (const fb::TopicPartitions* t : *tables) {
    if (t->topic() == nullptr || t->topic()->size() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " lists partitions of a topic without a name"));
    }
    if (t->partitions() == nullptr) continue;
    for (int32_t p : *t->partitions()) {
      if (p < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, " lists partition ", p, " of topic '", t->topic()->str(), "'"));
      }
      out.insert({t->topic()->str(), p});
    }
  }
  return std::vector<TopicPartition>(out.begin(), out.end());
}

std::string ReadBytes(const flatbuffers::Vector<uint8_t>* bytes) {
  if (bytes == nullptr) return {};
  return {reinterpret_cast<const char*>(bytes->data()), bytes->size()};
}

}  // namespace

std::vector<std::byte> EncodeSubscription(const MemberSubscription& s) {
  flatbuffers::FlatBufferBuilder fbb;
  const std::set<std::string> topics(s.topics.begin(), s.topics.end());
  std::vector<flatbuffers::Offset<flatbuffers::String>> names;
  for (const std::string& t : topics) names.push_back(fbb.CreateString(t));
  const auto topics_offset = fbb.CreateVector(names);
  const auto owned_offset = BuildPartitions(fbb, s.owned_partitions);
  const auto user_data_offset = BuildBytes(fbb, s.user_data);
  fbb.Finish(fb::CreateConsumerSubscription(fbb, topics_offset, owned_offset, s.generation,
                                            user_data_offset));
  return Finish(fbb);
}

absl::StatusOr<MemberSubscription> DecodeSubscription(std::span<const std::byte> bytes) {
  STRATA_ASSIGN_OR_RETURN(
      const fb::ConsumerSubscription* body,
      protocol::VerifyBody<fb::ConsumerSubscription>(bytes, "ConsumerSubscription"));
  MemberSubscription s;
  if (body->topics() != nullptr) {
    std::set<std::string> topics;
    for (const flatbuffers::String* t : *body->topics()) {
      if (t->size() == 0) {
        return absl::InvalidArgumentError("ConsumerSubscription lists a topic without a name");
      }
      topics.insert(t->str());
    }
    s.topics.assign(topics.begin(), topics.end());
  }
  STRATA_ASSIGN_OR_RETURN(s.owned_partitions,
                          ReadPartitions(body->owned_partitions(), "ConsumerSubscription"));
  s.generation = body->generation();
  s.user_data = ReadBytes(body->user_data());
  return s;
}

std::vector<std::byte> EncodeAssignment(const MemberAssignment& a) {
  flatbuffers::FlatBufferBuilder fbb;
  const auto partitions_offset = BuildPartitions(fbb, a.partitions);
  const auto user_data_offset = BuildBytes(fbb, a.user_data);
  fbb.Finish(fb::CreateConsumerAssignment(fbb, partitions_offset, user_data_offset));
  return Finish(fbb);
}

absl::StatusOr<MemberAssignment> DecodeAssignment(std::span<const std::byte> bytes) {
  if (bytes.empty()) return MemberAssignment{};
  STRATA_ASSIGN_OR_RETURN(
      const fb::ConsumerAssignment* body,
      protocol::VerifyBody<fb::ConsumerAssignment>(bytes, "ConsumerAssignment"));
  MemberAssignment a;
  STRATA_ASSIGN_OR_RETURN(a.partitions, ReadPartitions(body->partitions(), "ConsumerAssignment"));
  a.user_data = ReadBytes(body->user_data());
  return a;
}

}  // namespace strata::client
