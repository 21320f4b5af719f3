// Tests for `strata log dump` and `strata log verify` (log_tools.h) on real logs in temp dirs:
// a clean multi-segment log verifies and dumps; each kind of damage (bad checksum, unreadable
// header, torn tail, bad index, missing segment) is reported with its file and position; the
// tools never change the directory.
#include "client/cli/log_tools.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/endian.h"
#include "common/limits.h"
#include "io/file_system.h"
#include "record/batch.h"
#include "log/log.h"
#include "log/segment.h"

namespace strata::cli {
namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

constexpr int kRecordsPerBatch = 10;
constexpr size_t kValueBytes = 100;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "strata-log-tools-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return io::JoinPath(path_, name); }

 private:
  std::string path_;
};

std::string ValueFor(int64_t offset) {
  std::string v = "value-" + std::to_string(offset);
  v.resize(kValueBytes, '.');
  return v;
}

log::LogOptions Options(const std::string& dir) {
  log::LogOptions options;
  options.fs = &io::RealFileSystem();
  options.dir = dir;
  options.config.segment_bytes = 64 * 1024;
  return options;
}

// Appends `records` records in batches of 10: record i has value ValueFor(i).
void AppendRecords(log::Log& lg, int64_t first, int records) {
  const int64_t now_ms = log::SystemClock()();
  for (int64_t i = first; i < first + records; i += kRecordsPerBatch) {
    std::vector<std::string> values;
    for (int64_t j = i; j < i + kRecordsPerBatch; ++j) values.push_back(ValueFor(j));
    record::BatchBuilder builder;
    for (int j = 0; j < kRecordsPerBatch; ++j) {
      record::RecordInput r;
      r.timestamp_ms = now_ms + i + j;
      r.key = "key";
      r.value = values[j];
      builder.Add(r);
    }
    auto batch = builder.Build();
    REQUIRE(batch.ok());
    auto appended = lg.Append(*batch, /*leader_epoch=*/3);
    REQUIRE(appended.ok());
    REQUIRE(appended->base_offset == i);
  }
}

// A cleanly closed log of `records` records.
void WriteLog(const std::string& dir, int records) {
  auto lg = log::Log::Open(Options(dir));
  REQUIRE(lg.ok());
  AppendRecords(**lg, 0, records);
  REQUIRE((*lg)->Close().ok());
}

std::vector<std::string> LogFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::byte> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  for (size_t i = 0; i < chars.size(); ++i) out[i] = std::byte(chars[i]);
  return out;
}

void WriteFile(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  REQUIRE(out.good());
}

// Overwrites one byte in place with plain file I/O, as damage on disk would.
void SetByte(const std::string& path, uint64_t position, uint8_t value) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekp(std::streamoff(position));
  char c = char(value);
  f.write(&c, 1);
  REQUIRE(f.good());
}

void FlipByte(const std::string& path, uint64_t position) {
  std::vector<std::byte> bytes = ReadFile(path);
  REQUIRE(position < bytes.size());
  SetByte(path, position, uint8_t(bytes[position]) ^ 0xff);
}

// Batch positions of a segment file, from the log library's own scan.
std::vector<uint64_t> BatchPositions(const std::string& path, int64_t base_offset) {
  std::vector<uint64_t> positions;
  log::Segment::Scan(ReadFile(path), base_offset,
                     [&](const record::BatchHeader&, uint64_t pos) { positions.push_back(pos); });
  return positions;
}

// Every file's name and contents, to show the tools change nothing.
std::map<std::string, std::vector<std::byte>> Snapshot(const std::string& dir) {
  std::map<std::string, std::vector<std::byte>> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    files[e.path().filename().string()] = ReadFile(e.path().string());
  }
  return files;
}

std::string Dump(const std::string& dir, DumpOptions options = {}) {
  std::ostringstream out;
  absl::Status st = DumpLog(dir, options, out);
  REQUIRE(st.ok());
  return out.str();
}

