#include "log/log.h"

#include <algorithm>
#include <chrono>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "common/check.h"
#include "common/limits.h"
#include "common/logging.h"
#include "log/flusher.h"
#include "log/fsync_stats.h"

namespace strata::log {

// --- Lifecycle --------------------------------------------------------------------------------

Log::Log(LogOptions options) : options_(std::move(options)) {}

Log::~Log() {
  absl::Status st = Close();
  if (!st.ok()) {
    LogEvent(LogLevel::kError, absl::StrCat("closing log ", options_.dir, ": ", st.ToString()));
  }
  if (options_.flusher != nullptr) options_.flusher->Unregister(this);
}

SegmentEnv Log::Env() const {
  SegmentEnv env;
  env.fs = options_.fs;
  env.dir = options_.dir;
  env.map_cache = options_.map_cache;
  env.file_cache = options_.file_cache;
  env.index_interval_bytes = options_.config.index_interval_bytes;
  env.segment_bytes = options_.config.segment_bytes;
  env.preallocation = options_.config.preallocation;
  env.append_path = options_.append_path;
  env.prefaulter = options_.prefaulter;
  return env;
}

absl::StatusOr<std::unique_ptr<Log>> Log::Open(LogOptions options) {
  if (options.fs == nullptr) options.fs = &io::RealFileSystem();
  if (!options.clock) options.clock = SystemClock();
  if (options.map_cache == nullptr) options.map_cache = &DefaultMapCache();
  if (options.file_cache == nullptr) options.file_cache = &DefaultFileCache();
  if (options.append_path == AppendPath::kMapping && options.prefaulter == nullptr) {
    options.prefaulter = &Prefaulter::Default();
  }
  if (options.dir.empty()) return absl::InvalidArgumentError("log directory is empty");
  STRATA_RETURN_IF_ERROR(options.config.Validate());
  std::unique_ptr<Log> log(new Log(std::move(options)));
  STRATA_RETURN_IF_ERROR(log->Recover());
  return log;
}

// --- State ------------------------------------------------------------------------------------

absl::Status Log::health() const {
  if (!failed_.load(std::memory_order_acquire)) return absl::OkStatus();
  absl::MutexLock lock(&fail_mu_);
  return failure_;
}

absl::Status Log::CheckWritable() const {
  if (!failed_.load(std::memory_order_acquire)) return absl::OkStatus();
  absl::MutexLock lock(&fail_mu_);
  return absl::FailedPreconditionError(absl::StrCat(
      "log ", options_.dir, " refuses writes after an I/O failure (", failure_.ToString(),
      "); fix the cause (disk full? failing device?) and reopen the log to recover from disk"));
}

void Log::Fail(const absl::Status& cause) {
  {
    absl::MutexLock lock(&fail_mu_);
    if (!failed_.load()) failure_ = cause;
    failed_.store(true, std::memory_order_release);
  }
  LogEvent(LogLevel::kError,
           absl::StrCat("log ", options_.dir, " is now read-only: ", cause.ToString()));
  // The waiters are completed by RunFailedWaiters once the caller has released its locks.
  absl::MutexLock lock(&waiters_mu_);
  for (auto& [offset, done] : waiters_) failed_waiters_.push_back(std::move(done));
  waiters_.clear();
}

void Log::RunFailedWaiters() {
  std::vector<DurableCallback> failed;
  {
    absl::MutexLock lock(&waiters_mu_);
    failed.swap(failed_waiters_);
  }
  if (failed.empty()) return;
  absl::Status st = CheckWritable();
  for (auto& done : failed) done(st);
}

std::vector<std::shared_ptr<Segment>> Log::SnapshotSegments() const {
  absl::ReaderMutexLock lock(&segments_mu_);
  return segments_;
}

std::shared_ptr<Segment> Log::Active() const {
  absl::ReaderMutexLock lock(&segments_mu_);
  return segments_.back();
}

std::shared_ptr<Segment> Log::SegmentFor(int64_t offset) const {
  absl::ReaderMutexLock lock(&segments_mu_);
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), offset,
      [](int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset(); });
  if (it == segments_.begin()) return nullptr;
  return *std::prev(it);
}

int64_t Log::durable_offset() const {
  absl::MutexLock lock(&waiters_mu_);
  return durable_;
}

