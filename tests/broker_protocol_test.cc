// Integration tests of stratad at the protocol level: real broker processes, raw frames. They
// cover what a well-behaved client library never sends (bad versions, garbage, half frames,
// slowloris) as well as the data path, long-poll wake-up, idempotent dedup, metrics, and
// restarts after SIGTERM and kill -9.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <memory>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/limits.h"

#include "common/endian.h"
#include "record/batch.h"
#include "protocol/api.h"
#include "protocol/api_versions_generated.h"
#include "protocol/fetch_body.h"
#include "protocol/frame.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/message.h"
#include "protocol/metadata_generated.h"
#include "protocol/produce_generated.h"
#include "protocol/topics_generated.h"
#include "tests/broker_process.h"

namespace strata::test {
namespace {

namespace fb = protocol::fb;
using protocol::ApiKey;
using namespace std::chrono_literals;

constexpr auto kTimeout = 10s;

std::vector<std::byte> Bytes(const flatbuffers::FlatBufferBuilder& b) {
  auto span = protocol::BuilderBytes(b);
  return {span.begin(), span.end()};
}

// Sends one request and returns the response frame's body.
std::vector<std::byte> Call(RawConnection& c, ApiKey api, const flatbuffers::FlatBufferBuilder& b,
                            uint16_t version = 0) {
  static uint32_t correlation = 1;
  const uint32_t id = correlation++;
  REQUIRE(c.SendFrame(id, static_cast<uint16_t>(api), version, Bytes(b)));
  auto frame = c.ReadFrame(kTimeout);
  REQUIRE(frame.ok());
  REQUIRE(GetU32(frame->data() + protocol::kCorrelationIdPos) == id);
  return {frame->begin() + protocol::kFrameHeaderBytes, frame->end()};
}

template <typename T>
const T* Root(const std::vector<std::byte>& body) {
  auto r = protocol::VerifyBody<T>(body, "response");
  REQUIRE(r.ok());
  return *r;
}

void CreateTopic(RawConnection& c, const std::string& name, int partitions) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::CreatableTopic>> topics{
      fb::CreateCreatableTopic(b, b.CreateString(name), partitions)};
  b.Finish(fb::CreateCreateTopicsRequest(b, b.CreateVector(topics)));
  auto body = Call(c, ApiKey::kCreateTopics, b);
  const auto* resp = Root<fb::CreateTopicsResponse>(body);
  REQUIRE(resp->topics()->size() == 1);
  INFO(resp->topics()->Get(0)->error_message()->str());
  REQUIRE(resp->topics()->Get(0)->error_code() == fb::ErrorCode::NONE);
}

std::vector<std::byte> MakeBatch(int records, const std::string& prefix, int64_t producer_id = -1,
                                 int32_t base_sequence = -1) {
  record::BatchOptions options;
  if (producer_id >= 0) {
    options.producer_id = producer_id;
    options.producer_epoch = 0;
    options.base_sequence = base_sequence;
  }
  record::BatchBuilder builder(options);
  std::vector<std::string> values;
  for (int i = 0; i < records; ++i) values.push_back(prefix + std::to_string(i));
  for (const auto& v : values) {
    record::RecordInput r;
    r.timestamp_ms = 1'700'000'000'000;
    r.value = v;
    builder.Add(r);
  }
  return builder.Build().value();
}

struct ProduceOutcome {
  fb::ErrorCode code;
  std::string message;
  int64_t base_offset;
  bool duplicate;
};

// Produces one batch to `topic`-`partition`; nullopt for acks=0 (no response).
std::optional<ProduceOutcome> Produce(RawConnection& c, const std::string& topic, int partition,
                                      const std::vector<std::byte>& batch, int acks = -1) {
  flatbuffers::FlatBufferBuilder b;
  auto records = b.CreateVector(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  std::vector<flatbuffers::Offset<fb::PartitionProduceData>> parts{
      fb::CreatePartitionProduceData(b, partition, records)};
  std::vector<flatbuffers::Offset<fb::TopicProduceData>> topics{
      fb::CreateTopicProduceData(b, b.CreateString(topic), b.CreateVector(parts))};
  b.Finish(fb::CreateProduceRequest(b, static_cast<int8_t>(acks), 30000, b.CreateVector(topics)));
  if (acks == 0) {
    REQUIRE(c.SendFrame(999999, static_cast<uint16_t>(ApiKey::kProduce), 0, Bytes(b)));
    return std::nullopt;
  }
  auto body = Call(c, ApiKey::kProduce, b);
  const auto* resp = Root<fb::ProduceResponse>(body);
  const auto* p = resp->topics()->Get(0)->partitions()->Get(0);
  return ProduceOutcome{p->error_code(),
                        p->error_message() ? p->error_message()->str() : std::string(),
                        p->base_offset(), p->duplicate()};
}

struct FetchOutcome {
  fb::ErrorCode code = fb::ErrorCode::NONE;
  int64_t high_watermark = -1;
  std::vector<std::string> values;
};

FetchOutcome Fetch(RawConnection& c, const std::string& topic, int partition, int64_t offset,
                   int max_wait_ms = 0, int min_bytes = 1) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::FetchPartition>> parts{
      fb::CreateFetchPartition(b, partition, offset)};
  std::vector<flatbuffers::Offset<fb::FetchTopic>> topics{
      fb::CreateFetchTopic(b, b.CreateString(topic), b.CreateVector(parts))};
  b.Finish(fb::CreateFetchRequest(b, max_wait_ms, min_bytes, 1 << 20, b.CreateVector(topics)));
  auto body = Call(c, ApiKey::kFetch, b);
  auto view = protocol::ParseFetchResponseBody(body);
  REQUIRE(view.ok());
  const auto* p = view->response->topics()->Get(0)->partitions()->Get(0);
  FetchOutcome out;
  out.code = p->error_code();
  out.high_watermark = p->high_watermark();
  auto records = view->records;
  while (!records.empty()) {
    auto header = record::VerifyBatch(records);
    REQUIRE(header.ok());
    auto reader = record::BatchReader::Open(records.first(header->size_bytes()));
    REQUIRE(reader.ok());
    while (true) {
      auto rec = reader->Next();
      REQUIRE(rec.ok());
      if (!rec->has_value()) break;
      if ((*rec)->offset >= offset) out.values.emplace_back(*(*rec)->value);
    }
    records = records.subspan(header->size_bytes());
  }
  return out;
}

int64_t LatestOffset(RawConnection& c, const std::string& topic, int partition) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::ListOffsetsPartition>> parts{
      fb::CreateListOffsetsPartition(b, partition, -1)};
  std::vector<flatbuffers::Offset<fb::ListOffsetsTopic>> topics{
      fb::CreateListOffsetsTopic(b, b.CreateString(topic), b.CreateVector(parts))};
  b.Finish(fb::CreateListOffsetsRequest(b, b.CreateVector(topics)));
  auto body = Call(c, ApiKey::kListOffsets, b);
  const auto* p = Root<fb::ListOffsetsResponse>(body)->topics()->Get(0)->partitions()->Get(0);
  REQUIRE(p->error_code() == fb::ErrorCode::NONE);
  return p->offset();
}

