// Tests for the consumer-protocol codec: subscriptions and assignments round trip (normalised:
// sorted, without duplicates), the bytes are the tables of consumer_protocol.fbs, empty
// assignment bytes are an empty assignment, and garbage, truncations and malformed tables are
// InvalidArgument.
#include "client/consumer_protocol.h"

#include <catch2/catch.hpp>
#include <random>

#include "protocol/consumer_protocol_generated.h"
#include "protocol/message.h"

namespace strata::client {
namespace {

namespace fb = protocol::fb;

std::vector<std::byte> Bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

std::vector<std::byte> Finished(const flatbuffers::FlatBufferBuilder& fbb) {
  auto bytes = protocol::BuilderBytes(fbb);
  return {bytes.begin(), bytes.end()};
}

MemberSubscription Example() {
  MemberSubscription s;
  s.member_id = "member-1";
  s.group_instance_id = "instance-1";
  s.topics = {"payments", "orders", "payments"};
  s.owned_partitions = {{"payments", 2}, {"orders", 3}, {"orders", 0}, {"orders", 3}};
  s.generation = 7;
  s.user_data = std::string("\0\x01\xffuser", 7);
  return s;
}

TEST_CASE("a subscription round trips, sorted and without duplicates") {
  const std::vector<std::byte> bytes = EncodeSubscription(Example());
  auto decoded = DecodeSubscription(bytes);
  REQUIRE(decoded.ok());
  CHECK(decoded->topics == std::vector<std::string>{"orders", "payments"});
  CHECK(decoded->owned_partitions ==
        std::vector<TopicPartition>{{"orders", 0}, {"orders", 3}, {"payments", 2}});
  CHECK(decoded->generation == 7);
  CHECK(decoded->user_data == std::string("\0\x01\xffuser", 7));
  // JoinGroup carries the ids itself; the metadata bytes do not.
  CHECK(decoded->member_id.empty());
  CHECK(!decoded->group_instance_id.has_value());
}

TEST_CASE("the subscription bytes are a ConsumerSubscription table") {
  const std::vector<std::byte> bytes = EncodeSubscription(Example());
  auto body = protocol::VerifyBody<fb::ConsumerSubscription>(bytes, "ConsumerSubscription");
  REQUIRE(body.ok());
  REQUIRE((*body)->topics() != nullptr);
  REQUIRE((*body)->topics()->size() == 2);
  CHECK((*body)->topics()->Get(0)->str() == "orders");
  REQUIRE((*body)->owned_partitions() != nullptr);
  REQUIRE((*body)->owned_partitions()->size() == 2);  // one entry per topic
  const fb::TopicPartitions* orders = (*body)->owned_partitions()->Get(0);
  CHECK(orders->topic()->str() == "orders");
  CHECK(std::vector<int32_t>(orders->partitions()->begin(), orders->partitions()->end()) ==
        std::vector<int32_t>{0, 3});
  CHECK((*body)->generation() == 7);
}

TEST_CASE("an empty subscription and the default generation round trip") {
  for (int32_t generation : {-1, 0, 1, INT32_MAX}) {
    MemberSubscription s;
    s.generation = generation;
    auto decoded = DecodeSubscription(EncodeSubscription(s));
    REQUIRE(decoded.ok());
    CHECK(decoded->topics.empty());
    CHECK(decoded->owned_partitions.empty());
    CHECK(decoded->generation == generation);
    CHECK(decoded->user_data.empty());
  }
}

TEST_CASE("an assignment round trips") {
  MemberAssignment a;
  a.partitions = {{"t1", 4}, {"t0", 1}, {"t1", 0}, {"t0", 1}};
  a.user_data = "sticky";
  auto decoded = DecodeAssignment(EncodeAssignment(a));
  REQUIRE(decoded.ok());
  CHECK(decoded->partitions == std::vector<TopicPartition>{{"t0", 1}, {"t1", 0}, {"t1", 4}});
  CHECK(decoded->user_data == "sticky");
}

// Found by fuzz_consumer_protocol: the encoder cut topic names at the first NUL (c_str()), so
// an assignment that decoded re-encoded to a different one, or to one the decoder refuses.
TEST_CASE("topic names with NUL bytes survive encoding") {
  const std::string nul("\0", 1);
  const std::string inner("a\0b", 3);
  MemberAssignment a;
  a.partitions = {{nul, 0}, {inner, 2}};
  auto decoded = DecodeAssignment(EncodeAssignment(a));
  REQUIRE(decoded.ok());
  CHECK(decoded->partitions == std::vector<TopicPartition>{{nul, 0}, {inner, 2}});

  MemberSubscription s;
  s.topics = {inner};
  s.owned_partitions = {{inner, 1}};
  auto sub = DecodeSubscription(EncodeSubscription(s));
  REQUIRE(sub.ok());
  CHECK(sub->topics == std::vector<std::string>{inner});
  CHECK(sub->owned_partitions == std::vector<TopicPartition>{{inner, 1}});
}

TEST_CASE("an empty assignment: encoded, or no bytes at all") {
  auto encoded = DecodeAssignment(EncodeAssignment({}));
  REQUIRE(encoded.ok());
  CHECK(*encoded == MemberAssignment{});
  auto none = DecodeAssignment({});
  REQUIRE(none.ok());
  CHECK(*none == MemberAssignment{});
}

TEST_CASE("garbage is InvalidArgument") {
  const std::vector<std::vector<std::byte>> garbage{
      Bytes({1, 2, 3}),                             // shorter than a root offset
      Bytes({0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}),  // root offset far past the end
      Bytes({4, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}),  // vtable offset far outside
      std::vector<std::byte>(64, std::byte{0xab}),
  };
  for (const auto& bytes : garbage) {
    INFO("bytes: " << bytes.size());
    CHECK(DecodeSubscription(bytes).status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(DecodeAssignment(bytes).status().code() == absl::StatusCode::kInvalidArgument);
  }
  // A subscription always has bytes: an empty one is malformed, unlike an empty assignment.
  CHECK(DecodeSubscription({}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a truncated encoding is rejected, or reads the same when only padding was cut") {
  const MemberSubscription s = Example();
  const MemberAssignment a{.partitions = {{"orders", 1}, {"payments", 0}}, .user_data = "x"};
  const std::vector<std::byte> subscription = EncodeSubscription(s);
  const std::vector<std::byte> assignment = EncodeAssignment(a);
  const auto whole_subscription = DecodeSubscription(subscription);
  REQUIRE(whole_subscription.ok());
  int rejected = 0;
  for (size_t n = 1; n < subscription.size(); ++n) {
    INFO("subscription cut to " << n << " of " << subscription.size() << " bytes");
    auto cut = DecodeSubscription(std::span(subscription).first(n));
    if (!cut.ok()) {
      CHECK(cut.status().code() == absl::StatusCode::kInvalidArgument);
      ++rejected;
      continue;
    }
    CHECK(cut->topics == whole_subscription->topics);
    CHECK(cut->owned_partitions == whole_subscription->owned_partitions);
    CHECK(cut->user_data == whole_subscription->user_data);
  }
  // FlatBuffers pads to 4 bytes at most at the end; everything else is data.
  CHECK(rejected >= static_cast<int>(subscription.size()) - 4);
  rejected = 0;
  for (size_t n = 1; n < assignment.size(); ++n) {
    INFO("assignment cut to " << n << " of " << assignment.size() << " bytes");
    auto cut = DecodeAssignment(std::span(assignment).first(n));
    if (!cut.ok()) {
      CHECK(cut.status().code() == absl::StatusCode::kInvalidArgument);
      ++rejected;
      continue;
    }
    CHECK(*cut == a);
  }
  CHECK(rejected >= static_cast<int>(assignment.size()) - 4);
}

TEST_CASE("random bytes never crash the decoders") {
  // Run under ASan by test.sh; here it only shows the decoders reject or accept cleanly.
  std::mt19937_64 rng(20240601);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::byte> bytes(std::uniform_int_distribution<size_t>(0, 80)(rng));
    for (std::byte& b : bytes) b = static_cast<std::byte>(rng());
    accepted += DecodeSubscription(bytes).ok();
    accepted += DecodeAssignment(bytes).ok();
  }
  // Only empty assignment bytes are likely to pass.
  CHECK(accepted < 2000);
}

TEST_CASE("tables that verify but are malformed are InvalidArgument") {
  SECTION("a partition list without a topic") {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<int32_t> partitions{0};
    auto tp = fb::CreateTopicPartitionsDirect(fbb, nullptr, &partitions);
    fbb.Finish(fb::CreateConsumerAssignment(fbb, fbb.CreateVector(&tp, 1)));
    CHECK(DecodeAssignment(Finished(fbb)).status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("a negative partition") {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<int32_t> partitions{1, -1};
    auto tp = fb::CreateTopicPartitionsDirect(fbb, "orders", &partitions);
    fbb.Finish(fb::CreateConsumerSubscription(fbb, 0, fbb.CreateVector(&tp, 1)));
    CHECK(DecodeSubscription(Finished(fbb)).status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("a subscribed topic without a name") {
    flatbuffers::FlatBufferBuilder fbb;
    auto name = fbb.CreateString("");
    fbb.Finish(fb::CreateConsumerSubscription(fbb, fbb.CreateVector(&name, 1)));
    CHECK(DecodeSubscription(Finished(fbb)).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace strata::client