std::vector<SegmentInfo> Log::Segments() const {
  auto segs = SnapshotSegments();
  std::vector<SegmentInfo> out;
  for (size_t i = 0; i < segs.size(); ++i) {
    out.push_back({segs[i]->base_offset(), segs[i]->next_offset(), segs[i]->size_bytes(),
                   segs[i]->max_timestamp(), i + 1 == segs.size(), segs[i]->log_path()});
  }
  return out;
}

uint64_t Log::size_bytes() const {
  uint64_t total = 0;
  for (const auto& s : SnapshotSegments()) total += s->size_bytes();
  return total;
}

// --- Appends ----------------------------------------------------------------------------------

absl::StatusOr<AppendResult> Log::Append(record::VerifiedBatch& batch, int32_t leader_epoch) {
  auto run_failed = absl::MakeCleanup([this] { RunFailedWaiters(); });
  STRATA_RETURN_IF_ERROR(CheckWritable());
  absl::StatusOr<AppendResult> result;
  {
    absl::MutexLock lock(&writer_mu_);
    batch.Stamp(log_end_.load(std::memory_order_relaxed), leader_epoch);
    result = AppendChecked(batch);
  }
  if (result.ok()) AfterAppend(batch.size());
  return result;
}

absl::StatusOr<AppendResult> Log::Append(std::span<std::byte> batch, int32_t leader_epoch) {
  STRATA_ASSIGN_OR_RETURN(record::VerifiedBatch verified,
                          record::VerifiedBatch::Verify(batch, record::AppendRules{}));
  return Append(verified, leader_epoch);
}

absl::StatusOr<AppendResult> Log::AppendWithOffsets(const record::VerifiedBatch& batch) {
  auto run_failed = absl::MakeCleanup([this] { RunFailedWaiters(); });
  STRATA_RETURN_IF_ERROR(CheckWritable());
  const record::BatchHeader& header = batch.header();
  absl::StatusOr<AppendResult> result;
  {
    absl::MutexLock lock(&writer_mu_);
    int64_t end = log_end_.load(std::memory_order_relaxed);
    if (header.base_offset > end) {
      return absl::OutOfRangeError(absl::StrCat(
          "follower batch starts at offset ", header.base_offset, " but the log ends at ", end,
          ": a gap of ", header.base_offset - end, " offsets; fetch from offset ", end));
    }
    if (header.base_offset < end) {
      return absl::InvalidArgumentError(absl::StrCat(
          "follower batch starts at offset ", header.base_offset,
          ", below the log end ", end, ": it overlaps existing offsets; truncate first"));
    }
    result = AppendChecked(batch);
  }
  if (result.ok()) AfterAppend(batch.size());
  return result;
}

absl::StatusOr<AppendResult> Log::AppendWithOffsets(std::span<std::byte> batch) {
  STRATA_ASSIGN_OR_RETURN(record::VerifiedBatch verified,
                          record::VerifiedBatch::Verify(batch, record::AppendRules{.dense = false}));
  return AppendWithOffsets(verified);
}

absl::StatusOr<AppendResult> Log::AppendChecked(const record::VerifiedBatch& verified) {
  std::span<const std::byte> batch = verified.bytes();
  const record::BatchHeader& header = verified.header();
  if (closed_) return absl::FailedPreconditionError("log " + options_.dir + " is closed");
  // Checked again under the lock: a failure may have landed since the caller's check.
  STRATA_RETURN_IF_ERROR(CheckWritable());
  if (batch.size() > options_.config.segment_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch of ", batch.size(), " bytes is larger than segment_bytes ",
        options_.config.segment_bytes, "; raise segment_bytes or send smaller batches"));
  }
  STRATA_RETURN_IF_ERROR(ForgetCleanShutdown());
  STRATA_RETURN_IF_ERROR(MaybeRollFor(batch.size(), header.last_offset_delta));
  std::shared_ptr<Segment> active = Active();
  // Room first: without it (a full disk) the append is refused with nothing written, and the log
  // stays healthy and takes appends again once space is freed.
  STRATA_RETURN_IF_ERROR(active->Reserve(batch.size()));
  absl::Status st = active->Append(batch, header);
  if (!st.ok()) {
    Fail(st);
    return CheckWritable();
  }
  if (active_since_ms_ == 0) active_since_ms_ = options_.clock();
  // Published offsets only grow: a reader that saw an end may read every offset below it.
  STRATA_CHECK(header.base_offset == log_end_.load(std::memory_order_relaxed) &&
               header.last_offset() >= header.base_offset)
      << "appending [" << header.base_offset << ", " << header.last_offset() << "] at log end "
      << log_end_.load(std::memory_order_relaxed) << " of " << options_.dir;
  log_end_.store(header.last_offset() + 1, std::memory_order_release);
  return AppendResult{header.base_offset, header.last_offset(), header.max_timestamp};
}

