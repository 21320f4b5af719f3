#include "log/fsync_stats.h"

namespace strata::log {

Histogram& FsyncLatencyMicros() {
  static Histogram* histogram = new Histogram();  // never destroyed: logs may flush at exit
  return *histogram;
}

}  // namespace strata::log
