#include "client/connection.h"

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#include <asio.hpp>
#include <array>
#include <cctype>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/error_status.h"
#include "common/endian.h"
#include "common/limits.h"
#include "common/transfer.h"
#include "protocol/api_versions_generated.h"
#include "protocol/frame.h"
#include "protocol/message.h"

namespace strata::client {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint16_t kDefaultPort = 9292;
constexpr const char* kVersionString = "0.1";

// "Connection refused" -> "connection refused", as it sits inside a sentence.
std::string Reason(const std::error_code& ec) {
  std::string text = ec.message();
  if (!text.empty()) text[0] = char(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(std::string_view address) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("bad broker address '", std::string(address), "': ", std::string(why),
                                                   ". Write HOST:PORT, e.g. 127.0.0.1:9292"));
  };
  HostPort hp;
  std::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    hp.host = std::string(address.substr(1, close - 1));
    std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port_text = rest.substr(1);
    }
  } else {
    const size_t colon = address.rfind(':');
    if (colon != std::string_view::npos && address.find(':') != colon) {
      return bad("an IPv6 address needs brackets");
    }
    hp.host = std::string(address.substr(0, colon));
    if (colon != std::string_view::npos) port_text = address.substr(colon + 1);
  }
  if (hp.host.empty()) return bad("empty host");
  hp.port = kDefaultPort;
  if (!port_text.empty() || address.back() == ':') {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(std::string(port_text), &port) || port == 0 || port > 65535) {
      return bad("the port must be a number in [1, 65535]");
    }
    hp.port = uint16_t(port);
  }
  return hp;
}

absl::StatusOr<std::vector<std::string>> ParseBootstrap(std::string_view bootstrap) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= bootstrap.size()) {
    size_t end = bootstrap.find(',', begin);
    if (end == std::string_view::npos) end = bootstrap.size();
    std::string_view part = bootstrap.substr(begin, end - begin);
    begin = end + 1;
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.front()))) {
      part.remove_prefix(1);
    }
    while (!part.empty() && std::isspace(static_cast<unsigned char>(part.back()))) {
      part.remove_suffix(1);
    }
    if (part.empty()) continue;  // "h1:p1," is a list of one
    STRATA_RETURN_IF_ERROR(ParseHostPort(part).status());
    out.emplace_back(part);
  }
  if (out.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no broker address in '", std::string(bootstrap),
        "'. Write HOST:PORT, or several separated by commas: 10.0.0.1:9292,10.0.0.2:9292"));
  }
  return out;
}

std::string CannotReachMessage(std::string_view address, std::string_view reason) {
  return absl::StrCat("cannot reach ", std::string(address), " (", std::string(reason),
                      "): is stratad running? Start it with ./scripts/run.sh, or pass "
                      "--bootstrap HOST:PORT (or set STRATA_BOOTSTRAP) to use another broker");
}

struct Connection::Io {
  asio::io_context ctx;
  asio::ip::tcp::socket socket{ctx};

  // Runs handlers until `done` or the deadline. On timeout, closes the socket (which cancels the
  // operation), drains its handler and returns false.
  bool RunUntil(const bool& done, Clock::time_point deadline) {
    ctx.restart();
    while (!done) {
      if (ctx.run_one_until(deadline) == 0) break;
    }
    if (done) return true;
    std::error_code ignored;
    socket.close(ignored);
    ctx.restart();
    ctx.run();
    return false;
  }
};

Connection::Connection(std::string address, ConnectionOptions options)
    : address_(std::move(address)),
      options_(std::move(options)),
      io_(std::make_unique<Io>()),
      versions_(protocol::kApiKeyCount, -1) {}

Connection::~Connection() = default;

