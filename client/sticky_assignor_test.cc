// Tests for cooperative-sticky: Kafka's documented sticky examples, members joining and leaving,
// generations deciding between claims, dropped claims, and a randomized property test over
// random topics, members and ownership that checks, round after round: the plan is complete and
// balanced; no partition is handed to a member while another member that owns it still claims it,
// and nothing else is withheld; owned partitions stay put as far as balance allows; after the
// owners revoke, the second round is complete, balanced and moves nothing.
// The seed is printed; STRATA_SEED=<n> replays a run.
#include "client/sticky_assignor.h"

#include <catch2/catch.hpp>
#include <iostream>
#include <random>
#include <tuple>

#include "client/assignor_test_util.h"

namespace strata::client {
namespace {

using testing::CheckBalanced;
using testing::CheckValid;
using testing::Show;
using testing::Sub;
using testing::Subscribes;
using testing::Topics;

GroupAssignment Assign(const Topics& topics, const std::vector<MemberSubscription>& members) {
  return CooperativeStickyAssignor().Assign(topics, members);
}

// What the members own after adopting `a` in a cooperative rebalance: exactly their assignment
// (they revoked the rest), at the new generation.
std::vector<MemberSubscription> Adopt(std::vector<MemberSubscription> members,
                                      const GroupAssignment& a, int32_t generation) {
  for (MemberSubscription& m : members) {
    m.owned_partitions = a.at(m.member_id);
    m.generation = generation;
  }
  return members;
}

bool Holds(const GroupAssignment& a, const std::string& member, const TopicPartition& tp) {
  const auto& tps = a.at(member);
  return std::find(tps.begin(), tps.end(), tp) != tps.end();
}

bool Includes(const std::vector<TopicPartition>& big, const std::vector<TopicPartition>& small) {
  return std::includes(big.begin(), big.end(), small.begin(), small.end());
}

TEST_CASE("cooperative-sticky: Kafka's example 1, then a member leaves") {
  const Topics topics{{"t0", 2}, {"t1", 2}, {"t2", 2}, {"t3", 2}};
  const std::vector<std::string> all{"t0", "t1", "t2", "t3"};
  const auto first = Assign(topics, {Sub("C0", all), Sub("C1", all), Sub("C2", all)});
  CHECK(Show(first) == "C0: [t0-0 t1-1 t3-0]\nC1: [t0-1 t2-0 t3-1]\nC2: [t1-0 t2-1]\n");
  // C1 leaves. Nobody owns its partitions any more, so they are handed out at once, and C0 and C2
  // keep everything they had (roundrobin would move 4 of their 5).
  const auto second =
      Assign(topics, {Sub("C0", all, first.at("C0"), 1), Sub("C2", all, first.at("C2"), 1)});
  CHECK(Show(second) == "C0: [t0-0 t1-1 t2-0 t3-0]\nC2: [t0-1 t1-0 t2-1 t3-1]\n");
  CHECK(Includes(second.at("C0"), first.at("C0")));
  CHECK(Includes(second.at("C2"), first.at("C2")));
}

TEST_CASE("cooperative-sticky: Kafka's example 2, unequal subscriptions, then a member leaves") {
  const Topics topics{{"t0", 1}, {"t1", 2}, {"t2", 3}};
  const auto first =
      Assign(topics, {Sub("C0", {"t0"}), Sub("C1", {"t0", "t1"}), Sub("C2", {"t0", "t1", "t2"})});
  CHECK(Show(first) == "C0: [t0-0]\nC1: [t1-0 t1-1]\nC2: [t2-0 t2-1 t2-2]\n");
  const auto second = Assign(topics, {Sub("C1", {"t0", "t1"}, first.at("C1"), 1),
                                      Sub("C2", {"t0", "t1", "t2"}, first.at("C2"), 1)});
  CHECK(Show(second) == "C1: [t0-0 t1-0 t1-1]\nC2: [t2-0 t2-1 t2-2]\n");
}

TEST_CASE("cooperative-sticky: a joining member gets the minimum, one round after revocation") {
  const Topics topics{{"t", 6}};
  std::vector<MemberSubscription> members{Sub("A", {"t"}, {{"t", 0}, {"t", 1}, {"t", 2}}, 3),
                                          Sub("B", {"t"}, {{"t", 3}, {"t", 4}, {"t", 5}}, 3),
                                          Sub("C", {"t"})};
  const StickyPlan plan = PlanCooperativeSticky(topics, members);
  INFO("plan:\n" << Show(plan.balanced));
  // Balanced needs two partitions for C; each comes from A or B, and each of them keeps two.
  CHECK(plan.balanced.at("A").size() == 2);
  CHECK(plan.balanced.at("B").size() == 2);
  CHECK(Includes(members[0].owned_partitions, plan.balanced.at("A")));
  CHECK(Includes(members[1].owned_partitions, plan.balanced.at("B")));
  CHECK(plan.withheld == plan.balanced.at("C"));
  // The example of docs/consumer-groups.md.
  CHECK(Show(plan.balanced) == "A: [t-1 t-2]\nB: [t-4 t-5]\nC: [t-0 t-3]\n");

  // Round 1: A and B still hold what C is to get, so C gets nothing yet.
  const auto round1 = Assign(topics, members);
  CHECK(round1.at("C").empty());
  CHECK(round1.at("A") == plan.balanced.at("A"));
  CHECK(round1.at("B") == plan.balanced.at("B"));
  // Round 2, after A and B revoked: C gets the two freed partitions, nothing else moves.
  const auto round2 = Assign(topics, Adopt(members, round1, 4));
  CHECK(Show(round2) == Show(plan.balanced));

  // C's claim on t-0 from generation 2 is stale next to A's from generation 3: same rounds.
  std::vector<MemberSubscription> stale = members;
  stale[2].owned_partitions = {{"t", 0}};
  stale[2].generation = 2;
  CHECK(Show(Assign(topics, stale)) == Show(round1));
}

TEST_CASE("cooperative-sticky: a leaving member's partitions go out at once; nobody else moves") {
  const Topics topics{{"t", 6}};
  const std::vector<MemberSubscription> members{Sub("A", {"t"}, {{"t", 0}, {"t", 1}}, 7),
                                                Sub("B", {"t"}, {{"t", 2}, {"t", 3}}, 7)};
  const auto a = Assign(topics, members);  // C, which held t-4 and t-5, has left
  CHECK(CheckValid(topics, members, a, /*complete=*/true) == "");
  CHECK(Includes(a.at("A"), members[0].owned_partitions));
  CHECK(Includes(a.at("B"), members[1].owned_partitions));
  CHECK(a.at("A").size() == 3);
  CHECK(PlanCooperativeSticky(topics, members).withheld.empty());
}

TEST_CASE("cooperative-sticky: the higher generation's claim wins") {
  const Topics topics{{"t", 2}};
  // B's claim on t-0 is from generation 4; A got t-0 in generation 5, so it is A's.
  const auto a =
      Assign(topics, {Sub("A", {"t"}, {{"t", 0}}, 5), Sub("B", {"t"}, {{"t", 0}, {"t", 1}}, 4)});
  CHECK(Show(a) == "A: [t-0]\nB: [t-1]\n");

  // A owns both in generation 5. Balance moves one to B; that B also claims it from generation 4
  // does not make B its owner, so it is withheld until A has revoked it.
  const std::vector<MemberSubscription> members{Sub("A", {"t"}, {{"t", 0}, {"t", 1}}, 5),
                                                Sub("B", {"t"}, {{"t", 0}}, 4)};
  const StickyPlan plan = PlanCooperativeSticky(topics, members);
  CHECK(plan.balanced.at("B").size() == 1);
  CHECK(plan.withheld == plan.balanced.at("B"));
  const auto round1 = Assign(topics, members);
  CHECK(round1.at("B").empty());
  CHECK(round1.at("A").size() == 1);
  const auto round2 = Assign(topics, Adopt(members, round1, 6));
  CHECK(Show(round2) == Show(plan.balanced));
}

TEST_CASE("cooperative-sticky: of equal-generation claims the first member in order keeps it") {
  const Topics topics{{"t", 2}};
  const std::vector<MemberSubscription> members{Sub("B", {"t"}, {{"t", 0}}, 5),
                                                Sub("A", {"t"}, {{"t", 0}}, 5)};
  // A keeps t-0 (it holds it already, so nothing new starts consuming); B, which also held it,
  // sees it missing and revokes it.
  CHECK(Show(Assign(topics, members)) == "A: [t-0]\nB: [t-1]\n");
}

TEST_CASE("cooperative-sticky: claims of unsubscribed topics and missing partitions are dropped") {
  const Topics topics{{"t", 4}, {"u", 1}};
  // A has left u and still claims u-0, plus a partition and a topic that no longer exist.
  const std::vector<MemberSubscription> members{
      Sub("A", {"t"}, {{"t", 0}, {"t", 1}, {"t", 2}, {"t", 3}, {"u", 0}, {"t", 9}, {"gone", 0}}, 2),
      Sub("B", {"t", "u"}, {}, 2)};
  const StickyPlan plan = PlanCooperativeSticky(topics, members);
  INFO("plan:\n" << Show(plan.balanced));
  CHECK(CheckValid(topics, members, plan.balanced, /*complete=*/true) == "");
  CHECK(plan.balanced.at("A").size() == 3);
  CHECK(Holds(plan.balanced, "B", {"u", 0}));
  // A still holds u-0 and the t partition B is to get: both wait for A to revoke them.
  CHECK(plan.withheld == plan.balanced.at("B"));
  const auto round1 = Assign(topics, members);
  CHECK(round1.at("B").empty());
  CHECK(round1.at("A") == plan.balanced.at("A"));
  CHECK(Show(Assign(topics, Adopt(members, round1, 3))) == Show(plan.balanced));
}

// --- The randomized property test -------------------------------------------------------------

// The member order of assignor.h, written out again so the test does not trust the code it checks.
bool Before(const MemberSubscription* a, const MemberSubscription* b) {
  auto key = [](const MemberSubscription* m) {
    return std::make_tuple(!m->group_instance_id.has_value(), m->group_instance_id.value_or(""),
                           m->member_id);
  };
  return key(a) < key(b);
}

struct Ownership {
  std::vector<std::string> owners;  // the claimants of the highest generation
  std::optional<std::string> home;  // the first of them in member order that still subscribes
};

std::map<TopicPartition, Ownership> Owners(const Topics& topics,
                                           const std::vector<MemberSubscription>& members) {
  const std::set<TopicPartition> assignable = testing::Assignable(topics, members);
  std::vector<const MemberSubscription*> sorted;
  for (const MemberSubscription& m : members) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), Before);
  std::map<TopicPartition, int32_t> top;
  for (const MemberSubscription* m : sorted) {
    for (const TopicPartition& tp : m->owned_partitions) {
      if (!assignable.contains(tp)) continue;
      auto [it, fresh] = top.emplace(tp, m->generation);
      if (!fresh) it->second = std::max(it->second, m->generation);
    }
  }
  std::map<TopicPartition, Ownership> out;
  for (const MemberSubscription* m : sorted) {
    std::set<TopicPartition> claims(m->owned_partitions.begin(), m->owned_partitions.end());
    for (const TopicPartition& tp : claims) {
      if (!top.contains(tp) || top.at(tp) != m->generation) continue;
      Ownership& o = out[tp];
      o.owners.push_back(m->member_id);
      if (!o.home && Subscribes(*m, tp.topic)) o.home = m->member_id;
    }
  }
  return out;
}

