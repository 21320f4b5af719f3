// Log: the ordered, segmented, durable record log of one partition.
//
// Owns a directory of segments (segment.h). The last segment is active: appends go there, and it
// rolls when full or old. Offsets are assigned by the log for a leader (Append) or given by the
// batch for a follower (AppendWithOffsets). Reads return whole batches as zero-copy views.
// Durability follows the LogConfig flush policy; fsyncs are group-committed and waiters are told
// through WhenDurable/WaitDurable. Recovery rules live in docs/recovery.md.
//
// Thread-safety: all methods are thread-safe. Writers (Append*, TruncateTo, Roll, ApplyRetention,
// Close) are serialized by writer_mu_; readers (Read, OffsetForTimestamp, accessors) never take
// it and never block a writer for longer than copying a shared_ptr out of the segment list.
// Flush may run concurrently with appends. Compact (log/compaction.h) runs one pass at a time
// beside all of them and takes writer_mu_ only to swap a cleaned segment in. As for every method,
// the Log must outlive a running Compact; Close makes a running pass stop early.
//
// Invariant: a failed write or fsync makes the log refuse every later append and flush (with
// FailedPrecondition naming the first failure) until it is reopened, which recovers from disk.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "io/file_system.h"
#include "log/compaction.h"
#include "log/log_config.h"
#include "log/handle_cache.h"
#include "log/segment.h"
#include "record/batch.h"

namespace strata::log {

class Flusher;

struct LogOptions {
  io::FileSystem* fs = nullptr;  // default: io::RealFileSystem()
  std::string dir;               // the partition directory, created if missing
  LogConfig config;
  Clock clock;                   // default: SystemClock()
  MapCache* map_cache = nullptr;    // default: DefaultMapCache()
  FileCache* file_cache = nullptr;  // default: DefaultFileCache()
  Flusher* flusher = nullptr;    // optional: time-based flushes and group commit off-thread
  AppendPath append_path = AppendPath::kWrite;
  Prefaulter* prefaulter = nullptr;  // kMapping only; default: Prefaulter::Default()
  // With a flusher: a thread waiting in WhenDurable, or appending under flush=always, while no
  // fsync runs fsyncs itself when recent fsyncs took at most limits::lead_fsync_max_us.
  // Off: the flusher does every fsync.
  bool waiter_leads_flush = true;
};

struct AppendResult {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int64_t max_timestamp = 0;
};

struct SegmentInfo {
  int64_t base_offset = 0;
  int64_t next_offset = 0;
  uint64_t size_bytes = 0;
  int64_t max_timestamp = 0;
  bool active = false;
  std::string path;
};

struct RetentionResult {
  int segments_deleted = 0;
  uint64_t bytes_deleted = 0;
};

// What Open found: how recovery went (for logs and tools).
struct RecoveryInfo {
  bool clean_shutdown = false;
  int segments_scanned = 0;
  // A crash left damaged unsynced bytes above the recovery point; the log was cut there.
  bool torn_tail_truncated = false;
  std::string torn_tail_file;
  uint64_t torn_tail_position = 0;
  int segments_dropped_after_torn_tail = 0;
};

using DurableCallback = absl::AnyInvocable<void(absl::Status)>;

class Log {
 public:
  // Opens (or creates) the log in options.dir and recovers it (docs/recovery.md).
  // DataLoss naming the file and position when a segment is corrupt in the middle.
  static absl::StatusOr<std::unique_ptr<Log>> Open(LogOptions options);
  ~Log();

  // Clean shutdown: flushes, writes the active segment's index files, trims it, and writes the
  // clean-shutdown marker. The log refuses appends afterwards. Called by the destructor if needed.
  absl::Status Close();

  // Leader append: stamps base_offset = log end and `leader_epoch` into `batch` in place, and
  // appends it. The batch was verified (record::VerifiedBatch) before the call, outside any lock;
  // the log's critical section only assigns offsets and copies.
  //   InvalidArgument    larger than the segment size
  //   ResourceExhausted  no disk space (io::IsNoSpace); nothing written, the log stays healthy
  //   FailedPrecondition the log failed earlier or is closed
  absl::StatusOr<AppendResult> Append(record::VerifiedBatch& batch, int32_t leader_epoch);
  // Verifies `batch` as a producer's (record::AppendRules{}), then Append. For callers that hold
  // raw bytes (tools, tests); DataLoss or InvalidArgument from the verification, nothing written.
  absl::StatusOr<AppendResult> Append(std::span<std::byte> batch, int32_t leader_epoch);
  // Follower append: the batch keeps its offsets, and its base offset must equal the log end.
  // Compacted batches (a leader's compacted log) are accepted.
  //   OutOfRange      a gap (base offset past the log end)
  //   InvalidArgument an overlap (base offset below the log end; truncate first)
  absl::StatusOr<AppendResult> AppendWithOffsets(const record::VerifiedBatch& batch);
  // Verifies `batch` (compacted batches allowed), then AppendWithOffsets.
  absl::StatusOr<AppendResult> AppendWithOffsets(std::span<std::byte> batch);

