// How busy all of the machine's cores were between two moments, from /proc/stat.
//
// The benchmarks (`strata bench produce`, bench/peers) report it over their own measured window,
// so that "was the CPU saturated?" is answered for the same span as the throughput beside it: a
// whole command's span also holds its start-up (connecting, creating the topic), which for a
// sub-second run hides a saturated window (W6 of bench/compare.sh).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>

namespace strata {

struct CpuSample {
  uint64_t total = 0;  // jiffies, all cores, all states
  uint64_t idle = 0;   // idle + iowait
};

// The first ("cpu ") line of /proc/stat, or nullopt where there is none.
inline std::optional<CpuSample> SampleMachineCpu() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return std::nullopt;
  unsigned long long v[8] = {};
  const int n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                            &v[3], &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n < 5) return std::nullopt;
  CpuSample s;
  for (unsigned long long x : v) s.total += x;
  s.idle = v[3] + v[4];
  return s;
}

// Busy % of all cores from `a` to `b`; -1 when either is missing or no time passed.
inline double BusyPercent(const std::optional<CpuSample>& a, const std::optional<CpuSample>& b) {
  if (!a || !b || b->total <= a->total) return -1;
  const double total = double(b->total - a->total);
  return 100.0 * (total - double(b->idle - a->idle)) / total;
}

}  // namespace strata