bool AllSubscriptionsEqual(const std::vector<MemberSubscription>& members) {
  auto set = [](const MemberSubscription& m) {
    return std::set<std::string>(m.topics.begin(), m.topics.end());
  };
  for (const MemberSubscription& m : members) {
    if (set(m) != set(members.front())) return false;
  }
  return true;
}

// The most owned partitions any balanced assignment keeps, for equal subscriptions: every member
// ends with q or q+1 (r of them with q+1), and a member keeps at most min(owned, its count).
size_t OptimalKept(const Topics& topics, const std::vector<MemberSubscription>& members,
                   const std::map<TopicPartition, Ownership>& owners) {
  const size_t partitions = testing::Assignable(topics, members).size();
  const size_t q = partitions / members.size();
  const size_t r = partitions % members.size();
  size_t kept = 0;
  size_t rich = 0;
  for (const MemberSubscription& m : members) {
    size_t owned = 0;
    for (const auto& [tp, o] : owners) owned += o.home == m.member_id;
    kept += std::min(owned, q);
    rich += owned > q;
  }
  return kept + std::min(rich, r);
}

// Every property of one round with `members` as input.
std::string CheckRound(const Topics& topics, const std::vector<MemberSubscription>& members,
                       const StickyPlan& plan, const GroupAssignment& out) {
  std::ostringstream problems;
  problems << CheckValid(topics, members, plan.balanced, /*complete=*/true);
  problems << CheckBalanced(members, plan.balanced);
  problems << CheckValid(topics, members, out, /*complete=*/false);
  const auto owners = Owners(topics, members);
  // Withheld: exactly the partitions the plan gives to someone other than a current owner.
  for (const auto& [member, tps] : plan.balanced) {
    for (const TopicPartition& tp : tps) {
      const std::string name = tp.topic + "-" + std::to_string(tp.partition);
      auto it = owners.find(tp);
      const bool safe = it == owners.end() ||
                        std::find(it->second.owners.begin(), it->second.owners.end(), member) !=
                            it->second.owners.end();
      const bool given = Holds(out, member, tp);
      if (given && !safe) problems << name << " given to " << member << " while owned elsewhere\n";
      if (!given && safe) problems << name << " withheld from " << member << " needlessly\n";
    }
  }
  // Stickiness, for any subscriptions: no member gave up a partition it owns while holding one
  // it does not own that the new holder could have taken instead.
  size_t kept = 0;
  for (const auto& [tp, o] : owners) {
    if (!o.home) continue;
    if (Holds(plan.balanced, *o.home, tp)) {
      ++kept;
      continue;
    }
    std::string holder;
    for (const auto& [member, tps] : plan.balanced) {
      if (Holds(plan.balanced, member, tp)) holder = member;
    }
    for (const TopicPartition& other : plan.balanced.at(*o.home)) {
      auto it = owners.find(other);
      const bool owns_other = it != owners.end() && it->second.home == *o.home;
      if (!owns_other && Subscribes(*testing::Find(members, holder), other.topic)) {
        problems << *o.home << " lost " << tp.topic << "-" << tp.partition << " to " << holder
                 << " but kept " << other.topic << "-" << other.partition << " it did not own\n";
      }
    }
  }
  // With equal subscriptions, as many as possible stay.
  if (!members.empty() && AllSubscriptionsEqual(members)) {
    const size_t optimal = OptimalKept(topics, members, owners);
    if (kept != optimal)
      problems << "kept " << kept << " owned partitions; could keep " << optimal << "\n";
  }
  return problems.str();
}

