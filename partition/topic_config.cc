#include "partition/topic_config.h"

#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/limits.h"

namespace strata::partition {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// One integer key of the text form: its range, what its special values mean, and where it lives.
struct IntKey {
  const char* key;
  int64_t min;
  int64_t max;
  const char* note;  // appended to range errors; "" when there is nothing to add
  int64_t (*get)(const TopicConfig&);
  void (*set)(TopicConfig&, int64_t);
};

const std::vector<IntKey>& IntKeys() {
  static const std::vector<IntKey> keys = {
      {"partitions", 1, limits::topic_partitions_max, "",
       [](const TopicConfig& c) { return int64_t{c.partitions}; },
       [](TopicConfig& c, int64_t v) { c.partitions = int32_t(v); }},
      {"segment_bytes", int64_t(limits::segment_bytes_min), int64_t(limits::segment_bytes_max), "",
       [](const TopicConfig& c) { return int64_t(c.log.segment_bytes); },
       [](TopicConfig& c, int64_t v) { c.log.segment_bytes = uint64_t(v); }},
      {"segment_ms", 1, kInt64Max, "", [](const TopicConfig& c) { return c.log.segment_ms; },
       [](TopicConfig& c, int64_t v) { c.log.segment_ms = v; }},
      {"retention_ms", -1, kInt64Max, " (-1 keeps data forever)",
       [](const TopicConfig& c) { return c.log.retention_ms; },
       [](TopicConfig& c, int64_t v) { c.log.retention_ms = v; }},
      {"retention_bytes", -1, kInt64Max, " (-1 is unlimited)",
       [](const TopicConfig& c) { return c.log.retention_bytes; },
       [](TopicConfig& c, int64_t v) { c.log.retention_bytes = v; }},
      {"flush_bytes", 0, kInt64Max, " (0 disables the trigger)",
       [](const TopicConfig& c) { return int64_t(c.log.flush.bytes); },
       [](TopicConfig& c, int64_t v) { c.log.flush.bytes = uint64_t(v); }},
      {"flush_ms", 0, kInt64Max, " (0 disables the trigger)",
       [](const TopicConfig& c) { return c.log.flush.interval_ms; },
       [](TopicConfig& c, int64_t v) { c.log.flush.interval_ms = v; }},
      {"delete_retention_ms", 0, kInt64Max, " (how long compaction keeps a tombstone)",
       [](const TopicConfig& c) { return c.delete_retention_ms; },
       [](TopicConfig& c, int64_t v) { c.delete_retention_ms = v; }},
  };
  return keys;
}

// Every key in the order FormatTopicConfig writes them.
const std::vector<std::string>& AllKeys() {
  static const std::vector<std::string> keys = {
      "partitions",   "segment_bytes", "segment_ms", "retention_ms",   "retention_bytes",
      "flush_always", "flush_bytes",   "flush_ms",   "cleanup_policy", "delete_retention_ms"};
  return keys;
}

const IntKey* FindIntKey(absl::string_view key) {
  for (const IntKey& k : IntKeys()) {
    if (key == k.key) return &k;
  }
  return nullptr;
}

std::string RangeText(const IntKey& k) { return absl::StrCat("[", k.min, ", ", k.max, "]"); }

// Sets `key` from its text `value`. InvalidArgument "<key>: <what is wrong and what is allowed>".
absl::Status SetKey(TopicConfig& config, absl::string_view key, absl::string_view value) {
  if (const IntKey* k = FindIntKey(key)) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(value, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": '", value, "' is not an integer in ", RangeText(*k), k->note));
    }
    if (v < k->min || v > k->max) {
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": ", v, " is outside ", RangeText(*k), k->note));
    }
    k->set(config, v);
    return absl::OkStatus();
  }
  if (key == "flush_always") {
    if (value == "true" || value == "false") {
      config.log.flush.always = value == "true";
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": '", value, "' is not allowed (use true or false)"));
  }
  if (key == "cleanup_policy") {
    if (value == "delete" || value == "compact") {
      config.cleanup_policy = value == "delete" ? CleanupPolicy::kDelete : CleanupPolicy::kCompact;
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": '", value, "' is not allowed (use delete or compact)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown key '", key, "' (allowed: ", absl::StrJoin(AllKeys(), ", "), ")"));
}

}  // namespace

std::string CleanupPolicyName(CleanupPolicy policy) {
  return policy == CleanupPolicy::kCompact ? "compact" : "delete";
}

