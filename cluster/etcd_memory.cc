#include "cluster/etcd_memory.h"

#include <algorithm>

namespace strata::cluster {
namespace {

bool InRange(const KeyRange& range, const std::string& key) {
  if (range.range_end.empty()) return key == range.key;
  // "\0" as range_end means "to the end of the key space".
  bool to_end = range.range_end == std::string(1, '\0');
  return key >= range.key && (to_end || key < range.range_end);
}

absl::Status Unavailable() { return absl::UnavailableError("etcd (in memory) is unavailable"); }

}  // namespace

struct MemoryEtcd::Watcher {
  KeyRange range;
  int64_t next_revision = 0;  // the first revision not yet queued
  std::function<void(WatchUpdate)> on_update;
  bool cancelled = false;    // under MemoryEtcd::mu_
  bool in_callback = false;  // under MemoryEtcd::mu_
};

class MemoryEtcd::Handle final : public WatchHandle {
 public:
  Handle(MemoryEtcd* etcd, std::shared_ptr<Watcher> watcher)
      : etcd_(etcd), watcher_(std::move(watcher)) {}
  ~Handle() override { etcd_->RemoveWatcher(watcher_.get()); }

 private:
  MemoryEtcd* etcd_;
  std::shared_ptr<Watcher> watcher_;
};

MemoryEtcd::MemoryEtcd() : delivery_([this] { DeliveryLoop(); }) {}

MemoryEtcd::~MemoryEtcd() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  delivery_.join();
}

RangeResult MemoryEtcd::RangeLocked(const KeyRange& range) const {
  RangeResult result;
  result.revision = revision_;
  for (auto it = kvs_.lower_bound(range.key); it != kvs_.end(); ++it) {
    if (!InRange(range, it->first)) break;
    result.kvs.push_back(it->second);
  }
  return result;
}

absl::StatusOr<RangeResult> MemoryEtcd::Range(const KeyRange& range) {
  absl::MutexLock lock(&mu_);
  if (!available_) return Unavailable();
  return RangeLocked(range);
}

absl::StatusOr<int64_t> MemoryEtcd::Put(std::string_view key, std::string_view value,
                                        int64_t lease) {
  Txn txn;
  txn.success.push_back(Op::Put(key, std::string(value), lease));
  STRATA_ASSIGN_OR_RETURN(TxnResult result, Commit(txn));
  return result.revision;
}

absl::StatusOr<int64_t> MemoryEtcd::Delete(const KeyRange& range) {
  int64_t before = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!available_) return Unavailable();
    before = static_cast<int64_t>(RangeLocked(range).kvs.size());
  }
  Txn txn;
  txn.success.push_back(Op::Delete(range));
  STRATA_RETURN_IF_ERROR(Commit(txn).status());
  return before;
}

bool MemoryEtcd::HoldsLocked(const Compare& compare) const {
  auto it = kvs_.find(compare.key);
  const KeyValue* kv = it == kvs_.end() ? nullptr : &it->second;
  int cmp = 0;
  if (compare.target == Compare::Target::kValue) {
    if (kv == nullptr) return false;
    cmp = kv->value.compare(compare.value);
  } else {
    int64_t have = 0;
    if (kv != nullptr) {
      switch (compare.target) {
        case Compare::Target::kCreateRevision:
          have = kv->create_revision;
          break;
        case Compare::Target::kModRevision:
          have = kv->mod_revision;
          break;
        case Compare::Target::kVersion:
          have = kv->version;
          break;
        case Compare::Target::kValue:
          break;
      }
    }
    cmp = have < compare.number ? -1 : (have > compare.number ? 1 : 0);
  }
  switch (compare.result) {
    case Compare::Result::kEqual:
      return cmp == 0;
    case Compare::Result::kNotEqual:
      return cmp != 0;
    case Compare::Result::kGreater:
      return cmp > 0;
    case Compare::Result::kLess:
      return cmp < 0;
  }
  return false;
}

