// Log::Compact: one compaction pass. What is kept is compaction.h's business; this file reads
// the segments, writes the cleaned ones and swaps them in. Files: docs/format.md ("Compaction's
// files"); crash rules: docs/recovery.md (rules 11 and 12).
//
// The pass takes no log lock while it builds the key map and writes a cleaned segment: appends
// go to the active segment, which compaction never touches, and readers keep reading the old
// segments. Only the swap takes writer_mu_, after checking that retention, truncation or Close
// did not change the group meanwhile. Readers holding an old Segment keep reading it: it keeps a
// mapping of its bytes when its files are deleted (Segment::DeleteFiles).
#include <algorithm>
#include <limits>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "log/log.h"

namespace strata::log {
namespace {

// A cleaned segment is written through a buffer of this size: one write per MiB, not per batch.
constexpr size_t kWriteBufferBytes = 1 << 20;
// Bytes per read while building the key map (reads return whole batches anyway).
constexpr size_t kMapReadBytes = 1 << 20;

// Sequential, buffered writes of a cleaned segment image.
class ImageWriter {
 public:
  explicit ImageWriter(std::unique_ptr<io::File> file) : file_(std::move(file)) {}

  absl::Status Append(std::span<const std::byte> bytes) {
    if (buffer_.size() + bytes.size() > kWriteBufferBytes) STRATA_RETURN_IF_ERROR(Drain());
    if (bytes.size() >= kWriteBufferBytes) {
      STRATA_RETURN_IF_ERROR(file_->WriteAt(written_, bytes));
      written_ += bytes.size();
      return absl::OkStatus();
    }
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    return absl::OkStatus();
  }
  // Writes what is buffered and fsyncs the file.
  absl::Status Finish() {
    STRATA_RETURN_IF_ERROR(Drain());
    return file_->Sync();
  }
  uint64_t size() const { return written_ + buffer_.size(); }

 private:
  absl::Status Drain() {
    if (buffer_.empty()) return absl::OkStatus();
    STRATA_RETURN_IF_ERROR(file_->WriteAt(written_, buffer_));
    written_ += buffer_.size();
    buffer_.clear();
    return absl::OkStatus();
  }

  std::unique_ptr<io::File> file_;
  std::vector<std::byte> buffer_;
  uint64_t written_ = 0;
};

// Calls `fn(header, bytes)` for each batch of `image` (whole batches back to back).
template <typename Fn>
absl::Status ForEachBatch(std::span<const std::byte> image, Fn&& fn) {
  for (size_t pos = 0; pos < image.size();) {
    STRATA_ASSIGN_OR_RETURN(record::BatchHeader h, record::ParseBatchHeader(image.subspan(pos)));
    STRATA_RETURN_IF_ERROR(fn(h, image.subspan(pos, h.size_bytes())));
    pos += h.size_bytes();
  }
  return absl::OkStatus();
}

absl::Status Stopping() { return absl::AbortedError("the log is closing; compaction stopped"); }

}  // namespace

void Log::TEST_SetCompactionHook(absl::AnyInvocable<bool(CompactionStep)> hook) {
  absl::MutexLock lock(&compaction_mu_);
  compaction_hook_ = std::move(hook);
}

bool Log::TEST_StopAt(CompactionStep step) {
  return compaction_hook_ && compaction_hook_(step);
}

absl::StatusOr<CompactionResult> Log::Compact(const CompactionOptions& options) {
  if (options.delete_retention_ms < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "delete_retention_ms ", options.delete_retention_ms, " is negative"));
  }
  if (!compaction_mu_.TryLock()) {
    return absl::AbortedError(
        absl::StrCat("a compaction of log ", options_.dir, " is already running"));
  }
  absl::StatusOr<CompactionResult> result = CompactLocked(options);
  RunFailedWaiters();
  compaction_mu_.Unlock();
  return result;
}

