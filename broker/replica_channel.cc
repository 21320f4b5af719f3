#include "broker/replica_channel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/endian.h"
#include "common/limits.h"
#include "protocol/api.h"
#include "protocol/fetch_body.h"
#include "protocol/frame.h"

namespace strata::broker {
namespace {

namespace fb = protocol::fb;
using replication::ReplicaFetchError;

ReplicaFetchError FromCode(fb::ErrorCode code) {
  switch (code) {
    case fb::ErrorCode::NONE: return ReplicaFetchError::kNone;
    case fb::ErrorCode::NOT_LEADER:
    case fb::ErrorCode::LEADER_NOT_AVAILABLE:
    case fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
      return ReplicaFetchError::kNotLeader;
    case fb::ErrorCode::FENCED_LEADER_EPOCH: return ReplicaFetchError::kFencedEpoch;
    case fb::ErrorCode::UNKNOWN_LEADER_EPOCH: return ReplicaFetchError::kUnknownEpoch;
    case fb::ErrorCode::OFFSET_OUT_OF_RANGE: return ReplicaFetchError::kOffsetOutOfRange;
    default: return ReplicaFetchError::kOther;
  }
}

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status WaitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("timed out");
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) return absl::UnavailableError(strerror(errno));
  }
}

}  // namespace

TcpReplicaChannel::TcpReplicaChannel(std::string host, uint16_t port, std::string bind_host,
                                     std::chrono::milliseconds connect_timeout)
    : host_(std::move(host)),
      port_(port),
      bind_host_(std::move(bind_host)),
      connect_timeout_(connect_timeout) {}

TcpReplicaChannel::~TcpReplicaChannel() { Close(); }

void TcpReplicaChannel::Close() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TcpReplicaChannel::Interrupt() {
  absl::MutexLock lock(&mu_);
  interrupted_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

absl::Status TcpReplicaChannel::Connect() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(port_);
  if (int rc = getaddrinfo(host_.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolving ", host_, ": ", gai_strerror(rc)));
  }
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
  }
  auto fail = [&](const std::string& what) {
    ::close(fd);
    freeaddrinfo(found);
    return absl::UnavailableError(
        absl::StrCat("connecting to broker at ", host_, ":", port_, ": ", what));
  };
  if (!bind_host_.empty() && bind_host_ != "0.0.0.0" && bind_host_ != "::" &&
      found->ai_family == AF_INET) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, bind_host_.c_str(), &local.sin_addr) == 1 &&
        ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      return fail(absl::StrCat("binding to ", bind_host_, ": ", strerror(errno)));
    }
  }
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) {
    return fail(strerror(errno));
  }
  if (absl::Status st = WaitFor(fd, POLLOUT, std::chrono::steady_clock::now() + connect_timeout_);
      !st.ok()) {
    return fail(std::string(st.message()));
  }
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail(strerror(err));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  freeaddrinfo(found);
  absl::MutexLock lock(&mu_);
  if (interrupted_) {
    ::close(fd);
    return absl::CancelledError("interrupted");
  }
  fd_ = fd;
  return absl::OkStatus();
}

