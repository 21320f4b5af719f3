#include "partition/partition.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace strata::partition {
namespace {

// At this layer OutOfRange means "out-of-order sequence", so a batch that is cut short (which
// ParseBatchHeader reports as OutOfRange, the log's torn-tail signal) is reported as DataLoss
// like every other malformed batch.
absl::Status Rejected(const absl::Status& st) {
  return absl::DataLossError(absl::StrCat("rejected batch: ", st.message()));
}

// A compacted topic keeps records by key, so every record needs one. Decodes the records (LZ4
// too), which also verifies the checksum: DataLoss like any damaged batch.
absl::Status CheckKeys(std::span<const std::byte> batch) {
  absl::StatusOr<record::BatchReader> reader = record::BatchReader::Open(batch);
  if (!reader.ok()) return Rejected(reader.status());
  for (int32_t index = 0;; ++index) {
    absl::StatusOr<std::optional<record::Record>> record = reader->Next();
    if (!record.ok()) return Rejected(record.status());
    if (!record->has_value()) return absl::OkStatus();
    if (!(*record)->key.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a compacted topic needs a key on every record: record ", index, " (offset delta ",
          (*record)->offset - reader->header().base_offset, ") of the batch has a null key"));
    }
  }
}

}  // namespace

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
    absl::MutexLock lock(&partition->mu_);
    STRATA_RETURN_IF_ERROR(partition->producer_state_.RebuildFrom(*partition->log_));
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

absl::StatusOr<AppendResult> Partition::Append(std::span<std::byte> batch, int32_t leader_epoch) {
  absl::MutexLock lock(&mu_);
  if (closed_) {
    // Unavailable, not FailedPrecondition: the partition was closed (topic deleted, broker
    // stopping), not broken; a client refreshes metadata and retries.
    return absl::UnavailableError(
        absl::StrCat("partition ", DirName(topic_, index_), " is closed"));
  }
  // Structure only: the log hashes the batch when it appends it, so the common path hashes once.
  auto header = record::ParseBatchHeader(batch);
  if (!header.ok()) return Rejected(header.status());
  // A compacted batch never comes from a producer (and would not be told apart from a retry).
  if (absl::Status dense = record::CheckDenseBatch(*header); !dense.ok()) return Rejected(dense);
  if (cleanup_policy_ == CleanupPolicy::kCompact) {
    // This hashes the batch once more than other topics pay (the log verifies it again).
    STRATA_RETURN_IF_ERROR(CheckKeys(batch.first(std::min(batch.size(), header->size_bytes()))));
  }
  absl::StatusOr<ProducerCheck> check = producer_state_.Check(*header);
  if (!check.ok() || check->decision == ProducerDecision::kDuplicate) {
    // Nothing will be appended, so the log will not check the checksum: do it here, so that a
    // damaged batch is never acknowledged as a duplicate or misreported as a sequence problem.
    auto verified = record::VerifyBatch(batch);
    if (!verified.ok()) return Rejected(verified.status());
    if (batch.size() != header->size_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat("append takes exactly one batch: got ",
                                                     batch.size(), " bytes for a batch of ",
                                                     header->size_bytes()));
    }
    if (!check.ok()) return check.status();
    return AppendResult{check->base_offset, check->last_offset, /*duplicate=*/true};
  }
  STRATA_ASSIGN_OR_RETURN(log::AppendResult appended, log_->Append(batch, leader_epoch));
  producer_state_.Update(*header, appended.base_offset, appended.last_offset);
  return AppendResult{appended.base_offset, appended.last_offset, /*duplicate=*/false};
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
