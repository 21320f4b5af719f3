// loopback_rtt: the machine's floor for W2 of bench/compare.sh. A client sends a 1 KiB request and
// waits for a 16-byte answer from a server in another process over 127.0.0.1, N times, with
// blocking sockets and TCP_NODELAY: no framing, no parsing, no storage, no threads handing work
// to each other. Every system's one-at-a-time latency (W2) pays at least this. Prints one JSON
// line: {"rtt_p50_ms":..,"rtt_p99_ms":..,"rtt_p999_ms":..,"round_trips":N}.
//
//   loopback_rtt [round_trips]      (default 20000)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench/blocking_socket.h"

using strata::bench::ConnectTo;
using strata::bench::ListenLoopback;
using strata::bench::ReadFull;
using strata::bench::SortedQuantile;
using strata::bench::WriteFull;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  if (n <= 0) {
    std::fprintf(stderr, "usage: %s [round_trips]\n", argv[0]);
    return 2;
  }
  constexpr size_t kRequest = 1024, kAnswer = 16;
  const int one = 1;
  sockaddr_in addr{};
  const int listener = ListenLoopback(&addr);
  if (listener < 0) {
    std::perror("loopback_rtt: listen");
    return 1;
  }
  const pid_t server = ::fork();
  if (server == 0) {
    const int c = ::accept(listener, nullptr, nullptr);
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char request[kRequest], answer[kAnswer] = {};
    for (int i = 0; i < n; ++i) {
      if (!ReadFull(c, request, kRequest) || !WriteFull(c, answer, kAnswer)) _exit(1);
    }
    _exit(0);
  }
  const int s = ConnectTo(addr);
  if (s < 0) {
    std::perror("loopback_rtt: connect");
    return 1;
  }
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  char request[kRequest] = {}, answer[kAnswer];
  std::vector<double> ms;
  ms.reserve(size_t(n));
  for (int i = 0; i < n; ++i) {
    const auto start = std::chrono::steady_clock::now();
    if (!WriteFull(s, request, kRequest) || !ReadFull(s, answer, kAnswer)) return 1;
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  ::close(s);
  int status = 0;
  ::waitpid(server, &status, 0);
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return SortedQuantile(ms, q); };
  std::printf("{\"rtt_p50_ms\":%.4f,\"rtt_p99_ms\":%.4f,\"rtt_p999_ms\":%.4f,\"round_trips\":%d}\n",
              at(0.5), at(0.99), at(0.999), n);
  return 0;
}
