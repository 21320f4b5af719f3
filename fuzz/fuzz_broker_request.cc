// libFuzzer target for the broker's request handling: a fuzzed request goes through
// broker::RequestHandler::Handle against a fresh broker state held in memory (a topic "t" with two
// partitions, one batch already in partition 0), so every handler's reading of a verified body and
// every error path runs, with ASan and UBSan watching. The broker promises that no input crashes
// it (broker/request_handler.h); this target holds it to that.
//
// The consumer group APIs run against a GroupCoordinator over the same TopicManager, with clocks
// the target controls and no ticker thread. A group request (api_key 10 to 19) starts from two
// groups, so that its handler gets past "no such group": "g", Empty, with offsets committed for
// t-0 and t-1, and "s", Stable at generation 1 with one static member (group_instance_id "i1",
// protocol type "consumer", assignor "range"). Member ids are random, so a fuzzed request can
// reach a member only through its group_instance_id.
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
#include "common/logging.h"
#include "consumer_offsets/coordinator.h"
#include "io/memory_file_system.h"
#include "record/batch.h"
#include "protocol/api.h"
#include "protocol/fetch_body.h"
#include "protocol/frame.h"
#include "protocol/groups_generated.h"
#include "protocol/message.h"
#include "protocol/offsets_generated.h"

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
  record::BatchBuilder builder;
  builder.Add({.timestamp_ms = 1000, .key = "k", .value = "v"});
  return builder.Build().value();
}

// The coordinator's clocks: fixed unless the target moves them, so a run does not depend on when
// it happens.
struct Clocks {
  int64_t wall_ms = 1'700'000'000'000;
  int64_t mono_ms = 1'000'000;
};

// Puts groups "g" and "s" (described above) into the coordinator. Aborts if it cannot: that is
// the harness failing, not the input.
void SeedGroups(consumer_offsets::GroupCoordinator& groups,
                const consumer_offsets::CoordinatorConfig& config, Clocks& clocks) {
  using namespace consumer_offsets;
  std::optional<CommitOutcome> committed;
  groups.CommitOffsets("g", "", std::nullopt, -1, {{"t", 0, 1, "m"}, {"t", 1, 0, ""}},
                       [&](CommitOutcome o) { committed = std::move(o); });
  // The offsets topic flushes on every append and there is no flusher: durable at once.
  if (!committed.has_value() || !committed->group.ok()) std::abort();
  for (const auto& e : committed->entries) {
    if (!e.ok()) std::abort();
  }

  JoinRequest join;
  join.group_instance_id = "i1";
  join.client_id = "cli";
  join.session_timeout_ms = 10'000;
  join.rebalance_timeout_ms = 30'000;
  join.protocol_type = "consumer";
  join.protocols = {{"range", "subscription"}};
  std::optional<JoinResult> joined;
  groups.JoinGroup("s", std::move(join), [&](JoinResult r) { joined = std::move(r); });
  // The first member of an Empty group waits out the initial rebalance delay.
  clocks.mono_ms += config.group.initial_rebalance_delay_ms;
  groups.TEST_Tick();
  if (!joined.has_value() || !joined->result.ok() || joined->generation != 1) std::abort();

  SyncRequest sync;
  sync.member_id = joined->member_id;
  sync.group_instance_id = "i1";
  sync.generation = joined->generation;
  sync.assignments = {{joined->member_id, "assignment"}};
  std::optional<SyncResult> synced;
  groups.SyncGroup("s", std::move(sync), [&](SyncResult r) { synced = std::move(r); });
  if (!synced.has_value() || !synced->result.ok()) std::abort();
}

// Runs the request to completion. A JoinGroup or SyncGroup may wait for other members: time is
// moved past every session and rebalance timeout (int32 milliseconds) and the coordinator ticks,
// as its ticker would. Fetch long-polls and acks=all waits for an fsync that nothing here would
// make; when the request is still parked, the broker is told to stop (as on shutdown): every log
// is flushed, fetch waiters are woken and the coordinator fails what still waits. That ends every
// wait; a request that still has no response is a coroutine parked forever, and aborts.
broker::Response Run(asio::io_context& io, broker::RequestHandler& handler,
                     const protocol::Frame& frame, std::span<std::byte> body,
                     partition::TopicManager& topics, broker::FetchWaiters& waiters,
                     consumer_offsets::GroupCoordinator& groups, Clocks& clocks,
                     std::atomic<bool>& stopping) {
  std::optional<broker::Response> response;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { response = co_await handler.Handle(frame, body); },
      asio::detached);
  io.poll();
  if (!response.has_value()) {
    clocks.mono_ms += int64_t{1} << 32;
    clocks.wall_ms += int64_t{1} << 32;  // past offsets retention too: expiry runs
    groups.TEST_Tick();
    io.poll();
  }
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
    groups.Shutdown();
    io.run();
  }
  if (!response.has_value()) std::abort();  // the handler never finished
  return std::move(*response);
}

template <typename Table>
const Table* Verified(std::span<const std::byte> body) {
  auto t = protocol::VerifyBody<Table>(body, "fuzz");
  if (!t.ok()) std::abort();
  return *t;
}

template <typename T>
size_t Count(const flatbuffers::Vector<T>* v) {
  return v == nullptr ? 0 : v->size();
}

// A response answers each of a request's `want` entries, or is an error without entries (an
// ErrorResponse: the request failed verification, or its answer would not fit in a frame).
void CheckAnswers(protocol::fb::ErrorCode code, size_t got, size_t want) {
  if (got != want && !(got == 0 && code != protocol::fb::ErrorCode::NONE)) std::abort();
}

