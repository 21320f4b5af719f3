// GroupCoordinator over a real TopicManager on the fault-injecting file system: the group APIs end
// to end (without the network), commit validation, persistence across reopen and crashes, fsync
// failures, deletion, expiry, and an unloadable partition of __consumer_offsets.
#include "consumer_offsets/coordinator.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "io/fault_file_system.h"
#include "record/batch.h"
#include "record/partitioner.h"

namespace strata::consumer_offsets {
namespace {

struct Fixture {
  explicit Fixture(uint64_t seed = 1) : fs(seed) {
    config.group.min_session_timeout_ms = 10;
    config.group.initial_rebalance_delay_ms = 0;
    config.offsets_topic.partitions = 4;
    config.offsets_topic.segment_bytes = 1 << 20;
    config.offsets_retention_ms = 10'000;
    OpenAll();
    partition::TopicConfig orders;
    orders.partitions = 4;
    orders.log.segment_bytes = 1 << 20;
    REQUIRE(topics->Create("orders", orders).ok());
  }

  void OpenAll() {
    auto t = partition::TopicManager::Open(&fs, "/data");
    REQUIRE(t.ok());
    topics = std::move(*t);
    CoordinatorOptions options;
    options.wall_clock = [this] { return wall_ms; };
    options.monotonic_clock = [this] { return mono_ms; };
    options.start_ticker = false;
    auto c = GroupCoordinator::Open(topics.get(), config, options);
    REQUIRE(c.ok());
    coordinator = std::move(*c);
  }
  void Reopen() {
    coordinator.reset();
    topics.reset();
    OpenAll();
  }
  void Crash(io::CrashMode mode) {
    coordinator.reset();
    topics->TEST_Abandon();
    fs.Crash(mode);
    topics.reset();
    OpenAll();
  }

  JoinResult Join(const std::string& group, const std::string& member_id,
                  std::optional<std::string> instance = std::nullopt) {
    JoinRequest r;
    r.member_id = member_id;
    r.group_instance_id = instance;
    r.client_id = "test";
    r.session_timeout_ms = 1000;
    r.rebalance_timeout_ms = 2000;
    r.protocol_type = "consumer";
    r.protocols = {{"range", "sub"}};
    std::optional<JoinResult> out;
    coordinator->JoinGroup(group, r, [&](JoinResult res) { out = std::move(res); });
    REQUIRE(out.has_value());
    return *out;
  }
  // Join (both steps) and sync as the only member: returns (member id, generation).
  std::pair<std::string, int32_t> JoinAlone(const std::string& group) {
    JoinResult first = Join(group, "");
    REQUIRE(first.result.error == GroupError::kMemberIdRequired);
    JoinResult joined = Join(group, first.member_id);
    REQUIRE(joined.result.ok());
    SyncRequest s;
    s.member_id = joined.member_id;
    s.generation = joined.generation;
    s.assignments = {{joined.member_id, "all"}};
    std::optional<SyncResult> synced;
    coordinator->SyncGroup(group, s, [&](SyncResult r) { synced = std::move(r); });
    REQUIRE(synced.has_value());
    REQUIRE(synced->result.ok());
    return {joined.member_id, joined.generation};
  }
  CommitOutcome Commit(const std::string& group, const std::string& member, int32_t generation,
                       std::vector<CommitEntry> entries) {
    std::optional<CommitOutcome> out;
    coordinator->CommitOffsets(group, member, std::nullopt, generation, std::move(entries),
                               [&](CommitOutcome o) { out = std::move(o); });
    REQUIRE(out.has_value());
    return *out;
  }
  std::optional<int64_t> Committed(const std::string& group, const std::string& topic,
                                   int32_t partition) {
    FetchOutcome f = coordinator->FetchOffsets(group, "", -1,
                                               std::vector<TopicPartitionId>{{topic, partition}});
    REQUIRE(f.group.ok());
    REQUIRE(f.offsets.size() == 1);
    if (!f.offsets[0].value.has_value()) return std::nullopt;
    return f.offsets[0].value->offset;
  }
  std::vector<GroupResult> Delete(std::vector<std::string> groups) {
    std::optional<std::vector<GroupResult>> out;
    coordinator->DeleteGroups(std::move(groups), [&](std::vector<GroupResult> r) { out = r; });
    REQUIRE(out.has_value());
    return *out;
  }

