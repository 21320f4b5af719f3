#include "consumer_offsets/coordinator.h"

#include <chrono>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/limits.h"
#include "common/logging.h"

namespace strata::consumer_offsets {

namespace {

constexpr auto kTickInterval = absl::Milliseconds(20);

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void RunAll(std::vector<absl::AnyInvocable<void()>> completions) {
  for (auto& c : completions) c();
}

GroupResult Err(GroupError e, std::string message) { return {e, std::move(message)}; }

}  // namespace

GroupResult GroupCoordinator::ValidateGroupId(const std::string& group_id) {
  if (group_id.empty() || group_id.size() > limits::group_id_bytes_max) {
    return Err(GroupError::kInvalidGroupId,
               absl::StrCat("a group id must be 1 to ", limits::group_id_bytes_max,
                            " bytes, not ", group_id.size()));
  }
  for (unsigned char c : group_id) {
    if (c < 0x20 || c == 0x7f) {
      return Err(GroupError::kInvalidGroupId, "a group id must not contain control characters");
    }
  }
  return GroupResult::Ok();
}

absl::StatusOr<std::unique_ptr<GroupCoordinator>> GroupCoordinator::Open(
    partition::TopicManager* topics, CoordinatorConfig config, CoordinatorOptions options) {
  if (!options.wall_clock) options.wall_clock = log::SystemClock();
  if (!options.monotonic_clock) options.monotonic_clock = SteadyNowMs;
  STRATA_ASSIGN_OR_RETURN(auto store,
                          OffsetStore::Open(topics, config.offsets_topic, config.clustered));
  std::unique_ptr<GroupCoordinator> c(
      new GroupCoordinator(topics, config, std::move(options), std::move(store)));
  {
    absl::MutexLock lock(&c->mu_);
    for (const std::string& g : c->store_->Groups()) {
      GroupResult ignored;
      Entry* e = c->GetOrCreate(g, &ignored);
      // Loaded from disk: the group was last known active when it last committed.
      if (e != nullptr) e->empty_since_wall_ms = c->store_->NewestCommitMs(g);
    }
  }
  c->next_expiry_check_ms_ =
      c->options_.monotonic_clock() + c->config_.offsets_retention_check_interval_ms;
  if (c->options_.start_ticker) {
    c->ticker_ = std::thread([raw = c.get()] { raw->TickerLoop(); });
  }
  return c;
}

GroupCoordinator::GroupCoordinator(partition::TopicManager* topics, CoordinatorConfig config,
                                   CoordinatorOptions options, std::unique_ptr<OffsetStore> store)
    : topics_(topics), config_(config), options_(std::move(options)), store_(std::move(store)) {}

GroupCoordinator::~GroupCoordinator() { Shutdown(); }

void GroupCoordinator::Shutdown() {
  std::vector<absl::AnyInvocable<void()>> completions;
  {
    absl::MutexLock lock(&mu_);
    if (!shut_down_) {
      shut_down_ = true;
      for (auto& [id, e] : groups_) {
        e.group->FailWaiting(GroupError::kShuttingDown,
                             "the broker is shutting down; rejoin once it is back");
        for (auto& c : e.group->TakeCompletions()) completions.push_back(std::move(c));
      }
    }
  }
  RunAll(std::move(completions));
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (ticker_.joinable()) ticker_.join();
}

std::string GroupCoordinator::NewMemberId(const std::string& client_id) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return absl::StrFormat("%s-%016x", client_id.empty() ? "member" : client_id, rng());
}

GroupCoordinator::Entry* GroupCoordinator::GetOrCreate(const std::string& group_id,
                                                       GroupResult* error) {
  auto it = groups_.find(group_id);
  if (it != groups_.end()) return &it->second;
  if (groups_.size() >= limits::groups_max) {
    *error = Err(GroupError::kGroupMaxSizeReached,
                 absl::StrCat("this broker already coordinates ", limits::groups_max,
                              " groups (limits::groups_max); delete unused groups"));
    return nullptr;
  }
  Entry& e = groups_[group_id];
  e.group = std::make_unique<Group>(group_id, config_.group,
                                    [this](const std::string& client) { return NewMemberId(client); });
  e.empty_since_wall_ms = options_.wall_clock();
  return &e;
}

