#include "client/fake_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/endian.h"
#include "record/batch.h"
#include "protocol/api.h"
#include "protocol/api_versions_generated.h"
#include "protocol/fetch_body.h"
#include "protocol/frame.h"
#include "protocol/init_producer_id_generated.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/message.h"
#include "protocol/metadata_generated.h"
#include "protocol/produce_generated.h"

namespace strata::client {

namespace fb = protocol::fb;
using protocol::ApiKey;

namespace {

bool ReadFull(int fd, std::byte* p, size_t n) {
  while (n > 0) {
    ssize_t got = ::read(fd, p, n);
    if (got <= 0) return false;
    p += got;
    n -= size_t(got);
  }
  return true;
}

bool WriteFull(int fd, const std::byte* p, size_t n) {
  while (n > 0) {
    ssize_t put = ::send(fd, p, n, MSG_NOSIGNAL);
    if (put <= 0) return false;
    p += put;
    n -= size_t(put);
  }
  return true;
}

std::vector<std::byte> Bytes(const flatbuffers::FlatBufferBuilder& fbb) {
  auto span = protocol::BuilderBytes(fbb);
  return {span.begin(), span.end()};
}

}  // namespace

struct FakeClusterState {
  struct Partition {
    std::vector<std::vector<std::byte>> batches;  // stamped, in offset order
    std::vector<int64_t> base_offsets;
    int64_t end = 0;
    std::map<std::tuple<int64_t, int32_t>, int64_t> seen;  // (producer id, seq) -> base offset
    int32_t leader = 0;
    int32_t leader_epoch = 0;
    int32_t fail_over_to = -2;  // >= -1: FailOverAfterNextAppend is armed
  };
  struct Node {
    uint16_t port = 0;
    bool alive = true;
    // FreezeMetadata: (leader, epoch) per partition as Metadata answers them.
    std::optional<std::map<std::pair<std::string, int32_t>, std::pair<int32_t, int32_t>>> frozen;
  };
  absl::Mutex mu;
  std::map<std::string, std::vector<Partition>> topics ABSL_GUARDED_BY(mu);
  std::map<int32_t, Node> nodes ABSL_GUARDED_BY(mu);
  int64_t next_producer_id ABSL_GUARDED_BY(mu) = 1000;
  std::atomic<int64_t> duplicates{0};
};

FakeBroker::FakeBroker(std::map<std::string, int32_t> topics)
    : state_(std::make_shared<FakeClusterState>()), node_id_(0) {
  {
    absl::MutexLock lock(&state_->mu);
    for (const auto& [name, count] : topics) state_->topics[name].resize(size_t(count));
  }
  Start();
}

FakeBroker::FakeBroker(std::shared_ptr<FakeClusterState> state, int32_t node_id)
    : state_(std::move(state)), node_id_(node_id) {
  Start();
}

int64_t FakeBroker::duplicates() const { return state_->duplicates; }

void FakeBroker::Start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    std::abort();
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  {
    absl::MutexLock lock(&state_->mu);
    state_->nodes[node_id_].port = port_;
  }
  acceptor_ = std::thread([this] { Accept(); });
}

void FakeBroker::DropConnections() {
  absl::MutexLock lock(&mu_);
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

void FakeBroker::Stop() {
  {
    absl::MutexLock lock(&state_->mu);
    state_->nodes[node_id_].alive = false;
  }
  if (!stopping_.exchange(true)) {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
  }
  DropConnections();
}

void FakeBroker::FreezeMetadata() {
  absl::MutexLock lock(&state_->mu);
  auto& frozen = state_->nodes[node_id_].frozen.emplace();
  for (const auto& [name, partitions] : state_->topics) {
    for (size_t i = 0; i < partitions.size(); ++i) {
      frozen[{name, int32_t(i)}] = {partitions[i].leader, partitions[i].leader_epoch};
    }
  }
}

FakeBroker::~FakeBroker() {
  if (!stopping_.exchange(true)) {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
  }
  std::vector<std::thread> servers;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    servers.swap(servers_);
  }
  for (std::thread& t : servers) t.join();
}

