// The `strata` commands that talk to a broker: topic create/list/describe/delete/alter, produce
// and consume. Their command files (client/cli/command_topic.cc, ...) parse the command line into
// these option structs; the functions do the work, write their results to the given streams and
// return errors as values (the command prints them and exits 1), so tests can call them directly.
//
// Not thread-safe in any interesting sense: each call is independent and shares no state.
#pragma once

#include <atomic>
#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "client/consumer.h"
#include "client/metadata.h"
#include "common/status.h"
#include "record/batch.h"

namespace strata::cli {

struct BrokerOptions {
  std::string bootstrap = "127.0.0.1:9292";  // --bootstrap, $STRATA_BOOTSTRAP
  bool progress = false;  // show progress on the error stream (main: only when it is a terminal)
};

// `strata topic create NAME --partitions N [--replication-factor R] [--min-insync-replicas M]
// [--config k=v ...]`. 0 for R or M: the cluster's defaults.
absl::Status TopicCreate(const BrokerOptions& options, const std::string& name, int32_t partitions,
                         const std::vector<std::string>& configs, std::ostream& out,
                         int32_t replication_factor = 0, int32_t min_insync_replicas = 0);
// `strata topic list`: one name per line.
absl::Status TopicList(const BrokerOptions& options, std::ostream& out);
// `strata topic describe NAME`: partitions (leader, epoch, replicas, ISR, log start, log end)
// and configs.
absl::Status TopicDescribe(const BrokerOptions& options, const std::string& name,
                           std::ostream& out);
// What TopicDescribe prints for a topic's metadata (without the configs). On a single broker
// (no partition has replicas) the replica columns are left out.
void PrintTopicPartitions(const client::TopicInfo& info, std::ostream& out);

// `strata cluster status`: brokers, controller, partition counts and the issues list. Healthy
// (true) unless a partition is offline or below min_insync_replicas.
absl::StatusOr<bool> ShowClusterStatus(const BrokerOptions& options, int32_t issues_max,
                                   std::ostream& out);
// What ClusterStatus prints; returns the same health.
bool PrintClusterStatus(const client::ClusterStatus& status, std::ostream& out);
// `strata topic delete NAME`
absl::Status TopicDelete(const BrokerOptions& options, const std::string& name, std::ostream& out);
// `strata topic alter NAME --config k=v ...`
absl::Status TopicAlter(const BrokerOptions& options, const std::string& name,
                        const std::vector<std::string>& configs, std::ostream& out);

struct ProduceOptions {
  std::string topic;
  std::optional<std::string> key_separator;  // split each line at its first occurrence
  std::vector<std::string> headers;          // "k=v", added to every record
  int acks = -1;
  record::Compression compression = record::Compression::kNone;
  std::optional<int32_t> partition;
  int64_t linger_ms = 5;  // the CLI batches lines a little longer than the library's default
};

// `strata produce TOPIC`: one record per line of `in` (without its newline), then a summary on
// `out`: records, bytes, and per partition the offsets written. Fails if any record failed.
absl::Status Produce(const BrokerOptions& options, const ProduceOptions& produce, std::istream& in,
                     std::ostream& out, std::ostream& err);

enum class OutputFormat { kText, kJson };

struct ConsumeOptions {
  std::string topic;
  // Where to start. Unset: earliest, or latest with `follow` (kafka-console-consumer's default).
  std::optional<client::SeekTarget> from;
  std::optional<int32_t> partition;  // unset: every partition
  int64_t count = -1;                // stop after this many records; -1: no limit
  bool follow = false;  // keep waiting for new records; otherwise stop at the ends seen at start
  OutputFormat format = OutputFormat::kText;
  bool print_key = false;  // text format: "key<TAB>value"
  int64_t poll_timeout_ms = 500;

  // --group: consume as a member of this consumer group (group_commands.h, ConsumeInGroup).
  std::optional<std::string> group;
  std::optional<std::string> instance_id;  // --instance-id: static membership
  std::string assignor = "cooperative-sticky";
  int64_t commit_interval_ms = 5000;       // auto-commit interval
  int32_t session_timeout_ms = 45'000;
  // Set (by a signal handler) to stop a --follow run cleanly; may be null.
  const std::atomic<bool>* stop_requested = nullptr;
};

// `strata consume TOPIC`: records as lines on `out` (text or JSON), progress on `err`.
absl::Status Consume(const BrokerOptions& options, const ConsumeOptions& consume,
                     std::ostream& out, std::ostream& err);

// The default --from: earliest, or latest when following.
client::SeekTarget DefaultFrom(bool follow);

}  // namespace strata::cli
