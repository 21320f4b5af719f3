// RequestHandler on the group APIs, without the network: a response that would not fit in a frame
// is an error response, not an exception out of Handle.
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "broker/request_handler.h"
#include "consumer_offsets/coordinator.h"
#include "io/memory_file_system.h"
#include "protocol/api.h"
#include "protocol/frame.h"
#include "protocol/groups_generated.h"
#include "protocol/message.h"

namespace strata::broker {
namespace {

namespace fb = protocol::fb;

struct Fixture {
  Fixture() {
    topics = partition::TopicManager::Open(&fs, "/data").value();
    consumer_offsets::CoordinatorConfig config;
    config.offsets_topic.partitions = 1;
    config.offsets_topic.segment_bytes = 1 << 20;
    consumer_offsets::CoordinatorOptions options;
    options.start_ticker = false;
    groups = consumer_offsets::GroupCoordinator::Open(topics.get(), config, options).value();
    services.topics = topics.get();
    services.metrics = &metrics;
    services.groups = groups.get();
    services.stopping = &stopping;
  }

  // Handles one request to completion; fails the test if Handle throws.
  Response Handle(protocol::ApiKey key, std::vector<std::byte> body) {
    RequestHandler handler(services);
    protocol::Frame frame;
    frame.correlation_id = 3;
    frame.api_key = uint16_t(key);
    frame.body = body;
    frame.frame_bytes = protocol::kFrameHeaderBytes + body.size();
    asio::io_context io;
    std::optional<Response> response;
    std::exception_ptr error;
    asio::co_spawn(io, handler.Handle(frame, body),
                   [&](std::exception_ptr e, Response r) {
                     error = e;
                     if (!e) response = std::move(r);
                   });
    io.run();
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        FAIL("Handle threw: " << e.what());
      }
    }
    REQUIRE(response.has_value());
    return std::move(*response);
  }

  io::MemoryFileSystem fs;
  std::unique_ptr<partition::TopicManager> topics;
  std::unique_ptr<consumer_offsets::GroupCoordinator> groups;
  BrokerMetrics metrics;
  std::atomic<bool> stopping{false};
  Services services;
};

std::vector<std::byte> Finished(const flatbuffers::FlatBufferBuilder& b) {
  const auto bytes = protocol::BuilderBytes(b);
  return {bytes.begin(), bytes.end()};
}

// Found with fuzz_broker_request: a LeaveGroup of 1 MiB whose members all point at one table
// with a long member id asks for a response of 80 MiB (each entry echoes the id). EncodeFrame
// refused it and FinishResponse's .value() threw, so the connection was closed with "internal
// error" instead of an answer, against RequestHandler's promise that nothing throws.
TEST_CASE("a group response too large for a frame is an error response", "[broker][groups]") {
  Fixture f;
  flatbuffers::FlatBufferBuilder b;
  auto member = fb::CreateLeaveGroupMember(b, b.CreateString(std::string(1 << 20, 'm')));
  const std::vector<flatbuffers::Offset<fb::LeaveGroupMember>> members(80, member);
  b.Finish(fb::CreateLeaveGroupRequest(b, b.CreateString("g"), b.CreateVector(members)));
  const std::vector<std::byte> body = Finished(b);
  REQUIRE(body.size() < (2u << 20));

  Response r = f.Handle(protocol::ApiKey::kLeaveGroup, body);
  CHECK(r.has_error);
  auto frame = protocol::ParseFrame(r.head);
  REQUIRE(frame.ok());
  REQUIRE(frame->has_value());
  CHECK((*frame)->correlation_id == 3);
  CHECK((*frame)->frame_bytes <= limits::frame_bytes_max);
  auto response = protocol::VerifyBody<fb::LeaveGroupResponse>((*frame)->body, "response");
  REQUIRE(response.ok());
  CHECK((*response)->error_code() == fb::ErrorCode::INVALID_REQUEST);
  REQUIRE((*response)->error_message() != nullptr);
  // Refused before it is read: its entries share one member id (protocol/request_size.h).
  CHECK_THAT((*response)->error_message()->str(),
             Catch::Matchers::Contains("refers to the same bytes more than once"));
}

// The same trick at a larger scale: 4,000 entries sharing one 1 MiB member id ask for a 4 GiB
// response. The response builder refuses to grow past a frame (response_builder.h), so the broker
// answers without ever holding more than about a frame for it.
TEST_CASE("a request asking for gigabytes of response is refused without building them",
          "[broker][groups]") {
  Fixture f;
  flatbuffers::FlatBufferBuilder b;
  auto member = fb::CreateLeaveGroupMember(b, b.CreateString(std::string(1 << 20, 'm')));
  const std::vector<flatbuffers::Offset<fb::LeaveGroupMember>> members(4000, member);
  b.Finish(fb::CreateLeaveGroupRequest(b, b.CreateString("g"), b.CreateVector(members)));
  const std::vector<std::byte> body = Finished(b);
  REQUIRE(body.size() < (2u << 20));
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  Response r = f.Handle(protocol::ApiKey::kLeaveGroup, body);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  CHECK(r.has_error);
  const long grown_kib = after.ru_maxrss - before.ru_maxrss;
  INFO("peak RSS grew by " << grown_kib << " KiB");
  CHECK(grown_kib < 512 * 1024);
  auto frame = protocol::ParseFrame(r.head);
  REQUIRE(frame.ok());
  REQUIRE(frame->has_value());
  auto response = protocol::VerifyBody<fb::LeaveGroupResponse>((*frame)->body, "response");
  REQUIRE(response.ok());
  CHECK((*response)->error_code() == fb::ErrorCode::INVALID_REQUEST);
}

}  // namespace
}  // namespace strata::broker
