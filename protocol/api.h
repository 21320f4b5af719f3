// The APIs of the native protocol: their keys and the versions this build serves. A frame's
// api_key (protocol/frame.h) is one of these; its body is the matching FlatBuffers table from
// protocol/schemas/. docs/protocol.md lists them with their fields and errors.
#pragma once

#include <cstdint>
#include <span>

namespace strata::protocol {

enum class ApiKey : uint16_t {
  kApiVersions = 0,
};

struct ApiVersionRange {
  ApiKey key;
  uint16_t min_version;
  uint16_t max_version;
};

// The versions this build serves, one entry per API.
std::span<const ApiVersionRange> SupportedApis();

}  // namespace strata::protocol
