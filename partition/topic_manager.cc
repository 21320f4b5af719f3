#include "partition/topic_manager.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/logging.h"
#include "common/parallel.h"

namespace strata::partition {
namespace {

constexpr absl::string_view kConfigSuffix = ".conf";
// Disk a new partition's directory and small files take (a directory block, the segment's index
// files, its recovery point): a generous round figure for the up-front space check.
constexpr uint64_t kPartitionFilesBytes = 16 << 10;

std::string HumanBytes(uint64_t bytes) {
  if (bytes < (10u << 10)) return absl::StrCat(bytes, " bytes");
  if (bytes < (10u << 20)) return absl::StrCat(bytes >> 10, " KiB");
  if (bytes < (10ull << 30)) return absl::StrCat(bytes >> 20, " MiB");
  return absl::StrCat(bytes >> 30, " GiB");
}

absl::Status Annotate(const absl::Status& st, absl::string_view context) {
  if (st.ok()) return st;
  return absl::Status(st.code(), absl::StrCat(context, ": ", st.message()));
}

}  // namespace

std::string TopicManager::ConfigPath(const std::string& data_dir, const std::string& name) {
  return io::JoinPath(io::JoinPath(io::JoinPath(data_dir, "meta"), "topics"),
                      absl::StrCat(name, kConfigSuffix));
}

std::string TopicManager::TopicsDir() const {
  return io::JoinPath(io::JoinPath(data_dir_, "meta"), "topics");
}

absl::StatusOr<std::unique_ptr<TopicManager>> TopicManager::Open(io::FileSystem* fs,
                                                                 std::string data_dir,
                                                                 const LogResources& resources) {
  std::unique_ptr<TopicManager> manager(new TopicManager(fs, std::move(data_dir), resources));
  absl::MutexLock lock(&manager->mu_);
  STRATA_RETURN_IF_ERROR(manager->Load());
  return manager;
}

TopicManager::~TopicManager() {
  absl::Status st = Close();
  if (!st.ok()) LogEvent(LogLevel::kError, "closing topics: " + st.ToString());
}

absl::Status TopicManager::Load() {
  STRATA_RETURN_IF_ERROR(fs_->CreateDirs(TopicsDir()));
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(TopicsDir()));
  if (names.empty()) {
    // No topic yet, so the directory may be new. CreateDirs syncs the parent of each directory
    // it makes, but a start that died between a mkdir and that sync leaves a directory the next
    // CreateDirs finds and does not sync: a power loss would take it, and every topic config
    // written in it since, away. So before any config is written here, make the path durable.
    for (std::string dir = TopicsDir();;) {
      const auto slash = dir.find_last_of('/');
      dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
      STRATA_RETURN_IF_ERROR(fs_->SyncDir(dir));
      if (dir == "/" || dir == ".") break;
    }
  }
  // Every partition of every topic, opened a few at a time (limits::partition_open_threads_max).
  std::vector<std::pair<const std::string*, Topic*>> jobs;  // (name, topic) per partition
  std::vector<int32_t> indexes;
  for (const std::string& file : names) {
    // Skips WriteFileAtomic's "<name>.conf.tmp" leftovers from a crash.
    if (!absl::EndsWith(file, kConfigSuffix)) continue;
    std::string name = file.substr(0, file.size() - kConfigSuffix.size());
    STRATA_ASSIGN_OR_RETURN(TopicConfig config, ReadConfig(name));
    auto [it, inserted] = topics_.emplace(name, Topic{});
    Topic& topic = it->second;
    topic.config = config;
    topic.partitions.resize(config.partitions);
    topic.offline.resize(config.partitions);
    for (int32_t i = 0; i < config.partitions; ++i) {
      jobs.emplace_back(&it->first, &topic);
      indexes.push_back(i);
    }
  }
  ParallelFor(jobs.size(), limits::partition_open_threads_max, [&](size_t j) {
    OpenPartition(*jobs[j].first, *jobs[j].second, indexes[j]);
  });
  for (const auto& [name, topic] : topics_) {
    for (const absl::Status& st : topic.offline) {
      if (!st.ok()) LogEvent(LogLevel::kError, absl::StrCat("topic ", name, ": ", st.ToString()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TopicConfig> TopicManager::ReadConfig(const std::string& name) {
  const std::string path = ConfigPath(data_dir_, name);
  STRATA_RETURN_IF_ERROR(Annotate(ValidateTopicName(name), path));
  STRATA_ASSIGN_OR_RETURN(auto file, fs_->Open(path, io::OpenMode::kReadOnly));
  STRATA_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size > limits::topic_config_bytes_max) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", size, " bytes is over the maximum ",
                                                   limits::topic_config_bytes_max));
  }
  std::string text(size, '\0');
  STRATA_ASSIGN_OR_RETURN(
      size_t n, file->ReadAt(0, std::as_writable_bytes(std::span(text.data(), text.size()))));
  text.resize(n);
  auto config = ParseTopicConfig(text);
  if (!config.ok()) return Annotate(config.status(), path);
  return config;
}

absl::Status TopicManager::WriteConfig(const std::string& name, const TopicConfig& config) {
  std::string text = FormatTopicConfig(config);
  return io::WriteFileAtomic(*fs_, ConfigPath(data_dir_, name),
                             std::as_bytes(std::span(text.data(), text.size())));
}

void TopicManager::OpenPartition(const std::string& name, Topic& topic, int32_t index) {
  auto p = Partition::Open(fs_, data_dir_, name, index, topic.config, resources_);
  if (p.ok()) {
    topic.partitions[index] = std::move(*p);
    topic.offline[index] = absl::OkStatus();
  } else {
    topic.offline[index] = Annotate(
        p.status(), absl::StrCat("partition ", Partition::DirName(name, index), " is offline"));
  }
}

absl::Status TopicManager::OpenPartitions(const std::string& name, Topic& topic, int32_t from) {
  topic.partitions.resize(topic.config.partitions);
  topic.offline.resize(topic.config.partitions);
  const int32_t count = topic.config.partitions - std::min(from, topic.config.partitions);
  ParallelFor(size_t(count), limits::partition_open_threads_max,
              [&](size_t i) { OpenPartition(name, topic, from + int32_t(i)); });
  for (int32_t i = from; i < topic.config.partitions; ++i) {
    if (!topic.offline[i].ok()) return topic.offline[i];
  }
  return absl::OkStatus();
}

absl::Status TopicManager::CheckSpaceFor(const std::string& name, int32_t partitions,
                                         const TopicConfig& config) const {
  // Each new partition needs its directory and files now, and its first preallocation step at
  // its first append; refusing here beats failing half-way through the partitions.
  const uint64_t per_partition = config.log.preallocation.first_bytes + kPartitionFilesBytes;
  const uint64_t needed = uint64_t(partitions) * per_partition;
  STRATA_ASSIGN_OR_RETURN(uint64_t free, fs_->FreeBytes(data_dir_));
  if (free >= needed) return absl::OkStatus();
  return io::NoSpaceError(absl::StrCat(
      "not enough disk space for ", partitions, " new partition(s) of topic '", name, "': ",
      data_dir_, " has ", HumanBytes(free), " free and they need a reserve of ",
      HumanBytes(needed), " (", HumanBytes(per_partition), " each: the first preallocation step "
      "and their files). Free space (lower retention, delete topics) or create fewer partitions"));
}

absl::Status TopicManager::RemovePartitionDirs(const std::string& name, int32_t from, int32_t to) {
  absl::Mutex first_mu;
  absl::Status first;
  ParallelFor(size_t(std::max(0, to - from)), limits::partition_open_threads_max, [&](size_t i) {
    absl::Status st =
        fs_->RemoveAll(io::JoinPath(data_dir_, Partition::DirName(name, from + int32_t(i))));
    absl::MutexLock lock(&first_mu);
    if (!st.ok() && first.ok()) first = st;
  });
  STRATA_RETURN_IF_ERROR(first);
  return fs_->SyncDir(data_dir_);
}

absl::Status TopicManager::CheckOpen() const {
  if (closed_) return absl::FailedPreconditionError("the topic manager is closed");
  return absl::OkStatus();
}

absl::Status TopicManager::Create(const std::string& name, const TopicConfig& config) {
  STRATA_RETURN_IF_ERROR(ValidateTopicName(name));
  STRATA_RETURN_IF_ERROR(config.Validate());
  absl::MutexLock lock(&mu_);
  STRATA_RETURN_IF_ERROR(CheckOpen());
  if (topics_.count(name)) {
    return absl::AlreadyExistsError(absl::StrCat("topic '", name, "' already exists"));
  }
  STRATA_RETURN_IF_ERROR(CheckSpaceFor(name, config.partitions, config));
  // Leftovers of a Delete that crashed between removing the config and the directories.
  STRATA_RETURN_IF_ERROR(RemovePartitionDirs(name, 0, config.partitions));
  STRATA_RETURN_IF_ERROR(WriteConfig(name, config));
  Topic topic;
  topic.config = config;
  absl::Status st = OpenPartitions(name, topic, 0);
  if (!st.ok()) {
    // Undo, so a failed Create leaves no topic behind.
    topic.partitions.clear();
    absl::Status undo = fs_->Remove(ConfigPath(data_dir_, name));
    if (undo.ok()) undo = fs_->SyncDir(TopicsDir());
    if (undo.ok()) undo = RemovePartitionDirs(name, 0, config.partitions);
    if (!undo.ok()) {
      LogEvent(LogLevel::kError,
               absl::StrCat("undoing failed create of topic ", name, ": ", undo.ToString()));
    }
    return st;
  }
  topics_.emplace(name, std::move(topic));
  LogEvent(LogLevel::kInfo, absl::StrCat("created topic ", name, " with ", config.partitions,
                                         config.partitions == 1 ? " partition" : " partitions"));
  return absl::OkStatus();
}

absl::Status TopicManager::Delete(const std::string& name) {
  absl::MutexLock lock(&mu_);
  STRATA_RETURN_IF_ERROR(CheckOpen());
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    return absl::NotFoundError(absl::StrCat("topic '", name, "' does not exist"));
  }
  // The config file goes first: once it is gone (durably) the topic is gone, whatever happens to
  // the directories below.
  STRATA_RETURN_IF_ERROR(fs_->Remove(ConfigPath(data_dir_, name)));
  STRATA_RETURN_IF_ERROR(fs_->SyncDir(TopicsDir()));
  Topic topic = std::move(it->second);
  topics_.erase(it);
  // The logs stop without writing: whatever a clean close would make durable is deleted next.
  for (auto& p : topic.partitions) {
    if (p != nullptr) p->Discard();
  }
  STRATA_RETURN_IF_ERROR(RemovePartitionDirs(name, 0, topic.config.partitions));
  LogEvent(LogLevel::kInfo, absl::StrCat("deleted topic ", name, " and its data"));
  return absl::OkStatus();
}

