// The blocking-socket helpers of the bare round-trip probes (loopback_rtt, produce_rtt): whole
// reads and writes, and a percentile of sorted samples.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace strata::bench {

// A socket listening on 127.0.0.1 at a free port, whose address goes to *addr; -1 on an error.
inline int ListenLoopback(sockaddr_in* addr) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(*addr);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(addr), sizeof(*addr)) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(addr), &len) != 0) {
    if (listener >= 0) ::close(listener);
    return -1;
  }
  return listener;
}

// A socket connected to `addr`; -1 on an error.
inline int ConnectTo(const sockaddr_in& addr) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  if (::connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(s);
    return -1;
  }
  return s;
}

// Reads exactly n bytes; false on EOF or an error.
inline bool ReadFull(int fd, void* data, size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
  }
  return true;
}

// Writes exactly n bytes; false on an error.
inline bool WriteFull(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t r = ::write(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
  }
  return true;
}

// The q-quantile (0..1) of samples sorted ascending; samples must not be empty.
inline double SortedQuantile(const std::vector<double>& sorted, double q) {
  return sorted[std::min(sorted.size() - 1, size_t(q * double(sorted.size())))];
}

}  // namespace strata::bench
