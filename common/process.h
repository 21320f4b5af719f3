// InitProcess: the process-wide settings every Strata program (stratad, strata) makes first.
#pragma once

#include <cstdint>
#include <optional>

namespace strata {

// Turns off abseil's Mutex deadlock detection in builds with NDEBUG (Release, RelWithDebInfo).
// Debian builds abseil without NDEBUG, which leaves the detection on in every program: each lock
// updates a lock-order graph (GraphCycles showed up in a producer's profile at about 1%). An A/B
// of `strata bench produce` found no difference beyond this VM's noise, so this is hygiene, not a
// speed-up. The unit tests do not call it and keep the detection, which finds lock-order
// inversions.
void InitProcess();

// Raises the soft limit on open file descriptors (RLIMIT_NOFILE) to the hard limit, as a server
// that holds many files and sockets should (Debian's default soft limit is 1024, the hard one
// usually 524288), and returns the soft limit in force afterwards.
uint64_t RaiseFileDescriptorLimit();

// vm.max_map_count (memory mappings per process), or nullopt when it cannot be read.
std::optional<uint64_t> MaxMapCount();

}  // namespace strata