Clock::time_point Connection::Deadline(int64_t timeout_ms) const {
  if (timeout_ms <= 0) timeout_ms = options_.request_timeout_ms;
  return Clock::now() + std::chrono::milliseconds(timeout_ms);
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Connect(std::string_view address,
                                                                const ConnectionOptions& options) {
  STRATA_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(address));
  std::unique_ptr<Connection> conn(new Connection(std::string(address), options));
  STRATA_RETURN_IF_ERROR(conn->ConnectSocket(hp));
  STRATA_RETURN_IF_ERROR(conn->Handshake());
  return conn;
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::ConnectAny(
    std::string_view bootstrap, const ConnectionOptions& options) {
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> addresses, ParseBootstrap(bootstrap));
  if (addresses.size() == 1) return Connect(addresses[0], options);
  std::vector<std::string> failures;
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  for (const std::string& address : addresses) {
    absl::StatusOr<std::unique_ptr<Connection>> conn = Connect(address, options);
    if (conn.ok()) return conn;
    // A broker that answers but refuses (no API in common) is a different problem from one that
    // is down; report the first such refusal's code rather than Unavailable.
    if (!absl::IsUnavailable(conn.status()) && code == absl::StatusCode::kUnavailable) {
      code = conn.status().code();
    }
    failures.push_back(absl::StrCat("  ", conn.status().message()));  // it names the address
  }
  return absl::Status(code, absl::StrCat("cannot reach any of the ", addresses.size(),
                                         " bootstrap brokers (", std::string(bootstrap),
                                         "); is the cluster running? Each one said:\n",
                                         absl::StrJoin(failures, "\n")));
}

absl::Status Connection::ConnectSocket(const HostPort& hp) {
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
  asio::ip::tcp::resolver resolver(io_->ctx);
  bool done = false;
  // The address as tried, default port included ("127.0.0.1" is shown as 127.0.0.1:9292).
  const std::string shown = hp.host.find(':') != std::string::npos
                                ? absl::StrCat("[", hp.host, "]:", hp.port)
                                : absl::StrCat(hp.host, ":", hp.port);
  std::error_code ec;
  asio::ip::tcp::resolver::results_type endpoints;
  resolver.async_resolve(hp.host, std::to_string(hp.port),
                         [&](const std::error_code& e, asio::ip::tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                           done = true;
                         });
  if (!io_->RunUntil(done, deadline)) {
    resolver.cancel();
    io_->ctx.restart();
    io_->ctx.run();
    broken_ = true;
    return absl::UnavailableError(
        CannotReachMessage(shown, "could not resolve the host name in time"));
  }
  if (ec) {
    broken_ = true;
    return absl::UnavailableError(CannotReachMessage(
        shown, absl::StrCat("cannot resolve host '", hp.host, "': ", Reason(ec))));
  }
  done = false;
  asio::async_connect(io_->socket, endpoints,
                      [&](const std::error_code& e, const asio::ip::tcp::endpoint&) {
                        ec = e;
                        done = true;
                      });
  if (!io_->RunUntil(done, deadline)) {
    broken_ = true;
    return absl::UnavailableError(CannotReachMessage(
        shown, absl::StrCat("no answer within ", options_.connect_timeout_ms, " ms")));
  }
  if (ec) {
    broken_ = true;
    return absl::UnavailableError(CannotReachMessage(shown, Reason(ec)));
  }
  std::error_code ignored;
  io_->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  return absl::OkStatus();
}

