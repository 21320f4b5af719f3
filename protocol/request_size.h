// Requests that refer to the same bytes more than once.
//
// FlatBuffers lets many entries point at one table, string or vector: a 1 MiB LeaveGroup can name
// one 1 MiB member id 4,000 times, a Produce can send one 16 MiB batch to a partition 100,000
// times. Verification accepts that (every reference lies inside the buffer), but a handler reading
// entry by entry would copy, append or echo gigabytes. No client of ours shares entries, so
// VerifyRequest refuses any body whose fields, counted as they are read, add up to more bytes than
// the body has: an honest body is at least as large as the strings, vectors and tables it holds.
//
// ReadBytes(table) is that count for each request table, a lower bound of the bytes each entry
// occupies in an unshared buffer (4 bytes per table and offset, a string's length prefix, bytes
// and terminator, a vector's length prefix and elements). Vtables are not counted: builders share
// them by design.
// Plain functions over verified tables; safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "protocol/api_versions_generated.h"
#include "protocol/configs_generated.h"
#include "protocol/fetch_generated.h"
#include "protocol/groups_generated.h"
#include "protocol/init_producer_id_generated.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/message.h"
#include "protocol/metadata_generated.h"
#include "protocol/offsets_generated.h"
#include "protocol/produce_generated.h"
#include "protocol/topics_generated.h"

namespace strata::protocol {

uint64_t ReadBytes(const fb::ApiVersionsRequest* r);
uint64_t ReadBytes(const fb::MetadataRequest* r);
uint64_t ReadBytes(const fb::CreateTopicsRequest* r);
uint64_t ReadBytes(const fb::DeleteTopicsRequest* r);
uint64_t ReadBytes(const fb::InitProducerIdRequest* r);
uint64_t ReadBytes(const fb::DescribeConfigsRequest* r);
uint64_t ReadBytes(const fb::AlterConfigsRequest* r);
uint64_t ReadBytes(const fb::ProduceRequest* r);
uint64_t ReadBytes(const fb::FetchRequest* r);
uint64_t ReadBytes(const fb::ListOffsetsRequest* r);
uint64_t ReadBytes(const fb::FindCoordinatorRequest* r);
uint64_t ReadBytes(const fb::JoinGroupRequest* r);
uint64_t ReadBytes(const fb::SyncGroupRequest* r);
uint64_t ReadBytes(const fb::HeartbeatRequest* r);
uint64_t ReadBytes(const fb::LeaveGroupRequest* r);
uint64_t ReadBytes(const fb::OffsetCommitRequest* r);
uint64_t ReadBytes(const fb::OffsetFetchRequest* r);
uint64_t ReadBytes(const fb::ListGroupsRequest* r);
uint64_t ReadBytes(const fb::DescribeGroupsRequest* r);
uint64_t ReadBytes(const fb::DeleteGroupsRequest* r);

// VerifyBody, then the rule above: InvalidArgument when ReadBytes exceeds the body's size.
template <typename Table>
absl::StatusOr<const Table*> VerifyRequest(std::span<const std::byte> body, const char* what) {
  STRATA_ASSIGN_OR_RETURN(const Table* table, VerifyBody<Table>(body, what));
  const uint64_t read = ReadBytes(table);
  if (read > body.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " refers to the same bytes more than once (its entries add up to ", read,
        " bytes in a body of ", body.size(), "); send each entry as its own bytes"));
  }
  return table;
}

}  // namespace strata::protocol
