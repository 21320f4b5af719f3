#include "replication/fetcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "record/batch.h"

namespace strata::replication {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Fetcher::Fetcher(int32_t leader_id, std::unique_ptr<ReplicaChannel> channel,
                 FetcherOptions options)
    : leader_id_(leader_id), channel_(std::move(channel)), options_(options) {
  thread_ = std::thread([this] { Run(); });
}

Fetcher::~Fetcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  channel_->Interrupt();
  thread_.join();
}

void Fetcher::Add(const cluster::TopicPartitionId& id,
                  std::shared_ptr<partition::Partition> partition, int32_t leader_epoch) {
  absl::MutexLock lock(&mu_);
  Followed& f = partitions_[id];
  if (f.partition == partition && f.leader_epoch == leader_epoch) return;
  f.partition = std::move(partition);
  f.leader_epoch = leader_epoch;
  f.generation = next_generation_++;
  f.paused_until = {};
}

void Fetcher::Remove(const cluster::TopicPartitionId& id) {
  absl::MutexLock lock(&mu_);
  partitions_.erase(id);
}

bool Fetcher::empty() const {
  absl::MutexLock lock(&mu_);
  return partitions_.empty();
}

FetcherStats Fetcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void Fetcher::Run() {
  while (true) {
    std::map<cluster::TopicPartitionId, Followed> round;
    {
      absl::MutexLock lock(&mu_);
      // Waits until there is something to fetch (or a paused partition's pause ends).
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](Fetcher* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return self->stopping_ || !self->partitions_.empty();
                               },
                               this),
                           absl::Milliseconds(options_.backoff_ms));
      if (stopping_) return;
      const auto now = Clock::now();
      for (const auto& [id, f] : partitions_) {
        if (f.paused_until <= now) round.emplace(id, f);
      }
    }
    if (round.empty()) {
      // Every partition is paused: look again when the shortest pause may have ended.
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::max<int64_t>(1, options_.leader_change_backoff_ms / 2)));
      continue;
    }
    ReplicaFetchRequest request;
    request.replica_id = options_.self;
    request.max_wait_ms = options_.max_wait_ms;
    request.max_bytes = options_.max_bytes;
    request.partition_max_bytes = options_.partition_max_bytes;
    for (const auto& [id, f] : round) {
      request.partitions.push_back(FetchPosition(id, *f.partition, f.leader_epoch));
    }
    absl::StatusOr<ReplicaFetchResponse> response = channel_->Fetch(request);
    if (!response.ok()) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        stats_.errors++;
      }
      LogEvent(LogLevel::kDebug, absl::StrCat("replication: fetch from broker ", leader_id_,
                                              ": ", response.status().ToString()));
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.backoff_ms));
      continue;
    }
    std::vector<std::pair<cluster::TopicPartitionId, int64_t>> paused;  // and for how long
    for (const ReplicaFetchResult& result : response->partitions) {
      cluster::TopicPartitionId id{result.topic, result.index};
      auto it = round.find(id);
      if (it == round.end()) continue;
      {
        // Removed or re-added meanwhile: this answer is for a following that ended.
        absl::MutexLock lock(&mu_);
        auto now_it = partitions_.find(id);
        if (now_it == partitions_.end() || now_it->second.generation != it->second.generation) {
          continue;
        }
      }
      if (!Apply(id, it->second, result, *response)) {
        const bool leader_change = result.error == ReplicaFetchError::kNotLeader ||
                                   result.error == ReplicaFetchError::kUnknownEpoch;
        paused.emplace_back(id, leader_change ? options_.leader_change_backoff_ms
                                              : options_.backoff_ms);
      }
    }
    absl::MutexLock lock(&mu_);
    stats_.rounds++;
    for (const auto& [id, pause_ms] : paused) {
      auto it = partitions_.find(id);
      if (it != partitions_.end() && it->second.generation == round[id].generation) {
        it->second.paused_until = Clock::now() + std::chrono::milliseconds(pause_ms);
      }
    }
  }
}

ReplicaFetchPartition FetchPosition(const cluster::TopicPartitionId& id,
                                    const partition::Partition& partition, int32_t leader_epoch) {
  return {id.topic, id.partition, partition.log_end_offset(), leader_epoch, partition.last_epoch()};
}

ApplyOutcome ApplyFetchResult(partition::Partition& p, const ReplicaFetchResult& result,
                              std::span<std::byte> records) {
  ApplyOutcome outcome;
  if (result.diverging_epoch >= 0) {
    partition::EpochEnd own = p.EndOffsetForEpoch(result.diverging_epoch);
    int64_t to = result.diverging_end_offset;
    if (own.end_offset >= 0) to = std::min(to, own.end_offset);
    LogEvent(LogLevel::kInfo,
             absl::StrCat("replication: ", result.topic, "/", result.index,
                          ": the log diverges from the leader's after epoch ",
                          result.diverging_epoch, "; truncating from offset ", to,
                          " (log end ", p.log_end_offset(), ")"));
    outcome.status = p.TruncateTo(to);
    outcome.truncated = outcome.status.ok();
    return outcome;
  }
  while (!records.empty()) {
    auto header = record::ParseBatchHeader(records);
    if (!header.ok() || header->size_bytes() > records.size()) {
      outcome.status = absl::DataLossError(absl::StrCat(
          "malformed batch from the leader: ",
          header.ok() ? "truncated" : std::string(header.status().message())));
      return outcome;
    }
    auto appended = p.AppendReplica(records.subspan(0, header->size_bytes()));
    if (!appended.ok()) {
      outcome.status = absl::InternalError(
          absl::StrCat("appending at ", header->base_offset, ": ", appended.error().message));
      return outcome;
    }
    records = records.subspan(header->size_bytes());
    outcome.batches++;
  }
  if (result.high_watermark >= 0) {
    p.AdvanceHighWatermark(std::min(result.high_watermark, p.log_end_offset()));
  }
  return outcome;
}

bool Fetcher::Apply(const cluster::TopicPartitionId& id, const Followed& followed,
                    const ReplicaFetchResult& result, ReplicaFetchResponse& response) {
  partition::Partition& p = *followed.partition;
  switch (result.error) {
    case ReplicaFetchError::kNone:
      break;
    case ReplicaFetchError::kOffsetOutOfRange:
      // Our log end is below the leader's log start: retention removed what we would need next.
      LogEvent(LogLevel::kWarn,
               absl::StrCat("replication: ", id.ToString(), ": the leader (broker ", leader_id_,
                            ") no longer holds offset ", p.log_end_offset(), " (", result.message,
                            "); this replica cannot catch up and stays out of the ISR"));
      return false;
    default: {
      absl::MutexLock lock(&mu_);
      stats_.errors++;
      LogEvent(LogLevel::kDebug, absl::StrCat("replication: ", id.ToString(), " from broker ",
                                              leader_id_, ": ", result.message));
      return false;
    }
  }
  ApplyOutcome outcome = ApplyFetchResult(
      p, result,
      std::span<std::byte>(response.buffer.data() + result.records_offset, result.records_size));
  absl::MutexLock lock(&mu_);
  stats_.batches += outcome.batches;
  if (outcome.truncated) stats_.truncations++;
  if (!outcome.status.ok()) {
    stats_.errors++;
    LogEvent(LogLevel::kWarn, absl::StrCat("replication: ", id.ToString(), " from broker ",
                                           leader_id_, ": ", outcome.status.ToString()));
    return false;
  }
  return true;
}

}  // namespace strata::replication