// A group API's response verifies as its own table (an ErrorResponse does too: its fields are
// every response's first two), and when the request verified it answers every entry of it.
void CheckGroupResponse(uint16_t api_key, std::span<const std::byte> request,
                        std::span<const std::byte> response) {
  namespace fb = protocol::fb;
  using protocol::ApiKey;
  switch (static_cast<ApiKey>(api_key)) {
    case ApiKey::kFindCoordinator: Verified<fb::FindCoordinatorResponse>(response); break;
    case ApiKey::kJoinGroup: {
      const auto* r = Verified<fb::JoinGroupResponse>(response);
      if (r->error_code() != fb::ErrorCode::NONE) break;
      // A member of a generation, which knows its leader; only the leader gets the members.
      if (r->generation_id() < 1 || Count(r->member_id()) == 0 || Count(r->leader()) == 0) {
        std::abort();
      }
      const bool leader = r->member_id()->string_view() == r->leader()->string_view();
      if (leader != (Count(r->members()) > 0)) std::abort();
      break;
    }
    case ApiKey::kSyncGroup: Verified<fb::SyncGroupResponse>(response); break;
    case ApiKey::kHeartbeat: Verified<fb::HeartbeatResponse>(response); break;
    case ApiKey::kLeaveGroup: {
      const auto* r = Verified<fb::LeaveGroupResponse>(response);
      auto req = protocol::VerifyBody<fb::LeaveGroupRequest>(request, "fuzz");
      if (req.ok()) CheckAnswers(r->error_code(), Count(r->members()), Count((*req)->members()));
      break;
    }
    case ApiKey::kOffsetCommit: {
      const auto* r = Verified<fb::OffsetCommitResponse>(response);
      auto req = protocol::VerifyBody<fb::OffsetCommitRequest>(request, "fuzz");
      if (!req.ok()) break;
      CheckAnswers(r->error_code(), Count(r->topics()), Count((*req)->topics()));
      for (size_t i = 0; i < Count(r->topics()); ++i) {
        if (Count(r->topics()->Get(i)->partitions()) !=
            Count((*req)->topics()->Get(i)->partitions())) {
          std::abort();
        }
      }
      break;
    }
    case ApiKey::kOffsetFetch: Verified<fb::OffsetFetchResponse>(response); break;
    case ApiKey::kListGroups: Verified<fb::ListGroupsResponse>(response); break;
    case ApiKey::kDescribeGroups: {
      const auto* r = Verified<fb::DescribeGroupsResponse>(response);
      auto req = protocol::VerifyBody<fb::DescribeGroupsRequest>(request, "fuzz");
      if (req.ok()) CheckAnswers(r->error_code(), Count(r->groups()), Count((*req)->groups()));
      break;
    }
    case ApiKey::kDeleteGroups: {
      const auto* r = Verified<fb::DeleteGroupsResponse>(response);
      auto req = protocol::VerifyBody<fb::DeleteGroupsRequest>(request, "fuzz");
      if (req.ok()) CheckAnswers(r->error_code(), Count(r->results()), Count((*req)->groups()));
      break;
    }
    case ApiKey::kDescribeCluster: Verified<fb::DescribeClusterResponse>(response); break;
    default: break;
  }
}

bool IsGroupApi(uint16_t api_key) {
  return api_key >= uint16_t(protocol::ApiKey::kFindCoordinator) &&
         api_key <= uint16_t(protocol::ApiKey::kDeleteGroups);
}

}  // namespace
}  // namespace strata::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The coordinator logs every rebalance and expiry at INFO: thousands of lines a second here.
  // Warnings and errors still show.
  strata::SetLogLevel(strata::LogLevel::kWarn);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  if (size < 2) return 0;
  // Outlives the coordinator and the topics, so that nothing they complete late posts to a
  // destroyed io_context.
  asio::io_context io;
  fuzz::CappedFileSystem fs;
  auto topics = partition::TopicManager::Open(&fs, "/data").value();
  partition::TopicConfig config;
  config.partitions = 2;
  config.log.segment_bytes = 64 << 10;
  if (!topics->Create("t", config).ok()) std::abort();
  {
    auto batch = fuzz::SeedBatch();
    if (!topics->GetPartition("t", 0).value()->Append(batch).ok()) std::abort();
  }
  auto producer_ids = broker::ProducerIdAllocator::Open(&fs, "/data").value();
  // Small, as topic "t" is: 2 partitions of 64 KiB segments (preallocating 1 MiB ones made every
  // group input several times slower).
  consumer_offsets::CoordinatorConfig group_config;
  group_config.offsets_topic.partitions = 2;
  group_config.offsets_topic.segment_bytes = 64 << 10;
  fuzz::Clocks clocks;
  consumer_offsets::CoordinatorOptions group_options{.start_ticker = false};
  group_options.wall_clock = [&clocks] { return clocks.wall_ms; };
  group_options.monotonic_clock = [&clocks] { return clocks.mono_ms; };
  auto groups =
      consumer_offsets::GroupCoordinator::Open(topics.get(), group_config, group_options).value();
  if (fuzz::IsGroupApi(data[0])) fuzz::SeedGroups(*groups, group_config, clocks);
  broker::FetchWaiters waiters;
  broker::BrokerMetrics metrics;
  std::atomic<bool> stopping{false};
  broker::Services services;
  services.topics = topics.get();
  services.producer_ids = producer_ids.get();
  services.fetch_waiters = &waiters;
  services.metrics = &metrics;
  services.groups = groups.get();
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
  broker::Response response =
      fuzz::Run(io, handler, frame, body, *topics, waiters, *groups, clocks, stopping);

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
    fuzz::CheckGroupResponse(frame.api_key, body, f.body);
  }
  groups.reset();  // fails anything still waiting (nothing should be)
  (void)topics->Close();
  return 0;
}
