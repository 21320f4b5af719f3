#include "common/check.h"

#include <catch2/catch.hpp>

namespace strata {
namespace {

int evaluated = 0;
bool Counted(bool value) {
  ++evaluated;
  return value;
}

TEST_CASE("a passing check evaluates its condition once and its message never") {
  evaluated = 0;
  int built = 0;
  auto message = [&] { return ++built; };
  STRATA_CHECK(Counted(true)) << message();
  CHECK(evaluated == 1);
  CHECK(built == 0);
}

TEST_CASE("STRATA_DCHECK runs only in builds without NDEBUG") {
  evaluated = 0;
  STRATA_DCHECK(Counted(true));
#ifdef NDEBUG
  CHECK(evaluated == 0);
#else
  CHECK(evaluated == 1);
#endif
}

}  // namespace
}  // namespace strata