VerifyReport Verify(const std::string& dir) {
  auto report = VerifyLog(dir);
  REQUIRE(report.ok());
  return *report;
}

TEST_CASE("verify passes a clean multi-segment log and counts it") {
  TempDir dir;
  WriteLog(dir.path(), 2000);
  std::vector<std::string> segments = LogFiles(dir.path());
  REQUIRE(segments.size() >= 3);
  uint64_t bytes = 0;
  for (const auto& name : segments) bytes += fs::file_size(dir.Join(name));

  VerifyReport report = Verify(dir.path());
  CHECK_FALSE(report.problem.has_value());
  CHECK(report.exit_code() == kExitOk);
  CHECK(report.segments == int(segments.size()));
  CHECK(report.batches == 200);
  CHECK(report.start_offset == 0);
  CHECK(report.end_offset == 2000);
  CHECK(report.data_bytes == bytes);
  CHECK(report.index_files_checked == 2 * int(segments.size()));
  CHECK(FormatVerifyReport(report) == absl::StrCat("ok: ", segments.size(),
                                                   " segments, 200 batches, offsets [0, 2000), ",
                                                   FormatBytes(bytes)));
}

TEST_CASE("dump lists segments, batches and records") {
  TempDir dir;
  WriteLog(dir.path(), 2000);
  std::vector<std::string> segments = LogFiles(dir.path());

  std::string out = Dump(dir.path());
  CHECK_THAT(out, StartsWith("segment 00000000000000000000.log base_offset=0 next_offset="));
  for (const auto& name : segments) CHECK_THAT(out, Contains("segment " + name + " "));
  CHECK_THAT(out, Contains("index_entries="));
  CHECK_THAT(out, Contains("timeindex_entries="));
  CHECK_THAT(out, Contains("  batch position=0 base_offset=0 last_offset=9 leader_epoch=3 "
                           "records=10 "));
  CHECK_THAT(out, Contains("base_offset=1990 last_offset=1999 "));
  CHECK_THAT(out, Contains(" compression=none producer_id=-1 producer_epoch=-1 base_sequence=-1 "
                           "checksum=ok\n"));
  CHECK_THAT(out, !Contains("record offset="));
  CHECK_THAT(out, !Contains("BAD"));

  SECTION("with --records, each record's offset, key and value") {
    std::string records = Dump(dir.path(), {.records = true});
    CHECK_THAT(records, Contains("    record offset=7 timestamp="));
    CHECK_THAT(records, Contains(" key=\"key\" value=\"" + ValueFor(7) + "\" headers=[]\n"));
    CHECK_THAT(records, Contains("value=\"" + ValueFor(1999) + "\""));
  }
  SECTION("--from-offset and --max-batches pick a window") {
    std::string window = Dump(dir.path(), {.records = true, .from_offset = 1505, .max_batches = 2});
    CHECK_THAT(window, Contains("base_offset=1500 last_offset=1509"));
    CHECK_THAT(window, Contains("base_offset=1510 last_offset=1519"));
    CHECK_THAT(window, !Contains("base_offset=1490 "));
    CHECK_THAT(window, !Contains("base_offset=1520 "));
    CHECK_THAT(window, !Contains("record offset=1504 "));
    CHECK_THAT(window, Contains("record offset=1505 "));
    CHECK_THAT(window, Contains("stopped after 2 batches (--max-batches)"));
    CHECK_THAT(window, !Contains("segment 00000000000000000000.log"));
  }
  SECTION("--from-offset past the end says where the log ends") {
    std::string none = Dump(dir.path(), {.from_offset = 5000});
    CHECK(none == "no batch holds offset 5000 or later: the log ends before offset 2000\n");
  }
}

