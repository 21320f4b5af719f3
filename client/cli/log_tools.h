// The offline log tools behind `strata log dump` and `strata log verify`.
//
// Both read a partition directory (the one holding <base>.log, <base>.index and <base>.timeindex
// files, see log/segment.h) without a broker. They open every file read-only and never create,
// change or remove anything, so they are safe on a directory a stopped broker owns or on a copy.
// They are NOT safe on a directory a running broker is writing: the broker may trim a file while
// it is mapped here. They never use log::Log, whose Open recovers (truncates and rewrites) files.
//
// Every function writes its report to a std::ostream and returns errors as values, so tests call
// them directly; client/cli/command_log.cc only parses the command line and maps results to exit
// codes.
//
// Not thread-safe in any interesting sense: each call is independent and shares no state.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "common/status.h"
#include "io/file_system.h"

namespace strata::cli {

// Process exit codes of the log tools, shared by the `strata` commands (command.h) and the tests.
// compare uses kExitCorrupt for "the replicas differ".
inline constexpr int kExitOk = 0;
inline constexpr int kExitCorrupt = 1;  // verify found a problem
inline constexpr int kExitUsage = 2;    // bad arguments, or the directory cannot be read

struct DumpOptions {
  io::FileSystem* fs = nullptr;  // default: io::RealFileSystem()
  bool records = false;          // also print every record of every batch
  int64_t from_offset = 0;       // skip segments and batches that end below this offset
  int64_t max_batches = -1;      // stop after printing this many batches; -1 = no limit
};

// Writes a listing of the partition directory `dir` to `out`: one line per segment, then one per
// batch (and per record with options.records). A bad checksum is shown on the batch's line and the
// dump goes on; a batch header too damaged to find the next batch ends that segment's listing with
// a line naming the file and position. Problems with the data are part of the listing, not errors.
//   NotFound / PermissionDenied / FailedPrecondition  `dir` cannot be read, or holds no segments.
absl::Status DumpLog(const std::string& dir, const DumpOptions& options, std::ostream& out);

// The first problem VerifyLog found.
struct VerifyProblem {
  std::string file;       // path of the damaged file
  uint64_t position = 0;  // byte position inside `file`
  std::string reason;
};

struct VerifyReport {
  int segments = 0;
  int64_t batches = 0;
  int64_t start_offset = 0;  // base offset of the first segment
  int64_t end_offset = 0;    // offset after the last valid batch
  uint64_t data_bytes = 0;   // batch bytes, not counting preallocated space
  int index_files_checked = 0;
  // Segments whose index files the broker would not trust on its next start (it rebuilds them
  // after an unclean shutdown), so stale contents there are not damage and are not checked.
  int segments_with_unchecked_indexes = 0;
  // Offsets between batches that are in no batch: compaction removed them (cleanup_policy=compact).
  int64_t compacted_gaps = 0;
  // Files an interrupted compaction left (<base>.log.cleaned, <base>.log.swap): the broker finishes
  // or removes them when it next opens the partition (docs/recovery.md).
  std::vector<std::string> compaction_leftovers;
  std::optional<VerifyProblem> problem;  // set when the directory is corrupt

  int exit_code() const { return problem ? kExitCorrupt : kExitOk; }
};

// Checks every segment of the partition directory `dir`: each batch's structure, checksum and
// increasing offsets (log::Segment::Scan); that each segment starts where the previous one ended
// and its first batch starts at the offset its file name says; and each .index / .timeindex file
// the broker would trust on its next start. Stops at the first problem, which goes in the report.
//   NotFound / PermissionDenied / FailedPrecondition  `dir` cannot be read, or holds no segments.
absl::StatusOr<VerifyReport> VerifyLog(const std::string& dir, io::FileSystem* fs = nullptr);

// "ok: 3 segments, 1200 batches, offsets [0, 5000), 1.2 MiB" or
// "corrupt: <file> at position <P>: <reason>".
std::string FormatVerifyReport(const VerifyReport& report);

// "512 B", "1.2 KiB", "3.0 MiB", ... for humans.
std::string FormatBytes(uint64_t bytes);

// What CompareLogs found: two replicas of one partition agree when every batch below `below`
// is byte-for-byte the same (offsets, leader epochs, producer fields, records and checksum).
struct CompareReport {
  int64_t compared_below = 0;  // the offset the comparison stopped at
  int64_t batches = 0;         // batches found equal
  int64_t end_a = 0;           // each log's end (the offset after its last batch)
  int64_t end_b = 0;
  std::optional<std::string> difference;  // the first difference, for a human
};

// Compares the batches of two partition directories (replicas of one partition, read offline)
// below `below`, or below the shorter log's end when `below` is negative.
//   NotFound / PermissionDenied / FailedPrecondition  a directory cannot be read
absl::StatusOr<CompareReport> CompareLogs(const std::string& dir_a, const std::string& dir_b,
                                          int64_t below, io::FileSystem* fs = nullptr);
std::string FormatCompareReport(const CompareReport& report);

}  // namespace strata::cli
