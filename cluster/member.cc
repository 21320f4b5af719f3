#include "cluster/member.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/limits.h"
#include "common/logging.h"

namespace strata::cluster {
namespace {

using std::chrono::milliseconds;

}  // namespace

ClusterMember::ClusterMember(EtcdClient& etcd, MemberOptions options, Listener listener)
    : etcd_(etcd),
      options_(std::move(options)),
      keys_(options_.cluster_name),
      listener_(std::move(listener)) {}

ClusterMember::~ClusterMember() { Stop(); }

absl::Status ClusterMember::Start(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  absl::Status status;
  // Registration and the first read happen here, on the caller's thread, so that a broker that
  // cannot reach etcd fails to start with the reason.
  while (true) {
    status = Register();
    if (status.ok()) status = Resync();
    if (status.ok()) break;
    if (Clock::now() + milliseconds(options_.retry_backoff_ms) > deadline) {
      return absl::UnavailableError(
          absl::StrCat("cannot join the cluster through etcd: ", status.message(),
                       "; check --etcd and that etcd is running"));
    }
    std::this_thread::sleep_for(milliseconds(options_.retry_backoff_ms));
  }
  Publish();
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void ClusterMember::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  watch_.reset();
  // Callbacks still waiting learn that nothing more will happen.
  for (Waiter& waiter : waiters_) waiter.done(absl::UnavailableError("the broker is stopping"));
  waiters_.clear();
}

void ClusterMember::Leave(milliseconds timeout) {
  absl::Notification left;
  Post([this, timeout, &left] {
    BrokerInfo self = options_.self;
    self.shutting_down = true;
    Txn txn;
    // Only our own live registration is marked; if the lease is gone there is nothing to hand
    // over (the controller has already moved our leaderships).
    txn.compares.push_back(
        Compare{keys_.broker(self.id),
                Compare::Target::kCreateRevision,
                Compare::Result::kEqual,
                view_.brokers.contains(self.id) ? view_.brokers.at(self.id).epoch : -1,
                {}});
    txn.success.push_back(Op::Put(keys_.broker(self.id), EncodeBroker(self), lease_id_));
    auto result = etcd_.Commit(txn);
    if (!result.ok() || !result->succeeded) {
      left.Notify();
      return;
    }
    const int32_t id = options_.self.id;
    waiters_.push_back({[id](const ClusterView& view) {
                          return std::none_of(
                              view.partitions.begin(), view.partitions.end(),
                              [id](const auto& p) { return p.second.leader == id; });
                        },
                        Clock::now() + timeout, [&left](absl::Status) { left.Notify(); }});
    CheckWaiters(Clock::now());
  });
  left.WaitForNotificationWithTimeout(absl::FromChrono(timeout + milliseconds(1000)));
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
  watch_.reset();
  if (lease_id_ != 0) {
    auto status = etcd_.RevokeLease(lease_id_);
    if (!status.ok())
      LogEvent(LogLevel::kWarn,
               absl::StrCat("cluster: revoking the lease on leaving: ", status.ToString()));
  }
  for (Waiter& waiter : waiters_) waiter.done(absl::UnavailableError("the broker is stopping"));
  waiters_.clear();
}

std::shared_ptr<const ClusterView> ClusterMember::view() const {
  absl::MutexLock lock(&mu_);
  return published_;
}

void ClusterMember::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
  wake_.Signal();
}

void ClusterMember::OnWatch(WatchUpdate update) {
  absl::MutexLock lock(&mu_);
  watch_updates_.push_back(std::move(update));
  wake_.Signal();
}

absl::Status ClusterMember::Register() {
  const std::string key = keys_.broker(options_.self.id);
  // An earlier run of this broker (killed, restarted within its TTL) may still be registered:
  // revoke that lease, which also drops the controller key if that run held it.
  STRATA_ASSIGN_OR_RETURN(RangeResult existing, etcd_.Range(KeyRange::Exactly(key)));
  if (!existing.kvs.empty() && existing.kvs[0].lease != 0 && existing.kvs[0].lease != lease_id_) {
    auto revoked = etcd_.RevokeLease(existing.kvs[0].lease);
    if (!revoked.ok() && !absl::IsNotFound(revoked)) return revoked;
  }
  STRATA_ASSIGN_OR_RETURN(Lease lease, etcd_.GrantLease(options_.lease_ttl_seconds));
  Txn txn;
  txn.compares.push_back(Compare::Absent(key));
  BrokerInfo self = options_.self;
  self.shutting_down = false;
  txn.success.push_back(Op::Put(key, EncodeBroker(self), lease.id));
  STRATA_ASSIGN_OR_RETURN(TxnResult result, etcd_.Commit(txn));
  if (!result.succeeded) {
    (void)etcd_.RevokeLease(lease.id);
    return absl::AlreadyExistsError(
        absl::StrCat("broker id ", options_.self.id,
                     " is registered by another live broker; each broker "
                     "of a cluster needs its own --node-id"));
  }
  lease_id_ = lease.id;
  next_keepalive_ = Clock::now() + milliseconds(options_.lease_ttl_seconds * 1000 / 3);
  LogEvent(LogLevel::kInfo,
           absl::StrCat("cluster: registered broker ", options_.self.id, " (epoch ",
                        result.revision, ", lease ttl ", lease.ttl_seconds, " s)"));
  return absl::OkStatus();
}

