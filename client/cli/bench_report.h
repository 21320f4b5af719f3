// BenchReport: what one `strata bench` run measured, and its two renderings: a small table for
// people and one JSON object (one line) for scripts.
//
// Throughput counts what happened in the measured window, which starts at the end of the warmup
// and lasts the duration (or until the N-th event when a record count was asked for): records
// acknowledged (produce) or received (consume, e2e) in it. MiB are 2^20 bytes of record values
// (keys and per-record overhead are not counted). Latencies are of every record sent in the
// window, however late its answer. They come from a Histogram of microseconds, so each
// percentile is within 1/16 (6.25%) of the true value, rounded up, and never above the maximum
// (bench::SummarizeMicros, common/bench_harness.h).
//
// Plain values and pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "common/bench_harness.h"

namespace strata::cli {

struct BenchReport {
  std::string mode;  // "produce", "consume" or "e2e"
  // The setup, echoed so a saved JSON line says what it measured.
  std::string topic;
  int32_t partitions = 0;
  int producers = 0;         // 0 for consume
  int64_t record_bytes = 0;  // value size as sent (consume: the mean value size read)
  std::string acks;          // "0", "1", "all"; empty for consume
  std::string compression;   // "none", "lz4"; empty for consume
  double rate_per_s = 0;     // offered load; 0: closed loop (as fast as possible)
  bool sync = false;         // produce: one record at a time, each waiting for its ack
  double warmup_s = 0;

  // The measured window.
  int64_t records = 0;  // in the window (produce: acknowledged; consume and e2e: received)
  int64_t bytes = 0;    // their value bytes
  double seconds = 0;
  bool has_latency = false;  // produce: send -> acknowledgement; e2e: intended send -> received
  bench::LatencySummary latency;  // common/bench_harness.h
  // How busy all of the machine's cores were over the measured window (/proc/stat); -1 when not
  // measured (produce measures it).
  double machine_cpu_busy_pct = -1;
  int64_t errors = 0;       // failed sends; e2e also records never received
  std::string first_error;  // empty when errors == 0

  double msgs_per_s() const { return seconds > 0 ? double(records) / seconds : 0; }
  double mib_per_s() const { return seconds > 0 ? double(bytes) / double(1 << 20) / seconds : 0; }
};

// A title line ("strata bench produce: topic ... closed loop, 10.0 s after 1.0 s warmup"), a
// header row and a value row, each ending in a newline; then the first error, if any.
std::string FormatBenchTable(const BenchReport& report);

// One JSON object on one line (no newline), e.g.
// {"mode":"produce","topic":"strata-bench","partitions":8,"producers":1,"record_bytes":1024,
//  "acks":"1","compression":"none","rate_per_s":0,"sync":false,"warmup_s":1,"records":1000,
//  "bytes":1024000,"seconds":1.000,"msgs_per_s":1000.0,"mib_per_s":0.977,"latency_ms":{"p50":1.2,"p99":3.4,
//  "p999":5.6,"max":7.8},"machine_cpu_busy_pct":93.1,"errors":0,"first_error":null}
// latency_ms is null when the mode measures none; acks and compression are null for consume;
// machine_cpu_busy_pct is null when it was not measured.
std::string FormatBenchJson(const BenchReport& report);

}  // namespace strata::cli
