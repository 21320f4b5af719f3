#include "cluster/metadata.h"

#include <catch2/catch.hpp>
#include <set>

#include "cluster/controller.h"

namespace strata::cluster {
namespace {

TEST_CASE("Keys parse what they build") {
  Keys keys("c1");
  CHECK(keys.root() == "/strata/c1/");
  auto broker = keys.Parse(keys.broker(7));
  REQUIRE(broker);
  CHECK(broker->kind == Keys::Parsed::Kind::kBroker);
  CHECK(broker->broker_id == 7);
  auto partition = keys.Parse(keys.partition("orders.v1", 12));
  REQUIRE(partition);
  CHECK(partition->kind == Keys::Parsed::Kind::kPartition);
  CHECK(partition->partition == TopicPartitionId{"orders.v1", 12});
  CHECK(keys.Parse(keys.topic("t"))->partition.topic == "t");
  CHECK(keys.Parse(keys.controller())->kind == Keys::Parsed::Kind::kController);
  CHECK_FALSE(keys.Parse("/strata/other/controller"));
  CHECK_FALSE(keys.Parse("/strata/c1/brokers/x"));
  CHECK_FALSE(keys.Parse("/strata/c1/partitions/t/"));
}

TEST_CASE("Records round-trip through JSON, and garbage is DataLoss") {
  PartitionState state{{1, 2, 3}, 2, 5, {2, 3}, 9, 0, -1, {{2, 100}, {3, 101}}, 3};
  auto decoded = DecodePartition(EncodePartition(state));
  REQUIRE(decoded.ok());
  CHECK(*decoded == state);
  TopicRecord topic{"t", 3, 2, {{"retention_ms", "1000"}}, {{1, 2, 3}, {2, 3, 1}}};
  CHECK(*DecodeTopic(EncodeTopic(topic)) == topic);
  BrokerInfo broker{4, "127.0.0.4", 9292, 0, true};
  CHECK(*DecodeBroker(EncodeBroker(broker)) == broker);
  BrokerInfo with_kafka{5, "127.0.0.5", 9292, 0, false, "10.0.0.5", 9092};
  CHECK(*DecodeBroker(EncodeBroker(with_kafka)) == with_kafka);
  CHECK(absl::IsDataLoss(DecodePartition("{\"leader\": 1}").status()));
  // Records written before isr_epochs and last_leader existed read with every member current.
  auto old = DecodePartition(
      R"({"replicas":[1,2],"leader":1,"leader_epoch":0,"isr":[1,2],"partition_epoch":0})");
  REQUIRE(old.ok());
  CHECK(old->isr_epochs.empty());
  CHECK(old->last_leader == kNoLeader);
  CHECK(absl::IsDataLoss(
      DecodePartition(R"({"replicas":[1],"leader":1,"leader_epoch":0,"isr":[1],)"
                      R"("partition_epoch":0,"isr_epochs":{"x":1}})")
          .status()));
  CHECK(absl::IsDataLoss(DecodeBroker("not json").status()));
}

TEST_CASE("AssignReplicas spreads leaders and replicas evenly") {
  auto replicas = AssignReplicas({3, 1, 2}, 6, 3, 0);
  REQUIRE(replicas.ok());
  std::map<int32_t, int> leads, holds;
  for (const auto& r : *replicas) {
    REQUIRE(r.size() == 3);
    CHECK(std::set<int32_t>(r.begin(), r.end()).size() == 3);
    leads[r.front()]++;
    for (int32_t b : r) holds[b]++;
  }
  CHECK(leads == std::map<int32_t, int>{{1, 2}, {2, 2}, {3, 2}});
  CHECK(holds == std::map<int32_t, int>{{1, 6}, {2, 6}, {3, 6}});
  auto refused = AssignReplicas({1, 2}, 1, 3, 0);
  REQUIRE(absl::IsInvalidArgument(refused.status()));
  CHECK(refused.status().message().find("more than the 2 live broker") != std::string::npos);
}

TEST_CASE("Defaults follow the cluster's size") {
  CHECK(DefaultReplicationFactor(1) == 1);
  CHECK(DefaultReplicationFactor(2) == 2);
  CHECK(DefaultReplicationFactor(5) == 3);
  CHECK(DefaultMinInsyncReplicas(3) == 2);
  CHECK(DefaultMinInsyncReplicas(2) == 1);
}

}  // namespace
}  // namespace strata::cluster