absl::Status ClusterMember::Resync() {
  watch_.reset();
  {
    absl::MutexLock lock(&mu_);
    watch_updates_.clear();  // from the watch just cancelled; the read below supersedes them
  }
  STRATA_ASSIGN_OR_RETURN(RangeResult range, etcd_.Range(KeyRange::Prefix(keys_.root())));
  std::vector<std::string> errors;
  view_ = ClusterView::FromRange(keys_, range, &errors);
  for (const std::string& error : errors)
    LogEvent(LogLevel::kError, absl::StrCat("cluster: ", error));
  view_changed_ = true;
  STRATA_ASSIGN_OR_RETURN(watch_, etcd_.Watch(KeyRange::Prefix(keys_.root()), range.revision + 1,
                                              [this](WatchUpdate u) { OnWatch(std::move(u)); }));
  resync_needed_ = false;
  if (controller_epoch_ != 0 &&
      !(view_.controller && view_.controller->epoch == controller_epoch_)) {
    controller_epoch_ = 0;
  }
  return absl::OkStatus();
}

void ClusterMember::Publish() {
  auto snapshot = std::make_shared<const ClusterView>(view_);
  {
    absl::MutexLock lock(&mu_);
    published_ = snapshot;
  }
  view_changed_ = false;
  listener_(std::move(snapshot));
}

void ClusterMember::Run() {
  while (true) {
    std::deque<std::function<void()>> tasks;
    std::deque<WatchUpdate> updates;
    {
      absl::MutexLock lock(&mu_);
      // Wakes for work, or in time for the next keepalive and controller round.
      auto wake_at = std::min(next_keepalive_, Clock::now() + milliseconds(100));
      while (!stopping_ && tasks_.empty() && watch_updates_.empty() && Clock::now() < wake_at) {
        wake_.WaitWithDeadline(
            &mu_, absl::FromChrono(std::chrono::system_clock::now() + (wake_at - Clock::now())));
      }
      if (stopping_) return;
      tasks.swap(tasks_);
      updates.swap(watch_updates_);
    }
    for (WatchUpdate& update : updates) {
      if (update.ended) {
        if (update.compact_revision > 0) {
          LogEvent(LogLevel::kInfo,
                   absl::StrCat("cluster: watch compacted at revision ", update.compact_revision,
                                "; reading the cluster again"));
        } else {
          LogEvent(LogLevel::kWarn, absl::StrCat("cluster: watch ended (", update.status.ToString(),
                                                 "); reading the cluster again"));
        }
        resync_needed_ = true;
        break;
      }
      std::vector<std::string> errors;
      for (const WatchEvent& event : update.events) view_.Apply(keys_, event, &errors);
      view_.revision = std::max(view_.revision, update.revision);
      for (const std::string& error : errors)
        LogEvent(LogLevel::kError, absl::StrCat("cluster: ", error));
      view_changed_ = true;
    }
    auto now = Clock::now();
    if (resync_needed_ && now >= next_resync_) {
      auto status = Resync();
      if (!status.ok()) {
        LogEvent(LogLevel::kWarn,
                 absl::StrCat("cluster: cannot read the cluster from etcd: ", status.ToString()));
        next_resync_ = now + milliseconds(options_.retry_backoff_ms);
      }
    }
    if (view_changed_) {
      // Our own controller epoch ends when the view shows another controller key (or none); a
      // view older than our campaign's write cannot show it yet, and says nothing.
      if (controller_epoch_ != 0 && view_.revision >= awaited_revision_ &&
          !(view_.controller && view_.controller->epoch == controller_epoch_)) {
        LogEvent(LogLevel::kInfo,
                 absl::StrCat("cluster: no longer the controller (epoch ", controller_epoch_, ")"));
        controller_epoch_ = 0;
      }
      Publish();
    }
    KeepAliveIfDue(now);
    for (auto& task : tasks) task();
    if (!resync_needed_) ControlIfDue(Clock::now());
    CheckWaiters(Clock::now());
  }
}

