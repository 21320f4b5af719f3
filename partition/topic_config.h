// TopicConfig: the settings of one topic (partition count, storage, cleanup policy), their
// validation, Kafka's topic-name rules, and the `key=value` text encoding stored in
// <data_dir>/meta/topics/<name>.conf (docs/partition.md lists every key, default and range).
//
// Plain values and free functions; nothing here is shared or locked, so everything is safe to use
// from any thread on distinct objects.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "common/status.h"
#include "log/log_config.h"

namespace strata::partition {

enum class CleanupPolicy {
  kDelete,   // retention deletes whole segments (log::Log::ApplyRetention)
  kCompact,  // keep the newest record per key (Partition::Compact); retention deletes nothing
};

// "delete" / "compact".
std::string CleanupPolicyName(CleanupPolicy policy);

struct TopicConfig {
  int32_t partitions = 1;
  // Storage settings of every partition's log. index_interval_bytes is not a topic key and keeps
  // its default.
  log::LogConfig log;
  CleanupPolicy cleanup_policy = CleanupPolicy::kDelete;
  // With kCompact: how long a tombstone (a record with a null value) is kept after it became the
  // newest record of its key, so that consumers see the deletion (Kafka's delete.retention.ms).
  int64_t delete_retention_ms = 86'400'000;  // 1 day

  // InvalidArgument naming the first bad key and its allowed range, e.g.
  // "segment_bytes: 100 is outside [4096, 4294967295]".
  absl::Status Validate() const;

  friend bool operator==(const TopicConfig& a, const TopicConfig& b);
};

// Kafka's rules: 1..limits::topic_name_bytes_max characters from [a-zA-Z0-9._-], and not "." or
// "..". InvalidArgument saying what is wrong and what is allowed.
absl::Status ValidateTopicName(absl::string_view name);

// The text form: one `key=value` per line, every key, in a fixed order, with a comment line on
// top. FormatTopicConfig(c) parses back to c.
std::string FormatTopicConfig(const TopicConfig& config);

// Parses the text form. Blank lines and lines starting with '#' are ignored, spaces around keys
// and values are trimmed, and a missing key keeps its default. InvalidArgument naming the line
// and key for an unknown or repeated key, a line without '=', or a bad value (saying what is
// allowed), and for a config that fails Validate.
absl::StatusOr<TopicConfig> ParseTopicConfig(absl::string_view text);

// Applies `overrides` (key -> value text, same keys and values as the text form) to `base` and
// validates the result; what a topic alter does before persisting. InvalidArgument naming the key
// for an unknown key or bad value, and for lowering `partitions` (a partition's data cannot be
// removed by shrinking the count, and keys would map elsewhere).
absl::StatusOr<TopicConfig> ApplyTopicConfigOverrides(
    const TopicConfig& base, const std::map<std::string, std::string>& overrides);

}  // namespace strata::partition
