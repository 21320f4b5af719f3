// MetricsServer: a minimal HTTP/1.1 listener that answers `GET /metrics` with the Prometheus text
// of BrokerMetrics::Render (404 for any other path, 405 for other methods). One request per
// connection (Connection: close), a request of at most limits::metrics_request_bytes_max, and a
// 5-second deadline per connection.
// Thread-safety: Start/Stop from any thread; each connection runs on its own strand.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "broker/asio.h"
#include "broker/config.h"

namespace strata::broker {

class MetricsServer {
 public:
  using RenderFn = std::function<std::string()>;

  static absl::StatusOr<std::unique_ptr<MetricsServer>> Bind(asio::io_context& io,
                                                             const HostPort& address,
                                                             RenderFn render);
  HostPort address() const { return address_; }
  void Start();
  void Stop();

 private:
  MetricsServer(asio::io_context& io, asio::ip::tcp::acceptor acceptor, HostPort address,
                RenderFn render)
      : io_(io), acceptor_(std::move(acceptor)), address_(std::move(address)),
        render_(std::move(render)) {}
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(asio::ip::tcp::socket socket);

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  HostPort address_;
  RenderFn render_;
};

}  // namespace strata::broker
