// Fails a check on purpose: common/CMakeLists.txt runs it and expects the abort message, which
// proves STRATA_CHECK is live in the build type being tested (Release included).
#include "common/check.h"

int main(int argc, char**) {
  int value = argc;  // 1: the check below fails
  STRATA_CHECK(value == 2) << "value was " << value;
  return 0;
}