void FakeBroker::Accept() {
  while (!stopping_) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    absl::MutexLock lock(&mu_);
    fds_.push_back(fd);
    servers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void FakeBroker::Serve(int fd) {
  for (;;) {
    std::vector<std::byte> frame(4);
    if (!ReadFull(fd, frame.data(), 4)) break;
    frame.resize(4 + GetU32(frame.data()));
    if (!ReadFull(fd, frame.data() + 4, frame.size() - 4)) break;
    auto parsed = protocol::ParseFrame(frame);
    if (!parsed.ok() || !parsed->has_value()) break;
    const protocol::Frame& f = **parsed;
    bool respond = true;
    bool drop = false;
    std::vector<std::byte> body = Handle(f.api_key, f.body, &respond, &drop);
    if (drop) break;
    if (!respond) continue;
    auto out = protocol::EncodeFrame(f.correlation_id, f.api_key, f.api_version, body);
    if (!out.ok() || !WriteFull(fd, out->data(), out->size())) break;
  }
  // Forgotten before it is closed, so DropConnections never shuts down a reused descriptor.
  absl::MutexLock lock(&mu_);
  fds_.erase(std::find(fds_.begin(), fds_.end(), fd));
  ::close(fd);
}

void FakeBroker::TEST_CorruptLastBatch(const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&state_->mu);
  auto& batch = state_->topics.at(topic).at(size_t(partition)).batches.back();
  batch.back() ^= std::byte{1};
}

std::vector<std::string> FakeBroker::Values(const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&state_->mu);
  std::vector<std::string> values;
  for (const auto& batch : state_->topics.at(topic).at(size_t(partition)).batches) {
    auto reader = record::BatchReader::Open(batch);
    if (!reader.ok()) std::abort();
    // Hold the StatusOr: a range-for over `*reader->ReadAll()` would iterate a destroyed temporary.
    auto records = reader->ReadAll();
    if (!records.ok()) std::abort();
    for (const record::Record& r : *records) values.emplace_back(r.value.value_or(""));
  }
  return values;
}