absl::Status Connection::Handshake() {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(protocol::fb::CreateApiVersionsRequestDirect(fbb, options_.client_software_name.c_str(),
                                                          kVersionString));
  // ApiVersions v0 is always served: every version keeps v0's first fields.
  versions_[uint16_t(protocol::ApiKey::kApiVersions)] = 0;
  absl::StatusOr<Response> response = Call(protocol::ApiKey::kApiVersions,
                                           protocol::BuilderBytes(fbb),
                                           options_.connect_timeout_ms);
  if (!response.ok()) {
    return absl::Status(response.status().code(),
                        absl::StrCat("handshake with ", address_, " failed: ",
                                     response.status().message()));
  }
  STRATA_ASSIGN_OR_RETURN(const auto* body, protocol::VerifyBody<protocol::fb::ApiVersionsResponse>(
                                                response->body, "ApiVersionsResponse"));
  STRATA_RETURN_IF_ERROR(ErrorToStatus(body->error_code(), body->error_message(),
                                       absl::StrCat("handshake with ", address_)));
  std::fill(versions_.begin(), versions_.end(), -1);
  if (body->api_versions() != nullptr) {
    for (const protocol::fb::ApiVersionRange* theirs : *body->api_versions()) {
      std::optional<protocol::ApiVersionRange> ours = protocol::FindApi(theirs->api_key());
      if (!ours) continue;  // an API newer than this client
      const int32_t high = std::min(ours->max_version, theirs->max_version());
      const int32_t low = std::max(ours->min_version, theirs->min_version());
      if (high >= low) versions_[theirs->api_key()] = high;
    }
  }
  for (protocol::ApiKey key : options_.required_apis) {
    if (versions_[uint16_t(key)] < 0) {
      const auto ours = protocol::FindApi(uint16_t(key));
      return absl::FailedPreconditionError(absl::StrCat(
          "the broker at ", address_, " does not serve ", protocol::ApiName(uint16_t(key)), " v",
          ours->min_version, "..v", ours->max_version,
          ", which this client needs: use a client and broker of matching versions"));
    }
  }
  return absl::OkStatus();
}

std::optional<uint16_t> Connection::NegotiatedVersion(protocol::ApiKey key) const {
  const int32_t v = versions_[uint16_t(key)];
  if (v < 0) return std::nullopt;
  return uint16_t(v);
}

void FrameBuffer::Resize(size_t n) {
  if (n > capacity_) {
    std::unique_ptr<std::byte[]> grown(new std::byte[n]);  // default-initialized: not zeroed
    if (size_ > 0) std::memcpy(grown.get(), bytes_.get(), size_);
    bytes_ = std::move(grown);
    capacity_ = n;
  }
  size_ = n;
}

void Connection::Recycle(Response response) {
  response.body = {};
  spare_ = std::move(response.frame);
}

void Connection::Close() {
  broken_ = true;
  std::error_code ignored;
  io_->socket.close(ignored);
}

absl::Status Connection::Broken(std::string_view what, absl::Status cause) {
  Close();
  return absl::Status(cause.code(), absl::StrCat(std::string(what), " ", address_, ": ", cause.message()));
}

absl::Status Connection::Write(protocol::ApiKey key, uint16_t version, uint32_t correlation_id,
                               std::span<const std::byte> body, Clock::time_point deadline) {
  // The header and the body go out as two buffers (scatter-gather): copying a Produce body of
  // up to half a frame into a fresh frame buffer cost a copy and a page fault per 4 KiB.
  STRATA_ASSIGN_OR_RETURN(
      const auto header,
      protocol::EncodeFrameHeader(correlation_id, uint16_t(key), version, body.size()));
  const std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(header.data(), header.size()), asio::buffer(body.data(), body.size())};
  bool done = false;
  std::error_code ec;
  asio::async_write(io_->socket, buffers, TransferAll,
                    [&](const std::error_code& e, size_t) {
                      ec = e;
                      done = true;
                    });
  if (!io_->RunUntil(done, deadline)) {
    return Broken("sending to", absl::DeadlineExceededError("the broker did not take the request "
                                                            "in time (timed out)"));
  }
  if (ec) {
    return Broken("sending to",
                  absl::UnavailableError(absl::StrCat("connection lost (", Reason(ec), ")")));
  }
  return absl::OkStatus();
}