void TopicManager::TEST_Abandon() {
  absl::ReaderMutexLock lock(&mu_);
  for (auto& [name, topic] : topics_) {
    for (auto& p : topic.partitions) {
      if (p != nullptr) p->log().TEST_Abandon();
    }
  }
}

std::vector<std::string> TopicManager::List() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  names.reserve(topics_.size());
  for (const auto& [name, topic] : topics_) names.push_back(name);
  return names;
}

absl::StatusOr<TopicInfo> TopicManager::Describe(const std::string& name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    return absl::NotFoundError(absl::StrCat("topic '", name, "' does not exist"));
  }
  const Topic& topic = it->second;
  TopicInfo info{name, topic.config, {}};
  for (int32_t i = 0; i < topic.config.partitions; ++i) {
    PartitionInfo p;
    p.index = i;
    p.dir = io::JoinPath(data_dir_, Partition::DirName(name, i));
    p.status = topic.offline[i];
    if (const auto& partition = topic.partitions[i]) {
      p.log_start_offset = partition->log_start_offset();
      p.log_end_offset = partition->log_end_offset();
      p.high_watermark = partition->high_watermark();
      p.leader_epoch = partition->leader_epoch();
      p.segments = partition->segment_count();
    }
    info.partitions.push_back(std::move(p));
  }
  return info;
}