  // Whole batches from the first one whose last offset is >= `offset`, up to max_bytes (but
  // always at least one batch so a consumer makes progress), from one segment. After compaction
  // that batch may start past `offset` (offsets compaction removed are skipped, not errors).
  // An empty result at the log end.
  //   OutOfRange  offset below the log start or past the log end
  absl::StatusOr<ReadResult> Read(int64_t offset, size_t max_bytes) const;
  // The first offset whose record timestamp is >= ts_ms; nullopt when every record is older.
  absl::StatusOr<std::optional<int64_t>> OffsetForTimestamp(int64_t ts_ms) const;

  int64_t log_start_offset() const { return log_start_.load(std::memory_order_acquire); }
  int64_t log_end_offset() const { return log_end_.load(std::memory_order_acquire); }
  // Every offset below this is fsynced.
  int64_t durable_offset() const;

  // Removes the batch containing `offset` (or, in a gap compaction left, the first batch after
  // it) and everything after it (a follower truncating to its leader's epoch end). The log end
  // becomes the end of the last batch that remains: that batch's base offset unless compaction
  // left a gap before it. A no-op at or past the end.
  //   OutOfRange  offset below the log start
  absl::Status TruncateTo(int64_t offset);
  // Seals the active segment and starts a new one (no-op when the active segment is empty).
  absl::Status Roll();
  // Deletes whole sealed segments past retention_bytes / retention_ms and advances the log start.
  absl::StatusOr<RetentionResult> ApplyRetention();

  // One compaction pass (log/compaction.h): keeps the newest record of each key, as of the
  // durable offset at the start of the pass, in every sealed segment, and drops tombstones past
  // options.delete_retention_ms. Appends and reads go on meanwhile; readers see each batch either
  // as it was or as cleaned, never torn. Crash-safe (docs/recovery.md). A failure before a cleaned
  // segment is committed leaves the log as it was (and taking writes); once committed, only a
  // failing rename, unlink or directory fsync can fail the log (recovery finishes the swap).
  //   Aborted            another pass is running, or retention, truncation or Close changed the
  //                      segments meanwhile (the segments cleaned before that stay cleaned)
  //   ResourceExhausted  the first sealed segment alone holds more than options.keys_max keys
  //   InvalidArgument    negative delete_retention_ms
  //   FailedPrecondition the log failed earlier or is closed
  //   other              the I/O error that stopped the pass (the log still takes writes)
  absl::StatusOr<CompactionResult> Compact(const CompactionOptions& options);

  // fsyncs the active segment now and completes the waiters it covers.
  absl::Status Flush();
  // Flushes if the policy says one is due at `now_ms` (called by a Flusher).
  absl::Status FlushIfDue(int64_t now_ms);
  // Whether anything is unflushed or waits for durability (the Flusher keeps visiting the log).
  bool FlushPending() const;
  // Calls `done` once every offset <= `offset` is durable (or with the error that prevents it:
  // FailedPrecondition after an I/O failure, Aborted if the offset is truncated first).
  // ResourceExhausted when limits::durable_waiters_max appends are already waiting.
  // Who fsyncs: without a flusher, the caller. With one, the caller too when no fsync is running
  // and fsyncs are fast (LogOptions::waiter_leads_flush); otherwise the flusher, which also picks
  // up waiters that arrive while an fsync runs (group commit).
  // Callbacks run on the thread that completes them (an appender, a flusher or the caller) with
  // no log lock held; they may append or flush but must not block (on another log's durability,
  // say) or destroy a Log: on a Flusher's thread that would stall or deadlock every log it serves.
  absl::Status WhenDurable(int64_t offset, DurableCallback done);
  std::future<absl::Status> WaitDurable(int64_t offset);

  absl::Status health() const;
  // fsyncs of this log since it was opened (a group commit counts once).
  uint64_t fsync_count() const { return fsyncs_.load(std::memory_order_relaxed); }
  std::vector<SegmentInfo> Segments() const;
  uint64_t size_bytes() const;
  const RecoveryInfo& recovery() const { return recovery_; }
  const std::string& dir() const { return options_.dir; }
  const LogConfig& config() const { return options_.config; }

