// EtcdProcess: a real single-member etcd child process for tests, on 127.0.0.1 with free ports,
// its data directory and log (etcd.log beside data/) in a fresh temporary directory that the
// destructor removes. The destructor always kills it (SIGKILL), so a failing test never leaks an
// etcd; so does the death of the test process (PR_SET_PDEATHSIG).
//
// Not thread-safe; one test thread drives each.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace strata::test {

// The etcd binary; set by CMake (ETCD_PATH).
std::string EtcdPath();

class EtcdProcess {
 public:
  // Starts etcd and waits (up to 20 s) until it reports itself healthy (it has a leader). A port
  // taken by someone else between choosing it and etcd binding it makes etcd exit; up to three
  // starts are tried, each on new ports. REQUIREs success.
  EtcdProcess();
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // "127.0.0.1:PORT", for EtcdHttpClient.
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  uint16_t client_port() const { return client_port_; }
  const std::string& log_path() const { return log_path_; }
  bool running() const { return pid_ > 0; }

  // SIGKILL and reap.
  void Kill();
  // Starts again on the same data directory and ports and waits until healthy. REQUIREs success.
  void Restart();
  // SIGSTOP / SIGCONT: etcd's sockets stay open (the kernel still accepts connections) but
  // nothing answers, as with a hung server.
  void Pause();
  void Resume();
  std::string ReadLog() const;

 private:
  // Starts etcd and waits until healthy; false when it exited during start-up.
  bool Start();

  std::string dir_;
  std::string data_dir_;
  std::string log_path_;
  pid_t pid_ = -1;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
};

}  // namespace strata::test