class Scenario {
 public:
  explicit Scenario(uint64_t seed) : rng_(seed) {}

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  Topics RandomTopics() {
    Topics topics;
    const int count = Uniform(1, 4);
    for (int t = 0; t < count; ++t) topics["t" + std::to_string(t)] = Uniform(1, 10);
    return topics;
  }

  // Random members; equal subscriptions half the time. Topic "gone" does not exist.
  std::vector<MemberSubscription> RandomMembers(const Topics& topics, bool equal) {
    std::vector<std::string> names{"gone"};
    for (const auto& [t, n] : topics) names.push_back(t);
    std::vector<std::string> common;
    while (common.empty()) {
      for (const std::string& t : names) {
        if (Uniform(0, 1) == 0) common.push_back(t);
      }
    }
    std::vector<MemberSubscription> members;
    const int count = Uniform(1, 7);
    for (int i = 0; i < count; ++i) members.push_back(NewMember(names, equal ? &common : nullptr));
    return members;
  }

  MemberSubscription NewMember(const std::vector<std::string>& names,
                               const std::vector<std::string>* topics) {
    MemberSubscription m;
    m.member_id = "m" + std::to_string(Uniform(0, 9999)) + "-" + std::to_string(next_id_++);
    if (Uniform(0, 2) == 0) m.group_instance_id = "i" + std::to_string(Uniform(0, 99));
    if (topics != nullptr) {
      m.topics = *topics;
    } else {
      for (const std::string& t : names) {
        if (Uniform(0, 2) == 0) m.topics.push_back(t);
      }
    }
    std::shuffle(m.topics.begin(), m.topics.end(), rng_);
    return m;
  }