absl::Status Log::MaybeRollFor(uint64_t batch_bytes, int32_t last_offset_delta) {
  std::shared_ptr<Segment> active = Active();
  if (active->empty()) return absl::OkStatus();
  const int64_t end = log_end_.load(std::memory_order_relaxed);
  const bool full = !active->HasRoomFor(batch_bytes);
  const bool old = active_since_ms_ != 0 &&
                   options_.clock() - active_since_ms_ >= options_.config.segment_ms;
  const bool offsets_exhausted =
      end + last_offset_delta - active->base_offset() > limits::segment_offsets_max;
  if (full || old || offsets_exhausted) return RollLocked();
  return absl::OkStatus();
}

absl::Status Log::Roll() {
  auto run_failed = absl::MakeCleanup([this] { RunFailedWaiters(); });
  absl::MutexLock lock(&writer_mu_);
  STRATA_RETURN_IF_ERROR(CheckWritable());
  if (closed_) return absl::FailedPreconditionError("log " + options_.dir + " is closed");
  if (Active()->empty()) return absl::OkStatus();
  return RollLocked();
}

absl::Status Log::RollLocked() {
  STRATA_RETURN_IF_ERROR(ForgetCleanShutdown());
  std::shared_ptr<Segment> active = Active();
  // Seal syncs the old segment first, so every segment but the last is wholly durable and the
  // recovery point can move to the new segment's base. It holds flush_mu_ like every fsync of
  // the active segment: Linux reports a writeback error to one fsync only, and a concurrent
  // flush must not take the success while this one gets the error. (A roll that could not start
  // the next segment left this one sealed already.)
  if (active->writable()) {
    absl::Status st;
    {
      absl::MutexLock flush_lock(&flush_mu_);
      st = active->Seal();
    }
    if (!st.ok()) {
      Fail(st);
      return CheckWritable();
    }
  }
  // From here a failure (a full disk, say) leaves the log whole, its last segment sealed; the
  // next append or roll tries again.
  const int64_t base = log_end_.load(std::memory_order_relaxed);
  const std::string path = io::JoinPath(options_.dir, SegmentFileStem(base) + ".log");
  if (absl::Status st = options_.fs->Remove(path); !st.ok() && !absl::IsNotFound(st)) {
    return st;  // an earlier attempt's empty file
  }
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<Segment> fresh, Segment::Create(Env(), base));
  // The new file's name must be durable before a batch in it is reported durable (fsyncing the
  // file does not make its name durable). The checkpoint syncs the directory only when it
  // writes, and it writes nothing when the recovery point is already this base (as right after
  // a reopen).
  absl::Status st = options_.fs->SyncDir(options_.dir);
  if (st.ok()) st = CheckpointRecoveryPoint(base);
  if (!st.ok()) {
    (void)fresh->DeleteFiles();
    return st;
  }
  {
    absl::MutexLock lock(&segments_mu_);
    segments_.push_back(std::move(fresh));
  }
  active_since_ms_ = 0;
  return absl::OkStatus();
}

void Log::AfterAppend(uint64_t bytes) {
  uint64_t appended = appended_bytes_.fetch_add(bytes, std::memory_order_acq_rel) + bytes;
  int64_t zero = 0;
  if (dirty_since_ms_.compare_exchange_strong(zero, options_.clock()) &&
      options_.flusher != nullptr) {
    options_.flusher->MarkDirty(this);  // the age trigger needs the flusher to look at it
  }
  const FlushPolicy& policy = options_.config.flush;
  uint64_t unflushed = appended - flushed_bytes_.load(std::memory_order_acquire);
  bool due = policy.always || (policy.bytes > 0 && unflushed >= policy.bytes);
  if (!due) return;
  if (options_.flusher != nullptr) {
    // flush=always: this append is to be fsynced at once, so its thread may lead that fsync
    // (see WhenDurable). A bytes threshold is background work for the flusher.
    if (!(policy.always && MayLeadFlush() && TryFlush())) options_.flusher->Notify(this);
  } else {
    // No flusher: flush inline. A failure is sticky in the log and surfaces on the next call.
    (void)Flush();
  }
}

