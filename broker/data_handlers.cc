// The FlatBuffers adapters of the data path: Produce, Fetch and ListOffsets decode their request
// into DataPlane's structs (data_plane.h), call it, and encode the answer. docs/protocol.md
// specifies the messages; the work itself is in data_plane.cc.
#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "broker/request_handler.h"
#include "protocol/fetch_body.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/message.h"
#include "protocol/produce_generated.h"
#include "protocol/request_size.h"

namespace strata::broker {

namespace fb = protocol::fb;

namespace {

std::string Str(const flatbuffers::String* s) { return s == nullptr ? std::string() : s->str(); }

flatbuffers::Offset<flatbuffers::String> ErrorMessage(ResponseBuilder& b, const Error& e) {
  return e.ok() ? 0 : b.CreateString(e.message);
}

}  // namespace

asio::awaitable<Response> RequestHandler::Produce(const protocol::Frame& frame, const fb::ProduceRequest* req,
                                                  std::span<std::byte> body) {
  const int acks = req->acks();
  if (acks != 0 && acks != 1 && acks != -1) {
    co_return ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST,
                         absl::StrCat("acks must be 0, 1 or -1 (all), not ", acks));
  }
  ProduceRequest request;
  request.acks = static_cast<partition::Acks>(acks);
  request.timeout = std::chrono::milliseconds(std::max(req->timeout_ms(), 0));
  if (req->topics() != nullptr) {
    for (const auto* t : *req->topics()) {
      ProduceTopic& topic = request.topics.emplace_back();
      topic.name = Str(t->name());
      if (t->partitions() == nullptr) continue;
      for (const auto* p : *t->partitions()) {
        ProducePartition& part = topic.partitions.emplace_back();
        part.index = p->index();
        if (p->records() == nullptr) continue;
        // The batch lies inside the verified body, which the caller owns and lets us modify: the
        // append stamps the base offset and leader epoch into it in place.
        const auto* data = reinterpret_cast<const std::byte*>(p->records()->data());
        part.batch =
            body.subspan(static_cast<size_t>(data - frame.body.data()), p->records()->size());
      }
    }
  }

  const ProduceResponse result = co_await data_.Produce(std::move(request));

  bool has_error = false;
  ResponseBuilder b;
  std::vector<flatbuffers::Offset<fb::TopicProduceResponse>> topics;
  for (const auto& topic : result.topics) {
    std::vector<flatbuffers::Offset<fb::PartitionProduceResponse>> parts;
    for (const auto& r : topic.partitions) {
      has_error |= !r.error.ok();
      parts.push_back(fb::CreatePartitionProduceResponse(
          b, r.index, r.error.code, ErrorMessage(b, r.error), r.error.ok() ? r.base_offset : -1,
          r.log_start_offset, r.duplicate, r.leader_id, r.leader_epoch));
    }
    topics.push_back(
        fb::CreateTopicProduceResponse(b, b.CreateString(topic.name), b.CreateVector(parts)));
  }
  b.Finish(fb::CreateProduceResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(topics)));
  Response response = FinishResponse(frame, b, has_error);
  response.send = acks != 0;
  co_return response;
}

asio::awaitable<Response> RequestHandler::Fetch(const protocol::Frame& frame, const fb::FetchRequest* req) {
  FetchRequest request;
  request.replica_id = req->replica_id();
  request.max_wait = std::chrono::milliseconds(std::max(req->max_wait_ms(), 0));
  request.min_bytes = static_cast<size_t>(std::max(req->min_bytes(), 0));
  request.max_bytes = static_cast<size_t>(std::max(req->max_bytes(), 0));
  if (req->topics() != nullptr) {
    for (const auto* t : *req->topics()) {
      FetchTopic& topic = request.topics.emplace_back();
      topic.name = Str(t->name());
      if (t->partitions() == nullptr) continue;
      for (const auto* p : *t->partitions()) {
        topic.partitions.push_back(
            {p->index(), p->fetch_offset(),
             static_cast<size_t>(std::max(p->partition_max_bytes(), 0)),
             p->current_leader_epoch(), p->last_fetched_epoch()});
      }
    }
  }

  FetchResponse result = co_await data_.Fetch(std::move(request));

  ResponseBuilder b;
  Response response;
  std::vector<flatbuffers::Offset<fb::FetchTopicResponse>> topics;
  uint64_t records_bytes = 0;
  for (auto& topic : result.topics) {
    std::vector<flatbuffers::Offset<fb::FetchPartitionResponse>> parts;
    for (auto& r : topic.partitions) {
      response.has_error |= !r.error.ok();
      const uint32_t n = r.read.has_value() ? static_cast<uint32_t>(r.read->bytes.size()) : 0;
      parts.push_back(fb::CreateFetchPartitionResponse(
          b, r.index, r.error.code, ErrorMessage(b, r.error), r.high_watermark,
          r.log_start_offset, n, r.diverging_epoch, r.diverging_end_offset, r.leader_id,
          r.leader_epoch));
      if (n > 0) {
        records_bytes += n;
        response.records.push_back(std::move(*r.read));
      }
    }
    topics.push_back(
        fb::CreateFetchTopicResponse(b, b.CreateString(topic.name), b.CreateVector(parts)));
  }
  b.Finish(fb::CreateFetchResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(topics)));
  const auto head = protocol::EncodeFetchResponseHead(protocol::BuilderBytes(b));
  auto header = protocol::EncodeFrameHeader(frame.correlation_id, frame.api_key,
                                            frame.api_version, head.size() + records_bytes);
  if (!header.ok()) {
    // max_bytes larger than a frame can carry, with that much data available.
    co_return ErrorFrame(frame, fb::ErrorCode::INVALID_REQUEST,
                         absl::StrCat("max_bytes ", result.max_bytes,
                                      " makes a response larger than the frame limit; lower it"));
  }
  response.head.assign(header->begin(), header->end());
  response.head.insert(response.head.end(), head.begin(), head.end());
  co_return response;
}

Response RequestHandler::ListOffsets(const protocol::Frame& frame, const fb::ListOffsetsRequest* req) {
  ListOffsetsRequest request;
  if (req->topics() != nullptr) {
    for (const auto* t : *req->topics()) {
      ListOffsetsTopic& topic = request.topics.emplace_back();
      topic.name = Str(t->name());
      if (t->partitions() == nullptr) continue;
      for (const auto* p : *t->partitions()) topic.partitions.push_back({p->index(), p->timestamp()});
    }
  }

  const ListOffsetsResponse result = data_.ListOffsets(request);

  ResponseBuilder b;
  std::vector<flatbuffers::Offset<fb::ListOffsetsTopicResponse>> topics;
  for (const auto& topic : result.topics) {
    std::vector<flatbuffers::Offset<fb::ListOffsetsPartitionResponse>> parts;
    for (const auto& r : topic.partitions) {
      parts.push_back(fb::CreateListOffsetsPartitionResponse(b, r.index, r.error.code,
                                                             ErrorMessage(b, r.error), r.offset));
    }
    topics.push_back(
        fb::CreateListOffsetsTopicResponse(b, b.CreateString(topic.name), b.CreateVector(parts)));
  }
  b.Finish(fb::CreateListOffsetsResponse(b, fb::ErrorCode::NONE, 0, b.CreateVector(topics)));
  return FinishResponse(frame, b, result.has_error());
}

}  // namespace strata::broker
