// Every transition of the group state machine (group.h), driven with explicit times.
#include "consumer_offsets/group.h"

#include <catch2/catch.hpp>
#include <memory>

#include "common/limits.h"

namespace strata::consumer_offsets {
namespace {

struct JoinBox {
  std::optional<JoinResult> r;
};
struct SyncBox {
  std::optional<SyncResult> r;
};

GroupConfig TestConfig(int32_t initial_delay_ms = 0) {
  GroupConfig c;
  c.min_session_timeout_ms = 10;
  c.max_session_timeout_ms = 100'000;
  c.initial_rebalance_delay_ms = initial_delay_ms;
  return c;
}

class Harness {
 public:
  explicit Harness(GroupConfig config = TestConfig())
      : group("g", config, [this](const std::string& client) {
          return client + "-" + std::to_string(++ids_);
        }) {}

  JoinRequest Request(const std::string& member_id, std::vector<GroupProtocol> protocols = {},
                      std::optional<std::string> instance = std::nullopt) {
    JoinRequest r;
    r.member_id = member_id;
    r.group_instance_id = instance;
    r.client_id = "c";
    r.session_timeout_ms = 1000;
    r.rebalance_timeout_ms = 5000;
    r.protocol_type = "consumer";
    r.protocols = protocols.empty() ? std::vector<GroupProtocol>{{"range", "meta-" + member_id}}
                                    : protocols;
    return r;
  }

  std::shared_ptr<JoinBox> Join(JoinRequest r, int64_t now) {
    auto box = std::make_shared<JoinBox>();
    group.Join(std::move(r), now, [box](JoinResult res) { box->r = std::move(res); });
    Run();
    return box;
  }
  std::shared_ptr<JoinBox> Join(const std::string& member_id, int64_t now) {
    return Join(Request(member_id), now);
  }
  // A new dynamic member's two-step join: MEMBER_ID_REQUIRED, then the join proper.
  std::pair<std::string, std::shared_ptr<JoinBox>> JoinNew(int64_t now) {
    auto first = Join("", now);
    REQUIRE(first->r.has_value());
    REQUIRE(first->r->result.error == GroupError::kMemberIdRequired);
    const std::string id = first->r->member_id;
    return {id, Join(id, now)};
  }
  std::shared_ptr<SyncBox> Sync(const std::string& member_id, int32_t generation, int64_t now,
                                std::vector<std::pair<std::string, std::string>> assignments = {},
                                std::optional<std::string> instance = std::nullopt) {
    auto box = std::make_shared<SyncBox>();
    SyncRequest r;
    r.member_id = member_id;
    r.group_instance_id = instance;
    r.generation = generation;
    r.assignments = std::move(assignments);
    group.Sync(std::move(r), now, [box](SyncResult res) { box->r = std::move(res); });
    Run();
    return box;
  }
  void Tick(int64_t now) {
    group.Tick(now);
    Run();
  }
  void Run() {
    for (auto& c : group.TakeCompletions()) c();
  }

  Group group;

