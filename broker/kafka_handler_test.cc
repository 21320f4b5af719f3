// KafkaErrorCode: Strata's error codes as Kafka's, by what a Kafka client should do with them
// (docs/kafka.md#errors). Each expectation is Kafka's number from its Errors.java.
#include <catch2/catch.hpp>

#include "broker/kafka_handler.h"

namespace strata::broker {
namespace {

TEST_CASE("every Strata error code maps to the Kafka code a client acts on correctly") {
  const std::pair<ErrorCode, int16_t> expected[] = {
      {ErrorCode::NONE, 0},
      {ErrorCode::OFFSET_OUT_OF_RANGE, 1},
      {ErrorCode::CORRUPT_MESSAGE, 2},
      {ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, 3},
      {ErrorCode::LEADER_NOT_AVAILABLE, 5},
      {ErrorCode::NOT_LEADER, 6},          // refresh metadata, retry on the new leader
      {ErrorCode::SHUTTING_DOWN, 6},       // the same: the next leader takes over
      {ErrorCode::REQUEST_TIMED_OUT, 7},
      {ErrorCode::BROKER_BUSY, 7},         // retriable: back off and retry
      {ErrorCode::MESSAGE_TOO_LARGE, 10},
      {ErrorCode::OFFSET_METADATA_TOO_LARGE, 12},
      {ErrorCode::COORDINATOR_NOT_AVAILABLE, 15},
      {ErrorCode::NOT_COORDINATOR, 16},
      {ErrorCode::INVALID_TOPIC, 17},
      {ErrorCode::NOT_ENOUGH_REPLICAS, 19},
      {ErrorCode::ILLEGAL_GENERATION, 22},
      {ErrorCode::INCONSISTENT_GROUP_PROTOCOL, 23},
      {ErrorCode::INVALID_GROUP_ID, 24},
      {ErrorCode::UNKNOWN_MEMBER_ID, 25},
      {ErrorCode::INVALID_SESSION_TIMEOUT, 26},
      {ErrorCode::REBALANCE_IN_PROGRESS, 27},
      {ErrorCode::UNSUPPORTED_VERSION, 35},
      {ErrorCode::TOPIC_ALREADY_EXISTS, 36},
      {ErrorCode::INVALID_CONFIG, 40},
      {ErrorCode::INVALID_REQUEST, 42},
      {ErrorCode::OUT_OF_ORDER_SEQUENCE, 45},
      {ErrorCode::PRODUCER_FENCED, 47},
      {ErrorCode::STORAGE_ERROR, 56},
      {ErrorCode::STORAGE_FULL, 56},
      {ErrorCode::NON_EMPTY_GROUP, 68},
      {ErrorCode::GROUP_ID_NOT_FOUND, 69},
      {ErrorCode::FENCED_LEADER_EPOCH, 74},
      {ErrorCode::UNKNOWN_LEADER_EPOCH, 75},
      {ErrorCode::MEMBER_ID_REQUIRED, 79},
      {ErrorCode::GROUP_MAX_SIZE_REACHED, 81},
      {ErrorCode::FENCED_INSTANCE_ID, 82},
  };
  for (const auto& [strata, kafka] : expected) {
    INFO(protocol::fb::EnumNameErrorCode(strata));
    CHECK(KafkaErrorCode(strata) == kafka);
  }
  // No Strata code falls through to Kafka's "unknown server error" but UNKNOWN itself.
  for (auto code : protocol::fb::EnumValuesErrorCode()) {
    INFO(protocol::fb::EnumNameErrorCode(code));
    CHECK((KafkaErrorCode(code) != -1 || code == ErrorCode::UNKNOWN));
  }
}

}  // namespace
}  // namespace strata::broker
