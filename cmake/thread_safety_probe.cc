// Must NOT compile under clang with -Wthread-safety -Werror=thread-safety: it writes a guarded
// field without its mutex. CMakeLists.txt try-compiles it to prove the check is live.
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

struct Probe {
  absl::Mutex mu;
  int value ABSL_GUARDED_BY(mu) = 0;
  void Write() { value = 1; }
};

int ProbeMain() {
  Probe p;
  p.Write();
  return 0;
}
