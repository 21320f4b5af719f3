#include "protocol/api.h"

namespace strata::protocol {
namespace {

constexpr ApiVersionRange kApis[] = {
    {ApiKey::kApiVersions, 0, 0},    {ApiKey::kMetadata, 0, 0},
    {ApiKey::kCreateTopics, 0, 0},   {ApiKey::kDeleteTopics, 0, 0},
    {ApiKey::kInitProducerId, 0, 0}, {ApiKey::kDescribeConfigs, 0, 0},
    {ApiKey::kAlterConfigs, 0, 0},   {ApiKey::kProduce, 0, 0},
    {ApiKey::kFetch, 0, 0},          {ApiKey::kListOffsets, 0, 0},
    {ApiKey::kFindCoordinator, 0, 0}, {ApiKey::kJoinGroup, 0, 0},
    {ApiKey::kSyncGroup, 0, 0},      {ApiKey::kHeartbeat, 0, 0},
    {ApiKey::kLeaveGroup, 0, 0},     {ApiKey::kOffsetCommit, 0, 0},
    {ApiKey::kOffsetFetch, 0, 0},    {ApiKey::kListGroups, 0, 0},
    {ApiKey::kDescribeGroups, 0, 0}, {ApiKey::kDeleteGroups, 0, 0},
    {ApiKey::kDescribeCluster, 0, 0},
};
static_assert(std::size(kApis) == kApiKeyCount);

constexpr const char* kNames[] = {
    "ApiVersions",     "Metadata",     "CreateTopics", "DeleteTopics", "InitProducerId",
    "DescribeConfigs", "AlterConfigs", "Produce",      "Fetch",        "ListOffsets",
    "FindCoordinator", "JoinGroup",    "SyncGroup",    "Heartbeat",    "LeaveGroup",
    "OffsetCommit",    "OffsetFetch",  "ListGroups",   "DescribeGroups", "DeleteGroups",
    "DescribeCluster",
};
static_assert(std::size(kNames) == kApiKeyCount);

constexpr bool IndexedByKey() {
  for (uint16_t i = 0; i < kApiKeyCount; ++i) {
    if (static_cast<uint16_t>(kApis[i].key) != i) return false;
  }
  return true;
}
static_assert(IndexedByKey(), "kApis must be indexed by api_key");

}  // namespace

std::span<const ApiVersionRange> SupportedApis() { return kApis; }

std::optional<ApiVersionRange> FindApi(uint16_t api_key) {
  if (api_key >= kApiKeyCount) return std::nullopt;
  return kApis[api_key];
}

const char* ApiName(uint16_t api_key) {
  return api_key < kApiKeyCount ? kNames[api_key] : "Unknown";
}

}  // namespace strata::protocol
