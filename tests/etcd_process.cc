#include "tests/etcd_process.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

namespace strata::test {
namespace {

// Two distinct free ports on 127.0.0.1: bound to port 0 together (so the kernel cannot give the
// same one twice), then released for etcd. Someone may take one in between; Start notices.
std::pair<uint16_t, uint16_t> FreePorts() {
  uint16_t ports[2] = {0, 0};
  int fds[2] = {-1, -1};
  for (int i = 0; i < 2; ++i) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fds[i] >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fds[i], reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(fds[i], reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ports[i] = ntohs(addr.sin_port);
  }
  close(fds[0]);
  close(fds[1]);
  return {ports[0], ports[1]};
}

size_t AppendBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// True when etcd's /health says it is healthy: it serves clients and has a leader.
bool Healthy(uint16_t port) {
  CURL* curl = curl_easy_init();
  REQUIRE(curl != nullptr);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/health";
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK && body.find("\"health\":\"true\"") != std::string::npos;
}

}  // namespace

std::string EtcdPath() { return ETCD_PATH; }

EtcdProcess::EtcdProcess() {
  static const CURLcode curl_init = curl_global_init(CURL_GLOBAL_DEFAULT);
  REQUIRE(curl_init == CURLE_OK);
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/strata-etcd-XXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  dir_ = dir;
  data_dir_ = dir_ + "/data";
  log_path_ = dir_ + "/etcd.log";
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::tie(client_port_, peer_port_) = FreePorts();
    if (Start()) return;
    // A half-made member directory names the old ports; the next try starts from nothing.
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }
  FAIL("etcd did not start in three tries:\n" << ReadLog());
}

EtcdProcess::~EtcdProcess() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

bool EtcdProcess::Start() {
  const std::string client_url = "http://127.0.0.1:" + std::to_string(client_port_);
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  // A single member never holds a contested election, so short raft timings cost nothing and
  // make a restart elect itself in ~0.1 s instead of ~2 s. They also lower etcd's smallest lease
  // TTL (1.5 election timeouts) to 1 s.
  // clang-format off
  std::vector<std::string> args = {EtcdPath(),
      "--name", "strata-test",
      "--data-dir", data_dir_,
      "--listen-client-urls", client_url,
      "--advertise-client-urls", client_url,
      "--listen-peer-urls", peer_url,
      "--initial-advertise-peer-urls", peer_url,
      "--initial-cluster", "strata-test=" + peer_url,
      "--initial-cluster-state", "new",
      "--heartbeat-interval", "10",
      "--election-timeout", "100",
      "--auto-compaction-retention", "0",
      "--logger", "zap",
      "--log-outputs", "stderr"};
  // clang-format on
  // Everything the child needs is prepared before fork: in a multi-threaded test (watch threads
  // running) the child may only make async-signal-safe calls, so no allocation after fork.
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* log_path = log_path_.c_str();
  const pid_t parent = getpid();
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    // Dies with the test process, even one killed before its destructors run.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
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
    if (Healthy(client_port_)) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  FAIL("etcd was not healthy within 20 s:\n" << ReadLog());
  return false;
}

void EtcdProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void EtcdProcess::Restart() {
  Kill();
  // The ports are etcd's again at once: Go sets SO_REUSEADDR on its listeners.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (Start()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  FAIL("etcd did not restart in three tries:\n" << ReadLog());
}

void EtcdProcess::Pause() {
  REQUIRE(pid_ > 0);
  kill(pid_, SIGSTOP);
}

void EtcdProcess::Resume() {
  REQUIRE(pid_ > 0);
  kill(pid_, SIGCONT);
}

std::string EtcdProcess::ReadLog() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace strata::test
