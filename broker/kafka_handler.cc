// Kafka request dispatch, ApiVersions, InitProducerId, and the one mapping of Strata's error codes
// to Kafka's (docs/kafka.md).
#include "broker/kafka_handler.h"

#include "absl/strings/str_cat.h"
#include "cluster/member.h"
#include "common/limits.h"
#include "common/logging.h"

namespace strata::broker {

int16_t KafkaErrorCode(ErrorCode code) {
  using K = KafkaError;
  K k = K::kUnknownServerError;
  switch (code) {
    case ErrorCode::NONE: k = K::kNone; break;
    case ErrorCode::UNKNOWN: k = K::kUnknownServerError; break;
    case ErrorCode::UNSUPPORTED_VERSION: k = K::kUnsupportedVersion; break;
    case ErrorCode::INVALID_REQUEST: k = K::kInvalidRequest; break;
    case ErrorCode::UNSUPPORTED_API: k = K::kUnsupportedVersion; break;
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION: k = K::kUnknownTopicOrPartition; break;
    case ErrorCode::TOPIC_ALREADY_EXISTS: k = K::kTopicAlreadyExists; break;
    case ErrorCode::INVALID_TOPIC: k = K::kInvalidTopicException; break;
    case ErrorCode::INVALID_CONFIG: k = K::kInvalidConfig; break;
    case ErrorCode::CORRUPT_MESSAGE: k = K::kCorruptMessage; break;
    case ErrorCode::MESSAGE_TOO_LARGE: k = K::kMessageTooLarge; break;
    case ErrorCode::OUT_OF_ORDER_SEQUENCE: k = K::kOutOfOrderSequenceNumber; break;
    case ErrorCode::PRODUCER_FENCED: k = K::kInvalidProducerEpoch; break;
    case ErrorCode::OFFSET_OUT_OF_RANGE: k = K::kOffsetOutOfRange; break;
    case ErrorCode::STORAGE_ERROR: k = K::kKafkaStorageError; break;
    case ErrorCode::REQUEST_TIMED_OUT: k = K::kRequestTimedOut; break;
    // Kafka has no "busy": a retriable timeout makes the client back off and retry.
    case ErrorCode::BROKER_BUSY: k = K::kRequestTimedOut; break;
    // A stopping broker: the client refreshes its metadata and finds the next leader.
    case ErrorCode::SHUTTING_DOWN: k = K::kNotLeaderOrFollower; break;
    case ErrorCode::COORDINATOR_NOT_AVAILABLE: k = K::kCoordinatorNotAvailable; break;
    case ErrorCode::NOT_COORDINATOR: k = K::kNotCoordinator; break;
    case ErrorCode::ILLEGAL_GENERATION: k = K::kIllegalGeneration; break;
    case ErrorCode::UNKNOWN_MEMBER_ID: k = K::kUnknownMemberId; break;
    case ErrorCode::REBALANCE_IN_PROGRESS: k = K::kRebalanceInProgress; break;
    case ErrorCode::INCONSISTENT_GROUP_PROTOCOL: k = K::kInconsistentGroupProtocol; break;
    case ErrorCode::INVALID_SESSION_TIMEOUT: k = K::kInvalidSessionTimeout; break;
    case ErrorCode::MEMBER_ID_REQUIRED: k = K::kMemberIdRequired; break;
    case ErrorCode::FENCED_INSTANCE_ID: k = K::kFencedInstanceId; break;
    case ErrorCode::INVALID_GROUP_ID: k = K::kInvalidGroupId; break;
    case ErrorCode::GROUP_ID_NOT_FOUND: k = K::kGroupIdNotFound; break;
    case ErrorCode::NON_EMPTY_GROUP: k = K::kNonEmptyGroup; break;
    case ErrorCode::OFFSET_METADATA_TOO_LARGE: k = K::kOffsetMetadataTooLarge; break;
    case ErrorCode::GROUP_MAX_SIZE_REACHED: k = K::kGroupMaxSizeReached; break;
    // Kafka has no "disk full"; its own broker takes the log directory offline.
    case ErrorCode::STORAGE_FULL: k = K::kKafkaStorageError; break;
    case ErrorCode::NOT_LEADER: k = K::kNotLeaderOrFollower; break;
    case ErrorCode::NOT_ENOUGH_REPLICAS: k = K::kNotEnoughReplicas; break;
    case ErrorCode::FENCED_LEADER_EPOCH: k = K::kFencedLeaderEpoch; break;
    case ErrorCode::UNKNOWN_LEADER_EPOCH: k = K::kUnknownLeaderEpoch; break;
    case ErrorCode::LEADER_NOT_AVAILABLE: k = K::kLeaderNotAvailable; break;
  }
  return static_cast<int16_t>(k);
}

namespace {

KafkaResponse Close(std::string why) {
  KafkaResponse r;
  r.send = false;
  r.close = true;
  r.close_reason = std::move(why);
  return r;
}

// Decodes the body as `Request`, or says why it cannot.
template <typename Request>
std::optional<Request> DecodeBody(kafka::Reader& r, int16_t version, std::string* why) {
  Request req;
  req.Decode(r, version);
  if (!r.ok()) {
    *why = r.error();
    return std::nullopt;
  }
  return req;
}

}  // namespace

std::optional<HostPort> KafkaHandler::KafkaAddress(int32_t id) const {
  if (s_.cluster == nullptr) {
    if (id == s_.node_id) return s_.kafka_advertised;
    return std::nullopt;
  }
  auto view = s_.cluster->view();
  auto it = view->brokers.find(id);
  if (it == view->brokers.end() || it->second.kafka_port == 0) return std::nullopt;
  return HostPort{it->second.kafka_host, it->second.kafka_port};
}

asio::awaitable<KafkaResponse> KafkaHandler::Handle(std::span<const std::byte> frame,
                                                    std::string client_host) {
  kafka::Reader r(frame);
  const kafka::RequestHeader h = kafka::ReadRequestHeader(r);
  if (!r.ok()) co_return Close(absl::StrCat("unreadable request header: ", r.error()));
  const auto api = kafka::FindApi(h.api_key);
  if (h.api_key == kafka::kApiVersionsKey &&
      (h.api_version < api->min_version || h.api_version > api->max_version)) {
    // Answered at v0 with error 35 and its own range: the client retries at a version it has.
    kafka::ApiVersionsResponse resp;
    resp.error_code = static_cast<int16_t>(KafkaError::kUnsupportedVersion);
    resp.api_keys.push_back({kafka::kApiVersionsKey, api->min_version, api->max_version});
    kafka::RequestHeader v0 = h;
    v0.api_version = 0;
    co_return EncodeResponse(v0, resp);
  }
  if (!api.has_value()) {
    co_return Close(absl::StrCat("API key ", h.api_key,
                                 " is not served by Strata's Kafka listener (docs/kafka.md lists "
                                 "those that are)"));
  }
  if (h.api_version < api->min_version || h.api_version > api->max_version) {
    co_return Close(absl::StrCat(api->name, " v", h.api_version, " is not served; this broker "
                                 "serves v", api->min_version, " to v", api->max_version,
                                 " (ApiVersions says so)"));
  }
  if (h.api_key != kafka::ProduceRequest::kApiKey &&
      frame.size() > limits::kafka_request_bytes_max) {
    co_return Close(absl::StrCat(api->name, " request of ", frame.size(),
                                 " bytes is over limits::kafka_request_bytes_max (",
                                 limits::kafka_request_bytes_max, "); only Produce may be larger"));
  }
  std::string why;
  const int16_t v = h.api_version;
  // Decodes the body as T into `req`, or closes the connection.
#define STRATA_KAFKA_DECODE(T, req)                                                   \
  auto req = DecodeBody<kafka::T>(r, v, &why);                                        \
  if (!req.has_value()) {                                                             \
    co_return Close(absl::StrCat("malformed ", api->name, " v", v, " request: ", why)); \
  }
  switch (h.api_key) {
    case kafka::ApiVersionsRequest::kApiKey: {
      STRATA_KAFKA_DECODE(ApiVersionsRequest, req);
      co_return ApiVersions(h);
    }
    case kafka::MetadataRequest::kApiKey: {
      STRATA_KAFKA_DECODE(MetadataRequest, req);
      co_return Metadata(h, *req);
    }
    case kafka::ProduceRequest::kApiKey: {
      STRATA_KAFKA_DECODE(ProduceRequest, req);
      KafkaResponse resp = co_await Produce(h, *req);
      co_return resp;
    }
    case kafka::FetchRequest::kApiKey: {
      STRATA_KAFKA_DECODE(FetchRequest, req);
      KafkaResponse resp = co_await Fetch(h, *req);
      co_return resp;
    }
    case kafka::ListOffsetsRequest::kApiKey: {
      STRATA_KAFKA_DECODE(ListOffsetsRequest, req);
      co_return ListOffsets(h, *req);
    }
    case kafka::InitProducerIdRequest::kApiKey: {
      STRATA_KAFKA_DECODE(InitProducerIdRequest, req);
      co_return InitProducerId(h, *req);
    }
    case kafka::CreateTopicsRequest::kApiKey: {
      STRATA_KAFKA_DECODE(CreateTopicsRequest, req);
      KafkaResponse resp = co_await CreateTopics(h, *req);
      co_return resp;
    }
    case kafka::DeleteTopicsRequest::kApiKey: {
      STRATA_KAFKA_DECODE(DeleteTopicsRequest, req);
      KafkaResponse resp = co_await DeleteTopics(h, *req);
      co_return resp;
    }
    case kafka::DescribeConfigsRequest::kApiKey: {
      STRATA_KAFKA_DECODE(DescribeConfigsRequest, req);
      co_return DescribeConfigs(h, *req);
    }
    case kafka::FindCoordinatorRequest::kApiKey: {
      STRATA_KAFKA_DECODE(FindCoordinatorRequest, req);
      KafkaResponse resp = co_await FindCoordinator(h, *req);
      co_return resp;
    }
    case kafka::JoinGroupRequest::kApiKey: {
      STRATA_KAFKA_DECODE(JoinGroupRequest, req);
      KafkaResponse resp = co_await JoinGroup(h, *req, client_host);
      co_return resp;
    }
    case kafka::SyncGroupRequest::kApiKey: {
      STRATA_KAFKA_DECODE(SyncGroupRequest, req);
      KafkaResponse resp = co_await SyncGroup(h, *req);
      co_return resp;
    }
    case kafka::HeartbeatRequest::kApiKey: {
      STRATA_KAFKA_DECODE(HeartbeatRequest, req);
      co_return Heartbeat(h, *req);
    }
    case kafka::LeaveGroupRequest::kApiKey: {
      STRATA_KAFKA_DECODE(LeaveGroupRequest, req);
      co_return LeaveGroup(h, *req);
    }
    case kafka::ListGroupsRequest::kApiKey: {
      STRATA_KAFKA_DECODE(ListGroupsRequest, req);
      co_return ListGroups(h, *req);
    }
    case kafka::DescribeGroupsRequest::kApiKey: {
      STRATA_KAFKA_DECODE(DescribeGroupsRequest, req);
      co_return DescribeGroups(h, *req);
    }
    case kafka::OffsetCommitRequest::kApiKey: {
      STRATA_KAFKA_DECODE(OffsetCommitRequest, req);
      KafkaResponse resp = co_await OffsetCommit(h, *req);
      co_return resp;
    }
    case kafka::OffsetFetchRequest::kApiKey: {
      STRATA_KAFKA_DECODE(OffsetFetchRequest, req);
      co_return OffsetFetch(h, *req);
    }
  }
#undef STRATA_KAFKA_DECODE
  co_return Close(absl::StrCat("API key ", h.api_key, " has no handler"));
}

KafkaResponse KafkaHandler::ApiVersions(const kafka::RequestHeader& h) {
  kafka::ApiVersionsResponse resp;
  for (const auto& api : kafka::kDescribedApis) {
    resp.api_keys.push_back({api.key, api.min_version, api.max_version});
  }
  return EncodeResponse(h, resp);
}

KafkaResponse KafkaHandler::InitProducerId(const kafka::RequestHeader& h,
                                           const kafka::InitProducerIdRequest& req) {
  kafka::InitProducerIdResponse resp;
  if (req.transactional_id.has_value()) {
    // Transactions are not served (docs/kafka.md); idempotence is.
    resp.error_code = static_cast<int16_t>(KafkaError::kInvalidRequest);
    return EncodeResponse(h, resp);
  }
  auto id = s_.producer_ids->Next();
  if (!id.ok()) {
    LogEvent(LogLevel::kWarn,
             absl::StrCat("InitProducerId: cannot reserve producer ids: ", id.status().ToString()));
    resp.error_code = static_cast<int16_t>(KafkaError::kCoordinatorNotAvailable);
    return EncodeResponse(h, resp);
  }
  resp.producer_id = *id;
  resp.producer_epoch = 0;
  return EncodeResponse(h, resp);
}

}  // namespace strata::broker
