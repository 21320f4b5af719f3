// InitProcess: the process-wide settings every Strata program (stratad, strata) makes first.
#pragma once

namespace strata {

// Turns off abseil's Mutex deadlock detection in builds with NDEBUG (Release, RelWithDebInfo).
// Debian builds abseil without NDEBUG, which leaves the detection on in every program: each lock
// updates a lock-order graph (GraphCycles showed up in a producer's profile at about 1%). An A/B
// of `strata bench produce` found no difference beyond this VM's noise, so this is hygiene, not a
// speed-up. The unit tests do not call it and keep the detection, which finds lock-order
// inversions.
void InitProcess();

}  // namespace strata
