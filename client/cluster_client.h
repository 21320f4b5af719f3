// ClusterClient: how a client object (a producer, a consumer, an admin) reaches a cluster of
// brokers where each partition has one leader that can move. It holds a MetadataCache (partition
// -> leader node and epoch, node -> address) and one lazily opened Connection per broker.
//
//   - Bootstrap: `bootstrap` is "h1:p1,h2:p2,..."; the first broker that answers is used for
//     the first Metadata. Later, when no connection is open, the known live brokers are tried
//     too, so a client outlives the death of its bootstrap brokers.
//   - Routing: Leader(tp) from the cache, Node(id) for that broker's connection.
//   - Refresh on demand: a caller that met a routing error (NOT_LEADER, a lost connection, no
//     leader known) calls MarkStale, and RefreshIfStale then asks any broker for the metadata of
//     every topic this client has used, at most once per refresh_backoff_ms; hints from NOT_LEADER
//     answers go in through ApplyHint. The cache never takes an older leader epoch.
//   - One broker: when the live list has exactly one broker, it is the broker that answered the
//     Metadata, so the connection already open is used for it whatever address it advertises
//     (a single broker behind a port forward keeps working as before this class existed).
//
// Not thread-safe: like Connection, one thread at a time (the producer holds its conn_mu_).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "client/connection.h"
#include "client/metadata.h"
#include "client/metadata_cache.h"
#include "client/types.h"
#include "common/status.h"

namespace strata::client {

struct ClusterClientOptions {
  std::string bootstrap = kDefaultBootstrap;  // "h1:p1,h2:p2"
  ConnectionOptions connection;               // for every broker's connection
  int64_t refresh_backoff_ms = 100;           // at most one metadata refresh per this
};

class ClusterClient {
 public:
  explicit ClusterClient(ClusterClientOptions options);

  // A connection to any live broker, for requests every broker answers (Metadata,
  // InitProducerId, FindCoordinator, CreateTopics, DescribeCluster...): an open one if there is
  // one, else the bootstrap list, else the brokers known from metadata. Unavailable (saying what
  // to do) when none answers.
  absl::StatusOr<Connection*> Any();
  // The connection to broker `node_id`, opened on first use. Unavailable if its address is not
  // known (the cache is then marked stale) or it cannot be reached.
  absl::StatusOr<Connection*> Node(int32_t node_id);
  // Closes the connection to `node_id` after an I/O error or timeout and marks the cache stale:
  // the partitions it led may have moved.
  void ConnectionFailed(int32_t node_id);

  // Metadata of `topics` now (no backoff), which join the topics this client tracks; the cache
  // takes the answer. The answer is returned so callers see per-topic errors (NotFound).
  absl::StatusOr<ClusterMetadata> Refresh(const std::vector<std::string>& topics);
  // Refreshes every tracked topic if MarkStale was called since the last refresh and the last
  // refresh is at least refresh_backoff_ms old. OK when there was nothing to do.
  absl::Status RefreshIfStale();
  void MarkStale() { stale_ = true; }
  bool stale() const { return stale_; }

  std::optional<LeaderInfo> Leader(const TopicPartition& tp) const { return cache_.Leader(tp); }
  // A leader hint from a NOT_LEADER or FENCED_LEADER_EPOCH answer. True if it was newer and
  // routable (its broker's address is known): then no refresh is needed to follow it.
  bool ApplyHint(const TopicPartition& tp, int32_t leader_id, int32_t leader_epoch);
  const MetadataCache& cache() const { return cache_; }

  // ListOffsets for `partitions` of `topic`, each sent to its leader, retrying partitions whose
  // leader moved or could not be reached (after a refresh) until the request timeout. Results in
  // the order of `partitions`; a partition that never succeeded carries its last error.
  absl::StatusOr<std::vector<PartitionOffset>> ListOffsets(const std::string& topic,
                                                           const std::vector<int32_t>& partitions,
                                                           int64_t timestamp_ms);

  const ClusterClientOptions& options() const { return options_; }

 private:
  absl::Status Connect();  // any_ := a connection to some live broker
  // After a Metadata answer on any_: file it under its node when that is certain, and close
  // connections to brokers that left the live list or changed address.
  void AdoptConnections(const ClusterMetadata& metadata);

  const ClusterClientOptions options_;
  MetadataCache cache_;
  std::set<std::string> topics_;  // every topic this client asked about
  // A connection not (yet) known to be a given node's: the one used for Metadata.
  std::unique_ptr<Connection> any_;
  std::map<int32_t, std::unique_ptr<Connection>> nodes_;
  std::map<int32_t, std::string> node_addresses_;  // the address each of nodes_ was opened to
  bool stale_ = false;
  absl::Time last_refresh_ = absl::InfinitePast();
};

}  // namespace strata::client
