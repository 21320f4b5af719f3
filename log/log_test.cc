// Unit tests for segments, indexes and the Log: append, read, lookup by offset and timestamp,
// roll, retention, truncation, recovery rules and bad input.
#include <catch2/catch.hpp>

#include <thread>

#include "common/endian.h"
#include "common/limits.h"
#include "io/fault_file_system.h"
#include "io/memory_file_system.h"
#include "log/flusher.h"
#include "log/log.h"
#include "log/test_util.h"

namespace strata::log {
namespace {

using testing::MakeBatch;
using testing::Values;

struct Fixture {
  io::MemoryFileSystem fs;
  MapCache cache{8};
  FileCache files{2};  // small, so that segments keep opening their files again
  int64_t now_ms = 1'000'000;
  LogConfig config;
  // Every test runs once per append path.
  AppendPath append_path = GENERATE(AppendPath::kWrite, AppendPath::kMapping);

  Fixture() {
    config.segment_bytes = 16 * 1024;
    config.index_interval_bytes = 512;
    config.flush.bytes = 0;
    config.flush.interval_ms = 0;
  }
  LogOptions Options() {
    LogOptions o;
    o.fs = &fs;
    o.dir = "/data/t-0";
    o.config = config;
    o.clock = [this] { return now_ms; };
    o.map_cache = &cache;
    o.file_cache = &files;
    o.append_path = append_path;
    return o;
  }
  std::unique_ptr<Log> Open() {
    auto log = Log::Open(Options());
    REQUIRE(log.ok());
    return std::move(*log);
  }
};

AppendResult MustAppend(Log& log, std::vector<std::byte> batch, int32_t epoch = 0) {
  auto r = log.Append(batch, epoch);
  REQUIRE(r.ok());
  return *r;
}

// Reads every record value from `from` to the end, following segments.
std::vector<std::string> ReadAll(const Log& log, int64_t from = -1) {
  return testing::ReadAllValues(log, from);
}

TEST_CASE("appends assign consecutive offsets and read back whole batches", "[log]") {
  Fixture f;
  auto log = f.Open();
  CHECK(log->log_start_offset() == 0);
  CHECK(log->log_end_offset() == 0);
  auto a = MustAppend(*log, MakeBatch(3, 100, "a"), 7);
  auto b = MustAppend(*log, MakeBatch(2, 200, "b"), 7);
  CHECK(a.base_offset == 0);
  CHECK(a.last_offset == 2);
  CHECK(b.base_offset == 3);
  CHECK(b.last_offset == 4);
  CHECK(log->log_end_offset() == 5);

  auto r = log->Read(0, 1 << 20);
  REQUIRE(r.ok());
  CHECK(r->batch_count == 2);
  CHECK(r->first_offset == 0);
  CHECK(r->next_offset == 5);
  CHECK(Values(r->bytes) == std::vector<std::string>{"a-0", "a-1", "a-2", "b-0", "b-1"});
  auto h = record::VerifyBatch(r->bytes);
  REQUIRE(h.ok());
  CHECK(h->leader_epoch == 7);

  // An offset inside a batch returns that whole batch.
  r = log->Read(4, 1 << 20);
  REQUIRE(r.ok());
  CHECK(r->first_offset == 3);
  // max_bytes smaller than a batch still returns one batch, so consumers make progress.
  r = log->Read(0, 1);
  REQUIRE(r.ok());
  CHECK(r->batch_count == 1);
  CHECK(r->next_offset == 3);
  // At the end: empty. Past it: OutOfRange.
  r = log->Read(5, 100);
  REQUIRE(r.ok());
  CHECK(r->batch_count == 0);
  CHECK(absl::IsOutOfRange(log->Read(6, 100).status()));
}

TEST_CASE("the log rolls by size and reads across segments", "[log][segment]") {
  Fixture f;
  auto log = f.Open();
  std::vector<std::string> expect;
  for (int i = 0; i < 100; ++i) {
    MustAppend(*log, MakeBatch(4, 1000 + i, "r" + std::to_string(i), 100));
    for (int j = 0; j < 4; ++j) {
      std::string v = "r" + std::to_string(i) + "-" + std::to_string(j);
      v.resize(100, 'x');
      expect.push_back(v);
    }
  }
  auto segs = log->Segments();
  CHECK(segs.size() > 3);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    CHECK(segs[i].next_offset == segs[i + 1].base_offset);
    CHECK(segs[i].size_bytes <= f.config.segment_bytes);
  }
  CHECK(ReadAll(*log) == std::vector<std::string>(expect.begin(), expect.end()));
  // Lookup from the middle of every batch lands on the right batch.
  for (int64_t off = 0; off < log->log_end_offset(); off += 3) {
    auto r = log->Read(off, 1);
    REQUIRE(r.ok());
    CHECK(r->first_offset <= off);
    CHECK(r->next_offset > off);
  }
  // Sealed segments are mapped through the cache, which stays within its cap.
  CHECK(f.cache.size() <= 8);
}

TEST_CASE("the log rolls by age", "[log][segment]") {
  Fixture f;
  f.config.segment_ms = 1000;
  auto log = f.Open();
  MustAppend(*log, MakeBatch(1, f.now_ms));
  f.now_ms += 999;
  MustAppend(*log, MakeBatch(1, f.now_ms));
  CHECK(log->Segments().size() == 1);
  f.now_ms += 1;
  MustAppend(*log, MakeBatch(1, f.now_ms));
  CHECK(log->Segments().size() == 2);
  CHECK(log->Segments().back().base_offset == 2);
}

TEST_CASE("an index grows chunk by chunk and keeps every entry, up to its capacity", "[index]") {
  constexpr size_t kEntries = 100'000;  // spans a dozen chunks of doubling size
  OffsetIndex idx(kEntries);
  TimeIndex t(kEntries);
  for (uint32_t i = 0; i < kEntries; ++i) {
    REQUIRE(idx.Append({2 * i + 1, 10 * i + 7}));
    REQUIRE(t.MaybeAppend({int64_t(i) + 1000, 2 * i + 1}));
  }
  CHECK_FALSE(idx.Append({3 * kEntries, 11 * kEntries}));  // full
  CHECK(idx.size() == kEntries);
  for (uint32_t i = 0; i < kEntries; i += 97) {
    REQUIRE(idx.Lookup(2 * i + 1).position == 10 * i + 7);
    REQUIRE(idx.Lookup(2 * i + 2).position == 10 * i + 7);
    REQUIRE(t.LastBefore(int64_t(i) + 1001)->relative_offset == 2 * i + 1);
  }
  idx.TruncateTo(2 * 50'000 + 1);
  CHECK(idx.size() == 50'000);
  REQUIRE(idx.Append({2 * 50'000 + 1, 10 * 50'000 + 8}));  // a slot in a chunk already there
  CHECK(idx.Last().position == 10 * 50'000 + 8);
  auto decoded = OffsetIndex::Decode(idx.Encode(), 16, UINT32_MAX);
  REQUIRE(decoded.ok());
  CHECK((*decoded)->size() == 50'001);
}

TEST_CASE("sparse index entries follow index_interval_bytes", "[index]") {
  OffsetIndex idx(16);
  CHECK(idx.Lookup(5).position == 0);
  REQUIRE(idx.Append({10, 1000}));
  REQUIRE(idx.Append({20, 2000}));
  REQUIRE(idx.Append({30, 3000}));
  CHECK(idx.Lookup(9).position == 0);
  CHECK(idx.Lookup(10).position == 1000);
  CHECK(idx.Lookup(29).position == 2000);
  CHECK(idx.Lookup(1000).position == 3000);
  auto decoded = OffsetIndex::Decode(idx.Encode(), 16, 4000);
  REQUIRE(decoded.ok());
  CHECK((*decoded)->size() == 3);
  CHECK((*decoded)->Lookup(25).position == 2000);
  CHECK(absl::IsDataLoss(OffsetIndex::Decode(idx.Encode(), 16, 2500).status()));  // past the log
  auto bad = idx.Encode();
  bad.pop_back();
  CHECK(absl::IsDataLoss(OffsetIndex::Decode(bad, 16, 4000).status()));
  idx.TruncateTo(20);
  CHECK(idx.size() == 1);

  TimeIndex t(16);
  CHECK(t.MaybeAppend({100, 5}));
  CHECK(t.MaybeAppend({100, 9}));  // not newer: ignored
  CHECK(t.MaybeAppend({300, 12}));
  CHECK(t.size() == 2);
  CHECK(!t.LastBefore(100));
  CHECK(t.LastBefore(101)->relative_offset == 5);
  CHECK(t.LastBefore(1000)->relative_offset == 12);
  auto td = TimeIndex::Decode(t.Encode(), 16);
  REQUIRE(td.ok());
  CHECK((*td)->size() == 2);

  Fixture f;
  auto log = f.Open();
  for (int i = 0; i < 20; ++i) MustAppend(*log, MakeBatch(2, 1000 + i, "x", 100));
  auto segs = log->Segments();
  REQUIRE(segs.size() == 1);
  // ~20 batches of ~300 bytes with an entry per 512 bytes: roughly every other batch.
  CHECK(segs[0].size_bytes > 5000);
}

TEST_CASE("offsets are found by timestamp", "[log][timeindex]") {
  Fixture f;
  auto log = f.Open();
  // Batch i holds timestamps 1000*i .. 1000*i+9, across several segments.
  for (int i = 1; i <= 60; ++i) MustAppend(*log, MakeBatch(10, 1000 * i, "t", 60));
  REQUIRE(log->Segments().size() > 2);
  CHECK(log->OffsetForTimestamp(0).value() == 0);
  CHECK(log->OffsetForTimestamp(1000).value() == 0);
  CHECK(log->OffsetForTimestamp(1001).value() == 1);
  CHECK(log->OffsetForTimestamp(1010).value() == 10);   // between batches: next batch's first
  CHECK(log->OffsetForTimestamp(25005).value() == 245);
  CHECK(log->OffsetForTimestamp(60009).value() == 599);
  CHECK(!log->OffsetForTimestamp(60010).value().has_value());
  // Records out of time order within a batch: the first record at or after T wins.
  record::BatchBuilder b;
  for (int64_t ts : {90000, 70000, 95000}) {
    record::RecordInput r;
    r.timestamp_ms = ts;
    r.value = "o";
    b.Add(r);
  }
  auto batch = b.Build().value();
  auto res = MustAppend(*log, batch);
  CHECK(log->OffsetForTimestamp(80000).value() == res.base_offset);
  CHECK(log->OffsetForTimestamp(91000).value() == res.base_offset + 2);
}

TEST_CASE("retention deletes whole old segments and advances the log start", "[log][retention]") {
  Fixture f;
  SECTION("by bytes") {
    f.config.retention_bytes = 40 * 1024;
    auto log = f.Open();
    for (int i = 0; i < 200; ++i) MustAppend(*log, MakeBatch(4, f.now_ms, "x", 100));
    uint64_t before = log->size_bytes();
    auto r = log->ApplyRetention();
    REQUIRE(r.ok());
    CHECK(r->segments_deleted > 0);
    CHECK(log->size_bytes() == before - r->bytes_deleted);
    CHECK(log->size_bytes() >= uint64_t(f.config.retention_bytes));
    CHECK(log->size_bytes() < uint64_t(f.config.retention_bytes) + f.config.segment_bytes);
    CHECK(log->log_start_offset() == log->Segments().front().base_offset);
    CHECK(absl::IsOutOfRange(log->Read(0, 100).status()));
    CHECK(ReadAll(*log).size() == size_t(log->log_end_offset() - log->log_start_offset()));
    // Deleted files are gone.
    auto names = f.fs.ListDir("/data/t-0").value();
    CHECK(std::find(names.begin(), names.end(), "00000000000000000000.log") == names.end());
  }
  SECTION("by age, including an expired active segment") {
    f.config.retention_ms = 10'000;
    auto log = f.Open();
    for (int i = 0; i < 100; ++i) MustAppend(*log, MakeBatch(4, f.now_ms, "old", 100));
    f.now_ms += 5'000;
    CHECK(log->ApplyRetention()->segments_deleted == 0);
    f.now_ms += 6'000;
    for (int i = 0; i < 3; ++i) MustAppend(*log, MakeBatch(4, f.now_ms, "new", 100));
    auto r = log->ApplyRetention();
    REQUIRE(r.ok());
    CHECK(r->segments_deleted > 0);
    // Retention works on whole segments: the active one still holds some old records.
    auto left = ReadAll(*log);
    CHECK(left.size() >= 12);
    CHECK(left.size() < 12 + 60);
    CHECK(left.back().substr(0, 5) == "new-3");
    f.now_ms += 20'000;
    REQUIRE(log->ApplyRetention().ok());
    CHECK(log->log_start_offset() == log->log_end_offset());
    CHECK(log->log_end_offset() == 412);
    MustAppend(*log, MakeBatch(1, f.now_ms));
    CHECK(ReadAll(*log).size() == 1);
  }
}

TEST_CASE("truncation removes a suffix, across segments, and appends continue", "[log][truncate]") {
  Fixture f;
  auto log = f.Open();
  for (int i = 0; i < 100; ++i) MustAppend(*log, MakeBatch(5, 1000 + i, "x", 100));
  REQUIRE(log->Segments().size() > 3);
  SECTION("inside the active segment") {
    int64_t end = log->log_end_offset();
    REQUIRE(log->TruncateTo(end - 5).ok());
    CHECK(log->log_end_offset() == end - 5);
  }
  SECTION("into an older segment, mid-batch") {
    REQUIRE(log->TruncateTo(52).ok());  // batch [50, 54]
    CHECK(log->log_end_offset() == 50);
    CHECK(ReadAll(*log).size() == 50);
    CHECK(log->Segments().back().next_offset == 50);
  }
  SECTION("to the start") {
    REQUIRE(log->TruncateTo(0).ok());
    CHECK(log->log_end_offset() == 0);
  }
  CHECK(absl::IsOutOfRange(log->TruncateTo(-1)));
  int64_t end = log->log_end_offset();
  auto r = MustAppend(*log, MakeBatch(2, 5000, "after"));
  CHECK(r.base_offset == end);
  auto all = ReadAll(*log);
  CHECK(all.back() == "after-1");
  // The truncated state survives a reopen, clean or not.
  log->TEST_Abandon();
  log.reset();
  log = f.Open();
  CHECK(log->log_end_offset() == end + 2);
  CHECK(ReadAll(*log) == all);
}

TEST_CASE("follower appends keep their offsets; gaps and overlaps are refused", "[log]") {
  Fixture f;
  auto log = f.Open();
  auto b = MakeBatch(3, 100);
  record::StampBatch(b, 0, 4);
  REQUIRE(log->AppendWithOffsets(b).ok());
  auto gap = MakeBatch(1, 100);
  record::StampBatch(gap, 10, 4);
  auto st = log->AppendWithOffsets(gap).status();
  CHECK(absl::IsOutOfRange(st));
  CHECK_THAT(std::string(st.message()), Catch::Contains("gap of 7"));
  auto overlap = MakeBatch(1, 100);
  record::StampBatch(overlap, 2, 4);
  CHECK(absl::IsInvalidArgument(log->AppendWithOffsets(overlap).status()));
  auto next = MakeBatch(1, 100);
  record::StampBatch(next, 3, 5);
  REQUIRE(log->AppendWithOffsets(next).ok());
  CHECK(log->log_end_offset() == 4);
}

TEST_CASE("bad input gets a typed error and nothing is written", "[log][errors]") {
  Fixture f;
  auto log = f.Open();
  MustAppend(*log, MakeBatch(1, 100));
  SECTION("checksum mismatch") {
    auto b = MakeBatch(2, 100);
    b[b.size() - 1] ^= std::byte{1};
    auto st = log->Append(b, 0).status();
    CHECK(absl::IsDataLoss(st));
    CHECK_THAT(std::string(st.message()), Catch::Contains("checksum"));
  }
  SECTION("truncated batch") {
    auto b = MakeBatch(2, 100);
    b.resize(b.size() - 3);
    CHECK(!log->Append(b, 0).ok());
  }
  SECTION("garbage") {
    std::vector<std::byte> b(100, std::byte{0x5a});
    CHECK(!log->Append(b, 0).ok());
  }
  SECTION("larger than a segment") {
    auto b = MakeBatch(1, 100, "big", 20 * 1024);
    auto st = log->Append(b, 0).status();
    CHECK(absl::IsInvalidArgument(st));
    CHECK_THAT(std::string(st.message()), Catch::Contains("segment_bytes"));
  }
  SECTION("larger than the batch maximum") {
    auto b = MakeBatch(1, 100);
    PutI32(b.data() + record::batch_format::kBatchLengthPos, int32_t(limits::batch_bytes_max));
    auto st = log->Append(b, 0).status();
    CHECK(absl::IsDataLoss(st));
    CHECK_THAT(std::string(st.message()), Catch::Contains("rejected batch"));
  }
  SECTION("two batches in one append") {
    auto a = MakeBatch(1, 100);
    auto b = MakeBatch(1, 100);
    a.insert(a.end(), b.begin(), b.end());
    CHECK(absl::IsInvalidArgument(log->Append(a, 0).status()));
  }
  SECTION("offsets outside the log") {
    CHECK(absl::IsOutOfRange(log->Read(-1, 10).status()));
    CHECK(absl::IsOutOfRange(log->Read(2, 10).status()));
  }
  CHECK(log->log_end_offset() == 1);
  CHECK(ReadAll(*log) == std::vector<std::string>{"v-0"});
  CHECK(log->health().ok());
}

TEST_CASE("bad configuration is rejected with the setting's name", "[log][config]") {
  Fixture f;
  f.config.segment_bytes = 10;
  auto st = Log::Open(f.Options()).status();
  CHECK(absl::IsInvalidArgument(st));
  CHECK_THAT(std::string(st.message()), Catch::Contains("segment_bytes"));
}

TEST_CASE("a clean shutdown is trusted; reopen continues where it stopped", "[log][recovery]") {
  Fixture f;
  auto log = f.Open();
  for (int i = 0; i < 50; ++i) MustAppend(*log, MakeBatch(3, 1000 + i, "c", 200));
  auto before = ReadAll(*log);
  auto segs = log->Segments().size();
  REQUIRE(log->Close().ok());
  auto late = MakeBatch(1, 1);
  CHECK(absl::IsFailedPrecondition(log->Append(late, 0).status()));
  log.reset();
  CHECK(f.fs.Exists("/data/t-0/clean-shutdown").value());
  log = f.Open();
  CHECK(log->recovery().clean_shutdown);
  CHECK(log->recovery().segments_scanned == 0);
  // The files are as the shutdown left them until the first change: the marker stays till then.
  CHECK(f.fs.Exists("/data/t-0/clean-shutdown").value());
  CHECK(log->Segments().size() == segs);
  CHECK(ReadAll(*log) == before);
  CHECK(MustAppend(*log, MakeBatch(1, 5000)).base_offset == 150);
  CHECK(!f.fs.Exists("/data/t-0/clean-shutdown").value());  // a later crash is not "clean"
  // Batch i holds timestamps 1000+i .. 1002+i: the first record at 1049 is batch 47's last.
  CHECK(log->OffsetForTimestamp(1049).value() == 143);
}

TEST_CASE("an unclean shutdown rescans only segments past the recovery point", "[log][recovery]") {
  Fixture f;
  auto log = f.Open();
  for (int i = 0; i < 50; ++i) MustAppend(*log, MakeBatch(3, 1000 + i, "u", 200));
  auto before = ReadAll(*log);
  log->TEST_Abandon();
  log.reset();
  log = f.Open();
  CHECK(!log->recovery().clean_shutdown);
  CHECK(log->recovery().segments_scanned == 1);
  CHECK(ReadAll(*log) == before);
  CHECK(log->OffsetForTimestamp(1030).value() == 86);
}

TEST_CASE("a torn tail is truncated at the last whole batch", "[log][recovery]") {
  Fixture f;
  auto log = f.Open();
  for (int i = 0; i < 5; ++i) MustAppend(*log, MakeBatch(2, 100, "t"));
  auto segs = log->Segments();
  uint64_t end = segs.back().size_bytes;
  log->TEST_Abandon();
  log.reset();
  // Half a batch past the end: a write the crash tore.
  auto half = MakeBatch(2, 100, "torn");
  half.resize(half.size() / 2);
  REQUIRE(f.fs.TEST_Overwrite(segs.back().path, end, half).ok());
  log = f.Open();
  CHECK(log->recovery().torn_tail_truncated);
  CHECK(log->recovery().torn_tail_position == end);
  CHECK(log->recovery().torn_tail_file == segs.back().path);
  CHECK(log->log_end_offset() == 10);
  CHECK(MustAppend(*log, MakeBatch(1, 100, "next")).base_offset == 10);
  CHECK(ReadAll(*log).back() == "next-0");
}

TEST_CASE("damage below the recovery point is corruption; above it, a crash's torn tail",
          "[log][recovery]") {
  Fixture f;
  auto log = f.Open();
  for (int i = 0; i < 100; ++i) MustAppend(*log, MakeBatch(3, 1000 + i, "m", 200));
  auto segs = log->Segments();
  REQUIRE(segs.size() > 2);
  const int64_t active_base = segs.back().base_offset;
  std::byte flip{0x77};
  SECTION("in a sealed segment") {
    log->TEST_Abandon();
    log.reset();
    // Sealed segments below the recovery point are trusted; without its index the first one is
    // scanned in full, and the damage is found.
    REQUIRE(f.fs.Remove("/data/t-0/00000000000000000000.index").ok());
    REQUIRE(f.fs.TEST_Overwrite(segs[0].path, 1000, {&flip, 1}).ok());
    auto st = Log::Open(f.Options()).status();
    CHECK(absl::IsDataLoss(st));
    CHECK_THAT(std::string(st.message()), Catch::Contains(segs[0].path));
    CHECK_THAT(std::string(st.message()), Catch::Contains("checksum mismatch"));
    CHECK_THAT(std::string(st.message()), Catch::Contains("at position "));
  }
  SECTION("in fsynced data of the active segment") {
    f.now_ms += limits::recovery_point_interval_ms;  // let the flush checkpoint the recovery point
    REQUIRE(log->Flush().ok());
    log->TEST_Abandon();
    log.reset();
    REQUIRE(f.fs.TEST_Overwrite(segs.back().path, 100, {&flip, 1}).ok());
    auto st = Log::Open(f.Options()).status();
    CHECK(absl::IsDataLoss(st));
    CHECK_THAT(std::string(st.message()), Catch::Contains("position 0"));
    CHECK_THAT(std::string(st.message()), Catch::Contains("recovery point"));
  }
  SECTION("a damaged length field in fsynced data") {
    // batch_length lies outside the checksum; damage there must not pass for a torn tail.
    f.now_ms += limits::recovery_point_interval_ms;
    REQUIRE(log->Flush().ok());
    log->TEST_Abandon();
    log.reset();
    std::byte big[4] = {std::byte{0xff}, std::byte{0xff}, std::byte{0}, std::byte{0}};
    REQUIRE(f.fs.TEST_Overwrite(segs.back().path, 8, big).ok());
    CHECK(absl::IsDataLoss(Log::Open(f.Options()).status()));
  }
  SECTION("in data never fsynced: the log is cut there, everything before it kept") {
    log->TEST_Abandon();
    log.reset();
    // Zero a 4 KiB page in the middle of the unsynced tail, as out-of-order writeback can.
    std::vector<std::byte> hole(4096, std::byte{0});
    REQUIRE(f.fs.TEST_Overwrite(segs.back().path, 1024, hole).ok());
    auto reopened = Log::Open(f.Options());
    REQUIRE(reopened.ok());
    log = std::move(*reopened);
    CHECK(log->recovery().torn_tail_truncated);
    CHECK(log->recovery().torn_tail_file == segs.back().path);
    CHECK(log->log_end_offset() > active_base);
    CHECK(log->log_end_offset() < segs.back().next_offset);
    CHECK(ReadAll(*log).size() == size_t(log->log_end_offset()));
  }
}

TEST_CASE("recovery never cuts fsynced data, whatever the damage", "[log][recovery]") {
  Fixture f;
  auto log = f.Open();
  for (int i = 0; i < 100; ++i) MustAppend(*log, MakeBatch(3, 1000 + i, "r", 200));
  auto segs = log->Segments();
  REQUIRE(segs.size() > 2);
  const auto& sealed = segs[segs.size() - 2];  // right below the recovery point after its roll
  SECTION("junk after the last batch of a sealed segment") {
    log->TEST_Abandon();
    log.reset();
    REQUIRE(f.fs.Remove(sealed.path.substr(0, sealed.path.size() - 4) + ".index").ok());
    auto file = f.fs.Open(sealed.path, io::OpenMode::kReadWrite).value();
    std::vector<std::byte> junk(100, std::byte{0x5a});
    REQUIRE(file->WriteAt(sealed.size_bytes, junk).ok());
    auto st = Log::Open(f.Options()).status();
    CHECK(absl::IsDataLoss(st));
    // Nothing was deleted: the active segment is still there.
    CHECK(f.fs.Exists(segs.back().path).value());
  }
  SECTION("an unreadable recovery point and damage in a sealed segment") {
    log->TEST_Abandon();
    log.reset();
    std::string garbage = "not a number";
    REQUIRE(io::WriteFileAtomic(f.fs, "/data/t-0/recovery-point",
                                {reinterpret_cast<const std::byte*>(garbage.data()),
                                 garbage.size()})
                .ok());
    std::byte flip{0x77};
    REQUIRE(f.fs.TEST_Overwrite(segs[0].path, 100, {&flip, 1}).ok());
    CHECK(absl::IsDataLoss(Log::Open(f.Options()).status()));
    for (const auto& s : segs) CHECK(f.fs.Exists(s.path).value());
  }
  SECTION("fsynced data that reads back as zeros") {
    f.now_ms += limits::recovery_point_interval_ms;
    REQUIRE(log->Flush().ok());  // checkpoints the recovery point at the log end
    log->TEST_Abandon();
    log.reset();
    std::vector<std::byte> zeros(segs.back().size_bytes / 2, std::byte{0});
    REQUIRE(f.fs.TEST_Overwrite(segs.back().path, segs.back().size_bytes - zeros.size(), zeros)
                .ok());
    auto st = Log::Open(f.Options()).status();
    CHECK(absl::IsDataLoss(st));
    CHECK_THAT(std::string(st.message()), Catch::Contains("had been fsynced"));
  }
  SECTION("segments left behind by an interrupted truncation are dropped") {
    // Keep a copy of the last segment, truncate into the first, then put the copy back as if the
    // crash had lost its deletion.
    auto saved = f.fs.TEST_Contents(segs.back().path).value();
    REQUIRE(log->TruncateTo(10).ok());
    auto after = ReadAll(*log);
    log->TEST_Abandon();
    log.reset();
    auto file = f.fs.Open(segs.back().path, io::OpenMode::kCreate).value();
    REQUIRE(file->WriteAt(0, saved).ok());
    // The truncation had lowered the recovery point to the cut segment's base.
    std::string rp = "0\n";
    REQUIRE(io::WriteFileAtomic(f.fs, "/data/t-0/recovery-point",
                                {reinterpret_cast<const std::byte*>(rp.data()), rp.size()})
                .ok());
    log = f.Open();
    CHECK(log->recovery().segments_dropped_after_torn_tail == 1);
    CHECK(!f.fs.Exists(segs.back().path).value());
    CHECK(ReadAll(*log) == after);
  }
}

TEST_CASE("flush=always group-commits through a Flusher", "[log][flush]") {
  Fixture f;
  f.config.flush.always = true;
  Flusher flusher(f.Options().clock);
  auto opts = f.Options();
  opts.flusher = &flusher;
  auto log = Log::Open(opts).value();
  std::vector<std::future<absl::Status>> futures;
  for (int i = 0; i < 50; ++i) {
    auto r = MustAppend(*log, MakeBatch(1, 100));
    futures.push_back(log->WaitDurable(r.last_offset));
  }
  for (auto& fu : futures) CHECK(fu.get().ok());
  CHECK(log->durable_offset() == 50);
}

TEST_CASE("with a Flusher, the appending or waiting thread leads the fsync when none runs",
          "[log][flush]") {
  Fixture f;
  Flusher flusher(f.Options().clock);
  auto opts = f.Options();
  opts.flusher = &flusher;
  SECTION("flush=always: the append itself is durable when it returns") {
    f.config.flush.always = true;
    opts.config = f.config;
    auto log = Log::Open(opts).value();
    for (int i = 0; i < 5; ++i) {
      auto r = MustAppend(*log, MakeBatch(1, 100));
      CHECK(log->durable_offset() == r.last_offset + 1);
    }
    CHECK(log->fsync_count() >= 5);
  }
  SECTION("a waiter: its future is ready when WaitDurable returns") {
    f.config.flush.interval_ms = 60000;  // the flusher would not get to it for a minute
    opts.config = f.config;
    auto log = Log::Open(opts).value();
    auto r = MustAppend(*log, MakeBatch(1, 100));
    CHECK(log->durable_offset() == 0);
    std::optional<std::thread::id> completed_on;
    REQUIRE(log->WhenDurable(r.last_offset, [&](absl::Status st) {
                  CHECK(st.ok());
                  completed_on = std::this_thread::get_id();
                }).ok());
    CHECK(completed_on == std::this_thread::get_id());  // completed before WhenDurable returned
  }
  SECTION("waiter_leads_flush off: the flusher's thread does it") {
    f.config.flush.interval_ms = 60000;
    opts.config = f.config;
    opts.waiter_leads_flush = false;
    auto log = Log::Open(opts).value();
    auto r = MustAppend(*log, MakeBatch(1, 100));
    std::promise<std::thread::id> completed_on;
    REQUIRE(log->WhenDurable(r.last_offset, [&](absl::Status st) {
                  CHECK(st.ok());
                  completed_on.set_value(std::this_thread::get_id());
                }).ok());
    auto fu = completed_on.get_future();
    REQUIRE(fu.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(fu.get() != std::this_thread::get_id());
  }
}

TEST_CASE("flushes happen by bytes without a Flusher, and by time with one", "[log][flush]") {
  Fixture f;
  SECTION("bytes") {
    f.config.flush.bytes = 4096;
    auto log = f.Open();
    MustAppend(*log, MakeBatch(1, 100, "x", 100));
    CHECK(log->durable_offset() == 0);
    MustAppend(*log, MakeBatch(1, 100, "x", 5000));
    CHECK(log->durable_offset() == 2);
  }
  SECTION("time") {
    f.config.flush.interval_ms = 5;
    Flusher flusher;  // real clock: the dirty timestamp uses the log's clock
    auto opts = f.Options();
    opts.clock = SystemClock();
    opts.flusher = &flusher;
    auto log = Log::Open(opts).value();
    auto r = MustAppend(*log, MakeBatch(1, 100));
    auto fu = log->WaitDurable(r.last_offset);
    REQUIRE(fu.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(fu.get().ok());
  }
  SECTION("time, with nobody waiting, again after each flush") {
    // The flusher visits only logs that told it they are dirty; a log it flushed clean must be
    // visited again when new data arrives.
    f.config.flush.interval_ms = 5;
    Flusher flusher;
    auto opts = f.Options();
    opts.clock = SystemClock();
    opts.flusher = &flusher;
    auto log = Log::Open(opts).value();
    for (int round = 0; round < 3; ++round) {
      MustAppend(*log, MakeBatch(1, 100));
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (log->durable_offset() < log->log_end_offset() &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      INFO("round " << round);
      REQUIRE(log->durable_offset() == log->log_end_offset());
    }
  }
}

TEST_CASE("readers see only whole batches while a writer appends", "[log][concurrency]") {
  Fixture f;
  f.config.segment_bytes = 64 * 1024;
  auto log = f.Open();
  constexpr int kBatches = 2000;
  std::atomic<bool> done{false};
  std::atomic<int64_t> records_seen{0};
  absl::Mutex errors_mu;
  std::vector<std::string> errors;  // Catch's assertions are not thread-safe: collect, then check
  auto report = [&](const absl::Status& st) {
    absl::MutexLock lock(&errors_mu);
    errors.push_back(st.ToString());
  };
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int64_t offset = 0;
      while (!done.load() || offset < log->log_end_offset()) {
        auto r = log->Read(offset, 8192);
        if (!r.ok()) return report(r.status());
        size_t pos = 0;
        while (pos < r->bytes.size()) {
          auto h = record::VerifyBatch(r->bytes.subspan(pos));
          if (!h.ok()) return report(h.status());
          pos += h->size_bytes();
        }
        offset = r->next_offset;
      }
      records_seen.fetch_add(offset);
    });
  }
  for (int i = 0; i < kBatches; ++i) MustAppend(*log, MakeBatch(1 + i % 5, i, "c", i % 300));
  done.store(true);
  for (auto& t : readers) t.join();
  CHECK(errors.empty());
  for (const auto& e : errors) UNSCOPED_INFO(e);
  CHECK(records_seen.load() == 3 * log->log_end_offset());
}

}  // namespace
}  // namespace strata::log
