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
  auto r = p.Append(batch, 1);
  REQUIRE(r.ok());
  return *r;
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
  CHECK(log::ParseBatchHeader(r->bytes)->leader_epoch == 1);
}

TEST_CASE("a duplicate returns the original offsets and appends nothing", "[partition]") {
  Fixture f;
  auto p = f.Open();
  auto batch = MakeProducerBatch(5, 0, 0, 2, "x");
  auto first = MustAppend(*p, batch);
  MustAppend(*p, MakeProducerBatch(-1, -1, -1, 1, "other"));
  auto retry = batch;  // the producer's original bytes, unstamped
  auto again = p->Append(retry, 9);
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
  CHECK(absl::IsOutOfRange(p->Append(gap, 1).status()));
  auto fenced = MakeProducerBatch(5, 1, 2, 1);
  auto st = p->Append(fenced, 1).status();
  CHECK(absl::IsFailedPrecondition(st));
  CHECK(std::string(st.message()).find("fenced") != std::string::npos);
  auto bad_fields = MakeProducerBatch(-7, 0, 0, 1);
  CHECK(absl::IsInvalidArgument(p->Append(bad_fields, 1).status()));
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
  auto st = p->Append(damaged, 1).status();
  CHECK(absl::IsDataLoss(st));
  CHECK(std::string(st.message()).rfind("rejected batch: ", 0) == 0);
  // A damaged batch that would be out of order is still DataLoss.
  auto gap = MakeProducerBatch(5, 0, 9, 1);
  gap.back() ^= std::byte{1};
  CHECK(absl::IsDataLoss(p->Append(gap, 1).status()));
  // A batch cut short is DataLoss here (OutOfRange means a sequence gap at this layer).
  auto cut = MakeProducerBatch(5, 0, 2, 1);
  cut.resize(cut.size() - 3);
  CHECK(absl::IsDataLoss(p->Append(cut, 1).status()));
  // Two batches at once are refused, on the duplicate path as on the append path.
  auto two = batch;
  two.insert(two.end(), batch.begin(), batch.end());
  CHECK(absl::IsInvalidArgument(p->Append(two, 1).status()));
  auto fresh = MakeProducerBatch(5, 0, 2, 1);
  auto two_fresh = fresh;
  two_fresh.insert(two_fresh.end(), fresh.begin(), fresh.end());
  CHECK(absl::IsInvalidArgument(p->Append(two_fresh, 1).status()));
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
  CHECK(absl::IsUnavailable(p->Append(after, 1).status()));
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
        auto r = p->Append(copy, 1);
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

}  // namespace
}  // namespace strata::partition
