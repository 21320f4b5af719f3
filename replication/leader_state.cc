#include "replication/leader_state.h"

#include <algorithm>
#include <chrono>

namespace strata::replication {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

LeaderState::LeaderState(std::shared_ptr<partition::Partition> partition, int32_t self,
                         cluster::PartitionState state, int32_t min_insync_replicas,
                         int64_t replica_lag_max_ms, int64_t now_ms, ProposeIsr propose,
                         OnHighWatermark on_high_watermark)
    : partition_(std::move(partition)),
      self_(self),
      replica_lag_max_ms_(replica_lag_max_ms),
      propose_(std::move(propose)),
      on_high_watermark_(std::move(on_high_watermark)),
      epoch_start_offset_(partition_->log_end_offset()),
      state_(std::move(state)),
      min_insync_replicas_(min_insync_replicas) {
  absl::MutexLock lock(&mu_);
  for (int32_t replica : state_.replicas) {
    // Every follower gets a full lag period from the start of this leadership to fetch.
    if (replica != self_) followers_[replica].last_caught_up_ms = now_ms;
  }
  // The high watermark is moved by the first fetch or append (Start is not called from here so
  // that no callback runs during construction).
}

void LeaderState::UpdateState(const cluster::PartitionState& state, int32_t min_insync_replicas) {
  std::optional<int64_t> hw;
  {
    absl::MutexLock lock(&mu_);
    state_ = state;
    min_insync_replicas_ = min_insync_replicas;
    std::vector<int32_t> pending;
    for (int32_t b : proposed_additions_) {
      if (!state_.InIsr(b)) pending.push_back(b);
    }
    proposed_additions_ = std::move(pending);
    if (!proposal_in_flight_) proposed_additions_.clear();
    for (int32_t replica : state_.replicas) {
      if (replica == self_) continue;
      Follower& f = followers_[replica];
      // Out of the ISR (a dead broker the controller dropped, or a laggard): what it reported
      // before no longer counts; it rejoins on the strength of a fetch it makes from now on.
      const bool proposed = std::find(proposed_additions_.begin(), proposed_additions_.end(),
                                      replica) != proposed_additions_.end();
      if (!state_.InIsr(replica) && !proposed) f.log_end = -1;
    }
    hw = HighWatermarkLocked();
  }
  Advance(hw);
}

void LeaderState::OnFollowerFetch(int32_t replica, int64_t fetch_offset, int64_t now_ms) {
  std::optional<int64_t> hw;
  std::optional<std::vector<int32_t>> expansion;
  {
    absl::MutexLock lock(&mu_);
    auto it = followers_.find(replica);
    if (it == followers_.end()) return;  // not a replica of this partition
    Follower& f = it->second;
    const int64_t leader_end = partition_->log_end_offset();
    f.log_end = std::min(fetch_offset, leader_end);
    if (fetch_offset >= leader_end) {
      f.last_caught_up_ms = now_ms;
    } else if (fetch_offset >= f.last_fetch_leader_end && f.last_fetch_leader_end >= 0) {
      f.last_caught_up_ms = std::max(f.last_caught_up_ms, f.last_fetch_ms);
    }
    f.last_fetch_leader_end = leader_end;
    f.last_fetch_ms = now_ms;
    hw = HighWatermarkLocked();
    expansion = ExpansionLocked(replica);
  }
  Advance(hw);
  if (expansion) Propose(std::move(*expansion), /*shrink=*/false);
}

void LeaderState::OnLeaderAppend() {
  std::optional<int64_t> hw;
  {
    absl::MutexLock lock(&mu_);
    hw = HighWatermarkLocked();
  }
  Advance(hw);
}

void LeaderState::CheckLag(int64_t now_ms) {
  std::vector<int32_t> isr;
  {
    absl::MutexLock lock(&mu_);
    if (proposal_in_flight_) return;
    for (int32_t b : state_.isr) {
      auto it = followers_.find(b);
      const bool lagging = b != self_ && it != followers_.end() &&
                           now_ms - it->second.last_caught_up_ms > replica_lag_max_ms_;
      if (!lagging) isr.push_back(b);
    }
    if (isr.size() == state_.isr.size()) return;
    proposal_in_flight_ = true;
  }
  Propose(std::move(isr), /*shrink=*/true);
}

std::optional<int64_t> LeaderState::HighWatermarkLocked() const {
  // KIP-966: below min_insync_replicas nothing new becomes committed.
  if (static_cast<int32_t>(state_.isr.size()) < min_insync_replicas_) return std::nullopt;
  int64_t hw = partition_->log_end_offset();
  std::vector<int32_t> members = state_.isr;
  members.insert(members.end(), proposed_additions_.begin(), proposed_additions_.end());
  for (int32_t b : members) {
    if (b == self_) continue;
    auto it = followers_.find(b);
    if (it == followers_.end() || it->second.log_end < 0) return std::nullopt;  // not heard from
    hw = std::min(hw, it->second.log_end);
  }
  if (hw <= partition_->high_watermark()) return std::nullopt;
  return hw;
}

std::optional<std::vector<int32_t>> LeaderState::ExpansionLocked(int32_t replica) {
  if (proposal_in_flight_ || state_.InIsr(replica)) return std::nullopt;
  auto it = followers_.find(replica);
  if (it == followers_.end()) return std::nullopt;
  const int64_t log_end = it->second.log_end;
  if (log_end < partition_->high_watermark() || log_end < epoch_start_offset_) return std::nullopt;
  std::vector<int32_t> isr = state_.isr;
  isr.push_back(replica);
  proposed_additions_ = {replica};
  proposal_in_flight_ = true;
  return isr;
}

void LeaderState::Propose(std::vector<int32_t> isr, bool shrink) {
  cluster::PartitionState expected;
  {
    absl::MutexLock lock(&mu_);
    expected = state_;
  }
  // The leadership may end (and this state go) before the cluster answers.
  std::weak_ptr<LeaderState> weak = weak_from_this();
  propose_(expected, std::move(isr), [weak, shrink](absl::Status status) {
    auto self = weak.lock();
    if (self == nullptr) return;
    absl::MutexLock lock(&self->mu_);
    self->proposal_in_flight_ = false;
    if (status.ok()) {
      (shrink ? self->isr_shrinks_ : self->isr_expands_)++;
    } else {
      self->proposed_additions_.clear();
    }
  });
}

void LeaderState::Advance(std::optional<int64_t> hw) {
  if (!hw) return;
  // Outside mu_: completing acks=all waits may fsync (Log::WhenDurable), and the partition only
  // ever moves forward, so two racing calls end at the larger value.
  partition_->AdvanceHighWatermark(*hw);
  if (on_high_watermark_) on_high_watermark_();
}

bool LeaderState::EnoughReplicas() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int32_t>(state_.isr.size()) >= min_insync_replicas_;
}

int32_t LeaderState::isr_size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int32_t>(state_.isr.size());
}

int32_t LeaderState::min_insync_replicas() const {
  absl::MutexLock lock(&mu_);
  return min_insync_replicas_;
}

std::vector<FollowerLag> LeaderState::Followers(int64_t now_ms) const {
  absl::MutexLock lock(&mu_);
  const int64_t leader_end = partition_->log_end_offset();
  std::vector<FollowerLag> out;
  for (const auto& [b, f] : followers_) {
    out.push_back({b, state_.InIsr(b), f.log_end,
                   f.log_end < 0 ? leader_end : leader_end - f.log_end,
                   std::max<int64_t>(0, now_ms - f.last_caught_up_ms)});
  }
  return out;
}

int64_t LeaderState::isr_shrinks() const {
  absl::MutexLock lock(&mu_);
  return isr_shrinks_;
}

int64_t LeaderState::isr_expands() const {
  absl::MutexLock lock(&mu_);
  return isr_expands_;
}

}  // namespace strata::replication
