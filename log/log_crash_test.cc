// Crash and I/O-fault tests: what survives power loss, torn writes, and failed writes or fsyncs.
//
// Rules under test (docs/recovery.md):
//  - after a crash, reopening yields exactly the synced prefix or more, never a corrupt or partial
//    batch;
//  - after a failed write or fsync the log refuses appends, fails the appends waiting on an fsync,
//    and loses nothing that was acknowledged as durable.
#include <catch2/catch.hpp>

#include <iostream>
#include <map>
#include <optional>
#include <random>

#include "io/fault_file_system.h"
#include "log/flusher.h"
#include "log/log.h"
#include "log/test_util.h"

namespace strata::log {
namespace {

using testing::MakeBatch;
using testing::Values;

LogOptions Options(io::FileSystem* fs, MapCache* cache) {
  LogOptions o;
  o.fs = fs;
  o.dir = "/crash/p-0";
  o.config.segment_bytes = 8 * 1024;
  o.config.index_interval_bytes = 256;
  o.config.flush.bytes = 0;
  o.config.flush.interval_ms = 0;
  o.map_cache = cache;
  // Every test runs once per append path (the same one for every open within a run).
  o.append_path = GENERATE(AppendPath::kWrite, AppendPath::kMapping);
  return o;
}

std::vector<std::string> ReadEverything(const Log& log) {
  std::vector<std::string> out;
  for (int64_t off = log.log_start_offset(); off < log.log_end_offset();) {
    auto r = log.Read(off, 1 << 20);
    REQUIRE(r.ok());
    REQUIRE(r->batch_count > 0);
    // Every batch handed out is whole and passes its checksum.
    for (size_t pos = 0; pos < r->bytes.size();) {
      auto h = VerifyBatch(r->bytes.subspan(pos));
      REQUIRE(h.ok());
      pos += h->size_bytes();
    }
    auto v = Values(r->bytes);
    out.insert(out.end(), v.begin(), v.end());
    off = r->next_offset;
  }
  return out;
}

TEST_CASE("after a crash the log holds the synced prefix or more, never a partial batch",
          "[log][crash]") {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    io::FaultFileSystem fs(seed);
    MapCache cache(8);
    auto options = Options(&fs, &cache);
    int64_t now_ms = 1'000'000;
    options.clock = [&now_ms] { return now_ms += 300; };  // some flushes checkpoint
    auto log = Log::Open(options).value();
    std::vector<std::string> written;
    int64_t synced = 0;
    int appends = 1 + int(rng() % 60);
    for (int i = 0; i < appends; ++i) {
      auto b = MakeBatch(1 + int(rng() % 5), i, "s" + std::to_string(i), rng() % 400,
                         rng() % 4 == 0 ? Compression::kLz4 : Compression::kNone);
      auto r = log->Append(b, 0);
      REQUIRE(r.ok());
      auto v = Values(b);
      written.insert(written.end(), v.begin(), v.end());
      if (rng() % 5 == 0) {
        REQUIRE(log->Flush().ok());
        synced = int64_t(written.size());
      }
    }
    REQUIRE(log->durable_offset() >= synced);
    log->TEST_Abandon();
    log.reset();
    fs.Crash(io::kAllCrashModes[seed % 3]);

    auto reopened = Log::Open(options);
    INFO(reopened.status());
    REQUIRE(reopened.ok());
    auto got = ReadEverything(**reopened);
    CHECK(int64_t(got.size()) >= synced);
    REQUIRE(got.size() <= written.size());
    CHECK(std::equal(got.begin(), got.end(), written.begin()));
    CHECK((*reopened)->log_end_offset() == int64_t(got.size()));
    // And the log takes appends again, after the recovered end.
    auto b = MakeBatch(1, 0, "after");
    CHECK((*reopened)->Append(b, 0)->base_offset == int64_t(got.size()));
  }
}

TEST_CASE("a crash in the middle of a truncation leaves a consistent prefix", "[log][crash]") {
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    INFO("seed " << seed);
    io::FaultFileSystem fs(seed);
    MapCache cache(8);
    auto options = Options(&fs, &cache);
    int64_t now_ms = 1'000'000;
    options.clock = [&now_ms] { return now_ms += 600; };  // every other flush checkpoints
    auto log = Log::Open(options).value();
    std::vector<std::string> written;
    for (int i = 0; i < 20; ++i) {
      auto b = MakeBatch(1 + i % 3, i, "t" + std::to_string(i), 300);
      REQUIRE(log->Append(b, 0).ok());
      auto v = Values(b);
      written.insert(written.end(), v.begin(), v.end());
      REQUIRE(log->Flush().ok());
    }
    REQUIRE(log->Segments().size() > 1);
    const int64_t cut = int64_t(written.size()) / 2;
    // The truncation zeroes its range but the fsync that would make that durable fails: the
    // machine dies with any subset of the zeroed pages on disk.
    fs.FailNextSyncs(1, EIO, ".log");
    CHECK(!log->TruncateTo(cut).ok());
    log->TEST_Abandon();
    log.reset();
    fs.Crash(io::kAllCrashModes[seed % 3]);
    auto reopened = Log::Open(options);
    INFO(reopened.status());
    REQUIRE(reopened.ok());
    auto got = ReadEverything(**reopened);
    // Whatever survived is a prefix of the log; nothing below the cut's batch was touched.
    REQUIRE(got.size() <= written.size());
    CHECK(std::equal(got.begin(), got.end(), written.begin()));
    CHECK(int64_t(got.size()) >= cut - 2);  // the cut lands on its batch's base
  }
}

