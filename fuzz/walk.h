// Walkers for the fuzz targets: they read every byte a verified FlatBuffers table or a record batch
// exposes (strings, vectors, nested tables, record keys, values and headers), so that AddressSanitizer
// reports any accessor that reaches outside the input. Each Walk folds what it reads into a
// checksum the caller hands to Sink, which keeps the compiler from dropping the reads.
//
// Header-only, used only by the fuzz/ binaries. Not thread-safe (nothing here is shared).
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "record/batch.h"
#include "protocol/api_versions_generated.h"
#include "protocol/configs_generated.h"
#include "protocol/fetch_generated.h"
#include "protocol/groups_generated.h"
#include "protocol/init_producer_id_generated.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/metadata_generated.h"
#include "protocol/offsets_generated.h"
#include "protocol/produce_generated.h"
#include "protocol/topics_generated.h"

namespace strata::fuzz {

// Consumes a checksum so the reads that made it cannot be optimised away.
inline void Sink(uint64_t h) {
  static volatile uint64_t sink;
  sink = sink + h;
}

inline uint64_t Mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

inline uint64_t WalkBytes(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = n;
  for (size_t i = 0; i < n; ++i) h = Mix(h, p[i]);
  return h;
}

inline uint64_t WalkBytes(std::string_view s) { return WalkBytes(s.data(), s.size()); }

inline uint64_t Walk(const flatbuffers::String* s) {
  if (s == nullptr) return 1;
  // str() copies through size(); c_str()[size()] must be the terminator the verifier checked.
  return Mix(WalkBytes(s->data(), s->size()), uint64_t(s->c_str()[s->size()]));
}

// Every table's walker, declared before the vector templates that call them.
namespace pfb = protocol::fb;
inline uint64_t Walk(const pfb::ApiVersionsRequest*);
inline uint64_t Walk(const pfb::MetadataRequest*);
inline uint64_t Walk(const pfb::ConfigEntry*);
inline uint64_t Walk(const pfb::CreatableTopic*);
inline uint64_t Walk(const pfb::CreateTopicsRequest*);
inline uint64_t Walk(const pfb::DeleteTopicsRequest*);
inline uint64_t Walk(const pfb::InitProducerIdRequest*);
inline uint64_t Walk(const pfb::DescribeConfigsRequest*);
inline uint64_t Walk(const pfb::AlterTopicConfig*);
inline uint64_t Walk(const pfb::AlterConfigsRequest*);
inline uint64_t Walk(const pfb::PartitionProduceData*);
inline uint64_t Walk(const pfb::TopicProduceData*);
inline uint64_t Walk(const pfb::ProduceRequest*);
inline uint64_t Walk(const pfb::FetchPartition*);
inline uint64_t Walk(const pfb::FetchTopic*);
inline uint64_t Walk(const pfb::FetchRequest*);
inline uint64_t Walk(const pfb::ListOffsetsPartition*);
inline uint64_t Walk(const pfb::ListOffsetsTopic*);
inline uint64_t Walk(const pfb::ListOffsetsRequest*);
inline uint64_t Walk(const pfb::FindCoordinatorRequest*);
inline uint64_t Walk(const pfb::JoinGroupProtocol*);
inline uint64_t Walk(const pfb::JoinGroupRequest*);
inline uint64_t Walk(const pfb::SyncGroupAssignment*);
inline uint64_t Walk(const pfb::SyncGroupRequest*);
inline uint64_t Walk(const pfb::HeartbeatRequest*);
inline uint64_t Walk(const pfb::LeaveGroupMember*);
inline uint64_t Walk(const pfb::LeaveGroupRequest*);
inline uint64_t Walk(const pfb::ListGroupsRequest*);
inline uint64_t Walk(const pfb::DescribeGroupsRequest*);
inline uint64_t Walk(const pfb::DeleteGroupsRequest*);
inline uint64_t Walk(const pfb::OffsetCommitPartition*);
inline uint64_t Walk(const pfb::OffsetCommitTopic*);
inline uint64_t Walk(const pfb::OffsetCommitRequest*);
inline uint64_t Walk(const pfb::OffsetFetchTopic*);
inline uint64_t Walk(const pfb::OffsetFetchRequest*);
inline uint64_t Walk(const pfb::FetchPartitionResponse*);
inline uint64_t Walk(const pfb::FetchTopicResponse*);
inline uint64_t Walk(const pfb::FetchResponse*);

inline uint64_t Walk(const flatbuffers::Vector<uint8_t>* v) {
  return v == nullptr ? 1 : WalkBytes(v->data(), v->size());
}

// A vector of ints (OffsetFetch's partitions): every element, read through the accessor.
inline uint64_t Walk(const flatbuffers::Vector<int32_t>* v) {
  if (v == nullptr) return 1;
  uint64_t h = v->size();
  for (int32_t e : *v) h = Mix(h, uint64_t(uint32_t(e)));
  return h;
}

template <typename T>
uint64_t Walk(const flatbuffers::Vector<flatbuffers::Offset<T>>* v) {
  if (v == nullptr) return 1;
  uint64_t h = v->size();
  for (const auto* e : *v) h = Mix(h, Walk(e));
  return h;
}

// --- Record batches -------------------------------------------------------------------------------

// Reads one batch the way the broker checks a produced batch and a client reads a fetched one:
// header, checksum, then every record through BatchReader.
inline uint64_t WalkBatch(std::span<const std::byte> batch) {
  uint64_t h = 0;
  auto header = record::ParseBatchHeader(batch);
  if (!header.ok()) return h;
  h = Mix(h, uint64_t(header->record_count));
  if (!record::VerifyBatch(batch).ok()) return h;
  auto reader = record::BatchReader::Open(batch.first(header->size_bytes()));
  if (!reader.ok()) return h;
  for (;;) {
    auto record = reader->Next();
    if (!record.ok() || !record->has_value()) break;
    const record::Record& r = **record;
    h = Mix(h, uint64_t(r.offset) ^ uint64_t(r.timestamp_ms));
    if (r.key.has_value()) h = Mix(h, WalkBytes(*r.key));
    if (r.value.has_value()) h = Mix(h, WalkBytes(*r.value));
    for (const record::RecordHeader& rh : r.headers) {
      h = Mix(h, WalkBytes(rh.key));
      if (rh.value.has_value()) h = Mix(h, WalkBytes(*rh.value));
    }
  }
  return h;
}

// Batches back to back, as in a segment or a Fetch response's records: stops at the first that
// does not parse.
inline uint64_t WalkBatches(std::span<const std::byte> bytes) {
  uint64_t h = 0;
  while (!bytes.empty()) {
    auto header = record::ParseBatchHeader(bytes);
    if (!header.ok()) break;
    h = Mix(h, WalkBatch(bytes));
    bytes = bytes.subspan(header->size_bytes());
  }
  return h;
}

// --- Request tables --------------------------------------------------------------------------------

inline uint64_t Walk(const pfb::ApiVersionsRequest* t) {
  return Mix(Walk(t->client_software_name()), Walk(t->client_software_version()));
}
inline uint64_t Walk(const pfb::MetadataRequest* t) { return Walk(t->topics()); }
inline uint64_t Walk(const pfb::ConfigEntry* t) { return Mix(Walk(t->key()), Walk(t->value())); }
inline uint64_t Walk(const pfb::CreatableTopic* t) {
  return Mix(Mix(Walk(t->name()), uint64_t(t->partitions())), Walk(t->configs()));
}
inline uint64_t Walk(const pfb::CreateTopicsRequest* t) {
  return Mix(Walk(t->topics()), t->validate_only());
}
inline uint64_t Walk(const pfb::DeleteTopicsRequest* t) { return Walk(t->topics()); }
inline uint64_t Walk(const pfb::InitProducerIdRequest*) { return 0; }
inline uint64_t Walk(const pfb::DescribeConfigsRequest* t) { return Walk(t->topics()); }
inline uint64_t Walk(const pfb::AlterTopicConfig* t) {
  return Mix(Walk(t->name()), Walk(t->configs()));
}
inline uint64_t Walk(const pfb::AlterConfigsRequest* t) {
  return Mix(Walk(t->topics()), t->validate_only());
}
inline uint64_t Walk(const pfb::PartitionProduceData* t) {
  uint64_t h = Mix(uint64_t(t->index()), Walk(t->records()));
  // The broker's next step with the batch: check it (structure, checksum) and read its records.
  if (t->records() != nullptr) {
    h = Mix(h, WalkBatch({reinterpret_cast<const std::byte*>(t->records()->data()),
                          t->records()->size()}));
  }
  return h;
}
inline uint64_t Walk(const pfb::TopicProduceData* t) {
  return Mix(Walk(t->name()), Walk(t->partitions()));
}
inline uint64_t Walk(const pfb::ProduceRequest* t) {
  return Mix(Mix(uint64_t(t->acks()), uint64_t(t->timeout_ms())), Walk(t->topics()));
}
inline uint64_t Walk(const pfb::FetchPartition* t) {
  return Mix(Mix(uint64_t(t->index()), uint64_t(t->fetch_offset())),
             uint64_t(t->partition_max_bytes()));
}
inline uint64_t Walk(const pfb::FetchTopic* t) {
  return Mix(Walk(t->name()), Walk(t->partitions()));
}
inline uint64_t Walk(const pfb::FetchRequest* t) {
  uint64_t h = Mix(uint64_t(t->max_wait_ms()), uint64_t(t->min_bytes()));
  return Mix(Mix(h, uint64_t(t->max_bytes())), Walk(t->topics()));
}
inline uint64_t Walk(const pfb::ListOffsetsPartition* t) {
  return Mix(uint64_t(t->index()), uint64_t(t->timestamp()));
}
inline uint64_t Walk(const pfb::ListOffsetsTopic* t) {
  return Mix(Walk(t->name()), Walk(t->partitions()));
}
inline uint64_t Walk(const pfb::ListOffsetsRequest* t) { return Walk(t->topics()); }

// --- Consumer group requests (groups.fbs, offsets.fbs) ---------------------------------------------

inline uint64_t Walk(const pfb::FindCoordinatorRequest* t) { return Walk(t->key()); }
inline uint64_t Walk(const pfb::JoinGroupProtocol* t) {
  return Mix(Walk(t->name()), Walk(t->metadata()));
}
inline uint64_t Walk(const pfb::JoinGroupRequest* t) {
  uint64_t h = Mix(Walk(t->group_id()), uint64_t(t->session_timeout_ms()));
  h = Mix(Mix(h, uint64_t(t->rebalance_timeout_ms())), Walk(t->member_id()));
  h = Mix(Mix(h, Walk(t->group_instance_id())), Walk(t->protocol_type()));
  h = Mix(Mix(h, Walk(t->protocols())), Walk(t->client_id()));
  return Mix(h, Walk(t->reason()));
}
inline uint64_t Walk(const pfb::SyncGroupAssignment* t) {
  return Mix(Walk(t->member_id()), Walk(t->assignment()));
}
inline uint64_t Walk(const pfb::SyncGroupRequest* t) {
  uint64_t h = Mix(Walk(t->group_id()), uint64_t(t->generation_id()));
  h = Mix(Mix(h, Walk(t->member_id())), Walk(t->group_instance_id()));
  h = Mix(Mix(h, Walk(t->protocol_type())), Walk(t->protocol_name()));
  return Mix(h, Walk(t->assignments()));
}
inline uint64_t Walk(const pfb::HeartbeatRequest* t) {
  uint64_t h = Mix(Walk(t->group_id()), uint64_t(t->generation_id()));
  return Mix(Mix(h, Walk(t->member_id())), Walk(t->group_instance_id()));
}
inline uint64_t Walk(const pfb::LeaveGroupMember* t) {
  return Mix(Mix(Walk(t->member_id()), Walk(t->group_instance_id())), Walk(t->reason()));
}
inline uint64_t Walk(const pfb::LeaveGroupRequest* t) {
  return Mix(Walk(t->group_id()), Walk(t->members()));
}
inline uint64_t Walk(const pfb::ListGroupsRequest* t) { return Walk(t->states_filter()); }
inline uint64_t Walk(const pfb::DescribeGroupsRequest* t) { return Walk(t->groups()); }
inline uint64_t Walk(const pfb::DeleteGroupsRequest* t) { return Walk(t->groups()); }
inline uint64_t Walk(const pfb::OffsetCommitPartition* t) {
  return Mix(Mix(uint64_t(t->index()), uint64_t(t->committed_offset())),
             Walk(t->committed_metadata()));
}
inline uint64_t Walk(const pfb::OffsetCommitTopic* t) {
  return Mix(Walk(t->name()), Walk(t->partitions()));
}
inline uint64_t Walk(const pfb::OffsetCommitRequest* t) {
  uint64_t h = Mix(Walk(t->group_id()), uint64_t(t->generation_id()));
  h = Mix(Mix(h, Walk(t->member_id())), Walk(t->group_instance_id()));
  return Mix(h, Walk(t->topics()));
}
inline uint64_t Walk(const pfb::OffsetFetchTopic* t) {
  return Mix(Walk(t->name()), Walk(t->partitions()));
}
inline uint64_t Walk(const pfb::OffsetFetchRequest* t) {
  uint64_t h = Mix(Walk(t->group_id()), Walk(t->member_id()));
  return Mix(Mix(h, uint64_t(t->generation_id())), Walk(t->topics()));
}

// --- Fetch response (the client's side) -----------------------------------------------------------

inline uint64_t Walk(const pfb::FetchPartitionResponse* t) {
  uint64_t h = Mix(uint64_t(t->index()), uint64_t(t->error_code()));
  h = Mix(h, Walk(t->error_message()));
  h = Mix(h, uint64_t(t->high_watermark()) ^ uint64_t(t->log_start_offset()));
  return Mix(h, t->records_bytes());
}
inline uint64_t Walk(const pfb::FetchTopicResponse* t) {
  return Mix(Walk(t->name()), Walk(t->partitions()));
}
inline uint64_t Walk(const pfb::FetchResponse* t) {
  uint64_t h = Mix(uint64_t(t->error_code()), Walk(t->error_message()));
  return Mix(h, Walk(t->topics()));
}

}  // namespace strata::fuzz
