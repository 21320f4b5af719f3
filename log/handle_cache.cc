#include "log/handle_cache.h"

namespace strata::log {

MapCache& DefaultMapCache() {
  static MapCache* cache = new MapCache(limits::mmaps_open_max);
  return *cache;
}

FileCache& DefaultFileCache() {
  static FileCache* cache = new FileCache(limits::segment_files_open_max);
  return *cache;
}

}  // namespace strata::log