TEST_CASE("a failed fsync makes the log refuse appends and keeps acknowledged data",
          "[log][fault]") {
  io::FaultFileSystem fs(11);
  MapCache cache(8);
  auto log = Log::Open(Options(&fs, &cache)).value();
  for (int i = 0; i < 10; ++i) {
    auto b = MakeBatch(3, i, "ack" + std::to_string(i), 100);
    REQUIRE(log->Append(b, 0).ok());
  }
  REQUIRE(log->Flush().ok());
  auto acknowledged = ReadEverything(*log);
  REQUIRE(acknowledged.size() == 30);

  auto b = MakeBatch(2, 99, "doomed");
  auto r = log->Append(b, 0);
  REQUIRE(r.ok());
  fs.FailNextSyncs(1, EIO);
  // With no Flusher, waiting flushes on this thread; the fsync fails and the waiter learns its
  // append is not durable.
  auto waiting = log->WaitDurable(r->last_offset);
  CHECK(!waiting.get().ok());
  CHECK(!log->Flush().ok());
  auto again = MakeBatch(1, 100, "refused");
  auto st = log->Append(again, 0).status();
  CHECK(absl::IsFailedPrecondition(st));
  CHECK_THAT(std::string(st.message()), Catch::Contains("injected fsync fault"));
  CHECK_THAT(std::string(st.message()), Catch::Contains("reopen"));
  CHECK(!log->Flush().ok());
  CHECK(!log->Close().ok());  // no clean-shutdown marker for a failed log
  log.reset();
  CHECK(!fs.Exists("/crash/p-0/clean-shutdown").value());

  fs.Crash(io::CrashMode::kDropUnsynced);
  auto reopened = Log::Open(Options(&fs, &cache)).value();
  CHECK(!reopened->recovery().clean_shutdown);
  auto got = ReadEverything(*reopened);
  REQUIRE(got.size() >= acknowledged.size());
  CHECK(std::equal(acknowledged.begin(), acknowledged.end(), got.begin()));
}

TEST_CASE("a failed or torn write is refused, then recovered on reopen", "[log][fault]") {
  io::FaultFileSystem fs(12);
  MapCache cache(8);
  auto log = Log::Open(Options(&fs, &cache)).value();
  for (int i = 0; i < 5; ++i) {
    auto b = MakeBatch(2, i, "ok" + std::to_string(i), 100);
    REQUIRE(log->Append(b, 0).ok());
  }
  auto before = ReadEverything(*log);
  fs.FailNextWrites(1, ENOSPC);
  auto b = MakeBatch(4, 5, "torn", 300);
  auto st = log->Append(b, 0).status();
  // The log cannot take writes until it is reopened; the message names the cause.
  CHECK(absl::IsFailedPrecondition(st));
  CHECK_THAT(std::string(st.message()), Catch::Contains("No space left on device"));
  CHECK(log->log_end_offset() == 10);    // nothing published
  CHECK(ReadEverything(*log) == before);
  auto again = MakeBatch(1, 6, "refused");
  CHECK(absl::IsFailedPrecondition(log->Append(again, 0).status()));
  log->TEST_Abandon();
  log.reset();
  // The process restarts (no power loss): the torn bytes are still in the file.
  auto reopened = Log::Open(Options(&fs, &cache)).value();
  CHECK(reopened->recovery().torn_tail_truncated);
  CHECK(ReadEverything(*reopened) == before);
  auto next = MakeBatch(1, 7, "next");
  CHECK(reopened->Append(next, 0)->base_offset == 10);
}