// --- Reads ------------------------------------------------------------------------------------

absl::StatusOr<ReadResult> Log::Read(int64_t offset, size_t max_bytes) const {
  const int64_t start = log_start_offset();
  const int64_t end = log_end_offset();
  if (offset < start) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is below the log start offset ", start));
  }
  if (offset > end) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is past the log end offset ", end));
  }
  if (offset == end) return ReadResult{nullptr, {}, end, end, 0};
  if (read_hook_) read_hook_();
  for (auto seg = SegmentFor(offset); seg != nullptr;) {
    // The bound on what this read returns is read after the segment is found, not reused from
    // above: a segment that compaction swapped in meanwhile holds batches whose offsets were all
    // below the log end when it appeared, but a batch it rebuilt can reach past an earlier
    // reading of the end (records removed before it, its offsets kept), and bounded by that
    // reading the read would return nothing below the end (docs/recovery.md, "Reader safety").
    const int64_t bound = log_end_offset();
    STRATA_ASSIGN_OR_RETURN(auto r, seg->Read(offset, max_bytes, bound));
    if (r) return std::move(*r);
    // Move on only if this segment really ends at or before `offset`.
    int64_t next = seg->next_offset();
    if (offset < next) break;
    auto following = SegmentFor(next);
    if (following == seg || following == nullptr) break;
    seg = following;
  }
  if (offset < log_start_offset()) {
    return absl::OutOfRangeError(absl::StrCat("offset ", offset, " was deleted by retention; the "
                                              "log now starts at ", log_start_offset()));
  }
  return ReadResult{nullptr, {}, offset, offset, 0};
}

absl::StatusOr<std::optional<int64_t>> Log::OffsetForTimestamp(int64_t ts_ms) const {
  for (const auto& seg : SnapshotSegments()) {
    if (seg->max_timestamp() < ts_ms) continue;
    STRATA_ASSIGN_OR_RETURN(auto found, seg->FindOffsetByTimestamp(ts_ms));
    if (found && *found >= log_start_offset()) return found;
  }
  return std::nullopt;
}

// --- Truncation and retention -----------------------------------------------------------------

absl::Status Log::TruncateTo(int64_t offset) {
  auto run_failed = absl::MakeCleanup([this] { RunFailedWaiters(); });
  std::vector<DurableCallback> orphans;
  absl::Status result;
  {
    absl::MutexLock lock(&writer_mu_);
    STRATA_RETURN_IF_ERROR(CheckWritable());
    if (closed_) return absl::FailedPreconditionError("log " + options_.dir + " is closed");
    if (offset < log_start_offset()) {
      return absl::OutOfRangeError(absl::StrCat("cannot truncate to offset ", offset,
                                                ": below the log start offset ",
                                                log_start_offset()));
    }
    if (offset >= log_end_offset()) return absl::OkStatus();
    STRATA_RETURN_IF_ERROR(ForgetCleanShutdown());
    ++truncations_;
    absl::MutexLock flush_lock(&flush_mu_);
    std::shared_ptr<Segment> target = SegmentFor(offset);
    // First lower the recovery point below the cut: if we crash part-way, recovery sees whatever
    // is left above it as an unsynced tail and cuts it, instead of calling it corruption.
    absl::Status st = CheckpointRecoveryPoint(target->base_offset(), /*may_lower=*/true);
    std::vector<std::shared_ptr<Segment>> doomed;
    if (st.ok()) {
      absl::MutexLock seg_lock(&segments_mu_);
      while (segments_.back() != target) {
        doomed.push_back(segments_.back());
        segments_.pop_back();
      }
    }
    for (auto& seg : doomed) {
      if (st.ok()) st = seg->DeleteFiles();
    }
    // The deletions must be durable before the cut: recovery can recognise segments left after a
    // cut, but a cut segment followed by nothing is only right once they are gone for good.
    if (st.ok() && !doomed.empty()) st = options_.fs->SyncDir(options_.dir);
    if (st.ok() && !target->writable()) st = target->OpenForAppend();
    if (st.ok()) st = target->TruncateTo(offset);
    if (st.ok()) st = target->Sync();
    if (!st.ok()) {
      Fail(st);
      return CheckWritable();
    }
    const int64_t new_end = target->next_offset();
    log_end_.store(new_end, std::memory_order_release);
    if (target->empty()) active_since_ms_ = 0;
    CheckpointRecoveryPointOrWarn(new_end);
    // Appends waiting on truncated offsets will never be durable.
    absl::MutexLock wlock(&waiters_mu_);
    durable_ = std::min(durable_, new_end);
    for (auto it = waiters_.lower_bound(new_end); it != waiters_.end();) {
      orphans.push_back(std::move(it->second));
      it = waiters_.erase(it);
    }
  }
  for (auto& done : orphans) done(absl::AbortedError("the offsets were truncated"));
  return result;
}

