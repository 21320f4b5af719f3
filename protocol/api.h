// The APIs of the native protocol: their keys and the versions this build serves. A frame's
// api_key (protocol/frame.h) is one of these; its body is the matching FlatBuffers table from
// protocol/schemas/. docs/protocol.md lists them with their fields and errors.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace strata::protocol {

// Values are stable on the wire: add new APIs at the end, never renumber.
enum class ApiKey : uint16_t {
  kApiVersions = 0,     // api_versions.fbs
  kMetadata = 1,        // metadata.fbs
  kCreateTopics = 2,    // topics.fbs
  kDeleteTopics = 3,    // topics.fbs
  kInitProducerId = 4,  // init_producer_id.fbs
  kDescribeConfigs = 5, // configs.fbs
  kAlterConfigs = 6,    // configs.fbs
  kProduce = 7,         // produce.fbs
  kFetch = 8,           // fetch.fbs (the response body carries a records trailer)
  kListOffsets = 9,     // list_offsets.fbs
  kFindCoordinator = 10,  // groups.fbs
  kJoinGroup = 11,        // groups.fbs
  kSyncGroup = 12,        // groups.fbs
  kHeartbeat = 13,        // groups.fbs
  kLeaveGroup = 14,       // groups.fbs
  kOffsetCommit = 15,     // offsets.fbs
  kOffsetFetch = 16,      // offsets.fbs
  kListGroups = 17,       // groups.fbs
  kDescribeGroups = 18,   // groups.fbs
  kDeleteGroups = 19,     // groups.fbs
  kDescribeCluster = 20,  // metadata.fbs
};
inline constexpr uint16_t kApiKeyCount = 21;

struct ApiVersionRange {
  ApiKey key;
  uint16_t min_version;
  uint16_t max_version;
};

// The versions this build serves, one entry per API, indexed by key.
std::span<const ApiVersionRange> SupportedApis();

// The served range of `api_key`; nullopt for a key this build does not know.
std::optional<ApiVersionRange> FindApi(uint16_t api_key);

// "Produce", "Fetch", ...; "Unknown" for a key this build does not know. For logs and metrics.
const char* ApiName(uint16_t api_key);

}  // namespace strata::protocol