  // File names inside a log directory.
  static constexpr const char* kCleanShutdownFile = "clean-shutdown";
  static constexpr const char* kRecoveryPointFile = "recovery-point";
  // Suffixes of compaction's output: "<base>.log.cleaned" while it is written (recovery deletes
  // it), "<base>.log.swap" once committed (recovery completes the swap). docs/format.md.
  static constexpr const char* kCleanedSuffix = ".cleaned";
  static constexpr const char* kSwapSuffix = ".swap";

  // The recovery point stored in `dir`: every offset below it was fsynced when it was written
  // (0 when there is none). Recovery trusts data below it and treats damage above it as a torn
  // tail; see docs/recovery.md.
  // nullopt when there is no readable recovery point.
  static absl::StatusOr<std::optional<int64_t>> ReadRecoveryPoint(io::FileSystem& fs,
                                                                  const std::string& dir);

  // Stops the log without flushing or writing any file, for a log whose directory is about to be
  // removed (its topic deleted): a clean Close would fsync and write index files only for them to
  // be deleted. Appends waiting for durability are told Aborted. Later calls fail as after Close.
  void Discard();

  // Simulates the process dying: the log stops without flushing, sealing or writing the
  // clean-shutdown marker. Crash tests call this before dropping the object.
  void TEST_Abandon();
  // Called by Read after it has checked the offset against the log end and before it looks up
  // the segment, so a test can change the log right there. Set it while no Read runs.
  void TEST_SetReadHook(absl::AnyInvocable<void()> hook);
  // Called by Compact at each step of writing and swapping in a cleaned segment. Returning true
  // stops the pass right there, as if the process died (nothing is cleaned up): crash tests then
  // abandon the log, crash the file system and reopen. From kSwapRenamed on the hook runs with
  // writer_mu_ held and must not call the log; before that it may (to race retention, say).
  void TEST_SetCompactionHook(absl::AnyInvocable<bool(CompactionStep)> hook);

 private:
  explicit Log(LogOptions options);
  absl::Status Recover();
  // Recovery of compaction's leftovers in `names` (docs/recovery.md rules 11, 12): deletes
  // .cleaned files and completes committed .swap files. Returns the bases of segments a swap
  // produced, whose indexes recovery must rebuild.
  absl::StatusOr<std::vector<int64_t>> RecoverCompactionFiles(
      const std::vector<std::string>& names);