 private:
  int ids_ = 0;
};

// One member brought to Stable at generation 1; returns its id.
std::string StableWithOne(Harness& h, int64_t now = 0) {
  auto [id, join] = h.JoinNew(now);
  REQUIRE(join->r.has_value());
  REQUIRE(join->r->result.ok());
  REQUIRE(h.group.state() == GroupState::kCompletingRebalance);
  auto sync = h.Sync(id, join->r->generation, now, {{id, "A"}});
  REQUIRE(sync->r.has_value());
  REQUIRE(sync->r->result.ok());
  REQUIRE(h.group.state() == GroupState::kStable);
  return id;
}

TEST_CASE("a new dynamic member gets MEMBER_ID_REQUIRED and the group stays Empty") {
  Harness h;
  auto box = h.Join("", 0);
  REQUIRE(box->r.has_value());
  CHECK(box->r->result.error == GroupError::kMemberIdRequired);
  CHECK(!box->r->member_id.empty());
  CHECK(h.group.state() == GroupState::kEmpty);
  CHECK(h.group.member_count() == 0);
}

TEST_CASE("Empty -> PreparingRebalance -> CompletingRebalance -> Stable with one member") {
  Harness h;
  auto [id, join] = h.JoinNew(0);
  REQUIRE(join->r.has_value());
  CHECK(join->r->result.ok());
  CHECK(join->r->generation == 1);
  CHECK(join->r->leader_id == id);
  CHECK(join->r->protocol_name == "range");
  REQUIRE(join->r->members.size() == 1);  // the leader sees every member's metadata
  CHECK(join->r->members[0].metadata == "meta-" + id);
  CHECK(h.group.state() == GroupState::kCompletingRebalance);
  auto sync = h.Sync(id, 1, 0, {{id, "assignment-bytes"}});
  REQUIRE(sync->r.has_value());
  CHECK(sync->r->assignment == "assignment-bytes");
  CHECK(h.group.state() == GroupState::kStable);
  CHECK(h.group.stats().rebalances == 1);
  CHECK(h.group.stats().rebalances_completed == 1);
}

TEST_CASE("the initial rebalance delay gathers members that start together") {
  Harness h(TestConfig(/*initial_delay_ms=*/300));
  auto [a, ja] = h.JoinNew(0);
  CHECK(h.group.state() == GroupState::kPreparingRebalance);
  CHECK(!ja->r.has_value());
  auto [b, jb] = h.JoinNew(100);  // extends the delay to 400
  h.Tick(350);
  CHECK(!ja->r.has_value());
  h.Tick(400);
  REQUIRE(ja->r.has_value());
  REQUIRE(jb->r.has_value());
  CHECK(ja->r->generation == 1);
  CHECK(jb->r->generation == 1);
  const bool a_leads = ja->r->leader_id == a;
  CHECK((a_leads ? ja : jb)->r->members.size() == 2);
  CHECK((a_leads ? jb : ja)->r->members.empty());  // followers do not get the member list
}

TEST_CASE("a follower's SyncGroup waits for the leader's, then every member gets its own") {
  Harness h;
  auto [a, ja] = h.JoinNew(0);
  REQUIRE(ja->r->result.ok());
  // b joins: a must rejoin before the group can complete.
  auto [b, jb] = h.JoinNew(1);
  CHECK(h.group.state() == GroupState::kPreparingRebalance);
  CHECK(!jb->r.has_value());
  CHECK(h.group.Heartbeat(a, std::nullopt, 1, 2).error == GroupError::kRebalanceInProgress);
  auto ja2 = h.Join(a, 3);
  REQUIRE(ja2->r.has_value());
  REQUIRE(jb->r.has_value());
  CHECK(ja2->r->generation == 2);
  CHECK(h.group.state() == GroupState::kCompletingRebalance);
  const std::string leader = ja2->r->leader_id;
  CHECK(leader == a);  // the leader stays the leader while it is a member
  auto follower_sync = h.Sync(b, 2, 4);
  CHECK(!follower_sync->r.has_value());
  CHECK(h.group.Heartbeat(b, std::nullopt, 2, 5).ok());  // heartbeats work while completing
  auto leader_sync = h.Sync(a, 2, 6, {{a, "A"}, {b, "B"}});
  REQUIRE(leader_sync->r.has_value());
  REQUIRE(follower_sync->r.has_value());
  CHECK(leader_sync->r->assignment == "A");
  CHECK(follower_sync->r->assignment == "B");
  CHECK(h.group.state() == GroupState::kStable);
  CHECK(h.group.stats().last_rebalance_duration_ms == 5);  // from b's join at 1 to 6
}

TEST_CASE("PreparingRebalance: a member that heartbeats but never rejoins is removed at the "
          "rebalance timeout") {
  Harness h;
  const std::string a = StableWithOne(h);
  auto [b, jb] = h.JoinNew(10);
  for (int64_t t = 500; t < 5010; t += 500) {
    CHECK(h.group.Heartbeat(a, std::nullopt, 1, t).error == GroupError::kRebalanceInProgress);
    h.Tick(t);
    CHECK(!jb->r.has_value());
  }
  h.Tick(5010);  // rebalance deadline: 10 + 5000
  REQUIRE(jb->r.has_value());
  CHECK(jb->r->result.ok());
  CHECK(jb->r->generation == 2);
  CHECK(jb->r->leader_id == b);
  CHECK(!h.group.has_member(a));
  CHECK(h.group.Heartbeat(a, std::nullopt, 1, 5011).error == GroupError::kUnknownMemberId);
}

TEST_CASE("PreparingRebalance: a member that neither rejoins nor heartbeats expires after its "
          "session timeout, and the rebalance completes without it") {
  Harness h;
  const std::string a = StableWithOne(h, 0);
  auto [b, jb] = h.JoinNew(100);
  h.Tick(999);
  CHECK(!jb->r.has_value());
  h.Tick(1000);  // a's session (1000 ms from its sync at 0) ran out
  REQUIRE(jb->r.has_value());
  CHECK(jb->r->generation == 2);
  CHECK(!h.group.has_member(a));
}

TEST_CASE("Stable: a member whose session expires starts a rebalance") {
  Harness h;
  const std::string a = StableWithOne(h, 0);
  auto [b, jb] = h.JoinNew(10);
  auto ja = h.Join(a, 20);
  REQUIRE(jb->r.has_value());
  auto sb = h.Sync(b, 2, 30);
  auto sa = h.Sync(a, 2, 30, {{a, "A"}, {b, "B"}});
  REQUIRE(h.group.state() == GroupState::kStable);
  // b keeps heartbeating, a does not.
  CHECK(h.group.Heartbeat(b, std::nullopt, 2, 900).ok());
  h.Tick(1029);
  CHECK(h.group.state() == GroupState::kStable);
  h.Tick(1030);
  CHECK(h.group.state() == GroupState::kPreparingRebalance);
  CHECK(!h.group.has_member(a));
  CHECK(h.group.Heartbeat(b, std::nullopt, 2, 1031).error == GroupError::kRebalanceInProgress);
  auto jb2 = h.Join(b, 1032);
  REQUIRE(jb2->r.has_value());
  CHECK(jb2->r->generation == 3);
  CHECK(jb2->r->leader_id == b);  // the leader left; a remaining member leads
}

TEST_CASE("LeaveGroup: Stable -> PreparingRebalance, and the last member leaving -> Empty") {
  Harness h;
  const std::string a = StableWithOne(h, 0);
  auto [b, jb] = h.JoinNew(10);
  h.Join(a, 10);
  h.Sync(b, 2, 11);
  h.Sync(a, 2, 11, {{a, "A"}, {b, "B"}});
  REQUIRE(h.group.state() == GroupState::kStable);
  auto results = h.group.Leave({{b, std::nullopt, "closing"}}, 12);
  h.Run();
  REQUIRE(results.size() == 1);
  CHECK(results[0].ok());
  CHECK(h.group.state() == GroupState::kPreparingRebalance);
  auto ja = h.Join(a, 13);
  REQUIRE(ja->r.has_value());
  CHECK(ja->r->generation == 3);
  h.Sync(a, 3, 14, {{a, "AB"}});
  results = h.group.Leave({{a, std::nullopt, ""}}, 15);
  h.Run();
  CHECK(results[0].ok());
  CHECK(h.group.state() == GroupState::kEmpty);
  CHECK(h.group.generation() == 4);
  CHECK(h.group.Leave({{"ghost", std::nullopt, ""}}, 16)[0].error ==
        GroupError::kUnknownMemberId);
}

TEST_CASE("CompletingRebalance: a member leaving sends waiting syncs back to rejoin") {
  Harness h;
  const std::string a = StableWithOne(h, 0);
  auto [b, jb] = h.JoinNew(10);
  h.Join(a, 10);
  REQUIRE(h.group.state() == GroupState::kCompletingRebalance);
  auto sb = h.Sync(b, 2, 11);
  CHECK(!sb->r.has_value());
  h.group.Leave({{a, std::nullopt, ""}}, 12);
  h.Run();
  REQUIRE(sb->r.has_value());
  CHECK(sb->r->result.error == GroupError::kRebalanceInProgress);
  CHECK(h.group.state() == GroupState::kPreparingRebalance);
}

TEST_CASE("CompletingRebalance: a leader that never syncs is removed at the rebalance timeout") {
  Harness h;
  const std::string a = StableWithOne(h, 0);
  auto [b, jb] = h.JoinNew(10);
  h.Join(a, 10);
  auto sb = h.Sync(b, 2, 11);
  // a keeps heartbeating (its session stays alive) but never sends SyncGroup.
  for (int64_t t = 500; t < 5010; t += 500) {
    CHECK(h.group.Heartbeat(a, std::nullopt, 2, t).ok());
    h.Tick(t);
  }
  CHECK(!sb->r.has_value());
  h.Tick(5010);
  CHECK(!h.group.has_member(a));
  REQUIRE(sb->r.has_value());
  CHECK(sb->r->result.error == GroupError::kRebalanceInProgress);
}

TEST_CASE("rejoining a Stable group: a follower with the same metadata gets the current "
          "generation; the leader or new metadata starts a rebalance") {
  Harness h;
  const std::string a = StableWithOne(h, 0);
  auto [b, jb] = h.JoinNew(10);
  h.Join(a, 10);
  h.Sync(b, 2, 11);
  h.Sync(a, 2, 11, {{a, "A"}, {b, "B"}});
  REQUIRE(h.group.state() == GroupState::kStable);

  auto again = h.Join(b, 20);
  REQUIRE(again->r.has_value());
  CHECK(again->r->generation == 2);
  CHECK(h.group.state() == GroupState::kStable);

  auto changed = h.Join(h.Request(b, {{"range", "new-subscription"}}), 21);
  CHECK(!changed->r.has_value());
  CHECK(h.group.state() == GroupState::kPreparingRebalance);
  h.Join(a, 22);
  REQUIRE(changed->r.has_value());
  CHECK(changed->r->generation == 3);
  h.Sync(b, 3, 23);
  h.Sync(a, 3, 23, {{a, "A"}, {b, "B"}});

  auto leader = h.Join(a, 30);
  CHECK(!leader->r.has_value());
  CHECK(h.group.state() == GroupState::kPreparingRebalance);
}

TEST_CASE("CompletingRebalance: a rejoin with the same metadata repeats the JoinGroup answer") {
  Harness h;
  auto [a, ja] = h.JoinNew(0);
  REQUIRE(h.group.state() == GroupState::kCompletingRebalance);
  auto again = h.Join(a, 1);
  REQUIRE(again->r.has_value());
  CHECK(again->r->generation == ja->r->generation);
  CHECK(again->r->members.size() == 1);
  CHECK(h.group.state() == GroupState::kCompletingRebalance);
}

TEST_CASE("Heartbeat and SyncGroup errors") {
  Harness h;
  CHECK(h.group.Heartbeat("x", std::nullopt, 0, 0).error == GroupError::kUnknownMemberId);
  const std::string a = StableWithOne(h, 0);
  CHECK(h.group.Heartbeat("x", std::nullopt, 1, 1).error == GroupError::kUnknownMemberId);
  CHECK(h.group.Heartbeat(a, std::nullopt, 0, 1).error == GroupError::kIllegalGeneration);
  CHECK(h.group.Heartbeat(a, std::nullopt, 1, 1).ok());
  auto stale = h.Sync(a, 7, 2);
  CHECK(stale->r->result.error == GroupError::kIllegalGeneration);
  auto unknown = h.Sync("x", 1, 2);
  CHECK(unknown->r->result.error == GroupError::kUnknownMemberId);
  auto stable = h.Sync(a, 1, 2);
  CHECK(stable->r->assignment == "A");  // Stable: the stored assignment, at once
  h.JoinNew(3);
  auto preparing = h.Sync(a, 1, 4);
  CHECK(preparing->r->result.error == GroupError::kRebalanceInProgress);
  auto unknown_join = h.Join("never-joined", 5);
  CHECK(unknown_join->r->result.error == GroupError::kUnknownMemberId);
}

TEST_CASE("JoinGroup validation: session timeout range, protocols, and protocol selection") {
  Harness h;
  JoinRequest bad = h.Request("");
  bad.session_timeout_ms = 5;
  CHECK(h.Join(bad, 0)->r->result.error == GroupError::kInvalidSessionTimeout);
  JoinRequest none = h.Request("");
  none.protocols.clear();
  CHECK(h.Join(none, 0)->r->result.error == GroupError::kInconsistentGroupProtocol);

  // a prefers roundrobin, b prefers range but takes roundrobin, c offers both preferring
  // roundrobin: roundrobin has 2 votes.
  auto [a, ja] = h.JoinNew(0);  // offers only "range" (default)
  (void)ja;
  JoinRequest other = h.Request("", {{"sticky", "x"}});
  CHECK(h.Join(other, 1)->r->result.error == GroupError::kInconsistentGroupProtocol);
  JoinRequest other_type = h.Request("");
  other_type.protocol_type = "connect";
  CHECK(h.Join(other_type, 1)->r->result.error == GroupError::kInconsistentGroupProtocol);

  Harness v;
  auto first = v.Join(v.Request("", {{"roundrobin", "1"}, {"range", "1"}}), 0);
  const std::string x = first->r->member_id;
  v.Join(v.Request(x, {{"roundrobin", "1"}, {"range", "1"}}), 0);
  auto jy0 = v.Join(v.Request("", {{"range", "2"}, {"roundrobin", "2"}}), 1);
  const std::string y = jy0->r->member_id;
  auto jy = v.Join(v.Request(y, {{"range", "2"}, {"roundrobin", "2"}}), 1);
  auto jz0 = v.Join(v.Request("", {{"roundrobin", "3"}, {"range", "3"}}), 2);
  const std::string z = jz0->r->member_id;
  auto jz = v.Join(v.Request(z, {{"roundrobin", "3"}, {"range", "3"}}), 2);
  auto jx = v.Join(v.Request(x, {{"roundrobin", "1"}, {"range", "1"}}), 3);
  REQUIRE(jx->r.has_value());
  CHECK(jx->r->protocol_name == "roundrobin");
  // The leader sees each member's metadata for the chosen protocol.
  for (const auto& m : jx->r->members) {
    if (m.member_id == y) CHECK(m.metadata == "2");
  }
}

TEST_CASE("static members: join without MEMBER_ID_REQUIRED, restart without a rebalance, and "
          "fence the old instance") {
  Harness h;
  auto ja = h.Join(h.Request("", {}, "instance-a"), 0);
  REQUIRE(ja->r.has_value());
  REQUIRE(ja->r->result.ok());
  const std::string old_id = ja->r->member_id;
  h.Sync(old_id, 1, 1, {{old_id, "A"}}, "instance-a");
  REQUIRE(h.group.state() == GroupState::kStable);

  // The process restarts: it does not know its member id, only its instance id.
  auto restarted = h.Join(h.Request("", {{"range", "meta-"}}, "instance-a"), 100);
  REQUIRE(restarted->r.has_value());
  CHECK(restarted->r->result.ok());
  CHECK(restarted->r->member_id != old_id);
  CHECK(restarted->r->generation == 1);  // no rebalance
  CHECK(restarted->r->skip_assignment);   // it leads: keep the assignment, do not recompute
  CHECK(h.group.state() == GroupState::kStable);
  CHECK(h.group.stats().rebalances == 1);
  auto sync = h.Sync(restarted->r->member_id, 1, 101, {}, "instance-a");
  CHECK(sync->r->assignment == "A");

  // The old instance is fenced.
  CHECK(h.group.Heartbeat(old_id, "instance-a", 1, 102).error == GroupError::kFencedInstanceId);
  CHECK(h.group.Heartbeat(restarted->r->member_id, "instance-a", 1, 102).ok());

  // Rejoining with new metadata does rebalance.
  auto changed = h.Join(h.Request("", {{"range", "other"}}, "instance-a"), 200);
  CHECK(h.group.state() == GroupState::kCompletingRebalance);
  REQUIRE(changed->r.has_value());
  CHECK(changed->r->generation == 2);
}

TEST_CASE("a pending member that never rejoins is forgotten after its session timeout") {
  Harness h;
  const std::string a = StableWithOne(h, 0);
  auto first = h.Join("", 10);
  REQUIRE(first->r->result.error == GroupError::kMemberIdRequired);
  const std::string pending = first->r->member_id;
  h.Tick(2000);
  CHECK(h.Join(pending, 2001)->r->result.error == GroupError::kUnknownMemberId);
  (void)a;
}

TEST_CASE("commits: who may commit in which state") {
  Harness h;
  CHECK(h.group.CheckCommit("", std::nullopt, -1).ok());  // Empty: admin tools may commit
  auto [a, ja] = h.JoinNew(0);
  REQUIRE(h.group.state() == GroupState::kCompletingRebalance);
  CHECK(h.group.CheckCommit(a, std::nullopt, 1).error == GroupError::kRebalanceInProgress);
  h.Sync(a, 1, 1, {{a, "A"}});
  CHECK(h.group.CheckCommit(a, std::nullopt, 1).ok());
  CHECK(h.group.CheckCommit(a, std::nullopt, 0).error == GroupError::kIllegalGeneration);
  CHECK(h.group.CheckCommit("x", std::nullopt, 1).error == GroupError::kUnknownMemberId);
  CHECK(h.group.CheckCommit("", std::nullopt, -1).error == GroupError::kUnknownMemberId);
  // PreparingRebalance: members of the current generation may still commit (before revoking).
  h.JoinNew(2);
  REQUIRE(h.group.state() == GroupState::kPreparingRebalance);
  CHECK(h.group.CheckCommit(a, std::nullopt, 1).ok());
  CHECK(h.group.CheckFetch("", -1).ok());
  CHECK(h.group.CheckFetch(a, 1).ok());
  CHECK(h.group.CheckFetch(a, 9).error == GroupError::kIllegalGeneration);
  CHECK(h.group.CheckFetch("x", 1).error == GroupError::kUnknownMemberId);
}

TEST_CASE("a Dead group refuses everything and failed waits are answered") {
  Harness h;
  auto [a, ja] = h.JoinNew(0);
  h.group.Leave({{a, std::nullopt, ""}}, 1);
  h.Run();
  REQUIRE(h.group.state() == GroupState::kEmpty);
  h.group.MarkDead();
  CHECK(h.group.state() == GroupState::kDead);
  CHECK(h.Join("", 2)->r->result.error == GroupError::kCoordinatorNotAvailable);
  CHECK(h.group.CheckCommit("", std::nullopt, -1).error == GroupError::kCoordinatorNotAvailable);

  Harness w;
  auto [b, jb] = w.JoinNew(0);
  auto [c, jc] = w.JoinNew(1);  // waits for b to rejoin
  REQUIRE(!jc->r.has_value());
  w.group.FailWaiting(GroupError::kShuttingDown, "stopping");
  w.Run();
  REQUIRE(jc->r.has_value());
  CHECK(jc->r->result.error == GroupError::kShuttingDown);
}

TEST_CASE("a group holds at most limits::group_members_max members") {
  Harness h;
  for (size_t i = 0; i < limits::group_members_max; ++i) {
    JoinRequest r = h.Request("");
    r.require_known_member_id = false;
    auto box = h.Join(r, 0);
    REQUIRE((!box->r.has_value() || box->r->result.ok()));
  }
  CHECK(h.group.member_count() == limits::group_members_max);
  JoinRequest r = h.Request("");
  r.require_known_member_id = false;
  CHECK(h.Join(r, 0)->r->result.error == GroupError::kGroupMaxSizeReached);
}

}  // namespace
}  // namespace strata::consumer_offsets
