// KafkaHandler: answers one Kafka request (docs/kafka.md), over the same services as the native
// protocol's RequestHandler: the data plane (data_plane.h) for Produce, Fetch and ListOffsets, the
// group coordinator, the topic manager and, in a cluster, the cluster's view and its leaders.
//
// Each handler decodes its request with the generated codec (protocol/kafka/kafka_messages.h),
// calls the service, and encodes the response at the request's version. Strata's error codes
// become Kafka's in KafkaErrorCode (kafka_handler.cc), the one place that maps them. A request
// that cannot be decoded, or names an API or version this broker does not serve, closes the
// connection as Kafka does, except ApiVersions, which answers UNSUPPORTED_VERSION (35) with its
// own range so the client can retry at a version it has.
//
// Handler files: kafka_handler.cc (dispatch, ApiVersions, InitProducerId, error codes),
// kafka_data_handlers.cc (Produce, Fetch, ListOffsets), kafka_admin_handlers.cc (Metadata, topics,
// configs), kafka_group_handlers.cc (coordinator, membership, offsets).
//
// Thread-safety: Handle may run on any number of io threads at once.
#pragma once

#include <deque>
#include <span>
#include <string>
#include <vector>

#include "broker/asio.h"
#include "broker/data_plane.h"
#include "broker/services.h"
#include "log/segment.h"
#include "protocol/kafka/frame.h"
#include "protocol/kafka/kafka_messages.h"
#include "record/kafka_batch.h"

namespace strata::broker {

namespace kafka = protocol::kafka;

// What the connection does after one request.
struct KafkaResponse {
  bool send = true;     // false: nothing (Produce with acks=0)
  bool close = false;   // close the connection (an undecodable request), saying why in the log
  std::string close_reason;
  kafka::Writer out;    // the whole response frame, size field included
  // Fetch: the segment mappings that `out` borrows record bytes from, and the Kafka batch
  // headers it borrows (a deque: its elements never move).
  std::vector<log::ReadResult> keepalive;
  std::deque<record::KafkaBatchHeader> batch_headers;
};

// Kafka's error codes that Strata answers with (Kafka's Errors.java numbers them).
enum class KafkaError : int16_t {
  kUnknownServerError = -1,
  kNone = 0,
  kOffsetOutOfRange = 1,
  kCorruptMessage = 2,
  kUnknownTopicOrPartition = 3,
  kLeaderNotAvailable = 5,
  kNotLeaderOrFollower = 6,
  kRequestTimedOut = 7,
  kMessageTooLarge = 10,
  kOffsetMetadataTooLarge = 12,
  kCoordinatorLoadInProgress = 14,
  kCoordinatorNotAvailable = 15,
  kNotCoordinator = 16,
  kInvalidTopicException = 17,
  kNotEnoughReplicas = 19,
  kInvalidRequiredAcks = 21,
  kIllegalGeneration = 22,
  kInconsistentGroupProtocol = 23,
  kInvalidGroupId = 24,
  kUnknownMemberId = 25,
  kInvalidSessionTimeout = 26,
  kRebalanceInProgress = 27,
  kUnsupportedVersion = 35,
  kTopicAlreadyExists = 36,
  kInvalidPartitions = 37,
  kInvalidReplicationFactor = 38,
  kInvalidConfig = 40,
  kInvalidRequest = 42,
  kUnsupportedForMessageFormat = 43,
  kOutOfOrderSequenceNumber = 45,
  kInvalidProducerEpoch = 47,
  kKafkaStorageError = 56,
  kNonEmptyGroup = 68,
  kGroupIdNotFound = 69,
  kFencedLeaderEpoch = 74,
  kUnknownLeaderEpoch = 75,
  kUnsupportedCompressionType = 76,
  kMemberIdRequired = 79,
  kGroupMaxSizeReached = 81,
  kFencedInstanceId = 82,
};

// Strata's code as Kafka's, by what the client should do (docs/kafka.md#errors).
int16_t KafkaErrorCode(ErrorCode code);

class KafkaHandler {
 public:
  explicit KafkaHandler(Services services) : s_(services), data_(services) {}

  // `frame` is one request (after its size field), owned by the caller for the whole call.
  // `client_host` is the peer's address (shown by DescribeGroups).
  asio::awaitable<KafkaResponse> Handle(std::span<const std::byte> frame,
                                        std::string client_host);

 private:
  KafkaResponse ApiVersions(const kafka::RequestHeader& h);
  KafkaResponse InitProducerId(const kafka::RequestHeader& h,
                               const kafka::InitProducerIdRequest& req);
  asio::awaitable<KafkaResponse> Produce(const kafka::RequestHeader& h,
                                         const kafka::ProduceRequest& req);
  asio::awaitable<KafkaResponse> Fetch(const kafka::RequestHeader& h,
                                       const kafka::FetchRequest& req);
  KafkaResponse ListOffsets(const kafka::RequestHeader& h, const kafka::ListOffsetsRequest& req);
  KafkaResponse Metadata(const kafka::RequestHeader& h, const kafka::MetadataRequest& req);
  asio::awaitable<KafkaResponse> CreateTopics(const kafka::RequestHeader& h,
                                              const kafka::CreateTopicsRequest& req);
  asio::awaitable<KafkaResponse> DeleteTopics(const kafka::RequestHeader& h,
                                              const kafka::DeleteTopicsRequest& req);
  KafkaResponse DescribeConfigs(const kafka::RequestHeader& h,
                                const kafka::DescribeConfigsRequest& req);
  asio::awaitable<KafkaResponse> FindCoordinator(const kafka::RequestHeader& h,
                                                 const kafka::FindCoordinatorRequest& req);
  asio::awaitable<KafkaResponse> JoinGroup(const kafka::RequestHeader& h,
                                           const kafka::JoinGroupRequest& req,
                                           const std::string& client_host);
  asio::awaitable<KafkaResponse> SyncGroup(const kafka::RequestHeader& h,
                                           const kafka::SyncGroupRequest& req);
  KafkaResponse Heartbeat(const kafka::RequestHeader& h, const kafka::HeartbeatRequest& req);
  KafkaResponse LeaveGroup(const kafka::RequestHeader& h, const kafka::LeaveGroupRequest& req);
  KafkaResponse ListGroups(const kafka::RequestHeader& h, const kafka::ListGroupsRequest& req);
  KafkaResponse DescribeGroups(const kafka::RequestHeader& h,
                               const kafka::DescribeGroupsRequest& req);
  asio::awaitable<KafkaResponse> OffsetCommit(const kafka::RequestHeader& h,
                                              const kafka::OffsetCommitRequest& req);
  KafkaResponse OffsetFetch(const kafka::RequestHeader& h, const kafka::OffsetFetchRequest& req);

  // The Kafka address of broker `id`: this broker's own, or the one it registered in the
  // cluster; nullopt when it has no Kafka listener (or is not in the cluster's view).
  std::optional<HostPort> KafkaAddress(int32_t id) const;

  Services s_;
  DataPlane data_;
};

// A finished response frame: `body` encoded at the request's version after the header.
template <typename Body>
KafkaResponse EncodeResponse(const kafka::RequestHeader& h, const Body& body) {
  KafkaResponse r;
  r.out = kafka::StartResponse(h);
  body.Encode(r.out, h.api_version);
  kafka::FinishResponse(r.out);
  return r;
}

}  // namespace strata::broker
