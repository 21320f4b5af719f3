#include "client/cli/log_tools.h"

#include <algorithm>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/limits.h"
#include "record/batch.h"
#include "log/index.h"
#include "log/log.h"
#include "log/segment.h"

namespace strata::cli {
namespace {

constexpr std::string_view kWhatToPass =
    "Pass the directory of one partition: the one holding segment files named like "
    "00000000000000000000.log.";

// --- Reading the directory, read-only ---------------------------------------------------------

struct SegmentFile {
  int64_t base_offset = 0;
  std::string name;  // "00000000000000000042.log"
  std::string path;
  std::string index_path;
  std::string time_index_path;
};

// The segments of `dir` in offset order, recognised exactly as log::Log's recovery does:
// a 20-digit base offset followed by ".log". Other files are ignored.
absl::StatusOr<std::vector<SegmentFile>> ListSegments(io::FileSystem& fs, const std::string& dir) {
  auto names = fs.ListDir(dir);
  if (!names.ok()) {
    return absl::Status(names.status().code(),
                        absl::StrCat("cannot read partition directory ", dir, " (",
                                     names.status().message(), "). ", std::string(kWhatToPass)));
  }
  std::vector<SegmentFile> segments;
  for (const std::string& name : *names) {
    if (!absl::EndsWith(name, ".log") || name.size() != 24) continue;
    int64_t base = 0;
    if (!absl::SimpleAtoi(absl::string_view(name).substr(0, 20), &base) || base < 0) continue;
    std::string stem = log::SegmentFileStem(base);
    segments.push_back({base, name, io::JoinPath(dir, name), io::JoinPath(dir, stem + ".index"),
                        io::JoinPath(dir, stem + ".timeindex")});
  }
  if (segments.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " holds no segment files. ", std::string(kWhatToPass)));
  }
  std::sort(segments.begin(), segments.end(), [](const SegmentFile& a, const SegmentFile& b) {
    return a.base_offset < b.base_offset;
  });
  return segments;
}

// A whole file mapped read-only. The mapping outlives the File that made it (io/file_system.h).
struct MappedFile {
  std::shared_ptr<io::Mapping> mapping;
  std::span<const std::byte> bytes;
};

absl::StatusOr<MappedFile> MapReadOnly(io::FileSystem& fs, const std::string& path) {
  STRATA_ASSIGN_OR_RETURN(auto file, fs.Open(path, io::OpenMode::kReadOnly));
  STRATA_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  STRATA_ASSIGN_OR_RETURN(auto mapping, file->Map(size, /*writable=*/false));
  std::span<const std::byte> bytes(mapping->data(), mapping->size());
  return MappedFile{std::move(mapping), bytes};
}

// Index files the broker would trust on its next start (log.cc, Recover): all of them after a
// clean shutdown, otherwise those of segments below the recovery point. The broker ignores and
// rebuilds the others, so stale contents there are not damage. Returns the offset below which
// segments' index files are trusted.
absl::StatusOr<int64_t> TrustedIndexesBelow(io::FileSystem& fs, const std::string& dir) {
  STRATA_ASSIGN_OR_RETURN(bool clean, fs.Exists(io::JoinPath(dir, log::Log::kCleanShutdownFile)));
  if (clean) return INT64_MAX;
  STRATA_ASSIGN_OR_RETURN(auto stored, log::Log::ReadRecoveryPoint(fs, dir));
  return stored.value_or(0);
}

// The entries of a decoded index, read back through its public lookups. Relative offsets strictly
// increase (Decode checks), so looking up "one below the entry just read" yields the one before.
std::vector<log::OffsetIndexEntry> Entries(const log::OffsetIndex& index) {
  std::vector<log::OffsetIndexEntry> out(index.size());
  if (out.empty()) return out;
  out.back() = index.Last();
  for (size_t i = out.size() - 1; i > 0; --i) out[i - 1] = index.Lookup(out[i].relative_offset - 1);
  return out;
}