TEST_CASE("handshake, unknown APIs and versions, and bad bodies get typed errors",
          "[broker][protocol]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  RawConnection c(broker.port());

  flatbuffers::FlatBufferBuilder hello;
  hello.Finish(fb::CreateApiVersionsRequest(hello, hello.CreateString("test")));
  auto body = Call(c, ApiKey::kApiVersions, hello);
  const auto* versions = Root<fb::ApiVersionsResponse>(body);
  CHECK(versions->api_versions()->size() == protocol::kApiKeyCount);

  // An unknown API and an unsupported version: typed errors, and the connection stays usable.
  REQUIRE(c.SendFrame(7, 999, 0, Bytes(hello)));
  auto unknown = c.ReadFrame(kTimeout);
  REQUIRE(unknown.ok());
  std::vector<std::byte> unknown_body(unknown->begin() + protocol::kFrameHeaderBytes,
                                      unknown->end());
  CHECK(Root<fb::ErrorResponse>(unknown_body)->error_code() == fb::ErrorCode::UNSUPPORTED_API);
  body = Call(c, ApiKey::kMetadata, hello, /*version=*/9);
  CHECK(Root<fb::ErrorResponse>(body)->error_code() == fb::ErrorCode::UNSUPPORTED_VERSION);

  // A body that is not a FlatBuffer of the right table.
  std::vector<std::byte> garbage(64, std::byte{0xEE});
  REQUIRE(c.SendFrame(8, static_cast<uint16_t>(ApiKey::kCreateTopics), 0, garbage));
  auto bad = c.ReadFrame(kTimeout);
  REQUIRE(bad.ok());
  std::vector<std::byte> bad_body(bad->begin() + protocol::kFrameHeaderBytes, bad->end());
  CHECK(Root<fb::ErrorResponse>(bad_body)->error_code() == fb::ErrorCode::INVALID_REQUEST);
  // The same for Fetch, whose error answer keeps the Fetch body layout.
  REQUIRE(c.SendFrame(9, static_cast<uint16_t>(ApiKey::kFetch), 0, garbage));
  auto bad_fetch = c.ReadFrame(kTimeout);
  REQUIRE(bad_fetch.ok());
  std::vector<std::byte> bad_fetch_body(bad_fetch->begin() + protocol::kFrameHeaderBytes,
                                        bad_fetch->end());
  auto view = protocol::ParseFetchResponseBody(bad_fetch_body);
  REQUIRE(view.ok());
  CHECK(view->response->error_code() == fb::ErrorCode::INVALID_REQUEST);

  // Still serving.
  body = Call(c, ApiKey::kApiVersions, hello);
  CHECK(Root<fb::ApiVersionsResponse>(body)->error_code() == fb::ErrorCode::NONE);
  CHECK(broker.Terminate() == 0);
}