std::vector<absl::AnyInvocable<void()>> GroupCoordinator::AfterCall(Entry& e) {
  if (e.group->state() == GroupState::kEmpty) {
    if (e.empty_since_wall_ms == 0) e.empty_since_wall_ms = options_.wall_clock();
  } else {
    e.empty_since_wall_ms = 0;
  }
  return e.group->TakeCompletions();
}

GroupResult GroupCoordinator::CheckGroup(const std::string& group_id) const {
  if (GroupResult r = ValidateGroupId(group_id); !r.ok()) return r;
  return store_->Available(group_id);
}

void GroupCoordinator::OnOffsetsLeadership(int32_t index, int32_t partitions, bool leader) {
  std::vector<absl::AnyInvocable<void()>> completions;
  {
    absl::MutexLock lock(&mu_);
    store_->SetLeadership(index, partitions, leader);
    for (auto it = groups_.begin(); it != groups_.end();) {
      if (store_->PartitionFor(it->first) != index) {
        ++it;
        continue;
      }
      it->second.group->FailWaiting(GroupError::kNotCoordinator,
                                    "the group's coordinator moved; find it again and rejoin");
      for (auto& c : it->second.group->TakeCompletions()) completions.push_back(std::move(c));
      it = groups_.erase(it);
    }
    if (leader) {
      for (const std::string& g : store_->Groups()) {
        if (store_->PartitionFor(g) != index) continue;
        GroupResult ignored;
        Entry* e = GetOrCreate(g, &ignored);
        if (e != nullptr) e->empty_since_wall_ms = store_->NewestCommitMs(g);
      }
    }
  }
  RunAll(std::move(completions));
}

GroupResult GroupCoordinator::FindCoordinator(const std::string& group_id) {
  if (GroupResult r = ValidateGroupId(group_id); !r.ok()) return r;
  if (config_.clustered) return store_->Available(group_id);
  if (absl::Status st = store_->EnsureTopic(); !st.ok()) {
    return Err(GroupError::kCoordinatorNotAvailable, std::string(st.message()));
  }
  return store_->Available(group_id);
}

// --- Membership ---------------------------------------------------------------------------------

void GroupCoordinator::JoinGroup(const std::string& group_id, JoinRequest request,
                                 JoinCallback done) {
  auto fail = [&](GroupResult r) {
    JoinResult out;
    out.result = std::move(r);
    out.member_id = request.member_id;
    done(std::move(out));
  };
  if (GroupResult r = FindCoordinator(group_id); !r.ok()) return fail(std::move(r));
  std::vector<absl::AnyInvocable<void()>> completions;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return fail(Err(GroupError::kShuttingDown, "the broker is shutting down"));
    GroupResult error;
    Entry* e = GetOrCreate(group_id, &error);
    if (e == nullptr) return fail(std::move(error));
    e->group->Join(std::move(request), options_.monotonic_clock(), std::move(done));
    completions = AfterCall(*e);
  }
  RunAll(std::move(completions));
}

void GroupCoordinator::SyncGroup(const std::string& group_id, SyncRequest request,
                                 SyncCallback done) {
  auto fail = [&](GroupResult r) {
    SyncResult out;
    out.result = std::move(r);
    done(std::move(out));
  };
  if (GroupResult r = CheckGroup(group_id); !r.ok()) return fail(std::move(r));
  std::vector<absl::AnyInvocable<void()>> completions;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return fail(Err(GroupError::kShuttingDown, "the broker is shutting down"));
    auto it = groups_.find(group_id);
    if (it == groups_.end()) {
      return fail(Err(GroupError::kUnknownMemberId,
                      absl::StrCat("group ", group_id, " has no members; rejoin")));
    }
    it->second.group->Sync(std::move(request), options_.monotonic_clock(), std::move(done));
    completions = AfterCall(it->second);
  }
  RunAll(std::move(completions));
}

