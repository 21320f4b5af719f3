// MapCache: a process-wide cap on read-only mappings of sealed segments.
//
// Sealed segments are mapped on demand when read and unmapped when they fall out of this LRU, so
// a broker with thousands of segments stays below vm.max_map_count. A reader holds a shared_ptr
// to the mapping it is using, so eviction never pulls memory from under a reader; the cap bounds
// the mappings the cache keeps, and in-flight readers may briefly hold a few more.
// Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/limits.h"
#include "common/status.h"
#include "io/file_system.h"

namespace strata::log {

class MapCache {
 public:
  explicit MapCache(size_t capacity = limits::mmaps_open_max) : capacity_(capacity) {}

  using Opener = std::function<absl::StatusOr<std::shared_ptr<io::Mapping>>()>;
  // The cached mapping for `key`, or a new one from `open`, evicting the least recently used.
  absl::StatusOr<std::shared_ptr<io::Mapping>> Get(const void* key, const Opener& open);
  // Drops `key`'s mapping (its segment is being deleted or reopened for writing).
  void Erase(const void* key);
  size_t size() const;

  // The cache shared by every log in the process unless a test supplies its own.
  static MapCache& Default();

 private:
  using Entry = std::pair<const void*, std::shared_ptr<io::Mapping>>;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  std::unordered_map<const void*, std::list<Entry>::iterator> by_key_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::log
