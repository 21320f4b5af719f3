// RequestHandler: turns one request frame into its response, for every API of docs/protocol.md.
//
// Handle checks the API and version, verifies the body as that API's request (Verified in
// request_handler.cc), and passes the verified request to its handler; a request that cannot be
// verified, or answered in its API's own table, gets an ErrorResponse. Admin APIs (Metadata,
// Create/DeleteTopics, Describe/AlterConfigs, InitProducerId) live in admin_handlers.cc; Produce,
// Fetch and ListOffsets in data_handlers.cc, where each decodes its FlatBuffers request into
// DataPlane's structs (data_plane.h), calls it, and encodes the answer. Nothing here throws, and
// no input can crash the broker: every failure becomes an error code in the response.
//
// Thread-safety: Handle may run on any number of io threads at once; the services it uses are
// thread-safe. A Handle coroutine runs on its connection's strand.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
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
#include "protocol/api_versions_generated.h"
#include "protocol/configs_generated.h"
#include "protocol/errors_generated.h"
#include "protocol/fetch_generated.h"
#include "protocol/groups_generated.h"
#include "protocol/init_producer_id_generated.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/metadata_generated.h"
#include "protocol/offsets_generated.h"
#include "protocol/produce_generated.h"
#include "protocol/topics_generated.h"
#include "protocol/frame.h"

namespace strata::broker {

namespace fb = protocol::fb;

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
  // Each handler gets its request verified (request_handler.cc dispatches through Verified).
  Response ApiVersions(const protocol::Frame& frame, const fb::ApiVersionsRequest* req);
  Response Metadata(const protocol::Frame& frame, const fb::MetadataRequest* req);
  asio::awaitable<Response> CreateTopics(const protocol::Frame& frame,
                                         const fb::CreateTopicsRequest* req);
  asio::awaitable<Response> DeleteTopics(const protocol::Frame& frame,
                                         const fb::DeleteTopicsRequest* req);
  Response InitProducerId(const protocol::Frame& frame, const fb::InitProducerIdRequest* req);
  Response DescribeConfigs(const protocol::Frame& frame, const fb::DescribeConfigsRequest* req);
  Response AlterConfigs(const protocol::Frame& frame, const fb::AlterConfigsRequest* req);
  Response ListOffsets(const protocol::Frame& frame, const fb::ListOffsetsRequest* req);
  asio::awaitable<Response> Produce(const protocol::Frame& frame, const fb::ProduceRequest* req,
                                    std::span<std::byte> body);
  asio::awaitable<Response> Fetch(const protocol::Frame& frame, const fb::FetchRequest* req);
  // Consumer groups (group_handlers.cc, offset_handlers.cc).
  asio::awaitable<Response> FindCoordinator(const protocol::Frame& frame,
                                            const fb::FindCoordinatorRequest* req);
  asio::awaitable<Response> JoinGroup(const protocol::Frame& frame, const fb::JoinGroupRequest* req,
                                      const std::string& client_host);
  asio::awaitable<Response> SyncGroup(const protocol::Frame& frame,
                                      const fb::SyncGroupRequest* req);
  Response Heartbeat(const protocol::Frame& frame, const fb::HeartbeatRequest* req);
  Response LeaveGroup(const protocol::Frame& frame, const fb::LeaveGroupRequest* req);
  Response ListGroups(const protocol::Frame& frame, const fb::ListGroupsRequest* req);
  Response DescribeGroups(const protocol::Frame& frame, const fb::DescribeGroupsRequest* req);
  asio::awaitable<Response> DeleteGroups(const protocol::Frame& frame,
                                         const fb::DeleteGroupsRequest* req);
  asio::awaitable<Response> OffsetCommit(const protocol::Frame& frame,
                                         const fb::OffsetCommitRequest* req);
  Response OffsetFetch(const protocol::Frame& frame, const fb::OffsetFetchRequest* req);
  // A broker of a cluster (cluster_handlers.cc).
  Response ClusterMetadata(const protocol::Frame& frame, const fb::MetadataRequest* req);
  Response DescribeCluster(const protocol::Frame& frame, const fb::DescribeClusterRequest* req);

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
// A request's config entries as key -> value (CreateTopics, AlterConfigs).
std::map<std::string, std::string> ConfigOverrides(
    const flatbuffers::Vector<flatbuffers::Offset<fb::ConfigEntry>>* entries);
// The wire code of a coordinator error.
protocol::fb::ErrorCode GroupErrorCode(consumer_offsets::GroupError error);

}  // namespace strata::broker
