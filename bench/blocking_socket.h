// The blocking-socket helpers of the bare round-trip probes (loopback_rtt, produce_rtt): whole
// reads and writes, and a percentile of sorted samples.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <vector>

namespace strata::bench {

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