  io::FaultFileSystem fs;
  CoordinatorConfig config;
  int64_t wall_ms = 1'000'000;
  int64_t mono_ms = 0;
  std::unique_ptr<partition::TopicManager> topics;
  std::unique_ptr<GroupCoordinator> coordinator;
};

TEST_CASE("FindCoordinator creates __consumer_offsets on first use") {
  Fixture f;
  CHECK(!f.topics->Describe(kOffsetsTopic).ok());
  CHECK(f.coordinator->FindCoordinator("g").ok());
  auto info = f.topics->Describe(kOffsetsTopic);
  REQUIRE(info.ok());
  CHECK(info->config.partitions == 4);
  CHECK(info->config.cleanup_policy == partition::CleanupPolicy::kCompact);
  CHECK(f.coordinator->FindCoordinator("").error == GroupError::kInvalidGroupId);
  CHECK(f.coordinator->FindCoordinator(std::string(300, 'g')).error ==
        GroupError::kInvalidGroupId);
  CHECK(f.coordinator->FindCoordinator("bad\nid").error == GroupError::kInvalidGroupId);
}

TEST_CASE("a member commits and reads its offsets; bad commits get typed errors") {
  Fixture f;
  auto [member, generation] = f.JoinAlone("g");
  auto ok = f.Commit("g", member, generation, {{"orders", 0, 42, "m"}, {"orders", 3, 7, ""}});
  CHECK(ok.group.ok());
  REQUIRE(ok.entries.size() == 2);
  CHECK(ok.entries[0].ok());
  CHECK(ok.entries[1].ok());
  CHECK(f.Committed("g", "orders", 0) == 42);
  CHECK(f.Committed("g", "orders", 3) == 7);
  CHECK(f.Committed("g", "orders", 1) == std::nullopt);

  FetchOutcome as_member = f.coordinator->FetchOffsets("g", member, generation, std::nullopt);
  CHECK(as_member.group.ok());
  CHECK(as_member.offsets.size() == 2);
  CHECK(f.coordinator->FetchOffsets("g", member, generation + 1, std::nullopt).group.error ==
        GroupError::kIllegalGeneration);

  CHECK(f.Commit("g", member, generation - 1, {{"orders", 0, 1, ""}}).group.error ==
        GroupError::kIllegalGeneration);
  CHECK(f.Commit("g", "stranger", generation, {{"orders", 0, 1, ""}}).group.error ==
        GroupError::kUnknownMemberId);
  CHECK(f.Commit("g", "", -1, {{"orders", 0, 1, ""}}).group.error ==
        GroupError::kUnknownMemberId);  // the group has a live member
  auto mixed = f.Commit("g", member, generation,
                        {{"nope", 0, 1, ""},
                         {"orders", 4, 1, ""},
                         {"orders", 1, 5, std::string(limits::offset_metadata_bytes_max + 1, 'x')},
                         {"orders", 2, -3, ""},
                         {"orders", 2, 9, ""}});
  CHECK(mixed.group.ok());
  CHECK(mixed.entries[0].error == GroupError::kUnknownTopicOrPartition);
  CHECK(mixed.entries[1].error == GroupError::kUnknownTopicOrPartition);
  CHECK(mixed.entries[2].error == GroupError::kOffsetMetadataTooLarge);
  // A negative offset is stored as given, as Kafka does (Kafka clients commit -1 and -2 as
  // "latest" and "earliest"); the later entry for the same partition wins.
  CHECK(mixed.entries[3].ok());
  CHECK(mixed.entries[4].ok());  // the valid entry of a mixed commit is stored
  CHECK(f.Committed("g", "orders", 2) == 9);
  CHECK(f.Committed("g", "orders", 0) == 42);  // refused commits changed nothing
}

TEST_CASE("a group without members accepts commits from admin tools (generation -1)") {
  Fixture f;
  auto r = f.Commit("offline", "", -1, {{"orders", 1, 100, ""}});
  CHECK(r.entries[0].ok());
  CHECK(f.Committed("offline", "orders", 1) == 100);
  auto listed = f.coordinator->ListGroups({});
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].group_id == "offline");
  CHECK(listed[0].state == GroupState::kEmpty);
  CHECK(f.Commit("never", "someone", 3, {{"orders", 1, 1, ""}}).group.error ==
        GroupError::kUnknownMemberId);
}