absl::Status TopicConfig::Validate() const {
  // Two fields are unsigned in LogConfig; the text form (and the range table) is signed.
  if (log.segment_bytes > uint64_t(kInt64Max) || log.flush.bytes > uint64_t(kInt64Max)) {
    bool seg = log.segment_bytes > uint64_t(kInt64Max);
    return absl::InvalidArgumentError(absl::StrCat(
        seg ? "segment_bytes: " : "flush_bytes: ", seg ? log.segment_bytes : log.flush.bytes,
        " is outside ", RangeText(*FindIntKey(seg ? "segment_bytes" : "flush_bytes"))));
  }
  for (const IntKey& k : IntKeys()) {
    int64_t v = k.get(*this);
    if (v < k.min || v > k.max) {
      return absl::InvalidArgumentError(
          absl::StrCat(k.key, ": ", v, " is outside ", RangeText(k), k.note));
    }
  }
  // Everything LogConfig checks is covered above; this keeps the two from drifting apart.
  absl::Status st = log.Validate();
  if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("log config: ", st.message()));
  return absl::OkStatus();
}

bool operator==(const TopicConfig& a, const TopicConfig& b) {
  const log::LogConfig& x = a.log;
  const log::LogConfig& y = b.log;
  return a.partitions == b.partitions && a.cleanup_policy == b.cleanup_policy &&
         a.delete_retention_ms == b.delete_retention_ms &&
         x.segment_bytes == y.segment_bytes && x.segment_ms == y.segment_ms &&
         x.index_interval_bytes == y.index_interval_bytes && x.retention_ms == y.retention_ms &&
         x.retention_bytes == y.retention_bytes && x.flush.always == y.flush.always &&
         x.flush.bytes == y.flush.bytes && x.flush.interval_ms == y.flush.interval_ms;
}

absl::Status ValidateTopicName(absl::string_view name) {
  const std::string allowed =
      absl::StrCat("1 to ", limits::topic_name_bytes_max, " characters from a-z A-Z 0-9 . _ -");
  if (name.empty() || name.size() > limits::topic_name_bytes_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic name of ", name.size(), " characters is not allowed (", allowed, ")"));
  }
  if (name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("topic name '", name, "' is not allowed (it names a directory)"));
  }
  for (char ch : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' ||
        ch == '-') {
      continue;
    }
    std::string shown = absl::ascii_isprint(static_cast<unsigned char>(ch))
                            ? std::string(1, ch)
                            : absl::StrCat("byte ", int(static_cast<unsigned char>(ch)));
    return absl::InvalidArgumentError(absl::StrCat("topic name '", absl::CEscape(name),
                                                   "' contains '", shown, "' (", allowed, ")"));
  }
  return absl::OkStatus();
}

std::string FormatTopicConfig(const TopicConfig& c) {
  std::string out = "# Strata topic config (docs/partition.md)\n";
  for (const std::string& key : AllKeys()) {
    std::string value;
    if (const IntKey* k = FindIntKey(key)) {
      value = absl::StrCat(k->get(c));
    } else if (key == "flush_always") {
      value = c.log.flush.always ? "true" : "false";
    } else {
      value = CleanupPolicyName(c.cleanup_policy);
    }
    absl::StrAppend(&out, key, "=", value, "\n");
  }
  return out;
}

absl::StatusOr<TopicConfig> ParseTopicConfig(absl::string_view text) {
  if (text.size() > limits::topic_config_bytes_max) {
    return absl::InvalidArgumentError(absl::StrCat("topic config of ", text.size(),
                                                   " bytes is larger than the maximum ",
                                                   limits::topic_config_bytes_max));
  }
  TopicConfig config;
  std::map<std::string, int> seen;  // key -> line it was set on
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": '", line,
                       "' is not key=value (keys: ", absl::StrJoin(AllKeys(), ", "), ")"));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(eq + 1));
    auto [it, inserted] = seen.emplace(key, line_number);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": key '", key, "' repeats line ", it->second));
    }
    absl::Status st = SetKey(config, key, value);
    if (!st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", st.message()));
    }
  }
  STRATA_RETURN_IF_ERROR(config.Validate());
  return config;
}

absl::StatusOr<TopicConfig> ApplyTopicConfigOverrides(
    const TopicConfig& base, const std::map<std::string, std::string>& overrides) {
  TopicConfig config = base;
  for (const auto& [key, value] : overrides) {
    STRATA_RETURN_IF_ERROR(
        SetKey(config, absl::StripAsciiWhitespace(key), absl::StripAsciiWhitespace(value)));
  }
  if (config.partitions < base.partitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("partitions: cannot lower from ", base.partitions, " to ", config.partitions,
                     " (allowed: [", base.partitions, ", ", limits::topic_partitions_max, "])"));
  }
  STRATA_RETURN_IF_ERROR(config.Validate());
  return config;
}

}  // namespace strata::partition
