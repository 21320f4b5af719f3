// Tests for the broker error code -> absl::Status mapping (error_status.h): every code maps to the
// status its doc promises, messages carry the context and the code's name, retriable codes are
// exactly the transient ones, and CheckResponse reads an ErrorResponse as any API's table.
#include "client/error_status.h"

#include <catch2/catch.hpp>

#include "protocol/message.h"
#include "protocol/metadata_generated.h"

namespace strata::client {
namespace {

using protocol::fb::ErrorCode;
using Catch::Matchers::Contains;

TEST_CASE("every error code maps to the status a caller acts on") {
  struct Case {
    ErrorCode code;
    absl::StatusCode status;
    bool retriable;
  };
  const Case cases[] = {
      {ErrorCode::NONE, absl::StatusCode::kOk, false},
      {ErrorCode::UNKNOWN, absl::StatusCode::kUnknown, false},
      {ErrorCode::UNSUPPORTED_VERSION, absl::StatusCode::kUnimplemented, false},
      {ErrorCode::INVALID_REQUEST, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::UNSUPPORTED_API, absl::StatusCode::kUnimplemented, false},
      {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, absl::StatusCode::kNotFound, false},
      {ErrorCode::TOPIC_ALREADY_EXISTS, absl::StatusCode::kAlreadyExists, false},
      {ErrorCode::INVALID_TOPIC, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::INVALID_CONFIG, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::CORRUPT_MESSAGE, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::MESSAGE_TOO_LARGE, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::OUT_OF_ORDER_SEQUENCE, absl::StatusCode::kOutOfRange, false},
      {ErrorCode::PRODUCER_FENCED, absl::StatusCode::kFailedPrecondition, false},
      {ErrorCode::OFFSET_OUT_OF_RANGE, absl::StatusCode::kOutOfRange, false},
      {ErrorCode::STORAGE_ERROR, absl::StatusCode::kUnavailable, true},
      {ErrorCode::REQUEST_TIMED_OUT, absl::StatusCode::kUnavailable, true},
      {ErrorCode::BROKER_BUSY, absl::StatusCode::kUnavailable, true},
      {ErrorCode::SHUTTING_DOWN, absl::StatusCode::kUnavailable, true},
      {ErrorCode::COORDINATOR_NOT_AVAILABLE, absl::StatusCode::kUnavailable, true},
      {ErrorCode::NOT_COORDINATOR, absl::StatusCode::kUnavailable, true},
      {ErrorCode::ILLEGAL_GENERATION, absl::StatusCode::kAborted, false},
      {ErrorCode::UNKNOWN_MEMBER_ID, absl::StatusCode::kAborted, false},
      {ErrorCode::REBALANCE_IN_PROGRESS, absl::StatusCode::kAborted, false},
      {ErrorCode::INCONSISTENT_GROUP_PROTOCOL, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::INVALID_SESSION_TIMEOUT, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::MEMBER_ID_REQUIRED, absl::StatusCode::kAborted, false},
      {ErrorCode::FENCED_INSTANCE_ID, absl::StatusCode::kFailedPrecondition, false},
      {ErrorCode::INVALID_GROUP_ID, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::GROUP_ID_NOT_FOUND, absl::StatusCode::kNotFound, false},
      {ErrorCode::NON_EMPTY_GROUP, absl::StatusCode::kFailedPrecondition, false},
      {ErrorCode::OFFSET_METADATA_TOO_LARGE, absl::StatusCode::kInvalidArgument, false},
      {ErrorCode::GROUP_MAX_SIZE_REACHED, absl::StatusCode::kResourceExhausted, false},
      {ErrorCode::STORAGE_FULL, absl::StatusCode::kUnavailable, true},
      {ErrorCode::NOT_LEADER, absl::StatusCode::kUnavailable, true},
      {ErrorCode::NOT_ENOUGH_REPLICAS, absl::StatusCode::kUnavailable, true},
      {ErrorCode::FENCED_LEADER_EPOCH, absl::StatusCode::kUnavailable, true},
      {ErrorCode::UNKNOWN_LEADER_EPOCH, absl::StatusCode::kUnavailable, true},
      {ErrorCode::LEADER_NOT_AVAILABLE, absl::StatusCode::kUnavailable, true},
  };
  // Every code of the schema is covered.
  REQUIRE(std::size(cases) == size_t(ErrorCode::MAX) + 1);
  for (const Case& c : cases) {
    INFO(ErrorCodeName(c.code));
    const absl::Status st = ErrorToStatus(c.code, std::string_view("broker says no"), "ctx");
    CHECK(st.code() == c.status);
    CHECK(IsRetriable(c.code) == c.retriable);
    if (c.code != ErrorCode::NONE) {
      CHECK_THAT(std::string(st.message()), Contains("ctx: broker says no"));
      CHECK_THAT(std::string(st.message()), Contains(ErrorCodeName(c.code)));
    }
  }
}

TEST_CASE("the leader errors, and only they, ask for a metadata refresh") {
  for (int c = int(ErrorCode::MIN); c <= int(ErrorCode::MAX); ++c) {
    const auto code = static_cast<ErrorCode>(c);
    INFO(ErrorCodeName(code));
    const bool leader = code == ErrorCode::NOT_LEADER || code == ErrorCode::FENCED_LEADER_EPOCH ||
                        code == ErrorCode::UNKNOWN_LEADER_EPOCH ||
                        code == ErrorCode::LEADER_NOT_AVAILABLE;
    CHECK(IsLeaderError(code) == leader);
  }
}

TEST_CASE("an unknown code is Unknown and named by its number") {
  const auto code = static_cast<ErrorCode>(999);
  CHECK(ErrorCodeName(code) == "error 999");
  CHECK(absl::IsUnknown(ErrorToStatus(code, std::string_view("?"), "ctx")));
  CHECK_FALSE(IsRetriable(code));
}

TEST_CASE("an empty broker message still says something") {
  const absl::Status st = ErrorToStatus(ErrorCode::BROKER_BUSY, nullptr, "Produce");
  CHECK_THAT(std::string(st.message()), Contains("Produce: the broker reported an error"));
}

TEST_CASE("CheckResponse reads an ErrorResponse as any response table") {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(protocol::fb::CreateErrorResponseDirect(fbb, ErrorCode::UNSUPPORTED_VERSION,
                                                     "Metadata v7 is not served"));
  auto result = CheckResponse<protocol::fb::MetadataResponse>(protocol::BuilderBytes(fbb),
                                                              "MetadataResponse", "Metadata");
  REQUIRE(absl::IsUnimplemented(result.status()));
  CHECK_THAT(std::string(result.status().message()), Contains("Metadata v7 is not served"));

  flatbuffers::FlatBufferBuilder ok;
  ok.Finish(protocol::fb::CreateMetadataResponse(ok));
  CHECK(CheckResponse<protocol::fb::MetadataResponse>(protocol::BuilderBytes(ok),
                                                      "MetadataResponse", "Metadata")
            .ok());

  const std::byte garbage[3] = {};
  CHECK(absl::IsInvalidArgument(
      CheckResponse<protocol::fb::MetadataResponse>(garbage, "MetadataResponse", "Metadata")
          .status()));
}

}  // namespace
}  // namespace strata::client
