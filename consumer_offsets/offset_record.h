// The records of the internal topic __consumer_offsets: one per committed offset, keyed by
// (group, topic, partition), so that compaction keeps exactly the latest commit of each key and a
// null value (a tombstone) deletes it. docs/consumer-groups.md ("Storage") draws the layout.
//
//   key   = u16 key_version (1) | u16 group_len | group | u16 topic_len | topic | i32 partition
//   value = u16 value_version (1) | i64 offset | i64 commit_timestamp_ms
//           | u16 metadata_len | metadata
//
// All integers little-endian, encoded field by field (common/endian.h). A decoder refuses a
// version it does not know, lengths that run past the bytes, and trailing bytes, so a damaged
// record is reported, not misread.
//
// Plain functions on values; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace strata::consumer_offsets {

namespace offset_record {
inline constexpr uint16_t kKeyVersion = 1;
inline constexpr uint16_t kValueVersion = 1;
// u16 version + u16 group_len + u16 topic_len + i32 partition.
inline constexpr size_t kKeyFixedBytes = 2 + 2 + 2 + 4;
// u16 version + i64 offset + i64 commit timestamp + u16 metadata_len.
inline constexpr size_t kValueFixedBytes = 2 + 8 + 8 + 2;
static_assert(kKeyFixedBytes == 10 && kValueFixedBytes == 20);
}  // namespace offset_record

struct OffsetKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;

  auto operator<=>(const OffsetKey&) const = default;
  bool operator==(const OffsetKey&) const = default;
};

struct OffsetValue {
  int64_t offset = 0;  // the next offset the group will consume
  int64_t commit_timestamp_ms = 0;
  std::string metadata;

  bool operator==(const OffsetValue&) const = default;
};

// Group, topic and metadata must each fit a u16 length (callers bound them far lower: limits.h).
std::vector<std::byte> EncodeOffsetKey(const OffsetKey& key);
std::vector<std::byte> EncodeOffsetValue(const OffsetValue& value);

// DataLoss naming what is wrong (unknown version, truncated, trailing bytes).
absl::StatusOr<OffsetKey> DecodeOffsetKey(std::span<const std::byte> bytes);
absl::StatusOr<OffsetValue> DecodeOffsetValue(std::span<const std::byte> bytes);

}  // namespace strata::consumer_offsets
