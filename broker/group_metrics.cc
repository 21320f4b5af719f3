#include "broker/group_metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "broker/prometheus_text.h"
#include "common/limits.h"
#include "record/batch.h"

namespace strata::broker {

namespace {

// The timestamp of the first record at or after `offset`, if the log has one.
std::optional<int64_t> RecordTimestampAt(const partition::Partition& part, int64_t offset) {
  auto read = part.Read(offset, 1);  // at least one whole batch comes back
  if (!read.ok() || read->batch_count == 0) return std::nullopt;
  auto reader = record::BatchReader::Open(read->bytes);
  if (!reader.ok()) return std::nullopt;
  while (true) {
    auto record = reader->Next();
    if (!record.ok() || !record->has_value()) return std::nullopt;
    if ((*record)->offset >= offset) return (*record)->timestamp_ms;
  }
}

}  // namespace

std::string RenderGroupMetrics(const consumer_offsets::GroupCoordinator& groups,
                               const partition::TopicManager& topics, int64_t now_ms) {
  const auto snapshot = groups.Snapshot();
  std::string out;
  Header(out, "strata_group_members", "gauge", "Members of each consumer group.");
  for (const auto& g : snapshot) {
    absl::StrAppend(&out, "strata_group_members{group=\"", Label(g.group_id), "\",state=\"",
                    consumer_offsets::GroupStateName(g.state), "\"} ", g.members, "\n");
  }
  Header(out, "strata_group_generation", "gauge", "Current generation id of each group.");
  for (const auto& g : snapshot) {
    absl::StrAppend(&out, "strata_group_generation{group=\"", Label(g.group_id), "\"} ",
                    g.generation, "\n");
  }
  Header(out, "strata_group_rebalances_total", "counter",
         "Rebalances started (since the broker started).");
  for (const auto& g : snapshot) {
    absl::StrAppend(&out, "strata_group_rebalances_total{group=\"", Label(g.group_id), "\"} ",
                    g.stats.rebalances, "\n");
  }
  Header(out, "strata_group_rebalance_duration_seconds", "summary",
         "Time from the start of a rebalance to the group being Stable again.");
  for (const auto& g : snapshot) {
    absl::StrAppend(&out, "strata_group_rebalance_duration_seconds_sum{group=\"",
                    Label(g.group_id), "\"} ", g.stats.rebalance_duration_ms_total / 1e3, "\n",
                    "strata_group_rebalance_duration_seconds_count{group=\"", Label(g.group_id),
                    "\"} ", g.stats.rebalances_completed, "\n");
  }
  Header(out, "strata_group_last_rebalance_duration_seconds", "gauge",
         "Duration of each group's last completed rebalance.");
  for (const auto& g : snapshot) {
    if (g.stats.last_rebalance_duration_ms < 0) continue;
    absl::StrAppend(&out, "strata_group_last_rebalance_duration_seconds{group=\"",
                    Label(g.group_id), "\"} ", g.stats.last_rebalance_duration_ms / 1e3, "\n");
  }

  std::string committed, lag, age;
  size_t reported = 0, omitted = 0;
  for (const auto& g : snapshot) {
    for (const auto& [tp, value] : g.offsets) {
      if (reported >= limits::metrics_group_partitions_max) {
        ++omitted;
        continue;
      }
      ++reported;
      const std::string labels =
          absl::StrCat("{group=\"", Label(g.group_id), "\",topic=\"", Label(tp.first),
                       "\",partition=\"", tp.second, "\"}");
      absl::StrAppend(&committed, "strata_group_committed_offset", labels, " ", value.offset, "\n");
      auto part = topics.GetPartition(tp.first, tp.second);
      if (!part.ok()) continue;
      const int64_t end = (*part)->high_watermark();  // what a consumer can read
      const int64_t from = std::max(value.offset, (*part)->log_start_offset());
      absl::StrAppend(&lag, "strata_group_lag", labels, " ", std::max<int64_t>(0, end - from),
                      "\n");
      int64_t age_ms = 0;
      if (from < end) {
        if (auto ts = RecordTimestampAt(**part, from); ts.has_value()) {
          age_ms = std::max<int64_t>(0, now_ms - *ts);
        }
      }
      absl::StrAppend(&age, "strata_group_oldest_unconsumed_age_seconds", labels, " ",
                      age_ms / 1e3, "\n");
    }
  }
  Header(out, "strata_group_committed_offset", "gauge",
         "The group's committed offset (the next offset it will consume) per partition.");
  out += committed;
  Header(out, "strata_group_lag", "gauge",
         "Records between the committed offset and the log end, per group and partition.");
  out += lag;
  Header(out, "strata_group_oldest_unconsumed_age_seconds", "gauge",
         "Age of the first record after the committed offset (0 when the group is caught up).");
  out += age;
  Header(out, "strata_group_partitions_omitted", "gauge",
         "Group partitions left out of the series above (limits::metrics_group_partitions_max).");
  absl::StrAppend(&out, "strata_group_partitions_omitted ", omitted, "\n");
  return out;
}

}  // namespace strata::broker
