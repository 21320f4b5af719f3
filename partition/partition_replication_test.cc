// Tests for a Partition's replication face: roles, a follower's copy of the leader's batches,
// acks=all behind the high watermark, truncation and leader epochs.
#include <catch2/catch.hpp>

#include "io/memory_file_system.h"
#include "log/test_util.h"
#include "partition/partition.h"
#include "partition/test_util.h"

namespace strata::partition {
namespace {

using testing::MakeProducerBatch;

struct Fixture {
  io::MemoryFileSystem fs;
  TopicConfig config;
  Fixture() {
    config.partitions = 1;
    config.log.segment_bytes = 1 << 20;
    config.log.flush.bytes = 0;
    config.log.flush.interval_ms = 0;
    config.log.retention_ms = -1;
  }
  std::unique_ptr<Partition> Open(const std::string& dir) {
    auto p = Partition::Open(&fs, dir, "t", 0, config);
    REQUIRE(p.ok());
    return std::move(*p);
  }
};

// Append of a temporary batch (Append stamps it in place, so it takes a mutable span).
Result<AppendResult, AppendError> AppendCopy(Partition& p, std::vector<std::byte> batch) {
  return p.Append(batch);
}

AppendResult MustAppend(Partition& p, std::vector<std::byte> batch) {
  auto r = p.Append(batch);
  if (!r.ok()) FAIL(AppendErrorName(r.error().code) << ": " << r.error().message);
  return *r;
}

// Copies every batch of `leader` from `from` into `follower`, as a fetcher would.
void Replicate(const Partition& leader, Partition& follower, int64_t from) {
  while (from < leader.log_end_offset()) {
    auto read = leader.Read(from, 1 << 20);
    REQUIRE(read.ok());
    std::vector<std::byte> bytes(read->bytes.begin(), read->bytes.end());
    size_t pos = 0;
    while (pos < bytes.size()) {
      auto header = record::ParseBatchHeader(std::span(bytes).subspan(pos));
      REQUIRE(header.ok());
      auto appended =
          follower.AppendReplica(std::span(bytes).subspan(pos, header->size_bytes()));
      REQUIRE(appended.ok());
      pos += header->size_bytes();
    }
    from = read->next_offset;
  }
}

TEST_CASE("A follower refuses producers and copies the leader's batches exactly") {
  Fixture f;
  auto leader = f.Open("/a");
  auto follower = f.Open("/b");
  REQUIRE(leader->BecomeLeader(3).ok());
  REQUIRE(follower->BecomeFollower(3).ok());
  CHECK(leader->role() == Role::kLeader);

  auto refused = AppendCopy(*follower, MakeProducerBatch(7, 0, 0, 2));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == AppendErrorCode::kNotLeader);
  // A leader refuses a replica's append: only followers copy.
  auto one = MakeProducerBatch(-1, 0, 0, 1);
  auto not_follower = leader->AppendReplica(one);
  REQUIRE_FALSE(not_follower.ok());
  CHECK(not_follower.error().code == AppendErrorCode::kNotLeader);

  MustAppend(*leader, MakeProducerBatch(7, 0, 0, 3, "a"));
  MustAppend(*leader, MakeProducerBatch(7, 0, 3, 2, "b"));
  Replicate(*leader, *follower, 0);
  CHECK(follower->log_end_offset() == 5);
  CHECK(log::testing::ReadAllValues(*follower, -1, 1 << 20) ==
        log::testing::ReadAllValues(*leader, -1, 1 << 20));
  CHECK(follower->last_epoch() == 3);

