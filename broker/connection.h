// Connection: one client's TCP connection to the native listener.
//
// Three coroutines share the connection's strand (so nothing here needs a lock):
//   - the reader reads frames, each into its own buffer that grows only as bytes arrive, and
//     starts a handler coroutine per frame, up to limits::connection_requests_in_flight_max at
//     once (then it stops reading, pushing the client back through TCP);
//   - each handler runs RequestHandler::Handle and queues its response;
//   - the writer sends queued responses, Fetch records straight from the segment mappings
//     (scatter-gather), in completion order (clients match responses by correlation id).
// Frame bytes are reserved from the broker-wide RequestMemory budget chunk by chunk before they are
// read, and released when the frame's handler is done; when the budget is spent the reader waits.
// A watchdog closes the connection when it idles past connection_idle_ms or a started frame takes
// longer than frame_read_timeout_ms to arrive (slowloris). A frame whose size field is invalid
// closes the connection: the stream cannot be resynchronised.
#pragma once

#include <chrono>
#include <deque>
#include <memory>

#include "broker/asio.h"
#include "broker/config.h"
#include "broker/request_handler.h"
#include "broker/request_memory.h"
#include "broker/server.h"

namespace strata::broker {

class Connection : public Session, public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::ip::tcp::socket socket, RequestHandler* handler, BrokerMetrics* metrics,
             RequestMemory* memory, const BrokerConfig* config);
  ~Connection() override;

  // Starts the coroutines on the connection's strand.
  void Start() override;
  // Stops reading new requests; the connection closes once in-progress requests have answered
  // (or at once if none). Thread-safe (posts to the strand).
  void Drain() override;
  // Closes the socket now. Thread-safe (posts to the strand).
  void Close() override;

 private:
  asio::awaitable<void> Reader();
  asio::awaitable<void> Writer();
  asio::awaitable<void> Watchdog();
  // Handles one frame and releases its `reserved_bytes` of the request memory budget.
  asio::awaitable<void> Handle(std::vector<std::byte> frame_bytes, size_t reserved_bytes);
  void CloseNow();
  void WakeWriter() { write_signal_.cancel(); }

  asio::ip::tcp::socket socket_;
  RequestHandler* const handler_;
  BrokerMetrics* const metrics_;
  RequestMemory* const memory_;
  const BrokerConfig* const config_;
  std::string peer_host_;  // the client's address, for DescribeGroups

  // Everything below is used only on the socket's strand.
  bool open_ = true;
  bool draining_ = false;
  size_t in_flight_ = 0;
  std::deque<Response> out_;
  asio::steady_timer write_signal_;  // the writer sleeps on it; cancel() wakes it
  asio::steady_timer slot_signal_;   // the reader sleeps on it while in_flight_ is at the max
  asio::steady_timer watchdog_;
  std::chrono::steady_clock::time_point deadline_;
  bool frame_started_ = false;  // the deadline is a frame's, not the idle one
};

}  // namespace strata::broker
