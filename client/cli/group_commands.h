// The `strata` consumer-group commands: consuming as a group member (`strata consume TOPIC
// --group G`), and `strata group list|describe|reset-offsets|delete`. Like broker_commands.h, each
// writes its results to the given streams and returns errors as values.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "client/cli/broker_commands.h"
#include "client/consumer.h"
#include "common/status.h"

namespace strata::cli {

// `strata consume TOPIC --group G`: joins the group, prints the records of the partitions the
// group gives this member (text or JSON, as Consume), commits as it goes (every
// commit_interval_ms) and on exit, then leaves the group. Stops after --count records; without
// --follow, once every assigned partition is caught up; with --follow, when stop_requested is set.
// --from earliest|latest sets where partitions without a committed offset start (default
// earliest without --follow, latest with it).
absl::Status ConsumeInGroup(const BrokerOptions& options, const ConsumeOptions& consume,
                            std::ostream& out, std::ostream& err);

// `strata group list`: every group with its state.
absl::Status GroupList(const BrokerOptions& options, std::ostream& out);

// `strata group describe G`: state, members and their partitions, and per partition the committed
// offset, the log end and the lag, with the total lag.
absl::Status GroupDescribe(const BrokerOptions& options, const std::string& group,
                           std::ostream& out);

struct ResetOffsetsOptions {
  std::string group;
  std::string topic;
  client::SeekTarget to;
  std::optional<int32_t> partition;  // unset: every partition of the topic
  bool dry_run = false;
};

// `strata group reset-offsets G --topic T --to earliest|latest|OFFSET|@TIMESTAMP_MS [--dry-run]`:
// refused while the group has live members. Prints each partition's current and new offset.
absl::Status GroupResetOffsets(const BrokerOptions& options, const ResetOffsetsOptions& reset,
                               std::ostream& out);

// `strata group delete G`: removes an inactive group and its committed offsets.
absl::Status GroupDelete(const BrokerOptions& options, const std::string& group,
                         std::ostream& out);

}  // namespace strata::cli
