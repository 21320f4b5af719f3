// Writes a small seed corpus for every fuzz target: a few valid encodings of what each target
// decodes, so the fuzzer starts from inputs that get past verification instead of finding the
// FlatBuffers and batch layouts from nothing.
//
//   fuzz_seeds <dir>    writes <dir>/<target>/seed-<n> for every target in fuzz/CMakeLists.txt
//
// Generated rather than committed: the seeds follow the schemas and the batch format as they
// change.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "record/batch.h"
#include "record/kafka_batch.h"
#include "protocol/api.h"
#include "protocol/api_versions_generated.h"
#include "protocol/configs_generated.h"
#include "protocol/consumer_protocol_generated.h"
#include "protocol/fetch_body.h"
#include "protocol/fetch_generated.h"
#include "protocol/frame.h"
#include "protocol/groups_generated.h"
#include "protocol/init_producer_id_generated.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/message.h"
#include "protocol/metadata_generated.h"
#include "protocol/offsets_generated.h"
#include "protocol/produce_generated.h"
#include "protocol/topics_generated.h"

namespace strata::fuzz {
namespace {

namespace fb = protocol::fb;
using Bytes = std::vector<std::byte>;
using protocol::ApiKey;

class SeedWriter {
 public:
  explicit SeedWriter(std::filesystem::path dir) : dir_(std::move(dir)) {}

  void Write(const std::string& target, const Bytes& bytes) {
    const std::filesystem::path d = dir_ / target;
    std::filesystem::create_directories(d);
    const std::filesystem::path p = d / ("seed-" + std::to_string(counts_[target]++));
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "fuzz_seeds: cannot write %s\n", p.c_str());
      std::exit(1);
    }
  }
  int total() const {
    int n = 0;
    for (const auto& [t, c] : counts_) n += c;
    return n;
  }

 private:
  std::filesystem::path dir_;
  std::map<std::string, int> counts_;
};

Bytes Finished(const flatbuffers::FlatBufferBuilder& b) {
  const auto bytes = protocol::BuilderBytes(b);
  return Bytes(bytes.begin(), bytes.end());
}

// Batches: plain, LZ4, idempotent with headers and nulls.
std::vector<Bytes> Batches() {
  std::vector<Bytes> out;
  {
    record::BatchBuilder b;
    b.Add({.timestamp_ms = 1700000000000, .key = "key-0", .value = "value-0"});
    b.Add({.timestamp_ms = 1700000000005, .key = std::nullopt, .value = "value-1"});
    out.push_back(b.Build().value());
  }
  {
    record::BatchBuilder b({.compression = record::Compression::kLz4});
    for (int i = 0; i < 4; ++i) {
      b.Add({.timestamp_ms = 1700000000000 + i, .key = "k", .value = "a compressible value"});
    }
    out.push_back(b.Build().value());
  }
  {
    record::BatchBuilder b({.producer_id = 42, .producer_epoch = 0, .base_sequence = 0});
    b.Add({.timestamp_ms = 5,
           .key = "k",
           .value = std::nullopt,
           .headers = {{"h1", "v1"}, {"h2", std::nullopt}}});
    out.push_back(b.Build().value());
  }
  return out;
}

// The consumer protocol's bytes (consumer_protocol.fbs), as client/consumer_protocol.cc encodes
// them: a subscription to "t" owning t-0, and an assignment of t-0 and t-1.
Bytes Subscription() {
  flatbuffers::FlatBufferBuilder b;
  const std::vector<int32_t> owned{0};
  auto topics = b.CreateVectorOfStrings({"other", "t"});
  auto parts = b.CreateVector({fb::CreateTopicPartitionsDirect(b, "t", &owned)});
  const std::string user_data = "sticky-user-data";
  b.Finish(fb::CreateConsumerSubscription(
      b, topics, parts, 3,
      b.CreateVector(reinterpret_cast<const uint8_t*>(user_data.data()), user_data.size())));
  return Finished(b);
}

