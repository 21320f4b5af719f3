#include "partition/partition.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/logging.h"
#include "log/batch_scan.h"

namespace strata::partition {
const char* AppendErrorName(AppendErrorCode code) {
  switch (code) {
    case AppendErrorCode::kCorruptBatch: return "corrupt batch";
    case AppendErrorCode::kInvalidBatch: return "invalid batch";
    case AppendErrorCode::kInvalidProducerFields: return "invalid producer fields";
    case AppendErrorCode::kBatchTooLarge: return "batch too large";
    case AppendErrorCode::kOutOfOrderSequence: return "out of order sequence";
    case AppendErrorCode::kProducerFenced: return "producer fenced";
    case AppendErrorCode::kNoSpace: return "no space";
    case AppendErrorCode::kStorageFailed: return "storage failed";
    case AppendErrorCode::kClosed: return "closed";
    case AppendErrorCode::kNotLeader: return "not leader";
  }
  return "unknown";
}

std::string Partition::DirName(const std::string& topic, int32_t index) {
  return absl::StrCat(topic, "-", index);
}

absl::StatusOr<std::unique_ptr<Partition>> Partition::Open(io::FileSystem* fs,
                                                           const std::string& data_dir,
                                                           const std::string& topic, int32_t index,
                                                           const TopicConfig& config,
                                                           const LogResources& resources) {
  STRATA_RETURN_IF_ERROR(ValidateTopicName(topic));
  STRATA_RETURN_IF_ERROR(config.Validate());
  if (index < 0 || index >= config.partitions) {
    return absl::InvalidArgumentError(absl::StrCat("partition ", index, " of topic ", topic,
                                                   " is outside [0, ", config.partitions, ")"));
  }
  log::LogOptions options;
  options.fs = fs;
  options.dir = io::JoinPath(data_dir, DirName(topic, index));
  options.config = config.log;
  options.flusher = resources.flusher;
  options.append_path = resources.append_path;
  options.map_cache = resources.map_cache;
  options.file_cache = resources.file_cache;
  STRATA_ASSIGN_OR_RETURN(std::unique_ptr<log::Log> log, log::Log::Open(std::move(options)));
  const log::RecoveryInfo& recovery = log->recovery();
  if (!recovery.clean_shutdown && recovery.segments_scanned > 0) {
    LogEvent(LogLevel::kInfo,
             absl::StrCat("partition ", DirName(topic, index),
                          " recovered after an unclean shutdown: scanned ",
                          recovery.segments_scanned, " segment(s), log end offset ",
                          log->log_end_offset(),
                          recovery.torn_tail_truncated ? "; a torn tail was cut" : ""));
  }
  std::unique_ptr<Partition> partition(new Partition(topic, index, config, std::move(log)));
  {
    // One pass over the batch headers rebuilds both the producers' table and the epochs.
    Partition& p = *partition;
    absl::MutexLock lock(&p.mu_);
    p.producer_state_.Clear();
    STRATA_RETURN_IF_ERROR(log::ForEachBatchHeader(
        *p.log_, p.log_->log_start_offset(), [&p](const record::BatchHeader& h) {
          p.mu_.AssertHeld();
          p.producer_state_.Update(h, h.base_offset, h.last_offset());
          p.epochs_.Assign(h.leader_epoch, h.base_offset);
        }));
    // The epoch of the last batch, so that a restarted single broker keeps stamping it.
    if (p.epochs_.latest() > 0) p.leader_epoch_.store(p.epochs_.latest());
  }
  return partition;
}

Partition::~Partition() {
  absl::Status st = Close();
  if (!st.ok()) {
    LogEvent(LogLevel::kError,
             absl::StrCat("closing partition ", DirName(topic_, index_), ": ", st.ToString()));
  }
}

Result<AppendResult, AppendError> Partition::Append(std::span<std::byte> batch) {
  // Everything about the bytes themselves, before the lock: the critical section below only
  // decides on the producer, assigns offsets and copies.
  absl::StatusOr<record::VerifiedBatch> verified = record::VerifiedBatch::Verify(
      batch, {.dense = true, .keys_required = cleanup_policy_ == CleanupPolicy::kCompact});
  if (!verified.ok()) {
    return AppendError{absl::IsDataLoss(verified.status()) ? AppendErrorCode::kCorruptBatch
                                                           : AppendErrorCode::kInvalidBatch,
                       std::string(verified.status().message())};
  }
  if (verified->size() > segment_bytes_) {
    return AppendError{AppendErrorCode::kBatchTooLarge,
                       absl::StrCat("batch of ", verified->size(),
                                    " bytes is larger than the topic's segment_bytes (",
                                    segment_bytes_, "); send smaller batches")};
  }
  const record::BatchHeader& header = verified->header();

  absl::MutexLock lock(&mu_);
  if (closed_) {
    return AppendError{AppendErrorCode::kClosed,
                       absl::StrCat("partition ", DirName(topic_, index_), " is closed")};
  }
  if (role() == Role::kFollower) {
    return AppendError{AppendErrorCode::kNotLeader,
                       absl::StrCat("this broker holds a follower replica of ",
                                    DirName(topic_, index_), " (leader epoch ", leader_epoch(),
                                    ")")};
  }
  absl::StatusOr<ProducerCheck> check = producer_state_.Check(header);
  if (!check.ok()) {
    // producer_state.h: each code has one meaning at that layer.
    const absl::Status& st = check.status();
    AppendErrorCode code = absl::IsOutOfRange(st)           ? AppendErrorCode::kOutOfOrderSequence
                           : absl::IsFailedPrecondition(st) ? AppendErrorCode::kProducerFenced
                                                            : AppendErrorCode::kInvalidProducerFields;
    return AppendError{code, std::string(st.message())};
  }
  if (check->decision == ProducerDecision::kDuplicate) {
    return AppendResult{check->base_offset, check->last_offset, /*duplicate=*/true};
  }
  absl::StatusOr<log::AppendResult> appended = log_->Append(*verified, leader_epoch());
  if (!appended.ok()) return StorageError(appended.status());
  producer_state_.Update(header, appended->base_offset, appended->last_offset);
  return AppendResult{appended->base_offset, appended->last_offset, /*duplicate=*/false};
}

AppendError Partition::StorageError(const absl::Status& st) const {
  if (io::IsNoSpace(st) && log_->health().ok()) {
    return AppendError{AppendErrorCode::kNoSpace,
                       absl::StrCat("no disk space left for partition ", DirName(topic_, index_),
                                    "; nothing was written, and the partition still serves "
                                    "reads (", st.message(), ")")};
  }
  return AppendError{AppendErrorCode::kStorageFailed,
                     absl::StrCat("partition ", DirName(topic_, index_), ": ", st.ToString())};
}

void Partition::SetLeaderEpoch(int32_t epoch) {
  const int32_t previous = leader_epoch_.exchange(epoch, std::memory_order_acq_rel);
  STRATA_CHECK(epoch >= previous) << "leader epoch of " << DirName(topic_, index_) << " went from "
                                  << previous << " back to " << epoch;
}

bool Partition::DurableNeeded(Acks acks) const {
  return acks == Acks::kAll || (acks == Acks::kLeader && flush_always_);
}

bool Partition::IsCommitted(int64_t offset, Acks acks) const {
  if (ReplicationNeeded(acks) && offset >= high_watermark()) return false;
  return !DurableNeeded(acks) || offset < log_->durable_offset();
}

absl::Status Partition::WhenCommitted(int64_t offset, Acks acks, log::DurableCallback done) {
  if (!DurableNeeded(acks)) {
    done(absl::OkStatus());
    return absl::OkStatus();
  }
  if (ReplicationNeeded(acks)) {
    absl::ReleasableMutexLock lock(&hw_mu_);
    if (role() != Role::kLeader) {
      return absl::UnavailableError(absl::StrCat(
          "this broker no longer leads ", DirName(topic_, index_)));
    }
    if (offset >= high_watermark_.load(std::memory_order_acquire)) {
      // Two waits at once, the fsync here and the followers' copies, so that the slower one is
      // the whole wait rather than their sum; `done` hears once, after both or the first error.
      struct Both {
        absl::Mutex mu;
        int pending ABSL_GUARDED_BY(mu) = 2;
        log::DurableCallback done ABSL_GUARDED_BY(mu);
      };
      auto both = std::make_shared<Both>();
      {
        absl::MutexLock both_lock(&both->mu);
        both->done = std::move(done);
      }
      auto arrive = [both](absl::Status st) {
        log::DurableCallback done;
        {
          absl::MutexLock both_lock(&both->mu);
          if (both->done == nullptr) return;  // an error already ended the wait
          if (st.ok() && --both->pending > 0) return;
          done = std::move(both->done);
          both->done = nullptr;
        }
        done(std::move(st));
      };
      hw_waiters_.emplace(offset, arrive);
      // WhenDurable may complete inline (already durable, or this thread leads the fsync): not
      // under hw_mu_, which a completion path may need. It refuses (too many waiters, a failed
      // log) by returning an error instead of calling.
      lock.Release();
      absl::Status st = log_->WhenDurable(offset, arrive);
      if (!st.ok()) arrive(std::move(st));
      return absl::OkStatus();
    }
  }
  // The log calls `done` at once if the offset is durable already.
  return log_->WhenDurable(offset, std::move(done));
}

absl::Status Partition::CheckEpochLocked(int32_t epoch) const {
  if (epoch >= leader_epoch()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "partition ", DirName(topic_, index_), " holds batches of leader epoch ", leader_epoch(),
      ", newer than the cluster's epoch ", epoch, "; was its data copied from another cluster?"));
}