TEST_CASE("dump shows binary values as hex, nulls as null, and elides long values") {
  TempDir dir;
  auto lg = log::Log::Open(Options(dir.path()));
  REQUIRE(lg.ok());
  const std::string long_value(300, 'a');
  const std::string binary("\x00\x01\xff", 3);
  record::BatchBuilder builder(record::BatchOptions{.compression = record::Compression::kLz4});
  builder.Add({.timestamp_ms = 1000, .key = std::nullopt, .value = long_value, .headers = {}});
  builder.Add({.timestamp_ms = 1001,
               .key = binary,
               .value = std::nullopt,
               .headers = {{"trace", "abc"}, {"empty", std::nullopt}}});
  auto batch = builder.Build();
  REQUIRE(batch.ok());
  REQUIRE((*lg)->Append(*batch, 1).ok());
  REQUIRE((*lg)->Close().ok());

  std::string out = Dump(dir.path(), {.records = true});
  CHECK_THAT(out, Contains("compression=lz4"));
  CHECK_THAT(out, Contains("record offset=0 timestamp=1000 key=null value=\"" +
                           std::string(limits::dump_value_bytes_max, 'a') + "\"...(300 bytes)"));
  CHECK_THAT(out, Contains("record offset=1 timestamp=1001 key=hex:0001ff value=null "
                           "headers=[\"trace\"=\"abc\", \"empty\"=null]"));
}

TEST_CASE("verify names the file and position of a batch with a bad checksum") {
  TempDir dir;
  WriteLog(dir.path(), 2000);
  const std::string first = dir.Join(LogFiles(dir.path()).front());
  std::vector<uint64_t> positions = BatchPositions(first, 0);
  REQUIRE(positions.size() > 10);
  const uint64_t bad = positions[positions.size() / 2];
  FlipByte(first, bad + 70);  // inside the records, covered by the checksum

  VerifyReport report = Verify(dir.path());
  REQUIRE(report.problem.has_value());
  CHECK(report.exit_code() == kExitCorrupt);
  CHECK(report.problem->file == first);
  CHECK(report.problem->position == bad);
  CHECK_THAT(report.problem->reason, Contains("checksum mismatch"));
  CHECK_THAT(FormatVerifyReport(report),
             StartsWith(absl::StrCat("corrupt: ", first, " at position ", bad, ": ")));

  // The dump marks the batch and keeps going: its length field is intact.
  std::string out = Dump(dir.path());
  CHECK_THAT(out, Contains(absl::StrCat("batch position=", bad, " ")));
  CHECK_THAT(out, Contains("checksum=BAD: "));
  CHECK_THAT(out, Contains(absl::StrCat("batch position=", positions.back(), " ")));
  CHECK_THAT(out, Contains("base_offset=1990 "));
}

TEST_CASE("an unreadable batch header stops that segment's dump with its file and position") {
  TempDir dir;
  WriteLog(dir.path(), 2000);
  std::vector<std::string> names = LogFiles(dir.path());
  const std::string first = dir.Join(names.front());
  std::vector<uint64_t> positions = BatchPositions(first, 0);
  const uint64_t bad = positions[positions.size() / 2];
  SetByte(first, bad + record::batch_format::kMagicPos, 0x7f);

  VerifyReport report = Verify(dir.path());
  REQUIRE(report.problem.has_value());
  CHECK(report.problem->file == first);
  CHECK(report.problem->position == bad);
  CHECK_THAT(report.problem->reason, Contains("magic"));

  std::string out = Dump(dir.path());
  const size_t next_segment = out.find("segment " + names[1] + " ");
  REQUIRE(next_segment != std::string::npos);  // the next segment is still listed
  const std::string first_segment = out.substr(0, next_segment);
  CHECK_THAT(first_segment, Contains(absl::StrCat("  stopped: ", first, " at position ", bad,
                                                  ": unreadable batch header (")));
  CHECK_THAT(first_segment, !Contains(absl::StrCat("batch position=", bad, " ")));
}

