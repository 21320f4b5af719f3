#include "client/cli/group_commands.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/cli/command_util.h"
#include "client/cli/output.h"
#include "client/group_consumer.h"

namespace strata::cli {

namespace {

using client::TopicPartition;

std::string Name(const TopicPartition& tp) { return absl::StrCat(tp.topic, "-", tp.partition); }

// Log end offsets of `partitions`, asked now.
absl::StatusOr<std::map<TopicPartition, int64_t>> LogEnds(client::Admin& admin,
                                                          const std::set<TopicPartition>& partitions) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const auto& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::map<TopicPartition, int64_t> out;
  for (const auto& [topic, parts] : by_topic) {
    auto offsets = admin.ListOffsets(topic, parts, client::kLatestTimestamp);
    if (!offsets.ok()) {
      if (absl::IsNotFound(offsets.status())) continue;  // the topic is gone
      return offsets.status();
    }
    for (const auto& po : *offsets) {
      if (po.status.ok()) out[TopicPartition{topic, po.partition}] = po.offset;
    }
  }
  return out;
}

}  // namespace

absl::Status ConsumeInGroup(const BrokerOptions& options, const ConsumeOptions& consume,
                            std::ostream& out, std::ostream& err) {
  client::GroupConsumerConfig config;
  config.bootstrap = options.bootstrap;
  config.group_id = *consume.group;
  config.group_instance_id = consume.instance_id;
  config.client_id = "strata-cli";
  config.assignors = {consume.assignor};
  config.auto_commit_interval_ms = consume.commit_interval_ms;
  config.session_timeout_ms = consume.session_timeout_ms;
  config.heartbeat_interval_ms = std::max(1, consume.session_timeout_ms / 3);
  const client::SeekTarget from = consume.from.value_or(DefaultFrom(consume.follow));
  if (from.kind != client::SeekTarget::Kind::kEarliest &&
      from.kind != client::SeekTarget::Kind::kLatest) {
    return absl::InvalidArgumentError(
        "with --group, --from only says where partitions without a committed offset start "
        "(earliest or latest); to move the group's offsets use `strata group reset-offsets`");
  }
  config.auto_offset_reset = from.kind == client::SeekTarget::Kind::kEarliest
                                 ? client::OffsetReset::kEarliest
                                 : client::OffsetReset::kLatest;
  STRATA_ASSIGN_OR_RETURN(auto consumer, client::GroupConsumer::Create(config));
  STRATA_RETURN_IF_ERROR(consumer->Subscribe({consume.topic}));
  std::unique_ptr<client::Admin> admin;
  if (!consume.follow) {
    STRATA_ASSIGN_OR_RETURN(admin, ConnectAdmin(options));
  }

  Progress progress(err, options.progress, "consumed");
  int64_t printed = 0;
  absl::Status result;
  while (true) {
    if (consume.count >= 0 && printed >= consume.count) break;
    if (consume.stop_requested != nullptr && consume.stop_requested->load()) break;
    auto records = consumer->Poll(consume.poll_timeout_ms);
    if (!records.ok()) {
      result = records.status();
      break;
    }
    progress.Done();
    for (const client::ConsumerRecord& r : *records) {
      out << (consume.format == OutputFormat::kJson ? FormatRecordJson(r)
                                                    : FormatRecordText(r, consume.print_key))
          << "\n";
      ++printed;
      if (consume.count >= 0 && printed >= consume.count) break;
    }
    // Printed before the next Poll, whose auto-commit covers them: at least once.
    out.flush();
    progress.Update(printed);
    if (!consume.follow && records->empty()) {
      const auto assignment = consumer->Assignment();
      if (assignment.empty()) continue;  // still joining
      auto ends = LogEnds(*admin, {assignment.begin(), assignment.end()});
      if (!ends.ok()) {
        result = ends.status();
        break;
      }
      bool caught_up = true;
      for (const auto& tp : assignment) {
        auto position = consumer->Position(tp);
        if (!position.ok() || *position < (*ends)[tp]) caught_up = false;
      }
      if (caught_up) break;
    }
  }
  progress.Done();
  // Commits what was printed (a --count cut may leave records of the last batch unprinted: the
  // commit is then of the printed ones only).
  absl::Status closed = consumer->Close();
  if (result.ok()) result = closed;
  return result;
}

