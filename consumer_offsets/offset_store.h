// OffsetStore: the committed offsets of every consumer group, kept in memory and made durable as
// records of the internal, compacted topic __consumer_offsets (offset_record.h).
//
// A group's offsets live in partition xxh3(group) mod N of that topic, so one group's commits
// are ordered by one log. A write appends one batch (every entry of a commit: all or nothing),
// waits until the batch is fsynced, then applies it to the in-memory table, and only then calls
// back: a commit is acknowledged only once it survives a crash, and a reader never sees a value
// that a crash could take back. The table applies writes in log order (each entry remembers the
// log offset of its record; an older record never overwrites a newer one), so it always equals a
// replay of the log, which is what Open does at start-up: the latest value per key, tombstones
// removing keys. A partition that cannot be loaded (offline, or a record that does not decode)
// makes only its groups unavailable, with the reason.
//
// The topic is created on first use (EnsureTopic), as Kafka does, with cleanup_policy=compact and
// flush_always (commits are fsynced before they are acknowledged anyway; flush_always makes the
// flusher do it at once instead of at its next tick).
//
// Thread-safe: one mutex guards the table and partition states. Write callbacks run on the thread
// that made the batch durable (the log's flusher) with no lock held; they must not block.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "consumer_offsets/group_types.h"
#include "consumer_offsets/offset_record.h"
#include "log/log_config.h"
#include "partition/topic_manager.h"

namespace strata::consumer_offsets {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

struct OffsetsTopicConfig {
  int32_t partitions = 8;                   // Kafka's offsets.topic.num.partitions is 50
  uint64_t segment_bytes = 16ull << 20;     // Kafka's offsets.topic.segment.bytes is 100 MiB
};

using TopicPartitionId = std::pair<std::string, int32_t>;

// One entry of a write: a value to store, or nullopt to delete the key (a tombstone).
struct OffsetWrite {
  std::string topic;
  int32_t partition = 0;
  std::optional<OffsetValue> value;
};

class OffsetStore {
 public:
  // Loads the partitions of __consumer_offsets if the topic exists. Fails only for an I/O error
  // on the topic manager itself; an unloadable partition is reported by Available().
  // `clustered`: the broker is one of a cluster, where the topic is created through the cluster
  // and each partition is served only by the broker that leads it: nothing is loaded here, and
  // SetLeadership loads or forgets a partition as its leadership comes and goes.
  static absl::StatusOr<std::unique_ptr<OffsetStore>> Open(partition::TopicManager* topics,
                                                           OffsetsTopicConfig config,
                                                           bool clustered = false);
  // A cluster: this broker now leads (or no longer leads) partition `index` of the topic, which
  // has `partitions` partitions. Leading, it replays the partition (its log is the group's truth
  // from now on); not leading, it forgets the groups stored there.
  void SetLeadership(int32_t index, int32_t partitions, bool leader);

  // The partition of __consumer_offsets that holds `group`'s offsets.
  int32_t PartitionFor(const std::string& group) const;
  // Creates the topic if it does not exist yet. Idempotent and thread-safe.
  absl::Status EnsureTopic();
  // kNone when `group`'s partition is loaded and online; kCoordinatorNotAvailable with why
  // otherwise (not created yet counts as available: EnsureTopic creates it); in a cluster,
  // kNotCoordinator when another broker leads the partition.
  GroupResult Available(const std::string& group) const;

  // Appends `writes` for `group` as one batch stamped `now_ms`, and calls `done` once it is durable
  // and applied (kStorageError with the reason if the append or the fsync failed, nothing
  // applied). An empty `writes` completes at once.
  void Write(const std::string& group, std::vector<OffsetWrite> writes, int64_t now_ms,
             absl::AnyInvocable<void(GroupResult)> done);

  std::optional<OffsetValue> Get(const std::string& group, const std::string& topic,
                                 int32_t partition) const;
  std::map<TopicPartitionId, OffsetValue> GetAll(const std::string& group) const;
  // Groups with at least one committed offset, sorted.
  std::vector<std::string> Groups() const;
  bool HasOffsets(const std::string& group) const;
  // The newest commit timestamp among `group`'s offsets (0 when none).
  int64_t NewestCommitMs(const std::string& group) const;

  const OffsetsTopicConfig& config() const { return config_; }

 private:
  struct Stored {
    OffsetValue value;
    int64_t log_offset = -1;  // of the record that set it
  };
  OffsetStore(partition::TopicManager* topics, OffsetsTopicConfig config, bool clustered)
      : topics_(topics), config_(config), clustered_(clustered), partitions_(config.partitions) {}
  // Drops the offsets of the groups stored in partition `index`.
  void ForgetLocked(int32_t index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replays partition `index` into the table.
  absl::Status Load(int32_t index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Apply(const OffsetKey& key, const std::optional<OffsetValue>& value, int64_t log_offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  partition::TopicManager* const topics_;
  const OffsetsTopicConfig config_;
  const bool clustered_;

  absl::Mutex create_mu_ ABSL_ACQUIRED_BEFORE(mu_);  // serializes EnsureTopic
  mutable absl::Mutex mu_;
  bool topic_exists_ ABSL_GUARDED_BY(mu_) = false;
  // The topic's partition count: the existing topic's, else config_.partitions.
  int32_t partitions_ ABSL_GUARDED_BY(mu_);
  // One per partition of the topic once it exists: why it cannot serve, or OK.
  std::vector<absl::Status> partition_status_ ABSL_GUARDED_BY(mu_);
  // In a cluster: which partitions this broker leads (and so serves).
  std::vector<bool> led_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::map<TopicPartitionId, Stored>> offsets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::consumer_offsets
