// HandleCache: a process-wide cap on open handles of one kind, the least recently used closed
// first. Two kinds exist, each bounded by a limit of the operating system that a broker with
// thousands of partitions would otherwise exhaust:
//   MapCache   memory mappings of segment files (vm.max_map_count), limits::mmaps_open_max;
//   FileCache  open segment files (RLIMIT_NOFILE), limits::segment_files_open_max.
// A segment asks for its handle each time it needs one (log/segment.h) and the cache opens it
// again after an eviction. A user holds the shared_ptr it was handed for as long as it uses the
// handle, so an eviction never closes a handle under a user: the cap bounds what the cache keeps,
// and users in flight may briefly hold a few more.
// Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "common/limits.h"
#include "io/file_system.h"

namespace strata::log {

template <typename T>
class HandleCache {
 public:
  explicit HandleCache(size_t capacity) : capacity_(capacity) {}
  HandleCache(const HandleCache&) = delete;
  HandleCache& operator=(const HandleCache&) = delete;

  using Opener = std::function<absl::StatusOr<std::shared_ptr<T>>()>;
  // The cached handle for `key`, or a new one from `open`, evicting the least recently used.
  absl::StatusOr<std::shared_ptr<T>> Get(const void* key, const Opener& open) {
    {
      absl::MutexLock lock(&mu_);
      auto it = by_key_.find(key);
      if (it != by_key_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->second;
      }
    }
    // Open outside the lock: open() and mmap() are system calls other users need not wait on.
    STRATA_ASSIGN_OR_RETURN(std::shared_ptr<T> handle, open());
    std::shared_ptr<T> evicted;  // released after the lock is dropped
    absl::MutexLock lock(&mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) return it->second->second;  // another user won the race
    lru_.emplace_front(key, handle);
    by_key_[key] = lru_.begin();
    if (lru_.size() > capacity_) {
      evicted = std::move(lru_.back().second);
      by_key_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return handle;
  }

  // Drops `key`'s handle (its segment changed size, sealed, or is going away).
  void Erase(const void* key) {
    std::shared_ptr<T> dropped;  // released after the lock is dropped
    absl::MutexLock lock(&mu_);
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return;
    dropped = std::move(it->second->second);
    lru_.erase(it->second);
    by_key_.erase(it);
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return lru_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  using Entry = std::pair<const void*, std::shared_ptr<T>>;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  std::unordered_map<const void*, typename std::list<Entry>::iterator> by_key_
      ABSL_GUARDED_BY(mu_);
};

using MapCache = HandleCache<io::Mapping>;
using FileCache = HandleCache<io::File>;

// The caches shared by every log in the process that is not given its own (stratad makes its own,
// sized to its file descriptor limit).
MapCache& DefaultMapCache();
FileCache& DefaultFileCache();

}  // namespace strata::log