  // Compaction (log_compaction.cc).
  absl::StatusOr<CompactionResult> CompactLocked(const CompactionOptions& options)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  // Adds the keys of `seg`'s batches below map_end to `keys`. Returns the offset of the first
  // record whose key did not fit (the map is full), or nullopt when all did.
  absl::StatusOr<std::optional<int64_t>> AddToKeyMap(const Segment& seg, int64_t map_end,
                                                     KeyMap& keys) const;
  // Cleans one group of consecutive sealed segments into one and swaps it in.
  absl::Status CleanGroup(const std::vector<std::shared_ptr<Segment>>& group, const KeyMap& keys,
                          const CompactionOptions& options, int64_t truncations,
                          CompactionResult& result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  // Commits `cleaned` in place of `group` (rename to .swap, swap in memory, delete the old files,
  // rename to .log). Aborted, touching nothing, if the segments changed since the pass began.
  absl::Status SwapIn(const std::vector<std::shared_ptr<Segment>>& group,
                      std::shared_ptr<Segment> cleaned, int64_t truncations)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  absl::Status CheckGroupUnchanged(const std::vector<std::shared_ptr<Segment>>& group,
                                   int64_t truncations) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // True when the test hook says to stop at `step`.
  bool TEST_StopAt(CompactionStep step) ABSL_EXCLUSIVE_LOCKS_REQUIRED(compaction_mu_);
  // Removes the files of segments bases[from..] and syncs the directory (recovery only).
  absl::Status DeleteSegmentFiles(const std::vector<int64_t>& bases, size_t from);
  // The critical section of both appends: the log takes writes, the batch fits a segment; rolls
  // if due, reserves room, copies the batch (stamped already) and publishes the new log end.
  absl::StatusOr<AppendResult> AppendChecked(const record::VerifiedBatch& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  absl::Status RollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  absl::Status MaybeRollFor(uint64_t batch_bytes, int32_t last_offset_delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // Durably records that every offset below `offset` is fsynced (the recovery point). Only
  // truncation may lower it.
  absl::Status CheckpointRecoveryPoint(int64_t offset, bool may_lower = false);
  // Removes the clean-shutdown marker, durably, before the first change to the log's files since
  // it was opened after a clean shutdown (docs/recovery.md rule 1). Every method that changes
  // the files calls it first; a no-op once done.
  absl::Status ForgetCleanShutdown() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  // A checkpoint that only narrows what a recovery rescans: a failure (a full disk) leaves the
  // older point, which is safe, and is logged once until a checkpoint succeeds again.
  void CheckpointRecoveryPointOrWarn(int64_t offset);
  absl::Status CheckWritable() const;
  // Makes the log sticky-failed. Its waiters are completed (with the error) by RunFailedWaiters,
  // which every public method runs on its way out, after releasing its locks.
  void Fail(const absl::Status& cause);
  void RunFailedWaiters();
  absl::Status FlushLocked(std::vector<DurableCallback>* ready)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_);
  // Whether a thread that appends to (flush=always) or waits on this log may fsync it itself.
  bool MayLeadFlush() const;
  // Flushes on this thread if no other flush is running; false if one is.
  bool TryFlush();
  absl::Status CloseLocked(std::vector<DurableCallback>* ready);
  int64_t recovery_point_written_ms();
  void AfterAppend(uint64_t bytes);
  std::shared_ptr<Segment> Active() const;
  std::shared_ptr<Segment> SegmentFor(int64_t offset) const;
  std::vector<std::shared_ptr<Segment>> SnapshotSegments() const;
  SegmentEnv Env() const;

  LogOptions options_;
  RecoveryInfo recovery_;

  // Held for a whole compaction pass: one at a time per log.
  absl::Mutex compaction_mu_ ABSL_ACQUIRED_BEFORE(writer_mu_);
  absl::AnyInvocable<bool(CompactionStep)> compaction_hook_ ABSL_GUARDED_BY(compaction_mu_);
  mutable absl::AnyInvocable<void()> read_hook_;  // TEST_SetReadHook
  // Set by Discard (under flush_mu_ and waiters_mu_): no flush and no new waiter from then on.
  std::atomic<bool> discarded_{false};
  // Set by Close: a running pass stops at its next batch.
  std::atomic<bool> stop_compaction_{false};

  absl::Mutex writer_mu_ ABSL_ACQUIRED_BEFORE(flush_mu_);
  // Truncations so far: a compaction pass that sees this change gives up, since the newer copies
  // its key map counted on may be gone.
  int64_t truncations_ ABSL_GUARDED_BY(writer_mu_) = 0;
  // True until Recover succeeds, and after Close.
  bool closed_ ABSL_GUARDED_BY(writer_mu_) = true;
  // Opened after a clean shutdown, and its files have not changed since: the marker is still
  // there (ForgetCleanShutdown) and Close has nothing to write.
  bool clean_and_unchanged_ ABSL_GUARDED_BY(writer_mu_) = false;
  // Wall-clock ms of the active segment's first append (0 while empty); segment_ms counts from it.
  int64_t active_since_ms_ ABSL_GUARDED_BY(writer_mu_) = 0;

  mutable absl::Mutex segments_mu_;
  std::vector<std::shared_ptr<Segment>> segments_ ABSL_GUARDED_BY(segments_mu_);

  std::atomic<int64_t> log_start_{0};
  std::atomic<int64_t> log_end_{0};

  // Flush state. flush_mu_ serializes fsyncs; waiters_mu_ guards the waiters and durable_.
  absl::Mutex flush_mu_ ABSL_ACQUIRED_BEFORE(waiters_mu_);
  mutable absl::Mutex waiters_mu_;
  int64_t durable_ ABSL_GUARDED_BY(waiters_mu_) = 0;  // offsets below are durable
  std::multimap<int64_t, DurableCallback> waiters_ ABSL_GUARDED_BY(waiters_mu_);
  std::vector<DurableCallback> failed_waiters_ ABSL_GUARDED_BY(waiters_mu_);
  std::atomic<uint64_t> appended_bytes_{0};  // total ever appended
  std::atomic<uint64_t> flushed_bytes_{0};   // appended_bytes_ as of the last fsync's start
  std::atomic<int64_t> dirty_since_ms_{0};   // when unflushed data first appeared; 0 = clean
  std::atomic<uint64_t> fsyncs_{0};
  std::atomic<int64_t> fsync_average_us_{0};  // moving average of this log's fsync latency

  absl::Mutex recovery_point_mu_ ABSL_ACQUIRED_AFTER(flush_mu_, writer_mu_);
  int64_t recovery_point_ ABSL_GUARDED_BY(recovery_point_mu_) = -1;
  int64_t recovery_point_written_ms_ ABSL_GUARDED_BY(recovery_point_mu_) = 0;
  std::atomic<bool> checkpoint_failing_{false};

  // The first write or fsync failure; sticky.
  mutable absl::Mutex fail_mu_;
  absl::Status failure_ ABSL_GUARDED_BY(fail_mu_);
  std::atomic<bool> failed_{false};
};

}  // namespace strata::log
