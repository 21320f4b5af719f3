// Partition: one partition of a topic: its log plus the idempotent-producer state that decides
// which appends are retries.
//
// Owns its log::Log (directory `<data_dir>/<topic>-<index>`) and a ProducerState rebuilt from the
// log on Open. Append is the leader's write path: the batch is verified first, outside any lock
// (record::VerifiedBatch); then, under the partition's lock, ProducerState::Check, and either the
// original offsets of a duplicate (nothing appended) or log::Log::Append and
// ProducerState::Update.
//
// This is the face the broker sees (docs/architecture.md): appends with typed errors, reads
// bounded by the high watermark, the leader epoch, and one wait for an offset to be committed
// under an acks policy. The broker never reaches into log(). With one node the high watermark is
// the log end and "committed" means durable (fsynced); with replicas both move to the in-sync
// replicas, behind this same face.
//
// Thread-safety: all methods are thread-safe. One mutex (mu_) serializes the whole
// check + append + update critical section of Append (and retention and Close, which change what
// the producer state must hold), so two retries of the same batch cannot both be appended.
// Readers (Read, OffsetForTimestamp, offsets) go straight to the log and never take mu_, and so
// does Compact for its whole pass (appends go on while it runs; see Compact for why the producer
// state needs no update).
// Without a log::Flusher, log::Log::Append fsyncs inline when its flush policy makes one due, and
// it does so inside this critical section: appends to the partition then wait for that fsync
// instead of group-committing. Servers pass a Flusher (which the flush_ms trigger needs anyway).
//
// Appends must go through Partition::Append (or AppendReplica): an append made on log() directly
// would not be recorded in the producer state until the next Open.
//
// Replication (docs/cluster.md). On a single broker a partition is its own leader for ever
// (Role::kSingle): the high watermark is the log end and acks=all means fsynced. In a cluster the
// replication layer (replication/) gives it a role: a leader appends producers' batches and its
// high watermark is set by replication/ from its followers' progress; a follower refuses
// producers and copies the leader's batches with their offsets and epochs (AppendReplica),
// truncating first where its log diverges (TruncateTo, EndOffsetForEpoch). Both keep the
// producer state and the leader epochs current, so a follower that becomes leader deduplicates
// producers' retries as its predecessor would.
#pragma once

#include <atomic>
#include <map>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/result.h"
#include "common/status.h"
#include "io/file_system.h"
#include "log/log.h"
#include "partition/leader_epochs.h"
#include "partition/producer_state.h"
#include "partition/topic_config.h"

namespace strata::log {
class Flusher;
}

namespace strata::partition {

// What the partitions of one broker share: the flusher and the caches of open files and mappings
// (log/handle_cache.h). Each is optional; a null one defaults as log::LogOptions says.
struct LogResources {
  log::Flusher* flusher = nullptr;
  log::AppendPath append_path = log::AppendPath::kWrite;
  log::MapCache* map_cache = nullptr;
  log::FileCache* file_cache = nullptr;
};

struct AppendResult {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  // True when the batch was a retry of one already in the log: nothing was appended and the
  // offsets are the ones it got the first time. (They may not be committed yet; a caller waits
  // with WhenCommitted(last_offset, ...) as for a fresh append.)
  bool duplicate = false;
};

// Why an append was refused; nothing was written in every case. Chosen by what the producer
// should do about it.
enum class AppendErrorCode {
  kCorruptBatch,           // malformed or damaged bytes (a checksum mismatch): resend
  kInvalidBatch,           // not exactly one batch, or a null key on a compacted topic: fix it
  kInvalidProducerFields,  // producer id, epoch and sequence are inconsistent: a client bug
  kBatchTooLarge,          // larger than the topic's segment_bytes: send smaller batches
  kOutOfOrderSequence,     // an idempotent producer skipped or repeated sequences
  kProducerFenced,         // a newer epoch of the producer id exists: this producer is stale
  kNoSpace,                // the disk is full; the partition still serves reads: retry later
  kStorageFailed,          // the log failed (an I/O error); appends stop until a restart
  kClosed,                 // the partition was closed: topic deleted or broker stopping
  kNotLeader,              // this replica is a follower (or was, for AppendReplica: a leader)
};

const char* AppendErrorName(AppendErrorCode code);

struct AppendError {
  AppendErrorCode code;
  std::string message;  // a sentence for a human
};

// How much of the cluster must hold an offset before its producer is told it is written.
enum class Acks : int8_t {
  kNone = 0,     // nothing: the producer does not wait for an answer
  kLeader = 1,   // the leader appended it (and fsynced it if the topic has flush=always)
  kAll = -1,     // committed: below the high watermark (in every in-sync replica) and fsynced on
                 // the leader; on a single broker, fsynced
};

enum class Role : uint8_t {
  kSingle,    // a broker without a cluster: leader for ever, high watermark = log end
  kLeader,    // the cluster's leader at leader_epoch(); replication/ sets the high watermark
  kFollower,  // copies the leader's batches; refuses producers
};

class Partition {
 public:
  // Opens (or creates) partition `index` of `topic` in `<data_dir>/<topic>-<index>` with
  // config.log, recovers its log (docs/recovery.md) and rebuilds the producer state from it.
  // InvalidArgument for a bad topic name, index or config; the log's errors otherwise.
  // What `resources` points to must outlive the partition.
  static absl::StatusOr<std::unique_ptr<Partition>> Open(io::FileSystem* fs,
                                                         const std::string& data_dir,
                                                         const std::string& topic, int32_t index,
                                                         const TopicConfig& config,
                                                         const LogResources& resources = {});
  ~Partition();

