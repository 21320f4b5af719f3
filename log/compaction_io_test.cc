// Compaction under failures and concurrency: failed writes and fsyncs, lost index files, passes
// aborted by retention, truncation or Close, and readers racing a pass and appends.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "log/compaction.h"
#include "log/compaction_test_util.h"
#include "log/log.h"
#include "log/test_util.h"

namespace strata::log {
namespace {

using testing::Append;
using testing::Fixture;
using testing::KeyValue;
using testing::MakeKeyedBatch;
using testing::MustCompact;
using testing::Padded;
using testing::ReadAllRecords;
using testing::WriteRounds;

TEST_CASE("a failed write or fsync during compaction leaves the log as it was, taking writes",
          "[compaction][fault]") {
  for (int which : {0, 1}) {
    INFO((which == 0 ? "write" : "fsync"));
    Fixture f;
    auto log = f.Open();
    WriteRounds(*log, 30, 1000);
    REQUIRE(log->Flush().ok());
    const auto before = ReadAllRecords(*log);
    const auto segments = log->Segments().size();
    if (which == 0) {
      f.fs.FailNextWrites(1, ENOSPC);
    } else {
      f.fs.FailNextSyncs(1, EIO, std::string(".log") + Log::kCleanedSuffix);
    }
    auto r = log->Compact({.now_ms = f.now_ms});
    CHECK(!r.ok());
    CHECK(log->health().ok());
    CHECK(ReadAllRecords(*log) == before);
    CHECK(log->Segments().size() == segments);
    const std::vector<std::string> names = f.fs.ListDir("/c/p-0").value();
    for (const auto& name : names) {
      CHECK(name.find(".cleaned") == std::string::npos);
    }
    Append(*log, {{"after", "failure"}}, 5000);  // appends go on
    CHECK(MustCompact(*log, f.now_ms).records_removed > 0);
  }
}

TEST_CASE("losing the cleaned segment's index files costs a rescan, not data",
          "[compaction][fault]") {
  Fixture f;
  auto log = f.Open();
  WriteRounds(*log, 30, 1000);
  REQUIRE(log->Flush().ok());
  log->TEST_SetCompactionHook([&](CompactionStep step) {
    if (step == CompactionStep::kSwapRenamedToLog) f.fs.FailNextWrites(1, EIO);
    return false;
  });
  MustCompact(*log, f.now_ms);
  CHECK(log->health().ok());
  const auto compacted = ReadAllRecords(*log);
  REQUIRE(log->Close().ok());
  log.reset();
  log = f.Open();  // a clean shutdown, but the first segment's indexes must be rebuilt
  CHECK(ReadAllRecords(*log) == compacted);
  CHECK(f.fs.Exists("/c/p-0/00000000000000000000.index").value());
}

TEST_CASE("retention, truncation or Close during a pass abort it and leave the log alone",
          "[compaction]") {
  for (int what : {0, 1, 2}) {
    INFO("case " << what);
    Fixture f;
    f.config.retention_bytes = 6000;
    auto log = f.Open();
    WriteRounds(*log, 40, 1000);
    REQUIRE(log->Flush().ok());
    log->TEST_SetCompactionHook([&](CompactionStep step) {
      if (step != CompactionStep::kCleanedSynced) return false;
      if (what == 0) REQUIRE(log->ApplyRetention()->segments_deleted > 0);
      if (what == 1) REQUIRE(log->TruncateTo(log->log_end_offset() - 3).ok());
      if (what == 2) REQUIRE(log->Close().ok());
      // Another pass cannot start while this one runs.
      CHECK(absl::IsAborted(log->Compact({.now_ms = f.now_ms}).status()));
      return false;
    });
    auto r = log->Compact({.now_ms = f.now_ms});
    INFO(r.status());
    CHECK(absl::IsAborted(r.status()));
    const std::vector<std::string> names = f.fs.ListDir("/c/p-0").value();
    for (const auto& name : names) {
      CHECK(name.find(".cleaned") == std::string::npos);
      CHECK(name.find(".swap") == std::string::npos);
    }
    if (what == 2) continue;
    CHECK(log->health().ok());
    log->TEST_SetCompactionHook(nullptr);
    CHECK(MustCompact(*log, f.now_ms).segments_cleaned > 0);
  }
}

TEST_CASE("a read that a compaction swap overtakes still returns the batches below the end",
          "[compaction][concurrency]") {
  // The swap lands between the read's check of the log end and its segment lookup. The cleaned
  // segment's first batch then starts past that earlier reading of the end (everything before it
  // was superseded), though every offset in it is below the end by the time the read sees it.
  Fixture f;
  f.config.segment_bytes = 1 << 20;  // one sealed segment, so one cleaned group
  auto log = f.Open();
  for (int i = 0; i < 10; ++i) Append(*log, {{"a", "old" + std::to_string(i)}, {"b", "old"}}, 1000);
  const int64_t end_seen = log->log_end_offset();
  bool swapped = false;
  log->TEST_SetReadHook([&] {
    if (std::exchange(swapped, true)) return;
    for (int i = 0; i < 10; ++i) Append(*log, {{"a", "new" + std::to_string(i)}, {"b", "new"}}, 2000);
    REQUIRE(log->Roll().ok());
    REQUIRE(log->Flush().ok());
    REQUIRE(MustCompact(*log, f.now_ms).records_removed > 0);
  });
  auto r = log->Read(0, 4096);
  REQUIRE(swapped);
  REQUIRE(r.ok());
  REQUIRE(r->batch_count > 0);
  CHECK(r->first_offset >= end_seen);
  const auto records = testing::Records(r->bytes);
  REQUIRE(!records.empty());
  CHECK(records.front().value == "new9");  // only the newest value of each key is left
}

TEST_CASE("readers during compaction and appends see whole batches and each key's newest value",
          "[compaction][concurrency]") {
  Fixture f;
  f.config.segment_bytes = 8192;
  auto log = f.Open();
  constexpr int kKeys = 20;
  std::mutex appended_mu;
  std::map<int64_t, std::pair<std::string, std::string>> appended;  // offset -> key, value
  auto write = [&](int round) {
    std::vector<KeyValue> records;
    for (int i = 0; i < 4; ++i) {
      int k = (round * 4 + i) % kKeys;
      records.push_back({"k" + std::to_string(k), Padded("v" + std::to_string(round), 40)});
    }
    auto batch = MakeKeyedBatch(records, 1000 + round);
    auto r = log->Append(batch, 1);
    REQUIRE(r.ok());
    std::lock_guard<std::mutex> lock(appended_mu);
    for (int i = 0; i < 4; ++i) appended[r->base_offset + i] = {*records[i].key, *records[i].value};
  };
  for (int round = 0; round < 200; ++round) write(round);
  REQUIRE(log->Flush().ok());

  std::atomic<bool> done{false};
  std::atomic<int> passes{0};
  // Each reader round: the last value seen per key, and the offset it read up to.
  std::vector<std::pair<int64_t, std::map<std::string, std::pair<int64_t, std::string>>>> rounds;
  std::atomic<int> errors{0};
  std::atomic<int> reader_rounds{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::map<std::string, std::pair<int64_t, std::string>> seen;
      int64_t off = log->log_start_offset();
      while (off < log->log_end_offset()) {
        auto r = log->Read(off, 700);
        if (!r.ok() || r->batch_count == 0 || r->next_offset <= off) {
          ++errors;
          return;
        }
        for (size_t pos = 0; pos < r->bytes.size();) {
          auto h = record::VerifyBatch(r->bytes.subspan(pos));
          if (!h.ok()) {
            ++errors;
            return;
          }
          pos += h->size_bytes();
        }
        for (const auto& rec : testing::Records(r->bytes)) {
          auto& s = seen[*rec.key];
          if (rec.offset <= s.first && !s.second.empty()) ++errors;  // offsets go forward
          s = {rec.offset, *rec.value};
        }
        off = r->next_offset;
      }
      rounds.emplace_back(off, std::move(seen));
      ++reader_rounds;
    }
  });
  std::atomic<int> cleaning_passes{0};
  std::thread compactor([&] {
    while (!done.load()) {
      auto r = log->Compact({.now_ms = f.now_ms});
      if (!r.ok() && !absl::IsAborted(r.status())) ++errors;
      if (r.ok() && r->segments_cleaned > 0) ++cleaning_passes;
      ++passes;
    }
  });
  // Append (and flush now and then) until passes that cleaned something and whole reads have
  // both overlapped with appends many times.
  for (int round = 200; round < 200'000; ++round) {
    write(round);
    if (round % 16 == 0) REQUIRE(log->Flush().ok());
    if (round > 1200 && cleaning_passes.load() >= 20 && reader_rounds.load() >= 20) break;
  }
  done = true;
  reader.join();
  compactor.join();
  CHECK(errors.load() == 0);
  CHECK(cleaning_passes.load() >= 20);
  REQUIRE(!rounds.empty());
  for (const auto& [end, seen] : rounds) {
    // The newest value of every key below where the reader stopped is what it saw last.
    std::map<std::string, std::pair<int64_t, std::string>> want;
    for (const auto& [offset, kv] : appended) {
      if (offset < end) want[kv.first] = {offset, kv.second};
    }
    CHECK(seen == want);
  }
  CHECK(ReadAllRecords(*log).size() < appended.size());
}

}  // namespace
}  // namespace strata::log
