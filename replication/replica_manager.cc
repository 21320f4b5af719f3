#include "replication/replica_manager.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace strata::replication {
namespace {

bool HasReplica(const cluster::PartitionState& state, int32_t broker) {
  return std::find(state.replicas.begin(), state.replicas.end(), broker) != state.replicas.end();
}

}  // namespace

ReplicaManager::ReplicaManager(ReplicaManagerOptions options, ReplicaManagerHooks hooks)
    : options_(std::move(options)), hooks_(std::move(hooks)) {
  ticker_ = std::thread([this] { Tick(); });
}

ReplicaManager::~ReplicaManager() {
  {
    absl::MutexLock lock(&ticker_mu_);
    stopping_ = true;
  }
  ticker_.join();
  absl::MutexLock lock(&apply_mu_);
  fetchers_.clear();  // joins each fetcher's thread
}

void ReplicaManager::Tick() {
  const int64_t period_ms = std::max<int64_t>(options_.replica_lag_max_ms / 2, 10);
  absl::MutexLock lock(&ticker_mu_);
  while (!ticker_mu_.AwaitWithTimeout(
      absl::Condition(+[](bool* stopping) { return *stopping; }, &stopping_),
      absl::Milliseconds(period_ms))) {
    std::vector<std::shared_ptr<LeaderState>> leaders;
    {
      absl::MutexLock replicas_lock(&mu_);
      for (const auto& [id, r] : replicas_) {
        if (r.state) leaders.push_back(r.state);
      }
    }
    const int64_t now = SteadyNowMs();
    for (auto& state : leaders) state->CheckLag(now);
  }
}

void ReplicaManager::Apply(std::shared_ptr<const cluster::ClusterView> view) {
  absl::MutexLock apply_lock(&apply_mu_);
  std::shared_ptr<const cluster::ClusterView> previous;
  {
    absl::MutexLock lock(&mu_);
    previous = view_;
    view_ = view;
  }
  std::set<cluster::TopicPartitionId> here;
  for (const auto& [id, state] : view->partitions) {
    auto topic = view->topics.find(id.topic);
    if (topic == view->topics.end() || !HasReplica(state, options_.self)) continue;
    here.insert(id);
    ApplyOne(*view, id, state, topic->second);
  }
  // Replicas that are no longer here (reassigned, or their topic deleted).
  std::vector<std::pair<cluster::TopicPartitionId, bool>> gone;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = replicas_.begin(); it != replicas_.end();) {
      if (here.contains(it->first)) {
        ++it;
        continue;
      }
      gone.emplace_back(it->first, it->second.role == partition::Role::kLeader);
      it = replicas_.erase(it);
    }
  }
  for (const auto& [id, was_leader] : gone) {
    StopFollowing(id);
    if (was_leader && hooks_.on_leadership) hooks_.on_leadership(id, false, -1);
  }
  if (previous != nullptr) {
    for (const auto& [name, topic] : previous->topics) {
      if (!view->topics.contains(name) && hooks_.delete_topic) hooks_.delete_topic(name);
    }
  }
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    it = it->second.fetcher->empty() ? fetchers_.erase(it) : std::next(it);
  }
}

