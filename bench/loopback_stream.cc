// loopback_stream: the machine's ceiling for W4 of bench/compare.sh. A server in another process
// streams N MiB over one 127.0.0.1 TCP connection in 1 MiB writes, from a 256 MiB buffer it cycles
// through (larger than any CPU cache, as a replay's page cache is); the client reads with 1 MiB
// reads and looks at nothing: no framing, no checksum, no decoding. A replay over one connection
// moves its bytes through the same two copies (sender into the socket, socket into the reader), so
// it cannot beat this. Prints one JSON line:
// {"loopback_stream_mib_s":..,"sender_cpu_s":..,"receiver_cpu_s":..,"mib":N}.
//
//   loopback_stream [mib]      (default 1024)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/blocking_socket.h"

using strata::bench::ConnectTo;
using strata::bench::ListenLoopback;
using strata::bench::ReadFull;
using strata::bench::WriteFull;

namespace {

double CpuSeconds(int who) {
  rusage ru{};
  ::getrusage(who, &ru);
  auto s = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
  const long mib = argc > 1 ? std::atol(argv[1]) : 1024;
  if (mib <= 0) {
    std::fprintf(stderr, "usage: %s [mib]\n", argv[0]);
    return 2;
  }
  constexpr size_t kChunk = 1 << 20, kSource = 256u << 20;
  sockaddr_in addr{};
  const int listener = ListenLoopback(&addr);
  if (listener < 0) {
    std::perror("loopback_stream: listen");
    return 1;
  }
  const pid_t server = ::fork();
  if (server == 0) {
    std::vector<char> source(kSource);
    for (size_t i = 0; i < source.size(); i += 4096) source[i] = char(i >> 12);  // fault it in
    const int c = ::accept(listener, nullptr, nullptr);
    // One byte says "ready": the client's clock starts after the source is faulted in.
    const double cpu_before = CpuSeconds(RUSAGE_SELF);
    if (!WriteFull(c, "r", 1)) _exit(1);
    for (long i = 0; i < mib; ++i) {
      const size_t at = (size_t(i) * kChunk) % kSource;
      if (!WriteFull(c, source.data() + at, kChunk)) _exit(1);
    }
    // Then the CPU the sender spent streaming, as a double in host order.
    const double cpu = CpuSeconds(RUSAGE_SELF) - cpu_before;
    if (!WriteFull(c, &cpu, sizeof(cpu))) _exit(1);
    ::close(c);
    _exit(0);
  }
  ::close(listener);
  const int s = ConnectTo(addr);
  if (s < 0) {
    std::perror("loopback_stream: connect");
    return 1;
  }
  std::vector<char> sink(kChunk);
  double sender_cpu = 0;
  if (!ReadFull(s, sink.data(), 1)) {
    std::fprintf(stderr, "loopback_stream: the sender did not start\n");
    return 1;
  }
  const double cpu_before = CpuSeconds(RUSAGE_SELF);
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < mib; ++i) {
    if (!ReadFull(s, sink.data(), kChunk)) {
      std::fprintf(stderr, "loopback_stream: the stream ended early\n");
      return 1;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double receiver_cpu = CpuSeconds(RUSAGE_SELF) - cpu_before;
  if (!ReadFull(s, &sender_cpu, sizeof(sender_cpu))) {
    std::fprintf(stderr, "loopback_stream: the sender did not report its CPU time\n");
    return 1;
  }
  ::close(s);
  int status = 0;
  ::waitpid(server, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "loopback_stream: the sender failed\n");
    return 1;
  }
  std::printf("{\"loopback_stream_mib_s\":%.1f,\"sender_cpu_s\":%.3f,\"receiver_cpu_s\":%.3f,"
              "\"mib\":%ld}\n",
              double(mib) / seconds, sender_cpu, receiver_cpu, mib);
  return 0;
}
