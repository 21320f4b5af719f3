// TopicManager: the topics of one broker and their open partitions.
//
// Each topic's config lives in `<data_dir>/meta/topics/<name>.conf` (the text form of
// topic_config.h, replaced atomically with io::WriteFileAtomic); its partitions live in
// `<data_dir>/<name>-<index>` (partition.h). Open loads every config file and opens every
// partition. A partition whose log fails to open (corruption found by recovery, say) is offline:
// GetPartition returns the error that took it offline, and every other partition serves.
//
// Config changes (Alter) are persisted at once, but a partition's log keeps the log config it was
// opened with: the new segment, retention and flush settings apply when the partition is next
// opened (the next TopicManager::Open, i.e. a broker restart). Partitions added by raising
// `partitions` are created at once, with the new config.
//
// Partitions open a few at a time (limits::partition_open_threads_max threads, only while
// opening or closing): at start-up a broker opens thousands, each mostly waiting on the disk.
// Create and Alter first check that the disk can hold the new partitions (CheckSpaceFor) and
// refuse with the free space and the reserve needed, rather than fail half-way.
//
// Crash safety: Create removes any directories a half-finished Delete left under the new
// partitions' names, then writes the config file, then opens the partitions; Delete removes the
// config file (and syncs meta/topics) before the directories. So after a crash a topic either
// exists with all its partitions or does not, and leftovers of a deleted topic are never adopted.
//
// Owns the Partitions, handed out as shared_ptr: a partition stays valid while a caller holds it,
// and after Delete or Close its appends fail with Unavailable.
// Thread-safety: all methods are thread-safe. One mutex guards the topic table; Create, Delete
// and Alter hold it across their file operations, lookups take it shared.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "io/file_system.h"
#include "partition/partition.h"
#include "partition/topic_config.h"

namespace strata::log {
class Flusher;
}

namespace strata::partition {

struct PartitionInfo {
  int32_t index = 0;
  std::string dir;
  absl::Status status;  // OK when online; otherwise why the partition is offline
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
  int64_t high_watermark = 0;  // Partition::high_watermark
  int32_t leader_epoch = 0;
  size_t segments = 0;
};

struct TopicInfo {
  std::string name;
  TopicConfig config;  // as persisted (an Alter shows here before the logs apply it)
  std::vector<PartitionInfo> partitions;
};

class TopicManager {
 public:
  // Loads every topic in `<data_dir>/meta/topics/` and opens its partitions, creating the
  // directories when missing. InvalidArgument naming the file for a config file that does not
  // parse (a topic is never silently dropped); I/O errors as they come. What `resources` points
  // to (a flusher runs time-based flushes for every partition) must outlive the manager and every
  // Partition it hands out.
  static absl::StatusOr<std::unique_ptr<TopicManager>> Open(io::FileSystem* fs,
                                                            std::string data_dir,
                                                            const LogResources& resources = {});
  ~TopicManager();

  // InvalidArgument for a bad name or config (naming the key); AlreadyExists if present.
  absl::Status Create(const std::string& name, const TopicConfig& config);
  // Closes the topic's partitions and removes their directories and the config file.
  // NotFound if absent.
  absl::Status Delete(const std::string& name);
  // Topic names, sorted.
  std::vector<std::string> List() const;
  // NotFound if absent.
  absl::StatusOr<TopicInfo> Describe(const std::string& name) const;
  // Applies key=value overrides (ApplyTopicConfigOverrides: InvalidArgument naming the key, and
  // for lowering `partitions`), persists the result and returns it. NotFound if absent. See the
  // top of this file for when the changes take effect.
  absl::StatusOr<TopicConfig> Alter(const std::string& name,
                                    const std::map<std::string, std::string>& overrides);
  // NotFound for an unknown topic, OutOfRange for an index outside [0, partitions), and the
  // stored error for an offline partition.
  absl::StatusOr<std::shared_ptr<Partition>> GetPartition(const std::string& topic,
                                                          int32_t index) const;

  // Closes every partition (cleanly). Later calls fail with FailedPrecondition. Idempotent.
  absl::Status Close();

  // Simulates the process dying: every partition's log stops without flushing or writing its
  // clean-shutdown marker (log::Log::TEST_Abandon). Crash tests call it, then FaultFileSystem::Crash.
  void TEST_Abandon();

  // `<data_dir>/meta/topics/<name>.conf`.
  static std::string ConfigPath(const std::string& data_dir, const std::string& name);

 private:
  struct Topic {
    TopicConfig config;
    // One per index; nullptr when offline (then `offline[i]` says why).
    std::vector<std::shared_ptr<Partition>> partitions;
    std::vector<absl::Status> offline;
  };

  TopicManager(io::FileSystem* fs, std::string data_dir, const LogResources& resources)
      : fs_(fs), data_dir_(std::move(data_dir)), resources_(resources) {}

  absl::Status Load() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<TopicConfig> ReadConfig(const std::string& name);
  absl::Status WriteConfig(const std::string& name, const TopicConfig& config);
  // Opens partitions [from, config.partitions) into `topic`, a few at a time; failures leave them
  // offline and the first failure is returned.
  absl::Status OpenPartitions(const std::string& name, Topic& topic, int32_t from);
  // Opens one partition into `topic`'s (already sized) slots, or records why it is offline.
  void OpenPartition(const std::string& name, Topic& topic, int32_t index);
  // ResourceExhausted (io::IsNoSpace), naming the free space and the reserve needed, when the
  // data directory's disk cannot hold `partitions` new partitions.
  absl::Status CheckSpaceFor(const std::string& name, int32_t partitions,
                             const TopicConfig& config) const;
  // Removes the directories of partitions [from, to) of `name`.
  absl::Status RemovePartitionDirs(const std::string& name, int32_t from, int32_t to);
  absl::Status CheckOpen() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::string TopicsDir() const;

  io::FileSystem* const fs_;
  const std::string data_dir_;
  const LogResources resources_;

  mutable absl::Mutex mu_;
  std::map<std::string, Topic> topics_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace strata::partition
