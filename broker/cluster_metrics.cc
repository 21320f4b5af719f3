#include "broker/cluster_metrics.h"

#include "absl/strings/str_cat.h"
#include "broker/prometheus_text.h"
#include "common/limits.h"

namespace strata::broker {

std::string RenderClusterMetrics(const cluster::ClusterView* view,
                                 const replication::ReplicaManager& replicas, int32_t self) {
  std::string out;
  const int32_t controller = view != nullptr && view->controller ? view->controller->broker_id : -1;
  const int64_t controller_epoch =
      view != nullptr && view->controller ? view->controller->epoch : -1;
  Header(out, "strata_cluster_controller_id", "gauge",
         "The controller's node id as this broker sees it (-1: none).");
  absl::StrAppend(&out, "strata_cluster_controller_id ", controller, "\n");
  Header(out, "strata_cluster_controller_epoch", "gauge",
         "The controller epoch (its etcd key's create revision; -1: none).");
  absl::StrAppend(&out, "strata_cluster_controller_epoch ", controller_epoch, "\n");
  Header(out, "strata_cluster_brokers_alive", "gauge", "Brokers registered in etcd.");
  absl::StrAppend(&out, "strata_cluster_brokers_alive ",
                  view != nullptr ? view->brokers.size() : 0, "\n");

  const replication::ReplicaCounts counts = replicas.Counts();
  Header(out, "strata_replicas", "gauge", "Local replicas by role.");
  absl::StrAppend(&out, "strata_replicas{role=\"leader\"} ", counts.leaders, "\n",
                  "strata_replicas{role=\"follower\"} ", counts.followers, "\n");
  Header(out, "strata_leader_partitions_under_replicated", "gauge",
         "Partitions led here whose ISR is smaller than their replicas.");
  absl::StrAppend(&out, "strata_leader_partitions_under_replicated ", counts.under_replicated,
                  "\n");
  Header(out, "strata_leader_partitions_below_min_isr", "gauge",
         "Partitions led here whose ISR is below min_insync_replicas: acks=all is refused.");
  absl::StrAppend(&out, "strata_leader_partitions_below_min_isr ", counts.below_min_isr, "\n");
  Header(out, "strata_isr_shrinks_total", "counter",
         "ISR removals this broker made as a leader (since each leadership began).");
  absl::StrAppend(&out, "strata_isr_shrinks_total ", counts.isr_shrinks, "\n");
  Header(out, "strata_isr_expands_total", "counter",
         "ISR additions this broker made as a leader (since each leadership began).");
  absl::StrAppend(&out, "strata_isr_expands_total ", counts.isr_expands, "\n");

  const replication::FetcherStats fetch = replicas.FetchStats();
  Header(out, "strata_replica_fetch_truncations_total", "counter",
         "Truncations of local follower replicas where they diverged from their leader.");
  absl::StrAppend(&out, "strata_replica_fetch_truncations_total ", fetch.truncations, "\n");
  Header(out, "strata_replica_fetch_errors_total", "counter",
         "Failed follower fetches (leader unreachable, epoch errors).");
  absl::StrAppend(&out, "strata_replica_fetch_errors_total ", fetch.errors, "\n");

  Header(out, "strata_follower_lag_records", "gauge",
         "Per partition led here and follower: records behind the leader's log end.");
  std::string lag_ms;
  Header(lag_ms, "strata_follower_lag_ms", "gauge",
         "Per partition led here and follower: milliseconds since it was last caught up.");
  size_t reported = 0;
  for (const auto& f : replicas.FollowerLags(replication::SteadyNowMs())) {
    if (reported++ >= limits::metrics_group_partitions_max) break;
    const std::string labels =
        absl::StrCat("{topic=\"", Label(f.id.topic), "\",partition=\"", f.id.partition,
                     "\",replica=\"", f.lag.broker, "\",in_isr=\"", f.lag.in_isr ? "1" : "0",
                     "\"}");
    absl::StrAppend(&out, "strata_follower_lag_records", labels, " ", f.lag.lag_records, "\n");
    absl::StrAppend(&lag_ms, "strata_follower_lag_ms", labels, " ", f.lag.lag_ms, "\n");
  }
  out += lag_ms;

  // The cluster-wide view, from the controller only, so that a dashboard summing over brokers
  // counts each partition once.
  if (view != nullptr && controller == self) {
    int64_t offline = 0, below = 0, under = 0;
    for (const auto& [id, state] : view->partitions) {
      auto topic = view->topics.find(id.topic);
      const int32_t min_isr = topic != view->topics.end() ? topic->second.min_insync_replicas : 1;
      const auto isr = static_cast<int32_t>(state.isr.size());
      if (state.leader == cluster::kNoLeader) {
        offline++;
      } else if (isr < min_isr) {
        below++;
      } else if (isr < static_cast<int32_t>(state.replicas.size())) {
        under++;
      }
    }
    Header(out, "strata_cluster_partitions", "gauge",
           "On the controller: the cluster's partitions by their worst state.");
    absl::StrAppend(&out, "strata_cluster_partitions{state=\"offline\"} ", offline, "\n",
                    "strata_cluster_partitions{state=\"below_min_isr\"} ", below, "\n",
                    "strata_cluster_partitions{state=\"under_replicated\"} ", under, "\n",
                    "strata_cluster_partitions{state=\"total\"} ", view->partitions.size(), "\n");
  }
  return out;
}

}  // namespace strata::broker