Bytes Assignment() {
  flatbuffers::FlatBufferBuilder b;
  const std::vector<int32_t> partitions{0, 1};
  auto parts = b.CreateVector({fb::CreateTopicPartitionsDirect(b, "t", &partitions)});
  b.Finish(fb::CreateConsumerAssignment(b, parts));
  return Finished(b);
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> ToVector(flatbuffers::FlatBufferBuilder& b,
                                                            const Bytes& bytes) {
  return b.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

struct Request {
  ApiKey key;
  std::string target;  // fuzz_request_<target>
  Bytes body;
};

// Consumer group requests. fuzz_broker_request starts every group request from a coordinator
// holding group "g" (Empty, offsets committed for t-0 and t-1) and group "s" (Stable at generation
// 1, one static member with group_instance_id "i1"); these name both, and groups that do not exist.
void GroupRequests(std::vector<Request>& out) {
  const Bytes subscription = Subscription();
  const Bytes assignment = Assignment();
  for (const char* key : {"g", "s", ""}) {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateFindCoordinatorRequest(b, b.CreateString(key)));
    out.push_back({ApiKey::kFindCoordinator, "find_coordinator", Finished(b)});
  }
  // A new dynamic member (MEMBER_ID_REQUIRED), a known one, the static member of "s" rejoining
  // (replaces it), and a new static member of "s" (starts a rebalance that waits for "i1").
  struct Join {
    const char* group;
    const char* member;
    const char* instance;
  };
  for (const Join& j : {Join{"g2", "", nullptr}, Join{"g", "cli-0000000000000001", nullptr},
                        Join{"s", "", "i1"}, Join{"s", "", "i2"}}) {
    flatbuffers::FlatBufferBuilder b;
    auto protocols = b.CreateVector(
        {fb::CreateJoinGroupProtocol(b, b.CreateString("cooperative-sticky"),
                                     ToVector(b, subscription)),
         fb::CreateJoinGroupProtocol(b, b.CreateString("range"), ToVector(b, subscription))});
    b.Finish(fb::CreateJoinGroupRequest(
        b, b.CreateString(j.group), 10000, 30000, b.CreateString(j.member),
        j.instance != nullptr ? b.CreateString(j.instance) : 0, b.CreateString("consumer"),
        protocols, b.CreateString("cli"), b.CreateString("starting")));
    out.push_back({ApiKey::kJoinGroup, "join_group", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto assignments = b.CreateVector(
        {fb::CreateSyncGroupAssignment(b, b.CreateString("cli-0000000000000001"),
                                       ToVector(b, assignment)),
         fb::CreateSyncGroupAssignment(b, b.CreateString("cli-0000000000000002"))});
    b.Finish(fb::CreateSyncGroupRequest(b, b.CreateString("s"), 1,
                                        b.CreateString("cli-0000000000000001"),
                                        b.CreateString("i1"), b.CreateString("consumer"),
                                        b.CreateString("range"), assignments));
    out.push_back({ApiKey::kSyncGroup, "sync_group", Finished(b)});
  }
  for (const char* group : {"s", "g"}) {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateHeartbeatRequest(b, b.CreateString(group), 1,
                                        b.CreateString("cli-0000000000000001"),
                                        b.CreateString("i1")));
    out.push_back({ApiKey::kHeartbeat, "heartbeat", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto members = b.CreateVector(
        {fb::CreateLeaveGroupMember(b, b.CreateString(""), b.CreateString("i1"),
                                    b.CreateString("shutting down")),
         fb::CreateLeaveGroupMember(b, b.CreateString("cli-0000000000000001"))});
    b.Finish(fb::CreateLeaveGroupRequest(b, b.CreateString("s"), members));
    out.push_back({ApiKey::kLeaveGroup, "leave_group", Finished(b)});
  }
  // An admin commit to the Empty group, and a member's commit to the Stable one.
  for (const char* group : {"g", "s"}) {
    const bool admin = group[0] == 'g';
    flatbuffers::FlatBufferBuilder b;
    auto parts = b.CreateVector(
        {fb::CreateOffsetCommitPartition(b, 0, 7, b.CreateString("processed")),
         fb::CreateOffsetCommitPartition(b, 1, 0), fb::CreateOffsetCommitPartition(b, 5, 1)});
    auto topics = b.CreateVector(
        {fb::CreateOffsetCommitTopic(b, b.CreateString("t"), parts),
         fb::CreateOffsetCommitTopic(b, b.CreateString("missing"))});
    b.Finish(fb::CreateOffsetCommitRequest(
        b, b.CreateString(group), admin ? -1 : 1,
        b.CreateString(admin ? "" : "cli-0000000000000001"), admin ? 0 : b.CreateString("i1"),
        topics));
    out.push_back({ApiKey::kOffsetCommit, "offset_commit", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateOffsetFetchRequest(b, b.CreateString("g")));
    out.push_back({ApiKey::kOffsetFetch, "offset_fetch", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    const std::vector<int32_t> partitions{0, 1, 5};
    auto topics = b.CreateVector({fb::CreateOffsetFetchTopicDirect(b, "t", &partitions),
                                  fb::CreateOffsetFetchTopicDirect(b, "missing", &partitions)});
    b.Finish(fb::CreateOffsetFetchRequest(b, b.CreateString("s"),
                                          b.CreateString("cli-0000000000000001"), 1, topics));
    out.push_back({ApiKey::kOffsetFetch, "offset_fetch", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateListGroupsRequest(b));
    out.push_back({ApiKey::kListGroups, "list_groups", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateListGroupsRequest(b, b.CreateVectorOfStrings({"Stable", "Empty"})));
    out.push_back({ApiKey::kListGroups, "list_groups", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateDescribeGroupsRequest(b, b.CreateVectorOfStrings({"g", "s", "missing"})));
    out.push_back({ApiKey::kDescribeGroups, "describe_groups", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateDeleteGroupsRequest(b, b.CreateVectorOfStrings({"g", "s", "missing"})));
    out.push_back({ApiKey::kDeleteGroups, "delete_groups", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateDescribeClusterRequest(b, 10));
    out.push_back({ApiKey::kDescribeCluster, "describe_cluster", Finished(b)});
  }
}

std::vector<Request> Requests(const std::vector<Bytes>& batches) {
  std::vector<Request> out;
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateApiVersionsRequest(b, b.CreateString("strata-cli"), b.CreateString("0.1")));
    out.push_back({ApiKey::kApiVersions, "api_versions", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateMetadataRequest(b));
    out.push_back({ApiKey::kMetadata, "metadata", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateMetadataRequest(b, b.CreateVectorOfStrings({"t", "missing"})));
    out.push_back({ApiKey::kMetadata, "metadata", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto configs = b.CreateVector(
        {fb::CreateConfigEntry(b, b.CreateString("segment_bytes"), b.CreateString("65536")),
         fb::CreateConfigEntry(b, b.CreateString("retention_ms"), b.CreateString("-1"))});
    auto topics = b.CreateVector({fb::CreateCreatableTopic(b, b.CreateString("new-topic"), 3,
                                                           configs),
                                  fb::CreateCreatableTopic(b, b.CreateString("t"), 1)});
    b.Finish(fb::CreateCreateTopicsRequest(b, topics, false));
    out.push_back({ApiKey::kCreateTopics, "create_topics", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateDeleteTopicsRequest(b, b.CreateVectorOfStrings({"t", "missing"})));
    out.push_back({ApiKey::kDeleteTopics, "delete_topics", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateInitProducerIdRequest(b));
    out.push_back({ApiKey::kInitProducerId, "init_producer_id", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateDescribeConfigsRequest(b, b.CreateVectorOfStrings({"t"})));
    out.push_back({ApiKey::kDescribeConfigs, "describe_configs", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto configs = b.CreateVector(
        {fb::CreateConfigEntry(b, b.CreateString("partitions"), b.CreateString("3")),
         fb::CreateConfigEntry(b, b.CreateString("flush_always"), b.CreateString("true"))});
    auto topics = b.CreateVector({fb::CreateAlterTopicConfig(b, b.CreateString("t"), configs)});
    b.Finish(fb::CreateAlterConfigsRequest(b, topics, false));
    out.push_back({ApiKey::kAlterConfigs, "alter_configs", Finished(b)});
  }
  for (int8_t acks : {int8_t(1), int8_t(-1), int8_t(0)}) {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::PartitionProduceData>> parts;
    for (size_t i = 0; i < batches.size(); ++i) {
      parts.push_back(fb::CreatePartitionProduceData(
          b, int32_t(i % 2), b.CreateVector(reinterpret_cast<const uint8_t*>(batches[i].data()),
                                            batches[i].size())));
    }
    auto topics = b.CreateVector({fb::CreateTopicProduceData(b, b.CreateString("t"),
                                                             b.CreateVector(parts))});
    b.Finish(fb::CreateProduceRequest(b, acks, 1000, topics));
    out.push_back({ApiKey::kProduce, "produce", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto parts = b.CreateVector({fb::CreateFetchPartition(b, 0, 0, 1 << 20),
                                 fb::CreateFetchPartition(b, 1, 5, 1024)});
    auto topics = b.CreateVector({fb::CreateFetchTopic(b, b.CreateString("t"), parts)});
    b.Finish(fb::CreateFetchRequest(b, 10, 1, 1 << 20, topics));
    out.push_back({ApiKey::kFetch, "fetch", Finished(b)});
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto parts = b.CreateVector({fb::CreateListOffsetsPartition(b, 0, -2),
                                 fb::CreateListOffsetsPartition(b, 1, -1),
                                 fb::CreateListOffsetsPartition(b, 0, 1700000000000)});
    auto topics = b.CreateVector({fb::CreateListOffsetsTopic(b, b.CreateString("t"), parts)});
    b.Finish(fb::CreateListOffsetsRequest(b, topics));
    out.push_back({ApiKey::kListOffsets, "list_offsets", Finished(b)});
  }
  GroupRequests(out);
  return out;
}

// A Fetch response body: head, FlatBuffer, then the records of two partitions.
Bytes FetchBody(const std::vector<Bytes>& batches) {
  flatbuffers::FlatBufferBuilder b;
  const uint32_t first = uint32_t(batches[0].size());
  const uint32_t second = uint32_t(batches[1].size() + batches[2].size());
  auto parts = b.CreateVector(
      {fb::CreateFetchPartitionResponse(b, 0, fb::ErrorCode::NONE, 0, 10, 0, first),
       fb::CreateFetchPartitionResponse(b, 1, fb::ErrorCode::NONE, 0, 20, 0, second),
       fb::CreateFetchPartitionResponse(b, 2, fb::ErrorCode::OFFSET_OUT_OF_RANGE,
                                        b.CreateString("offset 99 is outside the log"))});
  auto topics = b.CreateVector({fb::CreateFetchTopicResponse(b, b.CreateString("t"), parts)});
  b.Finish(fb::CreateFetchResponse(b, fb::ErrorCode::NONE, 0, topics));
  Bytes body = protocol::EncodeFetchResponseHead(protocol::BuilderBytes(b));
  for (const Bytes& batch : batches) body.insert(body.end(), batch.begin(), batch.end());
  return body;
}

}  // namespace
}  // namespace strata::fuzz

int main(int argc, char** argv) {
  using namespace strata::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds <dir>\n");
    return 2;
  }
  SeedWriter w(argv[1]);
  const std::vector<Bytes> batches = Batches();
  const std::vector<Request> requests = Requests(batches);

  Bytes all_batches;
  for (const Bytes& batch : batches) {
    Bytes seed{std::byte{0}};  // flags byte: checksums as built
    seed.insert(seed.end(), batch.begin(), batch.end());
    w.Write("fuzz_batch", seed);
    all_batches.insert(all_batches.end(), batch.begin(), batch.end());
  }
  Bytes fixed{std::byte{1}};  // flags byte: the target recomputes checksums
  fixed.insert(fixed.end(), all_batches.begin(), all_batches.end());
  w.Write("fuzz_batch", fixed);
  // fuzz_kafka_batch: the same batches as a Kafka listener serves them, with the flags byte clear
  // (CRC as computed) and set (the target recomputes it); and a v0 message, which is refused.
  for (const Bytes& batch : batches) {
    const auto header = strata::record::StrataToKafkaHeader(batch).value();
    const auto records = strata::record::StrataRecordsSection(batch);
    for (std::byte flags : {std::byte{0}, std::byte{1}}) {
      Bytes seed{flags};
      seed.insert(seed.end(), header.begin(), header.end());
      seed.insert(seed.end(), records.begin(), records.end());
      w.Write("fuzz_kafka_batch", seed);
    }
  }
  {
    // Flags, then a v0 message: offset 0, size 14, crc, magic 0, attributes, null key and value.
    Bytes v0(1 + 26, std::byte{0});
    v0[1 + 11] = std::byte{14};
    std::fill(v0.begin() + 1 + 18, v0.end(), std::byte{0xff});
    w.Write("fuzz_kafka_batch", v0);
  }

  Bytes stream;  // a connection's receive buffer: several frames, the last one cut short
  uint32_t correlation_id = 1;
  for (const Request& r : requests) {
    w.Write("fuzz_request_" + r.target, r.body);
    Bytes broker{std::byte(uint8_t(r.key)), std::byte{0}};
    broker.insert(broker.end(), r.body.begin(), r.body.end());
    w.Write("fuzz_broker_request", broker);
    const Bytes frame =
        strata::protocol::EncodeFrame(correlation_id++, uint16_t(r.key), 0, r.body).value();
    w.Write("fuzz_frame", frame);
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  stream.resize(stream.size() - 3);
  w.Write("fuzz_frame", stream);
  w.Write("fuzz_fetch_body", FetchBody(batches));
  // fuzz_consumer_protocol: a selector byte (0 subscription, 1 assignment), then the bytes.
  for (const auto& [selector, bytes] :
       {std::pair{std::byte{0}, Subscription()}, std::pair{std::byte{1}, Assignment()},
        std::pair{std::byte{1}, Bytes{}}}) {
    Bytes seed{selector};
    seed.insert(seed.end(), bytes.begin(), bytes.end());
    w.Write("fuzz_consumer_protocol", seed);
  }
  std::printf("fuzz_seeds: wrote %d seeds under %s\n", w.total(), argv[1]);
  return 0;
}
