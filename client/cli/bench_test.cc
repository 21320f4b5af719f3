// Tests for the pure pieces of `strata bench`: option validation and the report (table and JSON).
// tests/ runs `strata bench` against stratad; common/bench_harness_test.cc tests the schedule,
// values and stamps it shares with the peer clients.
#include "client/cli/bench.h"

#include <catch2/catch.hpp>
#include <string>

#include "client/cli/bench_report.h"

namespace strata::cli {
namespace {

TEST_CASE("ValidateBenchOptions names the bad option") {
  BenchOptions o;
  CHECK(ValidateBenchOptions(o).ok());
  auto fails_on = [](BenchOptions bad, const std::string& flag) {
    const absl::Status st = ValidateBenchOptions(bad);
    INFO(st);
    CHECK(absl::IsInvalidArgument(st));
    CHECK(std::string(st.message()).find(flag) != std::string::npos);
  };
  o = {};
  o.producers = 0;
  fails_on(o, "--producers");
  o = {};
  o.producers = kBenchProducersMax + 1;
  fails_on(o, "--producers");
  o = {};
  o.partitions = 0;
  fails_on(o, "--partitions");
  o = {};
  o.record_bytes = -1;
  fails_on(o, "--record-bytes");
  o = {};
  o.duration_s = 0;
  fails_on(o, "--duration");
  o.records = 10;  // a record count replaces the duration
  CHECK(ValidateBenchOptions(o).ok());
  o = {};
  o.rate_per_s = -1;
  fails_on(o, "--rate");
  o = {};
  o.batch_bytes = 0;
  fails_on(o, "--batch-bytes");
  o = {};
  o.acks = 2;
  fails_on(o, "--acks");
  o = {};
  o.sync = true;
  CHECK(ValidateBenchOptions(o).ok());
  o.rate_per_s = 100;  // sync sends when the previous ack arrives, not on a schedule
  fails_on(o, "--sync");
  o = {};
  o.sync = true;
  o.acks = 0;  // no ack to wait for
  fails_on(o, "--sync");
  o = {};
  o.partition_per_producer = true;
  CHECK(ValidateBenchOptions(o).ok());
  o.null_keys = true;  // the partition is chosen: there is no key to leave out
  fails_on(o, "--partition-per-producer");
}

BenchReport ProduceReport() {
  BenchReport r;
  r.mode = "produce";
  r.topic = "strata-bench";
  r.partitions = 8;
  r.producers = 1;
  r.record_bytes = 1024;
  r.acks = "all";
  r.compression = "none";
  r.warmup_s = 1;
  r.records = 2048;
  r.bytes = 2048 * 1024;  // 2 MiB
  r.seconds = 2;
  r.has_latency = true;
  r.latency = {1.5, 3.25, 4, 12.125};
  return r;
}

TEST_CASE("The table shows the setup, the throughput and the latencies") {
  const BenchReport r = ProduceReport();
  CHECK(r.msgs_per_s() == 1024);
  CHECK(r.mib_per_s() == 1);
  CHECK(FormatBenchTable(r) ==
        "strata bench produce: topic strata-bench (8 partitions, 1 producer, 1024 B values, "
        "acks=all, compression none, closed loop; 2.0 s measured after 1.0 s warmup)\n"
        "   records        MiB      msgs/s     MiB/s    p50 ms    p99 ms  p99.9 ms    max ms "
        " errors\n"
        "      2048        2.0      1024.0       1.0     1.500     3.250     4.000    12.125 "
        "      0\n");

  BenchReport open = r;
  open.rate_per_s = 5000;
  open.errors = 3;
  open.first_error = "boom";
  const std::string table = FormatBenchTable(open);
  CHECK(table.find("open loop at 5000 msgs/s") != std::string::npos);
  CHECK(table.find("first error: boom\n") != std::string::npos);

  BenchReport sync = r;
  sync.sync = true;
  CHECK(FormatBenchTable(sync).find("one at a time, each waiting for its ack;") !=
        std::string::npos);

  BenchReport consume;
  consume.mode = "consume";
  consume.topic = "t";
  consume.partitions = 1;
  consume.records = 10;
  consume.seconds = 1;
  const std::string consumed = FormatBenchTable(consume);
  CHECK(consumed.rfind("strata bench consume: topic t (1 partition; 1.0 s", 0) == 0);
  CHECK(consumed.find("p50") == std::string::npos);  // no latency column
}

TEST_CASE("The JSON report is one object with every field") {
  BenchReport r = ProduceReport();
  CHECK(FormatBenchJson(r) ==
        R"({"mode":"produce","topic":"strata-bench","partitions":8,"producers":1,)"
        R"("record_bytes":1024,"acks":"all","compression":"none","rate_per_s":0,"sync":false,)"
        R"("warmup_s":1,)"
        R"("records":2048,"bytes":2097152,"seconds":2.000,"msgs_per_s":1024.0,)"
        R"("mib_per_s":1.000,"latency_ms":{"p50":1.500,"p99":3.250,"p999":4.000,)"
        R"("max":12.125},"machine_cpu_busy_pct":null,"errors":0,"first_error":null})");
  r.machine_cpu_busy_pct = 93.25;
  CHECK(FormatBenchJson(r).find(R"("machine_cpu_busy_pct":93.2,)") != std::string::npos);
  r.machine_cpu_busy_pct = -1;

  r.sync = true;
  CHECK(FormatBenchJson(r).find(R"("rate_per_s":0,"sync":true,"warmup_s":1,)") !=
        std::string::npos);

  r.sync = false;
  r.mode = "consume";
  r.has_latency = false;
  r.errors = 1;
  r.first_error = "a \"quoted\" error";
  const std::string json = FormatBenchJson(r);
  CHECK(json.find(R"("acks":null,"compression":null)") != std::string::npos);
  CHECK(json.find(R"("latency_ms":null)") != std::string::npos);
  CHECK(json.find(R"("first_error":"a \"quoted\" error")") != std::string::npos);
  CHECK(json.find('\n') == std::string::npos);
}

}  // namespace
}  // namespace strata::cli
