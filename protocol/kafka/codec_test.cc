// The Kafka codec against bytes written out by hand from Kafka's specs, round trips at every
// served version, and malformed input.
#include <catch2/catch.hpp>

#include "protocol/kafka/frame.h"
#include "protocol/kafka/kafka_messages.h"

namespace strata::protocol::kafka {
namespace {

std::vector<std::byte> Bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(std::byte(uint8_t(v)));
  return out;
}

TEST_CASE("an ApiVersions v3 request as librdkafka sends it (header v2, compact strings)") {
  const auto frame = Bytes({0x00, 0x12, 0x00, 0x03,              // api_key 18, version 3
                            0x00, 0x00, 0x00, 0x07,              // correlation_id 7
                            0x00, 0x04, 'r', 'd', 'k', 'a',      // client_id "rdka"
                            0x00,                                // header tagged fields: none
                            0x05, 'l', 'i', 'b', 'r',            // client_software_name "libr"
                            0x04, '2', '.', '0',                 // client_software_version "2.0"
                            0x00});                              // body tagged fields: none
  Reader r(frame);
  const RequestHeader h = ReadRequestHeader(r);
  REQUIRE(r.ok());
  CHECK(h.api_key == 18);
  CHECK(h.api_version == 3);
  CHECK(h.correlation_id == 7);
  CHECK(h.client_id == "rdka");
  ApiVersionsRequest req;
  req.Decode(r, 3);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  CHECK(req.client_software_name == "libr");
  CHECK(req.client_software_version == "2.0");
}

TEST_CASE("an ApiVersions v3 response keeps header v0 and writes compact arrays") {
  RequestHeader h{18, 3, 9, "c"};
  Writer w = StartResponse(h);
  ApiVersionsResponse resp;
  resp.api_keys.push_back({0, 3, 7});
  resp.Encode(w, 3);
  FinishResponse(w);
  CHECK(w.Flatten() == Bytes({0, 0, 0, 19,    // size
                              0, 0, 0, 9,     // correlation_id; no header tagged fields
                              0, 0,           // error_code
                              0x02,           // compact array of 1
                              0, 0, 0, 3, 0, 7, 0x00,  // key 0, 3-7, no tagged fields
                              0, 0, 0, 0,     // throttle_time_ms
                              0x00}));        // no tagged fields
}

TEST_CASE("Metadata v0: a plain array of topic names; v1 may send null for every topic") {
  const auto v0 = Bytes({0, 0, 0, 2, 0, 1, 'a', 0, 2, 'b', 'c'});
  Reader r0(v0);
  MetadataRequest m0;
  m0.Decode(r0, 0);
  REQUIRE(r0.ok());
  REQUIRE(m0.topics.has_value());
  REQUIRE(m0.topics->size() == 2);
  CHECK((*m0.topics)[1].name == "bc");

  const auto null_v1 = Bytes({0xff, 0xff, 0xff, 0xff});
  Reader r1(null_v1);
  MetadataRequest m1;
  m1.Decode(r1, 1);
  REQUIRE(r1.ok());
  CHECK_FALSE(m1.topics.has_value());

  Reader r2(null_v1);
  MetadataRequest m2;
  m2.Decode(r2, 0);  // null is not allowed before v1
  CHECK_FALSE(r2.ok());
}

TEST_CASE("every version of a Produce request round-trips, records kept as raw bytes") {
  const auto batch = Bytes({1, 2, 3, 4, 5});
  for (int16_t v = ProduceRequest::kMinVersion; v <= ProduceRequest::kMaxVersion; ++v) {
    ProduceRequest req;
    req.transactional_id = std::nullopt;
    req.acks = -1;
    req.timeout_ms = 1500;
    req.topic_data.push_back({"t", {{3, Records{{batch}}}}});
    Writer w;
    req.Encode(w, v);
    const auto bytes = w.Flatten();
    Reader r(bytes);
    ProduceRequest back;
    back.Decode(r, v);
    REQUIRE(r.ok());
    CHECK(r.remaining() == 0);
    CHECK(back.acks == -1);
    CHECK(back.timeout_ms == 1500);
    REQUIRE(back.topic_data.size() == 1);
    CHECK(back.topic_data[0].name == "t");
    const auto& p = back.topic_data[0].partition_data.at(0);
    CHECK(p.index == 3);
    REQUIRE(p.records.has_value());
    REQUIRE(p.records->pieces.size() == 1);
    CHECK(std::vector<std::byte>(p.records->pieces[0].begin(), p.records->pieces[0].end()) ==
          batch);
  }
}

TEST_CASE("a Fetch response borrows its records: the pieces interleave owned and borrowed bytes") {
  const auto a = Bytes({0xaa, 0xaa});
  const auto b = Bytes({0xbb});
  FetchResponse resp;
  FetchResponse::FetchableTopicResponse topic;
  topic.topic = "t";
  FetchResponse::FetchableTopicResponse::PartitionData p;
  p.records = Records{{a, b}};
  topic.partitions.push_back(p);
  resp.responses.push_back(topic);
  Writer w;
  resp.Encode(w, 11);
  const auto pieces = w.pieces();
  REQUIRE(pieces.size() == 3);  // owned head, a, b; nothing owned after the last field
  CHECK(pieces[1].data() == a.data());
  CHECK(pieces[2].data() == b.data());
  const auto flat = w.Flatten();
  Reader r(flat);
  FetchResponse back;
  back.Decode(r, 11);
  REQUIRE(r.ok());
  CHECK(back.responses.at(0).partitions.at(0).records->size() == 3);
}

TEST_CASE("fields outside their versions are neither written nor read") {
  FetchRequest req;
  req.rack_id = "rack";  // v11+
  req.session_epoch = 5;  // v7+
  Writer w4, w11;
  req.Encode(w4, 4);
  req.Encode(w11, 11);
  CHECK(w11.size() > w4.size());
  const auto bytes = w4.Flatten();
  Reader r(bytes);
  FetchRequest back;
  back.Decode(r, 4);
  REQUIRE(r.ok());
  CHECK(back.rack_id.empty());
  CHECK(back.session_epoch == -1);  // the default of a field absent in v4
}

TEST_CASE("InitProducerId v4 is flexible: unknown tagged fields are skipped") {
  const auto body = Bytes({0x00,                    // transactional_id: compact null
                           0, 0, 0x03, 0xe8,        // transaction_timeout_ms 1000
                           0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // producer_id -1
                           0xff, 0xff,              // producer_epoch -1
                           0x01, 0x07, 0x02, 'h', 'i'});  // one tagged field (7), 2 bytes
  Reader r(body);
  InitProducerIdRequest req;
  req.Decode(r, 4);
  REQUIRE(r.ok());
  CHECK(r.remaining() == 0);
  CHECK_FALSE(req.transactional_id.has_value());
  CHECK(req.transaction_timeout_ms == 1000);
  CHECK(req.producer_id == -1);
}

TEST_CASE("malformed requests fail the reader instead of reading past the end") {
  SECTION("a string longer than the bytes left") {
    const auto b = Bytes({0x00, 0x10, 'a'});
    Reader r(b);
    FindCoordinatorRequest req;
    req.Decode(r, 0);
    CHECK_FALSE(r.ok());
  }
  SECTION("an array count larger than the bytes left allocates nothing") {
    const auto b = Bytes({0x7f, 0xff, 0xff, 0xff});
    Reader r(b);
    DescribeGroupsRequest req;
    req.Decode(r, 0);
    CHECK_FALSE(r.ok());
    CHECK(req.groups.capacity() == 0);
  }
  SECTION("a varint longer than 5 bytes") {
    const auto b = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
    Reader r(b);
    r.UVarint();
    CHECK_FALSE(r.ok());
  }
  SECTION("a truncated header") {
    const auto b = Bytes({0x00, 0x03, 0x00});
    Reader r(b);
    ReadRequestHeader(r);
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("the described APIs are sorted by key and name the versions served") {
  int16_t last = -1;
  for (const auto& api : kDescribedApis) {
    CHECK(api.key > last);
    last = api.key;
    CHECK(api.min_version <= api.max_version);
  }
  REQUIRE(FindApi(1).has_value());
  CHECK(FindApi(1)->min_version == 4);  // Fetch: v2 record batches only
  CHECK_FALSE(FindApi(9999).has_value());
}

}  // namespace
}  // namespace strata::protocol::kafka
