// Small value types shared by the producer and the consumer: a topic-partition, a record header,
// and where a produced record landed. Plain values, no synchronisation.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>

namespace strata::client {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  auto operator<=>(const TopicPartition&) const = default;
  bool operator==(const TopicPartition&) const = default;
};

// One record header. Keys may repeat; a value may be null (Kafka allows it).
struct Header {
  std::string key;
  std::optional<std::string> value;

  bool operator==(const Header&) const = default;
};

// Where a produced record landed. offset is -1 with acks=0 (the broker does not answer).
struct RecordMetadata {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = 0;
};

}  // namespace strata::client
