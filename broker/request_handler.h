// RequestHandler: turns one request frame into its response, for every API of docs/protocol.md.
//
// Admin APIs (Metadata, Create/DeleteTopics, Describe/AlterConfigs, InitProducerId) live in
// admin_handlers.cc; Produce, Fetch and ListOffsets in data_handlers.cc, where each decodes its
// FlatBuffers request into DataPlane's structs (data_plane.h), calls it, and encodes the answer. Every body is
// verified before a field is read; a request that cannot be answered in its API's own table gets
// an ErrorResponse (request_handler.cc). Nothing here throws, and no input can crash the broker:
// every failure becomes an error code in the response.
//
// Thread-safety: Handle may run on any number of io threads at once; the services it uses are
// thread-safe. A Handle coroutine runs on its connection's strand.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "broker/asio.h"
#include "broker/config.h"
#include "broker/data_plane.h"
#include "broker/services.h"
#include "broker/fetch_waiters.h"
#include "broker/metrics.h"
#include "broker/producer_ids.h"
#include "broker/response_builder.h"
#include "consumer_offsets/coordinator.h"
#include "log/segment.h"
#include "partition/topic_manager.h"
#include "protocol/errors_generated.h"
#include "protocol/frame.h"

namespace strata::broker {

// What the connection sends back for one request.
struct Response {
  bool send = true;  // false: nothing at all (Produce with acks=0)
  bool has_error = false;  // some error code in it (metrics)
  std::vector<std::byte> head;  // the frame header and body, or the Fetch body's head
  // Fetch only: batches sent after `head`, straight from the segment mappings (keepalive holds
  // each mapping until the write completes).
  std::vector<log::ReadResult> records;
};

class RequestHandler {
 public:
  explicit RequestHandler(Services services) : s_(services), data_(services) {}

  // `body` is the request body, owned by the caller for the whole call; Produce stamps offsets
  // into the batches inside it. `client_host` is the peer's address (shown by DescribeGroups).
  asio::awaitable<Response> Handle(const protocol::Frame& frame, std::span<std::byte> body,
                                   std::string client_host = "");

 private:
  Response ApiVersions(const protocol::Frame& frame);
  Response Metadata(const protocol::Frame& frame);
  Response CreateTopics(const protocol::Frame& frame);
  Response DeleteTopics(const protocol::Frame& frame);
  Response InitProducerId(const protocol::Frame& frame);
  Response DescribeConfigs(const protocol::Frame& frame);
  Response AlterConfigs(const protocol::Frame& frame);
  Response ListOffsets(const protocol::Frame& frame);
  asio::awaitable<Response> Produce(const protocol::Frame& frame, std::span<std::byte> body);
  asio::awaitable<Response> Fetch(const protocol::Frame& frame);
  // Consumer groups (group_handlers.cc, offset_handlers.cc).
  Response FindCoordinator(const protocol::Frame& frame);
  asio::awaitable<Response> JoinGroup(const protocol::Frame& frame, const std::string& client_host);
  asio::awaitable<Response> SyncGroup(const protocol::Frame& frame);
  Response Heartbeat(const protocol::Frame& frame);
  Response LeaveGroup(const protocol::Frame& frame);
  Response ListGroups(const protocol::Frame& frame);
  Response DescribeGroups(const protocol::Frame& frame);
  asio::awaitable<Response> DeleteGroups(const protocol::Frame& frame);
  asio::awaitable<Response> OffsetCommit(const protocol::Frame& frame);
  Response OffsetFetch(const protocol::Frame& frame);

  Services s_;
  DataPlane data_;  // produce, fetch and list-offsets; the handlers above are its adapters
};

// --- Shared by the handler files -----------------------------------------------------------------

// A response frame around a finished FlatBuffer.
Response FinishResponse(const protocol::Frame& request, const flatbuffers::FlatBufferBuilder& b,
                        bool has_error);
// An ErrorResponse frame (a Fetch-shaped body for Fetch).
Response ErrorFrame(const protocol::Frame& request, protocol::fb::ErrorCode code,
                    const std::string& message);
// The code for a TopicManager::GetPartition failure: UNKNOWN_TOPIC_OR_PARTITION for NotFound and
// OutOfRange, SHUTTING_DOWN while stopping, STORAGE_ERROR for an offline partition.
protocol::fb::ErrorCode PartitionLookupError(const absl::Status& status, bool stopping);
// Topic names starting with "__" belong to the broker (__consumer_offsets): clients may read them
// but not create, delete, alter or produce to them.
bool IsInternalTopic(std::string_view name);
// The wire code of a coordinator error.
protocol::fb::ErrorCode GroupErrorCode(consumer_offsets::GroupError error);

}  // namespace strata::broker