absl::StatusOr<replication::ReplicaFetchResponse> TcpReplicaChannel::Fetch(
    const replication::ReplicaFetchRequest& request) {
  int fd = -1;
  {
    absl::MutexLock lock(&mu_);
    if (interrupted_) return absl::CancelledError("interrupted");
    fd = fd_;
  }
  if (fd < 0) {
    STRATA_RETURN_IF_ERROR(Connect());
    absl::MutexLock lock(&mu_);
    fd = fd_;
  }
  // Encode: topics in the order their first partition appears.
  flatbuffers::FlatBufferBuilder b(1024);
  std::vector<std::string> names;
  std::vector<std::vector<flatbuffers::Offset<fb::FetchPartition>>> parts;
  for (const auto& p : request.partitions) {
    size_t t = std::find(names.begin(), names.end(), p.topic) - names.begin();
    if (t == names.size()) {
      names.push_back(p.topic);
      parts.emplace_back();
    }
    parts[t].push_back(fb::CreateFetchPartition(b, p.index, p.fetch_offset,
                                                request.partition_max_bytes,
                                                p.current_leader_epoch, p.last_fetched_epoch));
  }
  std::vector<flatbuffers::Offset<fb::FetchTopic>> topics;
  for (size_t t = 0; t < names.size(); ++t) {
    topics.push_back(fb::CreateFetchTopicDirect(b, names[t].c_str(), &parts[t]));
  }
  b.Finish(fb::CreateFetchRequestDirect(b, request.max_wait_ms, 1, request.max_bytes, &topics,
                                        request.replica_id));
  const uint32_t correlation_id = next_correlation_id_++;
  auto frame = protocol::EncodeFrame(correlation_id, static_cast<uint16_t>(protocol::ApiKey::kFetch),
                                     0, {reinterpret_cast<const std::byte*>(b.GetBufferPointer()),
                                         b.GetSize()});
  if (!frame.ok()) return frame.status();

  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(request.max_wait_ms) + connect_timeout_ * 2;
  auto broken = [&](absl::string_view what) {
    Close();
    return absl::UnavailableError(absl::StrCat("fetching from ", host_, ":", port_, ": ", what));
  };
  size_t sent = 0;
  while (sent < frame->size()) {
    ssize_t n = ::send(fd, frame->data() + sent, frame->size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd, POLLOUT, deadline).ok()) return broken("send timed out");
      continue;
    }
    return broken(n == 0 ? "closed" : strerror(errno));
  }
  // The frame's size first, then the whole frame into one buffer of exactly that size, which
  // the answer keeps (the records are appended from it, not copied out).
  replication::ReplicaFetchResponse out;
  std::vector<std::byte>& in = out.buffer;
  in.resize(4);
  size_t have = 0;
  auto read_into = [&](size_t want) -> absl::Status {
    while (have < want) {
      if (absl::Status st = WaitFor(fd, POLLIN, deadline); !st.ok()) return st;
      ssize_t n = ::recv(fd, in.data() + have, want - have, 0);
      if (n > 0) {
        have += n;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      return absl::UnavailableError(n == 0 ? "the leader closed the connection"
                                           : strerror(errno));
    }
    return absl::OkStatus();
  };
  if (absl::Status st = read_into(4); !st.ok()) return broken(st.message());
  const uint64_t frame_size = 4 + uint64_t(GetU32(in.data()));
  if (frame_size < protocol::kFrameHeaderBytes || frame_size > limits::frame_bytes_max + 4) {
    return broken(absl::StrCat("an answer of impossible size ", frame_size));
  }
  in.resize(frame_size);
  if (absl::Status st = read_into(frame_size); !st.ok()) return broken(st.message());
  auto frame_in = protocol::ParseFrame(in);
  if (!frame_in.ok() || !frame_in->has_value()) return broken("a malformed answer");
  const protocol::Frame& f = **frame_in;
  if (f.correlation_id != correlation_id) return broken("answer to another request");
  auto view = protocol::ParseFetchResponseBody(f.body);
  if (!view.ok()) return broken(view.status().message());
  if (view->response->error_code() != fb::ErrorCode::NONE) {
    return absl::UnavailableError(absl::StrCat(
        "the leader at ", host_, ":", port_, " refused the fetch: ",
        view->response->error_message() ? view->response->error_message()->str() : ""));
  }
  size_t records_pos = static_cast<size_t>(view->records.data() - in.data());
  if (view->response->topics() != nullptr) {
    for (const fb::FetchTopicResponse* t : *view->response->topics()) {
      if (t->partitions() == nullptr) continue;
      for (const fb::FetchPartitionResponse* p : *t->partitions()) {
        replication::ReplicaFetchResult& r = out.partitions.emplace_back();
        r.topic = t->name() ? t->name()->str() : "";
        r.index = p->index();
        r.error = FromCode(p->error_code());
        if (p->error_message()) r.message = p->error_message()->str();
        r.high_watermark = p->high_watermark();
        r.log_start_offset = p->log_start_offset();
        r.diverging_epoch = p->diverging_epoch();
        r.diverging_end_offset = p->diverging_end_offset();
        r.records_offset = records_pos;
        r.records_size = p->records_bytes();
        records_pos += p->records_bytes();
      }
    }
  }
  return out;
}

}  // namespace strata::broker