absl::StatusOr<RetentionResult> Log::ApplyRetention() {
  auto run_failed = absl::MakeCleanup([this] { RunFailedWaiters(); });
  absl::MutexLock lock(&writer_mu_);
  STRATA_RETURN_IF_ERROR(CheckWritable());
  if (closed_) return absl::FailedPreconditionError("log " + options_.dir + " is closed");
  const LogConfig& cfg = options_.config;
  const int64_t now = options_.clock();
  auto expired = [&](const Segment& s) {
    return cfg.retention_ms >= 0 && !s.empty() && now - s.max_timestamp() > cfg.retention_ms;
  };
  // An active segment whose every record has expired is rolled so it can be deleted too. A roll
  // that fails for want of space leaves the log whole: delete what is sealed all the same, since
  // that is how space comes back.
  if (expired(*Active())) {
    if (absl::Status rolled = RollLocked(); !rolled.ok()) {
      STRATA_RETURN_IF_ERROR(CheckWritable());
      LogEvent(LogLevel::kWarn, absl::StrCat("retention of ", options_.dir, " could not roll its "
                                             "active segment (", rolled.ToString(), ")"));
    }
  }

  RetentionResult result;
  auto segs = SnapshotSegments();
  uint64_t total = 0;
  for (const auto& s : segs) total += s->size_bytes();
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    const Segment& s = *segs[i];
    bool over_bytes =
        cfg.retention_bytes >= 0 && total - s.size_bytes() >= uint64_t(cfg.retention_bytes);
    if (!expired(s) && !over_bytes) break;
    STRATA_RETURN_IF_ERROR(ForgetCleanShutdown());
    {
      absl::MutexLock seg_lock(&segments_mu_);
      segments_.erase(segments_.begin());
      log_start_.store(segments_.front()->base_offset(), std::memory_order_release);
    }
    absl::Status st = segs[i]->DeleteFiles();
    if (!st.ok()) {
      Fail(st);
      return CheckWritable();
    }
    total -= s.size_bytes();
    result.bytes_deleted += s.size_bytes();
    ++result.segments_deleted;
  }
  if (result.segments_deleted > 0) {
    // Without this a crash could bring deleted segments back and move the log start backwards.
    absl::Status st = options_.fs->SyncDir(options_.dir);
    if (!st.ok()) {
      Fail(st);
      return CheckWritable();
    }
  }
  return result;
}

// --- Durability -------------------------------------------------------------------------------

absl::Status Log::Flush() {
  auto run_failed = absl::MakeCleanup([this] { RunFailedWaiters(); });
  std::vector<DurableCallback> ready;
  absl::Status st;
  {
    absl::MutexLock lock(&flush_mu_);
    st = FlushLocked(&ready);
  }
  for (auto& done : ready) done(absl::OkStatus());
  return st;
}

bool Log::MayLeadFlush() const {
  return options_.waiter_leads_flush &&
         fsync_average_us_.load(std::memory_order_relaxed) <= limits::lead_fsync_max_us;
}

bool Log::TryFlush() {
  auto run_failed = absl::MakeCleanup([this] { RunFailedWaiters(); });
  std::vector<DurableCallback> ready;
  if (!flush_mu_.TryLock()) return false;
  (void)FlushLocked(&ready);  // a failure is sticky and reaches the waiters through RunFailedWaiters
  flush_mu_.Unlock();
  for (auto& done : ready) done(absl::OkStatus());
  return true;
}

