// Tests for idempotent-producer deduplication: every Check decision, sequence wrap, eviction,
// retention, and that a rebuild from the log (a restart) gives the same decisions.
#include "partition/producer_state.h"

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "io/memory_file_system.h"
#include "log/log.h"
#include "partition/partition.h"
#include "partition/test_util.h"

namespace strata::partition {
namespace {

using testing::MakeProducerBatch;
using testing::ProducerHeader;

std::string Message(const absl::Status& st) { return std::string(st.message()); }

// Appends (as far as ProducerState knows) a batch at `*next_offset` and returns its offsets.
ProducerBatch Append(ProducerState& state, const record::BatchHeader& h, int64_t* next_offset) {
  auto check = state.Check(h);
  REQUIRE(check.ok());
  REQUIRE(check->decision == ProducerDecision::kAppend);
  int64_t base = *next_offset;
  int64_t last = base + h.last_offset_delta;
  state.Update(h, base, last);
  *next_offset = last + 1;
  return ProducerBatch{h.base_sequence,
                       ProducerState::LastSequence(h.base_sequence, h.last_offset_delta), base,
                       last};
}

void CheckDuplicate(const ProducerState& state, const record::BatchHeader& h, int64_t base,
                    int64_t last) {
  auto check = state.Check(h);
  REQUIRE(check.ok());
  CHECK(check->decision == ProducerDecision::kDuplicate);
  CHECK(check->base_offset == base);
  CHECK(check->last_offset == last);
}

TEST_CASE("batches without a producer id bypass deduplication", "[producer_state]") {
  ProducerState state;
  auto h = ProducerHeader(-1, -1, -1, 3);
  auto check = state.Check(h);
  REQUIRE(check.ok());
  CHECK(check->decision == ProducerDecision::kAppend);
  state.Update(h, 0, 2);
  state.Update(h, 3, 5);
  CHECK(state.producer_count() == 0);
  // The very same batch again is appended again: nothing is remembered.
  CHECK(state.Check(h)->decision == ProducerDecision::kAppend);
}

TEST_CASE("in-order sequences append; gaps and stale ones are out of order", "[producer_state]") {
  ProducerState state;
  int64_t next = 100;
  // An unknown producer may start at any sequence (Kafka's rule), here 0.
  Append(state, ProducerHeader(7, 0, 0, 3), &next);  // seq 0..2 at 100..102
  Append(state, ProducerHeader(7, 0, 3, 2), &next);  // seq 3..4 at 103..104
  auto info = state.Find(7);
  REQUIRE(info.has_value());
  CHECK(info->epoch == 0);
  CHECK(info->batches == std::vector<ProducerBatch>{{0, 2, 100, 102}, {3, 4, 103, 104}});

  auto gap = state.Check(ProducerHeader(7, 0, 6, 1));
  CHECK(absl::IsOutOfRange(gap.status()));
  CHECK(Message(gap.status()) ==
        "producer 7 epoch 0: out-of-order sequence 6 (expected 5 after the last appended batch "
        "3..4); earlier batches must be appended first");
  // Overlapping a retained batch without matching it exactly is not a duplicate.
  CHECK(absl::IsOutOfRange(state.Check(ProducerHeader(7, 0, 3, 1)).status()));
  CHECK(absl::IsOutOfRange(state.Check(ProducerHeader(7, 0, 1, 2)).status()));
  // The next sequence is accepted.
  CHECK(state.Check(ProducerHeader(7, 0, 5, 10))->decision == ProducerDecision::kAppend);
  // Another producer is independent, and may start anywhere.
  CHECK(state.Check(ProducerHeader(8, 3, 42, 1))->decision == ProducerDecision::kAppend);
}

TEST_CASE("retries of the last five batches are duplicates with their offsets",
          "[producer_state]") {
  ProducerState state;
  int64_t next = 0;
  std::vector<ProducerBatch> batches;
  for (int i = 0; i < 7; ++i) {
    // Another producer's batches interleave, so offsets are not just sequences.
    Append(state, ProducerHeader(99, 0, i, 1), &next);
    batches.push_back(Append(state, ProducerHeader(5, 2, i * 2, 2), &next));
  }
  auto info = state.Find(5);
  REQUIRE(info.has_value());
  REQUIRE(info->batches.size() == limits::producer_batches_retained_max);
  CHECK(info->batches.front() == batches[2]);
  CHECK(info->batches.back() == batches[6]);
  for (int i = 2; i < 7; ++i) {
    INFO(i);
    CheckDuplicate(state, ProducerHeader(5, 2, i * 2, 2), batches[i].base_offset,
                   batches[i].last_offset);
  }
  CHECK(batches[6].base_offset == 19);
  CHECK(batches[6].last_offset == 20);
  // Batch 1 is older than the retained five: no longer recognised, and below the expected sequence.
  auto old = state.Check(ProducerHeader(5, 2, 2, 2));
  CHECK(absl::IsOutOfRange(old.status()));
}

TEST_CASE("epochs: a new epoch restarts at 0, an old one is fenced", "[producer_state]") {
  ProducerState state;
  int64_t next = 0;
  Append(state, ProducerHeader(1, 4, 0, 5), &next);  // offsets 0..4
  Append(state, ProducerHeader(1, 4, 5, 5), &next);  // offsets 5..9

  // A new epoch must start at sequence 0.
  auto bad = state.Check(ProducerHeader(1, 5, 10, 1));
  CHECK(absl::IsOutOfRange(bad.status()));
  CHECK(Message(bad.status()) ==
        "producer 1: out-of-order sequence 10 for new epoch 5 (was 4); a new epoch must start at "
        "sequence 0");
  Append(state, ProducerHeader(1, 5, 0, 2), &next);  // offsets 10..11
  auto info = state.Find(1);
  REQUIRE(info.has_value());
  CHECK(info->epoch == 5);
  CHECK(info->batches == std::vector<ProducerBatch>{{0, 1, 10, 11}});
  CheckDuplicate(state, ProducerHeader(1, 5, 0, 2), 10, 11);

  // The old epoch is fenced, even for a retry of a batch it once appended.
  for (auto h :
       {ProducerHeader(1, 4, 5, 5), ProducerHeader(1, 4, 10, 1), ProducerHeader(1, 0, 0, 1)}) {
    auto fenced = state.Check(h);
    CHECK(absl::IsFailedPrecondition(fenced.status()));
  }
  CHECK(Message(state.Check(ProducerHeader(1, 4, 10, 1)).status()) ==
        "producer 1 is fenced: epoch 4 is older than the current epoch 5 (a newer instance of this "
        "producer took over; this one must stop)");
}

TEST_CASE("sequences wrap from INT32_MAX to 0", "[producer_state]") {
  CHECK(ProducerState::LastSequence(10, 4) == 14);
  CHECK(ProducerState::LastSequence(INT32_MAX, 0) == INT32_MAX);
  CHECK(ProducerState::LastSequence(INT32_MAX, 1) == 0);
  CHECK(ProducerState::LastSequence(INT32_MAX - 1, 3) == 1);
  CHECK(ProducerState::NextSequence(INT32_MAX) == 0);
  CHECK(ProducerState::NextSequence(0) == 1);

  ProducerState state;
  int64_t next = 0;
  Append(state, ProducerHeader(3, 0, INT32_MAX - 4, 5), &next);                 // ends at INT32_MAX
  CHECK(absl::IsOutOfRange(state.Check(ProducerHeader(3, 0, 1, 1)).status()));  // expects 0
  Append(state, ProducerHeader(3, 0, 0, 3), &next);  // 0..2 after the wrap
  Append(state, ProducerHeader(3, 0, 3, 1), &next);
  // A batch that straddles the wrap.
  ProducerState straddle;
  int64_t n2 = 0;
  Append(straddle, ProducerHeader(4, 1, INT32_MAX - 1, 4), &n2);  // INT32_MAX-1 .. 1
  auto info = straddle.Find(4);
  REQUIRE(info.has_value());
  CHECK(info->batches.back().last_sequence == 1);
  CheckDuplicate(straddle, ProducerHeader(4, 1, INT32_MAX - 1, 4), 0, 3);
  CHECK(straddle.Check(ProducerHeader(4, 1, 2, 1))->decision == ProducerDecision::kAppend);
  CHECK(absl::IsOutOfRange(straddle.Check(ProducerHeader(4, 1, 0, 1)).status()));
}

TEST_CASE("malformed producer fields are InvalidArgument", "[producer_state]") {
  ProducerState state;
  CHECK(Message(state.Check(ProducerHeader(-2, 0, 0, 1)).status()) ==
        "producer id -2 is invalid (must be >= 0, or -1 for none)");
  CHECK(absl::IsInvalidArgument(state.Check(ProducerHeader(1, -1, 0, 1)).status()));
  CHECK(Message(state.Check(ProducerHeader(1, 0, -1, 1)).status()) ==
        "producer 1: base sequence -1 is invalid (must be >= 0)");
}

TEST_CASE("the least recently appending producer is evicted past the bound", "[producer_state]") {
  ProducerState state(/*producer_ids_max=*/3);
  int64_t next = 0;
  ProducerBatch b1 = Append(state, ProducerHeader(1, 0, 0, 1), &next);
  ProducerBatch b2 = Append(state, ProducerHeader(2, 0, 0, 1), &next);
  Append(state, ProducerHeader(3, 0, 0, 1), &next);
  Append(state, ProducerHeader(1, 0, 1, 1), &next);  // 1 is now the most recent; 2 the least
  // Checks never count as use: a duplicate of 2's batch does not save it.
  CheckDuplicate(state, ProducerHeader(2, 0, 0, 1), b2.base_offset, b2.last_offset);
  Append(state, ProducerHeader(4, 0, 0, 1), &next);
  CHECK(state.producer_count() == 3);
  CHECK(!state.Find(2).has_value());
  CHECK(state.Find(1).has_value());
  CHECK(state.Find(3).has_value());
  CHECK(state.Find(4).has_value());
  // The documented consequence: 2's retry is no longer a duplicate, and any sequence is taken.
  CHECK(state.Check(ProducerHeader(2, 0, 0, 1))->decision == ProducerDecision::kAppend);
  CHECK(state.Check(ProducerHeader(2, 0, 9, 1))->decision == ProducerDecision::kAppend);
  CheckDuplicate(state, ProducerHeader(1, 0, 0, 1), b1.base_offset, b1.last_offset);
  // Next to go is 3.
  Append(state, ProducerHeader(5, 0, 0, 1), &next);
  CHECK(!state.Find(3).has_value());
  CHECK(state.Find(1).has_value());
}

TEST_CASE("RemoveBelow forgets batches deleted by retention", "[producer_state]") {
  ProducerState state;
  int64_t next = 0;
  Append(state, ProducerHeader(1, 0, 0, 10), &next);   // 0..9
  Append(state, ProducerHeader(2, 0, 0, 10), &next);   // 10..19
  Append(state, ProducerHeader(1, 0, 10, 10), &next);  // 20..29
  state.RemoveBelow(15);
  CHECK(!state.Find(2).has_value());
  auto info = state.Find(1);
  REQUIRE(info.has_value());
  CHECK(info->batches == std::vector<ProducerBatch>{{10, 19, 20, 29}});
  CHECK(state.producer_count() == 1);
}

// A real log with batches appended through a ProducerState, for rebuild tests.
struct LogFixture {
  io::MemoryFileSystem fs;
  log::MapCache cache{8};
  std::unique_ptr<log::Log> Open() {
    log::LogOptions o;
    o.fs = &fs;
    o.dir = "/data/t-0";
    o.config.segment_bytes = 8192;  // several segments
    o.config.flush.bytes = 0;
    o.config.flush.interval_ms = 0;
    o.map_cache = &cache;
    auto log = log::Log::Open(std::move(o));
    REQUIRE(log.ok());
    return std::move(*log);
  }
};

TEST_CASE("a rebuild from the log gives the same table and decisions", "[producer_state]") {
  LogFixture f;
  auto log = f.Open();
  ProducerState live(/*producer_ids_max=*/4);
  std::vector<int32_t> seq(8, 0);
  std::vector<int16_t> epoch(8, 0);
  for (int i = 0; i < 200; ++i) {
    // Six producers through a table of four: four busy ones and two occasional ones that evict
    // them now and then.
    int64_t pid = i % 4;
    if (i % 13 == 0) pid = 4;
    if (i % 17 == 0) pid = 5;
    if (i % 11 == 0) pid = -1;
    if (i == 150) epoch[2] = 1, seq[2] = 0;
    auto batch = MakeProducerBatch(pid, pid < 0 ? -1 : epoch[pid], pid < 0 ? -1 : seq[pid],
                                   1 + i % 3, absl::StrCat("b", i));
    auto header = record::ParseBatchHeader(batch);
    REQUIRE(header.ok());
    auto check = live.Check(*header);
    REQUIRE(check.ok());
    REQUIRE(check->decision == ProducerDecision::kAppend);
    auto appended = log->Append(batch, 0);
    REQUIRE(appended.ok());
    live.Update(*header, appended->base_offset, appended->last_offset);
    if (pid >= 0) seq[pid] += 1 + i % 3;
  }
  REQUIRE(log->Segments().size() > 2);

  ProducerState rebuilt(4);
  REQUIRE(rebuilt.RebuildFrom(*log).ok());
  CHECK(rebuilt.producer_count() == live.producer_count());
  CHECK(live.producer_count() == 4);
  int tracked = 0;
  size_t most_batches = 0;
  size_t fewest_batches = 99;
  for (int64_t pid = 0; pid < 6; ++pid) {
    INFO(pid);
    auto a = live.Find(pid);
    auto b = rebuilt.Find(pid);
    REQUIRE(a.has_value() == b.has_value());
    if (!a) continue;
    ++tracked;
    CHECK(a->epoch == b->epoch);
    CHECK(a->batches == b->batches);
    most_batches = std::max(most_batches, a->batches.size());
    fewest_batches = std::min(fewest_batches, a->batches.size());
    // Same decisions for retries, the next batch, gaps and stale epochs.
    for (const ProducerBatch& pb : a->batches) {
      auto h =
          ProducerHeader(pid, a->epoch, pb.base_sequence, pb.last_sequence - pb.base_sequence + 1);
      CheckDuplicate(rebuilt, h, pb.base_offset, pb.last_offset);
    }
    auto next = ProducerHeader(pid, a->epoch, seq[pid], 1);
    CHECK(rebuilt.Check(next)->decision == ProducerDecision::kAppend);
    auto gap = ProducerHeader(pid, a->epoch, seq[pid] + 1, 1);
    CHECK(live.Check(gap).status().code() == rebuilt.Check(gap).status().code());
    CHECK(absl::IsOutOfRange(rebuilt.Check(gap).status()));
  }
  CHECK(tracked == 4);
  CHECK(most_batches == limits::producer_batches_retained_max);
  CHECK(fewest_batches < limits::producer_batches_retained_max);  // one came back after eviction
  // Producer 2 moved to epoch 1 (if still tracked, epoch 0 is fenced).
  if (rebuilt.Find(2))
    CHECK(absl::IsFailedPrecondition(rebuilt.Check(ProducerHeader(2, 0, 0, 1)).status()));
}

TEST_CASE("after a restart a retried batch is a duplicate with its original offsets",
          "[producer_state][partition]") {
  io::MemoryFileSystem fs;
  TopicConfig config;
  config.log.segment_bytes = 8192;
  config.log.flush.bytes = 0;
  config.log.flush.interval_ms = 0;
  std::vector<std::vector<std::byte>> sent;
  std::vector<AppendResult> results;
  {
    auto p = Partition::Open(&fs, "/data", "orders", 0, config);
    REQUIRE(p.ok());
    for (int i = 0; i < 30; ++i) {
      int64_t pid = 10 + i % 3;
      sent.push_back(MakeProducerBatch(pid, 0, (i / 3) * 2, 2, absl::StrCat("r", i)));
      auto copy = sent.back();  // Append stamps offsets in place; keep the producer's bytes
      auto r = (*p)->Append(copy);
      REQUIRE(r.ok());
      CHECK(!r->duplicate);
      CHECK(r->base_offset == 2 * i);
      results.push_back(*r);
    }
    REQUIRE((*p)->Close().ok());
  }
  auto p = Partition::Open(&fs, "/data", "orders", 0, config);
  REQUIRE(p.ok());
  Partition& part = **p;
  CHECK(part.log_end_offset() == 60);
  // The last five batches of each producer are recognised, with their original offsets.
  for (int i = 15; i < 30; ++i) {
    INFO(i);
    auto copy = sent[i];
    auto r = part.Append(copy);
    REQUIRE(r.ok());
    CHECK(r->duplicate);
    CHECK(r->base_offset == results[i].base_offset);
    CHECK(r->last_offset == results[i].last_offset);
  }
  CHECK(part.log_end_offset() == 60);
  // Older ones are out of order now, as they were before the restart.
  auto old = sent[3];
  auto refused = part.Append(old);
  REQUIRE(!refused.ok());
  CHECK(refused.error().code == AppendErrorCode::kOutOfOrderSequence);
  // The next batch of producer 10 appends at the end.
  auto fresh = MakeProducerBatch(10, 0, 20, 1, "new");
  auto r = part.Append(fresh);
  REQUIRE(r.ok());
  CHECK(!r->duplicate);
  CHECK(r->base_offset == 60);
}

}  // namespace
}  // namespace strata::partition
