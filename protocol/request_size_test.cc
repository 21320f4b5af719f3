// VerifyRequest (request_size.h): bodies whose entries share bytes are refused; bodies as our
// clients build them, one entry per copy, pass.
#include "protocol/request_size.h"

#include <catch2/catch.hpp>

namespace strata::protocol {
namespace {

std::vector<std::byte> Bytes(const flatbuffers::FlatBufferBuilder& b) {
  auto s = BuilderBytes(b);
  return {s.begin(), s.end()};
}

TEST_CASE("a body whose entries are their own bytes passes") {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::LeaveGroupMember>> members;
  for (int i = 0; i < 100; ++i) {
    members.push_back(fb::CreateLeaveGroupMember(b, b.CreateString(std::string(50, 'm')), 0,
                                                 b.CreateString("")));
  }
  b.Finish(fb::CreateLeaveGroupRequest(b, b.CreateString("g"), b.CreateVector(members)));
  const auto body = Bytes(b);
  auto r = VerifyRequest<fb::LeaveGroupRequest>(body, "LeaveGroupRequest");
  REQUIRE(r.ok());
  CHECK(ReadBytes(*r) <= body.size());

  flatbuffers::FlatBufferBuilder e;
  e.Finish(fb::CreateInitProducerIdRequest(e));
  CHECK(VerifyRequest<fb::InitProducerIdRequest>(Bytes(e), "InitProducerIdRequest").ok());
}

TEST_CASE("entries sharing one string, table or vector are refused") {
  {
    flatbuffers::FlatBufferBuilder b;
    auto shared = b.CreateString(std::string(1000, 't'));
    std::vector<flatbuffers::Offset<flatbuffers::String>> names(10, shared);
    b.Finish(fb::CreateMetadataRequest(b, b.CreateVector(names)));
    auto r = VerifyRequest<fb::MetadataRequest>(Bytes(b), "MetadataRequest");
    CHECK(absl::IsInvalidArgument(r.status()));
    CHECK(r.status().message().find("more than once") != std::string::npos);
  }
  {
    flatbuffers::FlatBufferBuilder b;
    std::vector<uint8_t> batch(4096, 1);
    auto records = b.CreateVector(batch);
    std::vector<flatbuffers::Offset<fb::PartitionProduceData>> parts;
    for (int i = 0; i < 3; ++i) parts.push_back(fb::CreatePartitionProduceData(b, 0, records));
    auto topics = b.CreateVector(
        {fb::CreateTopicProduceData(b, b.CreateString("t"), b.CreateVector(parts))});
    b.Finish(fb::CreateProduceRequest(b, 1, 1000, topics));
    CHECK(absl::IsInvalidArgument(
        VerifyRequest<fb::ProduceRequest>(Bytes(b), "ProduceRequest").status()));
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto topic = fb::CreateFetchTopic(b, b.CreateString(std::string(200, 'x')));
    std::vector<flatbuffers::Offset<fb::FetchTopic>> topics(5, topic);
    b.Finish(fb::CreateFetchRequest(b, 0, 1, 1 << 20, b.CreateVector(topics)));
    CHECK(absl::IsInvalidArgument(VerifyRequest<fb::FetchRequest>(Bytes(b), "FetchRequest").status()));
  }
}

}  // namespace
}  // namespace strata::protocol
