// Listener: a TCP acceptor for one protocol (the native one, or Kafka's: docs/kafka.md). Accepts
// connections (each on its own strand), hands each socket to the protocol's session factory, enforces
// limits::connections_max, and keeps weak references to its connections so shutdown can drain
// them. Connections are spread round-robin over the worker io_contexts, each run by one thread, so
// all of a connection's work stays on one thread (no hand-offs between threads per request).
//
// Thread-safety: Start and Stop may be called from any thread; the accept loop runs on the
// acceptor's strand.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "broker/asio.h"
#include "broker/config.h"
#include "broker/metrics.h"

namespace strata::broker {

// One accepted connection of some protocol (Connection: the native one; KafkaConnection).
class Session {
 public:
  virtual ~Session() = default;
  virtual void Start() = 0;
  // Stops reading requests; closes once those in progress have answered. Thread-safe.
  virtual void Drain() = 0;
  // Closes now. Thread-safe.
  virtual void Close() = 0;
};
// Makes the session for an accepted socket (already on its own strand).
using SessionFactory = std::function<std::shared_ptr<Session>(asio::ip::tcp::socket)>;

class Listener {
 public:
  // Binds and listens on `address`. FailedPrecondition with a message that says what to do when
  // the address is in use or cannot be bound; `what` names the listener and `flag` the flag that
  // sets its address.
  // The acceptor runs on `io`; accepted connections go to `workers` (at least one).
  static absl::StatusOr<std::unique_ptr<Listener>> Bind(asio::io_context& io,
                                                        std::vector<asio::io_context*> workers,
                                                        const HostPort& address, const char* what,
                                                        const char* flag, BrokerMetrics* metrics,
                                                        SessionFactory factory);
  // The bound address (the actual port when 0 was asked for).
  HostPort address() const { return address_; }

  void Start();
  // Stops accepting and drains every connection (connection.h).
  void Stop();
  // Closes every connection now.
  void CloseAll();

 private:
  Listener(std::vector<asio::io_context*> workers, asio::ip::tcp::acceptor acceptor,
           HostPort address, BrokerMetrics* metrics, SessionFactory factory)
      : workers_(std::move(workers)), acceptor_(std::move(acceptor)),
        address_(std::move(address)), metrics_(metrics), factory_(std::move(factory)) {}
  asio::awaitable<void> AcceptLoop();
  std::vector<std::shared_ptr<Session>> LiveConnections();

  const std::vector<asio::io_context*> workers_;
  size_t next_worker_ = 0;  // accept loop only
  asio::ip::tcp::acceptor acceptor_;
  HostPort address_;
  BrokerMetrics* const metrics_;
  const SessionFactory factory_;

  absl::Mutex mu_;
  std::vector<std::weak_ptr<Session>> connections_ ABSL_GUARDED_BY(mu_);
};

// Binds a TCP acceptor on `address` (shared by the native and metrics listeners), with
// SO_REUSEADDR. FailedPrecondition saying what to do on failure; `what` names the listener.
absl::StatusOr<asio::ip::tcp::acceptor> BindAcceptor(asio::io_context& io, const HostPort& address,
                                                     const char* what, const char* flag);

}  // namespace strata::broker