TEST_CASE("group commit: a failed fsync fails every append waiting on it", "[log][fault]") {
  io::FaultFileSystem fs(13);
  MapCache cache(8);
  Flusher flusher;
  auto opts = Options(&fs, &cache);
  opts.config.flush.always = true;
  opts.flusher = &flusher;
  auto log = Log::Open(opts).value();
  auto first = MakeBatch(1, 0, "first");
  auto r = log->Append(first, 0).value();
  REQUIRE(log->WaitDurable(r.last_offset).get().ok());
  fs.FailNextSyncs(1000, EIO);
  std::vector<std::future<absl::Status>> waits;
  for (int i = 0; i < 20; ++i) {
    auto b = MakeBatch(1, i, "w");
    auto res = log->Append(b, 0);
    if (!res.ok()) break;  // the failure may already have landed
    waits.push_back(log->WaitDurable(res->last_offset));
  }
  for (auto& w : waits) CHECK(!w.get().ok());
  CHECK(!log->health().ok());
  fs.FailNextSyncs(0);
}

// --- Directory entries ------------------------------------------------------------------------

TEST_CASE("a segment a roll creates is in the directory for good before its batches are durable",
          "[log][crash][dir]") {
  // After a reopen the recovery point already equals the log end, so the roll's checkpoint of the
  // new segment's base has nothing to write: the directory must still be synced.
  for (io::CrashMode mode : io::kAllCrashModes) {
    INFO("crash mode " << int(mode));
    io::FaultFileSystem fs(21);
    MapCache cache(8);
    auto options = Options(&fs, &cache);
    auto log = Log::Open(options).value();
    auto a = MakeBatch(2, 0, "before-roll");
    REQUIRE(log->Append(a, 0).ok());
    REQUIRE(log->Close().ok());
    log = Log::Open(options).value();
    REQUIRE(log->Roll().ok());
    REQUIRE(log->Segments().size() == 2);
    auto b = MakeBatch(3, 10, "after-roll");
    auto r = log->Append(b, 0).value();
    REQUIRE(log->WaitDurable(r.last_offset).get().ok());
    log->TEST_Abandon();
    log.reset();
    fs.Crash(mode);

    auto reopened = Log::Open(options);
    INFO(reopened.status());
    REQUIRE(reopened.ok());
    CHECK(ReadEverything(**reopened) ==
          std::vector<std::string>{"before-roll-0", "before-roll-1", "after-roll-0",
                                   "after-roll-1", "after-roll-2"});
  }
}

// --- Compaction ---------------------------------------------------------------------------------

constexpr CompactionStep kAllCompactionSteps[] = {
    CompactionStep::kCleanedWritten,    CompactionStep::kCleanedSynced,
    CompactionStep::kSwapRenamed,       CompactionStep::kSwappedInMemory,
    CompactionStep::kOldSegmentDeleted, CompactionStep::kSwapRenamedToLog,
    CompactionStep::kIndexFilesWritten};

// A log of small sealed segments (rolled every few batches, so a compaction group holds several)
// over a handful of keys, with a tombstone or two, all fsynced.
std::unique_ptr<Log> BuildKeyedLog(io::FaultFileSystem& fs, MapCache& cache, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto log = Log::Open(Options(&fs, &cache)).value();
  for (int i = 0; i < 40; ++i) {
    std::vector<testing::KeyValue> records;
    for (int r = 0; r < 1 + int(rng() % 4); ++r) {
      std::optional<std::string> value = "v" + std::to_string(i) + "-" + std::to_string(r);
      if (rng() % 10 == 0) value.reset();  // a tombstone
      records.push_back({"k" + std::to_string(rng() % 6), value});
    }
    auto batch = testing::MakeKeyedBatch(
        records, 1000 + i,
        BatchOptions{.compression = rng() % 3 == 0 ? Compression::kLz4 : Compression::kNone});
    REQUIRE(log->Append(batch, 0).ok());
    if (i % 5 == 4) REQUIRE(log->Roll().ok());
  }
  REQUIRE(log->Flush().ok());
  return log;
}

std::map<std::string, std::optional<std::string>> NewestPerKey(
    const std::vector<testing::StoredRecord>& records) {
  std::map<std::string, std::optional<std::string>> out;
  for (const auto& r : records) out[*r.key] = r.value;
  return out;
}