absl::Status GroupList(const BrokerOptions& options, std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  STRATA_ASSIGN_OR_RETURN(auto groups, admin->ListGroups());
  if (groups.empty()) {
    out << "no consumer groups (a group appears when a consumer joins it: strata consume TOPIC "
           "--group NAME)\n";
    return absl::OkStatus();
  }
  size_t width = 5;
  for (const auto& g : groups) width = std::max(width, g.group_id.size());
  out << std::left << std::setw(int(width) + 2) << "group" << "state\n";
  for (const auto& g : groups) {
    out << std::left << std::setw(int(width) + 2) << g.group_id << g.state << "\n";
  }
  return absl::OkStatus();
}

absl::Status GroupDescribe(const BrokerOptions& options, const std::string& group,
                           std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  auto info = admin->DescribeGroup(group);
  if (absl::IsNotFound(info.status())) {
    return absl::NotFoundError(absl::StrCat("there is no group '", group,
                                            "' (strata group list shows the groups there are)"));
  }
  STRATA_RETURN_IF_ERROR(info.status());
  STRATA_ASSIGN_OR_RETURN(auto committed, admin->GroupOffsets(group));

  out << "group " << group << ": " << info->state;
  if (!info->protocol_name.empty()) out << ", assignor " << info->protocol_name;
  out << ", generation " << info->generation << ", " << Plural(int64_t(info->members.size()), "member")
      << "\n";
  std::map<TopicPartition, std::string> owner;
  if (!info->members.empty()) {
    out << "\nmembers:\n";
    for (const auto& m : info->members) {
      std::vector<std::string> names;
      for (const auto& tp : m.assignment) {
        names.push_back(Name(tp));
        owner[tp] = m.member_id;
      }
      out << "  " << m.member_id << "  client " << m.client_id << "  host " << m.client_host;
      if (m.group_instance_id.has_value()) out << "  instance " << *m.group_instance_id;
      out << "\n    partitions: " << (names.empty() ? "(none)" : absl::StrJoin(names, " ")) << "\n";
    }
  }
  std::set<TopicPartition> partitions;
  for (const auto& [tp, c] : committed) partitions.insert(tp);
  for (const auto& [tp, m] : owner) partitions.insert(tp);
  if (partitions.empty()) {
    out << "\nno committed offsets\n";
    return absl::OkStatus();
  }
  STRATA_ASSIGN_OR_RETURN(auto ends, LogEnds(*admin, partitions));
  size_t topic_width = 5;
  for (const auto& tp : partitions) topic_width = std::max(topic_width, tp.topic.size());
  out << "\n" << std::left << std::setw(int(topic_width) + 2) << "topic" << std::setw(11)
      << "partition" << std::setw(12) << "committed" << std::setw(12) << "log_end" << std::setw(10)
      << "lag" << "member\n";
  int64_t total_lag = 0;
  for (const auto& tp : partitions) {
    auto c = committed.find(tp);
    auto e = ends.find(tp);
    const bool has_commit = c != committed.end() && c->second.offset >= 0;
    out << std::left << std::setw(int(topic_width) + 2) << tp.topic << std::setw(11) << tp.partition
        << std::setw(12) << (has_commit ? std::to_string(c->second.offset) : "-") << std::setw(12)
        << (e != ends.end() ? std::to_string(e->second) : "gone");
    std::string lag = "-";
    if (e != ends.end()) {
      // Without a commit, a member starts at its reset position: count everything as lag.
      const int64_t l = std::max<int64_t>(0, e->second - (has_commit ? c->second.offset : 0));
      total_lag += l;
      lag = std::to_string(l);
    }
    out << std::setw(10) << lag;
    auto o = owner.find(tp);
    out << (o != owner.end() ? o->second : "-") << "\n";
  }
  out << "\ntotal lag: " << total_lag << "\n";
  return absl::OkStatus();
}

