// OpenLoopSchedule: when an open-loop load generator should send each record, and the stamp that
// carries a record's intended send time inside its value (for end-to-end latency).
//
// In an open loop the i-th record is due at start + i / rate whatever happened to the ones before
// it, and its latency is measured from that intended time, not from when the generator got round
// to sending it: a stalled producer or a full buffer then shows up as latency instead of silently
// lowering the offered load ("coordinated omission"). Several threads share one schedule by
// taking every n-th record (thread k of n sends k, k + n, k + 2n, ...).
//
// Times are steady_clock nanoseconds. Plain values and pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata::cli {

class OpenLoopSchedule {
 public:
  // `rate_per_s` > 0 records per second in all, the first (record 0) due at `start_ns`.
  OpenLoopSchedule(int64_t start_ns, double rate_per_s)
      : start_ns_(start_ns), rate_per_s_(rate_per_s) {}

  // When record `i` (0-based) is due.
  int64_t IntendedNs(int64_t i) const;
  // How many records are due strictly before `t_ns` (the index of the first one due at or after).
  int64_t CountBefore(int64_t t_ns) const;

  int64_t start_ns() const { return start_ns_; }
  double rate_per_s() const { return rate_per_s_; }

 private:
  int64_t start_ns_;
  double rate_per_s_;
};

// A bench value starts with an 8-byte magic and the record's intended send time (i64
// little-endian steady_clock ns); the rest is filler. The consumer of `strata bench e2e` runs in
// the same process as the producer, so both read the same steady clock.
inline constexpr std::string_view kStampMagic = "STRBENCH";
inline constexpr size_t kStampBytes = 16;

// Overwrites the first kStampBytes of `value` (which must be at least that long).
void WriteStamp(std::string& value, int64_t intended_ns);
// The intended send time in `value`, or nullopt if it is not a bench value.
std::optional<int64_t> ReadStamp(std::string_view value);

}  // namespace strata::cli