absl::Status Log::FlushLocked(std::vector<DurableCallback>* ready) {
  if (discarded_.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError("log " + options_.dir + " was discarded");
  }
  STRATA_RETURN_IF_ERROR(CheckWritable());
  // Bytes before the end: an append publishes log_end_ before it counts its bytes, so an append
  // racing this flush is at worst counted as unflushed (and flushed again), never the reverse.
  const uint64_t target_bytes = appended_bytes_.load(std::memory_order_acquire);
  const int64_t target_end = log_end_offset();
  // A roll between reading target_end and here has already synced the older segment.
  const auto sync_start = std::chrono::steady_clock::now();
  absl::Status st = Active()->Sync();
  const int64_t sync_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - sync_start)
                              .count();
  FsyncLatencyMicros().Record(sync_us);
  // An exponential moving average over about the last 8 fsyncs (only flushes write it).
  const int64_t average = fsync_average_us_.load(std::memory_order_relaxed);
  fsync_average_us_.store(average + (sync_us - average) / 8, std::memory_order_relaxed);
  fsyncs_.fetch_add(1, std::memory_order_relaxed);
  if (!st.ok()) {
    Fail(st);
    return CheckWritable();
  }
  STRATA_RETURN_IF_ERROR(CheckWritable());  // a concurrent failure wins
  flushed_bytes_.store(target_bytes, std::memory_order_release);
  if (appended_bytes_.load(std::memory_order_acquire) == target_bytes) {
    dirty_since_ms_.store(0, std::memory_order_release);
  }
  if (options_.clock() - recovery_point_written_ms() >= limits::recovery_point_interval_ms) {
    // The fsync above made the data durable; the checkpoint only narrows what a later recovery
    // rescans. Failing to write it (a full disk) leaves the older, lower point, which is safe.
    CheckpointRecoveryPointOrWarn(target_end);
  }
  absl::MutexLock wlock(&waiters_mu_);
  durable_ = std::max(durable_, target_end);
  auto stop = waiters_.lower_bound(durable_);
  for (auto it = waiters_.begin(); it != stop; ++it) ready->push_back(std::move(it->second));
  waiters_.erase(waiters_.begin(), stop);
  return absl::OkStatus();
}

int64_t Log::recovery_point_written_ms() {
  absl::MutexLock lock(&recovery_point_mu_);
  return recovery_point_written_ms_;
}

absl::Status Log::FlushIfDue(int64_t now_ms) {
  const FlushPolicy& policy = options_.config.flush;
  uint64_t unflushed = appended_bytes_.load(std::memory_order_acquire) -
                       flushed_bytes_.load(std::memory_order_acquire);
  bool waiting = false;
  {
    absl::MutexLock lock(&waiters_mu_);
    waiting = !waiters_.empty() && durable_ < log_end_offset();
  }
  if (unflushed == 0 && !waiting) return absl::OkStatus();
  int64_t dirty_since = dirty_since_ms_.load(std::memory_order_acquire);
  // Someone waiting for durability makes a flush due whatever the policy: group commit.
  bool due = waiting || policy.always || (policy.bytes > 0 && unflushed >= policy.bytes) ||
             (policy.interval_ms > 0 && dirty_since != 0 &&
              now_ms - dirty_since >= policy.interval_ms);
  if (!due) return absl::OkStatus();
  return Flush();
}

bool Log::FlushPending() const {
  if (discarded_.load(std::memory_order_acquire)) return false;
  if (dirty_since_ms_.load(std::memory_order_acquire) != 0) return true;
  absl::MutexLock lock(&waiters_mu_);
  return !waiters_.empty();
}