void ClusterMember::KeepAliveIfDue(Clock::time_point now) {
  if (now < next_keepalive_) return;
  auto ttl = etcd_.KeepAlive(lease_id_);
  if (ttl.ok()) {
    next_keepalive_ = now + milliseconds(options_.lease_ttl_seconds * 1000 / 3);
    return;
  }
  if (absl::IsNotFound(ttl.status())) {
    // Paused or cut off past the TTL: the cluster has treated this broker as gone (its
    // leaderships moved, its controller term ended). Join again under a new epoch.
    LogEvent(LogLevel::kWarn, "cluster: the broker's lease expired; registering again");
    controller_epoch_ = 0;
    auto status = Register();
    if (status.ok()) return;
    LogEvent(LogLevel::kWarn, absl::StrCat("cluster: registering again: ", status.ToString()));
  } else {
    LogEvent(LogLevel::kWarn, absl::StrCat("cluster: lease keepalive: ", ttl.status().ToString()));
  }
  next_keepalive_ = now + milliseconds(options_.retry_backoff_ms);
}

void ClusterMember::Campaign() {
  Txn txn;
  txn.compares.push_back(Compare::Absent(keys_.controller()));
  txn.success.push_back(
      Op::Put(keys_.controller(), EncodeController({options_.self.id, 0}), lease_id_));
  auto result = etcd_.Commit(txn);
  if (!result.ok()) {
    LogEvent(LogLevel::kWarn,
             absl::StrCat("cluster: campaigning for controller: ", result.status().ToString()));
    return;
  }
  if (!result->succeeded) return;        // someone else was quicker; the watch shows who
  controller_epoch_ = result->revision;  // the controller key's create_revision
  awaited_revision_ = result->revision;
  LogEvent(LogLevel::kInfo, absl::StrCat("cluster: broker ", options_.self.id,
                                         " is the controller (epoch ", controller_epoch_, ")"));
}

void ClusterMember::ControlIfDue(Clock::time_point now) {
  if (!view_.controller && view_.brokers.contains(options_.self.id)) Campaign();
  if (controller_epoch_ == 0 || view_.revision < awaited_revision_) return;
  int preferred = now >= next_preferred_move_ ? 1 : 0;
  std::vector<PartitionChange> changes = PlanPartitionChanges(view_, preferred);
  if (changes.empty()) return;
  for (size_t i = 0; i < changes.size(); i += limits::etcd_txn_changes_max) {
    std::vector<PartitionChange> chunk(
        changes.begin() + i,
        changes.begin() + std::min(changes.size(), i + limits::etcd_txn_changes_max));
    auto result = etcd_.Commit(ControllerTxn(keys_, controller_epoch_, chunk));
    if (!result.ok()) {
      LogEvent(LogLevel::kWarn,
               absl::StrCat("cluster: controller write: ", result.status().ToString()));
      return;
    }
    if (!result->succeeded) return;  // the view was stale; the watch brings the new one
    awaited_revision_ = result->revision;
    for (const PartitionChange& change : chunk) {
      LogEvent(LogLevel::kInfo,
               absl::StrCat("cluster: ", change.id.ToString(), ": leader ", change.after.leader,
                            " epoch ", change.after.leader_epoch, " isr [",
                            absl::StrJoin(change.after.isr, ","), "] (", change.reason, ")"));
      if (change.reason.starts_with("preferred")) {
        next_preferred_move_ = now + milliseconds(options_.leader_rebalance_interval_ms);
      }
    }
  }
}

void ClusterMember::CheckWaiters(Clock::time_point now) {
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->satisfied(view_)) {
      auto done = std::move(it->done);
      it = waiters_.erase(it);
      done(absl::OkStatus());
    } else if (now >= it->deadline) {
      auto done = std::move(it->done);
      it = waiters_.erase(it);
      done(absl::DeadlineExceededError("the cluster did not apply the change in time"));
    } else {
      ++it;
    }
  }
}

void ClusterMember::CreateTopic(NewTopic topic, milliseconds timeout, Done done) {
  Post([this, topic = std::move(topic), timeout, done = std::move(done)]() mutable {
    if (!view_.controller) {
      return done(absl::UnavailableError("the cluster has no controller yet; retry shortly"));
    }
    if (view_.topics.contains(topic.name)) {
      return done(absl::AlreadyExistsError(absl::StrCat("topic ", topic.name, " exists")));
    }
    std::string name = topic.name;
    auto txn = CreateTopicTxn(keys_, view_, view_.controller->epoch, std::move(topic));
    if (!txn.ok()) return done(txn.status());
    auto result = etcd_.Commit(*txn);
    if (!result.ok()) return done(result.status());
    if (!result->succeeded) {
      return done(absl::UnavailableError(absl::StrCat(
          "topic ", name, " was created meanwhile, or the controller changed; retry")));
    }
    waiters_.push_back({[name](const ClusterView& view) {
                          auto topic = view.topics.find(name);
                          if (topic == view.topics.end()) return false;
                          for (int32_t p = 0; p < topic->second.partitions(); p++) {
                            const PartitionState* state = view.Find({name, p});
                            if (state == nullptr || state->leader == kNoLeader) return false;
                          }
                          return true;
                        },
                        Clock::now() + timeout, std::move(done)});
  });
}