// Timestamps strictly increase, so "last entry before the one just read" walks back one at a time.
// LastBefore cannot return an entry whose timestamp is INT64_MAX; such a last entry is left out.
std::vector<log::TimeIndexEntry> Entries(const log::TimeIndex& index) {
  std::vector<log::TimeIndexEntry> out;
  for (auto e = index.LastBefore(INT64_MAX); e; e = index.LastBefore(e->timestamp_ms)) {
    out.push_back(*e);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// When a whole index file fails to decode, finds the entry at fault: the decoders check entries in
// order, so a prefix of whole entries fails exactly when it holds the first bad entry. Returns the
// byte position of that entry and its error.
template <typename Decode>
std::pair<uint64_t, std::string> LocateDecodeFailure(std::span<const std::byte> bytes,
                                                     size_t entry_bytes, const Decode& decode,
                                                     const absl::Status& whole) {
  const size_t n = bytes.size() / entry_bytes;
  size_t lo = 1, hi = n + 1;  // the smallest failing prefix length in entries; n + 1 = none
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (decode(bytes.first(mid * entry_bytes)).ok())
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo <= n) {
    auto st = decode(bytes.first(lo * entry_bytes)).status();
    return {(lo - 1) * entry_bytes, std::string(st.message())};
  }
  return {n * entry_bytes, std::string(whole.message())};  // a partial entry at the end
}

// --- Verify -----------------------------------------------------------------------------------

// Checks a segment's offset index against the batches of its .log as a scan visits them, in one
// pass: every entry must point at the start of a batch whose base offset is base + relative_offset.
class OffsetIndexCheck {
 public:
  OffsetIndexCheck(std::string path, int64_t base_offset, std::vector<log::OffsetIndexEntry> e)
      : path_(std::move(path)), base_offset_(base_offset), entries_(std::move(e)) {}

  void OnBatch(const record::BatchHeader& h, uint64_t position) {
    for (; !problem_ && next_ < entries_.size(); ++next_) {
      const log::OffsetIndexEntry& e = entries_[next_];
      if (e.position > position) return;
      if (e.position < position) {
        Fail(absl::StrCat("does not point at a batch boundary (the batch before position ",
                          position, " starts at position ", previous_position_, ")"));
      } else if (h.base_offset != base_offset_ + e.relative_offset) {
        Fail(absl::StrCat("says offset ", base_offset_ + e.relative_offset,
                          " but the batch there starts at offset ", h.base_offset));
      }
    }
    previous_position_ = position;
  }

  // `data_bytes`: where the valid batches end.
  void Finish(uint64_t data_bytes) {
    if (!problem_ && next_ < entries_.size()) {
      Fail(absl::StrCat("points past the last batch, which ends at position ", data_bytes));
    }
  }

  const std::optional<VerifyProblem>& problem() const { return problem_; }

 private:
  void Fail(const std::string& what) {
    const log::OffsetIndexEntry& e = entries_[next_];
    problem_ =
        VerifyProblem{path_, next_ * log::kOffsetIndexEntryBytes,
                      absl::StrCat("offset index entry ", next_, " (relative offset ",
                                   e.relative_offset, ", position ", e.position, ") ", what)};
  }

  std::string path_;
  int64_t base_offset_;
  std::vector<log::OffsetIndexEntry> entries_;
  size_t next_ = 0;
  uint64_t previous_position_ = 0;
  std::optional<VerifyProblem> problem_;
};

// Checks a segment's time index against its batches in one pass. An entry {T, r} promises that
// every record at or below base + r has a timestamp <= T; batch max timestamps bound the records.
class TimeIndexCheck {
 public:
  TimeIndexCheck(std::string path, int64_t base_offset, std::vector<log::TimeIndexEntry> e)
      : path_(std::move(path)), base_offset_(base_offset), entries_(std::move(e)) {}

  void OnBatch(const record::BatchHeader& h) {
    const int64_t max_before = max_timestamp_;
    max_timestamp_ = std::max(max_timestamp_, h.max_timestamp);
    for (; !problem_ && next_ < entries_.size(); ++next_) {
      const log::TimeIndexEntry& e = entries_[next_];
      const int64_t offset = base_offset_ + e.relative_offset;
      if (offset > h.last_offset()) return;
      // An entry inside a batch can only be judged against the batches before it.
      const int64_t bound = offset == h.last_offset() ? max_timestamp_ : max_before;
      if (bound > e.timestamp_ms) {
        Fail(absl::StrCat("but a batch at or below that offset has max timestamp ", bound));
      }
    }
  }

  void Finish(int64_t next_offset) {
    if (!problem_ && next_ < entries_.size()) {
      Fail(absl::StrCat("but the segment's last offset is ", next_offset - 1));
    }
  }

  const std::optional<VerifyProblem>& problem() const { return problem_; }

 private:
  void Fail(const std::string& what) {
    const log::TimeIndexEntry& e = entries_[next_];
    problem_ = VerifyProblem{path_, next_ * log::kTimeIndexEntryBytes,
                             absl::StrCat("time index entry ", next_, " says records up to offset ",
                                          base_offset_ + e.relative_offset,
                                          " have timestamps <= ", e.timestamp_ms, ", ", what)};
  }

  std::string path_;
  int64_t base_offset_;
  std::vector<log::TimeIndexEntry> entries_;
  size_t next_ = 0;
  int64_t max_timestamp_ = INT64_MIN;
  std::optional<VerifyProblem> problem_;
};

struct IndexFiles {
  std::optional<OffsetIndexCheck> offset;
  std::optional<TimeIndexCheck> time;
  std::optional<VerifyProblem> decode_problem;
  int files = 0;
};

// Reads and decodes a segment's index files that exist. `log_bytes` bounds the positions.
absl::StatusOr<IndexFiles> LoadIndexes(io::FileSystem& fs, const SegmentFile& seg,
                                       uint64_t log_bytes) {
  IndexFiles out;
  STRATA_ASSIGN_OR_RETURN(bool has_index, fs.Exists(seg.index_path));
  if (has_index) {
    ++out.files;
    STRATA_ASSIGN_OR_RETURN(auto bytes, io::ReadWholeFile(fs, seg.index_path));
    auto decode = [&](std::span<const std::byte> b) {
      return log::OffsetIndex::Decode(b, 0, log_bytes);
    };
    auto index = decode(bytes);
    if (!index.ok()) {
      auto [pos, why] =
          LocateDecodeFailure(bytes, log::kOffsetIndexEntryBytes, decode, index.status());
      out.decode_problem = VerifyProblem{seg.index_path, pos, why};
      return out;
    }
    out.offset.emplace(seg.index_path, seg.base_offset, Entries(**index));
  }
  STRATA_ASSIGN_OR_RETURN(bool has_time_index, fs.Exists(seg.time_index_path));
  if (has_time_index) {
    ++out.files;
    STRATA_ASSIGN_OR_RETURN(auto bytes, io::ReadWholeFile(fs, seg.time_index_path));
    auto decode = [](std::span<const std::byte> b) { return log::TimeIndex::Decode(b, 0); };
    auto index = decode(bytes);
    if (!index.ok()) {
      auto [pos, why] =
          LocateDecodeFailure(bytes, log::kTimeIndexEntryBytes, decode, index.status());
      out.decode_problem = VerifyProblem{seg.time_index_path, pos, why};
      return out;
    }
    out.time.emplace(seg.time_index_path, seg.base_offset, Entries(**index));
  }
  return out;
}

struct SegmentResult {
  int64_t next_offset = 0;
  int64_t batches = 0;
  uint64_t data_bytes = 0;
  int index_files_checked = 0;
  bool index_files_skipped = false;
  int64_t compacted_gaps = 0;
  std::optional<VerifyProblem> problem;
};

// Verifies one segment. `expected_base` is where the previous segment ended (nullopt for the
// first); damage at or above `recovery_point` may be unsynced data a crash tore.
absl::StatusOr<SegmentResult> VerifySegment(io::FileSystem& fs, const SegmentFile& seg,
                                            std::optional<int64_t> expected_base,
                                            int64_t recovery_point, bool check_indexes) {
  SegmentResult result;
  result.next_offset = seg.base_offset;
  if (expected_base && *expected_base != seg.base_offset) {
    result.problem =
        VerifyProblem{seg.path, 0,
                      absl::StrCat("the segment starts at offset ", seg.base_offset,
                                   " (its file name) but the previous segment ends before offset ",
                                   *expected_base)};
    return result;
  }
  STRATA_ASSIGN_OR_RETURN(MappedFile image, MapReadOnly(fs, seg.path));
  IndexFiles indexes;
  if (check_indexes) {
    STRATA_ASSIGN_OR_RETURN(indexes, LoadIndexes(fs, seg, image.bytes.size()));
  } else {
    STRATA_ASSIGN_OR_RETURN(bool a, fs.Exists(seg.index_path));
    STRATA_ASSIGN_OR_RETURN(bool b, fs.Exists(seg.time_index_path));
    result.index_files_skipped = a || b;
  }

  // Scan checks structure, checksums and that offsets never go back. The visitor checks that no
  // batch starts before the segment's base offset or overlaps the previous one; a gap (also before
  // a segment's first batch) is what compaction leaves when it drops whole batches, so it is
  // counted, not refused.
  std::optional<VerifyProblem> gap;
  int64_t expected_offset = seg.base_offset;
  log::ScanReport scan = log::Segment::Scan(
      image.bytes, seg.base_offset, [&](const record::BatchHeader& h, uint64_t position) {
        if (!gap && h.base_offset < expected_offset) {
          gap =
              VerifyProblem{seg.path, position,
                            absl::StrCat("the batch starts at offset ", h.base_offset,
                                         " but offset ", expected_offset, " or later was expected (",
                                         position == 0 ? "the file name's base offset"
                                                       : "the previous batch ended just before it",
                                         ")")};
        } else if (h.base_offset > expected_offset) {
          ++result.compacted_gaps;
        }
        expected_offset = h.last_offset() + 1;
        if (indexes.offset) indexes.offset->OnBatch(h, position);
        if (indexes.time) indexes.time->OnBatch(h);
      });
  result.next_offset = scan.next_offset;
  result.batches = scan.batches;
  result.data_bytes = scan.valid_bytes;
  result.index_files_checked = indexes.files;

  if (gap) {
    result.problem = std::move(gap);
  } else if (scan.problem) {
    // Scan's message starts "at position P: "; the report carries the position on its own.
    std::string reason(scan.problem->message());
    const std::string prefix = absl::StrCat("at position ", scan.valid_bytes, ": ");
    if (absl::StartsWith(reason, prefix)) reason = reason.substr(prefix.size());
    if (scan.next_offset >= recovery_point) {
      absl::StrAppend(&reason,
                      " (above the recovery point ", recovery_point,
                      ", so this may be unsynced data a crash damaged; the broker cuts the log"
                      " here when it starts)");
    }
    result.problem = VerifyProblem{seg.path, scan.valid_bytes, std::move(reason)};
  } else if (indexes.decode_problem) {
    result.problem = std::move(indexes.decode_problem);
  } else {
    if (indexes.offset) indexes.offset->Finish(scan.valid_bytes);
    if (indexes.time) indexes.time->Finish(scan.next_offset);
    if (indexes.offset && indexes.offset->problem()) {
      result.problem = indexes.offset->problem();
    } else if (indexes.time && indexes.time->problem()) {
      result.problem = indexes.time->problem();
    }
  }
  return result;
}

// --- Dump -------------------------------------------------------------------------------------

bool IsPrintable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// A key, value or header for a human: "text" when printable ASCII, otherwise hex:..., and elided
// past limits::dump_value_bytes_max.
std::string Show(const std::optional<std::string_view>& v) {
  if (!v) return "null";
  std::string_view head = v->substr(0, limits::dump_value_bytes_max);
  std::string out;
  if (IsPrintable(head)) {
    out = "\"";
    for (char c : head) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  } else {
    out = "hex:" + absl::BytesToHexString(absl::string_view(head.data(), head.size()));
  }
  if (head.size() < v->size()) absl::StrAppend(&out, "...(", v->size(), " bytes)");
  return out;
}

bool AllZero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

// Where a segment's batches end, found by walking headers without checksums.
struct SegmentShape {
  uint64_t data_bytes = 0;  // end of the last structurally readable batch
  int64_t next_offset = 0;
  std::optional<absl::Status> stop;  // a header that cannot be read (not zeros)
};

SegmentShape WalkHeaders(std::span<const std::byte> image, int64_t base_offset) {
  SegmentShape shape;
  shape.next_offset = base_offset;
  while (shape.data_bytes < image.size()) {
    auto rest = image.subspan(shape.data_bytes);
    auto h = record::ParseBatchHeader(rest);
    if (!h.ok()) {
      if (!AllZero(rest)) shape.stop = h.status();
      break;
    }
    shape.data_bytes += h->size_bytes();
    shape.next_offset = std::max(shape.next_offset, h->last_offset() + 1);
  }
  return shape;
}

// "index_entries=15", or a note when the file is missing or invalid.
template <typename Decode>
absl::StatusOr<std::string> IndexSummary(io::FileSystem& fs, const std::string& path,
                                         std::string_view label, const Decode& decode) {
  STRATA_ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  if (!exists) return absl::StrCat(" ", std::string(label), "=missing");
  STRATA_ASSIGN_OR_RETURN(auto bytes, io::ReadWholeFile(fs, path));
  auto index = decode(bytes);
  if (!index.ok()) {
    return absl::StrCat(" ", std::string(label), "=invalid(", index.status().message(), ")");
  }
  return absl::StrCat(" ", std::string(label), "=", (*index)->size());
}

void DumpRecords(std::span<const std::byte> batch, int64_t from_offset, std::ostream& out) {
  auto reader = record::BatchReader::Open(batch);
  if (!reader.ok()) {
    out << "    records not shown: " << reader.status().message() << "\n";
    return;
  }
  while (true) {
    auto record = reader->Next();
    if (!record.ok()) {
      out << "    record error: " << record.status().message() << "\n";
      return;
    }
    if (!*record) return;
    const record::Record& r = **record;
    if (r.offset < from_offset) continue;
    out << "    record offset=" << r.offset << " timestamp=" << r.timestamp_ms
        << " key=" << Show(r.key) << " value=" << Show(r.value) << " headers=[";
    for (size_t i = 0; i < r.headers.size(); ++i) {
      out << (i ? ", " : "") << Show(r.headers[i].key) << "=" << Show(r.headers[i].value);
    }
    out << "]\n";
  }
}

void DumpBatch(std::span<const std::byte> rest, const record::BatchHeader& h, uint64_t position,
               const DumpOptions& options, std::ostream& out) {
  auto verified = record::VerifyBatch(rest);
  out << "  batch position=" << position << " base_offset=" << h.base_offset
      << " last_offset=" << h.last_offset() << " leader_epoch=" << h.leader_epoch
      << " records=" << h.record_count << " first_timestamp=" << h.first_timestamp
      << " max_timestamp=" << h.max_timestamp << " size_bytes=" << h.size_bytes()
      << " compression=" << record::CompressionName(h.compression())
      << " producer_id=" << h.producer_id << " producer_epoch=" << h.producer_epoch
      << " base_sequence=" << h.base_sequence << " checksum="
      << (verified.ok() ? std::string("ok") : absl::StrCat("BAD: ", verified.status().message()))
      << "\n";
  if (options.records) DumpRecords(rest.first(h.size_bytes()), options.from_offset, out);
}

}  // namespace