void MemoryEtcd::ApplyLocked(const Op& op, int64_t revision, RangeResult* out) {
  switch (op.kind) {
    case Op::Kind::kRange:
      *out = RangeLocked(op.range);
      return;
    case Op::Kind::kPut: {
      KeyValue& kv = kvs_[op.range.key];
      if (kv.create_revision == 0) {
        kv.key = op.range.key;
        kv.create_revision = revision;
      }
      kv.mod_revision = revision;
      kv.version++;
      kv.value = op.value;
      kv.lease = op.lease;
      history_.push_back({revision, {WatchEvent::Type::kPut, kv}});
      return;
    }
    case Op::Kind::kDelete: {
      for (auto it = kvs_.lower_bound(op.range.key); it != kvs_.end();) {
        if (!InRange(op.range, it->first)) break;
        KeyValue gone;
        gone.key = it->first;
        gone.mod_revision = revision;
        history_.push_back({revision, {WatchEvent::Type::kDelete, std::move(gone)}});
        it = kvs_.erase(it);
      }
      return;
    }
  }
}

absl::StatusOr<TxnResult> MemoryEtcd::Commit(const Txn& txn) {
  absl::MutexLock lock(&mu_);
  if (!available_) return Unavailable();
  for (const Op& op : txn.success) {
    if (op.kind == Op::Kind::kPut && op.lease != 0 && !leases_.contains(op.lease)) {
      return absl::NotFoundError("etcd (in memory): requested lease not found");
    }
  }
  TxnResult result;
  result.succeeded = true;
  for (const Compare& c : txn.compares) result.succeeded = result.succeeded && HoldsLocked(c);
  const std::vector<Op>& ops = result.succeeded ? txn.success : txn.failure;
  // Like etcd, a transaction that writes moves the revision by one, whatever it writes.
  bool writes =
      std::any_of(ops.begin(), ops.end(), [](const Op& op) { return op.kind != Op::Kind::kRange; });
  int64_t revision = writes ? revision_ + 1 : revision_;
  if (writes) revision_ = revision;
  for (const Op& op : ops) {
    result.ranges.emplace_back();
    ApplyLocked(op, revision, &result.ranges.back());
  }
  result.revision = revision_;
  NotifyLocked();
  return result;
}

absl::StatusOr<Lease> MemoryEtcd::GrantLease(int64_t ttl_seconds) {
  absl::MutexLock lock(&mu_);
  if (!available_) return Unavailable();
  int64_t id = next_lease_++;
  leases_[id] = {ttl_seconds, now_ms_ + ttl_seconds * 1000};
  return Lease{id, ttl_seconds};
}

absl::StatusOr<int64_t> MemoryEtcd::KeepAlive(int64_t lease_id) {
  absl::MutexLock lock(&mu_);
  if (!available_) return Unavailable();
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return absl::NotFoundError("etcd (in memory): lease expired");
  it->second.expires_at_ms = now_ms_ + it->second.ttl_seconds * 1000;
  return it->second.ttl_seconds;
}

absl::Status MemoryEtcd::RevokeLease(int64_t lease_id) {
  absl::MutexLock lock(&mu_);
  if (!available_) return Unavailable();
  if (!leases_.contains(lease_id)) return absl::NotFoundError("etcd (in memory): no such lease");
  DropLeaseLocked(lease_id);
  NotifyLocked();
  return absl::OkStatus();
}

void MemoryEtcd::DropLeaseLocked(int64_t lease_id) {
  leases_.erase(lease_id);
  std::vector<std::string> keys;
  for (const auto& [key, kv] : kvs_) {
    if (kv.lease == lease_id) keys.push_back(key);
  }
  if (keys.empty()) return;
  int64_t revision = ++revision_;
  for (const std::string& key : keys)
    ApplyLocked(Op::Delete(KeyRange::Exactly(key)), revision, nullptr);
}

void MemoryEtcd::AdvanceClock(int64_t ms) {
  absl::MutexLock lock(&mu_);
  now_ms_ += ms;
  std::vector<int64_t> expired;
  for (const auto& [id, lease] : leases_) {
    if (lease.expires_at_ms <= now_ms_) expired.push_back(id);
  }
  for (int64_t id : expired) DropLeaseLocked(id);
  NotifyLocked();
}