TEST_CASE("produce, fetch, list offsets and the errors of the data path", "[broker][protocol]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  RawConnection c(broker.port());
  CreateTopic(c, "events", 2);

  auto first = Produce(c, "events", 1, MakeBatch(3, "a"));
  REQUIRE(first.has_value());
  CHECK(first->code == fb::ErrorCode::NONE);
  CHECK(first->base_offset == 0);
  auto second = Produce(c, "events", 1, MakeBatch(2, "b"), /*acks=*/1);
  CHECK(second->base_offset == 3);
  CHECK(!Produce(c, "events", 1, MakeBatch(1, "c"), /*acks=*/0).has_value());
  // acks=0 has no response; ListOffsets on the same connection is answered after it ran.
  CHECK(LatestOffset(c, "events", 1) == 6);
  auto fetched = Fetch(c, "events", 1, 2);
  CHECK(fetched.values == std::vector<std::string>{"a2", "b0", "b1", "c0"});
  CHECK(fetched.high_watermark == 6);

  // Errors, each typed; nothing written.
  auto corrupt = MakeBatch(2, "x");
  corrupt[corrupt.size() - 1] ^= std::byte{0x01};
  CHECK(Produce(c, "events", 0, corrupt)->code == fb::ErrorCode::CORRUPT_MESSAGE);
  CHECK(Produce(c, "nope", 0, MakeBatch(1, "x"))->code ==
        fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  CHECK(Produce(c, "events", 2, MakeBatch(1, "x"))->code ==
        fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  CHECK(Fetch(c, "events", 1, 7).code == fb::ErrorCode::OFFSET_OUT_OF_RANGE);
  CHECK(Fetch(c, "events", 0, 0).values.empty());
  CHECK(LatestOffset(c, "events", 0) == 0);
  CHECK(broker.Terminate() == 0);
}

TEST_CASE("an idempotent retry is acknowledged with its first offsets, not appended twice",
          "[broker][protocol]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  RawConnection c(broker.port());
  CreateTopic(c, "orders", 1);
  auto batch = MakeBatch(4, "o", /*producer_id=*/7, /*base_sequence=*/0);
  auto once = Produce(c, "orders", 0, batch);
  auto again = Produce(c, "orders", 0, batch);  // the client never saw the first ack
  CHECK(once->code == fb::ErrorCode::NONE);
  CHECK(!once->duplicate);
  CHECK(again->code == fb::ErrorCode::NONE);
  CHECK(again->duplicate);
  CHECK(again->base_offset == once->base_offset);
  CHECK(LatestOffset(c, "orders", 0) == 4);
  // A gap in the sequence is out of order.
  CHECK(Produce(c, "orders", 0, MakeBatch(1, "g", 7, 9))->code ==
        fb::ErrorCode::OUT_OF_ORDER_SEQUENCE);
  // The producer state survives a crash: the retry is still recognised afterwards.
  broker.Restart();
  RawConnection c2(broker.port());
  auto after = Produce(c2, "orders", 0, batch);
  CHECK(after->duplicate);
  CHECK(after->base_offset == 0);
  CHECK(LatestOffset(c2, "orders", 0) == 4);
}

TEST_CASE("a waiting fetch wakes within milliseconds of a produce", "[broker][protocol]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  RawConnection producer(broker.port());
  RawConnection consumer(broker.port());
  CreateTopic(producer, "wake", 1);

  std::vector<double> wake_ms;
  for (int round = 0; round < 5; ++round) {
    // Park a fetch at the log end with a long max_wait, then produce.
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::FetchPartition>> parts{
        fb::CreateFetchPartition(b, 0, round)};
    std::vector<flatbuffers::Offset<fb::FetchTopic>> topics{
        fb::CreateFetchTopic(b, b.CreateString("wake"), b.CreateVector(parts))};
    b.Finish(fb::CreateFetchRequest(b, 10000, 1, 1 << 20, b.CreateVector(topics)));
    REQUIRE(consumer.SendFrame(100 + round, static_cast<uint16_t>(ApiKey::kFetch), 0, Bytes(b)));
    // Wait until the fetch is parked, so the produce below wakes it rather than being found by
    // its first read.
    const auto parked_by = std::chrono::steady_clock::now() + kTimeout;
    while (MetricValue(FetchMetrics(broker.metrics_port()), "strata_fetches_parked").value_or(0) <
               1 &&
           std::chrono::steady_clock::now() < parked_by) {
      std::this_thread::sleep_for(1ms);
    }
    REQUIRE(MetricValue(FetchMetrics(broker.metrics_port()), "strata_fetches_parked") == 1);
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(Produce(producer, "wake", 0, MakeBatch(1, "w"), /*acks=*/1)->code ==
            fb::ErrorCode::NONE);
    auto frame = consumer.ReadFrame(kTimeout);
    REQUIRE(frame.ok());
    wake_ms.push_back(std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start)
                          .count());
    std::vector<std::byte> body(frame->begin() + protocol::kFrameHeaderBytes, frame->end());
    auto view = protocol::ParseFetchResponseBody(body);
    REQUIRE(view.ok());
    CHECK(view->records.size() > 0);
  }
  std::sort(wake_ms.begin(), wake_ms.end());
  // The produce round trip plus the wake-up: about a millisecond here. A missed wake-up would take
  // the full 10 s, and a broker that polled parked fetches every N ms would show about N/2, so the
  // bound is tight enough to tell them apart yet leaves room for a loaded sanitizer build.
  INFO("median produce-to-fetch-response ms: " << wake_ms[2]);
  CHECK(wake_ms[2] < 25);
  // And without data the fetch answers empty after max_wait_ms, not before.
  const auto start = std::chrono::steady_clock::now();
  auto empty = Fetch(consumer, "wake", 0, 5, /*max_wait_ms=*/300);
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(empty.values.empty());
  CHECK(waited >= 290ms);
  CHECK(waited < 5s);
}

TEST_CASE("hostile clients are cut off while a good client keeps working", "[broker][protocol]") {
  TempDir dir;
  const std::string config = dir.path() + "/stratad.toml";
  {
    std::ofstream out(config);
    out << "frame_read_timeout_ms = 500\n";
  }
  BrokerProcess broker(dir.path() + "/data", {"--config", config});
  RawConnection good(broker.port());
  CreateTopic(good, "t", 1);

  // Slowloris: connections that start a frame and never finish it.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<RawConnection>(broker.port()));
    std::vector<std::byte> header(6);
    PutU32(header.data(), 1000);
    REQUIRE(slow.back()->Send(header));
  }
  // Garbage: a size field below a header's size closes the connection.
  RawConnection garbage(broker.port());
  garbage.Send(std::string("\x01\x00\x00\x00GARBAGE GARBAGE", 20));
  CHECK(garbage.WaitClosed(kTimeout));
  // A frame size over frame_bytes_max closes the connection without reading (or allocating) it.
  RawConnection huge(broker.port());
  std::vector<std::byte> size(4);
  PutU32(size.data(), 0xFFFFFFF0u);
  huge.Send(size);
  CHECK(huge.WaitClosed(kTimeout));
  // Random bytes.
  RawConnection noise(broker.port());
  std::string random_bytes;
  for (int i = 0; i < 4096; ++i) random_bytes.push_back(static_cast<char>((i * 7919) ^ (i >> 3)));
  noise.Send(random_bytes);

  // Meanwhile the good client produces and consumes.
  for (int i = 0; i < 20; ++i) {
    REQUIRE(Produce(good, "t", 0, MakeBatch(5, "g"))->code == fb::ErrorCode::NONE);
  }
  CHECK(Fetch(good, "t", 0, 0).values.size() == 100);
  // The slow senders are closed once frame_read_timeout_ms passes.
  for (auto& s : slow) CHECK(s->WaitClosed(kTimeout));
  CHECK(Fetch(good, "t", 0, 95).values.size() == 5);
  const std::string metrics = FetchMetrics(broker.metrics_port());
  CHECK(MetricValue(metrics, "strata_connections_timed_out_total").value_or(0) >= 50);
  CHECK(MetricValue(metrics, "strata_bad_frames_total").value_or(0) >= 2);
  CHECK(broker.Terminate() == 0);
}

