#include "client/cli/bench_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/cli/output.h"

namespace strata::cli {

namespace {

std::string JsonOrNull(const std::string& text) { return text.empty() ? "null" : JsonString(text); }

}  // namespace

std::string FormatBenchTable(const BenchReport& r) {
  std::string title = absl::StrCat("strata bench ", r.mode, ": topic ", r.topic, " (", r.partitions,
                                   r.partitions == 1 ? " partition" : " partitions");
  if (r.mode != "consume") {
    absl::StrAppend(&title, ", ", r.producers, r.producers == 1 ? " producer" : " producers", ", ",
                    r.record_bytes, " B values, acks=", r.acks, ", compression ", r.compression,
                    ", ");
    if (r.sync) {
      absl::StrAppend(&title, "one at a time, each waiting for its ack");
    } else if (r.rate_per_s > 0) {
      absl::StrAppend(&title, absl::StrFormat("open loop at %.0f msgs/s", r.rate_per_s));
    } else {
      absl::StrAppend(&title, "closed loop");
    }
  }
  absl::StrAppend(
      &title, absl::StrFormat("; %.1f s measured after %.1f s warmup)\n", r.seconds, r.warmup_s));

  std::string header = absl::StrFormat("%10s %10s %11s %9s", "records", "MiB", "msgs/s", "MiB/s");
  std::string row =
      absl::StrFormat("%10d %10.1f %11.1f %9.1f", r.records, double(r.bytes) / double(1 << 20),
                      r.msgs_per_s(), r.mib_per_s());
  if (r.has_latency) {
    absl::StrAppend(&header,
                    absl::StrFormat(" %9s %9s %9s %9s", "p50 ms", "p99 ms", "p99.9 ms", "max ms"));
    absl::StrAppend(&row, absl::StrFormat(" %9.3f %9.3f %9.3f %9.3f", r.latency.p50_ms,
                                          r.latency.p99_ms, r.latency.p999_ms, r.latency.max_ms));
  }
  absl::StrAppend(&header, absl::StrFormat(" %7s\n", "errors"));
  absl::StrAppend(&row, absl::StrFormat(" %7d\n", r.errors));
  std::string out = absl::StrCat(title, header, row);
  if (!r.first_error.empty()) absl::StrAppend(&out, "first error: ", r.first_error, "\n");
  return out;
}

std::string FormatBenchJson(const BenchReport& r) {
  const bool consume = r.mode == "consume";
  const std::string latency = r.has_latency ? bench::LatencyJson(r.latency) : "null";
  return absl::StrCat("{\"mode\":", JsonString(r.mode), ",\"topic\":", JsonString(r.topic),
                      ",\"partitions\":", r.partitions, ",\"producers\":", r.producers,
                      ",\"record_bytes\":", r.record_bytes,
                      ",\"acks\":", consume ? "null" : JsonString(r.acks),
                      ",\"compression\":", consume ? "null" : JsonString(r.compression),
                      absl::StrFormat(",\"rate_per_s\":%g,\"sync\":%s,\"warmup_s\":%g",
                                      r.rate_per_s, r.sync ? "true" : "false", r.warmup_s),
                      ",\"records\":", r.records, ",\"bytes\":", r.bytes,
                      absl::StrFormat(",\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"mib_per_s\":%.3f",
                                      r.seconds, r.msgs_per_s(), r.mib_per_s()),
                      ",\"latency_ms\":", latency, ",\"machine_cpu_busy_pct\":",
                      r.machine_cpu_busy_pct >= 0
                          ? absl::StrFormat("%.1f", r.machine_cpu_busy_pct)
                          : std::string("null"),
                      ",\"errors\":", r.errors,
                      ",\"first_error\":", JsonOrNull(r.first_error), "}");
}

}  // namespace strata::cli