TEST_CASE("a crash at any step of a compaction leaves the log from before or after the swap",
          "[log][crash][compaction]") {
  const CompactionOptions compact{.delete_retention_ms = 1'000'000, .now_ms = 2000};
  for (CompactionStep step : kAllCompactionSteps) {
    for (io::CrashMode mode : io::kAllCrashModes) {
      for (uint64_t seed = 1; seed <= 3; ++seed) {
        INFO("step " << int(step) << ", crash mode " << int(mode) << ", seed " << seed);
        // The reference: the same log, its first group compacted and swapped in, nothing else.
        io::FaultFileSystem ref_fs(seed);
        MapCache ref_cache(8);
        auto ref = BuildKeyedLog(ref_fs, ref_cache, seed);
        const auto before = testing::ReadAllRecords(*ref);
        ref->TEST_SetCompactionHook(
            [](CompactionStep s) { return s == CompactionStep::kIndexFilesWritten; });
        REQUIRE(absl::IsAborted(ref->Compact(compact).status()));
        const auto after = testing::ReadAllRecords(*ref);
        REQUIRE(after.size() < before.size());
        REQUIRE(NewestPerKey(after) == NewestPerKey(before));

        io::FaultFileSystem fs(seed);
        MapCache cache(8);
        auto log = BuildKeyedLog(fs, cache, seed);
        REQUIRE(testing::ReadAllRecords(*log) == before);
        bool stopped = false;
        log->TEST_SetCompactionHook([&](CompactionStep s) {
          if (s != step || stopped) return false;
          stopped = true;
          return true;
        });
        auto r = log->Compact(compact);
        REQUIRE(stopped);
        REQUIRE(absl::IsAborted(r.status()));
        log->TEST_Abandon();
        log.reset();
        fs.Crash(mode);

        auto reopened = Log::Open(Options(&fs, &cache));
        INFO(reopened.status());
        REQUIRE(reopened.ok());
        const auto got = testing::ReadAllRecords(**reopened);
        // Before the .swap rename the compaction never happened; from it on, it did.
        const bool committed = step != CompactionStep::kCleanedWritten &&
                               step != CompactionStep::kCleanedSynced;
        CHECK(got == (committed ? after : before));
        CHECK(NewestPerKey(got) == NewestPerKey(before));
        const std::vector<std::string> names = fs.ListDir("/crash/p-0").value();
        for (const auto& name : names) {
          CHECK(name.find(".cleaned") == std::string::npos);
          CHECK(name.find(".swap") == std::string::npos);
        }
        auto segs = (*reopened)->Segments();
        for (size_t i = 0; i + 1 < segs.size(); ++i) {
          CHECK(segs[i].next_offset == segs[i + 1].base_offset);
        }
        // The recovered log compacts the rest, takes appends, and reopens cleanly the same.
        REQUIRE((*reopened)->Compact(compact).ok());
        const auto compacted = testing::ReadAllRecords(**reopened);
        CHECK(NewestPerKey(compacted) == NewestPerKey(before));
        auto b = testing::MakeKeyedBatch({{"k0", "after"}}, 3000);
        REQUIRE((*reopened)->Append(b, 0).ok());
        REQUIRE((*reopened)->Close().ok());
        reopened->reset();
        auto again = Log::Open(Options(&fs, &cache));
        REQUIRE(again.ok());
        auto final_records = testing::ReadAllRecords(**again);
        REQUIRE(!final_records.empty());
        CHECK(final_records.back().value == "after");
        final_records.pop_back();
        CHECK(final_records == compacted);
      }
    }
  }
}

TEST_CASE("damage in a committed .swap file is corruption", "[log][crash][compaction]") {
  io::FaultFileSystem fs(5);
  MapCache cache(8);
  auto log = BuildKeyedLog(fs, cache, 5);
  log->TEST_SetCompactionHook([](CompactionStep s) { return s == CompactionStep::kSwapRenamed; });
  REQUIRE(absl::IsAborted(log->Compact({.now_ms = 2000}).status()));
  log->TEST_Abandon();
  log.reset();
  const std::string swap = std::string("/crash/p-0/00000000000000000000.log") + Log::kSwapSuffix;
  REQUIRE(fs.Exists(swap).value());
  const std::byte junk[] = {std::byte{0xff}};
  REQUIRE(fs.TEST_Overwrite(swap, 70, junk).ok());  // inside the first batch's records
  auto reopened = Log::Open(Options(&fs, &cache));
  CHECK(absl::IsDataLoss(reopened.status()));
  CHECK_THAT(std::string(reopened.status().message()), Catch::Contains("compacted segment"));
  CHECK(fs.Exists(swap).value());  // nothing was deleted
  CHECK(fs.Exists("/crash/p-0/00000000000000000000.log").value());
}

}  // namespace
}  // namespace strata::log
