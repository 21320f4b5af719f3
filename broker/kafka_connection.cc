#include "broker/kafka_connection.h"

#include "broker/frame_read.h"

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/logging.h"
#include "common/transfer.h"
#include "protocol/kafka/frame.h"

namespace strata::broker {

namespace {
constexpr auto kNever = std::chrono::steady_clock::time_point::max();

uint32_t GetBigU32(const std::byte* p) {
  return (uint32_t(uint8_t(p[0])) << 24) | (uint32_t(uint8_t(p[1])) << 16) |
         (uint32_t(uint8_t(p[2])) << 8) | uint32_t(uint8_t(p[3]));
}
}  // namespace

KafkaConnection::KafkaConnection(asio::ip::tcp::socket socket, KafkaHandler* handler,
                                 BrokerMetrics* metrics, RequestMemory* memory,
                                 const BrokerConfig* config)
    : socket_(std::move(socket)),
      handler_(handler),
      metrics_(metrics),
      memory_(memory),
      config_(config),
      watchdog_(socket_.get_executor()) {
  metrics_->connections_open.fetch_add(1, std::memory_order_relaxed);
  asio::error_code ec;
  const auto peer = socket_.remote_endpoint(ec);
  if (!ec) peer_host_ = peer.address().to_string();
  deadline_ = std::chrono::steady_clock::now() +
              std::chrono::milliseconds(config_->connection_idle_ms);
}

KafkaConnection::~KafkaConnection() {
  metrics_->connections_open.fetch_sub(1, std::memory_order_relaxed);
}

void KafkaConnection::Start() {
  auto self = shared_from_this();
  const auto on_exit = [self](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      LogEvent(LogLevel::kError,
               absl::StrCat("Kafka connection closed after an internal error: ", ex.what()));
    }
    self->CloseNow();
  };
  asio::co_spawn(socket_.get_executor(), Serve(), on_exit);
  asio::co_spawn(socket_.get_executor(), Watchdog(), on_exit);
}

void KafkaConnection::Drain() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (!self->open_) return;
    self->draining_ = true;
    if (!self->busy_) self->CloseNow();  // else Serve closes after the answer
  });
}

void KafkaConnection::Close() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->CloseNow(); });
}

void KafkaConnection::CloseNow() {
  if (!open_) return;
  open_ = false;
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  watchdog_.cancel();
}

asio::awaitable<void> KafkaConnection::Serve() {
  auto self = shared_from_this();
  std::array<std::byte, protocol::kafka::kSizeFieldBytes> size_field;
  while (open_ && !draining_) {
    frame_started_ = false;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(config_->connection_idle_ms);
    auto [ec, n] = co_await asio::async_read(socket_, asio::buffer(size_field), kUseAwaitableTuple);
    if (ec) break;
    frame_started_ = true;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(config_->frame_read_timeout_ms);
    watchdog_.cancel();  // re-arm for the frame deadline
    const uint32_t size = GetBigU32(size_field.data());
    if (size < protocol::kafka::kRequestHeaderFixedBytes || size > limits::frame_bytes_max) {
      metrics_->bad_frames.fetch_add(1, std::memory_order_relaxed);
      LogEvent(LogLevel::kDebug,
               absl::StrCat("closing Kafka connection from ", peer_host_, ": a frame size of ",
                            size, " bytes is outside [", protocol::kafka::kRequestHeaderFixedBytes,
                            ", ", limits::frame_bytes_max, "] (limits::frame_bytes_max)"));
      break;
    }
    std::vector<std::byte> frame;
    size_t reserved = 0;
    const bool whole =
        co_await ReadFrameBody(socket_, *memory_, *metrics_, open_, size, frame, reserved);
    struct ReleaseMemory {
      RequestMemory* memory;
      size_t bytes;
      ~ReleaseMemory() { memory->Release(bytes); }
    } release{memory_, reserved};
    if (!whole) break;
    frame_started_ = false;
    metrics_->bytes_in.fetch_add(size + size_field.size(), std::memory_order_relaxed);
    // Busy from here until the answer is written: the watchdog leaves a request alone however
    // long it takes (a JoinGroup waits out a rebalance), and Drain lets the answer go out whole.
    busy_ = true;
    KafkaResponse response = co_await handler_->Handle(frame, peer_host_);
    if (response.close) {
      LogEvent(LogLevel::kDebug, absl::StrCat("closing Kafka connection from ", peer_host_, ": ",
                                              response.close_reason));
      break;
    }
    if (response.send && open_) {
      std::vector<asio::const_buffer> buffers;
      for (const auto& piece : response.out.pieces()) {
        buffers.emplace_back(piece.data(), piece.size());
      }
      auto [ec3, written] =
          co_await asio::async_write(socket_, buffers, TransferAll, kUseAwaitableTuple);
      if (ec3) break;
      metrics_->bytes_out.fetch_add(written, std::memory_order_relaxed);
    }
    busy_ = false;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(config_->connection_idle_ms);
    watchdog_.cancel();  // re-arm it for the idle deadline
  }
  CloseNow();
}

asio::awaitable<void> KafkaConnection::Watchdog() {
  auto self = shared_from_this();
  while (open_) {
    watchdog_.expires_at(busy_ ? kNever : deadline_);
    co_await watchdog_.async_wait(kUseAwaitableTuple);
    if (!open_) break;
    if (!busy_ && std::chrono::steady_clock::now() >= deadline_) {
      metrics_->connections_timed_out.fetch_add(1, std::memory_order_relaxed);
      LogEvent(LogLevel::kDebug,
               frame_started_ ? "closing Kafka connection: a frame took longer than "
                                "frame_read_timeout_ms to arrive"
                              : "closing Kafka connection: idle for connection_idle_ms");
      CloseNow();
      break;
    }
  }
}

}  // namespace strata::broker