  // "<topic>-<index>": the partition's directory name under the data directory.
  static std::string DirName(const std::string& topic, int32_t index);

  // The leader's append. Verifies `batch` (outside the partition's lock), then assigns its
  // offsets: it is stamped in place with its base offset and leader_epoch() (unless it is a
  // duplicate, which is left untouched). AppendError says why not.
  Result<AppendResult, AppendError> Append(std::span<std::byte> batch);

  // The epoch of this partition's leadership, stamped into every batch appended. One node: 0.
  int32_t leader_epoch() const { return leader_epoch_.load(std::memory_order_acquire); }
  // A new leadership begins (replication). Epochs only grow; a smaller one is a bug (checked).
  void SetLeaderEpoch(int32_t epoch);

  // --- Replication (see the header comment) ---
  Role role() const { return role_.load(std::memory_order_acquire); }
  // This replica leads from `epoch` on: its log is fsynced, the epoch begins at the log end,
  // appends are accepted and stamped with it. The high watermark stays where it was until
  // replication/ moves it.
  // FailedPrecondition if the log holds batches of a newer epoch (data from another cluster).
  absl::Status BecomeLeader(int32_t epoch);
  // This replica follows a leader at `epoch`: producers are refused (kNotLeader), and acks=all
  // waits still pending fail with Unavailable (their batches may still be committed by the new
  // leader; an idempotent retry there finds them). WhenCommitted(kAll) on a replica that does
  // not lead fails the same way.
  absl::Status BecomeFollower(int32_t epoch);
  // A follower's append of one of the leader's batches, keeping its offsets and epoch (the
  // leader's compacted batches too). Returns the new log end. kCorruptBatch/kInvalidBatch for
  // bad bytes; kNotLeader if this replica is not a follower; kStorageFailed for a gap or an
  // overlap with the log end (the fetcher asked from the log end, so either is a bug upstream).
  Result<int64_t, AppendError> AppendReplica(std::span<std::byte> batch);
  // A follower's truncation where its log diverges from the leader's: removes every batch from
  // the one containing `offset` on, and forgets them in the producer state and leader epochs.
  absl::Status TruncateTo(int64_t offset);
  // KIP-279's answer for `epoch` from this log (LeaderEpochs::EndOffsetFor).
  EpochEnd EndOffsetForEpoch(int32_t epoch) const;
  // The epoch of the last batch in the log, or of this replica's own election if later; -1 for
  // an empty log that never led.
  int32_t last_epoch() const;
  // Moves the high watermark of a replicated partition forward (a leader's from its ISR, a
  // follower's from its leader's answers) and completes the acks=all waits it passes. A value at
  // or below the current one changes nothing (only TruncateTo lowers it).
  void AdvanceHighWatermark(int64_t high_watermark);

  // Consumers read below it: every offset below it is committed. One node: the log end.
  int64_t high_watermark() const {
    return role() == Role::kSingle ? log_->log_end_offset()
                                   : high_watermark_.load(std::memory_order_acquire);
  }

  // Whether `offset` is committed under `acks` (see Acks).
  bool IsCommitted(int64_t offset, Acks acks) const;
  // Calls `done` once `offset` is committed under `acks`, at once (on this thread) if it is
  // already, else from the thread that commits it, with OK or the error that prevents it (the
  // log failed or closed; ResourceExhausted when too many appends wait). The caller owns the
  // deadline (broker/commit_wait.h). Returns an error instead of calling `done` if the wait
  // cannot be registered.
  absl::Status WhenCommitted(int64_t offset, Acks acks, log::DurableCallback done);

