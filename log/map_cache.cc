#include "log/map_cache.h"

namespace strata::log {

absl::StatusOr<std::shared_ptr<io::Mapping>> MapCache::Get(const void* key, const Opener& open) {
  {
    absl::MutexLock lock(&mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Map outside the lock: mmap of a large file is a syscall other readers need not wait on.
  STRATA_ASSIGN_OR_RETURN(std::shared_ptr<io::Mapping> mapping, open());
  std::shared_ptr<io::Mapping> evicted;  // released after the lock is dropped
  absl::MutexLock lock(&mu_);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) return it->second->second;  // another reader won the race
  lru_.emplace_front(key, mapping);
  by_key_[key] = lru_.begin();
  if (lru_.size() > capacity_) {
    evicted = std::move(lru_.back().second);
    by_key_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return mapping;
}

void MapCache::Erase(const void* key) {
  std::shared_ptr<io::Mapping> dropped;
  absl::MutexLock lock(&mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  dropped = std::move(it->second->second);
  lru_.erase(it->second);
  by_key_.erase(it);
}

size_t MapCache::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

MapCache& MapCache::Default() {
  static MapCache* cache = new MapCache();
  return *cache;
}

}  // namespace strata::log
