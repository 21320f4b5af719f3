// What the peer benchmark clients (redis_bench, nats_bench) share: their options, the clock, the
// values they send, the send-time stamp inside a value, and the one JSON object each run prints.
//
// The peers run the workloads of docs/compare.md against Redis Streams and NATS JetStream so that
// bench/compare.sh can put them beside `strata bench`. They measure the way `strata bench` does:
// latencies in microseconds in a strata::Histogram (common/histogram.h: every percentile within
// 6.25%, rounded up), throughput as records over the measured window, MiB = 2^20 bytes of values.
//
//   produce  `producers` threads, each with its own connection and stream (`stream`, or
//            `stream`-k with more than one), send `records` in all as fast as a window of
//            `window` unanswered messages allows (pipelining or async publish). Latency: send ->
//            ack. Window: first send -> last ack.
//   sync     one thread sends one message, waits for its ack, then sends the next. `warmup_s`
//            seconds first, not counted, then `records` measured.
//   replay   one consumer reads `stream` from its first message until `records` were read.
//   e2e      one producer at `rate_per_s` (open loop: message i is due at start + i / rate, and
//            its latency runs from then) and one consumer tailing the stream, for `warmup_s` +
//            `duration_s`; each value carries its intended send time. Throughput counts what
//            arrives within the measured window; latency covers every message due in it, however
//            late. Messages acknowledged but not received 10 s after the end count as errors.
//
// Plain functions and values; PeerStats is thread-safe (atomics and a mutex).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/cpu_usage.h"
#include "common/histogram.h"

namespace strata::peers {

struct PeerOptions {
  std::string system;  // "redis" or "nats", set by the program
  std::string mode;    // produce | sync | replay | e2e
  std::string host = "127.0.0.1";
  int port = 0;
  std::string stream = "bench";
  int64_t records = 0;
  int64_t record_bytes = 1024;
  int producers = 1;
  int64_t window = 1000;     // produce, e2e: unanswered messages at most (per producer)
  int64_t batch = 1000;      // replay, e2e consumer: messages asked for per read
  double rate_per_s = 1000;  // e2e
  double duration_s = 10;    // e2e
  double warmup_s = 0;       // sync, e2e
  std::string consumer;      // nats: "pull" or "ordered"
};

// Parses --name value pairs into `options`. On a bad or unknown flag prints the usage (naming
// `extra_usage` lines for program-specific flags) and exits 2.
void ParseOptions(int argc, char** argv, PeerOptions& options, const char* extra_usage);

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Sleeps until `t_ns` on the steady clock when it is far enough ahead for a sleep to be accurate.
void SleepUntilNs(int64_t t_ns);

// When message i of an open loop at `rate_per_s` starting at `start_ns` is due.
inline int64_t IntendedNs(int64_t start_ns, double rate_per_s, int64_t i) {
  return start_ns + int64_t(double(i) * 1e9 / rate_per_s);
}

// Random bytes, made once; Value(i) is a `value_bytes` window at an offset that varies with i.
class ValuePool {
 public:
  explicit ValuePool(size_t value_bytes);
  std::string_view Value(int64_t i) const;

 private:
  size_t value_bytes_;
  std::string pool_;
};

// A value's first kStampBytes: the magic "STRBENCH" and a steady-clock time in ns (i64 LE), as in
// client/cli/bench_schedule.h.
inline constexpr size_t kStampBytes = 16;
// Copies `value` into `out` with the stamp written over its start (`value` must be that long).
void StampedValue(std::string_view value, int64_t ns, std::string& out);
std::optional<int64_t> ReadStamp(std::string_view value);

// What one run counts. Latency in microseconds.
struct PeerStats {
  Histogram latency_us;
  std::atomic<int64_t> records{0};  // in the measured window
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> errors{0};
  // All cores' busy % over the measured window (produce mode), -1 when not measured.
  double machine_cpu_busy_pct = -1;
  std::mutex mu;
  std::string first_error;  // guarded by mu

  void Error(const std::string& what) { AddErrors(1, what); }
  // Counts `n` errors; `what` becomes the first error if there was none (n > 0).
  void AddErrors(int64_t n, const std::string& what);
};

// The e2e workload's window and how a reception counts, as `strata bench e2e` does: throughput
// counts the receptions in the measured window (by when they arrive), latency every message due
// in it (however late it arrives). Sending starts 50 ms after construction.
struct E2eWindow {
  E2eWindow(const PeerOptions& options, PeerStats& stats);
  void CountReception(int64_t intended_ns, int64_t now_ns, int64_t value_bytes);

  const int64_t start_ns;
  const int64_t measure_start_ns;
  const int64_t end_ns;
  std::atomic<int64_t> received_counted{0};  // messages due in the window that arrived
  PeerStats& stats;
};

// Prints the run as one JSON line on stdout, the same fields as `strata bench --json` where they
// mean the same thing: {"system":..,"mode":..,"stream":..,"producers":..,"record_bytes":..,
// "rate_per_s":..,"records":..,"bytes":..,"seconds":..,"msgs_per_s":..,"mib_per_s":..,
// "latency_ms":{"p50":..,"p99":..,"p999":..,"max":..}|null,"machine_cpu_busy_pct":..|null,
// "errors":..,"first_error":..|null}.
void PrintReport(const PeerOptions& options, PeerStats& stats, double seconds, bool has_latency);

}  // namespace strata::peers