absl::StatusOr<TopicConfig> TopicManager::Alter(
    const std::string& name, const std::map<std::string, std::string>& overrides) {
  absl::MutexLock lock(&mu_);
  STRATA_RETURN_IF_ERROR(CheckOpen());
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    return absl::NotFoundError(absl::StrCat("topic '", name, "' does not exist"));
  }
  Topic& topic = it->second;
  STRATA_ASSIGN_OR_RETURN(TopicConfig altered, ApplyTopicConfigOverrides(topic.config, overrides));
  const int32_t old_partitions = topic.config.partitions;
  if (altered.partitions > old_partitions) {
    STRATA_RETURN_IF_ERROR(CheckSpaceFor(name, altered.partitions - old_partitions, altered));
  }
  STRATA_RETURN_IF_ERROR(RemovePartitionDirs(name, old_partitions, altered.partitions));
  STRATA_RETURN_IF_ERROR(WriteConfig(name, altered));
  topic.config = altered;
  absl::Status st = OpenPartitions(name, topic, old_partitions);
  if (!st.ok()) {
    return Annotate(st,
                    "the config was saved, but a new partition failed to open and stays "
                    "offline until the topics are reopened");
  }
  LogEvent(LogLevel::kInfo,
           absl::StrCat("altered topic ", name,
                        altered.partitions != old_partitions
                            ? absl::StrCat(": ", old_partitions, " -> ", altered.partitions,
                                           " partitions")
                            : std::string()));
  return altered;
}

absl::StatusOr<std::shared_ptr<Partition>> TopicManager::GetPartition(const std::string& topic,
                                                                      int32_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  STRATA_RETURN_IF_ERROR(CheckOpen());
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    return absl::NotFoundError(absl::StrCat("topic '", topic, "' does not exist"));
  }
  const Topic& t = it->second;
  if (index < 0 || index >= t.config.partitions) {
    return absl::OutOfRangeError(absl::StrCat("topic '", topic, "' has partitions [0, ",
                                              t.config.partitions, "); there is no partition ",
                                              index));
  }
  if (t.partitions[index] == nullptr) return t.offline[index];
  return t.partitions[index];
}

absl::Status TopicManager::Close() {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  std::vector<Partition*> open;
  for (auto& [name, topic] : topics_) {
    for (auto& p : topic.partitions) {
      if (p != nullptr) open.push_back(p.get());
    }
  }
  absl::Mutex first_mu;
  absl::Status first;
  ParallelFor(open.size(), limits::partition_open_threads_max, [&](size_t i) {
    absl::Status st = open[i]->Close();
    absl::MutexLock first_lock(&first_mu);
    if (!st.ok() && first.ok()) first = st;
  });
  topics_.clear();
  return first;
}

}  // namespace strata::partition