// --- Public -----------------------------------------------------------------------------------

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(bytes) / 1024;
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", v, kUnits[unit]);
}

absl::StatusOr<VerifyReport> VerifyLog(const std::string& dir, io::FileSystem* fs_or_null) {
  io::FileSystem& fs = fs_or_null != nullptr ? *fs_or_null : io::RealFileSystem();
  STRATA_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(fs, dir));
  STRATA_ASSIGN_OR_RETURN(int64_t trusted_below, TrustedIndexesBelow(fs, dir));
  VerifyReport report;
  if (auto names = fs.ListDir(dir); names.ok()) {
    for (const std::string& name : *names) {
      if (absl::EndsWith(name, ".cleaned") || absl::EndsWith(name, ".swap")) {
        report.compaction_leftovers.push_back(name);
      }
    }
    std::sort(report.compaction_leftovers.begin(), report.compaction_leftovers.end());
  }
  report.start_offset = segments.front().base_offset;
  report.end_offset = report.start_offset;
  std::optional<int64_t> expected_base;
  for (size_t i = 0; i < segments.size(); ++i) {
    const SegmentFile& seg = segments[i];
    // As in Log::Recover: a segment's index files are trusted when it lies wholly below the
    // recovery point.
    const int64_t next_base =
        i + 1 < segments.size() ? segments[i + 1].base_offset : INT64_MAX;
    STRATA_ASSIGN_OR_RETURN(SegmentResult r, VerifySegment(fs, seg, expected_base, trusted_below,
                                                           next_base <= trusted_below));
    ++report.segments;
    report.batches += r.batches;
    report.data_bytes += r.data_bytes;
    report.index_files_checked += r.index_files_checked;
    report.segments_with_unchecked_indexes += r.index_files_skipped ? 1 : 0;
    report.compacted_gaps += r.compacted_gaps;
    report.end_offset = r.next_offset;
    if (r.problem) {
      report.problem = std::move(r.problem);
      return report;
    }
    expected_base = r.next_offset;
  }
  return report;
}

