#include "broker/request_handler.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "protocol/api.h"
#include "protocol/api_versions_generated.h"
#include "protocol/fetch_body.h"
#include "protocol/message.h"
#include "protocol/request_size.h"

namespace strata::broker {

namespace fb = protocol::fb;
using protocol::ApiKey;

Response FinishResponse(const protocol::Frame& request, const flatbuffers::FlatBufferBuilder& b,
                        bool has_error) {
  Response r;
  r.has_error = has_error;
  // Fetch records travel outside the FlatBuffer, but a request may still ask for more than a frame
  // holds: entries that share one table or string cost the request 4 bytes each and the response
  // a copy each (LeaveGroup echoing a long member id, DescribeGroups naming one group many times).
  auto head = protocol::EncodeFrame(request.correlation_id, request.api_key, request.api_version,
                                    protocol::BuilderBytes(b));
  if (!head.ok()) {
    return ErrorFrame(request, fb::ErrorCode::INVALID_REQUEST,
                      absl::StrCat("the response would be ", b.GetSize(),
                                   " bytes, over the frame limit of ", limits::frame_bytes_max,
                                   "; ask for fewer entries"));
  }
  r.head = std::move(*head);
  return r;
}

Response ErrorFrame(const protocol::Frame& request, fb::ErrorCode code,
                    const std::string& message) {
  ResponseBuilder b;
  if (request.api_key == static_cast<uint16_t>(ApiKey::kFetch)) {
    b.Finish(fb::CreateFetchResponse(b, code, b.CreateString(message)));
    const auto head = protocol::EncodeFetchResponseHead(protocol::BuilderBytes(b));
    Response r;
    r.has_error = true;
    r.head = protocol::EncodeFrame(request.correlation_id, request.api_key, request.api_version,
                                   head)
                 .value();
    return r;
  }
  b.Finish(fb::CreateErrorResponse(b, code, b.CreateString(message)));
  return FinishResponse(request, b, true);
}

fb::ErrorCode PartitionLookupError(const absl::Status& status, bool stopping) {
  if (absl::IsNotFound(status) || absl::IsOutOfRange(status)) {
    return fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  }
  if (stopping || absl::IsFailedPrecondition(status)) return fb::ErrorCode::SHUTTING_DOWN;
  return fb::ErrorCode::STORAGE_ERROR;
}

Response RequestHandler::ApiVersions(const protocol::Frame& frame, const fb::ApiVersionsRequest* req) {
  ResponseBuilder b;
  std::vector<fb::ApiVersionRange> ranges;
  for (const auto& api : protocol::SupportedApis()) {
    ranges.emplace_back(static_cast<uint16_t>(api.key), api.min_version, api.max_version);
  }
  b.Finish(fb::CreateApiVersionsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVectorOfStructs(ranges)));
  return FinishResponse(frame, b, false);
}

namespace {

// The body of `frame` verified as a `Request` (VerifyRequest: the FlatBuffers verifier and the
// size accounting of protocol/request_size.h), or nullptr with `answer` set to the
// INVALID_REQUEST frame that says why. Handlers only ever see verified requests.
template <typename Request>
const Request* Verified(const protocol::Frame& frame, Response& answer) {
  // "strata.protocol.fb.ProduceRequest" -> "ProduceRequest" (a suffix of a literal: terminated).
  std::string_view what = Request::GetFullyQualifiedName();
  what.remove_prefix(what.rfind('.') + 1);
  auto req = protocol::VerifyRequest<Request>(frame.body, what.data());
  if (!req.ok()) {
    answer = ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST, std::string(req.status().message()));
    return nullptr;
  }
  return *req;
}

}  // namespace

bool IsInternalTopic(std::string_view name) { return name.substr(0, 2) == "__"; }

