// Tests for the range and roundrobin assignors (Kafka's documented examples, static members,
// absent topics) and, for all three assignors, a randomized check that every existing
// subscribed partition goes to exactly one subscribed member, that the result is balanced by
// each assignor's own rule, and that it does not depend on the order members arrive in.
// cooperative-sticky's own tests are in sticky_assignor_test.cc.
#include "client/assignor.h"

#include <catch2/catch.hpp>
#include <iostream>
#include <random>

#include "client/assignor_test_util.h"

namespace strata::client {
namespace {

using testing::CheckBalanced;
using testing::CheckValid;
using testing::Show;
using testing::Sub;
using testing::Topics;

GroupAssignment Run(std::string_view assignor, const Topics& topics,
                    const std::vector<MemberSubscription>& members) {
  std::unique_ptr<Assignor> a = MakeAssignor(assignor);
  REQUIRE(a != nullptr);
  return a->Assign(topics, members);
}

TEST_CASE("MakeAssignor knows every name in AssignorNames and nothing else") {
  const std::vector<std::string> names = AssignorNames();
  CHECK(names == std::vector<std::string>{"range", "roundrobin", "cooperative-sticky"});
  for (const std::string& name : names) {
    std::unique_ptr<Assignor> a = MakeAssignor(name);
    REQUIRE(a != nullptr);
    CHECK(a->name() == name);
    CHECK(a->protocol() == (name == "cooperative-sticky" ? RebalanceProtocol::kCooperative
                                                         : RebalanceProtocol::kEager));
  }
  CHECK(MakeAssignor("sticky") == nullptr);
  CHECK(MakeAssignor("") == nullptr);
  CHECK(MakeAssignor("Range") == nullptr);
}

TEST_CASE("range: Kafka's example, two members and two topics of three partitions") {
  const Topics topics{{"t0", 3}, {"t1", 3}};
  const auto a = Run("range", topics, {Sub("C1", {"t0", "t1"}), Sub("C0", {"t0", "t1"})});
  const GroupAssignment want{{"C0", {{"t0", 0}, {"t0", 1}, {"t1", 0}, {"t1", 1}}},
                             {"C1", {{"t0", 2}, {"t1", 2}}}};
  CHECK(Show(a) == Show(want));
}

TEST_CASE("range: each topic is split among its own subscribers only") {
  const Topics topics{{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const auto a = Run("range", topics,
                     {Sub("C0", {"t0"}), Sub("C1", {"t0", "t1"}), Sub("C2", {"t0", "t1", "t2"})});
  const GroupAssignment want{{"C0", {{"t0", 0}}},
                             {"C1", {{"t1", 0}}},
                             {"C2", {{"t1", 1}, {"t2", 0}, {"t2", 1}, {"t2", 2}}}};
  CHECK(Show(a) == Show(want));
}

TEST_CASE("range: the first partitions % members members get one extra") {
  const auto a = Run("range", {{"t", 8}}, {Sub("a", {"t"}), Sub("b", {"t"}), Sub("c", {"t"})});
  CHECK(Show(a) == "a: [t-0 t-1 t-2]\nb: [t-3 t-4 t-5]\nc: [t-6 t-7]\n");
}

TEST_CASE("range: static members sort by instance id, before dynamic members") {
  // Member ids are random per join; instance ids are what keep a static member in its slot.
  const std::vector<MemberSubscription> members{Sub("aaa", {"t"}),
                                                Sub("zzz", {"t"}, {}, -1, "instance-1"),
                                                Sub("mmm", {"t"}, {}, -1, "instance-0")};
  const auto a = Run("range", {{"t", 3}}, members);
  CHECK(Show(a) == "aaa: [t-2]\nmmm: [t-0]\nzzz: [t-1]\n");
}

TEST_CASE("roundrobin: Kafka's example with equal subscriptions") {
  const Topics topics{{"t0", 3}, {"t1", 3}};
  const auto a = Run("roundrobin", topics, {Sub("C0", {"t0", "t1"}), Sub("C1", {"t0", "t1"})});
  CHECK(Show(a) == "C0: [t0-0 t0-2 t1-1]\nC1: [t0-1 t1-0 t1-2]\n");
}

TEST_CASE("roundrobin: Kafka's example with unequal subscriptions skips non-subscribers") {
  const Topics topics{{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const auto a = Run("roundrobin", topics,
                     {Sub("C2", {"t0", "t1", "t2"}), Sub("C0", {"t0"}), Sub("C1", {"t0", "t1"})});
  CHECK(Show(a) == "C0: [t0-0]\nC1: [t1-0]\nC2: [t1-1 t2-0 t2-1 t2-2]\n");
}

TEST_CASE("every assignor: no members, no subscriptions, topics that do not exist") {
  for (const std::string& name : AssignorNames()) {
    INFO(name);
    CHECK(Run(name, {{"t", 4}}, {}).empty());
    const auto a = Run(name, {{"t", 4}}, {Sub("idle", {}), Sub("lost", {"gone"}), Sub("w", {"t"})});
    CHECK(Show(a) == "idle: []\nlost: []\nw: [t-0 t-1 t-2 t-3]\n");
    // A topic with no partitions (or a nonsensical negative count) has nothing to assign.
    const auto empty = Run(name, {{"t", 0}, {"u", -3}}, {Sub("w", {"t", "u"})});
    CHECK(Show(empty) == "w: []\n");
  }
}

TEST_CASE("every assignor: a duplicated topic in a subscription counts once") {
  for (const std::string& name : AssignorNames()) {
    INFO(name);
    const auto a = Run(name, {{"t", 4}}, {Sub("a", {"t", "t"}), Sub("b", {"t"})});
    CHECK(CheckValid({{"t", 4}}, {Sub("a", {"t"}), Sub("b", {"t"})}, a, true).empty());
    CHECK(a.at("a").size() == 2);
  }
}

// Each assignor's balance rule: range balances each topic among its subscribers; roundrobin
// balances everything when subscriptions are equal; cooperative-sticky always by CheckBalanced
// (its own tests check it with unequal subscriptions too).
std::string CheckAssignorBalance(const std::string& name, const Topics& topics,
                                 const std::vector<MemberSubscription>& members,
                                 const GroupAssignment& a, bool equal) {
  if (name == "range") {
    std::ostringstream problems;
    for (const auto& [topic, count] : topics) {
      std::vector<size_t> per_member;
      for (const MemberSubscription& m : members) {
        if (!testing::Subscribes(m, topic)) continue;
        size_t n = 0;
        for (const TopicPartition& tp : a.at(m.member_id)) n += tp.topic == topic;
        per_member.push_back(n);
      }
      if (per_member.empty()) continue;
      const auto [lo, hi] = std::minmax_element(per_member.begin(), per_member.end());
      if (*hi > *lo + 1) problems << topic << " split " << *lo << " to " << *hi << "\n";
    }
    return problems.str();
  }
  if (name == "roundrobin" && !equal) return "";
  return CheckBalanced(members, a);
}

TEST_CASE("every assignor, random groups: exactly once, subscribed, balanced, order-independent") {
  const uint64_t seed = testing::SeedFromEnv();
  std::cout << "assignor random groups: STRATA_SEED=" << seed << std::endl;
  INFO("replay with STRATA_SEED=" << seed);
  std::mt19937_64 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int round = 0; round < 300; ++round) {
    INFO("round " << round);
    Topics topics;
    const int topic_count = uniform(1, 4);
    for (int t = 0; t < topic_count; ++t) topics["t" + std::to_string(t)] = uniform(1, 9);
    std::vector<std::string> names;
    for (const auto& [t, n] : topics) names.push_back(t);
    names.push_back("gone");  // subscribed by some, does not exist
    const bool equal = uniform(0, 1) == 0;
    std::vector<std::string> common;
    for (const std::string& t : names) {
      if (uniform(0, 1) == 0) common.push_back(t);
    }
    std::vector<MemberSubscription> members;
    const int member_count = uniform(1, 7);
    for (int i = 0; i < member_count; ++i) {
      std::vector<std::string> subscribed = common;
      if (!equal) {
        subscribed.clear();
        for (const std::string& t : names) {
          if (uniform(0, 2) == 0) subscribed.push_back(t);
        }
      }
      std::optional<std::string> instance;
      if (uniform(0, 2) == 0) instance = "instance-" + std::to_string(uniform(0, 99));
      members.push_back(Sub("member-" + std::to_string(uniform(0, 9999)) + "-" + std::to_string(i),
                            subscribed, {}, -1, instance));
    }
    INFO("members:\n" << Show(members));
    for (const std::string& name : AssignorNames()) {
      INFO(name);
      const GroupAssignment a = Run(name, topics, members);
      INFO("assignment:\n" << Show(a));
      CHECK(CheckValid(topics, members, a, /*complete=*/true) == "");
      CHECK(CheckAssignorBalance(name, topics, members, a, equal) == "");
      std::vector<MemberSubscription> shuffled = members;
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      CHECK(Show(Run(name, topics, shuffled)) == Show(a));
    }
  }
}

}  // namespace
}  // namespace strata::client