// Clients that hold large frames part-read fill at most the large-frame share of the request
// memory budget (limits::request_small_reserve_bytes stays for small frames), so a good client's
// ordinary requests are answered at once instead of waiting for frame_read_timeout_ms.
TEST_CASE("large frames held part-read cannot stall other clients' requests",
          "[broker][protocol]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  RawConnection good(broker.port());
  CreateTopic(good, "t", 1);

  // Together the hogs offer more than the whole budget: 18 frames of 64 MiB, 60 MiB of each sent.
  constexpr int kHogs = 18;
  constexpr size_t kFrameBytes = limits::frame_bytes_max;
  constexpr size_t kSendBytes = 60u << 20;
  static_assert(kHogs * kSendBytes > limits::broker_request_bytes_max);
  std::vector<int> hogs;
  const std::vector<char> junk(1 << 20, 'x');
  for (int i = 0; i < kHogs; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(broker.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    std::vector<std::byte> header(4);
    PutU32(header.data(), static_cast<uint32_t>(kFrameBytes - 4));
    REQUIRE(::send(fd, header.data(), header.size(), 0) == 4);
    REQUIRE(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
    hogs.push_back(fd);
  }
  // Push bytes until the broker stops taking them (its budget is spent) or all are sent.
  std::vector<size_t> sent(kHogs, 0);
  auto last_progress = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last_progress < 1s) {
    bool progress = false;
    for (int i = 0; i < kHogs; ++i) {
      if (sent[i] >= kSendBytes) continue;
      const ssize_t n = ::send(hogs[i], junk.data(), std::min(junk.size(), kSendBytes - sent[i]),
                               MSG_NOSIGNAL);
      if (n > 0) {
        sent[i] += static_cast<size_t>(n);
        progress = true;
      }
    }
    if (progress) last_progress = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(1ms);
  }
  const double held = MetricValue(FetchMetrics(broker.metrics_port()),
                                  "strata_request_memory_bytes").value_or(0);
  INFO("request memory held: " << held);
  CHECK(held >= static_cast<double>(limits::broker_request_bytes_max -
                                    limits::request_small_reserve_bytes - (64u << 20)));
  CHECK(held <= static_cast<double>(limits::broker_request_bytes_max -
                                    limits::request_small_reserve_bytes));

  // An ordinary produce of half a megabyte (a "small" frame) still gets its memory at once.
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(Produce(good, "t", 0, MakeBatch(2000, std::string(250, 'g')))->code ==
          fb::ErrorCode::NONE);
  CHECK(Fetch(good, "t", 0, 0).values.size() == 2000);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  for (int fd : hogs) ::close(fd);
  CHECK(broker.Terminate() == 0);
}

TEST_CASE("metrics, SIGTERM and kill -9 restarts keep every acknowledged write",
          "[broker][protocol]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  int64_t acked = 0;
  {
    RawConnection c(broker.port());
    CreateTopic(c, "durable", 1);
    for (int i = 0; i < 50; ++i) {
      auto r = Produce(c, "durable", 0, MakeBatch(10, "d"));
      REQUIRE(r->code == fb::ErrorCode::NONE);
      acked = r->base_offset + 10;
    }
    const std::string metrics = FetchMetrics(broker.metrics_port());
    CHECK(MetricValue(metrics, "strata_requests_total{api=\"Produce\"}") == 50);
    CHECK(MetricValue(metrics,
                      "strata_partition_log_end_offset{topic=\"durable\",partition=\"0\"}") ==
          500);
    CHECK(MetricValue(metrics, "strata_produce_latency_seconds_count") == 50);
    CHECK(MetricValue(metrics, "strata_fsync_latency_seconds_count").value_or(0) >= 1);
    CHECK(MetricValue(metrics, "strata_request_memory_bytes") == 0);  // every frame released
    CHECK(MetricValue(metrics, "strata_segment_files_open").value_or(0) >= 1);
    CHECK(MetricValue(metrics, "strata_segment_files_open_max") == limits::segment_files_open_max);
    CHECK(MetricValue(metrics, "strata_segment_mappings_open").has_value());  // no fetch yet
    CHECK(MetricValue(metrics, "strata_segment_mappings_open_max") == limits::mmaps_open_max);
    CHECK(metrics.find("strata_partition_segments{topic=\"durable\",partition=\"0\"} 1") !=
          std::string::npos);
  }
  CHECK(broker.Terminate() == 0);
  CHECK(std::filesystem::exists(dir.path() + "/data/durable-0/clean-shutdown"));
  CHECK(broker.ReadLog().find("stopped cleanly") != std::string::npos);

  broker.Restart();
  {
    RawConnection c(broker.port());
    CHECK(LatestOffset(c, "durable", 0) == acked);
    for (int i = 0; i < 30; ++i) {
      auto r = Produce(c, "durable", 0, MakeBatch(10, "e"));
      REQUIRE(r->code == fb::ErrorCode::NONE);
      acked = r->base_offset + 10;
    }
  }
  broker.Kill();  // kill -9: no flush, no marker
  CHECK(!std::filesystem::exists(dir.path() + "/data/durable-0/clean-shutdown"));
  broker.Restart();
  RawConnection c(broker.port());
  CHECK(LatestOffset(c, "durable", 0) >= acked);
  CHECK(Fetch(c, "durable", 0, acked - 10).values.size() >= 10);
  CHECK(broker.Terminate() == 0);
}

}  // namespace
}  // namespace strata::test