void ClusterMember::DeleteTopic(std::string name, milliseconds timeout, Done done) {
  Post([this, name = std::move(name), timeout, done = std::move(done)]() mutable {
    if (!view_.topics.contains(name)) {
      return done(absl::NotFoundError(absl::StrCat("topic ", name, " does not exist")));
    }
    if (!view_.controller) {
      return done(absl::UnavailableError("the cluster has no controller yet; retry shortly"));
    }
    auto result = etcd_.Commit(DeleteTopicTxn(keys_, view_.controller->epoch, name));
    if (!result.ok()) return done(result.status());
    if (!result->succeeded) {
      return done(absl::UnavailableError("the controller changed meanwhile; retry"));
    }
    waiters_.push_back({[name](const ClusterView& view) { return !view.topics.contains(name); },
                        Clock::now() + timeout, std::move(done)});
  });
}

void ClusterMember::AlterIsr(TopicPartitionId id, PartitionState expected, std::vector<int32_t> isr,
                             std::map<int32_t, int64_t> epochs, Done done) {
  Post([this, id = std::move(id), expected = std::move(expected), isr = std::move(isr),
        epochs = std::move(epochs), done = std::move(done)]() mutable {
    const std::string key = keys_.partition(id.topic, id.partition);
    Txn txn;
    txn.compares.push_back(Compare::ModRevision(key, expected.mod_revision));
    // A member added now is admitted at the broker epoch the leader saw when it proved caught up,
    // and only if that broker has not registered again since (its key's create_revision is
    // still that epoch): a run that restarted after the proof has not proved anything
    // (docs/cluster.md#restarted-replicas-kip-966).
    for (int32_t b : isr) {
      if (expected.InIsr(b)) continue;
      auto epoch = epochs.find(b);
      if (epoch == epochs.end() || epoch->second <= 0) {
        return done(absl::AbortedError(absl::StrCat(
            "broker ", b, " is not registered in this leader's view of the cluster yet")));
      }
      txn.compares.push_back(Compare::CreateRevision(keys_.broker(b), epoch->second));
    }
    PartitionState after = expected;
    after.SetIsr(std::move(isr), [&epochs](int32_t b) {
      auto it = epochs.find(b);
      return it == epochs.end() ? int64_t{0} : it->second;
    });
    after.partition_epoch++;
    txn.success.push_back(Op::Put(key, EncodePartition(after)));
    auto result = etcd_.Commit(txn);
    if (!result.ok()) return done(result.status());
    if (!result->succeeded) {
      return done(absl::AbortedError(absl::StrCat(
          id.ToString(), " changed meanwhile, or a broker being added has restarted since")));
    }
    LogEvent(LogLevel::kInfo,
             absl::StrCat("cluster: ", id.ToString(), ": isr [", absl::StrJoin(after.isr, ","),
                          "] (leader ", after.leader, ")"));
    done(absl::OkStatus());
  });
}

absl::StatusOr<int64_t> ClusterMember::ReserveProducerIds(int64_t count) {
  const std::string key = keys_.producer_ids();
  for (int attempt = 0; attempt < 16; attempt++) {
    STRATA_ASSIGN_OR_RETURN(RangeResult range, etcd_.Range(KeyRange::Exactly(key)));
    int64_t next = 0;
    int64_t mod_revision = 0;
    if (!range.kvs.empty()) {
      if (!absl::SimpleAtoi(range.kvs[0].value, &next) || next < 0) {
        return absl::DataLossError(absl::StrCat("etcd key ", key, " holds `", range.kvs[0].value,
                                                "`, not a producer id"));
      }
      mod_revision = range.kvs[0].mod_revision;
    }
    Txn txn;
    txn.compares.push_back(Compare::ModRevision(key, mod_revision));
    txn.success.push_back(Op::Put(key, std::to_string(next + count)));
    STRATA_ASSIGN_OR_RETURN(TxnResult result, etcd_.Commit(txn));
    if (result.succeeded) return next;
  }
  return absl::UnavailableError("other brokers kept reserving producer ids at the same time");
}

}  // namespace strata::cluster
