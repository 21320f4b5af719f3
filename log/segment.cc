#include "log/segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"

namespace strata::log {
namespace {

constexpr size_t kZeroChunkBytes = 64 * 1024;
// How far past the last valid batch a scan looks for non-zero bytes before calling the rest
// preallocated space. Covers the page-sized holes that out-of-order writeback leaves in an
// unsynced tail.
constexpr size_t kZeroProbeBytes = 1 << 20;
// AppendPath::kMapping: ahead of the write position, the active mapping is prefaulted in chunks of
// this size, asked for while the writer is still this far (kPrefaultLeadBytes) from the end of the
// window, so that appends do not take a page fault per 4 KiB (see docs/performance.md).
constexpr uint64_t kPrefaultChunkBytes = 4ull << 20;
constexpr uint64_t kPrefaultLeadBytes = 8ull << 20;

bool AllZero(std::span<const std::byte> bytes) {
  // Word-at-a-time; this runs once per recovery over a preallocated tail.
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    if (w != 0) return false;
  }
  for (; i < bytes.size(); ++i) {
    if (bytes[i] != std::byte{0}) return false;
  }
  return true;
}

size_t IndexCapacity(uint64_t capacity_bytes, uint32_t interval) {
  uint64_t by_interval = capacity_bytes / std::max<uint32_t>(interval, 1);
  uint64_t by_batch = capacity_bytes / record::batch_format::kHeaderBytes;
  return size_t(std::min(by_interval, by_batch)) + 2;
}

}  // namespace

std::string SegmentFileStem(int64_t base_offset) {
  return absl::StrFormat("%020d", base_offset);
}

Segment::Segment(const SegmentEnv& env, int64_t base_offset)
    : env_(env),
      base_offset_(base_offset),
      log_path_(io::JoinPath(env.dir, SegmentFileStem(base_offset) + ".log")),
      index_path_(io::JoinPath(env.dir, SegmentFileStem(base_offset) + ".index")),
      time_index_path_(io::JoinPath(env.dir, SegmentFileStem(base_offset) + ".timeindex")),
      next_offset_(base_offset) {}

Segment::~Segment() {
  env_.map_cache->Erase(this);
  env_.file_cache->Erase(this);
}

