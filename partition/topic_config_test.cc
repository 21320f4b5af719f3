// Tests for TopicConfig: validation, topic names, the key=value text form, and overrides.
#include "partition/topic_config.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/limits.h"

namespace strata::partition {
namespace {

std::string Message(const absl::Status& st) { return std::string(st.message()); }

TEST_CASE("the default config formats to every key and parses back", "[topic_config]") {
  TopicConfig defaults;
  std::string text = FormatTopicConfig(defaults);
  CHECK(text ==
        "# Strata topic config (docs/partition.md)\n"
        "partitions=1\n"
        "segment_bytes=1073741824\n"
        "segment_ms=604800000\n"
        "retention_ms=604800000\n"
        "retention_bytes=-1\n"
        "flush_always=false\n"
        "flush_bytes=1048576\n"
        "flush_ms=10\n"
        "cleanup_policy=delete\n"
        "delete_retention_ms=86400000\n");
  auto parsed = ParseTopicConfig(text);
  REQUIRE(parsed.ok());
  CHECK(*parsed == defaults);
  // An empty file is the defaults too.
  auto empty = ParseTopicConfig("");
  REQUIRE(empty.ok());
  CHECK(*empty == defaults);
}

TEST_CASE("every key parses, with comments, blank lines and spaces", "[topic_config]") {
  auto c = ParseTopicConfig(
      "# a comment\n"
      "\n"
      "partitions = 12\n"
      "  segment_bytes=8192\r\n"
      "segment_ms=60000\n"
      "retention_ms=-1\n"
      "retention_bytes=1000000\n"
      "flush_always=true\n"
      "flush_bytes=0\n"
      "flush_ms=0\n"
      "cleanup_policy=compact\n"
      "delete_retention_ms=0\n");
  REQUIRE(c.ok());
  CHECK(c->partitions == 12);
  CHECK(c->log.segment_bytes == 8192);
  CHECK(c->log.segment_ms == 60000);
  CHECK(c->log.retention_ms == -1);
  CHECK(c->log.retention_bytes == 1000000);
  CHECK(c->log.flush.always);
  CHECK(c->log.flush.bytes == 0);
  CHECK(c->log.flush.interval_ms == 0);
  CHECK(c->cleanup_policy == CleanupPolicy::kCompact);
  CHECK(c->delete_retention_ms == 0);
  // Round trip through the text form.
  auto again = ParseTopicConfig(FormatTopicConfig(*c));
  REQUIRE(again.ok());
  CHECK(*again == *c);
}

TEST_CASE("parse errors name the line, the key and what is allowed", "[topic_config]") {
  struct Case {
    std::string text;
    std::string message;
  };
  std::vector<Case> cases = {
      {"partitions=2\n\nfoo=1\n",
       "line 3: unknown key 'foo' (allowed: partitions, segment_bytes, segment_ms, retention_ms, "
       "retention_bytes, flush_always, flush_bytes, flush_ms, cleanup_policy, delete_retention_ms)"},
      {"delete_retention_ms=-1\n",
       "line 1: delete_retention_ms: -1 is outside [0, 9223372036854775807] (how long compaction "
       "keeps a tombstone)"},
      {"segment_bytes=100\n", "line 1: segment_bytes: 100 is outside [4096, 4294967295]"},
      {"partitions=0\n", "line 1: partitions: 0 is outside [1, 1024]"},
      {"partitions=1025\n", "line 1: partitions: 1025 is outside [1, 1024]"},
      {"segment_ms=0\n", "line 1: segment_ms: 0 is outside [1, 9223372036854775807]"},
      {"retention_ms=-2\n",
       "line 1: retention_ms: -2 is outside [-1, 9223372036854775807] (-1 keeps data forever)"},
      {"retention_bytes=lots\n",
       "line 1: retention_bytes: 'lots' is not an integer in [-1, 9223372036854775807] (-1 is "
       "unlimited)"},
      {"flush_bytes=-1\n",
       "line 1: flush_bytes: -1 is outside [0, 9223372036854775807] (0 disables the trigger)"},
      {"flush_ms=1.5\n",
       "line 1: flush_ms: '1.5' is not an integer in [0, 9223372036854775807] (0 disables the "
       "trigger)"},
      {"flush_always=yes\n", "line 1: flush_always: 'yes' is not allowed (use true or false)"},
      {"cleanup_policy=keep\n",
       "line 1: cleanup_policy: 'keep' is not allowed (use delete or compact)"},
      {"# ok\npartitions\n", "line 2: 'partitions' is not key=value"},
      {"partitions=2\npartitions=3\n", "line 2: key 'partitions' repeats line 1"},
      {"segment_ms=99999999999999999999\n", "line 1: segment_ms: '99999999999999999999' is not"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto parsed = ParseTopicConfig(c.text);
    REQUIRE(absl::IsInvalidArgument(parsed.status()));
    CHECK(Message(parsed.status()).rfind(c.message, 0) == 0);
  }
  std::string huge(limits::topic_config_bytes_max + 1, '#');
  CHECK(absl::IsInvalidArgument(ParseTopicConfig(huge).status()));
}

TEST_CASE("Validate names the bad key and its range", "[topic_config]") {
  TopicConfig c;
  CHECK(c.Validate().ok());
  c.partitions = 0;
  CHECK(Message(c.Validate()) == "partitions: 0 is outside [1, 1024]");
  c = TopicConfig{};
  c.log.segment_bytes = 5ull << 30;
  CHECK(Message(c.Validate()) == "segment_bytes: 5368709120 is outside [4096, 4294967295]");
  c = TopicConfig{};
  c.log.flush.bytes = ~0ull;
  CHECK(Message(c.Validate()) ==
        "flush_bytes: 18446744073709551615 is outside [0, 9223372036854775807]");
  c = TopicConfig{};
  c.log.retention_bytes = -5;
  CHECK(absl::IsInvalidArgument(c.Validate()));
  CHECK(Message(c.Validate()).rfind("retention_bytes: -5 is outside [-1, ", 0) == 0);
  c = TopicConfig{};
  c.delete_retention_ms = -1;
  CHECK(Message(c.Validate()).rfind("delete_retention_ms: -1 is outside [0, ", 0) == 0);
  c = TopicConfig{};
  c.log.index_interval_bytes = 0;  // not a topic key, but LogConfig still checks it
  CHECK(absl::IsInvalidArgument(c.Validate()));
}

TEST_CASE("topic names follow Kafka's rules", "[topic_config]") {
  for (std::string ok : {"orders", "a", "A.b_c-9", "__consumer_offsets", "..."}) {
    INFO(ok);
    CHECK(ValidateTopicName(ok).ok());
  }
  CHECK(ValidateTopicName(std::string(limits::topic_name_bytes_max, 'x')).ok());

  auto bad = [](const std::string& name) {
    absl::Status st = ValidateTopicName(name);
    CHECK(absl::IsInvalidArgument(st));
    return Message(st);
  };
  CHECK(bad("") ==
        "topic name of 0 characters is not allowed (1 to 249 characters from a-z A-Z "
        "0-9 . _ -)");
  CHECK(bad(std::string(250, 'x')).rfind("topic name of 250 characters is not allowed", 0) == 0);
  CHECK(bad(".") == "topic name '.' is not allowed (it names a directory)");
  CHECK(bad("..") == "topic name '..' is not allowed (it names a directory)");
  CHECK(bad("a b") == "topic name 'a b' contains ' ' (1 to 249 characters from a-z A-Z 0-9 . _ -)");
  CHECK(bad("a/b").find("contains '/'") != std::string::npos);
  CHECK(bad("caf\xc3\xa9").find("contains 'byte 195'") != std::string::npos);
  CHECK(bad(std::string("a\0b", 3)).find("contains 'byte 0'") != std::string::npos);
}

TEST_CASE("overrides change the named keys and validate the result", "[topic_config]") {
  TopicConfig base;
  base.partitions = 4;
  auto c = ApplyTopicConfigOverrides(
      base, {{"retention_ms", "-1"}, {"cleanup_policy", "compact"}, {"partitions", "6"}});
  REQUIRE(c.ok());
  CHECK(c->partitions == 6);
  CHECK(c->log.retention_ms == -1);
  CHECK(c->cleanup_policy == CleanupPolicy::kCompact);
  CHECK(c->log.segment_bytes == base.log.segment_bytes);
  CHECK(base.partitions == 4);

  auto same = ApplyTopicConfigOverrides(base, {{"partitions", "4"}});
  REQUIRE(same.ok());
  CHECK(*same == base);

  auto lower = ApplyTopicConfigOverrides(base, {{"partitions", "2"}});
  CHECK(absl::IsInvalidArgument(lower.status()));
  CHECK(Message(lower.status()) == "partitions: cannot lower from 4 to 2 (allowed: [4, 1024])");

  auto unknown = ApplyTopicConfigOverrides(base, {{"segment.bytes", "1"}});
  CHECK(absl::IsInvalidArgument(unknown.status()));
  CHECK(Message(unknown.status()).rfind("unknown key 'segment.bytes' (allowed: ", 0) == 0);

  auto bad = ApplyTopicConfigOverrides(base, {{"flush_always", "1"}});
  CHECK(Message(bad.status()) == "flush_always: '1' is not allowed (use true or false)");

  auto tombstones = ApplyTopicConfigOverrides(base, {{"delete_retention_ms", "3600000"}});
  REQUIRE(tombstones.ok());
  CHECK(tombstones->delete_retention_ms == 3600000);
  CHECK(!(*tombstones == base));  // operator== sees the key
  auto negative = ApplyTopicConfigOverrides(base, {{"delete_retention_ms", "-5"}});
  CHECK(absl::IsInvalidArgument(negative.status()));
  CHECK(Message(negative.status()).rfind("delete_retention_ms: -5 is outside [0, ", 0) == 0);
}

}  // namespace
}  // namespace strata::partition