TEST_CASE("verify after a crash: trailing zeros are fine, a torn tail is reported") {
  TempDir dir;
  {
    auto lg = log::Log::Open(Options(dir.path()));
    REQUIRE(lg.ok());
    AppendRecords(**lg, 0, 1000);
    REQUIRE((*lg)->Flush().ok());
    (*lg)->TEST_Abandon();  // no seal, no index files for the active segment, no marker
  }
  const std::string active = dir.Join(LogFiles(dir.path()).back());
  const auto before = Snapshot(dir.path());

  VerifyReport report = Verify(dir.path());
  CHECK_FALSE(report.problem.has_value());
  CHECK(report.end_offset == 1000);
  uint64_t file_bytes = 0;
  for (const auto& name : LogFiles(dir.path())) file_bytes += fs::file_size(dir.Join(name));
  CHECK(file_bytes > report.data_bytes);  // preallocated space follows the active segment's data

  std::string out = Dump(dir.path());
  CHECK_THAT(out, Contains("bytes of preallocated zeros follow"));
  CHECK(Snapshot(dir.path()) == before);

  SECTION("a batch cut short at the end of the active segment") {
    std::vector<uint64_t> positions =
        BatchPositions(active, std::stoll(LogFiles(dir.path()).back()));
    std::vector<std::byte> image = ReadFile(active);
    const uint64_t end =
        positions.back() +
        record::ParseBatchHeader(std::span(image).subspan(positions.back()))->size_bytes();
    // Copy the first 100 bytes of the last batch after it: a plausible header, cut short.
    for (uint64_t i = 0; i < 100; ++i) {
      SetByte(active, end + i, uint8_t(image[positions.back() + i]));
    }
    // Give it the next offset so only its length is wrong.
    std::byte base[8];
    PutI64(base, 1000);
    for (uint64_t i = 0; i < 8; ++i) SetByte(active, end + i, uint8_t(base[i]));

    VerifyReport torn = Verify(dir.path());
    REQUIRE(torn.problem.has_value());
    CHECK(torn.problem->file == active);
    CHECK(torn.problem->position == end);
    CHECK_THAT(torn.problem->reason, Contains("above the recovery point"));
  }
}

TEST_CASE("verify skips index files the broker would rebuild after an unclean shutdown") {
  TempDir dir;
  WriteLog(dir.path(), 2000);
  const std::string active = LogFiles(dir.path()).back();
  const int64_t active_base = std::stoll(active);
  {
    // Reopen, cut the active segment back to its start and write differently sized batches, so
    // the index files its clean close left no longer match; then crash.
    auto lg = log::Log::Open(Options(dir.path()));
    REQUIRE(lg.ok());
    REQUIRE((*lg)->TruncateTo(active_base).ok());
    for (int i = 0; i < 50; ++i) {
      record::BatchBuilder builder;
      builder.Add(
          {.timestamp_ms = log::SystemClock()(), .key = "k", .value = "short", .headers = {}});
      auto batch = builder.Build();
      REQUIRE(batch.ok());
      REQUIRE((*lg)->Append(*batch, 4).ok());
    }
    REQUIRE((*lg)->Flush().ok());
    (*lg)->TEST_Abandon();
  }
  REQUIRE(fs::exists(dir.Join(log::SegmentFileStem(active_base) + ".index")));

  VerifyReport report = Verify(dir.path());
  CHECK_FALSE(report.problem.has_value());
  CHECK(report.end_offset == active_base + 50);
  CHECK(report.segments_with_unchecked_indexes == 1);
  CHECK_THAT(FormatVerifyReport(report), Contains("(index files of 1 segment not checked: "));

  // Were the broker to trust them (a clean-shutdown marker), the stale files would be damage.
  std::ofstream(dir.Join(log::Log::kCleanShutdownFile)).close();
  VerifyReport trusted = Verify(dir.path());
  REQUIRE(trusted.problem.has_value());
  CHECK_THAT(trusted.problem->file, StartsWith(dir.Join(log::SegmentFileStem(active_base))));
}

