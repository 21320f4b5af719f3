#include "common/process.h"

#include "absl/synchronization/mutex.h"

namespace strata {

void InitProcess() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

}  // namespace strata
