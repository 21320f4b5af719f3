// Per-log settings (a topic's storage config). Defaults follow docs/DESIGN defaults.
#pragma once

#include <cstdint>
#include <functional>

#include "common/status.h"

namespace strata::log {

// How appends reach the active segment's file. Readers always read through a mapping.
//   kWrite    pwrite: the kernel takes whole pages without reading them first. The least CPU in
//             all, so the broker's default (docs/design-notes.md#the-append-path).
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

// How the active segment's file grows (docs/format.md, "Preallocation"). Each time appends reach
// the end of what is reserved, the file is extended by a step, reserved with fallocate, that
// doubles from first_bytes up to max_bytes (and never past segment_bytes). Appends then write
// inside the file's size, so an fdatasync need not journal a new size: measured on this VM's ext4,
// fdatasync after 8 KiB of appends took p50 223 us inside preallocated space against 248 us past
// the end of the file, p99 444 against 578 us (docs/performance.md finding 10, which also finds
// no cost to the steps against reserving a whole segment). The doubling keeps what an idle partition
// reserves small (first_bytes) while a busy one takes one fallocate (~30 us here) per max_bytes.
// A file's size is thus at most its data plus one step.
struct Preallocation {
  uint64_t first_bytes = 64u << 10;  // 64 KiB
  uint64_t max_bytes = 16u << 20;    // 16 MiB; Redpanda's default step is 32 MiB
};

struct LogConfig {
  uint64_t segment_bytes = 1ull << 30;            // roll when the active segment would exceed this
  int64_t segment_ms = 7ll * 24 * 3600 * 1000;    // roll when the active segment is this old
  uint32_t index_interval_bytes = 4096;           // one sparse index entry per this many bytes
  Preallocation preallocation;
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