absl::StatusOr<Response> Connection::Read(protocol::ApiKey key, uint32_t correlation_id,
                                          Clock::time_point deadline) {
  Response response;
  response.frame = std::move(spare_);
  spare_ = FrameBuffer();
  response.frame.Resize(4);
  bool done = false;
  std::error_code ec;
  auto read = [&](size_t from) -> absl::Status {
    done = false;
    asio::async_read(io_->socket,
                     asio::buffer(response.frame.data() + from, response.frame.size() - from),
                     TransferAll, [&](const std::error_code& e, size_t) {
                       ec = e;
                       done = true;
                     });
    if (!io_->RunUntil(done, deadline)) {
      return Broken("waiting for", absl::DeadlineExceededError(absl::StrCat(
                                       "no answer to ", protocol::ApiName(uint16_t(key)),
                                       " in time (timed out); the broker may be overloaded")));
    }
    if (ec == asio::error::eof) {
      return Broken("reading from", absl::UnavailableError("the broker closed the connection"));
    }
    if (ec) {
      return Broken("reading from",
                    absl::UnavailableError(absl::StrCat("connection lost (", Reason(ec), ")")));
    }
    return absl::OkStatus();
  };
  STRATA_RETURN_IF_ERROR(read(0));
  const uint64_t size = GetU32(response.frame.data());
  if (size < protocol::kFrameSizeOverheadBytes || 4 + size > limits::frame_bytes_max) {
    return Broken("reading from", absl::DataLossError(absl::StrCat(
                                      "the response frame declares an impossible size ", size,
                                      "; is this a Strata broker?")));
  }
  response.frame.Resize(4 + size);
  STRATA_RETURN_IF_ERROR(read(4));
  absl::StatusOr<std::optional<protocol::Frame>> parsed =
      protocol::ParseFrame(std::span<const std::byte>(response.frame.data(), response.frame.size()));
  if (!parsed.ok() || !parsed->has_value()) {
    return Broken("reading from", absl::DataLossError("the response frame does not parse"));
  }
  const protocol::Frame& frame = **parsed;
  if (frame.correlation_id != correlation_id || frame.api_key != uint16_t(key)) {
    return Broken("reading from",
                  absl::DataLossError(absl::StrCat(
                      "expected the response to ", protocol::ApiName(uint16_t(key)),
                      " (correlation id ", correlation_id, ") but got ",
                      protocol::ApiName(frame.api_key), " (correlation id ",
                      frame.correlation_id, ")")));
  }
  response.api_version = frame.api_version;
  response.body = frame.body;
  return response;
}

absl::StatusOr<Response> Connection::Call(protocol::ApiKey key, std::span<const std::byte> body,
                                          int64_t timeout_ms) {
  STRATA_ASSIGN_OR_RETURN(Pending pending, Start(key, body, timeout_ms));
  return Finish(pending);
}

absl::StatusOr<Response> Connection::Finish(const Pending& pending) {
  if (broken_) {
    return absl::UnavailableError(
        absl::StrCat("the connection to ", address_, " was lost; reconnect"));
  }
  return Read(pending.key, pending.correlation_id, pending.deadline);
}

absl::StatusOr<Connection::Pending> Connection::Start(protocol::ApiKey key,
                                                      std::span<const std::byte> body,
                                                      int64_t timeout_ms) {
  if (broken_) {
    return absl::UnavailableError(
        absl::StrCat("the connection to ", address_, " was lost; reconnect"));
  }
  std::optional<uint16_t> version = NegotiatedVersion(key);
  if (!version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the broker at ", address_, " does not serve ", protocol::ApiName(uint16_t(key)),
        " in a version this client speaks: use a client and broker of matching versions"));
  }
  Pending pending{key, next_correlation_id_++, Deadline(timeout_ms)};
  STRATA_RETURN_IF_ERROR(Write(key, *version, pending.correlation_id, body, pending.deadline));
  return pending;
}

absl::Status Connection::Send(protocol::ApiKey key, std::span<const std::byte> body,
                              int64_t timeout_ms) {
  if (broken_) {
    return absl::UnavailableError(
        absl::StrCat("the connection to ", address_, " was lost; reconnect"));
  }
  std::optional<uint16_t> version = NegotiatedVersion(key);
  if (!version) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the broker at ", address_, " does not serve ", protocol::ApiName(uint16_t(key)),
        " in a version this client speaks"));
  }
  return Write(key, *version, next_correlation_id_++, body, Deadline(timeout_ms));
}

}  // namespace strata::client
