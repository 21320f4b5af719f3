// InitProcess: the process-wide settings every Strata program (stratad, strata) makes first.
#pragma once

namespace strata {

// Turns off abseil's Mutex deadlock detection in builds with NDEBUG (Release, RelWithDebInfo).
// Debian's abseil is built without NDEBUG, so every Mutex::Lock kept lock-order graphs as a debug
// build would: `strata bench produce` used about 7% less CPU without it (perf stat task-clock,
// 500k records of 1 KiB). The unit tests do not call this and keep the detection, which finds
// lock-order inversions.
void InitProcess();

}  // namespace strata