absl::StatusOr<CompactionResult> Log::CompactLocked(const CompactionOptions& options) {
  std::vector<std::shared_ptr<Segment>> segs;
  int64_t truncations = 0;
  int64_t map_end = 0;
  {
    absl::MutexLock lock(&writer_mu_);
    if (closed_) return absl::FailedPreconditionError("log " + options_.dir + " is closed");
    STRATA_RETURN_IF_ERROR(CheckWritable());
    segs = SnapshotSegments();
    truncations = truncations_;
    // Only durable records count as newer copies: dropping a durable record for one that a crash
    // can still take away would lose the key altogether.
    map_end = std::min(durable_offset(), options.newer_offset_limit);
  }

  CompactionResult result;
  result.map_end_offset = map_end;
  KeyMap keys(options.keys_max);
  size_t cleanable = 0;  // segs[0, cleanable) are sealed and wholly in the map
  for (size_t i = 0; i < segs.size() && segs[i]->base_offset() < map_end; ++i) {
    STRATA_ASSIGN_OR_RETURN(std::optional<int64_t> full, AddToKeyMap(*segs[i], map_end, keys));
    if (full) {
      // Stop at a segment boundary: every record of a segment that is cleaned has its key in the
      // map. (Keys already added from segs[i] are real newer copies, so they may stay.)
      result.map_end_offset = *full;
      if (cleanable == 0 && i + 1 < segs.size()) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "compaction of ", options_.dir, ": segment ", segs[i]->log_path(), " alone holds more "
            "than ", options.keys_max, " distinct keys (limits::compaction_keys_max); lower "
            "segment_bytes so that one segment fits"));
      }
      break;
    }
    if (i + 1 < segs.size() && segs[i]->next_offset() <= map_end) cleanable = i + 1;
  }
  result.keys = keys.size();

  std::vector<SegmentSpan> spans;
  for (size_t i = 0; i < cleanable; ++i) {
    spans.push_back({segs[i]->base_offset(), segs[i]->next_offset(), segs[i]->size_bytes()});
  }
  for (auto [first, last] : GroupSegmentsBySize(spans, options_.config.segment_bytes)) {
    std::vector<std::shared_ptr<Segment>> group(segs.begin() + first, segs.begin() + last);
    STRATA_RETURN_IF_ERROR(CleanGroup(group, keys, options, truncations, result));
  }
  return result;
}

absl::StatusOr<std::optional<int64_t>> Log::AddToKeyMap(const Segment& seg, int64_t map_end,
                                                        KeyMap& keys) const {
  for (int64_t offset = seg.base_offset();;) {
    if (stop_compaction_.load(std::memory_order_acquire)) return Stopping();
    STRATA_ASSIGN_OR_RETURN(std::optional<ReadResult> r, seg.Read(offset, kMapReadBytes, map_end));
    if (!r) return std::nullopt;
    std::optional<int64_t> full;
    STRATA_RETURN_IF_ERROR(ForEachBatch(
        r->bytes, [&](const record::BatchHeader& h, std::span<const std::byte> batch) -> absl::Status {
          if (full || GroupCleaner::Untouchable(h)) return absl::OkStatus();
          STRATA_ASSIGN_OR_RETURN(record::BatchReader reader, record::BatchReader::Open(batch));
          for (;;) {
            STRATA_ASSIGN_OR_RETURN(std::optional<record::Record> rec, reader.Next());
            if (!rec) return absl::OkStatus();
            if (rec->key && !keys.Put(*rec->key, rec->offset)) {
              full = rec->offset;
              return absl::OkStatus();
            }
          }
        }));
    if (full) return full;
    offset = r->next_offset;
  }
}

