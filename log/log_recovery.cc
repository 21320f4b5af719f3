// Log recovery: opening a log directory after a clean shutdown or a crash, and the recovery point
// that decides what recovery trusts. The rules, each with its test, are in docs/recovery.md.
#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "log/log.h"

namespace strata::log {

absl::StatusOr<std::optional<int64_t>> Log::ReadRecoveryPoint(io::FileSystem& fs,
                                                              const std::string& dir) {
  std::string path = io::JoinPath(dir, kRecoveryPointFile);
  STRATA_ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  if (!exists) return std::nullopt;
  STRATA_ASSIGN_OR_RETURN(auto bytes, io::ReadWholeFile(fs, path));
  std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  int64_t offset = 0;
  if (!absl::SimpleAtoi(text, &offset) || offset < 0) {
    // The file is written atomically, so this is damage.
    LogEvent(LogLevel::kWarn, absl::StrCat(path, " is unreadable; recovering without it"));
    return std::nullopt;
  }
  return offset;
}

absl::Status Log::CheckpointRecoveryPoint(int64_t offset, bool may_lower) {
  absl::MutexLock lock(&recovery_point_mu_);
  if (!may_lower && offset <= recovery_point_) return absl::OkStatus();
  std::string text = absl::StrCat(offset, "\n");
  STRATA_RETURN_IF_ERROR(
      io::WriteFileAtomic(*options_.fs, io::JoinPath(options_.dir, kRecoveryPointFile),
                          {reinterpret_cast<const std::byte*>(text.data()), text.size()}));
  recovery_point_ = offset;
  recovery_point_written_ms_ = options_.clock();
  return absl::OkStatus();
}

void Log::CheckpointRecoveryPointOrWarn(int64_t offset) {
  absl::Status st = CheckpointRecoveryPoint(offset);
  const bool failing = !st.ok();
  if (failing && !checkpoint_failing_.exchange(true)) {
    LogEvent(LogLevel::kWarn, absl::StrCat("log ", options_.dir, ": cannot write the recovery "
                                           "point (", st.ToString(), "); recovery after a crash "
                                           "will rescan from the last one written"));
  } else if (!failing && checkpoint_failing_.exchange(false)) {
    LogEvent(LogLevel::kInfo, absl::StrCat("log ", options_.dir, ": recovery point written again"));
  }
}

absl::Status Log::ForgetCleanShutdown() {
  if (!clean_and_unchanged_) return absl::OkStatus();
  // From here on a crash must not look like a clean shutdown.
  STRATA_RETURN_IF_ERROR(options_.fs->Remove(io::JoinPath(options_.dir, kCleanShutdownFile)));
  STRATA_RETURN_IF_ERROR(options_.fs->SyncDir(options_.dir));
  clean_and_unchanged_ = false;
  return absl::OkStatus();
}

absl::Status Log::DeleteSegmentFiles(const std::vector<int64_t>& bases, size_t from) {
  io::FileSystem& fs = *options_.fs;
  for (size_t j = from; j < bases.size(); ++j) {
    for (const char* ext : {".log", ".index", ".timeindex"}) {
      std::string path = io::JoinPath(options_.dir, SegmentFileStem(bases[j]) + ext);
      absl::Status st = fs.Remove(path);
      if (!st.ok() && !absl::IsNotFound(st)) return st;
    }
  }
  // Make the deletions durable before anything else changes on disk.
  return fs.SyncDir(options_.dir);
}

namespace {

// The base offset of "<20 digits><suffix>", or nullopt for any other name.
std::optional<int64_t> BaseOf(const std::string& name, absl::string_view suffix) {
  if (name.size() != 20 + suffix.size() || !absl::EndsWith(name, suffix)) return std::nullopt;
  int64_t base = 0;
  if (!absl::SimpleAtoi(name.substr(0, 20), &base)) return std::nullopt;
  return base;
}

// The directory holding `path`, as SyncDir takes it: "/" for "/x", "." for "x".
std::string ParentDir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> Log::RecoverCompactionFiles(
    const std::vector<std::string>& names) {
  io::FileSystem& fs = *options_.fs;
  const std::string& dir = options_.dir;
  const std::string swap_suffix = absl::StrCat(".log", kSwapSuffix);
  bool removed = false;
  std::vector<int64_t> swaps;
  for (const auto& name : names) {
    if (absl::EndsWith(name, kCleanedSuffix)) {
      // Rule 11: a cleaned segment that was never committed; the segments it was made from are
      // all still there.
      STRATA_RETURN_IF_ERROR(fs.Remove(io::JoinPath(dir, name)));
      removed = true;
    } else if (auto base = BaseOf(name, swap_suffix)) {
      swaps.push_back(*base);
    }
  }
  if (removed) STRATA_RETURN_IF_ERROR(fs.SyncDir(dir));
  std::sort(swaps.begin(), swaps.end());
  for (int64_t base : swaps) {
    // Rule 12: the swap was committed. The file was fsynced before it was renamed, so damage in
    // it is corruption, not a torn write.
    const std::string swap_path = io::JoinPath(dir, SegmentFileStem(base) + swap_suffix);
    int64_t swap_next = 0;
    {
      STRATA_ASSIGN_OR_RETURN(auto opened, Segment::OpenScannedAt(Env(), base, swap_path));
      const ScanReport& report = opened.second;
      if (report.problem) {
        return absl::DataLossError(absl::StrCat(
            "corrupt log: ", report.problem->message(), " (a compacted segment that was fsynced "
            "before it was committed). The partition stays offline; inspect it with `strata log "
            "verify ", dir, "`"));
      }
      swap_next = report.next_offset;
    }
    // It replaces the segments that start in its offset range, whatever of them the interrupted
    // swap had not yet deleted (their index files may outlive their .log).
    for (const auto& name : names) {
      for (const char* ext : {".log", ".index", ".timeindex"}) {
        auto b = BaseOf(name, ext);
        if (!b || *b < base || *b >= swap_next) continue;
        absl::Status st = fs.Remove(io::JoinPath(dir, name));
        if (!st.ok() && !absl::IsNotFound(st)) return st;
      }
    }
    STRATA_RETURN_IF_ERROR(fs.SyncDir(dir));
    STRATA_RETURN_IF_ERROR(
        fs.Rename(swap_path, io::JoinPath(dir, SegmentFileStem(base) + ".log")));
    STRATA_RETURN_IF_ERROR(fs.SyncDir(dir));
    LogEvent(LogLevel::kWarn,
             absl::StrCat("completed an interrupted compaction in ", dir, ": ", swap_path,
                          " replaces the segments in offsets [", base, ", ", swap_next,
                          ")"));
  }
  return swaps;
}

absl::Status Log::Recover() {
  io::FileSystem& fs = *options_.fs;
  const std::string& dir = options_.dir;
  STRATA_RETURN_IF_ERROR(fs.CreateDirs(dir));
  STRATA_ASSIGN_OR_RETURN(auto names, fs.ListDir(dir));
  if (names.empty()) {
    // A new log. CreateDirs syncs the parent of each directory it makes, but an earlier open may
    // have died between a mkdir and that sync, and then CreateDirs finds the directory and syncs
    // nothing: the directory, or one it was made in, would vanish in a power loss with every
    // batch fsynced inside it. So before anything is written here, make the whole path durable.
    for (std::string d = dir; d != "/" && d != ".";) {
      d = ParentDir(d);
      STRATA_RETURN_IF_ERROR(fs.SyncDir(d));
    }
  }
  STRATA_ASSIGN_OR_RETURN(const std::vector<int64_t> swapped, RecoverCompactionFiles(names));
  if (!swapped.empty()) {
    STRATA_ASSIGN_OR_RETURN(names, fs.ListDir(dir));
  }
  std::vector<int64_t> bases;
  for (const auto& name : names) {
    if (absl::EndsWith(name, ".tmp")) {
      STRATA_RETURN_IF_ERROR(fs.Remove(io::JoinPath(dir, name)));  // an interrupted atomic write
      continue;
    }
    if (!absl::EndsWith(name, ".log") || name.size() != 24) continue;
    int64_t base = 0;
    if (!absl::SimpleAtoi(name.substr(0, 20), &base)) continue;
    bases.push_back(base);
  }
  std::sort(bases.begin(), bases.end());

  // Everything below the recovery point was fsynced before the point was written; nothing above
  // it is known to be. After a clean shutdown everything is.
  const std::string marker = io::JoinPath(dir, kCleanShutdownFile);
  STRATA_ASSIGN_OR_RETURN(recovery_.clean_shutdown, fs.Exists(marker));
  int64_t recovery_point = INT64_MAX;
  bool recovery_point_known = true;
  STRATA_ASSIGN_OR_RETURN(const std::optional<int64_t> stored, ReadRecoveryPoint(fs, dir));
  if (!recovery_.clean_shutdown) {
    recovery_point_known = stored.has_value();
    recovery_point = stored.value_or(0);
  }

  SegmentEnv env = Env();
  std::vector<std::shared_ptr<Segment>> segments;
  for (size_t i = 0; i < bases.size(); ++i) {
    const int64_t next_base = i + 1 < bases.size() ? bases[i + 1] : INT64_MAX;
    std::shared_ptr<Segment> seg;
    bool scanned = false;
    // A segment wholly below the recovery point is trusted: its index files are loaded and only
    // the batches after the last index entry are walked.
    // A segment a compaction swap produced has no index files yet (rule 12): scan it.
    const bool swapped_in =
        std::find(swapped.begin(), swapped.end(), bases[i]) != swapped.end();
    if (!swapped_in && (recovery_.clean_shutdown || next_base <= recovery_point)) {
      auto trusted = Segment::OpenTrusted(env, bases[i]);
      if (trusted.ok()) {
        seg = std::move(*trusted);
      } else {
        LogEvent(LogLevel::kWarn, absl::StrCat("segment ", SegmentFileStem(bases[i]), " in ", dir,
                                               ": ", trusted.status().message(),
                                               "; rebuilding its indexes by a full scan"));
      }
    }
    bool torn = false;
    if (seg == nullptr) {
      STRATA_ASSIGN_OR_RETURN(auto opened, Segment::OpenScanned(env, bases[i]));
      auto& [scanned_seg, report] = opened;
      ++recovery_.segments_scanned;
      scanned = true;
      if (report.problem) {
        // Bad bytes where the log was known fsynced are damage: stop rather than lose data.
        // Above the recovery point they are what a crash leaves of unsynced writes (possibly
        // with holes, since pages reach the disk in any order): the log ends there. Only the
        // last segment, or the target of an interrupted truncation (whose base the recovery
        // point was lowered to), can hold unsynced bytes; every other segment was fsynced whole
        // before the next one was created.
        const bool last_on_disk = i + 1 == bases.size();
        const bool may_hold_unsynced =
            last_on_disk || (recovery_point_known && bases[i] >= recovery_point);
        if (report.next_offset < recovery_point || !may_hold_unsynced) {
          return absl::DataLossError(absl::StrCat(
              "corrupt log: ", report.problem->message(), " (in data that had been fsynced: "
              "the recovery point is ", recovery_point_known ? absl::StrCat(recovery_point)
                                                             : std::string("unknown"),
              "). The partition stays offline rather than skip data; inspect it with "
              "`strata log verify ", dir, "`"));
        }
        torn = true;
        recovery_.torn_tail_truncated = true;
        recovery_.torn_tail_file = scanned_seg->log_path();
        recovery_.torn_tail_position = report.valid_bytes;
        recovery_.segments_dropped_after_torn_tail = int(bases.size() - i - 1);
        LogEvent(LogLevel::kWarn,
                 absl::StrCat("unsynced tail damaged by a crash: ", report.problem->message(),
                              "; the log now ends at offset ", report.next_offset, " (position ",
                              report.valid_bytes, "), dropping ",
                              recovery_.segments_dropped_after_torn_tail, " later segment(s)"));
      }
      seg = std::move(scanned_seg);
    }
    if (!segments.empty() && segments.back()->next_offset() != seg->base_offset()) {
      // A truncation cuts a segment and deletes the ones after it; if the crash kept the cut
      // but lost the deletions, those segments start past the new end. That is recognisable:
      // the cut segment lies above the recovery point, which the truncation lowered first.
      const Segment& prev = *segments.back();
      if (!(recovery_point_known && prev.base_offset() >= recovery_point)) {
        return absl::DataLossError(absl::StrCat(
            "corrupt log: ", seg->log_path(), " starts at offset ", seg->base_offset(),
            " but the previous segment ends at offset ", prev.next_offset()));
      }
      LogEvent(LogLevel::kWarn,
               absl::StrCat("segments from ", seg->log_path(), " on follow a truncated segment "
                            "(an interrupted truncation); deleting them"));
      recovery_.segments_dropped_after_torn_tail = int(bases.size() - i);
      seg.reset();
      STRATA_RETURN_IF_ERROR(DeleteSegmentFiles(bases, i));
      break;
    }
    const bool last = torn || i + 1 == bases.size();
    if (scanned && !last) STRATA_RETURN_IF_ERROR(seg->Seal());  // persist its rebuilt indexes
    segments.push_back(std::move(seg));
    if (torn) {
      STRATA_RETURN_IF_ERROR(DeleteSegmentFiles(bases, i + 1));
      break;
    }
  }
  bool created = false;
  if (segments.empty()) {
    STRATA_ASSIGN_OR_RETURN(auto seg, Segment::Create(env, 0));
    segments.push_back(std::move(seg));
    created = true;
  }
  Segment& active = *segments.back();
  // Cuts off anything past the valid data, such as a torn tail.
  if (!active.writable()) STRATA_RETURN_IF_ERROR(active.OpenForAppend());
  if (!recovery_.clean_shutdown) {
    // After kill -9 the recovered bytes may still be only in the page cache, and the cut above
    // is not yet durable: one sync makes both so, so everything below the log end can be
    // reported durable. (After a clean shutdown they are, and the close trimmed the file to its
    // data, so there was nothing to cut.)
    STRATA_RETURN_IF_ERROR(active.Sync());
  }
  // The names recovery relies on must be durable before anything is reported durable: a new
  // segment's, and after a crash whatever a process that died without a power loss left unsynced
  // (a roll's new segment, say). A clean shutdown synced the directory last thing.
  if (created || !recovery_.clean_shutdown) STRATA_RETURN_IF_ERROR(fs.SyncDir(dir));
  if (!recovery_.clean_shutdown && recovery_point_known && active.next_offset() < recovery_point) {
    // Nothing a crash does can remove fsynced data: truncation lowers the recovery point first,
    // and a torn tail starts at or above it.
    return absl::DataLossError(absl::StrCat(
        "corrupt log: ", dir, " ends at offset ", active.next_offset(), " but data up to offset ",
        recovery_point, " had been fsynced (lost writes or a missing segment file). The "
        "partition stays offline; inspect it with `strata log verify ", dir, "`"));
  }
  {
    absl::MutexLock lock(&recovery_point_mu_);
    recovery_point_ = stored.value_or(0);
    // The first periodic checkpoint comes an interval after the open, not at the first flush:
    // a broker opening (or creating) thousands of partitions must not write a file for each at
    // once.
    recovery_point_written_ms_ = options_.clock();
  }
  // Rule 10, after a crash. Only narrows later rescans: a log that is new (nothing to rescan) or
  // ends where its stored point already is needs no write, and a failure (a full disk) leaves the
  // older point. After a clean shutdown nothing is written (rule 1).
  if (!recovery_.clean_shutdown && active.next_offset() > stored.value_or(0)) {
    CheckpointRecoveryPointOrWarn(active.next_offset());
  }
  log_start_.store(segments.front()->base_offset());
  log_end_.store(active.next_offset());
  {
    absl::MutexLock lock(&waiters_mu_);
    durable_ = active.next_offset();
  }
  {
    absl::MutexLock lock(&segments_mu_);
    segments_ = std::move(segments);
  }
  absl::MutexLock lock(&writer_mu_);
  if (!active.empty()) {
    // A recovered segment's age counts from its first batch's timestamp (capped at now).
    active_since_ms_ = std::min(options_.clock(), active.first_batch_timestamp());
  }
  // After a clean shutdown the marker stays until the log's files first change
  // (ForgetCleanShutdown): a crash before that leaves them exactly as the shutdown did, which is
  // what the marker vouches for. A broker opening thousands of logs then writes nothing for the
  // ones that stay idle.
  clean_and_unchanged_ = recovery_.clean_shutdown;
  closed_ = false;
  return absl::OkStatus();
}

}  // namespace strata::log
