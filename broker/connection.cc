#include "broker/connection.h"

#include "broker/frame_read.h"

#include "absl/strings/str_cat.h"
#include "common/endian.h"
#include "common/limits.h"
#include "common/logging.h"
#include "common/transfer.h"
#include "protocol/frame.h"

namespace strata::broker {

namespace {
constexpr auto kNever = std::chrono::steady_clock::time_point::max();
}

Connection::Connection(asio::ip::tcp::socket socket, RequestHandler* handler,
                       BrokerMetrics* metrics, RequestMemory* memory, const BrokerConfig* config)
    : socket_(std::move(socket)),
      handler_(handler),
      metrics_(metrics),
      memory_(memory),
      config_(config),
      write_signal_(socket_.get_executor()),
      slot_signal_(socket_.get_executor()),
      watchdog_(socket_.get_executor()) {
  metrics_->connections_open.fetch_add(1, std::memory_order_relaxed);
  asio::error_code ec;
  const auto peer = socket_.remote_endpoint(ec);
  if (!ec) peer_host_ = peer.address().to_string();
  deadline_ = std::chrono::steady_clock::now() +
              std::chrono::milliseconds(config_->connection_idle_ms);
}

Connection::~Connection() { metrics_->connections_open.fetch_sub(1, std::memory_order_relaxed); }

void Connection::Start() {
  auto self = shared_from_this();
  const auto on_exit = [self](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      LogEvent(LogLevel::kError, absl::StrCat("connection closed after an internal error: ",
                                              ex.what()));
    }
    self->CloseNow();
  };
  asio::co_spawn(socket_.get_executor(), Reader(), on_exit);
  asio::co_spawn(socket_.get_executor(), Writer(), on_exit);
  asio::co_spawn(socket_.get_executor(), Watchdog(), on_exit);
}

void Connection::Drain() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (!self->open_) return;
    self->draining_ = true;
    // Ends the reader's pending read (it sees EOF); queued and in-progress responses still go out.
    asio::error_code ignored;
    self->socket_.shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
    self->slot_signal_.cancel();
    self->WakeWriter();
  });
}

void Connection::Close() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->CloseNow(); });
}

void Connection::CloseNow() {
  if (!open_) return;
  open_ = false;
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  write_signal_.cancel();
  slot_signal_.cancel();
  watchdog_.cancel();
  out_.clear();
}

asio::awaitable<void> Connection::Reader() {
  auto self = shared_from_this();
  std::array<std::byte, 4> size_field;
  while (open_ && !draining_) {
    while (open_ && !draining_ && in_flight_ >= limits::connection_requests_in_flight_max) {
      slot_signal_.expires_at(kNever);
      co_await slot_signal_.async_wait(kUseAwaitableTuple);
    }
    if (!open_ || draining_) break;
    frame_started_ = false;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(config_->connection_idle_ms);
    auto [ec, n] = co_await asio::async_read(socket_, asio::buffer(size_field), kUseAwaitableTuple);
    if (ec) break;  // EOF, reset, or closed by us
    frame_started_ = true;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(config_->frame_read_timeout_ms);
    watchdog_.cancel();  // re-arm it for the (earlier) frame deadline
    // Only the size field so far: ParseFrame rejects a size that can never be valid, before any
    // memory is committed to it.
    auto parsed = protocol::ParseFrame(size_field);
    if (!parsed.ok()) {
      metrics_->bad_frames.fetch_add(1, std::memory_order_relaxed);
      LogEvent(LogLevel::kDebug, absl::StrCat("closing connection: ", parsed.status().message()));
      CloseNow();
      break;
    }
    const size_t total = protocol::kCorrelationIdPos + GetU32(size_field.data());
    std::vector<std::byte> frame(size_field.begin(), size_field.end());
    size_t reserved = 0;
    const bool whole =
        co_await ReadFrameBody(socket_, *memory_, *metrics_, open_, total, frame, reserved);
    if (!whole) {
      memory_->Release(reserved);
      CloseNow();
      break;
    }
    frame_started_ = false;
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(config_->connection_idle_ms);
    metrics_->bytes_in.fetch_add(total, std::memory_order_relaxed);
    ++in_flight_;
    asio::co_spawn(socket_.get_executor(), Handle(std::move(frame), reserved),
                   [self](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       LogEvent(LogLevel::kError,
                                absl::StrCat("request failed with an internal error: ", ex.what()));
                     }
                     self->CloseNow();
                   });
  }
  // No more requests: finish what is in progress, then close.
  draining_ = true;
  WakeWriter();
}

asio::awaitable<void> Connection::Handle(std::vector<std::byte> bytes, size_t reserved_bytes) {
  auto self = shared_from_this();
  struct ReleaseMemory {
    RequestMemory* memory;
    size_t bytes;
    ~ReleaseMemory() { memory->Release(bytes); }
  } release{memory_, reserved_bytes};
  // The reader framed these bytes: ParseFrame sees one whole, well-sized frame.
  auto frame = protocol::ParseFrame(bytes);
  bool queued = false;
  if (frame.ok() && frame->has_value()) {
    std::span<std::byte> body(bytes.data() + protocol::kFrameHeaderBytes,
                              bytes.size() - protocol::kFrameHeaderBytes);
    Response response = co_await handler_->Handle(**frame, body, peer_host_);
    if (response.send && open_) {
      out_.push_back(std::move(response));
      queued = true;
    }
  }
  // A queued response stays in flight until the writer has sent it: that bounds out_.
  if (!queued) --in_flight_;
  slot_signal_.cancel();
  WakeWriter();
}

asio::awaitable<void> Connection::Writer() {
  auto self = shared_from_this();
  while (open_) {
    if (out_.empty()) {
      if (draining_ && in_flight_ == 0) {
        CloseNow();
        break;
      }
      write_signal_.expires_at(kNever);
      co_await write_signal_.async_wait(kUseAwaitableTuple);
      continue;
    }
    Response response = std::move(out_.front());
    out_.pop_front();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(1 + response.records.size());
    buffers.emplace_back(response.head.data(), response.head.size());
    for (const auto& read : response.records) {
      buffers.emplace_back(read.bytes.data(), read.bytes.size());
    }
    auto [ec, n] = co_await asio::async_write(socket_, buffers, TransferAll, kUseAwaitableTuple);
    if (ec) {
      CloseNow();
      break;
    }
    metrics_->bytes_out.fetch_add(n, std::memory_order_relaxed);
    if (!frame_started_) {
      deadline_ = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(config_->connection_idle_ms);
    }
    --in_flight_;
    slot_signal_.cancel();
  }
}

asio::awaitable<void> Connection::Watchdog() {
  auto self = shared_from_this();
  while (open_) {
    watchdog_.expires_at(deadline_);
    co_await watchdog_.async_wait(kUseAwaitableTuple);
    if (!open_) break;
    if (std::chrono::steady_clock::now() >= deadline_) {
      metrics_->connections_timed_out.fetch_add(1, std::memory_order_relaxed);
      LogEvent(LogLevel::kDebug,
               frame_started_ ? "closing connection: a frame took longer than "
                                "frame_read_timeout_ms to arrive"
                              : "closing connection: idle for connection_idle_ms");
      CloseNow();
      break;
    }
  }
}

}  // namespace strata::broker