TEST_CASE("verify checks the index files") {
  TempDir dir;
  WriteLog(dir.path(), 2000);
  const std::string index = dir.Join("00000000000000000000.index");
  const std::string time_index = dir.Join("00000000000000000000.timeindex");
  std::vector<std::byte> bytes = ReadFile(index);
  REQUIRE(bytes.size() >= 3 * log::kOffsetIndexEntryBytes);

  SECTION("an entry that points inside a batch") {
    bytes[log::kOffsetIndexEntryBytes + 4] =
        std::byte(uint8_t(bytes[log::kOffsetIndexEntryBytes + 4]) + 1);
    WriteFile(index, bytes);
    VerifyReport report = Verify(dir.path());
    REQUIRE(report.problem.has_value());
    CHECK(report.problem->file == index);
    CHECK(report.problem->position == log::kOffsetIndexEntryBytes);
    CHECK_THAT(report.problem->reason, Contains("offset index entry 1 "));
    CHECK_THAT(report.problem->reason, Contains("batch boundary"));
  }
  SECTION("an entry whose offset is not the batch's") {
    bytes[0] = std::byte(uint8_t(bytes[0]) + 1);  // relative offset of entry 0
    WriteFile(index, bytes);
    VerifyReport report = Verify(dir.path());
    REQUIRE(report.problem.has_value());
    CHECK(report.problem->file == index);
    CHECK(report.problem->position == 0);
    CHECK_THAT(report.problem->reason, Contains("but the batch there starts at offset"));
  }
  SECTION("entries out of order: the position of the first bad one") {
    std::vector<std::byte> swapped = bytes;
    std::copy_n(bytes.begin() + 8, 8, swapped.begin() + 16);
    std::copy_n(bytes.begin() + 16, 8, swapped.begin() + 8);
    WriteFile(index, swapped);
    VerifyReport report = Verify(dir.path());
    REQUIRE(report.problem.has_value());
    CHECK(report.problem->file == index);
    CHECK(report.problem->position == 16);
    CHECK_THAT(report.problem->reason, Contains("does not increase"));
  }
  SECTION("a partial entry at the end") {
    bytes.resize(bytes.size() + 3);
    WriteFile(index, bytes);
    VerifyReport report = Verify(dir.path());
    REQUIRE(report.problem.has_value());
    CHECK(report.problem->file == index);
    CHECK(report.problem->position == bytes.size() - 3);
  }
  SECTION("a time index entry that claims too small a timestamp") {
    std::vector<std::byte> t = ReadFile(time_index);
    REQUIRE(t.size() >= 2 * log::kTimeIndexEntryBytes);
    // Entry 1's timestamp becomes entry 0's plus one: still increasing, but too small.
    std::vector<std::byte> ts(t.begin(), t.begin() + 8);
    ts[0] = std::byte(uint8_t(ts[0]) + 1);  // no carry: test timestamps are not near overflow
    std::copy(ts.begin(), ts.end(), t.begin() + log::kTimeIndexEntryBytes);
    WriteFile(time_index, t);
    VerifyReport report = Verify(dir.path());
    REQUIRE(report.problem.has_value());
    CHECK(report.problem->file == time_index);
    CHECK(report.problem->position == log::kTimeIndexEntryBytes);
    CHECK_THAT(report.problem->reason, Contains("time index entry 1 "));
  }
}

TEST_CASE("verify reports a missing segment as a gap in offsets") {
  TempDir dir;
  WriteLog(dir.path(), 2000);
  std::vector<std::string> names = LogFiles(dir.path());
  REQUIRE(names.size() >= 3);
  fs::remove(dir.Join(names[1]));
  VerifyReport report = Verify(dir.path());
  REQUIRE(report.problem.has_value());
  CHECK(report.problem->file == dir.Join(names[2]));
  CHECK(report.problem->position == 0);
  CHECK_THAT(report.problem->reason, Contains("previous segment ends before offset"));
}

