#include "broker/metrics.h"

#include "absl/strings/str_cat.h"
#include "broker/prometheus_text.h"
#include "log/fsync_stats.h"

namespace strata::broker {
namespace {

// Cumulative buckets at powers of two (exact edges of common/histogram.h), in seconds.
void RenderHistogramSeconds(std::string& out, absl::string_view name, absl::string_view help,
                            const Histogram& h) {
  Header(out, name, "histogram", help);
  for (int64_t bound_us = 16; bound_us <= (int64_t{1} << 26); bound_us <<= 1) {
    absl::StrAppend(&out, name, "_bucket{le=\"", static_cast<double>(bound_us) / 1e6, "\"} ",
                    h.CountAtOrBelow(bound_us - 1), "\n");
  }
  absl::StrAppend(&out, name, "_bucket{le=\"+Inf\"} ", h.count(), "\n");
  absl::StrAppend(&out, name, "_sum ", static_cast<double>(h.sum()) / 1e6, "\n");
  absl::StrAppend(&out, name, "_count ", h.count(), "\n");
}

}  // namespace

std::string BrokerMetrics::Render(const partition::TopicManager& topics, int32_t node_id) const {
  std::string out;
  Header(out, "strata_requests_total", "counter", "Requests received, by API.");
  for (uint16_t k = 0; k <= protocol::kApiKeyCount; ++k) {
    absl::StrAppend(&out, "strata_requests_total{api=\"", protocol::ApiName(k), "\"} ",
                    apis_[k].requests.load(std::memory_order_relaxed), "\n");
  }
  Header(out, "strata_request_errors_total", "counter",
         "Responses carrying an error code (at any level), by API.");
  for (uint16_t k = 0; k <= protocol::kApiKeyCount; ++k) {
    absl::StrAppend(&out, "strata_request_errors_total{api=\"", protocol::ApiName(k), "\"} ",
                    apis_[k].errors.load(std::memory_order_relaxed), "\n");
  }
  RenderHistogramSeconds(out, "strata_produce_latency_seconds",
                         "Produce request latency, read to response (acks=all includes fsync).",
                         produce_latency_us);
  RenderHistogramSeconds(out, "strata_fetch_latency_seconds",
                         "Fetch request latency, long-poll wait included.", fetch_latency_us);
  RenderHistogramSeconds(out, "strata_fsync_latency_seconds",
                         "Latency of each log fsync (group commits count once).",
                         log::FsyncLatencyMicros());
  const auto counter = [&](absl::string_view name, absl::string_view help, uint64_t v) {
    Header(out, name, "counter", help);
    absl::StrAppend(&out, name, " ", v, "\n");
  };
  counter("strata_bytes_in_total", "Bytes received from clients (frames).",
          bytes_in.load(std::memory_order_relaxed));
  counter("strata_bytes_out_total", "Bytes sent to clients (frames).",
          bytes_out.load(std::memory_order_relaxed));
  counter("strata_records_bytes_in_total", "Record batch bytes appended by Produce.",
          records_bytes_in.load(std::memory_order_relaxed));
  counter("strata_records_bytes_out_total", "Record batch bytes sent by Fetch.",
          records_bytes_out.load(std::memory_order_relaxed));
  counter("strata_connections_accepted_total", "Client connections accepted.",
          connections_accepted.load(std::memory_order_relaxed));
  counter("strata_connections_rejected_total", "Connections closed at once: too many open.",
          connections_rejected.load(std::memory_order_relaxed));
  counter("strata_connections_timed_out_total",
          "Connections closed for idling or sending a frame too slowly.",
          connections_timed_out.load(std::memory_order_relaxed));
  counter("strata_bad_frames_total", "Frames whose size field cannot be valid (connection closed).",
          bad_frames.load(std::memory_order_relaxed));
  counter("strata_request_memory_waits_total",
          "Times a connection paused reading because the broker's request memory budget was spent.",
          request_memory_waits.load(std::memory_order_relaxed));
  Header(out, "strata_fetches_parked", "gauge",
         "Fetch requests waiting in their long poll for records (max_wait_ms) now.");
  absl::StrAppend(&out, "strata_fetches_parked ", fetches_parked.load(std::memory_order_relaxed),
                  "\n");
  Header(out, "strata_connections_open", "gauge", "Client connections open now.");
  absl::StrAppend(&out, "strata_connections_open ",
                  connections_open.load(std::memory_order_relaxed), "\n");

  std::string start, end, hw, segments, online;
  for (const std::string& name : topics.List()) {
    auto info = topics.Describe(name);
    if (!info.ok()) continue;  // deleted between List and Describe
    for (const auto& p : info->partitions) {
      const std::string labels =
          absl::StrCat("{topic=\"", Label(name), "\",partition=\"", p.index, "\"}");
      absl::StrAppend(&online, "strata_partition_online", labels, " ", p.status.ok() ? 1 : 0,
                      "\n");
      if (!p.status.ok()) continue;
      absl::StrAppend(&start, "strata_partition_log_start_offset", labels, " ",
                      p.log_start_offset, "\n");
      absl::StrAppend(&end, "strata_partition_log_end_offset", labels, " ", p.log_end_offset,
                      "\n");
      absl::StrAppend(&hw, "strata_partition_high_watermark", labels, " ", p.high_watermark,
                      "\n");
      absl::StrAppend(&segments, "strata_partition_segments", labels, " ", p.segments, "\n");
    }
  }
  Header(out, "strata_partition_online", "gauge", "1 if the partition serves, 0 if offline.");
  out += online;
  Header(out, "strata_partition_log_start_offset", "gauge", "First offset in the log.");
  out += start;
  Header(out, "strata_partition_log_end_offset", "gauge", "Offset the next record will get.");
  out += end;
  Header(out, "strata_partition_high_watermark", "gauge", "Offsets below are readable.");
  out += hw;
  Header(out, "strata_partition_segments", "gauge", "Segment files of the partition.");
  out += segments;
  Header(out, "strata_node_id", "gauge", "This broker's node id.");
  absl::StrAppend(&out, "strata_node_id ", node_id, "\n");
  return out;
}

}  // namespace strata::broker