std::string FormatVerifyReport(const VerifyReport& report) {
  if (report.problem) {
    return absl::StrCat("corrupt: ", report.problem->file, " at position ",
                        report.problem->position, ": ", report.problem->reason);
  }
  std::string out = absl::StrCat(
      "ok: ", report.segments, report.segments == 1 ? " segment, " : " segments, ", report.batches,
      report.batches == 1 ? " batch" : " batches", ", offsets [", report.start_offset, ", ",
      report.end_offset, "), ", FormatBytes(report.data_bytes));
  if (report.compacted_gaps > 0) {
    absl::StrAppend(&out, ", ", report.compacted_gaps,
                    report.compacted_gaps == 1 ? " gap" : " gaps", " left by compaction");
  }
  if (report.segments_with_unchecked_indexes > 0) {
    absl::StrAppend(&out, " (index files of ", report.segments_with_unchecked_indexes,
                    report.segments_with_unchecked_indexes == 1 ? " segment" : " segments",
                    " not checked: after an unclean shutdown the broker rebuilds them)");
  }
  if (!report.compaction_leftovers.empty()) {
    absl::StrAppend(&out, " (an interrupted compaction left ",
                    absl::StrJoin(report.compaction_leftovers, ", "),
                    ": the broker finishes or removes it when it next opens the partition)");
  }
  return out;
}

