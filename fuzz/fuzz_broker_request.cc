// libFuzzer target for the broker's request handling: a fuzzed request goes through
// broker::RequestHandler::Handle against a fresh broker state held in memory (a topic "t" with two
// partitions, one batch already in partition 0), so every handler's reading of a verified body and
// every error path runs, with ASan and UBSan watching. The broker promises that no input crashes
// it (broker/request_handler.h); this target holds it to that.
//
// Input: byte 0 the api_key (values past the last API test UNSUPPORTED_API), byte 1 the
// api_version (0, the one served, unless it is 0xff), then the request body.
//
// The files live in a MemoryFileSystem capped at kFileBytesMax per file: a fuzzed CreateTopics
// would otherwise preallocate the default 1 GiB segment per partition. Over the cap a file refuses
// to grow (ResourceExhausted, as a full disk would), which the broker must survive too.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "broker/request_handler.h"
#include "io/memory_file_system.h"
#include "log/batch.h"
#include "protocol/api.h"
#include "protocol/fetch_body.h"
#include "protocol/frame.h"
#include "protocol/message.h"

namespace strata::fuzz {
namespace {

constexpr uint64_t kFileBytesMax = 1 << 20;

// A File whose size may not pass kFileBytesMax.
class CappedFile final : public io::File {
 public:
  explicit CappedFile(std::unique_ptr<io::File> f) : f_(std::move(f)) {}
  const std::string& path() const override { return f_->path(); }
  absl::StatusOr<size_t> ReadAt(uint64_t pos, std::span<std::byte> out) override {
    return f_->ReadAt(pos, out);
  }
  absl::Status WriteAt(uint64_t pos, std::span<const std::byte> bytes) override {
    STRATA_RETURN_IF_ERROR(Check(pos + bytes.size()));
    return f_->WriteAt(pos, bytes);
  }
  absl::Status Sync() override { return f_->Sync(); }
  absl::StatusOr<uint64_t> Size() override { return f_->Size(); }
  absl::Status Truncate(uint64_t size) override {
    STRATA_RETURN_IF_ERROR(Check(size));
    return f_->Truncate(size);
  }
  absl::Status Allocate(uint64_t size) override {
    STRATA_RETURN_IF_ERROR(Check(size));
    return f_->Allocate(size);
  }
  absl::StatusOr<std::shared_ptr<io::Mapping>> Map(uint64_t size, bool writable) override {
    return f_->Map(size, writable);
  }

 private:
  absl::Status Check(uint64_t size) {
    if (size <= kFileBytesMax) return absl::OkStatus();
    return absl::ResourceExhaustedError(path() + ": the fuzz file system holds at most 1 MiB");
  }
  std::unique_ptr<io::File> f_;
};

class CappedFileSystem final : public io::MemoryFileSystem {
 public:
  absl::StatusOr<std::unique_ptr<io::File>> Open(const std::string& path,
                                                 io::OpenMode mode) override {
    STRATA_ASSIGN_OR_RETURN(auto f, MemoryFileSystem::Open(path, mode));
    return std::unique_ptr<io::File>(new CappedFile(std::move(f)));
  }
};

std::vector<std::byte> SeedBatch() {
  log::BatchBuilder builder;
  builder.Add({.timestamp_ms = 1000, .key = "k", .value = "v"});
  return builder.Build().value();
}

// Runs the request to completion. Fetch long-polls and acks=all waits for an fsync that nothing
// here would make; when the request parks, the broker is told to stop (as on shutdown) and every
// log is flushed, which ends both waits.
broker::Response Run(broker::RequestHandler& handler, const protocol::Frame& frame,
                     std::span<std::byte> body, partition::TopicManager& topics,
                     broker::FetchWaiters& waiters, std::atomic<bool>& stopping) {
  asio::io_context io;
  std::optional<broker::Response> response;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { response = co_await handler.Handle(frame, body); },
      asio::detached);
  io.poll();
  if (!response.has_value()) {
    stopping.store(true);
    waiters.NotifyAll();
    for (const std::string& name : topics.List()) {
      auto info = topics.Describe(name);
      if (!info.ok()) continue;
      for (const auto& p : info->partitions) {
        auto part = topics.GetPartition(name, p.index);
        if (part.ok()) (void)(*part)->log().Flush();
      }
    }
    io.run();
  }
  if (!response.has_value()) std::abort();  // the handler never finished
  return std::move(*response);
}

}  // namespace
}  // namespace strata::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  if (size < 2) return 0;
  fuzz::CappedFileSystem fs;
  auto topics = partition::TopicManager::Open(&fs, "/data").value();
  partition::TopicConfig config;
  config.partitions = 2;
  config.log.segment_bytes = 64 << 10;
  if (!topics->Create("t", config).ok()) std::abort();
  {
    auto batch = fuzz::SeedBatch();
    if (!topics->GetPartition("t", 0).value()->Append(batch, 0).ok()) std::abort();
  }
  auto producer_ids = broker::ProducerIdAllocator::Open(&fs, "/data").value();
  broker::FetchWaiters waiters;
  broker::BrokerMetrics metrics;
  std::atomic<bool> stopping{false};
  broker::Services services;
  services.topics = topics.get();
  services.producer_ids = producer_ids.get();
  services.fetch_waiters = &waiters;
  services.metrics = &metrics;
  services.advertised = {"127.0.0.1", 9292};
  services.stopping = &stopping;
  broker::RequestHandler handler(services);

  // The body in its own allocation, its exact size, writable (Produce stamps batches in place).
  std::vector<std::byte> body(reinterpret_cast<const std::byte*>(data) + 2,
                              reinterpret_cast<const std::byte*>(data) + size);
  protocol::Frame frame;
  frame.correlation_id = 7;
  frame.api_key = data[0];
  frame.api_version = data[1] == 0xff ? 1 : 0;
  frame.body = body;
  frame.frame_bytes = protocol::kFrameHeaderBytes + body.size();
  broker::Response response = fuzz::Run(handler, frame, body, *topics, waiters, stopping);

  // Every response must be one well-formed frame answering this request: the head, then for a
  // Fetch the records, whose body the client's decoder accepts.
  if (response.send) {
    std::vector<std::byte> wire = response.head;
    for (const auto& r : response.records) wire.insert(wire.end(), r.bytes.begin(), r.bytes.end());
    auto parsed = protocol::ParseFrame(wire);
    if (!parsed.ok() || !parsed->has_value()) std::abort();
    const protocol::Frame& f = **parsed;
    if (f.frame_bytes != wire.size() || f.correlation_id != frame.correlation_id ||
        f.api_key != frame.api_key || f.api_version != frame.api_version) {
      std::abort();
    }
    const bool ok = frame.api_key == uint16_t(protocol::ApiKey::kFetch)
                        ? protocol::ParseFetchResponseBody(f.body).ok()
                        : protocol::VerifyBody<protocol::fb::ErrorResponse>(f.body, "response").ok();
    if (!ok) std::abort();
  }
  (void)topics->Close();
  return 0;
}