absl::Status GroupResetOffsets(const BrokerOptions& options, const ResetOffsetsOptions& reset,
                               std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  auto info = admin->DescribeGroup(reset.group);
  if (info.ok() && !info->members.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "group '", reset.group, "' has ", Plural(int64_t(info->members.size()), "live member"),
        " (", info->state, "); reset-offsets only moves the offsets of an inactive group: stop its "
        "consumers first (strata group describe ", reset.group, " lists them)"));
  }
  if (!info.ok() && !absl::IsNotFound(info.status())) return info.status();

  STRATA_ASSIGN_OR_RETURN(client::TopicInfo topic, admin->DescribeTopic(reset.topic));
  std::vector<int32_t> partitions;
  for (const auto& p : topic.partitions) {
    if (!reset.partition.has_value() || p.index == *reset.partition) partitions.push_back(p.index);
  }
  if (partitions.empty()) {
    return absl::NotFoundError(absl::StrCat("topic '", reset.topic, "' has no partition ",
                                            *reset.partition));
  }
  STRATA_ASSIGN_OR_RETURN(auto starts,
                          admin->ListOffsets(reset.topic, partitions, client::kEarliestTimestamp));
  STRATA_ASSIGN_OR_RETURN(auto ends,
                          admin->ListOffsets(reset.topic, partitions, client::kLatestTimestamp));
  std::vector<client::PartitionOffset> by_time;
  if (reset.to.kind == client::SeekTarget::Kind::kTimestamp) {
    STRATA_ASSIGN_OR_RETURN(by_time, admin->ListOffsets(reset.topic, partitions, reset.to.value));
  }
  std::map<TopicPartition, client::CommittedOffset> current;
  if (info.ok()) {
    STRATA_ASSIGN_OR_RETURN(current, admin->GroupOffsets(reset.group));
  }

  std::map<TopicPartition, int64_t> target;
  for (size_t i = 0; i < partitions.size(); ++i) {
    STRATA_RETURN_IF_ERROR(starts[i].status);
    STRATA_RETURN_IF_ERROR(ends[i].status);
    int64_t offset = 0;
    switch (reset.to.kind) {
      case client::SeekTarget::Kind::kEarliest: offset = starts[i].offset; break;
      case client::SeekTarget::Kind::kLatest: offset = ends[i].offset; break;
      case client::SeekTarget::Kind::kTimestamp:
        STRATA_RETURN_IF_ERROR(by_time[i].status);
        offset = by_time[i].offset;
        break;
      case client::SeekTarget::Kind::kOffset:
        // Like Kafka: an offset outside the log is moved to its nearest end.
        offset = std::clamp(reset.to.value, starts[i].offset, ends[i].offset);
        break;
    }
    target[TopicPartition{reset.topic, partitions[i]}] = offset;
  }
  out << std::left << std::setw(11) << "partition" << std::setw(12) << "current" << "new\n";
  for (const auto& [tp, offset] : target) {
    auto c = current.find(tp);
    out << std::left << std::setw(11) << tp.partition << std::setw(12)
        << (c != current.end() && c->second.offset >= 0 ? std::to_string(c->second.offset) : "-")
        << offset << "\n";
  }
  if (reset.dry_run) {
    out << "dry run: nothing changed (run again without --dry-run to apply)\n";
    return absl::OkStatus();
  }
  absl::Status st = admin->CommitGroupOffsets(reset.group, target);
  if (absl::IsAborted(st)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "group '", reset.group, "' gained members while resetting (", st.message(),
        "); stop its consumers and try again"));
  }
  STRATA_RETURN_IF_ERROR(st);
  out << "reset " << Plural(int64_t(target.size()), "partition") << " of topic " << reset.topic
      << " for group " << reset.group << "\n";
  return absl::OkStatus();
}

absl::Status GroupDelete(const BrokerOptions& options, const std::string& group,
                         std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  absl::Status st = admin->DeleteGroup(group);
  if (absl::IsFailedPrecondition(st)) {
    return absl::FailedPreconditionError(
        absl::StrCat(st.message(), ". Stop the group's consumers (strata group describe ", group,
                     " lists them), then delete it"));
  }
  STRATA_RETURN_IF_ERROR(st);
  out << "deleted group " << group << " and its committed offsets\n";
  return absl::OkStatus();
}

}  // namespace strata::cli