absl::Status Log::CleanGroup(const std::vector<std::shared_ptr<Segment>>& group,
                             const KeyMap& keys, const CompactionOptions& options,
                             int64_t truncations, CompactionResult& result) {
  io::FileSystem& fs = *options_.fs;
  // Whole segments as views of their mappings; the keepalives hold them for this call.
  std::vector<ReadResult> images;
  uint64_t bytes_before = 0;
  for (const auto& seg : group) {
    STRATA_ASSIGN_OR_RETURN(auto r, seg->Read(seg->base_offset(),
                                              std::numeric_limits<size_t>::max(), INT64_MAX));
    if (r) images.push_back(*std::move(r));
    bytes_before += seg->size_bytes();
  }
  auto each_batch = [&](auto&& fn) -> absl::Status {
    for (const ReadResult& image : images) {
      if (stop_compaction_.load(std::memory_order_acquire)) return Stopping();
      STRATA_RETURN_IF_ERROR(ForEachBatch(image.bytes, fn));
    }
    return absl::OkStatus();
  };

  GroupCleaner cleaner(keys, options);
  STRATA_RETURN_IF_ERROR(each_batch([&](const record::BatchHeader& h, std::span<const std::byte>) {
    cleaner.Survey(h);
    return absl::OkStatus();
  }));
  // A dry run first: a group with nothing to remove is not rewritten.
  bool changes = false;
  STRATA_RETURN_IF_ERROR(
      each_batch([&](const record::BatchHeader& h, std::span<const std::byte> batch) -> absl::Status {
        if (changes) return absl::OkStatus();
        STRATA_ASSIGN_OR_RETURN(GroupCleaner::Outcome o, cleaner.Clean(batch, h, /*build=*/false));
        changes = o.action != GroupCleaner::Action::kCopy;
        return absl::OkStatus();
      }));
  if (!changes) return absl::OkStatus();

  const int64_t base = group.front()->base_offset();
  const std::string cleaned_path =
      io::JoinPath(options_.dir, SegmentFileStem(base) + ".log" + kCleanedSuffix);
  // Whatever stops this group before the swap commits leaves the log as it was, minus this file.
  auto discard = absl::MakeCleanup([&] { (void)fs.Remove(cleaned_path); });
  {
    absl::Status st = fs.Remove(cleaned_path);  // left by an earlier pass that failed
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  STRATA_ASSIGN_OR_RETURN(auto file, fs.Open(cleaned_path, io::OpenMode::kCreateNew));
  ImageWriter writer(std::move(file));
  int64_t removed = 0, tombstones = 0;
  STRATA_RETURN_IF_ERROR(
      each_batch([&](const record::BatchHeader& h, std::span<const std::byte> batch) -> absl::Status {
        STRATA_ASSIGN_OR_RETURN(GroupCleaner::Outcome o, cleaner.Clean(batch, h, /*build=*/true));
        removed += o.records_removed;
        tombstones += o.tombstones_removed;
        switch (o.action) {
          case GroupCleaner::Action::kCopy:
            STRATA_RETURN_IF_ERROR(writer.Append(batch));
            break;
          case GroupCleaner::Action::kRebuild:
            STRATA_RETURN_IF_ERROR(writer.Append(o.bytes));
            break;
          case GroupCleaner::Action::kDrop:
            break;
        }
        // Index positions are u32. Cleaning only shrinks a batch, except that recompressing a
        // subset of an LZ4 batch can in theory grow it by a few bytes.
        if (writer.size() > UINT32_MAX) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "cleaned segment ", cleaned_path, " would pass 4 GiB; lower segment_bytes"));
        }
        return absl::OkStatus();
      }));
  if (TEST_StopAt(CompactionStep::kCleanedWritten)) {
    std::move(discard).Cancel();
    return absl::AbortedError("TEST: stopped after writing the cleaned segment");
  }
  STRATA_RETURN_IF_ERROR(writer.Finish());
  if (TEST_StopAt(CompactionStep::kCleanedSynced)) {
    std::move(discard).Cancel();
    return absl::AbortedError("TEST: stopped after syncing the cleaned segment");
  }

  // Check what was written by reading it back the way recovery would; this also builds the
  // cleaned segment's indexes.
  STRATA_ASSIGN_OR_RETURN(auto opened, Segment::OpenScannedAt(Env(), base, cleaned_path));
  auto& [cleaned, report] = opened;
  if (report.problem || report.valid_bytes != writer.size() ||
      report.next_offset != group.back()->next_offset()) {
    return absl::InternalError(absl::StrCat(
        "compaction wrote ", cleaned_path, " but it reads back as ", report.valid_bytes,
        " valid bytes of ", writer.size(), " ending at offset ", report.next_offset,
        " (expected ", group.back()->next_offset(), ")",
        report.problem ? absl::StrCat(": ", report.problem->message()) : std::string()));
  }
  const uint64_t bytes_after = cleaned->size_bytes();
  // If SwapIn fails before its commit point it leaves the .cleaned file for `discard`; after it,
  // the file has become the .swap, and removing the old name does nothing.
  STRATA_RETURN_IF_ERROR(SwapIn(group, std::move(cleaned), truncations));
  result.segments_cleaned += int(group.size());
  result.segments_written += 1;
  result.bytes_before += bytes_before;
  result.bytes_after += bytes_after;
  result.records_removed += removed;
  result.tombstones_removed += tombstones;
  return absl::OkStatus();
}

