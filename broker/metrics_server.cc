#include "broker/metrics_server.h"

#include "absl/strings/str_cat.h"
#include "broker/server.h"
#include "common/limits.h"

namespace strata::broker {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Bind(asio::io_context& io,
                                                                   const HostPort& address,
                                                                   RenderFn render) {
  STRATA_ASSIGN_OR_RETURN(auto acceptor,
                          BindAcceptor(io, address, "metrics listener", "--metrics-listen"));
  HostPort bound{address.host, acceptor.local_endpoint().port()};
  return std::unique_ptr<MetricsServer>(
      new MetricsServer(io, std::move(acceptor), std::move(bound), std::move(render)));
}

void MetricsServer::Start() {
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
}

void MetricsServer::Stop() {
  asio::post(acceptor_.get_executor(), [this] {
    asio::error_code ignored;
    acceptor_.close(ignored);
  });
}

asio::awaitable<void> MetricsServer::AcceptLoop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] =
        co_await acceptor_.async_accept(asio::make_strand(io_), kUseAwaitableTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      continue;
    }
    auto ex = socket.get_executor();
    asio::co_spawn(ex, Serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> MetricsServer::Serve(asio::ip::tcp::socket socket) {
  asio::steady_timer deadline(socket.get_executor(), std::chrono::seconds(5));
  deadline.async_wait([&socket](const asio::error_code& ec) {
    if (ec) return;
    asio::error_code ignored;
    socket.close(ignored);
  });
  std::string request;
  std::array<char, 1024> chunk;
  while (request.find("\r\n\r\n") == std::string::npos &&
         request.size() < limits::metrics_request_bytes_max) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), kUseAwaitableTuple);
    if (ec) {
      deadline.cancel();
      co_return;
    }
    request.append(chunk.data(), n);
  }
  const std::string line = request.substr(0, request.find("\r\n"));
  std::string status = "200 OK";
  std::string body;
  if (line.rfind("GET ", 0) != 0) {
    status = "405 Method Not Allowed";
    body = "only GET /metrics is served\n";
  } else {
    const std::string path = line.substr(4, line.find(' ', 4) - 4);
    if (path == "/metrics") {
      body = render_();
    } else {
      status = "404 Not Found";
      body = "not found: metrics are at /metrics\n";
    }
  }
  const std::string response =
      absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: text/plain; version=0.0.4\r\n",
                   "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
  co_await asio::async_write(socket, asio::buffer(response), kUseAwaitableTuple);
  deadline.cancel();
  asio::error_code ignored;
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace strata::broker
