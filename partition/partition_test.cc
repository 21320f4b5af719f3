// Tests for Partition: directory naming, appends with producer deduplication, pass-through reads,
// retention, close, bad input, and concurrent retries.
#include "partition/partition.h"

#include <barrier>
#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "io/memory_file_system.h"
#include "log/test_util.h"
#include "partition/test_util.h"

namespace strata::partition {
namespace {

using log::testing::Values;
using testing::MakeProducerBatch;

struct Fixture {
  io::MemoryFileSystem fs;
  TopicConfig config;
  Fixture() {
    config.partitions = 4;
    config.log.segment_bytes = 8192;
    config.log.flush.bytes = 0;
    config.log.flush.interval_ms = 0;
    config.log.retention_ms = -1;
  }
  std::unique_ptr<Partition> Open(int32_t index = 2) {
    auto p = Partition::Open(&fs, "/data", "orders", index, config);
    REQUIRE(p.ok());
    return std::move(*p);
  }
};

AppendResult MustAppend(Partition& p, std::vector<std::byte> batch) {
  auto r = p.Append(batch);
  if (!r.ok()) FAIL(AppendErrorName(r.error().code) << ": " << r.error().message);
  return *r;
}

// Why an append was refused; fails the test if it was taken.
AppendError Refused(const Result<AppendResult, AppendError>& r) {
  REQUIRE(!r.ok());
  return r.error();
}

std::vector<std::string> ReadAll(const Partition& p) {
  return log::testing::ReadAllValues(p, -1, 1 << 20);
}

TEST_CASE("a partition lives in <data_dir>/<topic>-<index>", "[partition]") {
  Fixture f;
  CHECK(Partition::DirName("orders", 2) == "orders-2");
  CHECK(Partition::DirName("a-1", 0) == "a-1-0");
  auto p = f.Open(2);
  CHECK(p->topic() == "orders");
  CHECK(p->index() == 2);
  CHECK(p->log().dir() == "/data/orders-2");
  CHECK(f.fs.Exists("/data/orders-2").value());
  CHECK(!f.fs.Exists("/data/orders-0").value());
}

TEST_CASE("appends assign offsets; reads and timestamp lookups pass through", "[partition]") {
  Fixture f;
  auto p = f.Open();
  CHECK(p->leader_epoch() == 0);
  p->SetLeaderEpoch(1);  // stamped into every batch appended from now on
  auto a = MustAppend(*p, MakeProducerBatch(-1, -1, -1, 3, "a", 100));
  auto b = MustAppend(*p, MakeProducerBatch(5, 0, 0, 2, "b", 200));
  CHECK(a.base_offset == 0);
  CHECK(a.last_offset == 2);
  CHECK(!a.duplicate);
  CHECK(b.base_offset == 3);
  CHECK(b.last_offset == 4);
  CHECK(p->log_start_offset() == 0);
  CHECK(p->log_end_offset() == 5);
  CHECK(ReadAll(*p) == std::vector<std::string>{"a-0", "a-1", "a-2", "b-0", "b-1"});
  auto ts = p->OffsetForTimestamp(150);
  REQUIRE(ts.ok());
  CHECK(*ts == std::optional<int64_t>(3));
  CHECK(p->OffsetForTimestamp(999).value() == std::nullopt);
  // The leader epoch was stamped.
  auto r = p->Read(3, 1 << 20);
  REQUIRE(r.ok());
  CHECK(record::ParseBatchHeader(r->bytes)->leader_epoch == 1);
}

TEST_CASE("a duplicate returns the original offsets and appends nothing", "[partition]") {
  Fixture f;
  auto p = f.Open();
  auto batch = MakeProducerBatch(5, 0, 0, 2, "x");
  auto first = MustAppend(*p, batch);
  MustAppend(*p, MakeProducerBatch(-1, -1, -1, 1, "other"));
  auto retry = batch;  // the producer's original bytes, unstamped
  p->SetLeaderEpoch(9);
  auto again = p->Append(retry);
  REQUIRE(again.ok());
  CHECK(again->duplicate);
  CHECK(again->base_offset == first.base_offset);
  CHECK(again->last_offset == first.last_offset);
  CHECK(retry == batch);  // a duplicate is not stamped
  CHECK(p->log_end_offset() == 3);
  CHECK(ReadAll(*p) == std::vector<std::string>{"x-0", "x-1", "other-0"});
  auto info = p->FindProducer(5);
  REQUIRE(info.has_value());
  CHECK(info->batches.size() == 1);
}

TEST_CASE("out-of-order and fenced batches are refused without appending", "[partition]") {
  Fixture f;
  auto p = f.Open();
  MustAppend(*p, MakeProducerBatch(5, 2, 0, 2));
  auto gap = MakeProducerBatch(5, 2, 3, 1);
  CHECK(Refused(p->Append(gap)).code == AppendErrorCode::kOutOfOrderSequence);
  auto fenced = MakeProducerBatch(5, 1, 2, 1);
  auto st = Refused(p->Append(fenced));
  CHECK(st.code == AppendErrorCode::kProducerFenced);
  CHECK(st.message.find("fenced") != std::string::npos);
  auto bad_fields = MakeProducerBatch(-7, 0, 0, 1);
  CHECK(Refused(p->Append(bad_fields)).code == AppendErrorCode::kInvalidProducerFields);
  CHECK(p->log_end_offset() == 2);
  MustAppend(*p, MakeProducerBatch(5, 2, 2, 1));
  CHECK(p->log_end_offset() == 3);
}

TEST_CASE("damaged batches are DataLoss, never duplicates or sequence errors", "[partition]") {
  Fixture f;
  auto p = f.Open();
  auto batch = MakeProducerBatch(5, 0, 0, 2, "x");
  MustAppend(*p, batch);
  // A damaged retry of the appended batch: its header still matches, its records do not.
  auto damaged = batch;
  damaged.back() ^= std::byte{0x40};
  auto st = Refused(p->Append(damaged));
  CHECK(st.code == AppendErrorCode::kCorruptBatch);
  CHECK(st.message.rfind("rejected batch: ", 0) == 0);
  // A damaged batch that would be out of order is still DataLoss.
  auto gap = MakeProducerBatch(5, 0, 9, 1);
  gap.back() ^= std::byte{1};
  CHECK(Refused(p->Append(gap)).code == AppendErrorCode::kCorruptBatch);
  // A batch cut short is DataLoss here (OutOfRange means a sequence gap at this layer).
  auto cut = MakeProducerBatch(5, 0, 2, 1);
  cut.resize(cut.size() - 3);
  CHECK(Refused(p->Append(cut)).code == AppendErrorCode::kCorruptBatch);
  // Two batches at once are refused, on the duplicate path as on the append path.
  auto two = batch;
  two.insert(two.end(), batch.begin(), batch.end());
  CHECK(Refused(p->Append(two)).code == AppendErrorCode::kInvalidBatch);
  auto fresh = MakeProducerBatch(5, 0, 2, 1);
  auto two_fresh = fresh;
  two_fresh.insert(two_fresh.end(), fresh.begin(), fresh.end());
  CHECK(Refused(p->Append(two_fresh)).code == AppendErrorCode::kInvalidBatch);
  CHECK(p->log_end_offset() == 2);
}

TEST_CASE("Open rejects bad names, indexes and configs", "[partition]") {
  Fixture f;
  auto bad_name = Partition::Open(&f.fs, "/data", "a/b", 0, f.config);
  CHECK(absl::IsInvalidArgument(bad_name.status()));
  auto bad_index = Partition::Open(&f.fs, "/data", "orders", 4, f.config);
  CHECK(absl::IsInvalidArgument(bad_index.status()));
  CHECK(std::string(bad_index.status().message()) ==
        "partition 4 of topic orders is outside [0, 4)");
  CHECK(absl::IsInvalidArgument(Partition::Open(&f.fs, "/data", "orders", -1, f.config).status()));
  TopicConfig bad = f.config;
  bad.log.segment_bytes = 10;
  auto bad_config = Partition::Open(&f.fs, "/data", "orders", 0, bad);
  CHECK(absl::IsInvalidArgument(bad_config.status()));
  CHECK(std::string(bad_config.status().message()).rfind("segment_bytes: 10 is outside", 0) == 0);
  CHECK(!f.fs.Exists("/data/orders-0").value());
}

TEST_CASE("after Close appends fail and reopening keeps the data", "[partition]") {
  Fixture f;
  auto p = f.Open();
  MustAppend(*p, MakeProducerBatch(1, 0, 0, 4, "k"));
  REQUIRE(p->Close().ok());
  REQUIRE(p->Close().ok());
  auto after = MakeProducerBatch(1, 0, 4, 1);
  CHECK(Refused(p->Append(after)).code == AppendErrorCode::kClosed);
  p.reset();
  p = f.Open();
  CHECK(p->log().recovery().clean_shutdown);
  CHECK(ReadAll(*p) == std::vector<std::string>{"k-0", "k-1", "k-2", "k-3"});
  CHECK(!MustAppend(*p, MakeProducerBatch(1, 0, 4, 1)).duplicate);
}

TEST_CASE("retention drops producer batches with the segments that held them", "[partition]") {
  Fixture f;
  f.config.log.segment_bytes = 4096;
  f.config.log.retention_bytes = 4096;
  auto p = f.Open();
  MustAppend(*p, MakeProducerBatch(2, 0, 0, 1, "early"));
  for (int i = 0; i < 60; ++i) {
    MustAppend(*p, MakeProducerBatch(1, 0, i * 4, 4, std::string(60, 'v')));
  }
  REQUIRE(p->log().Segments().size() > 3);
  auto r = p->ApplyRetention();
  REQUIRE(r.ok());
  CHECK(r->segments_deleted > 0);
  CHECK(p->log_start_offset() > 1);
  CHECK(!p->FindProducer(2).has_value());
  auto before = p->FindProducer(1);
  REQUIRE(before.has_value());
  CHECK(before->batches.size() == 5);
  REQUIRE(p->Close().ok());
  p = f.Open();
  CHECK(!p->FindProducer(2).has_value());
  auto after = p->FindProducer(1);
  REQUIRE(after.has_value());
  CHECK(after->batches == before->batches);
  // Producer 2 is forgotten: any sequence is accepted again (Kafka's rule).
  CHECK(!MustAppend(*p, MakeProducerBatch(2, 0, 7, 1)).duplicate);
}

TEST_CASE("concurrent retries of the same batch append it exactly once", "[partition]") {
  Fixture f;
  auto p = f.Open();
  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  std::vector<std::vector<std::byte>> batches;
  for (int i = 0; i < kRounds; ++i) {
    batches.push_back(MakeProducerBatch(77, 0, i * 2, 2, absl::StrCat("r", i)));
  }
  std::vector<std::vector<AppendResult>> seen(kThreads);
  std::barrier round(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        round.arrive_and_wait();
        auto copy = batches[i];
        auto r = p->Append(copy);
        seen[t].push_back(r.ok() ? *r : AppendResult{-1, -1, false});
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < kRounds; ++i) {
    INFO(i);
    int appended = 0;
    for (int t = 0; t < kThreads; ++t) {
      CHECK(seen[t][i].base_offset == 2 * i);
      CHECK(seen[t][i].last_offset == 2 * i + 1);
      appended += seen[t][i].duplicate ? 0 : 1;
    }
    CHECK(appended == 1);
  }
  CHECK(p->log_end_offset() == 2 * kRounds);
}

// --- cleanup_policy=compact ------------------------------------------------------------------

std::vector<std::byte> Keyed(std::vector<std::pair<std::optional<std::string>,
                                                   std::optional<std::string>>> kvs,
                             int64_t ts_ms, record::Compression c = record::Compression::kNone) {
  std::vector<log::testing::KeyValue> records;
  for (auto& [k, v] : kvs) records.push_back({k, v});
  return log::testing::MakeKeyedBatch(records, ts_ms, record::BatchOptions{.compression = c});
}

TEST_CASE("a compacted topic refuses a record without a key before writing anything",
          "[partition][compact]") {
  Fixture f;
  f.config.cleanup_policy = CleanupPolicy::kCompact;
  auto p = f.Open();
  for (record::Compression c : {record::Compression::kNone, record::Compression::kLz4}) {
    INFO(record::CompressionName(c));
    auto batch = Keyed({{"a", "1"}, {std::nullopt, "2"}, {"c", "3"}}, 100, c);
    auto st = Refused(p->Append(batch));
    CHECK(st.code == AppendErrorCode::kInvalidBatch);
    CHECK_THAT(st.message,
               Catch::StartsWith("a compacted topic needs a key on every record: record 1"));
    CHECK(p->log_end_offset() == 0);
    // An idempotent batch is refused before the producer state sees it.
    auto idempotent = MakeProducerBatch(3, 0, 0, 2, "v", 100, std::nullopt, c);
    CHECK(Refused(p->Append(idempotent)).code == AppendErrorCode::kInvalidBatch);
    CHECK(!p->FindProducer(3).has_value());
  }
  // A damaged batch is still DataLoss, and keyed records (empty keys too) are taken.
  auto damaged = Keyed({{"a", "1"}}, 100);
  damaged.back() ^= std::byte{1};
  CHECK(Refused(p->Append(damaged)).code == AppendErrorCode::kCorruptBatch);
  auto ok = Keyed({{"a", "1"}, {"", "empty key"}, {"b", std::nullopt}}, 100);
  CHECK(MustAppend(*p, ok).last_offset == 2);
  // Topics with cleanup_policy=delete take null keys as before.
  f.config.cleanup_policy = CleanupPolicy::kDelete;
  auto plain = f.Open(1);
  CHECK(MustAppend(*plain, Keyed({{std::nullopt, "x"}}, 100)).base_offset == 0);
}

TEST_CASE("Partition::Compact applies the topic's delete_retention_ms; delete topics refuse it",
          "[partition][compact]") {
  Fixture f;
  auto plain = f.Open(0);
  CHECK(absl::IsFailedPrecondition(plain->Compact(5000).status()));
  f.config.cleanup_policy = CleanupPolicy::kCompact;
  f.config.delete_retention_ms = 100;
  auto p = f.Open(1);
  MustAppend(*p, Keyed({{"a", "1"}, {"b", "1"}}, 1000));
  MustAppend(*p, Keyed({{"a", std::nullopt}}, 2000));
  MustAppend(*p, Keyed({{"b", "2"}}, 3000));
  REQUIRE(p->log().Roll().ok());
  REQUIRE(p->log().Flush().ok());
  auto kept = p->Compact(2100);  // the tombstone is exactly delete_retention_ms old
  REQUIRE(kept.ok());
  CHECK(kept->records_removed == 2);
  CHECK(ReadAll(*p) == std::vector<std::string>{"<null>", "2"});
  auto gone = p->Compact(2101);
  REQUIRE(gone.ok());
  CHECK(gone->tombstones_removed == 1);
  CHECK(ReadAll(*p) == std::vector<std::string>{"2"});
  REQUIRE(p->Close().ok());
  CHECK(absl::IsUnavailable(p->Compact(5000).status()));
}

TEST_CASE("retention deletes nothing in a compacted topic", "[partition][compact]") {
  Fixture f;
  f.config.log.segment_bytes = 4096;
  f.config.log.retention_bytes = 4096;
  f.config.cleanup_policy = CleanupPolicy::kCompact;
  auto p = f.Open();
  for (int i = 0; i < 120; ++i) {
    MustAppend(*p, Keyed({{"k" + std::to_string(i), std::string(100, 'v')}}, 100));
  }
  const size_t segments = p->log().Segments().size();
  REQUIRE(segments > 3);
  auto r = p->ApplyRetention();
  REQUIRE(r.ok());
  CHECK(r->segments_deleted == 0);
  CHECK(p->log().Segments().size() == segments);
  CHECK(p->log_start_offset() == 0);
}

TEST_CASE("an idempotent producer continues its sequence after compaction and a restart",
          "[partition][compact]") {
  Fixture f;
  f.config.cleanup_policy = CleanupPolicy::kCompact;
  auto p = f.Open();
  // Producer 5 writes u-0..u-2 twice; a later plain batch supersedes every one of them.
  MustAppend(*p, MakeProducerBatch(5, 0, 0, 3, "first", 100, "u"));
  MustAppend(*p, MakeProducerBatch(5, 0, 3, 3, "second", 200, "u"));
  MustAppend(*p, MakeProducerBatch(-1, -1, -1, 3, "plain", 300, "u"));
  REQUIRE(p->log().Roll().ok());
  REQUIRE(p->log().Flush().ok());
  auto r = p->Compact(1000);
  REQUIRE(r.ok());
  CHECK(r->records_removed == 6);
  CHECK(ReadAll(*p) == std::vector<std::string>{"plain-0", "plain-1", "plain-2"});
  // The live state still knows both batches: a retry of the first is a duplicate.
  auto retry_first = MakeProducerBatch(5, 0, 0, 3, "first", 100, "u");
  auto dup = p->Append(retry_first);
  REQUIRE(dup.ok());
  CHECK(dup->duplicate);
  CHECK(dup->base_offset == 0);

  REQUIRE(p->Close().ok());
  p = f.Open();
  // Rebuilt from the log: the producer's last batch survived compaction as an empty batch.
  auto info = p->FindProducer(5);
  REQUIRE(info.has_value());
  REQUIRE(info->batches.size() == 1);
  CHECK(info->batches[0].last_sequence == 5);
  CHECK(info->batches[0].base_offset == 3);
  // A retry of that batch is still a duplicate with its original offsets ...
  auto retry_second = MakeProducerBatch(5, 0, 3, 3, "second", 200, "u");
  auto dup2 = p->Append(retry_second);
  REQUIRE(dup2.ok());
  CHECK(dup2->duplicate);
  CHECK(dup2->base_offset == 3);
  // ... a gap in the sequence is detected, and the next sequence is taken.
  auto gap = MakeProducerBatch(5, 0, 20, 1, "gap", 400, "u");
  CHECK(Refused(p->Append(gap)).code == AppendErrorCode::kOutOfOrderSequence);
  auto next = MakeProducerBatch(5, 0, 6, 1, "next", 400, "u");
  auto appended = MustAppend(*p, next);
  CHECK(!appended.duplicate);
  CHECK(appended.base_offset == 9);
}

TEST_CASE("the face for leadership and commitment: epoch, high watermark, commit waits",
          "[partition]") {
  Fixture f;
  auto p = f.Open();
  CHECK(p->high_watermark() == 0);
  auto a = MustAppend(*p, MakeProducerBatch(-1, -1, -1, 3, "a"));
  // One node: the high watermark is the log end.
  CHECK(p->high_watermark() == 3);
  // Nothing is fsynced yet (no flusher, flush thresholds off): acks=1 is committed once
  // appended, acks=all only once durable.
  CHECK(p->IsCommitted(a.last_offset, Acks::kNone));
  CHECK(p->IsCommitted(a.last_offset, Acks::kLeader));
  CHECK(!p->IsCommitted(a.last_offset, Acks::kAll));
  int calls = 0;
  absl::Status seen = absl::UnknownError("not called");
  REQUIRE(p->WhenCommitted(a.last_offset, Acks::kLeader, [&](absl::Status st) {
    ++calls;
    seen = st;
  }).ok());
  CHECK(calls == 1);  // committed already: called at once
  CHECK(seen.ok());
  calls = 0;
  REQUIRE(p->WhenCommitted(a.last_offset, Acks::kAll, [&](absl::Status st) {
    ++calls;
    seen = st;
  }).ok());
  // Without a flusher the log fsyncs inside WhenDurable, on this thread; with one, `done` runs
  // on the flusher's thread after its group commit.
  CHECK(calls == 1);
  CHECK(seen.ok());
  CHECK(p->IsCommitted(a.last_offset, Acks::kAll));

  // The epoch of each new leadership is stamped into the batches appended under it.
  p->SetLeaderEpoch(4);
  CHECK(p->leader_epoch() == 4);
  MustAppend(*p, MakeProducerBatch(-1, -1, -1, 1, "b"));
  auto read = p->Read(3, 1 << 20);
  REQUIRE(read.ok());
  CHECK(record::ParseBatchHeader(read->bytes)->leader_epoch == 4);
}

TEST_CASE("a batch larger than segment_bytes is refused as too large, before the lock",
          "[partition]") {
  Fixture f;
  auto p = f.Open();
  auto big = MakeProducerBatch(-1, -1, -1, 1, std::string(9000, 'v'));
  auto refused = Refused(p->Append(big));
  CHECK(refused.code == AppendErrorCode::kBatchTooLarge);
  CHECK_THAT(refused.message, Catch::Contains("segment_bytes (8192)"));
  CHECK(p->log_end_offset() == 0);
}

}  // namespace
}  // namespace strata::partition
