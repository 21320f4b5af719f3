// The consumer protocol: the bytes a group consumer puts in the opaque fields of JoinGroup (its
// subscription, the metadata of every assignor it offers) and SyncGroup (each member's
// assignment, computed by the leader). The broker stores and forwards them without reading them;
// the tables are protocol/schemas/consumer_protocol.fbs and docs/consumer-groups.md specifies
// them.
//
// Encoding normalises: topics and partitions come out sorted, without duplicates, and owned
// partitions are grouped by topic. Decoding verifies the buffer before reading any field and
// returns InvalidArgument for bytes that fail verification or describe a topic without a name or
// a negative partition (a peer that sends those is broken; retrying the same bytes cannot help).
// Plain functions; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "client/assignor.h"
#include "client/types.h"
#include "common/status.h"

namespace strata::client {

// member_id and group_instance_id are not encoded: JoinGroup carries them itself.
std::vector<std::byte> EncodeSubscription(const MemberSubscription& s);
// InvalidArgument if `bytes` fail FlatBuffers verification (empty bytes included).
absl::StatusOr<MemberSubscription> DecodeSubscription(std::span<const std::byte> bytes);

struct MemberAssignment {
  std::vector<TopicPartition> partitions;
  std::string user_data;

  bool operator==(const MemberAssignment&) const = default;
};

std::vector<std::byte> EncodeAssignment(const MemberAssignment& a);
// Empty bytes are an empty assignment (OK): the coordinator sends those to a member the leader
// gave nothing.
absl::StatusOr<MemberAssignment> DecodeAssignment(std::span<const std::byte> bytes);

}  // namespace strata::client
