// What the peer benchmark clients (redis_bench, nats_bench) share: their options, the frame of each
// workload (RunProduceMode, RunSyncMode, E2eWindow), what a run counts and the one JSON object it
// prints. The clock, the open-loop schedule, the values and the send-time stamp inside a value are
// the ones `strata bench` uses (common/bench_harness.h).
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
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/bench_harness.h"
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

// The harness's pieces that the peers use by their short names.
using bench::kStampBytes;
using bench::NowNs;
using bench::ReadStamp;
using bench::ValuePool;
using bench::WriteStamp;

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
  // Counts one message of `value_bytes` in the measured window.
  void Count(int64_t value_bytes) {
    records.fetch_add(1, std::memory_order_relaxed);
    bytes.fetch_add(value_bytes, std::memory_order_relaxed);
  }
  // The same, for a message answered `latency_ns` after it was sent (or due).
  void Count(int64_t value_bytes, int64_t latency_ns) {
    Count(value_bytes);
    latency_us.Record(latency_ns / 1000);
  }
};

// One producer thread of the produce mode: its index `k`, its stream (`stream`, or `stream`-k
// with more than one producer) and how many messages it sends.
struct ProducerSlot {
  int k = 0;
  std::string stream;
  int64_t count = 0;
  const ValuePool* values = nullptr;
  int producers = 1;
  // Waits until every producer is connected, then returns the time its measured window opens.
  std::function<int64_t()> start;

  // The value of this producer's `i`-th message (producers take turns through the pool).
  std::string_view Value(int64_t i) const { return values->Value(i * producers + k); }
};

// The produce mode: runs `produce` on `producers` threads. Each connects, calls slot.start(),
// sends slot.count messages (counting each answer into `stats`) and returns the time of its last
// acknowledgement. The machine's CPU is measured from the moment every producer is connected;
// the report covers the first start to the last acknowledgement.
void RunProduceMode(const PeerOptions& options, PeerStats& stats,
                    const std::function<int64_t(const ProducerSlot& slot)>& produce);

// The sync mode: `send(value)` sends one message and waits for its answer, returning an error
// text ("" when acknowledged). Messages sent after `warmup_s` count, with latency send -> answer,
// until `records` counted or more than 100 errors (a broken setup, not a slow server). Prints the
// report.
void RunSyncMode(const PeerOptions& options, PeerStats& stats,
                 const std::function<std::string(std::string_view value)>& send);

// The replay mode: `read(remaining)` reads the next messages (at most `remaining`), counting each
// with stats.Count(value bytes), and returns an error text ("" when it read). Reads until
// `records` were read or an error; prints the report over the time from the first read to the
// last.
void RunReplayMode(const PeerOptions& options, PeerStats& stats,
                   const std::function<std::string(int64_t remaining)>& read);

// The e2e workload's window and how a reception counts, as `strata bench e2e` does: throughput
// counts the receptions in the measured window (by when they arrive), latency every message due
// in it (however late it arrives). Sending starts 50 ms after construction.
struct E2eWindow {
  explicit E2eWindow(const PeerOptions& options);
  void CountReception(int64_t intended_ns, int64_t now_ns, int64_t value_bytes);

  // Sends messages 0, 1, ... each at its due time (the open loop at `rate_per_s`), its value
  // stamped with that time, until the window ends or `send(value, due_ns)` returns false.
  void SendOpenLoop(const std::function<bool(const std::string& value, int64_t due_ns)>& send);
  // Once every message is answered: waits up to 10 s for the consumer to receive the
  // `acked_counted` acknowledged messages due in the window.
  void AwaitReceptions(const std::atomic<int64_t>& acked_counted);
  // Once the consumer has stopped: counts the sender's errors and the acknowledged `what` (e.g.
  // "messages") that never arrived as errors, and prints the report.
  void Report(int64_t acked_counted, const std::string& what);

  const PeerOptions& options;
  const ValuePool values;
  const int64_t start_ns;
  const int64_t measure_start_ns;
  const int64_t end_ns;
  PeerStats stats;                           // the consumer's receptions and end-to-end latencies
  PeerStats sends;                           // the sender's errors
  std::atomic<int64_t> received_counted{0};  // messages due in the window that arrived
};

// Prints the run as one JSON line on stdout, the same fields as `strata bench --json` where they
// mean the same thing: {"system":..,"mode":..,"stream":..,"producers":..,"record_bytes":..,
// "rate_per_s":..,"records":..,"bytes":..,"seconds":..,"msgs_per_s":..,"mib_per_s":..,
// "latency_ms":{"p50":..,"p99":..,"p999":..,"max":..}|null,"machine_cpu_busy_pct":..|null,
// "errors":..,"first_error":..|null}.
void PrintReport(const PeerOptions& options, PeerStats& stats, double seconds, bool has_latency);

}  // namespace strata::peers