  // Pass-throughs to the log (log/log.h).
  absl::StatusOr<log::ReadResult> Read(int64_t offset, size_t max_bytes) const {
    return log_->Read(offset, max_bytes);
  }
  absl::StatusOr<std::optional<int64_t>> OffsetForTimestamp(int64_t ts_ms) const {
    return log_->OffsetForTimestamp(ts_ms);
  }
  int64_t log_start_offset() const { return log_->log_start_offset(); }
  int64_t log_end_offset() const { return log_->log_end_offset(); }
  size_t segment_count() const { return log_->Segments().size(); }

  // Deletes segments past retention (log::Log::ApplyRetention) and forgets the producer batches
  // they held, so the producer state stays what a rebuild after a restart would give. A topic
  // with cleanup_policy=compact keeps the newest record of every key instead: nothing is deleted
  // (an empty result), as in Kafka.
  absl::StatusOr<log::RetentionResult> ApplyRetention();

  // One compaction pass over the log (log::Log::Compact) with the topic's delete_retention_ms and
  // the clock reading `now_ms`, for a topic with cleanup_policy=compact; the broker calls it from
  // a background thread. Appends and reads go on meanwhile.
  //   FailedPrecondition the topic's cleanup_policy is delete
  //   Unavailable        the partition is closed
  //   others             log::Log::Compact's (Aborted: try again on the next round)
  // The producer state is left alone: compaction keeps every producer's last batch in each
  // cleaned group (as an empty batch if need be), so a rebuild after a restart still finds each
  // producer's epoch and last sequence and the producer continues its sequence. The live table
  // may remember more than such a rebuild: up to 5 recent batches per producer whose records
  // compaction removed. A retry of one of those is still acknowledged as a duplicate with the
  // offsets it was given (which is true: it was appended, and later superseded); after a restart
  // the same retry gets OutOfRange. Producers retry only their newest batches, which live in the
  // active segment, where compaction never goes, so this needs no action.
  absl::StatusOr<log::CompactionResult> Compact(int64_t now_ms);

  // Closes the log cleanly; every later Append fails with Unavailable. Idempotent.
  absl::Status Close();
  // Closes the log without writing anything (log::Log::Discard), for a partition whose files are
  // about to be removed; every later Append fails with Unavailable.
  void Discard();

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  CleanupPolicy cleanup_policy() const { return cleanup_policy_; }
  // The log, for tools and tests. Not for appends (see above), and not for the broker, which
  // uses the face above so that replication can change what it means.
  log::Log& log() { return *log_; }
  const log::Log& log() const { return *log_; }

  // A copy of one producer's tracked state (tests and tools).
  std::optional<ProducerState::ProducerInfo> FindProducer(int64_t producer_id) const;

 private:
  Partition(std::string topic, int32_t index, const TopicConfig& config,
            std::unique_ptr<log::Log> log)
      : topic_(std::move(topic)),
        index_(index),
        cleanup_policy_(config.cleanup_policy),
        delete_retention_ms_(config.delete_retention_ms),
        flush_always_(config.log.flush.always),
        segment_bytes_(config.log.segment_bytes),
        log_(std::move(log)) {}

  AppendError StorageError(const absl::Status& st) const;
  absl::Status CheckEpochLocked(int32_t epoch) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What an acks policy waits for beyond the append: the fsync, or nothing.
  bool DurableNeeded(Acks acks) const;
  // acks=all on a replicated partition also waits for the high watermark.
  bool ReplicationNeeded(Acks acks) const { return acks == Acks::kAll && role() != Role::kSingle; }

  const std::string topic_;
  const int32_t index_;
  // As opened; an altered config applies from the next Open, like the log settings.
  const CleanupPolicy cleanup_policy_;
  const int64_t delete_retention_ms_;
  const bool flush_always_;
  const uint64_t segment_bytes_;
  const std::unique_ptr<log::Log> log_;
  std::atomic<int32_t> leader_epoch_{0};  // thread-safe itself; appended to only under mu_
  std::atomic<Role> role_{Role::kSingle};  // changed only under mu_
  std::atomic<int64_t> high_watermark_{0};  // replicated partitions; changed under hw_mu_

  mutable absl::Mutex mu_;
  ProducerState producer_state_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  LeaderEpochs epochs_ ABSL_GUARDED_BY(mu_);

  // acks=all waits for the high watermark: offset -> callbacks, completed as it passes them.
  absl::Mutex hw_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::multimap<int64_t, log::DurableCallback> hw_waiters_ ABSL_GUARDED_BY(hw_mu_);
};

}  // namespace strata::partition
