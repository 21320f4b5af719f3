// `strata bench produce|consume|e2e`: load generators that measure a live broker through the
// client library, the way an application sees it.
//
//   produce  `producers` threads, each with its own Producer, send records of `record_bytes`
//            random bytes (generated once) with keys spread over the partitions, or null keys.
//            Closed loop (rate 0): as fast as each producer's bounded buffer takes them; latency
//            runs from just before Send to the record's callback. Open loop (rate > 0, in all):
//            record i is due at start + i / rate and its latency runs from that intended time,
//            so queueing anywhere counts (common/bench_harness.h). Sync (`sync`): each producer
//            sends one record at a time with linger 0 and waits for its acknowledgement before the
//            next, so the latency is one round trip through the broker (with acks=-1 or a
//            flush_always topic, one that includes an fsync); msgs/s is then 1 / that latency per
//            producer.
//   consume  one Consumer reads every partition from the earliest offset until `records` are
//            read, `duration_s` passes or it reaches the ends it saw when it started.
//   e2e      producers at `rate_per_s` (1000/s when 0) and one consumer tailing from the latest
//            offsets, in one process: each value carries its intended send time (steady clock),
//            and the latency is the consumer's receive time minus that. Records acknowledged but
//            not received within 10 s of the end count as errors.
//
// Every mode first runs `warmup_s` unmeasured, then measures for `duration_s` (or until
// `records` records were acknowledged or received after the warmup; produce and e2e send that
// many after it). The result is a BenchReport (bench_report.h), printed as a table
// or JSON on `out`; a once-a-second progress line goes to `err` when BrokerOptions::progress is
// set.
//
// Each call is independent and shares no state with others; it starts and joins its own threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "client/cli/bench_report.h"
#include "client/cli/broker_commands.h"
#include "common/status.h"
#include "record/batch.h"

namespace strata::cli {

// Producer threads one bench run may start. Each holds its own connection, sender thread and
// buffer (buffer_bytes, 32 MiB by default), so this bounds the tool's memory and threads.
// TODO(limits): move to common/limits.h as bench_producers_max.
inline constexpr int kBenchProducersMax = 64;

struct BenchOptions {
  std::string topic = "strata-bench";
  int32_t partitions = 8;       // used when the topic does not exist and is created
  int64_t record_bytes = 1024;  // value size; e2e needs at least bench::kStampBytes (16)
  int producers = 1;            // produce and e2e: Producer instances, one thread each
  int acks = 1;                 // 0, 1 or -1 (all)
  record::Compression compression = record::Compression::kNone;
  double duration_s = 10;  // measured time, after the warmup
  int64_t records = 0;     // > 0: measure this many records instead of duration_s
  double rate_per_s = 0;   // offered load in all; 0: closed loop (e2e: 1000)
  size_t batch_bytes = 128 << 10;
  int64_t linger_ms = 1;
  bool null_keys = false;  // produce: null keys (sticky partitioning) instead of spread keys
  // produce: producer k writes only partition k mod the partition count (one stream per
  // producer, the layout of bench/compare.sh's peers) instead of spreading its keys over all
  bool partition_per_producer = false;
  bool sync = false;       // produce: one record at a time, each waiting for its ack (linger 0)
  bool json = false;       // one JSON object instead of the table
  double warmup_s = 1;     // unmeasured time first
};

// InvalidArgument naming the bad option, for any mode.
absl::Status ValidateBenchOptions(const BenchOptions& options);

// Each writes its report to `out` and returns it. A run in which records failed (or, in e2e,
// went missing) prints its report and then returns the first failure; a run that cannot start
// (bad options, an unreachable broker, a missing or empty topic for consume) prints nothing.
absl::StatusOr<BenchReport> BenchProduce(const BrokerOptions& broker, const BenchOptions& options,
                                         std::ostream& out, std::ostream& err);
absl::StatusOr<BenchReport> BenchConsume(const BrokerOptions& broker, const BenchOptions& options,
                                         std::ostream& out, std::ostream& err);
absl::StatusOr<BenchReport> BenchE2e(const BrokerOptions& broker, const BenchOptions& options,
                                     std::ostream& out, std::ostream& err);

}  // namespace strata::cli