std::vector<std::byte> FakeBroker::Handle(uint16_t api_key, std::span<const std::byte> body,
                                          bool* respond, bool* drop) {
  flatbuffers::FlatBufferBuilder fbb;
  absl::MutexLock lock(&state_->mu);
  auto& topics_ = state_->topics;
  // NOT_LEADER (with the leader as a hint) or LEADER_NOT_AVAILABLE when this node does not lead.
  auto not_leader = [&](const FakeClusterState::Partition& p) {
    return p.leader < 0 ? fb::ErrorCode::LEADER_NOT_AVAILABLE : fb::ErrorCode::NOT_LEADER;
  };
  switch (ApiKey(api_key)) {
    case ApiKey::kApiVersions: {
      std::vector<fb::ApiVersionRange> ranges;
      for (const auto& api : protocol::SupportedApis()) {
        ranges.emplace_back(uint16_t(api.key), api.min_version, api.max_version);
      }
      fbb.Finish(fb::CreateApiVersionsResponseDirect(fbb, fb::ErrorCode::NONE, nullptr, &ranges));
      return Bytes(fbb);
    }
    case ApiKey::kMetadata: {
      auto req = protocol::VerifyBody<fb::MetadataRequest>(body, "MetadataRequest");
      std::vector<flatbuffers::Offset<fb::TopicMetadata>> topics;
      for (const auto* name : *(*req)->topics()) {
        auto it = topics_.find(name->str());
        if (it == topics_.end()) {
          topics.push_back(fb::CreateTopicMetadataDirect(
              fbb, name->c_str(), fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "no such topic"));
          continue;
        }
        std::vector<flatbuffers::Offset<fb::PartitionMetadata>> parts;
        const auto& frozen = state_->nodes[node_id_].frozen;
        for (size_t i = 0; i < it->second.size(); ++i) {
          auto [leader, epoch] = std::make_pair(it->second[i].leader, it->second[i].leader_epoch);
          if (frozen) std::tie(leader, epoch) = frozen->at({it->first, int32_t(i)});
          parts.push_back(fb::CreatePartitionMetadata(
              fbb, int32_t(i),
              leader < 0 ? fb::ErrorCode::LEADER_NOT_AVAILABLE : fb::ErrorCode::NONE, 0, leader,
              epoch, 0, it->second[i].end));
        }
        topics.push_back(fb::CreateTopicMetadataDirect(fbb, name->c_str(), fb::ErrorCode::NONE,
                                                       nullptr, &parts));
      }
      std::vector<flatbuffers::Offset<fb::BrokerInfo>> brokers;
      for (const auto& [id, node] : state_->nodes) {
        if (node.alive) brokers.push_back(fb::CreateBrokerInfoDirect(fbb, id, "127.0.0.1", node.port));
      }
      fbb.Finish(fb::CreateMetadataResponseDirect(fbb, fb::ErrorCode::NONE, nullptr, &brokers, 0,
                                                  &topics));
      return Bytes(fbb);
    }
    case ApiKey::kInitProducerId:
      fbb.Finish(fb::CreateInitProducerIdResponse(fbb, fb::ErrorCode::NONE, 0,
                                                  state_->next_producer_id++, 0));
      return Bytes(fbb);
    case ApiKey::kProduce: {
      ++produce_requests_;
      auto req = protocol::VerifyBody<fb::ProduceRequest>(body, "ProduceRequest");
      *respond = (*req)->acks() != 0;
      std::vector<flatbuffers::Offset<fb::TopicProduceResponse>> topics;
      for (const auto* t : *(*req)->topics()) {
        std::vector<flatbuffers::Offset<fb::PartitionProduceResponse>> parts;
        for (const auto* p : *t->partitions()) {
          auto& partition = topics_.at(t->name()->str()).at(size_t(p->index()));
          if (partition.leader != node_id_) {
            parts.push_back(fb::CreatePartitionProduceResponse(
                fbb, p->index(), not_leader(partition), 0, -1, -1, false, partition.leader,
                partition.leader_epoch));
            continue;
          }
          std::vector<std::byte> batch(reinterpret_cast<const std::byte*>(p->records()->data()),
                                       reinterpret_cast<const std::byte*>(p->records()->data()) +
                                           p->records()->size());
          auto header = record::VerifyBatch(batch);
          if (!header.ok()) {
            parts.push_back(fb::CreatePartitionProduceResponse(
                fbb, p->index(), fb::ErrorCode::CORRUPT_MESSAGE));
            continue;
          }
          const auto key = std::make_tuple(header->producer_id, header->base_sequence);
          if (header->producer_id >= 0 && partition.seen.contains(key)) {
            ++state_->duplicates;
            parts.push_back(fb::CreatePartitionProduceResponse(
                fbb, p->index(), fb::ErrorCode::NONE, 0, partition.seen[key], 0, true));
            continue;
          }
          const int64_t base = partition.end;
          record::StampBatch(batch, base, 1);
          partition.batches.push_back(std::move(batch));
          partition.base_offsets.push_back(base);
          partition.end += header->record_count;
          if (header->producer_id >= 0) partition.seen[key] = base;
          if (partition.fail_over_to >= -1) {
            partition.leader = partition.fail_over_to;
            ++partition.leader_epoch;
            partition.fail_over_to = -2;
            *drop = true;  // the answer is lost with the old leader
          }
          parts.push_back(fb::CreatePartitionProduceResponse(fbb, p->index(), fb::ErrorCode::NONE,
                                                             0, base, 0));
        }
        topics.push_back(fb::CreateTopicProduceResponseDirect(fbb, t->name()->c_str(), &parts));
      }
      fbb.Finish(fb::CreateProduceResponseDirect(fbb, fb::ErrorCode::NONE, nullptr, &topics));
      return Bytes(fbb);
    }
    case ApiKey::kFetch: {
      ++fetch_requests_;
      auto req = protocol::VerifyBody<fb::FetchRequest>(body, "FetchRequest");
      std::vector<std::byte> records;
      std::vector<flatbuffers::Offset<fb::FetchTopicResponse>> topics;
      for (const auto* t : *(*req)->topics()) {
        std::vector<flatbuffers::Offset<fb::FetchPartitionResponse>> parts;
        for (const auto* p : *t->partitions()) {
          auto& partition = topics_.at(t->name()->str()).at(size_t(p->index()));
          if (partition.leader != node_id_) {
            parts.push_back(fb::CreateFetchPartitionResponse(
                fbb, p->index(), not_leader(partition), 0, -1, -1, 0, -1, -1, partition.leader,
                partition.leader_epoch));
            continue;
          }
          const int32_t epoch = p->current_leader_epoch();
          if (epoch >= 0 && epoch != partition.leader_epoch) {
            parts.push_back(fb::CreateFetchPartitionResponse(
                fbb, p->index(),
                epoch < partition.leader_epoch ? fb::ErrorCode::FENCED_LEADER_EPOCH
                                               : fb::ErrorCode::UNKNOWN_LEADER_EPOCH,
                0, -1, -1, 0, -1, -1, partition.leader, partition.leader_epoch));
            continue;
          }
          if (p->fetch_offset() > partition.end) {
            parts.push_back(fb::CreateFetchPartitionResponse(
                fbb, p->index(), fb::ErrorCode::OFFSET_OUT_OF_RANGE, 0, partition.end, 0));
            continue;
          }
          uint32_t bytes = 0;
          for (size_t i = 0; i < partition.batches.size(); ++i) {
            const auto& b = partition.batches[i];
            auto h = record::ParseBatchHeader(b);
            if (h->last_offset() < p->fetch_offset()) continue;
            records.insert(records.end(), b.begin(), b.end());
            bytes += uint32_t(b.size());
          }
          parts.push_back(fb::CreateFetchPartitionResponse(fbb, p->index(), fb::ErrorCode::NONE,
                                                           0, partition.end, 0, bytes));
        }
        topics.push_back(fb::CreateFetchTopicResponseDirect(fbb, t->name()->c_str(), &parts));
      }
      fbb.Finish(fb::CreateFetchResponseDirect(fbb, fb::ErrorCode::NONE, nullptr, &topics));
      std::vector<std::byte> out = protocol::EncodeFetchResponseHead(protocol::BuilderBytes(fbb));
      out.insert(out.end(), records.begin(), records.end());
      return out;
    }
    case ApiKey::kListOffsets: {
      auto req = protocol::VerifyBody<fb::ListOffsetsRequest>(body, "ListOffsetsRequest");
      std::vector<flatbuffers::Offset<fb::ListOffsetsTopicResponse>> topics;
      for (const auto* t : *(*req)->topics()) {
        std::vector<flatbuffers::Offset<fb::ListOffsetsPartitionResponse>> parts;
        for (const auto* p : *t->partitions()) {
          const auto& partition = topics_.at(t->name()->str()).at(size_t(p->index()));
          if (partition.leader != node_id_) {
            parts.push_back(fb::CreateListOffsetsPartitionResponse(fbb, p->index(),
                                                                   not_leader(partition)));
            continue;
          }
          const int64_t offset = p->timestamp() == -2 ? 0 : partition.end;
          parts.push_back(fb::CreateListOffsetsPartitionResponse(fbb, p->index(),
                                                                 fb::ErrorCode::NONE, 0, offset));
        }
        topics.push_back(fb::CreateListOffsetsTopicResponseDirect(fbb, t->name()->c_str(), &parts));
      }
      fbb.Finish(fb::CreateListOffsetsResponseDirect(fbb, fb::ErrorCode::NONE, nullptr, &topics));
      return Bytes(fbb);
    }
    default:
      fbb.Finish(fb::CreateErrorResponseDirect(fbb, fb::ErrorCode::UNSUPPORTED_API, "no"));
      return Bytes(fbb);
  }
}