GroupResult GroupCoordinator::Heartbeat(const std::string& group_id, const std::string& member_id,
                                        const std::optional<std::string>& group_instance_id,
                                        int32_t generation) {
  if (GroupResult r = CheckGroup(group_id); !r.ok()) return r;
  std::vector<absl::AnyInvocable<void()>> completions;
  GroupResult result;
  {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(group_id);
    if (it == groups_.end()) {
      return Err(GroupError::kUnknownMemberId,
                 absl::StrCat("group ", group_id, " has no members; rejoin"));
    }
    result = it->second.group->Heartbeat(member_id, group_instance_id, generation,
                                         options_.monotonic_clock());
    completions = AfterCall(it->second);
  }
  RunAll(std::move(completions));
  return result;
}

std::pair<GroupResult, std::vector<GroupResult>> GroupCoordinator::LeaveGroup(
    const std::string& group_id, const std::vector<LeavingMember>& members) {
  auto all = [&](GroupResult r) {
    return std::make_pair(r, std::vector<GroupResult>(members.size(), r));
  };
  if (GroupResult r = CheckGroup(group_id); !r.ok()) return all(std::move(r));
  std::vector<absl::AnyInvocable<void()>> completions;
  std::vector<GroupResult> results;
  {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(group_id);
    if (it == groups_.end()) {
      return {GroupResult::Ok(),
              std::vector<GroupResult>(
                  members.size(), Err(GroupError::kUnknownMemberId,
                                      absl::StrCat("group ", group_id, " has no members")))};
    }
    results = it->second.group->Leave(members, options_.monotonic_clock());
    completions = AfterCall(it->second);
  }
  RunAll(std::move(completions));
  return {GroupResult::Ok(), std::move(results)};
}

// --- Offsets ------------------------------------------------------------------------------------

void GroupCoordinator::CommitOffsets(const std::string& group_id, const std::string& member_id,
                                     const std::optional<std::string>& group_instance_id,
                                     int32_t generation, std::vector<CommitEntry> entries,
                                     absl::AnyInvocable<void(CommitOutcome)> done) {
  auto fail = [&](GroupResult r) {
    CommitOutcome out;
    out.group = r;
    out.entries.assign(entries.size(), r);
    done(std::move(out));
  };
  if (GroupResult r = FindCoordinator(group_id); !r.ok()) return fail(std::move(r));
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return fail(Err(GroupError::kShuttingDown, "the broker is shutting down"));
    auto it = groups_.find(group_id);
    if (it != groups_.end()) {
      if (GroupResult r = it->second.group->CheckCommit(member_id, group_instance_id, generation);
          !r.ok()) {
        return fail(std::move(r));
      }
    } else {
      if (!(generation < 0 && member_id.empty())) {
        return fail(Err(GroupError::kUnknownMemberId,
                        absl::StrCat("member ", member_id, " is not in group ", group_id,
                                     " (it has no members); rejoin")));
      }
      GroupResult error;
      if (GetOrCreate(group_id, &error) == nullptr) return fail(std::move(error));
    }
  }

  auto outcome = std::make_shared<CommitOutcome>();
  outcome->entries.resize(entries.size());
  std::vector<OffsetWrite> writes;
  std::vector<size_t> written;  // entry index of each write
  const int64_t now = options_.wall_clock();
  for (size_t i = 0; i < entries.size(); ++i) {
    CommitEntry& e = entries[i];
    if (e.metadata.size() > limits::offset_metadata_bytes_max) {
      outcome->entries[i] = Err(GroupError::kOffsetMetadataTooLarge,
                                absl::StrCat("commit metadata of ", e.metadata.size(),
                                             " bytes is over the limit of ",
                                             limits::offset_metadata_bytes_max));
      continue;
    }
    // A negative offset is stored as given, as Kafka does: Kafka clients commit -1 and -2 as
    // "latest" and "earliest" (kafkajs resets a position that way). Whoever reads a committed
    // offset takes a negative one as "nothing committed" (docs/consumer-groups.md).
    auto part = topics_->GetPartition(e.topic, e.partition);
    if (!part.ok() && (absl::IsNotFound(part.status()) || absl::IsOutOfRange(part.status()))) {
      outcome->entries[i] = Err(GroupError::kUnknownTopicOrPartition,
                                absl::StrCat("cannot commit to ", e.topic, "-", e.partition, ": ",
                                             part.status().message()));
      continue;
    }
    if (e.topic == kOffsetsTopic) {
      outcome->entries[i] = Err(GroupError::kInvalidRequest,
                                absl::StrCat("cannot commit offsets of ", kOffsetsTopic));
      continue;
    }
    writes.push_back({e.topic, e.partition, OffsetValue{e.offset, now, std::move(e.metadata)}});
    written.push_back(i);
  }
  store_->Write(group_id, std::move(writes), now,
                [outcome, written = std::move(written),
                 done = std::move(done)](GroupResult r) mutable {
                  for (size_t i : written) outcome->entries[i] = r;
                  done(std::move(*outcome));
                });
}

