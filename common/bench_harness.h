// What every Strata load generator shares: `strata bench` (client/cli/bench.h) and the peer
// clients that bench/compare.sh runs against Redis Streams and NATS JetStream (bench/peers/). They
// use one clock, one open-loop schedule, the same values and the same latency summary, so that
// their figures mean the same thing side by side (docs/compare.md):
//
//   NowNs, SleepUntilNs   steady_clock nanoseconds, and a sleep only where it can be accurate
//   OpenLoopSchedule      when record i of an open loop is due
//   ValuePool             random bytes made once; record i's value is a window of them
//   WriteStamp, ReadStamp a value's first 16 bytes: "STRBENCH" and its intended send time
//   LatencySummary        p50, p99, p99.9 and max in ms of a Histogram of microseconds, and
//                         its JSON object
//
// Plain values and pure functions (a ValuePool is not changed after it is made): safe from any
// thread. Depends only on common/.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/histogram.h"

namespace strata::bench {

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Sleeps until `t_ns` (NowNs) when it is far enough ahead for a sleep to be accurate; closer than
// that, a sleep would overshoot (timer slack), so it returns at once and the caller sends now.
void SleepUntilNs(int64_t t_ns);

// In an open loop the i-th record is due at start + i / rate whatever happened to the ones before
// it, and its latency is measured from that intended time, not from when the generator got round
// to sending it: a stalled producer or a full buffer then shows up as latency instead of silently
// lowering the offered load ("coordinated omission"). Several threads share one schedule by
// taking every n-th record (thread k of n sends k, k + n, k + 2n, ...).
class OpenLoopSchedule {
 public:
  // `rate_per_s` > 0 records per second in all, the first (record 0) due at `start_ns`.
  OpenLoopSchedule(int64_t start_ns, double rate_per_s)
      : start_ns_(start_ns), rate_per_s_(rate_per_s) {}

  // When record `i` (0-based) is due, rounded to the nearest ns (so it never drifts).
  int64_t IntendedNs(int64_t i) const;
  // How many records are due strictly before `t_ns` (the index of the first one due at or after).
  int64_t CountBefore(int64_t t_ns) const;

  int64_t start_ns() const { return start_ns_; }
  double rate_per_s() const { return rate_per_s_; }

 private:
  int64_t start_ns_;
  double rate_per_s_;
};

// Random bytes (a fixed seed), made once. Value(i) is a `value_bytes` window of them at an offset
// that varies with i, so values differ (and do not compress) without being made per record.
class ValuePool {
 public:
  explicit ValuePool(size_t value_bytes);
  // Valid while the pool lives.
  std::string_view Value(int64_t i) const;

 private:
  const size_t value_bytes_;
  std::string pool_;
};

// A stamped value starts with an 8-byte magic and a time, usually the record's intended send time
// (i64 little-endian NowNs); the rest is filler. Sender and receiver must share the steady clock:
// `strata bench e2e` runs both in one process, the peers on one machine.
inline constexpr std::string_view kStampMagic = "STRBENCH";
inline constexpr size_t kStampBytes = 16;

// Overwrites the first kStampBytes of `value` (which must be at least that long).
void WriteStamp(std::string& value, int64_t ns);
// The time stamped in `value`, or nullopt if it is not a stamped value.
std::optional<int64_t> ReadStamp(std::string_view value);

struct LatencySummary {
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// Percentiles of a histogram of microseconds, in milliseconds (each within 6.25%, rounded up,
// never above the maximum: common/histogram.h).
LatencySummary SummarizeMicros(const Histogram& latency_us);
// {"p50":1.234,"p99":..,"p999":..,"max":..}, in ms with three decimals.
std::string LatencyJson(const LatencySummary& latency);

}  // namespace strata::bench