absl::Status DumpLog(const std::string& dir, const DumpOptions& options, std::ostream& out) {
  io::FileSystem& fs = options.fs != nullptr ? *options.fs : io::RealFileSystem();
  STRATA_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(fs, dir));
  int64_t printed = 0;
  int64_t end_offset = segments.front().base_offset;
  for (const SegmentFile& seg : segments) {
    STRATA_ASSIGN_OR_RETURN(MappedFile image, MapReadOnly(fs, seg.path));
    const SegmentShape shape = WalkHeaders(image.bytes, seg.base_offset);
    end_offset = shape.next_offset;
    // Leave out segments that hold only offsets below --from-offset.
    if (seg.base_offset < options.from_offset && shape.next_offset <= options.from_offset &&
        !shape.stop) {
      continue;
    }

    const uint64_t log_bytes = image.bytes.size();
    STRATA_ASSIGN_OR_RETURN(std::string index,
                            IndexSummary(fs, seg.index_path, "index_entries", [&](auto b) {
                              return log::OffsetIndex::Decode(b, 0, log_bytes);
                            }));
    STRATA_ASSIGN_OR_RETURN(std::string time_index,
                            IndexSummary(fs, seg.time_index_path, "timeindex_entries",
                                         [](auto b) { return log::TimeIndex::Decode(b, 0); }));
    out << "segment " << seg.name << " base_offset=" << seg.base_offset
        << " next_offset=" << shape.next_offset << " size_bytes=" << log_bytes
        << " data_bytes=" << shape.data_bytes << index << time_index << "\n";

    uint64_t pos = 0;
    while (pos < shape.data_bytes) {
      auto rest = image.bytes.subspan(pos);
      auto h = record::ParseBatchHeader(rest);  // cannot fail: WalkHeaders read it
      if (!h.ok()) break;
      if (h->last_offset() >= options.from_offset) {
        if (options.max_batches >= 0 && printed >= options.max_batches) {
          out << "stopped after " << printed << " batches (--max-batches)\n";
          return absl::OkStatus();
        }
        DumpBatch(rest, *h, pos, options, out);
        ++printed;
      }
      pos += h->size_bytes();
    }
    if (shape.stop) {
      out << "  stopped: " << seg.path << " at position " << shape.data_bytes
          << ": unreadable batch header (" << shape.stop->message()
          << "); the rest of this segment cannot be listed\n";
    } else if (shape.data_bytes < log_bytes) {
      out << "  end of data at position " << shape.data_bytes << ": "
          << log_bytes - shape.data_bytes << " bytes of preallocated zeros follow\n";
    }
  }
  if (printed == 0 && options.from_offset >= end_offset && options.from_offset > 0) {
    out << "no batch holds offset " << options.from_offset
        << " or later: the log ends before offset " << end_offset << "\n";
  }
  return absl::OkStatus();
}

