#include "broker/config.h"

#include <catch2/catch.hpp>

namespace strata::broker {
namespace {

TEST_CASE("host:port parsing", "[broker][config]") {
  auto hp = ParseHostPort("127.0.0.1:9292");
  REQUIRE(hp.ok());
  CHECK(hp->host == "127.0.0.1");
  CHECK(hp->port == 9292);
  CHECK(ParseHostPort("[::1]:0")->host == "::1");
  CHECK(ParseHostPort("[::1]:0")->ToString() == "[::1]:0");
  CHECK(!ParseHostPort("localhost").ok());
  CHECK(!ParseHostPort(":9292").ok());
  CHECK(!ParseHostPort("host:70000").ok());
  CHECK(!ParseHostPort("host:abc").ok());
}

TEST_CASE("the Kafka listener is off unless kafka_listen sets it", "[broker][config]") {
  CHECK_FALSE(BrokerConfig{}.kafka_listen.has_value());
  auto on = ParseBrokerToml("kafka_listen = \"127.0.0.1:9092\"\n"
                            "kafka_advertised_listen = \"kafka.example:9092\"\n",
                            BrokerConfig{});
  REQUIRE(on.ok());
  REQUIRE(on->kafka_listen.has_value());
  CHECK(on->kafka_listen->port == 9092);
  CHECK(on->kafka_advertised_listen == "kafka.example:9092");
  auto off = ParseBrokerToml("kafka_listen = \"off\"\n", *on);
  REQUIRE(off.ok());
  CHECK_FALSE(off->kafka_listen.has_value());
  // Clients cannot dial 0.0.0.0: an advertised address must be one they can.
  auto unroutable =
      ParseBrokerToml("kafka_advertised_listen = \"0.0.0.0:9092\"\n", BrokerConfig{});
  REQUIRE_FALSE(unroutable.ok());
  CHECK(unroutable.status().message().find("kafka_advertised_listen") != std::string::npos);
  auto every_address = ParseBrokerToml("kafka_listen = \"0.0.0.0:9092\"\n", BrokerConfig{});
  REQUIRE_FALSE(every_address.ok());
  CHECK(every_address.status().message().find("kafka_advertised_listen") != std::string::npos);
  CHECK(ParseBrokerToml("kafka_listen = \"0.0.0.0:9092\"\n"
                        "kafka_advertised_listen = \"10.0.0.1:9092\"\n",
                        BrokerConfig{})
            .ok());
}

TEST_CASE("the TOML subset sets keys and refuses unknown ones", "[broker][config]") {
  auto c = ParseBrokerToml(
      "# a comment\n"
      "data_dir = \"/tmp/x y\"   # trailing comment\n"
      "\n"
      "listen = \"0.0.0.0:1234\"\n"
      "metrics_listen = \"off\"\n"
      "node_id = 3\n"
      "log_level = \"warn\"\n",
      BrokerConfig{});
  REQUIRE(c.ok());
  CHECK(c->data_dir == "/tmp/x y");
  CHECK(c->listen.port == 1234);
  CHECK(!c->metrics_enabled);
  CHECK(c->node_id == 3);
  CHECK(c->log_level == "warn");

  auto unknown = ParseBrokerToml("listen = \"127.0.0.1:1\"\nlisten_port = 5\n", BrokerConfig{});
  REQUIRE(!unknown.ok());
  CHECK(unknown.status().message().find("line 2") != std::string::npos);
  CHECK(unknown.status().message().find("listen_port") != std::string::npos);

  CHECK(!ParseBrokerToml("node_id = \"three\"\n", BrokerConfig{}).ok());
  CHECK(!ParseBrokerToml("data_dir = 5\n", BrokerConfig{}).ok());
  // An unquoted address says how to write it.
  auto unquoted = ParseBrokerToml("listen = 127.0.0.1:9300\n", BrokerConfig{});
  REQUIRE(!unquoted.ok());
  CHECK(unquoted.status().message().find("need double quotes, e.g. \"127.0.0.1:9300\"") !=
        std::string::npos);
  CHECK(!ParseBrokerToml("[server]\n", BrokerConfig{}).ok());
  CHECK(!ParseBrokerToml("node_id = 1\nnode_id = 2\n", BrokerConfig{}).ok());
  CHECK(!ParseBrokerToml("data_dir = \"unterminated\n", BrokerConfig{}).ok());
  CHECK(!ParseBrokerToml("log_level = \"loud\"\n", BrokerConfig{}).ok());
  CHECK(!ParseBrokerToml("node_id = -1\n", BrokerConfig{}).ok());
}

TEST_CASE("log_append_path chooses pwrite or the mapping for appends", "[broker][config]") {
  CHECK(BrokerConfig{}.log_append_path == log::AppendPath::kWrite);
  auto mmap = ParseBrokerToml("log_append_path = \"mmap\"\n", BrokerConfig{});
  REQUIRE(mmap.ok());
  CHECK(mmap->log_append_path == log::AppendPath::kMapping);
  auto write = ParseBrokerToml("log_append_path = \"write\"\n", *mmap);
  REQUIRE(write.ok());
  CHECK(write->log_append_path == log::AppendPath::kWrite);
  auto bad = ParseBrokerToml("log_append_path = \"direct\"\n", BrokerConfig{});
  REQUIRE(!bad.ok());
  CHECK(bad.status().message().find("log_append_path") != std::string::npos);
  CHECK(bad.status().message().find("\"write\" or \"mmap\"") != std::string::npos);
}

}  // namespace
}  // namespace strata::broker
