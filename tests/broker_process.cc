#include "tests/broker_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "common/endian.h"
#include "protocol/frame.h"

namespace strata::test {

std::string StratadPath() { return STRATAD_PATH; }

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/strata-test-XXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  path_ = dir;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

BrokerProcess::BrokerProcess(std::string data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {
  log_path_ = data_dir_ + ".stratad.log";
  Spawn();
}

BrokerProcess::~BrokerProcess() { Kill(); }

void BrokerProcess::Spawn() {
  // The first start takes any free ports; a restart takes the same ones again, so clients
  // configured with the old address (a producer mid-stream) reconnect to the new process.
  std::vector<std::string> args = {StratadPath(),
                                   "--data-dir", data_dir_,
                                   "--listen", "127.0.0.1:" + std::to_string(port_),
                                   "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port_),
                                   "--log-level", "info"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  // Each start appends to the same log, so a restart's line is found after the previous ones.
  const auto start_size = [&] {
    std::error_code ec;
    auto n = std::filesystem::file_size(log_path_, ec);
    return ec ? 0 : n;
  }();
  // Everything the child needs is prepared before fork: in a multi-threaded test (producers
  // running) the child may only make async-signal-safe calls, so no allocation after fork.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* log_path = log_path_.c_str();
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDERR_FILENO);
      dup2(fd, STDOUT_FILENO);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = ReadLog();
    log = log.size() > start_size ? log.substr(start_size) : "";
    const auto native = log.find("native protocol on 127.0.0.1:");
    const auto metrics = log.find("metrics on http://127.0.0.1:");
    if (native != std::string::npos && metrics != std::string::npos) {
      port_ = static_cast<uint16_t>(std::atoi(log.c_str() + native + 29));
      metrics_port_ = static_cast<uint16_t>(std::atoi(log.c_str() + metrics + 28));
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("stratad exited during start-up:\n" << log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  FAIL("stratad did not report its ports within 20 s:\n" << ReadLog());
}

int BrokerProcess::Terminate(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
  return -1;
}

void BrokerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void BrokerProcess::Restart() {
  Kill();
  Spawn();
}

std::string BrokerProcess::ReadLog() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

RawConnection::RawConnection(uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::Send(std::span<const std::byte> bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawConnection::Send(const std::string& bytes) {
  return Send({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
}

bool RawConnection::SendFrame(uint32_t correlation_id, uint16_t api_key, uint16_t api_version,
                              std::span<const std::byte> body) {
  auto frame = protocol::EncodeFrame(correlation_id, api_key, api_version, body);
  REQUIRE(frame.ok());
  return Send(*frame);
}

absl::StatusOr<std::vector<std::byte>> RawConnection::ReadFrame(
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::byte> buf;
  size_t want = 4;
  while (buf.size() < want) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return absl::DeadlineExceededError("no frame in time");
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    std::byte chunk[65536];
    const size_t room = std::min(sizeof(chunk), want - buf.size());
    ssize_t n = recv(fd_, chunk, room, 0);
    if (n <= 0) return absl::UnavailableError("connection closed by the broker");
    buf.insert(buf.end(), chunk, chunk + n);
    if (buf.size() == 4) want = 4 + GetU32(buf.data());
  }
  return buf;
}

bool RawConnection::WaitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    std::byte chunk[4096];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return true;
  }
  return false;
}

std::string RawConnection::ReadToEnd(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    out.append(chunk, static_cast<size_t>(n));
  }
  return out;
}

std::string FetchMetrics(uint16_t port) {
  RawConnection c(port);
  c.Send(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string response = c.ReadToEnd(std::chrono::seconds(10));
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

std::optional<double> MetricValue(const std::string& metrics, const std::string& series) {
  size_t pos = 0;
  while ((pos = metrics.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || metrics[pos - 1] == '\n') {
      return std::strtod(metrics.c_str() + pos + series.size() + 1, nullptr);
    }
    ++pos;
  }
  return std::nullopt;
}

}  // namespace strata::test
