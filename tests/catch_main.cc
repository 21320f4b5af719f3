// The one translation unit that holds Catch2's main(); every test binary links it.
//
// Tests provoke crashes, torn tails and I/O errors on purpose, and the code under test logs each
// one, so test runs are quiet by default. STRATA_LOG_LEVEL=debug|info|warn|error shows them.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

#include "common/logging.h"

int main(int argc, char* argv[]) {
  const char* level = std::getenv("STRATA_LOG_LEVEL");
  strata::SetLogLevel(strata::ParseLogLevel(level ? level : "off").value_or(strata::LogLevel::kWarn));
  return Catch::Session().run(argc, argv);
}