absl::Status Log::CheckGroupUnchanged(const std::vector<std::shared_ptr<Segment>>& group,
                                      int64_t truncations) const {
  if (closed_) return absl::AbortedError("log " + options_.dir + " was closed during compaction");
  STRATA_RETURN_IF_ERROR(CheckWritable());
  if (truncations_ != truncations) {
    return absl::AbortedError(absl::StrCat(
        "log ", options_.dir, " was truncated during compaction; the pass is abandoned"));
  }
  absl::ReaderMutexLock lock(&segments_mu_);
  auto it = std::find(segments_.begin(), segments_.end(), group.front());
  const bool present = it != segments_.end() &&
                       size_t(segments_.end() - it) > group.size() &&  // the active stays after
                       std::equal(group.begin(), group.end(), it);
  if (!present) {
    return absl::AbortedError(absl::StrCat(
        "segments from ", group.front()->log_path(), " changed during compaction (retention?); "
        "the pass is abandoned"));
  }
  return absl::OkStatus();
}

absl::Status Log::SwapIn(const std::vector<std::shared_ptr<Segment>>& group,
                         std::shared_ptr<Segment> cleaned, int64_t truncations) {
  io::FileSystem& fs = *options_.fs;
  const std::string stem = io::JoinPath(options_.dir, SegmentFileStem(cleaned->base_offset()));
  const std::string cleaned_path = stem + ".log" + kCleanedSuffix;
  const std::string swap_path = stem + ".log" + kSwapSuffix;
  absl::MutexLock lock(&writer_mu_);
  STRATA_RETURN_IF_ERROR(CheckGroupUnchanged(group, truncations));
  STRATA_RETURN_IF_ERROR(ForgetCleanShutdown());

  // The commit point: once <base>.log.swap is durable, recovery completes the swap.
  STRATA_RETURN_IF_ERROR(fs.Rename(cleaned_path, swap_path));
  if (absl::Status st = fs.SyncDir(options_.dir); !st.ok()) {
    // Whether the rename is durable is unknown. Taking it back leaves the log as it was; if that
    // fails too, the log stops taking writes so that nothing changes these segments under a
    // .swap file that recovery would still apply.
    absl::Status undo = fs.Remove(swap_path);
    if (undo.ok()) undo = fs.SyncDir(options_.dir);
    if (undo.ok()) return st;
    Fail(st);
    return CheckWritable();
  }
  if (TEST_StopAt(CompactionStep::kSwapRenamed)) return absl::AbortedError("TEST: at .swap");

  // Committed: from here a failure is a directory that cannot be changed. The log stops taking
  // writes (so nothing touches these offsets) and its next open completes the swap. Readers go
  // on reading the old segments meanwhile: each keeps a mapping of its bytes when its files are
  // deleted, since the cleaned segment takes the first one's name.
  auto failed = [this](const absl::Status& st) {
    Fail(st);
    return CheckWritable();
  };
  for (const auto& old : group) {
    if (absl::Status st = old->DeleteFiles(); !st.ok()) return failed(st);
    if (TEST_StopAt(CompactionStep::kOldSegmentDeleted)) return absl::AbortedError("TEST: delete");
  }
  // The old <base>.log must be gone for good before the new one takes its name.
  if (absl::Status st = fs.SyncDir(options_.dir); !st.ok()) return failed(st);
  const std::string log_path = stem + ".log";
  if (absl::Status st = fs.Rename(swap_path, log_path); !st.ok()) return failed(st);
  if (absl::Status st = fs.SyncDir(options_.dir); !st.ok()) return failed(st);
  if (TEST_StopAt(CompactionStep::kSwapRenamedToLog)) return absl::AbortedError("TEST: renamed");

  // Only now, with its file under the name it opens it by, does the log serve the cleaned
  // segment.
  {
    absl::MutexLock seg_lock(&segments_mu_);
    auto it = std::find(segments_.begin(), segments_.end(), group.front());
    it = segments_.erase(it, it + ptrdiff_t(group.size()));
    segments_.insert(it, cleaned);
  }
  if (TEST_StopAt(CompactionStep::kSwappedInMemory)) return absl::AbortedError("TEST: swapped");

  // The old segments' index files went with them; without these the next open rebuilds the
  // indexes by a scan, so a failure here costs time, not data.
  if (absl::Status st = cleaned->WriteIndexFiles(); !st.ok()) {
    LogEvent(LogLevel::kWarn, absl::StrCat("compaction of ", options_.dir, ": writing the index "
                                           "files of ", log_path, " failed (", st.ToString(),
                                           "); the next open rebuilds them"));
  }
  if (TEST_StopAt(CompactionStep::kIndexFilesWritten)) return absl::AbortedError("TEST: index");
  return absl::OkStatus();
}

}  // namespace strata::log