FetchOutcome GroupCoordinator::FetchOffsets(
    const std::string& group_id, const std::string& member_id, int32_t generation,
    const std::optional<std::vector<TopicPartitionId>>& partitions) {
  FetchOutcome out;
  if (GroupResult r = CheckGroup(group_id); !r.ok()) {
    out.group = std::move(r);
    return out;
  }
  if (!member_id.empty()) {
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(group_id);
    GroupResult r = it == groups_.end()
                        ? Err(GroupError::kUnknownMemberId,
                              absl::StrCat("group ", group_id, " has no members; rejoin"))
                        : it->second.group->CheckFetch(member_id, generation);
    if (!r.ok()) {
      out.group = std::move(r);
      return out;
    }
  }
  if (partitions.has_value()) {
    for (const auto& [topic, partition] : *partitions) {
      out.offsets.push_back({topic, partition, store_->Get(group_id, topic, partition)});
    }
  } else {
    for (auto& [tp, value] : store_->GetAll(group_id)) {
      out.offsets.push_back({tp.first, tp.second, value});
    }
  }
  return out;
}

// --- Admin --------------------------------------------------------------------------------------

std::vector<ListedGroup> GroupCoordinator::ListGroups(const std::vector<GroupState>& states) const {
  absl::MutexLock lock(&mu_);
  std::vector<ListedGroup> out;
  for (const auto& [id, e] : groups_) {
    const GroupState s = e.group->state();
    if (!states.empty() && std::find(states.begin(), states.end(), s) == states.end()) continue;
    out.push_back({id, e.group->protocol_type(), s});
  }
  return out;
}

std::pair<GroupResult, GroupDescription> GroupCoordinator::DescribeGroup(
    const std::string& group_id) const {
  if (GroupResult r = CheckGroup(group_id); !r.ok()) return {r, {}};
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(group_id);
  if (it == groups_.end()) {
    GroupDescription d;
    d.group_id = group_id;
    d.state = GroupState::kDead;
    return {Err(GroupError::kGroupIdNotFound, absl::StrCat("there is no group ", group_id)), d};
  }
  return {GroupResult::Ok(), it->second.group->Describe()};
}

void GroupCoordinator::DeleteGroups(std::vector<std::string> group_ids,
                                    absl::AnyInvocable<void(std::vector<GroupResult>)> done) {
  // Results are filled in as tombstone writes become durable; the last one calls `done`.
  struct Pending {
    absl::Mutex mu;
    std::vector<GroupResult> results ABSL_GUARDED_BY(mu);
    size_t outstanding ABSL_GUARDED_BY(mu) = 0;
    absl::AnyInvocable<void(std::vector<GroupResult>)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  {
    absl::MutexLock lock(&pending->mu);
    pending->results.resize(group_ids.size());
    pending->outstanding = group_ids.size() + 1;  // +1 until every write has started
  }
  auto finish = [pending](size_t i, GroupResult r) {
    std::vector<GroupResult> results;
    {
      absl::MutexLock lock(&pending->mu);
      if (i < pending->results.size()) pending->results[i] = std::move(r);
      if (--pending->outstanding > 0) return;
      results = std::move(pending->results);
    }
    pending->done(std::move(results));
  };

  for (size_t i = 0; i < group_ids.size(); ++i) {
    const std::string& id = group_ids[i];
    if (GroupResult r = CheckGroup(id); !r.ok()) {
      finish(i, std::move(r));
      continue;
    }
    GroupResult refused;
    std::vector<absl::AnyInvocable<void()>> completions;
    {
      absl::MutexLock lock(&mu_);
      auto it = groups_.find(id);
      if (it == groups_.end()) {
        refused = Err(GroupError::kGroupIdNotFound, absl::StrCat("there is no group ", id));
      } else if (it->second.group->member_count() > 0) {
        refused = Err(GroupError::kNonEmptyGroup,
                      absl::StrCat("group ", id, " has ", it->second.group->member_count(),
                                   " live members; stop them before deleting it"));
      } else {
        it->second.group->MarkDead();
        completions = it->second.group->TakeCompletions();
        groups_.erase(it);
      }
    }
    RunAll(std::move(completions));
    if (!refused.ok()) {
      finish(i, std::move(refused));
      continue;
    }
    std::vector<OffsetWrite> tombstones;
    for (const auto& [tp, value] : store_->GetAll(id)) {
      tombstones.push_back({tp.first, tp.second, std::nullopt});
    }
    store_->Write(id, std::move(tombstones), options_.wall_clock(),
                  [finish, i](GroupResult r) { finish(i, std::move(r)); });
  }
  finish(group_ids.size(), GroupResult::Ok());
}

std::vector<GroupSnapshot> GroupCoordinator::Snapshot() const {
  std::vector<GroupSnapshot> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, e] : groups_) {
      GroupSnapshot s;
      s.group_id = id;
      s.state = e.group->state();
      s.generation = e.group->generation();
      s.members = e.group->member_count();
      s.stats = e.group->stats();
      out.push_back(std::move(s));
    }
  }
  for (auto& s : out) s.offsets = store_->GetAll(s.group_id);
  return out;
}

