// Per-log settings (a topic's storage config). Defaults follow docs/DESIGN defaults.
#pragma once

#include <cstdint>
#include <functional>

#include "common/status.h"

namespace strata::log {

// How appends reach the active segment's file. Readers always read through a mapping.
//   kWrite    pwrite: the kernel takes whole pages without reading them first. The least CPU in
//             all, so the broker's default (docs/design-notes.md 47).
//   kMapping  memcpy into a writable mapping that a Prefaulter keeps faulted in ahead of the
//             writer on another thread: the fastest appending thread, at the price of that
//             thread's zeroing of every fresh page (docs/performance.md).
enum class AppendPath { kWrite, kMapping };

// When appended bytes become durable.
struct FlushPolicy {
  // fsync before an append is acknowledged as durable (group-committed: one fsync releases every
  // append waiting on it).
  bool always = false;
  // Otherwise fsync once this many bytes are unflushed, or once the oldest unflushed byte is this
  // old. 0 disables that trigger. The time trigger needs a Flusher (flusher.h).
  uint64_t bytes = 1u << 20;
  int64_t interval_ms = 10;
};

struct LogConfig {
  uint64_t segment_bytes = 1ull << 30;            // roll when the active segment would exceed this
  int64_t segment_ms = 7ll * 24 * 3600 * 1000;    // roll when the active segment is this old
  uint32_t index_interval_bytes = 4096;           // one sparse index entry per this many bytes
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;  // -1: keep forever
  int64_t retention_bytes = -1;                   // -1: unlimited
  FlushPolicy flush;

  // InvalidArgument naming the bad setting and its allowed range.
  absl::Status Validate() const;
};

// Milliseconds since the Unix epoch. Tests inject a fake clock.
using Clock = std::function<int64_t()>;
Clock SystemClock();

}  // namespace strata::log
