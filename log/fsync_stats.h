// Process-wide fsync latency of every log's active-segment fsyncs (Log::Flush and group commits),
// in microseconds, for the broker's /metrics and for benchmarks. Thread-safe (common/histogram.h).
#pragma once

#include "common/histogram.h"

namespace strata::log {

Histogram& FsyncLatencyMicros();

}  // namespace strata::log