TEST_CASE("committed offsets survive a clean reopen; memberships do not") {
  Fixture f;
  auto [member, generation] = f.JoinAlone("g");
  f.Commit("g", member, generation, {{"orders", 0, 10, "meta"}});
  f.Commit("g", member, generation, {{"orders", 0, 11, "meta2"}});
  f.Reopen();
  CHECK(f.Committed("g", "orders", 0) == 11);
  auto [result, description] = f.coordinator->DescribeGroup("g");
  CHECK(result.ok());
  CHECK(description.state == GroupState::kEmpty);
  CHECK(f.coordinator->Heartbeat("g", member, std::nullopt, generation).error ==
        GroupError::kUnknownMemberId);
}

TEST_CASE("an acknowledged commit survives a crash, in every crash mode") {
  for (io::CrashMode mode : io::kAllCrashModes) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      INFO("mode " << int(mode) << " seed " << seed);
      Fixture f(seed);
      auto [member, generation] = f.JoinAlone("g");
      for (int64_t i = 1; i <= 20; ++i) {
        REQUIRE(f.Commit("g", member, generation, {{"orders", int32_t(i % 4), i, ""}})
                    .entries[0]
                    .ok());
      }
      f.Crash(mode);
      CHECK(f.Committed("g", "orders", 0) == 20);
      CHECK(f.Committed("g", "orders", 1) == 17);
      CHECK(f.Committed("g", "orders", 2) == 18);
      CHECK(f.Committed("g", "orders", 3) == 19);
    }
  }
}

TEST_CASE("a commit whose fsync fails is reported and not applied") {
  Fixture f;
  auto [member, generation] = f.JoinAlone("g");
  REQUIRE(f.Commit("g", member, generation, {{"orders", 0, 5, ""}}).entries[0].ok());
  f.fs.FailNextSyncs(1, EIO, ".log");
  auto failed = f.Commit("g", member, generation, {{"orders", 0, 6, ""}});
  CHECK(failed.entries[0].error == GroupError::kStorageError);
  CHECK(failed.entries[0].message.find("not made durable") != std::string::npos);
  CHECK(f.Committed("g", "orders", 0) == 5);
}

TEST_CASE("deleting groups: only empty ones, and the deletion is durable") {
  Fixture f;
  auto [member, generation] = f.JoinAlone("busy");
  f.Commit("busy", member, generation, {{"orders", 0, 1, ""}});
  f.Commit("idle", "", -1, {{"orders", 0, 2, ""}, {"orders", 1, 3, ""}});
  auto results = f.Delete({"busy", "idle", "ghost", ""});
  REQUIRE(results.size() == 4);
  CHECK(results[0].error == GroupError::kNonEmptyGroup);
  CHECK(results[1].ok());
  CHECK(results[2].error == GroupError::kGroupIdNotFound);
  CHECK(results[3].error == GroupError::kInvalidGroupId);
  CHECK(f.Committed("idle", "orders", 0) == std::nullopt);
  f.Crash(io::CrashMode::kDropUnsynced);
  CHECK(f.Committed("idle", "orders", 0) == std::nullopt);
  CHECK(f.Committed("idle", "orders", 1) == std::nullopt);
  CHECK(f.Committed("busy", "orders", 0) == 1);
  CHECK(f.coordinator->DescribeGroup("idle").first.error == GroupError::kGroupIdNotFound);
}

