// BrokerProcess: a real `stratad` child process for integration tests, on 127.0.0.1 with
// ephemeral ports, its data in a directory the test owns. The destructor always kills it (SIGKILL)
// if it is still running, so a failing test never leaks a broker.
//
// RawConnection: a blocking TCP client that speaks frames (protocol/frame.h) and nothing more,
// for tests that must send what a well-behaved client never would.
//
// Not thread-safe; one test thread drives each.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace strata::test {

// The stratad binary; set by CMake (STRATAD_PATH).
std::string StratadPath();
// A fresh empty directory under $TMPDIR, removed by ~TempDir.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class BrokerProcess {
 public:
  // Starts stratad on `data_dir` with any extra flags and waits (up to 20 s) for its
  // "native protocol on" log line. REQUIREs success.
  explicit BrokerProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  ~BrokerProcess();

  uint16_t port() const { return port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }

  // SIGTERM, then waits for exit; returns the exit code (-1 on timeout, after a SIGKILL).
  int Terminate(std::chrono::seconds timeout = std::chrono::seconds(30));
  // SIGKILL and reap.
  void Kill();
  // Starts again on the same data directory and ports.
  void Restart();
  bool running() const { return pid_ > 0; }
  // The child's pid (-1 when not running), for tests that send it signals (SIGSTOP, SIGCONT).
  pid_t pid() const { return pid_; }
  std::string ReadLog() const;

 private:
  void Spawn();

  std::string data_dir_;
  std::vector<std::string> extra_args_;
  std::string log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
};

class RawConnection {
 public:
  explicit RawConnection(uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Sends raw bytes; false once the peer has closed.
  bool Send(std::span<const std::byte> bytes);
  bool Send(const std::string& bytes);
  // Sends a frame with `body`.
  bool SendFrame(uint32_t correlation_id, uint16_t api_key, uint16_t api_version,
                 std::span<const std::byte> body);
  // The next whole frame (header included); Unavailable when the peer closed, DeadlineExceeded
  // on timeout.
  absl::StatusOr<std::vector<std::byte>> ReadFrame(std::chrono::milliseconds timeout);
  // True if the peer closes the connection within `timeout` (reads and discards anything sent).
  bool WaitClosed(std::chrono::milliseconds timeout);
  // Everything the peer sends until it closes (or `timeout`).
  std::string ReadToEnd(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

// An HTTP GET of the broker's /metrics (body only).
std::string FetchMetrics(uint16_t port);
// The value of the first metrics line starting with `series` (e.g. `strata_requests_total{api=
// "Produce"}`); nullopt when absent.
std::optional<double> MetricValue(const std::string& metrics, const std::string& series);

}  // namespace strata::test