absl::Status Partition::BecomeLeader(int32_t epoch) {
  absl::MutexLock lock(&mu_);
  STRATA_RETURN_IF_ERROR(CheckEpochLocked(epoch));
  // What this replica copied as a follower may be in its page cache only; from now on it is the
  // record others copy, so it goes to disk first (docs/cluster.md#what-each-acks-setting-guarantees).
  STRATA_RETURN_IF_ERROR(log_->Flush());
  SetLeaderEpoch(epoch);
  epochs_.Assign(epoch, log_->log_end_offset());
  absl::MutexLock hw_lock(&hw_mu_);
  if (role() == Role::kSingle) {
    high_watermark_.store(log_->log_end_offset(), std::memory_order_release);
  }
  role_.store(Role::kLeader, std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Partition::BecomeFollower(int32_t epoch) {
  std::multimap<int64_t, log::DurableCallback> orphaned;
  {
    absl::MutexLock lock(&mu_);
    STRATA_RETURN_IF_ERROR(CheckEpochLocked(epoch));
    SetLeaderEpoch(epoch);
    absl::MutexLock hw_lock(&hw_mu_);
    if (role() == Role::kSingle) {
      high_watermark_.store(log_->log_end_offset(), std::memory_order_release);
    }
    role_.store(Role::kFollower, std::memory_order_release);
    orphaned.swap(hw_waiters_);
  }
  for (auto& [offset, done] : orphaned) {
    done(absl::UnavailableError(
        absl::StrCat("this broker no longer leads ", DirName(topic_, index_),
                     "; the batch may still be committed by the new leader")));
  }
  return absl::OkStatus();
}

Result<int64_t, AppendError> Partition::AppendReplica(std::span<std::byte> batch) {
  absl::StatusOr<record::VerifiedBatch> verified =
      record::VerifiedBatch::Verify(batch, {.dense = false, .keys_required = false});
  if (!verified.ok()) {
    return AppendError{absl::IsDataLoss(verified.status()) ? AppendErrorCode::kCorruptBatch
                                                           : AppendErrorCode::kInvalidBatch,
                       std::string(verified.status().message())};
  }
  const record::BatchHeader& header = verified->header();
  absl::MutexLock lock(&mu_);
  if (closed_) {
    return AppendError{AppendErrorCode::kClosed,
                       absl::StrCat("partition ", DirName(topic_, index_), " is closed")};
  }
  if (role() != Role::kFollower) {
    return AppendError{AppendErrorCode::kNotLeader,
                       absl::StrCat(DirName(topic_, index_), " is not a follower here")};
  }
  absl::StatusOr<log::AppendResult> appended = log_->AppendWithOffsets(*verified);
  if (!appended.ok()) return StorageError(appended.status());
  producer_state_.Update(header, appended->base_offset, appended->last_offset);
  epochs_.Assign(header.leader_epoch, appended->base_offset);
  return log_->log_end_offset();
}

absl::Status Partition::TruncateTo(int64_t offset) {
  absl::MutexLock lock(&mu_);
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("partition ", DirName(topic_, index_), " is closed"));
  }
  STRATA_RETURN_IF_ERROR(log_->TruncateTo(offset));
  const int64_t end = log_->log_end_offset();
  producer_state_.RemoveFrom(end);
  epochs_.TruncateTo(end);
  absl::MutexLock hw_lock(&hw_mu_);
  if (high_watermark_.load(std::memory_order_acquire) > end) {
    high_watermark_.store(end, std::memory_order_release);
  }
  return absl::OkStatus();
}

