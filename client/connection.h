// A blocking TCP connection to one Strata broker, speaking the native protocol
// (docs/protocol.md): length-prefixed frames (protocol/frame.h) with FlatBuffers bodies.
//
// Connect() resolves "host:port", connects within connect_timeout_ms and performs the ApiVersions
// handshake, failing if the broker does not serve a version of each required API that this client
// speaks. Call() sends one request and waits for its response (same correlation id and api_key)
// within a per-request timeout. There is exactly ONE request in flight per connection: Call
// writes, then reads until the matching frame arrives, so responses cannot arrive out of order.
//
// Any I/O error or timeout leaves the byte stream out of step (a late response could still
// arrive), so the connection closes itself and every later call fails with Unavailable; the owner
// reconnects. Errors are Unavailable (cannot reach, connection lost), DeadlineExceeded (no
// answer in time) or whatever ErrorToStatus maps a handshake error to; messages say what to do.
//
// Not thread-safe: one thread at a time (callers serialise with their own mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "protocol/api.h"

namespace strata::client {

inline constexpr const char* kDefaultBootstrap = "127.0.0.1:9292";

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Parses "host:port", "[v6 address]:port" or "host" (port 9292). InvalidArgument with an example
// of the expected form otherwise.
absl::StatusOr<HostPort> ParseHostPort(std::string_view address);

// Splits a bootstrap list "h1:p1,h2:p2" (spaces around commas allowed) into its addresses, each
// checked with ParseHostPort. InvalidArgument for an empty list or a bad address.
absl::StatusOr<std::vector<std::string>> ParseBootstrap(std::string_view bootstrap);

struct ConnectionOptions {
  std::string client_software_name = "strata-cpp";
  int64_t connect_timeout_ms = 5000;
  // Default per-request timeout; Call may pass a longer one (a long-polling Fetch).
  int64_t request_timeout_ms = 30000;
  // APIs the broker must serve (in a version this client speaks) for Connect to succeed.
  std::vector<protocol::ApiKey> required_apis;
};

// One response: the whole frame, and its body as a view into it. Move-only so the view stays valid.
// The bytes of one response frame. Growing does not zero-fill (recv overwrites them at once), and
// a buffer handed back with Connection::Recycle is reused: a fresh megabyte per Fetch cost a page
// fault per 4 KiB, the largest share of a consumer's time (bench/compare.sh W4).
class FrameBuffer {
 public:
  std::byte* data() { return bytes_.get(); }
  const std::byte* data() const { return bytes_.get(); }
  size_t size() const { return size_; }
  // Keeps the first min(size(), n) bytes.
  void Resize(size_t n);

 private:
  std::unique_ptr<std::byte[]> bytes_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

struct Response {
  Response() = default;
  Response(Response&&) = default;
  Response& operator=(Response&&) = default;
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  uint16_t api_version = 0;
  FrameBuffer frame;
  std::span<const std::byte> body;  // within frame
};

class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Connect(std::string_view address,
                                                             const ConnectionOptions& options = {});
  // Connects to the first broker of a bootstrap list ("h1:p1,h2:p2") that answers, trying them in
  // order. With one address the error is Connect's; with several it names each address and why
  // it failed. Any broker of a cluster answers Metadata and FindCoordinator, so any one will do.
  static absl::StatusOr<std::unique_ptr<Connection>> ConnectAny(std::string_view bootstrap,
                                                                const ConnectionOptions& options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends a request and waits up to `timeout_ms` (0: options.request_timeout_ms) for its response.
  // FailedPrecondition if the broker does not serve `key` in a version this client speaks.
  absl::StatusOr<Response> Call(protocol::ApiKey key, std::span<const std::byte> body,
                                int64_t timeout_ms = 0);

  // Call in two halves, so a client can write one request to each of several brokers before it
  // reads any answer (the producer and consumer do, one request per partition leader). Between
  // Start and Finish nothing else may be sent on this connection: still one request in flight.
  struct Pending {
    protocol::ApiKey key = protocol::ApiKey::kApiVersions;
    uint32_t correlation_id = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  absl::StatusOr<Pending> Start(protocol::ApiKey key, std::span<const std::byte> body,
                                int64_t timeout_ms = 0);
  absl::StatusOr<Response> Finish(const Pending& pending);

  // Sends a request whose response never comes (Produce with acks=0) and returns once it is
  // written.
  absl::Status Send(protocol::ApiKey key, std::span<const std::byte> body, int64_t timeout_ms = 0);

  // Hands a response's buffer back for the next one to reuse (one is kept).
  void Recycle(Response response);

  // Closes the socket, as a network failure would; later calls fail with Unavailable. Used to
  // abandon a connection whose stream is out of step, and by TEST_ hooks.
  void Close();

  // False once an I/O error, a timeout or Close() has broken the connection: reconnect.
  bool ok() const { return !broken_; }
  const std::string& address() const { return address_; }

  // The version both sides speak for `key`, or nullopt if the broker does not serve one.
  std::optional<uint16_t> NegotiatedVersion(protocol::ApiKey key) const;

 private:
  struct Io;  // asio state, kept out of this header
  Connection(std::string address, ConnectionOptions options);

  absl::Status ConnectSocket(const HostPort& hp);
  absl::Status Handshake();
  absl::Status Write(protocol::ApiKey key, uint16_t version, uint32_t correlation_id,
                     std::span<const std::byte> body, std::chrono::steady_clock::time_point deadline);
  absl::StatusOr<Response> Read(protocol::ApiKey key, uint32_t correlation_id,
                                std::chrono::steady_clock::time_point deadline);
  absl::Status Broken(std::string_view what, absl::Status cause);
  std::chrono::steady_clock::time_point Deadline(int64_t timeout_ms) const;

  const std::string address_;
  const ConnectionOptions options_;
  std::unique_ptr<Io> io_;
  bool broken_ = false;
  uint32_t next_correlation_id_ = 1;
  FrameBuffer spare_;  // from Recycle
  // Per api_key, the version both sides speak; -1 when the broker serves none we speak.
  std::vector<int32_t> versions_;
};

// What to tell a user who cannot reach the broker at `address`, e.g.
// "cannot reach 127.0.0.1:9292 (connection refused): is stratad running? Start it with
// ./scripts/run.sh, or pass --bootstrap HOST:PORT".
std::string CannotReachMessage(std::string_view address, std::string_view reason);

}  // namespace strata::client
