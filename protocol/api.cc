#include "protocol/api.h"

namespace strata::protocol {

std::span<const ApiVersionRange> SupportedApis() {
  static constexpr ApiVersionRange kApis[] = {
      {ApiKey::kApiVersions, 0, 0},
  };
  return kApis;
}

}  // namespace strata::protocol
