// Tests for the CLI's text helpers (output.h): JSON escaping of arbitrary bytes, the JSON and
// text record lines, and parsing of --from, --acks, --compression and KEY=VALUE; and what
// `strata topic describe` and `strata cluster status` print for a single broker and a cluster.
#include "client/cli/output.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "client/cli/broker_commands.h"

namespace strata::cli {
namespace {

using client::SeekTarget;

TEST_CASE("JsonString escapes quotes, backslashes and control characters") {
  CHECK(JsonString("hello") == "\"hello\"");
  CHECK(JsonString("") == "\"\"");
  CHECK(JsonString("a\"b\\c") == R"("a\"b\\c")");
  CHECK(JsonString("l1\nl2\r\t\b\f") == R"("l1\nl2\r\t\b\f")");
  CHECK(JsonString(std::string("\x00\x1b\x7f", 3)) == R"("\u0000\u001b\u007f")");
}

TEST_CASE("JsonString keeps valid UTF-8 and escapes every other byte") {
  CHECK(JsonString("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80") ==
        "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(JsonString("\xff") == R"("\u00ff")");
  CHECK(JsonString("a\xc3") == R"("a\u00c3")");             // truncated sequence
  CHECK(JsonString("\xc0\xaf") == R"("\u00c0\u00af")");     // overlong '/'
  CHECK(JsonString("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")");  // a surrogate
  CHECK(JsonString("\xf4\x90\x80\x80") == R"("\u00f4\u0090\u0080\u0080")");  // > U+10FFFF
  CHECK(JsonString("\xc3\xa9\xff\xc3\xa9") == "\"\xc3\xa9\\u00ff\xc3\xa9\"");
}

TEST_CASE("a record as one JSON line, with nulls and headers") {
  client::ConsumerRecord r;
  r.topic = "orders";
  r.partition = 3;
  r.offset = 42;
  r.timestamp_ms = 1700000000000;
  r.key = "k1";
  r.value = "say \"hi\"\n";
  r.headers = {{"source", "web"}, {"trace", std::nullopt}};
  CHECK(FormatRecordJson(r) ==
        R"({"topic":"orders","partition":3,"offset":42,"timestamp":1700000000000,"key":"k1",)"
        R"("headers":[{"key":"source","value":"web"},{"key":"trace","value":null}],)"
        R"("value":"say \"hi\"\n"})");
  r.key.reset();
  r.value.reset();
  r.headers.clear();
  CHECK(FormatRecordJson(r) ==
        R"({"topic":"orders","partition":3,"offset":42,"timestamp":1700000000000,"key":null,)"
        R"("headers":[],"value":null})");
}

TEST_CASE("a record as text: the value, optionally after its key") {
  client::ConsumerRecord r;
  r.key = "k";
  r.value = "v";
  CHECK(FormatRecordText(r, false) == "v");
  CHECK(FormatRecordText(r, true) == "k\tv");
  r.key.reset();
  r.value.reset();
  CHECK(FormatRecordText(r, true) == "null\tnull");
}

TEST_CASE("--from accepts earliest, latest, an offset and @timestamp") {
  CHECK(*ParseFrom("earliest") == SeekTarget::Earliest());
  CHECK(*ParseFrom("latest") == SeekTarget::Latest());
  CHECK(*ParseFrom("0") == SeekTarget::Offset(0));
  CHECK(*ParseFrom("1200") == SeekTarget::Offset(1200));
  CHECK(*ParseFrom("@1700000000000") == SeekTarget::Timestamp(1700000000000));
  for (const char* bad : {"", "-1", "@", "@-5", "beginning", "12x", "@abc", "Earliest"}) {
    INFO(bad);
    auto parsed = ParseFrom(bad);
    REQUIRE(absl::IsInvalidArgument(parsed.status()));
    CHECK_THAT(std::string(parsed.status().message()), Catch::Matchers::Contains("earliest"));
  }
}

TEST_CASE("--acks, --compression and KEY=VALUE") {
  CHECK(*ParseAcks("0") == 0);
  CHECK(*ParseAcks("1") == 1);
  CHECK(*ParseAcks("all") == -1);
  CHECK(*ParseAcks("-1") == -1);
  CHECK_FALSE(ParseAcks("2").ok());
  CHECK(*ParseCompression("none") == record::Compression::kNone);
  CHECK(*ParseCompression("lz4") == record::Compression::kLz4);
  CHECK_FALSE(ParseCompression("gzip").ok());
  CHECK(*ParseKeyValue("retention_ms=100", "--config") ==
        std::pair<std::string, std::string>("retention_ms", "100"));
  CHECK(*ParseKeyValue("a=b=c", "-H") == std::pair<std::string, std::string>("a", "b=c"));
  CHECK(*ParseKeyValue("a=", "-H") == std::pair<std::string, std::string>("a", ""));
  CHECK_FALSE(ParseKeyValue("novalue", "-H").ok());
  CHECK_FALSE(ParseKeyValue("=v", "-H").ok());
}

TEST_CASE("consume starts at earliest, or latest when following") {
  CHECK(DefaultFrom(false) == SeekTarget::Earliest());
  CHECK(DefaultFrom(true) == SeekTarget::Latest());
}


using Catch::Matchers::Contains;

client::TopicInfo Topic(bool replicated) {
  client::TopicInfo t;
  t.name = "orders";
  t.replication_factor = replicated ? 3 : 1;
  t.min_insync_replicas = replicated ? 2 : 1;
  for (int32_t i = 0; i < 3; ++i) {
    client::PartitionInfo p;
    p.index = i;
    p.leader = replicated ? i + 1 : 0;
    p.leader_epoch = 4;
    p.high_watermark = 10;
    if (replicated) {
      p.replicas = {1, 2, 3};
      p.isr = i == 0 ? std::vector<int32_t>{1, 2, 3} : std::vector<int32_t>{i + 1};
    }
    t.partitions.push_back(p);
  }
  return t;
}

TEST_CASE("topic describe shows replicas and ISR in a cluster, and not on one broker") {
  std::ostringstream one;
  PrintTopicPartitions(Topic(false), one);
  CHECK_THAT(one.str(), Contains("topic orders: 3 partitions\n"));
  CHECK_THAT(one.str(), !Contains("replicas"));
  CHECK_THAT(one.str(), Contains("partition  leader  epoch  log_start   log_end     records"));

  std::ostringstream many;
  PrintTopicPartitions(Topic(true), many);
  CHECK_THAT(many.str(),
             Contains("topic orders: 3 partitions, replication factor 3, min in-sync replicas 2"));
  CHECK_THAT(many.str(), Contains("1,2,3       1,2,3"));
  CHECK_THAT(many.str(), Contains("1,2,3       2 "));
  CHECK_THAT(many.str(), Contains("below min ISR"));
}

TEST_CASE("cluster status lists brokers and issues, and is unhealthy when a partition is offline") {
  client::ClusterStatus status;
  status.cluster_name = "prod";
  status.controller_id = 1;
  status.controller_epoch = 7;
  status.brokers = {{1, "10.0.0.1", 9292, true, false, 3},
                    {2, "10.0.0.2", 9292, true, true, 4},
                    {3, "", 0, false, false, 0}};
  status.partitions = 12;
  status.under_replicated = 1;
  std::ostringstream healthy;
  status.issues = {{"orders", 0, "under-replicated", 1, 4, {1, 2, 3}, {1, 2}}};
  CHECK(PrintClusterStatus(status, healthy));
  CHECK_THAT(healthy.str(), Contains("controller 1 (epoch 7)"));
  CHECK_THAT(healthy.str(), Contains("10.0.0.2:9292           alive, shutting down"));
  CHECK_THAT(healthy.str(), Contains("DOWN"));
  CHECK_THAT(healthy.str(), Contains("orders-0"));
  CHECK_THAT(healthy.str(), Contains("degraded: 1 partition under-replicated"));

  status.offline = 1;
  status.issues.push_back({"orders", 5, "offline", -1, 6, {3}, {}});
  std::ostringstream offline;
  CHECK_FALSE(PrintClusterStatus(status, offline));
  CHECK_THAT(offline.str(), Contains("UNHEALTHY: 1 partition offline"));
  CHECK_THAT(offline.str(), Contains("none"));

  status.offline = 0;
  status.below_min_isr = 2;
  std::ostringstream below;
  CHECK_FALSE(PrintClusterStatus(status, below));
  CHECK_THAT(below.str(), Contains("below min in-sync replicas"));
}

}  // namespace
}  // namespace strata::cli