EpochEnd Partition::EndOffsetForEpoch(int32_t epoch) const {
  absl::MutexLock lock(&mu_);
  return epochs_.EndOffsetFor(epoch, log_->log_end_offset());
}

int32_t Partition::last_epoch() const {
  absl::MutexLock lock(&mu_);
  return epochs_.latest();
}

void Partition::AdvanceHighWatermark(int64_t high_watermark) {
  std::vector<log::DurableCallback> passed;
  {
    absl::MutexLock lock(&hw_mu_);
    if (high_watermark <= high_watermark_.load(std::memory_order_acquire)) return;
    high_watermark_.store(high_watermark, std::memory_order_release);
    auto end = hw_waiters_.lower_bound(high_watermark);
    for (auto it = hw_waiters_.begin(); it != end; ++it) passed.push_back(std::move(it->second));
    hw_waiters_.erase(hw_waiters_.begin(), end);
  }
  for (auto& done : passed) done(absl::OkStatus());
}

absl::StatusOr<log::RetentionResult> Partition::ApplyRetention() {
  if (cleanup_policy_ == CleanupPolicy::kCompact) return log::RetentionResult{};
  absl::MutexLock lock(&mu_);
  absl::StatusOr<log::RetentionResult> result = log_->ApplyRetention();
  // Even a failed pass may have deleted some segments first.
  producer_state_.RemoveBelow(log_->log_start_offset());
  return result;
}

absl::StatusOr<log::CompactionResult> Partition::Compact(int64_t now_ms) {
  if (cleanup_policy_ != CleanupPolicy::kCompact) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", DirName(topic_, index_), " has cleanup_policy=delete; only compacted "
        "topics are compacted"));
  }
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return absl::UnavailableError(
          absl::StrCat("partition ", DirName(topic_, index_), " is closed"));
    }
  }
  // Without mu_: appends go on during the pass (see the header on the producer state).
  log::CompactionOptions options;
  options.delete_retention_ms = delete_retention_ms_;
  options.now_ms = now_ms;
  return log_->Compact(options);
}

absl::Status Partition::Close() {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  return log_->Close();
}

void Partition::Discard() {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  closed_ = true;
  log_->Discard();
}

std::optional<ProducerState::ProducerInfo> Partition::FindProducer(int64_t producer_id) const {
  absl::MutexLock lock(&mu_);
  return producer_state_.Find(producer_id);
}

}  // namespace strata::partition
