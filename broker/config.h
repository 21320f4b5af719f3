// BrokerConfig: stratad's settings, their defaults (DESIGN's), and the two ways to set them: a
// TOML file (`--config`) and command-line flags, flags winning. docs/broker.md lists every key.
//
// The TOML reader takes the subset a flat config needs: `key = value` lines, `#` comments, blank
// lines, values that are "strings" (with \" \\ \n \t escapes) or integers. Tables, arrays, dates
// and floats are refused with the line number, as is any key not listed here: a typo must not
// silently become a default.
//
// Plain values and free functions: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "common/status.h"
#include "log/log_config.h"

namespace strata::broker {

struct HostPort {
  std::string host;
  uint16_t port = 0;  // 0: any free port (tests); the bound port is logged and shown in metrics
  std::string ToString() const;
};

// "HOST:PORT" or "[IPv6]:PORT". InvalidArgument saying what is expected.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text);

struct BrokerConfig {
  std::string data_dir = "./strata-data";
  HostPort listen{"127.0.0.1", 9292};
  HostPort metrics_listen{"127.0.0.1", 9300};
  bool metrics_enabled = true;  // metrics_listen = "off" disables the listener
  // The Kafka-compatible listener (docs/kafka.md): off (nullopt) unless set, e.g. 127.0.0.1:9092.
  std::optional<HostPort> kafka_listen;
  // The address Kafka clients are told to dial (Metadata, FindCoordinator); empty: the bound
  // kafka_listen address. Must be routable from the clients: never 0.0.0.0.
  std::string kafka_advertised_listen;
  int32_t node_id = 0;
  int threads = 0;  // io threads; 0: one per core
  std::string log_level = "info";
  // A connection with no request for this long is closed (Kafka: connections.max.idle.ms).
  int64_t connection_idle_ms = 600'000;
  // Once a frame's first byte has arrived, the whole frame must arrive within this (slow or stuck
  // senders are closed instead of holding a connection slot forever).
  int64_t frame_read_timeout_ms = 30'000;
  // On SIGTERM, how long in-progress requests get to finish before connections are closed.
  int64_t shutdown_drain_ms = 5'000;

  // Consumer groups (consumer_offsets/coordinator.h). Defaults are Kafka's except where noted.
  // Partitions and segment size of __consumer_offsets, used when it is created (Kafka: 50 and
  // 100 MiB; smaller here because each partition preallocates a segment).
  int32_t offsets_topic_partitions = 8;
  uint64_t offsets_topic_segment_bytes = 16ull << 20;
  // An Empty group's committed offsets are deleted after it has been empty this long.
  int64_t offsets_retention_ms = 7ll * 24 * 3600 * 1000;
  int64_t offsets_retention_check_interval_ms = 600'000;
  // The session timeouts members may ask for.
  int32_t group_min_session_timeout_ms = 6'000;
  int32_t group_max_session_timeout_ms = 1'800'000;
  // A group's first rebalance waits this long for more members to join.
  int32_t group_initial_rebalance_delay_ms = 3'000;
  // How often compaction runs over the partitions of compacted topics (Kafka's
  // log.cleaner.backoff.ms).
  int64_t log_cleaner_interval_ms = 15'000;
  // How appends reach segment files: "write" (pwrite, the least CPU) or "mmap" (memcpy into a
  // mapping kept faulted in by a background thread: the fastest I/O thread when a core is spare).
  // docs/design-notes.md#the-append-path.
  log::AppendPath log_append_path = log::AppendPath::kWrite;

  // Cluster (docs/cluster.md). Empty `etcd`: a single broker, as always, with no etcd.
  // etcd's client endpoints, "HOST:PORT[,HOST:PORT...]".
  std::string etcd;
  // Brokers with the same cluster_name and etcd form one cluster (the prefix of their keys).
  std::string cluster_name = "strata";
  // The address other brokers and clients use for this broker; empty: the bound listen address.
  std::string advertised_listen;
  // A broker whose lease is not renewed for this long is taken as gone: its leaderships move.
  // etcd raises anything below its minimum (2 s with default settings).
  int64_t broker_lease_ttl_s = 3;
  // A follower in the ISR that has not caught up for this long leaves it (Kafka's
  // replica.lag.time.max.ms, whose default this is).
  int64_t replica_lag_max_ms = 30'000;
  // At most one partition moves back to its preferred leader per this interval.
  int64_t leader_rebalance_interval_ms = 1'000;
  // How long a SIGTERM waits for this broker's leaderships to move before it stops anyway.
  int64_t leadership_handover_ms = 5'000;
  // Replicas of __consumer_offsets, created on a group's first FindCoordinator once this many
  // brokers are up (Kafka's offsets.topic.replication.factor).
  int32_t offsets_topic_replication_factor = 3;
  bool clustered() const { return !etcd.empty(); }

  // InvalidArgument naming the key and its allowed range.
  absl::Status Validate() const;
};

// Applies the TOML text over `base`. InvalidArgument naming the line and key.
absl::StatusOr<BrokerConfig> ParseBrokerToml(absl::string_view text, BrokerConfig base);

// Every key, with its default and meaning, one per line (for --help and docs).
std::string BrokerConfigHelp();

}  // namespace strata::broker