// --- Time ---------------------------------------------------------------------------------------

void GroupCoordinator::TickerLoop() {
  while (!stop_.WaitForNotificationWithTimeout(kTickInterval)) Tick();
}

void GroupCoordinator::TEST_Tick() { Tick(); }
void GroupCoordinator::TEST_ExpireOffsets() { ExpireOffsets(); }

void GroupCoordinator::Tick() {
  std::vector<absl::AnyInvocable<void()>> completions;
  const int64_t now = options_.monotonic_clock();
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    for (auto& [id, e] : groups_) {
      if (!e.group->has_timers()) continue;
      e.group->Tick(now);
      for (auto& c : AfterCall(e)) completions.push_back(std::move(c));
    }
  }
  RunAll(std::move(completions));
  if (now >= next_expiry_check_ms_) {
    next_expiry_check_ms_ = now + config_.offsets_retention_check_interval_ms;
    ExpireOffsets();
  }
}

void GroupCoordinator::ExpireOffsets() {
  const int64_t now = options_.wall_clock();
  std::map<std::string, std::vector<OffsetWrite>> tombstones;
  std::vector<std::string> forget;  // Empty groups with no offsets left
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, e] : groups_) {
      const bool empty = e.group->state() == GroupState::kEmpty;
      const bool expired = empty && now - e.empty_since_wall_ms >= config_.offsets_retention_ms;
      for (const auto& [tp, value] : store_->GetAll(id)) {
        auto part = topics_->GetPartition(tp.first, tp.second);
        const bool topic_gone =
            !part.ok() && (absl::IsNotFound(part.status()) || absl::IsOutOfRange(part.status()));
        if (expired || topic_gone) tombstones[id].push_back({tp.first, tp.second, std::nullopt});
      }
      if (empty && !store_->HasOffsets(id)) forget.push_back(id);
    }
    for (const auto& id : forget) groups_.erase(id);
  }
  for (auto& [id, writes] : tombstones) {
    LogEvent(LogLevel::kInfo, absl::StrCat("expiring ", writes.size(), " committed offsets of group ",
                                           id));
    // `group = id`, not `id`: clang 14 cannot capture a structured binding (C++20's P1091).
    store_->Write(id, std::move(writes), now, [this, group = id](GroupResult r) {
      if (!r.ok()) {
        LogEvent(LogLevel::kWarn, absl::StrCat("expiring the offsets of group ", group,
                                               " failed: ", r.message));
        return;
      }
      absl::MutexLock lock(&mu_);
      auto it = groups_.find(group);
      if (it != groups_.end() && it->second.group->state() == GroupState::kEmpty &&
          !store_->HasOffsets(group)) {
        groups_.erase(it);
      }
    });
  }
}

}  // namespace strata::consumer_offsets
