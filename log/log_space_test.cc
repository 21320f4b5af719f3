// Disk space: how a log's files grow (preallocation steps) and what a full disk does to it. The
// fault file system stands in for a disk of a given size (MemoryFileSystem::SetCapacityBytes);
// tests/disk_full_test.sh does the same with a real, small file system under stratad.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_file_system.h"
#include "log/flusher.h"
#include "log/log.h"
#include "log/test_util.h"

namespace strata::log {
namespace {

using testing::MakeBatch;
using testing::ReadAllValues;

absl::Status AppendNew(Log& log, std::vector<std::byte> batch) {
  return log.Append(batch, 1).status();
}

struct Fixture {
  io::FaultFileSystem fs{11};
  MapCache cache{8};
  FileCache files{2};
  LogConfig config;
  int64_t now_ms = 1'000'000;
  AppendPath append_path = GENERATE(AppendPath::kWrite, AppendPath::kMapping);

  Fixture() {
    config.segment_bytes = 1 << 20;
    config.flush.bytes = 0;
    config.flush.interval_ms = 0;
  }
  std::unique_ptr<Log> Open() {
    LogOptions o;
    o.fs = &fs;
    o.dir = "/d/p-0";
    o.config = config;
    o.map_cache = &cache;
    o.file_cache = &files;
    o.append_path = append_path;
    o.clock = [this] { return now_ms; };
    auto log = Log::Open(std::move(o));
    INFO(log.status());
    REQUIRE(log.ok());
    return std::move(*log);
  }
  uint64_t FileBytes(const std::string& path) {
    return fs.Open(path, io::OpenMode::kReadOnly).value()->Size().value();
  }
  // The bytes of the log's files, added up.
  uint64_t UsedBytes() {
    const std::vector<std::string> names = fs.ListDir("/d/p-0").value();
    uint64_t used = 0;
    for (const auto& name : names) used += FileBytes("/d/p-0/" + name);
    return used;
  }
};

TEST_CASE("a segment's file grows in doubling steps, bounded by its data plus one step",
          "[log][space]") {
  Fixture f;
  f.config.preallocation = {.first_bytes = 8192, .max_bytes = 65536};
  auto log = f.Open();
  const std::string path = log->Segments().back().path;
  CHECK(f.FileBytes(path) == 0);  // a new partition reserves nothing until it is written
  std::vector<uint64_t> sizes;
  for (int i = 0; i < 200; ++i) {
    REQUIRE(AppendNew(*log, MakeBatch(4, 1000 + i, "s", 300)).ok());
    const uint64_t data = log->Segments().back().size_bytes;
    const uint64_t file = f.FileBytes(path);
    INFO("append " << i << ": data " << data << ", file " << file);
    REQUIRE(file >= data);
    // The reserve past the data is at most one step, and a step is at most max_bytes and at
    // most what the file held before it (doubling).
    REQUIRE(file - data <= std::max<uint64_t>(8192, std::min<uint64_t>(data, 65536)));
    if (sizes.empty() || sizes.back() != file) sizes.push_back(file);
  }
  // 8 KiB, 16, 32, 64, then 64 KiB at a time: one fallocate per step, not one per append.
  REQUIRE(sizes.size() >= 5);
  CHECK(sizes[0] == 8192);
  CHECK(sizes[1] == 16384);
  CHECK(sizes[2] == 32768);
  CHECK(sizes[3] == 65536);
  CHECK(sizes[4] == 131072);
  for (size_t i = 5; i < sizes.size(); ++i) CHECK(sizes[i] - sizes[i - 1] == 65536);
  CHECK(sizes.size() < 30);
  // Sealing (here: a clean close) trims the reserve.
  const uint64_t data = log->Segments().back().size_bytes;
  REQUIRE(log->Close().ok());
  CHECK(f.FileBytes(path) == data);
}

TEST_CASE("a full disk refuses appends with nothing written; reads go on; appends resume once "
          "space is freed",
          "[log][space]") {
  Fixture f;
  f.config.segment_bytes = 64 << 10;  // so that the run also rolls at a full disk
  auto log = f.Open();
  std::vector<std::string> acknowledged;
  auto append = [&](int i) {
    auto batch = MakeBatch(2, 1000 + i, "r" + std::to_string(i), 500);
    auto r = log->Append(batch, 1);
    if (r.ok()) {
      for (const auto& v : testing::Values(batch)) acknowledged.push_back(v);
    }
    return r.status();
  };
  for (int i = 0; i < 50; ++i) REQUIRE(append(i).ok());
  REQUIRE(log->Flush().ok());
  // A disk with a little room left: appends fill it, then fail.
  f.fs.SetCapacityBytes(f.UsedBytes() + 100'000);
  absl::Status refused;
  int i = 50;
  for (; i < 10'000 && refused.ok(); ++i) refused = append(i);
  INFO(refused);
  REQUIRE(io::IsNoSpace(refused));
  CHECK(absl::IsResourceExhausted(refused));
  CHECK(log->health().ok());
  const int64_t end = log->log_end_offset();
  // Refused again (no space has come back), and nothing of the refused batches is in the log.
  for (int k = 0; k < 5; ++k) CHECK(io::IsNoSpace(append(i + k)));
  CHECK(log->log_end_offset() == end);
  CHECK(ReadAllValues(*log) == acknowledged);
  CHECK(log->Flush().ok());
  // Space returns: appends go on where they stopped, without reopening the log.
  f.fs.SetCapacityBytes(UINT64_MAX);
  for (int k = 0; k < 200; ++k) REQUIRE(append(20'000 + k).ok());
  CHECK(log->log_end_offset() == end + 400);
  CHECK(ReadAllValues(*log) == acknowledged);
  REQUIRE(log->Flush().ok());
  REQUIRE(log->Segments().size() > 3);
  // And all of it survives a crash.
  log->TEST_Abandon();
  log.reset();
  f.fs.Crash(io::CrashMode::kDropUnsynced);
  log = f.Open();
  CHECK(ReadAllValues(*log) == acknowledged);
}

TEST_CASE("a roll at a full disk leaves the log whole and is tried again once space returns",
          "[log][space]") {
  Fixture f;
  f.config.segment_bytes = 16 << 10;
  f.config.preallocation = {.first_bytes = 16 << 10, .max_bytes = 16 << 10};
  auto log = f.Open();
  std::vector<std::string> acknowledged;
  int i = 0;
  auto next = [&] { return MakeBatch(1, 1000 + i, "r" + std::to_string(i), 3000); };
  auto append = [&] {
    auto batch = next();
    ++i;
    auto r = log->Append(batch, 1);
    if (r.ok()) acknowledged.push_back(testing::Values(batch)[0]);
    return r.status();
  };
  // Fill the first segment (its whole 16 KiB is reserved at the first append), then leave no
  // space at all: the next append must roll, and the new segment's files cannot be made.
  while (log->Segments()[0].size_bytes + next().size() <= f.config.segment_bytes) {
    REQUIRE(append().ok());
  }
  REQUIRE(log->Segments().size() == 1);
  f.fs.SetCapacityBytes(f.UsedBytes());
  for (int k = 0; k < 3; ++k) {
    absl::Status st = append();
    INFO(st);
    CHECK(absl::IsResourceExhausted(st));
    CHECK(log->health().ok());
  }
  CHECK(ReadAllValues(*log) == acknowledged);
  f.fs.SetCapacityBytes(UINT64_MAX);
  for (int k = 0; k < 10; ++k) REQUIRE(append().ok());
  CHECK(log->Segments().size() > 1);
  CHECK(ReadAllValues(*log) == acknowledged);
  REQUIRE(log->Close().ok());
  log.reset();
  log = f.Open();
  CHECK(ReadAllValues(*log) == acknowledged);
}

TEST_CASE("retention frees space on a full disk, even when it cannot roll the active segment",
          "[log][space]") {
  Fixture f;
  f.config.segment_bytes = 16 << 10;
  f.config.retention_ms = 60'000;
  auto log = f.Open();
  for (int i = 0; i < 30; ++i) REQUIRE(AppendNew(*log, MakeBatch(1, f.now_ms, "old", 3000)).ok());
  REQUIRE(log->Segments().size() > 3);
  REQUIRE(log->Flush().ok());
  // Everything has expired, the active segment too; and there is no room for a new segment (the
  // disk is more than full: trimming the active segment's reserve does not make room either).
  f.now_ms += 120'000;
  f.fs.SetCapacityBytes(f.UsedBytes() - 8192);
  auto r = log->ApplyRetention();
  INFO(r.status());
  REQUIRE(r.ok());
  CHECK(r->segments_deleted > 0);
  CHECK(log->health().ok());
  CHECK(f.fs.FreeBytes("/").value() > 0);
  // With space back, appends go on.
  REQUIRE(AppendNew(*log, MakeBatch(1, f.now_ms, "new", 100)).ok());
  CHECK(ReadAllValues(*log).back().rfind("new-0", 0) == 0);
}

TEST_CASE("a discarded log writes nothing more", "[log]") {
  // For a topic being deleted: what a clean close would make durable is removed next.
  Fixture f;
  auto log = f.Open();
  REQUIRE(AppendNew(*log, MakeBatch(3, 1, "d", 100)).ok());
  REQUIRE(log->Flush().ok());
  REQUIRE(AppendNew(*log, MakeBatch(2, 2, "e", 100)).ok());  // unflushed
  const int64_t before = f.fs.mutating_ops();
  log->Discard();
  CHECK(absl::IsFailedPrecondition(AppendNew(*log, MakeBatch(1, 3, "f"))));
  log.reset();  // the destructor's Close finds it closed
  CHECK(f.fs.mutating_ops() == before);
}

TEST_CASE("a discarded log writes nothing, even with its flusher and its compaction running",
          "[log][concurrency]") {
  // A topic's directories are removed right after its logs are discarded: a flush (which may write
  // the recovery point) or a compaction pass (its .cleaned file) after that would leave files in
  // a directory being removed, or recreate it.
  Fixture f;
  f.config.flush.interval_ms = 1;
  f.config.segment_bytes = 4096;
  Flusher flusher;
  LogOptions o;
  o.fs = &f.fs;
  o.dir = "/d/p-0";
  o.config = f.config;
  o.map_cache = &f.cache;
  o.file_cache = &f.files;
  o.flusher = &flusher;
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    auto log = Log::Open(o).value();
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      for (int i = 0; !stop.load(); ++i) {
        auto batch = testing::MakeKeyedBatch({{"k" + std::to_string(i % 3), "v"}}, 1000 + i);
        if (!log->Append(batch, 1).ok()) break;
      }
    });
    std::thread compactor([&] {
      while (!stop.load() && log->Compact({.now_ms = 2000}).status().code() !=
                                 absl::StatusCode::kFailedPrecondition) {
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    log->Discard();
    const int64_t before = f.fs.mutating_ops();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // flusher passes every 1 ms
    stop = true;
    writer.join();
    compactor.join();
    CHECK(f.fs.mutating_ops() == before);
    log.reset();
    REQUIRE(f.fs.RemoveAll("/d/p-0").ok());
  }
}

TEST_CASE("after a clean shutdown the marker stays until the log changes, and then goes first",
          "[log][recovery]") {
  Fixture f;
  auto log = f.Open();
  for (int i = 0; i < 20; ++i) REQUIRE(AppendNew(*log, MakeBatch(3, 1000 + i, "c", 100)).ok());
  const auto before = ReadAllValues(*log);
  REQUIRE(log->Close().ok());
  log.reset();
  for (io::CrashMode mode : io::kAllCrashModes) {
    // Opened and left alone, then a crash: the files are exactly what the shutdown left, and
    // recovery may trust them.
    log = f.Open();
    CHECK(log->recovery().clean_shutdown);
    log->TEST_Abandon();
    log.reset();
    f.fs.Crash(mode);
    log = f.Open();
    CHECK(log->recovery().clean_shutdown);
    CHECK(ReadAllValues(*log) == before);
    REQUIRE(log->Close().ok());  // writes nothing: nothing changed
    log.reset();
  }
  // The first change removes the marker (durably) before it touches anything.
  log = f.Open();
  REQUIRE(AppendNew(*log, MakeBatch(1, 5000, "late")).ok());
  log->TEST_Abandon();
  log.reset();
  f.fs.Crash(io::CrashMode::kDropUnsynced);
  log = f.Open();
  CHECK_FALSE(log->recovery().clean_shutdown);
  CHECK(ReadAllValues(*log) == before);  // the unsynced append is gone, the rest is whole
}

}  // namespace
}  // namespace strata::log