void Segment::ResetIndexes(uint64_t capacity_bytes) {
  size_t cap = IndexCapacity(capacity_bytes, env_.index_interval_bytes);
  offset_index_ = std::make_unique<OffsetIndex>(cap);
  time_index_ = std::make_unique<TimeIndex>(cap);
  bytes_since_index_entry_ = 0;
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::Create(const SegmentEnv& env,
                                                         int64_t base_offset) {
  std::unique_ptr<Segment> seg(new Segment(env, base_offset));
  STRATA_ASSIGN_OR_RETURN(auto created, env.fs->Open(seg->log_path_, io::OpenMode::kCreateNew));
  std::shared_ptr<io::File> file(std::move(created));
  // Into the cache: the first appends need it at once.
  STRATA_RETURN_IF_ERROR(env.file_cache->Get(seg.get(), [&] { return file; }).status());
  seg->ResetIndexes(env.segment_bytes);
  seg->capacity_bytes_ = env.segment_bytes;
  absl::MutexLock lock(&seg->mu_);
  seg->active_ = true;
  return seg;
}

absl::StatusOr<std::shared_ptr<io::File>> Segment::File() const {
  return env_.file_cache->Get(this, [this]() -> absl::StatusOr<std::shared_ptr<io::File>> {
    STRATA_ASSIGN_OR_RETURN(auto file, env_.fs->Open(log_path_, io::OpenMode::kReadWrite));
    return std::shared_ptr<io::File>(std::move(file));
  });
}

absl::StatusOr<std::shared_ptr<io::Mapping>> Segment::MapFile() const {
  absl::MutexLock lock(&mu_);
  if (deleted_) {
    // Deleted since the caller looked: what DeleteFiles kept.
    if (detached_mapping_ == nullptr) return absl::FailedPreconditionError(log_path_ + " was deleted");
    return detached_mapping_;
  }
  STRATA_ASSIGN_OR_RETURN(auto file, File());
  const bool writable = active_ && env_.append_path == AppendPath::kMapping;
  return file->Map(file_bytes_.load(std::memory_order_acquire), writable);
}

absl::StatusOr<std::shared_ptr<io::Mapping>> Segment::Mapping(uint64_t need_bytes) const {
  {
    absl::MutexLock lock(&mu_);
    if (deleted_) {
      if (detached_mapping_ == nullptr || detached_mapping_->size() < need_bytes) {
        return absl::FailedPreconditionError(log_path_ + " was deleted");
      }
      return detached_mapping_;
    }
  }
  auto open = [this] { return MapFile(); };
  STRATA_ASSIGN_OR_RETURN(auto mapping, env_.map_cache->Get(this, open));
  // A cached mapping made before the file last grew may end short of bytes appended since (and in
  // the in-memory file systems, show an older buffer there): map the file as it is now, which
  // covers `need_bytes` (the caller read the end first; the file is never shorter than the end).
  if (mapping->size() < need_bytes) {
    env_.map_cache->Erase(this);
    STRATA_ASSIGN_OR_RETURN(mapping, env_.map_cache->Get(this, open));
    // Another reader may have put back a mapping it made before the growth; map one for this
    // read alone rather than wait for the cache to settle.
    if (mapping->size() < need_bytes) {
      STRATA_ASSIGN_OR_RETURN(mapping, MapFile());
    }
  }
  return mapping;
}

ScanReport Segment::Scan(std::span<const std::byte> image, int64_t base_offset,
                         const BatchVisitor& on_batch) {
  ScanReport r;
  r.next_offset = base_offset;
  uint64_t pos = 0;
  while (pos < image.size()) {
    auto rest = image.subspan(pos);
    auto header = record::VerifyBatch(rest);
    absl::Status bad;
    if (!header.ok()) {
      // Preallocated space: the end of the data. Only a bounded window is checked, so recovery
      // costs O(data), not O(preallocated segment size): whatever lies past the valid data of the
      // last segment is discarded when it is reopened for appends (OpenForAppend), and in a
      // sealed segment a zeroed stretch leaves an offset gap that Log::Recover reports.
      if (AllZero(rest.first(std::min<size_t>(rest.size(), kZeroProbeBytes)))) break;
      bad = header.status();
    } else if (header->base_offset < r.next_offset) {
      bad = absl::DataLossError(absl::StrCat("batch base offset ", header->base_offset,
                                             " is below the expected ", r.next_offset));
    }
    if (!bad.ok()) {
      r.problem = absl::Status(bad.code(), absl::StrCat("at position ", pos, ": ", bad.message()));
      break;
    }
    if (on_batch) on_batch(*header, pos);
    pos += header->size_bytes();
    r.valid_bytes = pos;
    r.next_offset = header->last_offset() + 1;
    r.max_timestamp = std::max(r.max_timestamp, header->max_timestamp);
    ++r.batches;
  }
  return r;
}

void Segment::IndexBatch(const record::BatchHeader& h, uint64_t position, uint64_t size) {
  int64_t max_ts = std::max(max_timestamp_.load(std::memory_order_relaxed), h.max_timestamp);
  if (bytes_since_index_entry_ >= env_.index_interval_bytes) {
    offset_index_->Append({uint32_t(h.base_offset - base_offset_), uint32_t(position)});
    time_index_->MaybeAppend({max_ts, uint32_t(h.last_offset() - base_offset_)});
    bytes_since_index_entry_ = 0;
  }
  bytes_since_index_entry_ += size;
  if (position == 0) first_batch_timestamp_.store(h.max_timestamp, std::memory_order_release);
  max_timestamp_.store(max_ts, std::memory_order_release);
}

absl::StatusOr<std::pair<std::unique_ptr<Segment>, ScanReport>> Segment::OpenScanned(
    const SegmentEnv& env, int64_t base_offset) {
  return OpenScannedAt(env, base_offset,
                       io::JoinPath(env.dir, SegmentFileStem(base_offset) + ".log"));
}

absl::StatusOr<std::pair<std::unique_ptr<Segment>, ScanReport>> Segment::OpenScannedAt(
    const SegmentEnv& env, int64_t base_offset, const std::string& file_path) {
  std::unique_ptr<Segment> seg(new Segment(env, base_offset));
  STRATA_ASSIGN_OR_RETURN(auto file, env.fs->Open(file_path, io::OpenMode::kReadWrite));
  STRATA_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  seg->ResetIndexes(std::max(size, env.segment_bytes));
  seg->capacity_bytes_ = size;
  seg->file_bytes_.store(size, std::memory_order_release);
  STRATA_ASSIGN_OR_RETURN(auto mapping, file->Map(size, /*writable=*/false));
  std::span<const std::byte> image(mapping->data(), mapping->size());
  ScanReport report = Scan(image, base_offset, [&](const record::BatchHeader& h, uint64_t pos) {
    seg->IndexBatch(h, pos, h.size_bytes());
  });
  seg->end_.store(report.valid_bytes, std::memory_order_release);
  seg->next_offset_.store(report.next_offset, std::memory_order_release);
  if (report.problem) {
    report.problem = absl::Status(report.problem->code(),
                                  absl::StrCat(file_path, " ", report.problem->message()));
  }
  return std::make_pair(std::move(seg), std::move(report));
}

absl::StatusOr<std::unique_ptr<Segment>> Segment::OpenTrusted(const SegmentEnv& env,
                                                              int64_t base_offset) {
  std::unique_ptr<Segment> seg(new Segment(env, base_offset));
  STRATA_ASSIGN_OR_RETURN(auto file, env.fs->Open(seg->log_path_, io::OpenMode::kReadWrite));
  STRATA_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  seg->capacity_bytes_ = size;
  seg->file_bytes_.store(size, std::memory_order_release);
  size_t cap = IndexCapacity(std::max(size, env.segment_bytes), env.index_interval_bytes);
  STRATA_ASSIGN_OR_RETURN(auto index_bytes, io::ReadWholeFile(*env.fs, seg->index_path_));
  STRATA_ASSIGN_OR_RETURN(auto time_bytes, io::ReadWholeFile(*env.fs, seg->time_index_path_));
  STRATA_ASSIGN_OR_RETURN(seg->offset_index_, OffsetIndex::Decode(index_bytes, cap, size));
  STRATA_ASSIGN_OR_RETURN(seg->time_index_, TimeIndex::Decode(time_bytes, cap));

  // The indexes are sparse: walk the batches after the last entry to find the end.
  STRATA_ASSIGN_OR_RETURN(auto mapping, file->Map(size, /*writable=*/false));
  std::span<const std::byte> image(mapping->data(), mapping->size());
  OffsetIndexEntry last = seg->offset_index_->Last();
  if (auto t = seg->time_index_->LastBefore(INT64_MAX)) {
    seg->max_timestamp_.store(t->timestamp_ms);
  }
  if (size > 0) {
    auto first = record::ParseBatchHeader(image);
    if (first.ok()) seg->first_batch_timestamp_.store(first->max_timestamp);
  }
  seg->bytes_since_index_entry_ = 0;
  ScanReport tail = Scan(image.subspan(last.position), base_offset + last.relative_offset,
                         [&](const record::BatchHeader& h, uint64_t pos) {
                           seg->IndexBatch(h, last.position + pos, h.size_bytes());
                         });
  if (tail.problem) {
    return absl::DataLossError(absl::StrCat(seg->log_path_, " at position ",
                                            last.position + tail.valid_bytes, ": ",
                                            tail.problem->message()));
  }
  seg->end_.store(last.position + tail.valid_bytes);
  seg->next_offset_.store(tail.next_offset);
  return seg;
}

bool Segment::writable() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

bool Segment::HasRoomFor(uint64_t bytes) const {
  return size_bytes() + bytes <= capacity_bytes_;
}

absl::Status Segment::ZeroRange(io::File& file, uint64_t from, uint64_t to) {
  static const std::byte kZeros[kZeroChunkBytes] = {};
  for (uint64_t p = from; p < to;) {
    uint64_t n = std::min<uint64_t>(kZeroChunkBytes, to - p);
    STRATA_RETURN_IF_ERROR(file.WriteAt(p, {kZeros, n}));
    p += n;
  }
  return absl::OkStatus();
}

absl::Status Segment::OpenForAppend() {
  const uint64_t end = size_bytes();
  STRATA_ASSIGN_OR_RETURN(auto file, File());
  STRATA_ASSIGN_OR_RETURN(uint64_t old_size, file->Size());
  // Never cut below bytes a reader may hold a view of (they are zeros after a truncation, see
  // TruncateTo): touching a mapped page past the end of a file raises SIGBUS.
  const uint64_t cut = std::max(end, max_end_published_);
  {
    absl::MutexLock lock(&mu_);
    if (old_size > cut) {
      // Bytes past the valid data (a torn tail, unsynced pages a crash left behind, or space
      // reserved by preallocation) must not come back and be mistaken for batches. Cutting the
      // file at the end drops them in O(1), without reading them. The caller syncs the cut before
      // anything it appends after it is reported durable.
      file_bytes_.store(cut, std::memory_order_release);
      STRATA_RETURN_IF_ERROR(file->Truncate(cut));
    } else {
      file_bytes_.store(old_size, std::memory_order_release);
    }
    active_ = true;
  }
  capacity_bytes_ = std::max(env_.segment_bytes, end);
  max_end_published_ = std::max(max_end_published_, end);
  prefault_requested_to_ = end;
  // Readers (and, under kMapping, the appender) map the file again, writable if need be.
  env_.map_cache->Erase(this);
  return absl::OkStatus();
}

absl::Status Segment::Reserve(uint64_t bytes) {
  const uint64_t need = size_bytes() + bytes;
  const uint64_t have = file_bytes();
  if (need <= have) return absl::OkStatus();
  const Preallocation& p = env_.preallocation;
  const uint64_t step = std::clamp(have, p.first_bytes, p.max_bytes);
  const uint64_t target = std::max(need, std::min(have + step, capacity_bytes_));
  STRATA_ASSIGN_OR_RETURN(auto file, File());
  absl::Status st = file->Allocate(target);
  if (!st.ok()) {
    // A failed fallocate may still have extended the file part-way; a later Reserve or
    // OpenForAppend (which cuts the file at its data) accounts for that.
    if (absl::StatusOr<uint64_t> size = file->Size(); size.ok() && *size > have) {
      file_bytes_.store(std::min(*size, target), std::memory_order_release);
    }
    return io::WithContext(st, absl::StrCat("reserving ", target - have, " bytes for ",
                                            log_path_));
  }
  file_bytes_.store(target, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Segment::Append(std::span<const std::byte> batch, const record::BatchHeader& header) {
  {
    absl::MutexLock lock(&mu_);
    if (!active_) {
      return absl::FailedPreconditionError(log_path_ + " is sealed; it takes no appends");
    }
  }
  const uint64_t pos = end_.load(std::memory_order_relaxed);
  if (pos + batch.size() > capacity_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("batch of ", batch.size(), " bytes does not fit in ", log_path_));
  }
  if (pos + batch.size() > file_bytes()) {
    return absl::InternalError(absl::StrCat("append of ", batch.size(), " bytes at ", pos,
                                            " past the ", file_bytes(), " bytes reserved in ",
                                            log_path_, " (Reserve was not called)"));
  }
  if (env_.append_path == AppendPath::kWrite) {
    STRATA_ASSIGN_OR_RETURN(auto file, File());
    STRATA_RETURN_IF_ERROR(file->WriteAt(pos, batch));
  } else {
    STRATA_ASSIGN_OR_RETURN(auto mapping, Mapping(pos + batch.size()));
    // Keep the pages ahead of the writer faulted in, one chunk at a time, off this thread.
    while (pos + batch.size() + kPrefaultLeadBytes > prefault_requested_to_ &&
           prefault_requested_to_ < mapping->size()) {
      if (env_.prefaulter != nullptr) {
        env_.prefaulter->Request(mapping, prefault_requested_to_, kPrefaultChunkBytes);
      } else {
        mapping->Prefault(prefault_requested_to_, kPrefaultChunkBytes);
      }
      prefault_requested_to_ += kPrefaultChunkBytes;
    }
    STRATA_RETURN_IF_ERROR(mapping->Write(pos, batch));
  }
  IndexBatch(header, pos, batch.size());
  next_offset_.store(header.last_offset() + 1, std::memory_order_release);
  end_.store(pos + batch.size(), std::memory_order_release);
  max_end_published_ = std::max(max_end_published_, pos + batch.size());
  return absl::OkStatus();
}

absl::Status Segment::Sync() {
  STRATA_ASSIGN_OR_RETURN(auto file, File());
  // Appends publish end_ after their bytes are written, so this many bytes are in the file now
  // and the sync below covers them.
  const uint64_t synced = size_bytes();
  STRATA_RETURN_IF_ERROR(file->Sync());
  RecordSyncedForTests(log_path_, synced);
  return absl::OkStatus();
}

// The fault campaign's "lost unsynced writes" (docs/fault-testing.md): with
// STRATA_TEST_SYNCED_DIR set, every sync of a segment records how many of its bytes are durable in
// a file of that folder named after the segment's path ('/' as '%'), so that after a kill -9 the
// harness can cut the active segment back to what a power loss would have kept. Off (one getenv,
// once) in normal runs.
void Segment::RecordSyncedForTests(const std::string& log_path, uint64_t bytes) {
  static const char* const dir = std::getenv("STRATA_TEST_SYNCED_DIR");
  if (dir == nullptr || *dir == '\0') return;
  std::string name = log_path;
  std::replace(name.begin(), name.end(), '/', '%');
  const std::string path = absl::StrCat(dir, "/", name);
  // Written aside and renamed over, so a kill -9 mid-write leaves the previous record whole.
  const std::string temp = path + ".tmp";
  const std::string text = absl::StrCat(bytes, "\n");
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const bool written = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  ::close(fd);
  if (written) (void)::rename(temp.c_str(), path.c_str());
}

absl::Status Segment::WriteIndexFiles() {
  STRATA_RETURN_IF_ERROR(io::WriteFileAtomic(*env_.fs, index_path_, offset_index_->Encode()));
  return io::WriteFileAtomic(*env_.fs, time_index_path_, time_index_->Encode());
}

absl::Status Segment::RemoveIndexFiles() {
  for (const auto& p : {index_path_, time_index_path_}) {
    absl::Status st = env_.fs->Remove(p);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  return env_.fs->SyncDir(env_.dir);
}

absl::Status Segment::Seal(bool data_synced) {
  STRATA_ASSIGN_OR_RETURN(auto file, File());
  if (!data_synced) {
    const uint64_t synced = size_bytes();
    STRATA_RETURN_IF_ERROR(file->Sync());
    RecordSyncedForTests(log_path_, synced);
  }
  if (absl::Status st = WriteIndexFiles(); !st.ok()) {
    // Index files only save the next open a scan, but stale ones (from before this segment took
    // appends again) must not be trusted then: without new ones, none.
    if (absl::Status removed = RemoveIndexFiles(); !removed.ok()) return st;
    LogEvent(LogLevel::kWarn, absl::StrCat("sealing ", log_path_, " without its index files (",
                                           st.ToString(), "); the next open rebuilds them"));
  }
  // Trim the preallocated tail, but never below bytes a reader may have been handed a view of
  // (after a truncation those are zeros now): on POSIX, touching a mapped page past the end of
  // the file raises SIGBUS. Recovery reads trailing zeros as the end of the data.
  const uint64_t keep = std::max(size_bytes(), max_end_published_);
  {
    absl::MutexLock lock(&mu_);
    if (file_bytes() > keep) {
      file_bytes_.store(keep, std::memory_order_release);
      STRATA_RETURN_IF_ERROR(file->Truncate(keep));
    }
    active_ = false;
  }
  capacity_bytes_ = keep;
  // Readers map the trimmed file again (read-only under kMapping).
  env_.map_cache->Erase(this);
  return absl::OkStatus();
}

absl::Status Segment::DeleteFiles() {
  // Readers still holding this segment read on from the mapping kept here: once the name is
  // gone (or, after a compaction swap, names another file) the file cannot be opened again.
  std::shared_ptr<io::Mapping> kept;
  if (size_bytes() > 0) {
    STRATA_ASSIGN_OR_RETURN(kept, Mapping(size_bytes()));
  }
  {
    absl::MutexLock lock(&mu_);
    detached_mapping_ = std::move(kept);
    deleted_ = true;
    active_ = false;
  }
  env_.map_cache->Erase(this);
  env_.file_cache->Erase(this);
  STRATA_RETURN_IF_ERROR(env_.fs->Remove(log_path_));
  for (const auto& p : {index_path_, time_index_path_}) {
    absl::Status st = env_.fs->Remove(p);
    if (!st.ok() && !absl::IsNotFound(st)) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<uint64_t>> Segment::FindPosition(std::span<const std::byte> data,
                                                              int64_t offset) const {
  int64_t rel = std::max<int64_t>(0, offset - base_offset_);
  OffsetIndexEntry e = offset_index_->Lookup(uint32_t(std::min<int64_t>(rel, UINT32_MAX)));
  uint64_t pos = e.position < data.size() ? e.position : 0;
  while (pos < data.size()) {
    auto h = record::ParseBatchHeader(data.subspan(pos));
    if (!h.ok()) {
      return absl::DataLossError(absl::StrCat(log_path_, " at position ", pos,
                                              ": unreadable batch: ", h.status().message()));
    }
    if (h->last_offset() >= offset) return pos;
    pos += h->size_bytes();
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<ReadResult>> Segment::Read(int64_t offset, size_t max_bytes,
                                                        int64_t end_offset) const {
  const uint64_t end = size_bytes();
  if (end == 0 || offset >= next_offset()) return std::nullopt;
  STRATA_ASSIGN_OR_RETURN(auto mapping, Mapping(end));
  std::span<const std::byte> data(mapping->data(), end);
  STRATA_ASSIGN_OR_RETURN(auto start, FindPosition(data, offset));
  if (!start) return std::nullopt;
  ReadResult r;
  uint64_t pos = *start;
  while (pos < data.size()) {
    auto h = record::ParseBatchHeader(data.subspan(pos));
    if (!h.ok()) {
      return absl::DataLossError(absl::StrCat(log_path_, " at position ", pos,
                                              ": unreadable batch: ", h.status().message()));
    }
    uint64_t size = h->size_bytes();
    if (h->last_offset() >= end_offset) break;  // appended but not yet published to readers
    if (r.batch_count > 0 && (pos - *start) + size > max_bytes) break;
    if (r.batch_count == 0) r.first_offset = h->base_offset;
    r.next_offset = h->last_offset() + 1;
    ++r.batch_count;
    pos += size;
  }
  if (r.batch_count == 0) return std::nullopt;
  r.bytes = data.subspan(*start, pos - *start);
  r.keepalive = std::move(mapping);
  return r;
}

absl::StatusOr<std::optional<int64_t>> Segment::FindOffsetByTimestamp(int64_t ts_ms) const {
  if (max_timestamp() < ts_ms || empty()) return std::nullopt;
  int64_t start_offset = base_offset_;
  if (auto e = time_index_->LastBefore(ts_ms)) start_offset = base_offset_ + e->relative_offset + 1;
  const uint64_t end = size_bytes();
  STRATA_ASSIGN_OR_RETURN(auto mapping, Mapping(end));
  std::span<const std::byte> data(mapping->data(), end);
  STRATA_ASSIGN_OR_RETURN(auto start, FindPosition(data, start_offset));
  if (!start) return std::nullopt;
  for (uint64_t pos = *start; pos < data.size();) {
    auto h = record::ParseBatchHeader(data.subspan(pos));
    if (!h.ok()) return h.status();
    if (h->max_timestamp >= ts_ms) {
      STRATA_ASSIGN_OR_RETURN(auto reader, record::BatchReader::Open(data.subspan(pos, h->size_bytes())));
      while (true) {
        STRATA_ASSIGN_OR_RETURN(auto rec, reader.Next());
        if (!rec) break;
        if (rec->offset >= start_offset && rec->timestamp_ms >= ts_ms) return rec->offset;
      }
    }
    pos += h->size_bytes();
  }
  return std::nullopt;
}

absl::Status Segment::TruncateTo(int64_t offset) {
  if (!writable()) return absl::FailedPreconditionError(log_path_ + " is not writable");
  const uint64_t end = size_bytes();
  if (end == 0) return absl::OkStatus();
  STRATA_ASSIGN_OR_RETURN(auto mapping, Mapping(end));
  std::span<const std::byte> data(mapping->data(), end);
  STRATA_ASSIGN_OR_RETURN(auto pos, FindPosition(data, offset));
  if (!pos) return absl::OkStatus();
  auto h = record::ParseBatchHeader(data.subspan(*pos));
  if (!h.ok()) return h.status();
  // Recompute what the indexes summarise from the batches that remain. The segment now ends where
  // its last remaining batch does: that is what recovery will find on disk, even where
  // compaction left a gap before the batch cut (then the end is below that batch's base).
  int64_t max_ts = INT64_MIN;
  int64_t new_next = base_offset_;
  for (uint64_t p = 0; p < *pos;) {
    auto b = record::ParseBatchHeader(data.subspan(p));
    if (!b.ok()) return b.status();
    max_ts = std::max(max_ts, b->max_timestamp);
    new_next = b->last_offset() + 1;
    p += b->size_bytes();
  }
  // Publish the shorter end first so readers stop before the bytes being zeroed.
  end_.store(*pos, std::memory_order_release);
  next_offset_.store(new_next, std::memory_order_release);
  STRATA_ASSIGN_OR_RETURN(auto file, File());
  STRATA_RETURN_IF_ERROR(ZeroRange(*file, *pos, end));
  // Entries for the batch cut and later ones go (the cut batch's base is above new_next - 1).
  uint32_t rel = uint32_t(h->base_offset - base_offset_);
  offset_index_->TruncateTo(rel);
  time_index_->TruncateTo(uint32_t(new_next - base_offset_));
  max_timestamp_.store(max_ts, std::memory_order_release);
  if (*pos == 0) first_batch_timestamp_.store(INT64_MIN, std::memory_order_release);
  bytes_since_index_entry_ = *pos - offset_index_->Last().position;
  return absl::OkStatus();
}

}  // namespace strata::log