FakeCluster::FakeCluster(int32_t nodes, std::map<std::string, int32_t> topics)
    : state_(std::make_shared<FakeClusterState>()) {
  {
    absl::MutexLock lock(&state_->mu);
    for (const auto& [name, count] : topics) state_->topics[name].resize(size_t(count));
  }
  for (int32_t i = 0; i < nodes; ++i) nodes_.push_back(std::make_unique<FakeBroker>(state_, i));
}

FakeCluster::~FakeCluster() = default;

std::string FakeCluster::bootstrap() const {
  std::string out;
  for (const auto& n : nodes_) out += (out.empty() ? "" : ",") + n->address();
  return out;
}

void FakeCluster::MoveLeader(const std::string& topic, int32_t partition, int32_t leader) {
  absl::MutexLock lock(&state_->mu);
  auto& p = state_->topics.at(topic).at(size_t(partition));
  p.leader = leader;
  ++p.leader_epoch;
}

std::pair<int32_t, int32_t> FakeCluster::Leader(const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&state_->mu);
  const auto& p = state_->topics.at(topic).at(size_t(partition));
  return {p.leader, p.leader_epoch};
}

void FakeCluster::FailOverAfterNextAppend(const std::string& topic, int32_t partition,
                                          int32_t leader) {
  absl::MutexLock lock(&state_->mu);
  state_->topics.at(topic).at(size_t(partition)).fail_over_to = leader;
}

}  // namespace strata::client