TEST_CASE("the tools never change the directory") {
  TempDir dir;
  WriteLog(dir.path(), 2000);
  FlipByte(dir.Join(LogFiles(dir.path()).front()), 100);
  const auto before = Snapshot(dir.path());
  (void)Verify(dir.path());
  (void)Dump(dir.path(), {.records = true});
  CHECK(Snapshot(dir.path()) == before);
}

TEST_CASE("a directory that is missing or holds no segments is an error that says what to pass") {
  TempDir dir;
  std::ostringstream out;
  const std::string missing = dir.Join("no-such-partition");

  auto report = VerifyLog(missing);
  REQUIRE_FALSE(report.ok());
  CHECK(absl::IsNotFound(report.status()));
  CHECK_THAT(std::string(report.status().message()), Contains(missing));
  CHECK_THAT(std::string(report.status().message()),
             Contains("Pass the directory of one partition"));
  CHECK(absl::IsNotFound(DumpLog(missing, {}, out)));

  auto empty = VerifyLog(dir.path());
  REQUIRE_FALSE(empty.ok());
  CHECK(absl::IsFailedPrecondition(empty.status()));
  CHECK_THAT(std::string(empty.status().message()), Contains("holds no segment files"));
}

TEST_CASE("FormatBytes") {
  CHECK(FormatBytes(0) == "0 B");
  CHECK(FormatBytes(1023) == "1023 B");
  CHECK(FormatBytes(1024) == "1.0 KiB");
  CHECK(FormatBytes(1258291) == "1.2 MiB");
  CHECK(FormatBytes(3ull << 30) == "3.0 GiB");
}

TEST_CASE("compare finds replicas identical, and names the first batch that differs") {
  // A replica is a byte-for-byte copy (the records' timestamps included).
  TempDir a, b;
  WriteLog(a.path(), 2000);
  fs::copy(a.path(), b.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  auto same = CompareLogs(a.path(), b.path(), -1);
  REQUIRE(same.ok());
  CHECK_FALSE(same->difference.has_value());
  CHECK(same->compared_below == 2000);
  CHECK(same->batches == 200);
  CHECK(FormatCompareReport(*same) == "identical below offset 2000: 200 batches (log ends 2000 and 2000)");

  // One more batch on a: still identical below 2000, and "a ends too soon" the other way round.
  {
    auto lg = log::Log::Open(Options(a.path()));
    REQUIRE(lg.ok());
    AppendRecords(**lg, 2000, 10);
    REQUIRE((*lg)->Close().ok());
  }
  CHECK_FALSE(CompareLogs(a.path(), b.path(), 2000)->difference.has_value());
  auto short_b = CompareLogs(a.path(), b.path(), 2010);
  REQUIRE(short_b.ok());
  REQUIRE(short_b->difference.has_value());
  CHECK(short_b->difference->find("ends at 2000") != std::string::npos);

  // A different record at the same offsets differs.
  {
    // The first 1000 records as b has them, then a different batch.
    auto lg = log::Log::Open(Options(b.path()));
    REQUIRE(lg.ok());
    REQUIRE((*lg)->TruncateTo(1000).ok());
    record::BatchBuilder builder;
    for (int j = 0; j < kRecordsPerBatch; ++j) {
      record::RecordInput r;
      r.value = "other";
      builder.Add(r);
    }
    auto batch = builder.Build();
    REQUIRE(batch.ok());
    REQUIRE((*lg)->Append(*batch, 3).ok());
    REQUIRE((*lg)->Close().ok());
  }
  auto differ = CompareLogs(a.path(), b.path(), -1);
  REQUIRE(differ.ok());
  REQUIRE(differ->difference.has_value());
  CHECK(differ->difference->find("batch 100 differs") != std::string::npos);
}

}  // namespace
}  // namespace strata::cli