void ReplicaManager::ApplyOne(const cluster::ClusterView& view,
                              const cluster::TopicPartitionId& id,
                              const cluster::PartitionState& state,
                              const cluster::TopicRecord& topic) {
  Replica current;
  {
    absl::MutexLock lock(&mu_);
    auto it = replicas_.find(id);
    if (it != replicas_.end()) current = it->second;
  }
  std::shared_ptr<partition::Partition> partition = current.partition;
  if (partition == nullptr) {
    auto opened = hooks_.open_partition(topic, id.partition);
    if (!opened.ok()) {
      LogEvent(LogLevel::kError, absl::StrCat("replication: cannot open the local replica of ",
                                              id.ToString(), ": ", opened.status().ToString()));
      return;
    }
    partition = std::move(*opened);
  }
  // Named leader in a record that admitted an earlier run of this broker: that run may have
  // acknowledged writes this log lost (a power loss), so it does not lead on that admission; the
  // controller elects a current ISR member, or this broker again at its new epoch.
  const bool stale_leader =
      state.leader == options_.self && view.StaleInIsr(state, options_.self);
  if (state.leader == options_.self && !stale_leader) {
    if (current.role == partition::Role::kLeader && current.leader_epoch == state.leader_epoch) {
      current.state->UpdateState(state, topic.min_insync_replicas);
      return;
    }
    StopFollowing(id);
    absl::Status st = partition->BecomeLeader(state.leader_epoch);
    if (!st.ok()) {
      LogEvent(LogLevel::kError, absl::StrCat("replication: ", id.ToString(), ": ", st.message()));
      return;
    }
    auto propose = [this, id](const cluster::PartitionState& expected, std::vector<int32_t> isr,
                              std::function<void(absl::Status)> done) {
      std::map<int32_t, int64_t> epochs;
      const std::shared_ptr<const cluster::ClusterView> now = this->view();
      for (int32_t b : isr) {
        auto it = now->brokers.find(b);
        if (it != now->brokers.end()) epochs[b] = it->second.epoch;
      }
      hooks_.propose_isr(id, expected, std::move(isr), std::move(epochs), std::move(done));
    };
    auto on_hw = [this, id] {
      if (hooks_.on_high_watermark) hooks_.on_high_watermark(id);
    };
    auto leader_state = std::make_shared<LeaderState>(partition, options_.self, state,
                                                      topic.min_insync_replicas,
                                                      options_.replica_lag_max_ms, SteadyNowMs(),
                                                      std::move(propose), std::move(on_hw));
    {
      absl::MutexLock lock(&mu_);
      replicas_[id] = Replica{partition::Role::kLeader, options_.self, state.leader_epoch,
                              partition, leader_state};
    }
    LogEvent(LogLevel::kInfo, absl::StrCat("replication: leading ", id.ToString(), " at epoch ",
                                           state.leader_epoch, " from offset ",
                                           partition->log_end_offset()));
    leader_state->OnLeaderAppend();  // alone in the ISR, the high watermark is the log end
    if (hooks_.on_leadership) hooks_.on_leadership(id, true, state.leader_epoch);
    return;
  }
  const bool was_leader = current.role == partition::Role::kLeader;
  const int32_t following = stale_leader ? cluster::kNoLeader : state.leader;
  if (!(current.role == partition::Role::kFollower && current.leader_epoch == state.leader_epoch &&
        current.leader == following)) {
    absl::Status st = partition->BecomeFollower(state.leader_epoch);
    if (!st.ok()) {
      LogEvent(LogLevel::kError, absl::StrCat("replication: ", id.ToString(), ": ", st.message()));
      return;
    }
    if (stale_leader) {
      LogEvent(LogLevel::kWarn,
               absl::StrCat("replication: ", id.ToString(), " names this broker leader at epoch ",
                            state.leader_epoch, ", as admitted before it restarted; waiting for "
                            "the controller to elect again"));
    } else if (state.leader >= 0) {
      LogEvent(LogLevel::kInfo, absl::StrCat("replication: following ", id.ToString(),
                                             " from broker ", state.leader, " at epoch ",
                                             state.leader_epoch));
    }
  }
  StopFollowing(id, state.leader);
  if (state.leader >= 0 && !stale_leader) {
    if (Fetcher* fetcher = FetcherFor(view, state.leader)) {
      fetcher->Add(id, partition, state.leader_epoch);
    }
  }
  {
    absl::MutexLock lock(&mu_);
    replicas_[id] =
        Replica{partition::Role::kFollower, following, state.leader_epoch, partition, nullptr};
  }
  if (was_leader && hooks_.on_leadership) hooks_.on_leadership(id, false, state.leader_epoch);
}

