#include "consumer_offsets/offset_store.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "record/batch.h"
#include "record/partitioner.h"

namespace strata::consumer_offsets {

namespace {

std::string_view AsView(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::span<const std::byte> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

}  // namespace

absl::StatusOr<std::unique_ptr<OffsetStore>> OffsetStore::Open(partition::TopicManager* topics,
                                                              OffsetsTopicConfig config,
                                                              bool clustered) {
  std::unique_ptr<OffsetStore> store(new OffsetStore(topics, config, clustered));
  if (clustered) return store;  // SetLeadership loads what this broker leads
  auto info = topics->Describe(kOffsetsTopic);
  if (!info.ok()) {
    if (absl::IsNotFound(info.status())) return store;  // created on first use
    return info.status();
  }
  absl::MutexLock lock(&store->mu_);
  store->topic_exists_ = true;
  store->partition_status_.assign(info->config.partitions, absl::OkStatus());
  if (info->config.partitions != config.partitions) {
    // Groups hash to partitions by the count the topic was created with; a different configured
    // count would move them. The topic wins (as in Kafka, where it cannot be changed either).
    LogEvent(LogLevel::kWarn,
             absl::StrCat(kOffsetsTopic, " has ", info->config.partitions,
                          " partitions; offsets_topic_partitions = ", config.partitions,
                          " applies only when the topic is created"));
  }
  store->partitions_ = info->config.partitions;
  for (int32_t p = 0; p < info->config.partitions; ++p) {
    absl::Status st = store->Load(p);
    if (!st.ok()) {
      LogEvent(LogLevel::kError,
               absl::StrCat("cannot load ", kOffsetsTopic, "-", p, ": ", st.message(),
                            "; the groups stored there are unavailable"));
      store->partition_status_[p] = st;
    }
  }
  return store;
}

absl::Status OffsetStore::Load(int32_t index) {
  STRATA_ASSIGN_OR_RETURN(auto part, topics_->GetPartition(kOffsetsTopic, index));
  int64_t offset = part->log_start_offset();
  const int64_t end = part->log_end_offset();
  int64_t records = 0;
  while (offset < end) {
    STRATA_ASSIGN_OR_RETURN(log::ReadResult read, part->Read(offset, 1u << 20));
    if (read.batch_count == 0) break;
    std::span<const std::byte> bytes = read.bytes;
    while (!bytes.empty()) {
      STRATA_ASSIGN_OR_RETURN(record::BatchHeader header, record::ParseBatchHeader(bytes));
      const auto batch = bytes.first(header.size_bytes());
      bytes = bytes.subspan(header.size_bytes());
      STRATA_ASSIGN_OR_RETURN(auto reader, record::BatchReader::Open(batch));
      while (true) {
        STRATA_ASSIGN_OR_RETURN(auto record, reader.Next());
        if (!record.has_value()) break;
        if (!record->key.has_value()) {
          return absl::DataLossError(absl::StrCat("record at offset ", record->offset,
                                                  " has no key"));
        }
        auto key = DecodeOffsetKey(AsBytes(*record->key));
        if (!key.ok()) {
          return absl::DataLossError(absl::StrCat("record at offset ", record->offset, ": ",
                                                  key.status().message()));
        }
        std::optional<OffsetValue> value;
        if (record->value.has_value()) {
          auto v = DecodeOffsetValue(AsBytes(*record->value));
          if (!v.ok()) {
            return absl::DataLossError(absl::StrCat("record at offset ", record->offset, ": ",
                                                    v.status().message()));
          }
          value = std::move(*v);
        }
        Apply(*key, value, record->offset);
        ++records;
      }
    }
    offset = read.next_offset;
  }
  LogEvent(LogLevel::kDebug, absl::StrCat("loaded ", records, " records of ", kOffsetsTopic, "-",
                                          index));
  return absl::OkStatus();
}

void OffsetStore::Apply(const OffsetKey& key, const std::optional<OffsetValue>& value,
                        int64_t log_offset) {
  auto& group = offsets_[key.group];
  const TopicPartitionId tp{key.topic, key.partition};
  auto it = group.find(tp);
  if (it != group.end() && it->second.log_offset > log_offset) return;  // a newer record won
  if (value.has_value()) {
    group[tp] = Stored{*value, log_offset};
  } else if (it != group.end()) {
    group.erase(it);
  }
  if (group.empty()) offsets_.erase(key.group);
}

void OffsetStore::SetLeadership(int32_t index, int32_t partitions, bool leader) {
  absl::MutexLock lock(&mu_);
  topic_exists_ = true;
  partitions_ = partitions;
  partition_status_.resize(partitions, absl::OkStatus());
  led_.resize(partitions, false);
  if (index < 0 || index >= partitions) return;
  ForgetLocked(index);
  led_[index] = leader;
  partition_status_[index] = absl::OkStatus();
  if (!leader) return;
  absl::Status st = Load(index);
  if (!st.ok()) {
    LogEvent(LogLevel::kError,
             absl::StrCat("cannot load ", kOffsetsTopic, "-", index, ": ", st.message(),
                          "; the groups stored there are unavailable"));
    partition_status_[index] = st;
  }
}

void OffsetStore::ForgetLocked(int32_t index) {
  for (auto it = offsets_.begin(); it != offsets_.end();) {
    it = record::PartitionForKey(it->first, partitions_) == index ? offsets_.erase(it)
                                                                  : std::next(it);
  }
}

int32_t OffsetStore::PartitionFor(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  return record::PartitionForKey(group, partitions_);
}

absl::Status OffsetStore::EnsureTopic() {
  absl::MutexLock create(&create_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (topic_exists_) return absl::OkStatus();
    if (clustered_) {
      return absl::UnavailableError(absl::StrCat(kOffsetsTopic, " is not served here yet"));
    }
  }
  partition::TopicConfig config;
  {
    absl::MutexLock lock(&mu_);
    config.partitions = partitions_;
  }
  config.log.segment_bytes = config_.segment_bytes;
  config.log.retention_ms = -1;  // compaction, not age, decides what goes
  config.log.flush.always = true;
  config.cleanup_policy = partition::CleanupPolicy::kCompact;
  absl::Status st = topics_->Create(kOffsetsTopic, config);
  if (!st.ok() && !absl::IsAlreadyExists(st)) {
    return absl::UnavailableError(absl::StrCat("cannot create ", kOffsetsTopic, ": ",
                                               st.message()));
  }
  LogEvent(LogLevel::kInfo, absl::StrCat("created ", kOffsetsTopic, " with ", config.partitions,
                                         " partitions"));
  absl::MutexLock lock(&mu_);
  topic_exists_ = true;
  partition_status_.assign(config.partitions, absl::OkStatus());
  return absl::OkStatus();
}

GroupResult OffsetStore::Available(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  if (clustered_) {
    const int32_t p = topic_exists_ ? record::PartitionForKey(group, partitions_) : -1;
    if (p < 0 || p >= static_cast<int32_t>(led_.size()) || !led_[p]) {
      return {GroupError::kNotCoordinator,
              absl::StrCat("this broker does not coordinate group ", group, " (another broker "
                           "leads its partition of ", kOffsetsTopic, "); find the coordinator "
                           "again")};
    }
  }
  if (!topic_exists_) return GroupResult::Ok();
  const int32_t p = record::PartitionForKey(group, partitions_);
  if (p < static_cast<int32_t>(partition_status_.size()) && !partition_status_[p].ok()) {
    return {GroupError::kCoordinatorNotAvailable,
            absl::StrCat("the offsets of group ", group, " live in ", kOffsetsTopic, "-", p,
                         ", which could not be loaded: ", partition_status_[p].message())};
  }
  return GroupResult::Ok();
}

void OffsetStore::Write(const std::string& group, std::vector<OffsetWrite> writes, int64_t now_ms,
                        absl::AnyInvocable<void(GroupResult)> done) {
  if (writes.empty()) return done(GroupResult::Ok());
  auto fail = [&](const absl::Status& st) {
    done({GroupError::kStorageError,
          absl::StrCat("could not store the offsets of group ", group, ": ", st.message())});
  };
  if (absl::Status st = EnsureTopic(); !st.ok()) return fail(st);
  const int32_t index = PartitionFor(group);
  auto part = topics_->GetPartition(kOffsetsTopic, index);
  if (!part.ok()) return fail(part.status());

  // Keys and values must outlive the builder's views until Build.
  std::vector<std::vector<std::byte>> keys, values;
  keys.reserve(writes.size());
  values.reserve(writes.size());
  record::BatchBuilder builder;
  for (const auto& w : writes) {
    keys.push_back(EncodeOffsetKey({group, w.topic, w.partition}));
    record::RecordInput record;
    record.timestamp_ms = now_ms;
    record.key = AsView(keys.back());
    if (w.value.has_value()) {
      values.push_back(EncodeOffsetValue(*w.value));
      record.value = AsView(values.back());
    }
    builder.Add(record);
  }
  auto batch = builder.Build();
  if (!batch.ok()) return fail(batch.status());
  auto appended = (*part)->Append(*batch);
  if (!appended.ok() && appended.error().code == partition::AppendErrorCode::kNotLeader) {
    return done({GroupError::kNotCoordinator,
                 absl::StrCat("this broker stopped coordinating group ", group,
                              "; find the coordinator again and retry the commit")});
  }
  if (!appended.ok()) {
    return done({GroupError::kStorageError,
                 absl::StrCat("could not store the offsets of group ", group, ": ",
                              appended.error().message)});
  }

  const int64_t base = appended->base_offset;
  auto apply = [this, group, writes = std::move(writes), base,
                done = std::move(done)](absl::Status st) mutable {
    if (absl::IsUnavailable(st)) {
      // partition.h: the leadership moved before the commit was replicated.
      done({GroupError::kNotCoordinator,
            absl::StrCat("this broker stopped coordinating group ", group, " before the commit "
                         "was replicated; find the coordinator again and retry the commit")});
      return;
    }
    if (!st.ok()) {
      done({GroupError::kStorageError, absl::StrCat("the offsets of group ", group,
                                                    " were not made durable: ", st.message())});
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      for (size_t i = 0; i < writes.size(); ++i) {
        Apply({group, writes[i].topic, writes[i].partition}, writes[i].value,
              base + static_cast<int64_t>(i));
      }
    }
    done(GroupResult::Ok());
  };
  auto shared = std::make_shared<decltype(apply)>(std::move(apply));
  absl::Status st = (*part)->WhenCommitted(appended->last_offset, partition::Acks::kAll,
                                           [shared](absl::Status s) { (*shared)(s); });
  if (!st.ok()) (*shared)(st);
}

std::optional<OffsetValue> OffsetStore::Get(const std::string& group, const std::string& topic,
                                            int32_t partition) const {
  absl::MutexLock lock(&mu_);
  auto g = offsets_.find(group);
  if (g == offsets_.end()) return std::nullopt;
  auto it = g->second.find({topic, partition});
  if (it == g->second.end()) return std::nullopt;
  return it->second.value;
}

std::map<TopicPartitionId, OffsetValue> OffsetStore::GetAll(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  std::map<TopicPartitionId, OffsetValue> out;
  auto g = offsets_.find(group);
  if (g == offsets_.end()) return out;
  for (const auto& [tp, stored] : g->second) out[tp] = stored.value;
  return out;
}

std::vector<std::string> OffsetStore::Groups() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& [g, offsets] : offsets_) out.push_back(g);
  return out;
}

bool OffsetStore::HasOffsets(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  return offsets_.contains(group);
}

int64_t OffsetStore::NewestCommitMs(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  int64_t newest = 0;
  auto g = offsets_.find(group);
  if (g == offsets_.end()) return 0;
  for (const auto& [tp, stored] : g->second) {
    newest = std::max(newest, stored.value.commit_timestamp_ms);
  }
  return newest;
}

}  // namespace strata::consumer_offsets
