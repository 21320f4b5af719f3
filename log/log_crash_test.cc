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
      auto h = record::VerifyBatch(r->bytes.subspan(pos));
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
                         rng() % 4 == 0 ? record::Compression::kLz4 : record::Compression::kNone);
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

TEST_CASE("recovery makes a segment a dead process left unsynced durable before using it",
          "[log][crash][dir]") {
  // The process dies inside a roll, after creating the new segment and before syncing its
  // directory, then restarts without a power loss: recovery finds the segment and appends go
  // there. Its name must be durable before they are reported durable, even when the recovery
  // point has nothing new to write (here it already equals the log end, from the close).
  for (io::CrashMode mode : io::kAllCrashModes) {
    bool died_between = false;  // some death point leaves the new file there, unsynced
    for (int64_t n = 0; n < 30; ++n) {
      INFO("crash mode " << int(mode) << ", death after " << n << " file operations of the roll");
      io::FaultFileSystem fs(22);
      MapCache cache(8);
      auto options = Options(&fs, &cache);
      auto log = Log::Open(options).value();
      auto a = MakeBatch(2, 0, "before-roll");
      REQUIRE(log->Append(a, 0).ok());
      REQUIRE(log->Close().ok());
      log = Log::Open(options).value();
      fs.CrashAfterOps(n);
      const bool rolled = log->Roll().ok();
      log->TEST_Abandon();
      log.reset();
      fs.Restart();
      const std::vector<std::string> names = fs.ListDir("/crash/p-0").value();
      died_between |= !rolled && std::count(names.begin(), names.end(),
                                            "00000000000000000002.log") == 1;
      log = Log::Open(options).value();
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
    CHECK(died_between);
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
        record::BatchOptions{.compression = rng() % 3 == 0 ? record::Compression::kLz4 : record::Compression::kNone});
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

// --- Crashes inside an operation ----------------------------------------------------------------
//
// Each test builds the same log from a seed, counts the file operations that one log operation
// makes (FaultFileSystem::mutating_ops), then, for every n up to that count, builds the log again,
// lets the process die after n of them (CrashAfterOps: every later file operation fails and
// changes nothing), abandons the log and either
//  - loses power (each crash mode) and reopens, or
//  - restarts the process alone (the page cache keeps everything), reopens, appends one more
//    batch and waits for it to be durable, then loses power and reopens: recovery reports
//    everything it kept as durable (docs/recovery.md rule 10), so all of it must still be there.
// The operation's own check then says what the reopened log may hold.

// A log of a few sealed segments and an active one, built the same way from the same seed, with
// what was appended (every record's value, by offset: no compaction here) and how many records
// were acknowledged durable.
struct Built {
  std::unique_ptr<Log> log;
  std::vector<std::string> values;
  int64_t durable = 0;
};

LogOptions CrashOptions(io::FaultFileSystem& fs, MapCache& cache, int64_t& now_ms) {
  LogOptions o = Options(&fs, &cache);
  o.clock = [&now_ms] { return now_ms += 300; };  // some flushes checkpoint the recovery point
  return o;
}

void BuildInto(Built& b, const LogOptions& options, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto opened = Log::Open(options);
  REQUIRE(opened.ok());
  b.log = std::move(*opened);
  const int appends = 40 + int(rng() % 20);
  for (int i = 0; i < appends; ++i) {
    auto batch = MakeBatch(1 + int(rng() % 4), 10 * i, "r" + std::to_string(i), 100 + rng() % 300);
    REQUIRE(b.log->Append(batch, 0).ok());
    auto v = Values(batch);
    b.values.insert(b.values.end(), v.begin(), v.end());
    if (rng() % 4 == 0) {
      REQUIRE(b.log->Flush().ok());
      b.durable = int64_t(b.values.size());
    }
  }
  REQUIRE(b.log->Segments().size() >= 3);
}

// What a check is told about the run.
struct CrashRun {
  bool op_ok = false;      // the operation returned OK (the process died after it, if at all)
  bool power_lost = true;  // false: the process alone died, the page cache kept everything
};

// Checks that the log holds values[start, end) for its start and end offsets (whole batches,
// dense offsets: offset i holds values[i]), and returns the end.
int64_t CheckRun(const Log& log, const std::vector<std::string>& values) {
  const int64_t start = log.log_start_offset();
  const auto got = ReadEverything(log);
  REQUIRE(start >= 0);
  REQUIRE(start + int64_t(got.size()) <= int64_t(values.size()));
  CHECK(std::equal(got.begin(), got.end(), values.begin() + start));
  CHECK(log.log_end_offset() == start + int64_t(got.size()));
  return start + int64_t(got.size());
}

// `build(fs, options)` builds the scenario; `op(options)` runs the operation under test on it
// and leaves no open log behind; `check(log, run)` checks the reopened log. Returns the number of
// runs (crash points x crash modes x power loss or restart).
template <typename Build, typename Op, typename Check>
int CrashEverywhereInside(uint64_t seed, Build&& build, Op&& op, Check&& check) {
  int64_t ops = 0;
  {
    io::FaultFileSystem fs(seed);
    MapCache cache(8);
    int64_t now_ms = 1'000'000;
    const LogOptions options = CrashOptions(fs, cache, now_ms);
    build(fs, options);
    const int64_t before = fs.mutating_ops();
    REQUIRE(op(options).ok());
    ops = fs.mutating_ops() - before;
  }
  REQUIRE(ops > 0);
  int runs = 0;
  for (int64_t n = 0; n <= ops; ++n) {
    for (io::CrashMode mode : io::kAllCrashModes) {
      for (bool restart_first : {false, true}) {
        INFO("seed " << seed << ": the process dies after " << n << " of the operation's " << ops
                     << " file operations; crash mode " << int(mode)
                     << (restart_first ? "; restart, append, then power loss" : "; power loss"));
        ++runs;
        io::FaultFileSystem fs(seed);
        MapCache cache(8);
        int64_t now_ms = 1'000'000;
        const LogOptions options = CrashOptions(fs, cache, now_ms);
        build(fs, options);
        fs.CrashAfterOps(n);
        CrashRun run;
        run.op_ok = op(options).ok();
        REQUIRE((run.op_ok || fs.dead()));  // only the injected death makes it fail
        run.power_lost = !restart_first;
        if (restart_first) {
          fs.Restart();
        } else {
          fs.Crash(mode);
        }
        auto reopened = Log::Open(options);
        INFO("reopen: " << reopened.status());
        REQUIRE(reopened.ok());
        check(**reopened, run);
        if (restart_first) {
          // Everything recovery kept counts as durable, so it all survives a power loss now.
          const int64_t start = (*reopened)->log_start_offset();
          auto kept = ReadEverything(**reopened);
          auto b = MakeBatch(2, 5000, "after-restart");
          auto r = (*reopened)->Append(b, 0);
          REQUIRE(r.ok());
          REQUIRE((*reopened)->WaitDurable(r->last_offset).get().ok());
          (*reopened)->TEST_Abandon();
          reopened->reset();
          fs.Crash(mode);
          auto again = Log::Open(options);
          INFO("reopen after the power loss: " << again.status());
          REQUIRE(again.ok());
          auto v = Values(b);
          kept.insert(kept.end(), v.begin(), v.end());
          CHECK((*again)->log_start_offset() == start);
          CHECK(ReadEverything(**again) == kept);
        } else {
          // And it takes appends again, after the recovered end.
          const int64_t end = (*reopened)->log_end_offset();
          auto b = MakeBatch(1, 5000, "after");
          CHECK((*reopened)->Append(b, 0)->base_offset == end);
        }
      }
    }
  }
  return runs;
}

// Abandons what is left of a log the operation ran on (a dead process does not close it).
void Abandon(Built& b) {
  if (b.log == nullptr) return;
  b.log->TEST_Abandon();
  b.log.reset();
}

TEST_CASE("a crash between any two file operations of a roll loses nothing durable",
          "[log][crash][inside]") {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    Built b;
    auto build = [&](io::FaultFileSystem&, const LogOptions& options) {
      b = Built();
      BuildInto(b, options, seed);
    };
    auto op = [&](const LogOptions&) {
      absl::Status st = b.log->Roll();
      Abandon(b);
      return st;
    };
    CrashEverywhereInside(seed, build, op, [&](const Log& log, const CrashRun& run) {
      const int64_t end = CheckRun(log, b.values);
      CHECK(log.log_start_offset() == 0);
      CHECK(end >= b.durable);
      // Sealing syncs the old segment, so after a roll everything appended is durable; and a
      // process death alone loses nothing.
      if (run.op_ok || !run.power_lost) CHECK(end == int64_t(b.values.size()));
    });
  }
}

TEST_CASE("a crash between any two file operations of the first append after a clean shutdown "
          "loses nothing",
          "[log][crash][inside][recovery]") {
  // The marker stays through the open and goes (durably) before the append touches anything: a
  // crash anywhere in between must not leave a marker vouching for changed files.
  for (uint64_t seed = 40; seed <= 42; ++seed) {
    Built b;
    auto build = [&](io::FaultFileSystem&, const LogOptions& options) {
      b = Built();
      BuildInto(b, options, seed);
      REQUIRE(b.log->Close().ok());
      b.log.reset();
      b.durable = int64_t(b.values.size());
    };
    auto op = [&](const LogOptions& options) -> absl::Status {
      STRATA_ASSIGN_OR_RETURN(b.log, Log::Open(options));
      auto batch = MakeBatch(3, 99'000, "first-after-clean", 900);
      absl::Status st = b.log->Append(batch, 0).status();
      if (st.ok()) {
        auto v = Values(batch);
        b.values.insert(b.values.end(), v.begin(), v.end());
        st = b.log->Flush();
      }
      Abandon(b);
      return st;
    };
    CrashEverywhereInside(seed, build, op, [&](const Log& log, const CrashRun& run) {
      const int64_t end = CheckRun(log, b.values);
      CHECK(end >= b.durable);
      if (run.op_ok) CHECK(end == int64_t(b.values.size()));
    });
  }
}

TEST_CASE("a crash between any two file operations of a close loses nothing durable",
          "[log][crash][inside]") {
  for (uint64_t seed = 4; seed <= 6; ++seed) {
    Built b;
    auto build = [&](io::FaultFileSystem&, const LogOptions& options) {
      b = Built();
      BuildInto(b, options, seed);
    };
    auto op = [&](const LogOptions&) {
      absl::Status st = b.log->Close();
      Abandon(b);
      return st;
    };
    CrashEverywhereInside(seed, build, op, [&](const Log& log, const CrashRun& run) {
      const int64_t end = CheckRun(log, b.values);
      CHECK(log.log_start_offset() == 0);
      CHECK(end >= b.durable);
      if (run.op_ok || !run.power_lost) CHECK(end == int64_t(b.values.size()));
      if (run.op_ok && run.power_lost) CHECK(log.recovery().clean_shutdown);
    });
  }
}

TEST_CASE("a crash between any two file operations of retention loses only what it deletes",
          "[log][crash][inside]") {
  for (uint64_t seed = 7; seed <= 10; ++seed) {
    Built b;
    int64_t start_after = -1;  // the log start once retention has run whole
    auto build = [&](io::FaultFileSystem&, const LogOptions& options) {
      b = Built();
      LogOptions o = options;
      // Even seeds: over retention_bytes. Odd seeds: every record expired, so the active
      // segment is rolled first and every sealed one goes.
      if (seed % 2 == 0) {
        o.config.retention_bytes = 12 * 1024;
      } else {
        o.config.retention_ms = 1000;
      }
      BuildInto(b, o, seed);
    };
    auto op = [&](const LogOptions&) {
      auto r = b.log->ApplyRetention();
      if (r.ok()) {
        REQUIRE(r->segments_deleted > 0);
        start_after = b.log->log_start_offset();
      }
      Abandon(b);
      return r.status();
    };
    CrashEverywhereInside(
        seed, build, op, [&](const Log& log, const CrashRun& run) {
          REQUIRE(start_after > 0);
          const int64_t end = CheckRun(log, b.values);
          // Whole segments from the front, no further than retention goes; nothing else.
          CHECK(log.log_start_offset() <= start_after);
          CHECK(end >= b.durable);
          if (run.op_ok) CHECK(log.log_start_offset() == start_after);
          // Retention syncs the active segment only when it rolls it (odd seeds).
          if ((run.op_ok && seed % 2 == 1) || !run.power_lost) {
            CHECK(end == int64_t(b.values.size()));
          }
        });
  }
}

TEST_CASE("a crash between any two file operations of a truncation leaves a prefix",
          "[log][crash][inside]") {
  for (uint64_t seed = 11; seed <= 13; ++seed) {
    Built b;
    int64_t cut_end = -1;  // where the log ends once the truncation has run whole
    auto build = [&](io::FaultFileSystem&, const LogOptions& options) {
      b = Built();
      BuildInto(b, options, seed);
    };
    auto op = [&](const LogOptions&) {
      // Into the second segment, so later segments are deleted and a sealed one is cut.
      const int64_t cut = b.log->Segments()[1].base_offset + 1;
      absl::Status st = b.log->TruncateTo(cut);
      if (st.ok()) {
        cut_end = b.log->log_end_offset();
        REQUIRE(cut_end <= cut);
      }
      Abandon(b);
      return st;
    };
    CrashEverywhereInside(seed, build, op, [&](const Log& log, const CrashRun& run) {
      REQUIRE(cut_end > 0);
      const int64_t end = CheckRun(log, b.values);
      CHECK(log.log_start_offset() == 0);
      // Somewhere between the cut and the old end; below the cut, only what was never durable
      // can go, and only in a power loss.
      CHECK(end >= std::min(b.durable, cut_end));
      if (!run.power_lost) CHECK(end >= cut_end);
      if (run.op_ok) CHECK(end == cut_end);
    });
  }
}

TEST_CASE("a crash between any two file operations of a compaction leaves the log from before or "
          "after it", "[log][crash][inside][compaction]") {
  const CompactionOptions compact{.delete_retention_ms = 1'000'000, .now_ms = 2000};
  for (uint64_t seed = 1; seed <= 2; ++seed) {
    std::vector<testing::StoredRecord> before, after;
    std::unique_ptr<Log> log;
    auto build = [&](io::FaultFileSystem& fs, const LogOptions& options) {
      MapCache* cache = options.map_cache;
      log = BuildKeyedLog(fs, *cache, seed);
      if (before.empty()) before = testing::ReadAllRecords(*log);
    };
    auto op = [&](const LogOptions&) {
      auto r = log->Compact(compact);
      if (r.ok()) {
        REQUIRE(r->segments_written == 1);  // one group: the log is from before or after it
        if (after.empty()) after = testing::ReadAllRecords(*log);
      }
      log->TEST_Abandon();
      log.reset();
      return r.status();
    };
    CrashEverywhereInside(seed, build, op, [&](const Log& reopened, const CrashRun& run) {
      REQUIRE(!after.empty());
      const auto got = testing::ReadAllRecords(reopened);
      CHECK((got == before || got == after));
      if (run.op_ok) CHECK(got == after);
      CHECK(NewestPerKey(got) == NewestPerKey(before));
      auto segs = reopened.Segments();
      for (size_t i = 0; i + 1 < segs.size(); ++i) {
        CHECK(segs[i].next_offset == segs[i + 1].base_offset);
      }
    });
  }
}

// Opens the log and abandons it: the operation under test is the recovery itself.
absl::Status OpenAndAbandon(const LogOptions& options) {
  auto log = Log::Open(options);
  if (log.ok()) (*log)->TEST_Abandon();
  return log.status();
}

TEST_CASE("a crash between any two file operations of recovery, then recovery again",
          "[log][crash][inside][recovery]") {
  // What the recovery is of: 0, a power loss with unsynced appends (a torn tail to cut, later
  // segments to delete); 1, a clean shutdown (nothing to write: the marker stays until the log
  // first changes); 2, a brand new log (its directory and first segment to create).
  for (int scenario = 0; scenario < 3; ++scenario) {
    for (uint64_t seed = 20; seed <= (scenario == 0 ? 25u : 21u); ++seed) {
      INFO("scenario " << scenario);
      Built b;
      int64_t recovered_end = -1;  // what a recovery that runs whole finds
      auto build = [&](io::FaultFileSystem& fs, const LogOptions& options) {
        b = Built();
        if (scenario == 2) return;
        BuildInto(b, options, seed);
        if (scenario == 0) {
          // Some unsynced appends after the last flush, so the crash leaves something to cut.
          for (int i = 0; i < 6; ++i) {
            auto batch = MakeBatch(2, 9000 + i, "tail" + std::to_string(i), 700);
            REQUIRE(b.log->Append(batch, 0).ok());
            auto v = Values(batch);
            b.values.insert(b.values.end(), v.begin(), v.end());
          }
          Abandon(b);
          fs.Crash(io::kAllCrashModes[seed % 3]);
        } else {
          REQUIRE(b.log->Close().ok());
          b.log.reset();
          b.durable = int64_t(b.values.size());
        }
      };
      auto op = [&](const LogOptions& options) {
        absl::Status st = OpenAndAbandon(options);
        if (st.ok() && recovered_end < 0) {
          auto log = Log::Open(options).value();
          recovered_end = log->log_end_offset();
          log->TEST_Abandon();
        }
        return st;
      };
      if (scenario == 1) {
        // Recovering from a clean shutdown changes nothing on disk (the marker stays until the
        // first change), so there is nothing for a crash to land inside.
        io::FaultFileSystem fs(seed);
        MapCache cache(8);
        int64_t now_ms = 1'000'000;
        const LogOptions options = CrashOptions(fs, cache, now_ms);
        build(fs, options);
        const int64_t before = fs.mutating_ops();
        REQUIRE(op(options).ok());
        CHECK(fs.mutating_ops() == before);
        continue;
      }
      CrashEverywhereInside(seed, build, op, [&](const Log& log, const CrashRun&) {
        REQUIRE(recovered_end >= 0);
        const int64_t end = CheckRun(log, b.values);
        CHECK(log.log_start_offset() == 0);
        CHECK(end >= b.durable);
        // The state recovery starts from is on disk for good (the crash before it made it so,
        // or it was a clean shutdown), so an interrupted recovery changes nothing it would find.
        CHECK(end == recovered_end);
      });
    }
  }
}

TEST_CASE("a crash between any two file operations of recovering a compaction swap",
          "[log][crash][inside][recovery][compaction]") {
  const CompactionOptions compact{.delete_retention_ms = 1'000'000, .now_ms = 2000};
  for (CompactionStep step : {CompactionStep::kSwapRenamed, CompactionStep::kOldSegmentDeleted}) {
    const uint64_t seed = 30 + uint64_t(step);
    std::vector<testing::StoredRecord> after;  // what a whole recovery finds: the swap done
    auto build = [&](io::FaultFileSystem& fs, const LogOptions& options) {
      auto log = BuildKeyedLog(fs, *options.map_cache, seed);
      bool stopped = false;
      log->TEST_SetCompactionHook([&](CompactionStep s) {
        if (s != step || stopped) return false;
        stopped = true;
        return true;
      });
      REQUIRE(absl::IsAborted(log->Compact(compact).status()));
      REQUIRE(stopped);
      log->TEST_Abandon();
      log.reset();
      fs.Crash(io::CrashMode::kDropUnsynced);
    };
    auto op = [&](const LogOptions& options) {
      absl::Status st = OpenAndAbandon(options);
      if (st.ok() && after.empty()) {
        auto log = Log::Open(options).value();
        after = testing::ReadAllRecords(*log);
        log->TEST_Abandon();
      }
      return st;
    };
    CrashEverywhereInside(seed, build, op, [&](const Log& log, const CrashRun&) {
      REQUIRE(!after.empty());
      CHECK(testing::ReadAllRecords(log) == after);
    });
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