TEST_CASE("offsets of a group empty for offsets_retention_ms expire, as do deleted topics'") {
  Fixture f;
  auto [member, generation] = f.JoinAlone("active");
  f.Commit("active", member, generation, {{"orders", 0, 1, ""}});
  f.Commit("idle", "", -1, {{"orders", 0, 2, ""}});
  partition::TopicConfig gone;
  gone.partitions = 1;
  gone.log.segment_bytes = 1 << 20;
  REQUIRE(f.topics->Create("gone", gone).ok());
  f.Commit("idle2", "", -1, {{"gone", 0, 3, ""}, {"orders", 1, 4, ""}});
  REQUIRE(f.topics->Delete("gone").ok());

  f.wall_ms += 5'000;
  f.coordinator->TEST_ExpireOffsets();
  CHECK(f.Committed("idle", "orders", 0) == 2);           // not yet
  CHECK(f.Committed("idle2", "gone", 0) == std::nullopt); // its topic is gone
  CHECK(f.Committed("idle2", "orders", 1) == 4);

  f.wall_ms += 5'000;
  // Keep the active member alive across the time jump.
  f.mono_ms += 500;
  REQUIRE(f.coordinator->Heartbeat("active", member, std::nullopt, generation).ok());
  f.coordinator->TEST_ExpireOffsets();
  CHECK(f.Committed("idle", "orders", 0) == std::nullopt);
  CHECK(f.Committed("active", "orders", 0) == 1);  // a live group never expires
  CHECK(f.coordinator->DescribeGroup("idle").first.error == GroupError::kGroupIdNotFound);
  f.Reopen();
  CHECK(f.Committed("idle", "orders", 0) == std::nullopt);
  CHECK(f.Committed("active", "orders", 0) == 1);
}

TEST_CASE("the ticker expires members whose session ran out") {
  Fixture f;
  auto [member, generation] = f.JoinAlone("g");
  f.mono_ms += 999;
  f.coordinator->TEST_Tick();
  CHECK(f.coordinator->DescribeGroup("g").second.state == GroupState::kStable);
  f.mono_ms += 1;
  f.coordinator->TEST_Tick();
  auto [result, d] = f.coordinator->DescribeGroup("g");
  CHECK(d.state == GroupState::kEmpty);
  CHECK(d.members.empty());
  CHECK(f.coordinator->Heartbeat("g", member, std::nullopt, generation).error ==
        GroupError::kUnknownMemberId);
}

TEST_CASE("Shutdown answers waiting JoinGroup requests") {
  Fixture f;
  auto [a, generation] = f.JoinAlone("g");
  JoinResult first = f.Join("g", "");
  std::optional<JoinResult> waiting;
  JoinRequest r;
  r.member_id = first.member_id;
  r.client_id = "test";
  r.session_timeout_ms = 1000;
  r.rebalance_timeout_ms = 2000;
  r.protocol_type = "consumer";
  r.protocols = {{"range", "sub"}};
  f.coordinator->JoinGroup("g", r, [&](JoinResult res) { waiting = std::move(res); });
  REQUIRE(!waiting.has_value());  // waits for `a` to rejoin
  f.coordinator->Shutdown();
  REQUIRE(waiting.has_value());
  CHECK(waiting->result.error == GroupError::kShuttingDown);
}

TEST_CASE("a damaged partition of __consumer_offsets takes only its own groups offline") {
  Fixture f;
  REQUIRE(f.coordinator->FindCoordinator("x").ok());
  // Two groups on different partitions.
  std::string on_bad = "a", on_good;
  const int32_t bad = record::PartitionForKey(on_bad, 4);
  for (int i = 0; on_good.empty(); ++i) {
    std::string g = absl::StrCat("g", i);
    if (record::PartitionForKey(g, 4) != bad) on_good = g;
  }
  f.Commit(on_good, "", -1, {{"orders", 0, 8, ""}});
  // A record whose key is not an offset key, appended behind the coordinator's back.
  record::BatchBuilder builder;
  record::RecordInput record;
  record.key = std::string_view("garbage");
  record.value = std::string_view("garbage");
  builder.Add(record);
  auto batch = builder.Build();
  REQUIRE(batch.ok());
  auto part = f.topics->GetPartition(kOffsetsTopic, bad);
  REQUIRE(part.ok());
  REQUIRE((*part)->Append(*batch).ok());
  f.Reopen();
  GroupResult r = f.coordinator->FindCoordinator(on_bad);
  CHECK(r.error == GroupError::kCoordinatorNotAvailable);
  CHECK(r.message.find("could not be loaded") != std::string::npos);
  CHECK(f.coordinator->FindCoordinator(on_good).ok());
  CHECK(f.Committed(on_good, "orders", 0) == 8);
}

}  // namespace
}  // namespace strata::consumer_offsets