void MemoryEtcd::ExpireLease(int64_t lease_id) {
  absl::MutexLock lock(&mu_);
  if (!leases_.contains(lease_id)) return;
  DropLeaseLocked(lease_id);
  NotifyLocked();
}

void MemoryEtcd::Compact(int64_t revision) {
  absl::MutexLock lock(&mu_);
  compacted_ = std::max(compacted_, std::min(revision, revision_));
  const int64_t compacted = compacted_;
  std::erase_if(history_, [compacted](const Event& e) { return e.revision <= compacted; });
}

void MemoryEtcd::SetAvailable(bool available) {
  absl::MutexLock lock(&mu_);
  available_ = available;
  if (available) return;
  for (auto& watcher : watchers_) {
    WatchUpdate end;
    end.revision = revision_;
    end.ended = true;
    end.status = Unavailable();
    pending_.emplace_back(watcher, std::move(end));
  }
  watchers_.clear();
}

int64_t MemoryEtcd::revision() const {
  absl::MutexLock lock(&mu_);
  return revision_;
}

absl::StatusOr<std::unique_ptr<WatchHandle>> MemoryEtcd::Watch(
    const KeyRange& range, int64_t start_revision, std::function<void(WatchUpdate)> on_update) {
  absl::MutexLock lock(&mu_);
  if (!available_) return Unavailable();
  auto watcher = std::make_shared<Watcher>();
  watcher->range = range;
  watcher->next_revision = start_revision;
  watcher->on_update = std::move(on_update);
  auto handle = std::make_unique<Handle>(this, watcher);
  // Like etcd: the compacted revision itself can still be watched from, not below it.
  if (start_revision < compacted_) {
    WatchUpdate end;
    end.revision = revision_;
    end.ended = true;
    end.status = absl::OutOfRangeError("etcd (in memory): required revision has been compacted");
    end.compact_revision = compacted_;
    pending_.emplace_back(watcher, std::move(end));
    return handle;
  }
  watchers_.push_back(watcher);
  NotifyLocked();
  return handle;
}

void MemoryEtcd::NotifyLocked() {
  for (auto& watcher : watchers_) {
    WatchUpdate update;
    for (const Event& e : history_) {
      if (e.revision < watcher->next_revision || !InRange(watcher->range, e.event.kv.key)) continue;
      if (!update.events.empty() && e.revision != update.revision) {
        pending_.emplace_back(watcher, std::move(update));
        update = WatchUpdate{};
      }
      update.revision = e.revision;
      update.events.push_back(e.event);
    }
    if (!update.events.empty()) pending_.emplace_back(watcher, std::move(update));
    watcher->next_revision = revision_ + 1;
  }
}

void MemoryEtcd::RemoveWatcher(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watcher->cancelled = true;
  std::erase_if(watchers_, [&](const auto& w) { return w.get() == watcher; });
  // A handle destroyed inside its own callback must not wait for itself.
  if (std::this_thread::get_id() == delivery_.get_id()) return;
  mu_.Await(absl::Condition(
      +[](Watcher* w) { return !w->in_callback; }, watcher));
}

void MemoryEtcd::DeliveryLoop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(
        +[](MemoryEtcd* self)
             ABSL_NO_THREAD_SAFETY_ANALYSIS { return self->stopping_ || !self->pending_.empty(); },
        this));
    if (pending_.empty()) return;  // stopping, and everything was delivered
    auto [watcher, update] = std::move(pending_.front());
    pending_.pop_front();
    if (watcher->cancelled) continue;
    watcher->in_callback = true;
    delivering_++;
    mu_.Unlock();
    watcher->on_update(std::move(update));
    mu_.Lock();
    delivering_--;
    watcher->in_callback = false;
  }
}

void MemoryEtcd::WaitForWatches() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](MemoryEtcd* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return self->pending_.empty() && self->delivering_ == 0;
      },
      this));
}

}  // namespace strata::cluster