absl::Status Log::WhenDurable(int64_t offset, DurableCallback done) {
  absl::Status refused;
  bool ready = false;
  {
    // Checked under waiters_mu_, which Fail and TruncateTo take after publishing their effect,
    // so a waiter can neither miss a failure nor outlive a truncation of its offset.
    absl::MutexLock lock(&waiters_mu_);
    if (discarded_.load(std::memory_order_acquire)) {
      return absl::AbortedError("the log was deleted");
    } else if (failed_.load(std::memory_order_acquire)) {
      refused = absl::FailedPreconditionError("the log has failed");
    } else if (offset >= log_end_offset()) {
      return absl::OutOfRangeError(absl::StrCat("offset ", offset, " is past the log end ",
                                                log_end_offset()));
    } else if (offset < durable_) {
      ready = true;
    } else if (waiters_.size() >= limits::durable_waiters_max) {
      return absl::ResourceExhaustedError(
          absl::StrCat("log ", options_.dir, " already has ", waiters_.size(),
                       " appends waiting for an fsync; retry after they complete"));
    } else {
      waiters_.emplace(offset, std::move(done));
    }
  }
  if (!refused.ok()) {
    done(CheckWritable());
  } else if (ready) {
    done(absl::OkStatus());
  } else if (options_.flusher != nullptr) {
    // Lead the group commit when nobody is flushing and fsyncs are quick; else the flusher does
    // it. A waiter that arrives during this thread's fsync finds flush_mu_ held and notifies the
    // flusher, which flushes again once this one is done.
    if (!MayLeadFlush() || !TryFlush()) options_.flusher->Notify(this);
  } else {
    // No flusher to serve the waiter: flush on this thread (group-committing whatever else is
    // waiting). A failure reaches the waiter through its callback.
    (void)Flush();
  }
  return absl::OkStatus();
}

std::future<absl::Status> Log::WaitDurable(int64_t offset) {
  auto promise = std::make_shared<std::promise<absl::Status>>();
  auto future = promise->get_future();
  absl::Status st = WhenDurable(offset, [promise](absl::Status s) { promise->set_value(s); });
  if (!st.ok()) promise->set_value(st);
  return future;
}

// --- Shutdown ---------------------------------------------------------------------------------

absl::Status Log::Close() {
  auto run_failed = absl::MakeCleanup([this] { RunFailedWaiters(); });
  std::vector<DurableCallback> ready;
  absl::Status st = CloseLocked(&ready);
  for (auto& done : ready) done(absl::OkStatus());
  return st;
}

absl::Status Log::CloseLocked(std::vector<DurableCallback>* ready) {
  stop_compaction_.store(true, std::memory_order_release);
  absl::MutexLock lock(&writer_mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  // Nothing changed since a clean open: the files and the marker are as that shutdown left them.
  if (clean_and_unchanged_) return absl::OkStatus();
  // A log that failed must not claim a clean shutdown: the next open has to recover from disk.
  STRATA_RETURN_IF_ERROR(health());
  {
    absl::MutexLock flush_lock(&flush_mu_);
    STRATA_RETURN_IF_ERROR(FlushLocked(ready));
    STRATA_RETURN_IF_ERROR(Active()->Seal(/*data_synced=*/true));
  }
  // No recovery point is written: with the marker there the next open trusts everything, and
  // once the marker goes (at the first change) the point last written is lower, which is safe.
  // An empty marker cannot be torn, so creating it and syncing the directory is enough. These
  // savings count at shutdown: every fsync here is paid by each of a broker's partitions.
  STRATA_ASSIGN_OR_RETURN(auto marker, options_.fs->Open(io::JoinPath(options_.dir,
                                                                      kCleanShutdownFile),
                                                         io::OpenMode::kCreate));
  return options_.fs->SyncDir(options_.dir);
}

void Log::Discard() {
  // A compaction pass stops at its next batch; wait for it, so that it writes nothing more.
  stop_compaction_.store(true, std::memory_order_release);
  { absl::MutexLock compaction_lock(&compaction_mu_); }
  std::vector<DurableCallback> orphans;
  {
    absl::MutexLock lock(&writer_mu_);
    closed_ = true;
    // After a flush in progress, and before any later one (FlushLocked refuses from here on):
    // a flush writes the recovery point into a directory about to be removed.
    absl::MutexLock flush_lock(&flush_mu_);
    discarded_.store(true, std::memory_order_release);
    absl::MutexLock waiters_lock(&waiters_mu_);
    for (auto& [offset, done] : waiters_) orphans.push_back(std::move(done));
    waiters_.clear();
  }
  for (auto& done : orphans) done(absl::AbortedError("the log was deleted"));
}

void Log::TEST_SetReadHook(absl::AnyInvocable<void()> hook) { read_hook_ = std::move(hook); }

void Log::TEST_Abandon() {
  absl::MutexLock lock(&writer_mu_);
  closed_ = true;
}

}  // namespace strata::log