namespace {

// Every batch of a partition directory, in offset order, as views into mapped segment files.
struct BatchList {
  std::vector<MappedFile> files;
  std::vector<std::pair<record::BatchHeader, std::span<const std::byte>>> batches;
  int64_t end = 0;
};

absl::StatusOr<BatchList> ReadBatches(io::FileSystem& fs, const std::string& dir) {
  BatchList out;
  STRATA_ASSIGN_OR_RETURN(auto segments, ListSegments(fs, dir));
  for (const SegmentFile& seg : segments) {
    STRATA_ASSIGN_OR_RETURN(MappedFile file, MapReadOnly(fs, seg.path));
    std::span<const std::byte> rest = file.bytes;
    while (!rest.empty()) {
      auto h = record::ParseBatchHeader(rest);
      if (!h.ok() || h->size_bytes() > rest.size()) break;  // preallocated zeros, or a torn tail
      out.batches.emplace_back(*h, rest.first(h->size_bytes()));
      out.end = std::max(out.end, h->last_offset() + 1);
      rest = rest.subspan(h->size_bytes());
    }
    out.files.push_back(std::move(file));
  }
  return out;
}

}  // namespace

absl::StatusOr<CompareReport> CompareLogs(const std::string& dir_a, const std::string& dir_b,
                                          int64_t below, io::FileSystem* fs) {
  io::FileSystem& files = fs != nullptr ? *fs : io::RealFileSystem();
  STRATA_ASSIGN_OR_RETURN(BatchList a, ReadBatches(files, dir_a));
  STRATA_ASSIGN_OR_RETURN(BatchList b, ReadBatches(files, dir_b));
  CompareReport report;
  report.end_a = a.end;
  report.end_b = b.end;
  report.compared_below = below >= 0 ? below : std::min(a.end, b.end);
  size_t i = 0;
  for (; i < a.batches.size() && i < b.batches.size(); ++i) {
    const auto& [ha, bytes_a] = a.batches[i];
    const auto& [hb, bytes_b] = b.batches[i];
    if (ha.base_offset >= report.compared_below && hb.base_offset >= report.compared_below) break;
    if (ha.base_offset != hb.base_offset || ha.leader_epoch != hb.leader_epoch ||
        !std::equal(bytes_a.begin(), bytes_a.end(), bytes_b.begin(), bytes_b.end())) {
      report.difference = absl::StrCat(
          "batch ", i, " differs: ", dir_a, " has offsets [", ha.base_offset, ", ",
          ha.last_offset(), "] epoch ", ha.leader_epoch, " (", bytes_a.size(), " bytes), ", dir_b,
          " has [", hb.base_offset, ", ", hb.last_offset(), "] epoch ", hb.leader_epoch, " (",
          bytes_b.size(), " bytes)");
      return report;
    }
    report.batches++;
  }
  // One log ran out below the offset asked for.
  auto covered = [&](const BatchList& l) { return l.end >= report.compared_below; };
  if (!covered(a) || !covered(b)) {
    report.difference = absl::StrCat("offset ", report.compared_below, " was asked for, but ",
                                     covered(a) ? dir_b : dir_a, " ends at ",
                                     covered(a) ? b.end : a.end);
  }
  return report;
}

std::string FormatCompareReport(const CompareReport& report) {
  if (report.difference) return absl::StrCat("differ: ", *report.difference);
  return absl::StrCat("identical below offset ", report.compared_below, ": ", report.batches,
                      " batches (log ends ", report.end_a, " and ", report.end_b, ")");
}

}  // namespace strata::cli