Fetcher* ReplicaManager::FetcherFor(const cluster::ClusterView& view, int32_t leader) {
  auto broker = view.brokers.find(leader);
  if (broker == view.brokers.end()) return nullptr;  // gone; the controller is moving it
  FetcherEntry& entry = fetchers_[leader];
  if (entry.fetcher != nullptr && entry.host == broker->second.host &&
      entry.port == broker->second.port) {
    return entry.fetcher.get();
  }
  entry.fetcher.reset();  // a restarted broker at a new address: its partitions are re-added
  entry.host = broker->second.host;
  entry.port = broker->second.port;
  FetcherOptions options = options_.fetcher;
  options.self = options_.self;
  entry.fetcher = std::make_unique<Fetcher>(
      leader, hooks_.channels(leader, entry.host, entry.port), options);
  return entry.fetcher.get();
}

void ReplicaManager::StopFollowing(const cluster::TopicPartitionId& id, int32_t except) {
  for (auto& [broker, entry] : fetchers_) {
    if (broker != except) entry.fetcher->Remove(id);
  }
}

Leadership ReplicaManager::Lookup(const cluster::TopicPartitionId& id) const {
  absl::MutexLock lock(&mu_);
  Leadership out;
  auto it = replicas_.find(id);
  if (it != replicas_.end()) {
    const Replica& r = it->second;
    out.leader = r.leader;
    out.leader_epoch = r.leader_epoch;
    out.partition = r.partition;
    if (r.role == partition::Role::kLeader) {
      out.kind = Leadership::Kind::kLeader;
      out.state = r.state;
    } else {
      out.kind = r.leader >= 0 ? Leadership::Kind::kFollower : Leadership::Kind::kOffline;
    }
    return out;
  }
  const cluster::PartitionState* state = view_ ? view_->Find(id) : nullptr;
  if (state == nullptr) return out;
  out.leader = state->leader;
  out.leader_epoch = state->leader_epoch;
  out.kind = state->leader >= 0 ? Leadership::Kind::kNotReplica : Leadership::Kind::kOffline;
  return out;
}

void ReplicaManager::OnAppend(const cluster::TopicPartitionId& id) const {
  std::shared_ptr<LeaderState> state;
  {
    absl::MutexLock lock(&mu_);
    auto it = replicas_.find(id);
    if (it == replicas_.end() || it->second.state == nullptr) return;
    state = it->second.state;
  }
  state->OnLeaderAppend();
}

std::shared_ptr<const cluster::ClusterView> ReplicaManager::view() const {
  absl::MutexLock lock(&mu_);
  return view_;
}

ReplicaCounts ReplicaManager::Counts() const {
  absl::MutexLock lock(&mu_);
  ReplicaCounts counts;
  for (const auto& [id, r] : replicas_) {
    if (r.state == nullptr) {
      counts.followers++;
      continue;
    }
    counts.leaders++;
    const cluster::PartitionState* state = view_ ? view_->Find(id) : nullptr;
    const int32_t isr = r.state->isr_size();
    if (state != nullptr && isr < static_cast<int32_t>(state->replicas.size())) {
      counts.under_replicated++;
    }
    if (isr < r.state->min_insync_replicas()) counts.below_min_isr++;
    counts.isr_shrinks += r.state->isr_shrinks();
    counts.isr_expands += r.state->isr_expands();
  }
  return counts;
}

std::vector<FollowerLagInfo> ReplicaManager::FollowerLags(int64_t now_ms) const {
  std::vector<std::pair<cluster::TopicPartitionId, std::shared_ptr<LeaderState>>> leaders;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, r] : replicas_) {
      if (r.state) leaders.emplace_back(id, r.state);
    }
  }
  std::vector<FollowerLagInfo> out;
  for (const auto& [id, state] : leaders) {
    for (const FollowerLag& lag : state->Followers(now_ms)) out.push_back({id, lag});
  }
  return out;
}

FetcherStats ReplicaManager::FetchStats() const {
  absl::MutexLock lock(&apply_mu_);
  FetcherStats total;
  for (const auto& [broker, entry] : fetchers_) {
    FetcherStats s = entry.fetcher->stats();
    total.rounds += s.rounds;
    total.batches += s.batches;
    total.truncations += s.truncations;
    total.errors += s.errors;
  }
  return total;
}

}  // namespace strata::replication