  // The follower becomes leader: a producer's retry of its last batch is a duplicate there too.
  REQUIRE(follower->BecomeLeader(4).ok());
  auto retry = AppendCopy(*follower, MakeProducerBatch(7, 0, 3, 2, "b"));
  REQUIRE(retry.ok());
  CHECK(retry->duplicate);
  CHECK(retry->base_offset == 3);
  // New batches carry the new epoch.
  MustAppend(*follower, MakeProducerBatch(7, 0, 5, 1, "c"));
  CHECK(follower->EndOffsetForEpoch(3).end_offset == 5);
  CHECK(follower->EndOffsetForEpoch(4).end_offset == 6);
}

TEST_CASE("acks=all on a replicated leader waits for the high watermark") {
  Fixture f;
  auto leader = f.Open("/a");
  REQUIRE(leader->BecomeLeader(1).ok());
  MustAppend(*leader, MakeProducerBatch(-1, 0, 0, 4));
  CHECK(leader->high_watermark() == 0);
  CHECK_FALSE(leader->IsCommitted(3, Acks::kAll));
  CHECK(leader->IsCommitted(3, Acks::kLeader));

  std::optional<absl::Status> done;
  REQUIRE(leader->WhenCommitted(3, Acks::kAll, [&](absl::Status st) { done = st; }).ok());
  leader->AdvanceHighWatermark(3);  // below the batch's last offset: not yet
  CHECK_FALSE(done.has_value());
  leader->AdvanceHighWatermark(4);
  REQUIRE(done.has_value());
  CHECK(done->ok());
  CHECK(leader->IsCommitted(3, Acks::kAll));

  // A leader that becomes a follower fails its pending waits.
  MustAppend(*leader, MakeProducerBatch(-1, 0, 0, 1));
  std::optional<absl::Status> orphan;
  REQUIRE(leader->WhenCommitted(4, Acks::kAll, [&](absl::Status st) { orphan = st; }).ok());
  REQUIRE(leader->BecomeFollower(2).ok());
  REQUIRE(orphan.has_value());
  CHECK(absl::IsUnavailable(*orphan));
  CHECK(absl::IsUnavailable(
      leader->WhenCommitted(4, Acks::kAll, [](absl::Status) { FAIL("called"); })));
}

TEST_CASE("A follower truncates where its log diverges, and forgets what it removed") {
  Fixture f;
  auto p = f.Open("/a");
  REQUIRE(p->BecomeLeader(1).ok());
  MustAppend(*p, MakeProducerBatch(9, 0, 0, 2, "x"));
  REQUIRE(p->BecomeLeader(2).ok());
  MustAppend(*p, MakeProducerBatch(9, 0, 2, 2, "y"));
  REQUIRE(p->BecomeFollower(3).ok());
  p->AdvanceHighWatermark(4);
  CHECK(p->EndOffsetForEpoch(1).end_offset == 2);
  REQUIRE(p->TruncateTo(2).ok());
  CHECK(p->log_end_offset() == 2);
  CHECK(p->high_watermark() == 2);
  CHECK(p->last_epoch() == 1);
  // The producer's batch at 2 is forgotten: its retry is taken as new, not as a duplicate.
  REQUIRE(p->BecomeLeader(3).ok());
  auto again = AppendCopy(*p, MakeProducerBatch(9, 0, 2, 2, "y"));
  REQUIRE(again.ok());
  CHECK_FALSE(again->duplicate);
  CHECK(again->base_offset == 2);
}

TEST_CASE("Leader epochs are rebuilt from the batches when a partition opens") {
  Fixture f;
  {
    auto p = f.Open("/a");
    REQUIRE(p->BecomeLeader(2).ok());
    MustAppend(*p, MakeProducerBatch(-1, 0, 0, 2));
    REQUIRE(p->BecomeLeader(5).ok());
    MustAppend(*p, MakeProducerBatch(-1, 0, 0, 3));
    REQUIRE(p->Close().ok());
  }
  auto p = f.Open("/a");
  CHECK(p->last_epoch() == 5);
  CHECK(p->leader_epoch() == 5);
  CHECK(p->EndOffsetForEpoch(2).end_offset == 2);
  CHECK(p->EndOffsetForEpoch(4).epoch == 2);
  // The cluster's epoch cannot go back below what the log holds.
  CHECK(absl::IsFailedPrecondition(p->BecomeFollower(4)));
}

}  // namespace
}  // namespace strata::partition