  // Arbitrary claims: any member, any partition (some missing, some of unsubscribed topics),
  // duplicates, and generations old and new.
  void ChaoticOwnership(const Topics& topics, std::vector<MemberSubscription>& members) {
    for (MemberSubscription& m : members) {
      const int pick = Uniform(0, 4);
      m.generation = pick == 0 ? -1 : pick == 1 ? 4 : 5;
    }
    Topics claimable = topics;
    claimable["gone"] = 2;
    for (const auto& [topic, count] : claimable) {
      for (int32_t p = 0; p < count + 1; ++p) {  // p == count does not exist
        int claims = Uniform(0, 9) < 6 ? 1 : 0;
        if (Uniform(0, 9) < 2) ++claims;
        for (int c = 0; c < claims; ++c) {
          members[Uniform(0, static_cast<int>(members.size()) - 1)].owned_partitions.push_back(
              {topic, p});
        }
      }
    }
    for (MemberSubscription& m : members) {
      std::shuffle(m.owned_partitions.begin(), m.owned_partitions.end(), rng_);
    }
  }

  // A group that had settled (two rounds), then changes: members leave and join, subscriptions
  // change, topics grow.
  void EvolvedOwnership(Topics& topics, std::vector<MemberSubscription>& members, bool equal) {
    auto settled = Assign(topics, members);
    settled = Assign(topics, Adopt(members, settled, 1));
    members = Adopt(members, settled, 2);
    std::shuffle(members.begin(), members.end(), rng_);
    members.resize(Uniform(std::max<int>(1, static_cast<int>(members.size()) - 2),
                           static_cast<int>(members.size())));
    std::vector<std::string> names{"gone"};
    for (const auto& [t, n] : topics) names.push_back(t);
    const std::vector<std::string> common = members.front().topics;
    for (int joins = Uniform(0, 3); joins > 0; --joins) {
      members.push_back(NewMember(names, equal ? &common : nullptr));
    }
    if (!equal && Uniform(0, 1) == 0) {
      members[Uniform(0, static_cast<int>(members.size()) - 1)].topics =
          NewMember(names, nullptr).topics;
    }
    for (auto& [t, n] : topics) {
      if (Uniform(0, 3) == 0) n += Uniform(1, 4);
    }
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  int next_id_ = 0;
};

TEST_CASE("cooperative-sticky property test over random topics and members and ownership") {
  const uint64_t seed = testing::SeedFromEnv();
  std::cout << "cooperative-sticky property test: STRATA_SEED=" << seed << std::endl;
  INFO("replay with STRATA_SEED=" << seed);
  Scenario s(seed);
  for (int run = 0; run < 1000; ++run) {
    INFO("run " << run);
    Topics topics = s.RandomTopics();
    const bool equal = s.Uniform(0, 1) == 0;
    std::vector<MemberSubscription> members = s.RandomMembers(topics, equal);
    const int mode = s.Uniform(0, 4);
    if (mode == 0) {
      // No owners: nothing to withhold.
    } else if (mode <= 2) {
      s.ChaoticOwnership(topics, members);
    } else {
      s.EvolvedOwnership(topics, members, equal);
    }
    INFO("topics:" << [&] {
      std::string out;
      for (const auto& [t, n] : topics) out += " " + t + "/" + std::to_string(n);
      return out;
    }());
    INFO("members:\n" << Show(members));

    const StickyPlan plan = PlanCooperativeSticky(topics, members);
    const GroupAssignment round1 = Assign(topics, members);
    INFO("plan:\n" << Show(plan.balanced) << "round 1:\n" << Show(round1));
    CHECK(CheckRound(topics, members, plan, round1) == "");
    if (mode == 0) CHECK(Show(round1) == Show(plan.balanced));
    std::vector<MemberSubscription> shuffled = members;
    std::shuffle(shuffled.begin(), shuffled.end(), s.rng());
    CHECK(Show(Assign(topics, shuffled)) == Show(round1));

    // The owners revoke what they lost. Round 2 hands out everything withheld, is balanced, and
    // moves nothing anyone owns; round 3 changes nothing.
    const auto members2 = Adopt(members, round1, 10);
    const StickyPlan plan2 = PlanCooperativeSticky(topics, members2);
    const GroupAssignment round2 = Assign(topics, members2);
    INFO("round 2:\n" << Show(round2));
    CHECK(CheckRound(topics, members2, plan2, round2) == "");
    CHECK(plan2.withheld.empty());
    CHECK(CheckValid(topics, members2, round2, /*complete=*/true) == "");
    for (const auto& [member, tps] : round1) {
      INFO(member);
      CHECK(Includes(round2.at(member), tps));
    }
    CHECK(Show(Assign(topics, Adopt(members2, round2, 11))) == Show(round2));
  }
}

}  // namespace
}  // namespace strata::client