asio::awaitable<Response> RequestHandler::Handle(const protocol::Frame& frame,
                                                 std::span<std::byte> body,
                                                 std::string client_host) {
  const auto start = std::chrono::steady_clock::now();
  auto& api_metrics = s_.metrics->api(frame.api_key);
  api_metrics.requests.fetch_add(1, std::memory_order_relaxed);
  Response response;
  const auto api = protocol::FindApi(frame.api_key);
  if (!api.has_value()) {
    response = ErrorFrame(frame, fb::ErrorCode::UNSUPPORTED_API,
                          absl::StrCat("api_key ", frame.api_key,
                                       " is not served by this broker; ask ApiVersions"));
  } else if (frame.api_version < api->min_version || frame.api_version > api->max_version) {
    response = ErrorFrame(
        frame, fb::ErrorCode::UNSUPPORTED_VERSION,
        absl::StrCat(protocol::ApiName(frame.api_key), " version ", frame.api_version,
                     " is not served; this broker serves versions ", api->min_version, " to ",
                     api->max_version));
  } else {
    // The one exception in the broker: a response builder over the frame limit (response_builder.h).
    try {
    switch (static_cast<ApiKey>(frame.api_key)) {
      case ApiKey::kApiVersions:
        if (const auto* r = Verified<fb::ApiVersionsRequest>(frame, response)) {
          response = ApiVersions(frame, r);
        }
        break;
      case ApiKey::kMetadata:
        if (const auto* r = Verified<fb::MetadataRequest>(frame, response)) {
          response = s_.cluster != nullptr ? ClusterMetadata(frame, r) : Metadata(frame, r);
        }
        break;
      case ApiKey::kCreateTopics:
        if (const auto* r = Verified<fb::CreateTopicsRequest>(frame, response)) {
          response = co_await CreateTopics(frame, r);
        }
        break;
      case ApiKey::kDeleteTopics:
        if (const auto* r = Verified<fb::DeleteTopicsRequest>(frame, response)) {
          response = co_await DeleteTopics(frame, r);
        }
        break;
      case ApiKey::kInitProducerId:
        if (const auto* r = Verified<fb::InitProducerIdRequest>(frame, response)) {
          response = InitProducerId(frame, r);
        }
        break;
      case ApiKey::kDescribeConfigs:
        if (const auto* r = Verified<fb::DescribeConfigsRequest>(frame, response)) {
          response = DescribeConfigs(frame, r);
        }
        break;
      case ApiKey::kAlterConfigs:
        if (const auto* r = Verified<fb::AlterConfigsRequest>(frame, response)) {
          response = AlterConfigs(frame, r);
        }
        break;
      case ApiKey::kListOffsets:
        if (const auto* r = Verified<fb::ListOffsetsRequest>(frame, response)) {
          response = ListOffsets(frame, r);
        }
        break;
      case ApiKey::kProduce:
        if (const auto* r = Verified<fb::ProduceRequest>(frame, response)) {
          response = co_await Produce(frame, r, body);
        }
        break;
      case ApiKey::kFetch:
        if (const auto* r = Verified<fb::FetchRequest>(frame, response)) {
          response = co_await Fetch(frame, r);
        }
        break;
      case ApiKey::kFindCoordinator:
        if (const auto* r = Verified<fb::FindCoordinatorRequest>(frame, response)) {
          response = co_await FindCoordinator(frame, r);
        }
        break;
      case ApiKey::kJoinGroup:
        if (const auto* r = Verified<fb::JoinGroupRequest>(frame, response)) {
          response = co_await JoinGroup(frame, r, client_host);
        }
        break;
      case ApiKey::kSyncGroup:
        if (const auto* r = Verified<fb::SyncGroupRequest>(frame, response)) {
          response = co_await SyncGroup(frame, r);
        }
        break;
      case ApiKey::kHeartbeat:
        if (const auto* r = Verified<fb::HeartbeatRequest>(frame, response)) {
          response = Heartbeat(frame, r);
        }
        break;
      case ApiKey::kLeaveGroup:
        if (const auto* r = Verified<fb::LeaveGroupRequest>(frame, response)) {
          response = LeaveGroup(frame, r);
        }
        break;
      case ApiKey::kOffsetCommit:
        if (const auto* r = Verified<fb::OffsetCommitRequest>(frame, response)) {
          response = co_await OffsetCommit(frame, r);
        }
        break;
      case ApiKey::kOffsetFetch:
        if (const auto* r = Verified<fb::OffsetFetchRequest>(frame, response)) {
          response = OffsetFetch(frame, r);
        }
        break;
      case ApiKey::kListGroups:
        if (const auto* r = Verified<fb::ListGroupsRequest>(frame, response)) {
          response = ListGroups(frame, r);
        }
        break;
      case ApiKey::kDescribeGroups:
        if (const auto* r = Verified<fb::DescribeGroupsRequest>(frame, response)) {
          response = DescribeGroups(frame, r);
        }
        break;
      case ApiKey::kDeleteGroups:
        if (const auto* r = Verified<fb::DeleteGroupsRequest>(frame, response)) {
          response = co_await DeleteGroups(frame, r);
        }
        break;
      case ApiKey::kDescribeCluster:
        if (const auto* r = Verified<fb::DescribeClusterRequest>(frame, response)) {
          response = DescribeCluster(frame, r);
        }
        break;
    }
    } catch (const ResponseTooLarge&) {
      response = ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST,
                            absl::StrCat("the response would be over the frame limit of ",
                                         limits::frame_bytes_max, " bytes; ask for fewer entries"));
    }
  }
  if (response.has_error) api_metrics.errors.fetch_add(1, std::memory_order_relaxed);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  if (frame.api_key == static_cast<uint16_t>(ApiKey::kProduce)) {
    s_.metrics->produce_latency_us.Record(us);
  } else if (frame.api_key == static_cast<uint16_t>(ApiKey::kFetch)) {
    s_.metrics->fetch_latency_us.Record(us);
  }
  co_return response;
}

}  // namespace strata::broker
