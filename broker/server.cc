#include "broker/server.h"

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/logging.h"

namespace strata::broker {

absl::StatusOr<asio::ip::tcp::acceptor> BindAcceptor(asio::io_context& io, const HostPort& address,
                                                     const char* what, const char* flag) {
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto endpoints = resolver.resolve(address.host, std::to_string(address.port),
                                    asio::ip::tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot resolve the ", what, " address ", address.ToString(), " (",
                     ec.message(), "); use an IP address with ", flag));
  }
  const auto endpoint = endpoints.begin()->endpoint();
  asio::ip::tcp::acceptor acceptor(asio::make_strand(io));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::string hint = ec == asio::error::address_in_use
                           ? absl::StrCat("is another stratad (or another program) using it? Stop "
                                          "it or choose another port with ",
                                          flag)
                           : absl::StrCat("choose another address with ", flag);
    return absl::FailedPreconditionError(absl::StrCat("cannot listen on ", address.ToString(),
                                                      " for the ", what, " (", ec.message(),
                                                      "): ", hint));
  }
  return acceptor;
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::Bind(asio::io_context& io,
                                                         std::vector<asio::io_context*> workers,
                                                         const HostPort& address,
                                                         const char* what, const char* flag,
                                                         BrokerMetrics* metrics,
                                                         SessionFactory factory) {
  STRATA_ASSIGN_OR_RETURN(auto acceptor, BindAcceptor(io, address, what, flag));
  HostPort bound{address.host, acceptor.local_endpoint().port()};
  return std::unique_ptr<Listener>(new Listener(std::move(workers), std::move(acceptor),
                                                std::move(bound), metrics, std::move(factory)));
}

void Listener::Start() {
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
}

asio::awaitable<void> Listener::AcceptLoop() {
  while (acceptor_.is_open()) {
    asio::io_context& worker = *workers_[next_worker_++ % workers_.size()];
    auto [ec, socket] =
        co_await acceptor_.async_accept(asio::make_strand(worker), kUseAwaitableTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
      // Out of file descriptors and the like: log, breathe, go on serving.
      LogEvent(LogLevel::kWarn, absl::StrCat("accept failed: ", ec.message()));
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseAwaitableTuple);
      continue;
    }
    if (metrics_->connections_open.load(std::memory_order_relaxed) >=
        static_cast<int64_t>(limits::connections_max)) {
      metrics_->connections_rejected.fetch_add(1, std::memory_order_relaxed);
      asio::error_code ignored;
      socket.close(ignored);
      continue;
    }
    metrics_->connections_accepted.fetch_add(1, std::memory_order_relaxed);
    asio::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    std::shared_ptr<Session> connection = factory_(std::move(socket));
    connection->Start();
    absl::MutexLock lock(&mu_);
    std::erase_if(connections_, [](const auto& weak) { return weak.expired(); });
    connections_.push_back(connection);
  }
}

std::vector<std::shared_ptr<Session>> Listener::LiveConnections() {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Session>> live;
  for (const auto& weak : connections_) {
    if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  return live;
}

void Listener::Stop() {
  asio::post(acceptor_.get_executor(), [this] {
    asio::error_code ignored;
    acceptor_.close(ignored);
  });
  for (const auto& c : LiveConnections()) c->Drain();
}

void Listener::CloseAll() {
  for (const auto& c : LiveConnections()) c->Close();
}

}  // namespace strata::broker
