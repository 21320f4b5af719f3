#include "client/cli/broker_commands.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/cli/command_util.h"
#include "client/cli/output.h"
#include "client/metadata_cache.h"
#include "client/producer.h"

namespace strata::cli {

namespace {

using client::Admin;

absl::StatusOr<client::ConfigList> ParseConfigs(const std::vector<std::string>& configs) {
  client::ConfigList out;
  for (const std::string& c : configs) {
    STRATA_ASSIGN_OR_RETURN(auto kv, ParseKeyValue(c, "--config"));
    out.push_back(std::move(kv));
  }
  return out;
}

}  // namespace

client::SeekTarget DefaultFrom(bool follow) {
  return follow ? client::SeekTarget::Latest() : client::SeekTarget::Earliest();
}

// --- topic -----------------------------------------------------------------------------------

absl::Status TopicCreate(const BrokerOptions& options, const std::string& name, int32_t partitions,
                         const std::vector<std::string>& configs, std::ostream& out,
                         int32_t replication_factor, int32_t min_insync_replicas) {
  STRATA_ASSIGN_OR_RETURN(client::ConfigList list, ParseConfigs(configs));
  if (replication_factor > 0 && min_insync_replicas > replication_factor) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--min-insync-replicas ", min_insync_replicas, " is more than --replication-factor ",
        replication_factor, ": acks=all could never succeed. Use at most ", replication_factor,
        " (commonly replication factor 3 with min in-sync replicas 2)"));
  }
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  absl::Status st = admin->CreateTopic(
      client::NewTopic{name, partitions, replication_factor, min_insync_replicas, list});
  if (absl::IsAlreadyExists(st)) {
    return absl::AlreadyExistsError(absl::StrCat(
        st.message(), ". See it with: strata topic describe ", name,
        "; to start over: strata topic delete ", name));
  }
  STRATA_RETURN_IF_ERROR(st);
  out << "created topic " << name << " with " << Plural(partitions, "partition");
  if (replication_factor > 0) out << ", replication factor " << replication_factor;
  if (min_insync_replicas > 0) out << ", min in-sync replicas " << min_insync_replicas;
  out << "\n";
  return absl::OkStatus();
}

absl::Status TopicList(const BrokerOptions& options, std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  STRATA_ASSIGN_OR_RETURN(std::vector<std::string> names, admin->ListTopics());
  for (const std::string& n : names) out << n << "\n";
  return absl::OkStatus();
}

namespace {

// "1,2,3", or "-" for none.
std::string NodeList(const std::vector<int32_t>& nodes) {
  if (nodes.empty()) return "-";
  std::string out;
  for (int32_t n : nodes) absl::StrAppend(&out, out.empty() ? "" : ",", n);
  return out;
}

}  // namespace

void PrintTopicPartitions(const client::TopicInfo& info, std::ostream& out) {
  bool replicated = false;
  for (const client::PartitionInfo& p : info.partitions) replicated |= !p.replicas.empty();
  out << "topic " << info.name << ": " << Plural(int64_t(info.partitions.size()), "partition");
  if (replicated) {
    out << ", replication factor " << info.replication_factor << ", min in-sync replicas "
        << info.min_insync_replicas;
  }
  out << "\n";
  out << std::left << std::setw(11) << "partition" << std::setw(8) << "leader" << std::setw(7)
      << "epoch";
  if (replicated) out << std::setw(12) << "replicas" << std::setw(12) << "isr";
  out << std::setw(12) << "log_start" << std::setw(12) << "log_end" << "records\n";
  for (const client::PartitionInfo& p : info.partitions) {
    out << std::left << std::setw(11) << p.index << std::setw(8)
        << (p.leader < 0 ? std::string("none") : std::to_string(p.leader)) << std::setw(7)
        << p.leader_epoch;
    if (replicated) out << std::setw(12) << NodeList(p.replicas) << std::setw(12) << NodeList(p.isr);
    out << std::setw(12) << p.log_start_offset << std::setw(12) << p.high_watermark;
    if (p.status.ok()) {
      out << (p.high_watermark - p.log_start_offset);
      if (replicated && p.isr.size() < size_t(info.min_insync_replicas)) {
        out << "  (below min ISR: acks=all refused)";
      } else if (replicated && p.isr.size() < p.replicas.size()) {
        out << "  (under-replicated)";
      }
    } else {
      out << "OFFLINE: " << p.status.message();
    }
    out << "\n";
  }
}

absl::Status TopicDescribe(const BrokerOptions& options, const std::string& name,
                           std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  STRATA_ASSIGN_OR_RETURN(client::TopicInfo info, admin->DescribeTopic(name));
  STRATA_ASSIGN_OR_RETURN(client::ConfigList configs, admin->DescribeConfigs(name));
  PrintTopicPartitions(info, out);
  out << "configs:\n";
  for (const auto& [k, v] : configs) out << "  " << k << "=" << v << "\n";
  return absl::OkStatus();
}

bool PrintClusterStatus(const client::ClusterStatus& status, std::ostream& out) {
  out << "cluster " << (status.cluster_name.empty() ? "(single broker)" : status.cluster_name)
      << ": controller ";
  if (status.controller_id < 0) {
    out << (status.cluster_name.empty()
                ? "none (not needed on one broker)"
                : "NONE (an election is under way, or etcd is unreachable)");
  } else {
    out << status.controller_id << " (epoch " << status.controller_epoch << ")";
  }
  out << "\nbrokers:\n";
  out << "  " << std::left << std::setw(6) << "id" << std::setw(24) << "address" << "state\n";
  for (const client::ClusterBrokerStatus& b : status.brokers) {
    std::string state = b.alive ? "alive" : "DOWN";
    if (b.shutting_down) state += ", shutting down";
    if (b.node_id == status.controller_id) state += ", controller";
    out << "  " << std::left << std::setw(6) << b.node_id << std::setw(24)
        << (b.host.empty() ? std::string("-") : client::FormatAddress(b.host, b.port)) << state
        << "\n";
  }
  out << "partitions: " << status.partitions << " total, " << status.under_replicated
      << " under-replicated, " << status.below_min_isr << " below min ISR, " << status.offline
      << " offline\n";
  if (!status.issues.empty()) {
    out << "issues:\n";
    out << "  " << std::left << std::setw(28) << "partition" << std::setw(18) << "state"
        << std::setw(8) << "leader" << std::setw(7) << "epoch" << std::setw(12) << "replicas"
        << "isr\n";
    for (const client::PartitionIssue& i : status.issues) {
      out << "  " << std::left << std::setw(28) << absl::StrCat(i.topic, "-", i.index)
          << std::setw(18) << i.state << std::setw(8)
          << (i.leader < 0 ? std::string("none") : std::to_string(i.leader)) << std::setw(7)
          << i.leader_epoch << std::setw(12) << NodeList(i.replicas) << NodeList(i.isr) << "\n";
    }
    const int64_t listed = int64_t(status.issues.size());
    const int64_t total =
        int64_t(status.under_replicated) + status.below_min_isr + status.offline;
    if (total > listed) out << "  ... and more; raise --issues-max to list them\n";
  }
  const bool healthy = status.offline == 0 && status.below_min_isr == 0;
  if (!healthy) {
    out << "UNHEALTHY: ";
    if (status.offline > 0) {
      out << Plural(status.offline, "partition") << " offline (no reads or writes; start the "
          << "brokers of their ISR)";
    }
    if (status.offline > 0 && status.below_min_isr > 0) out << "; ";
    if (status.below_min_isr > 0) {
      out << Plural(status.below_min_isr, "partition")
          << " below min in-sync replicas (acks=all refused; bring their replicas back)";
    }
    out << "\n";
  } else if (status.under_replicated > 0) {
    out << "degraded: " << Plural(status.under_replicated, "partition")
        << " under-replicated (still serving; a replica is down or catching up)\n";
  } else {
    out << "healthy\n";
  }
  return healthy;
}

absl::StatusOr<bool> ShowClusterStatus(const BrokerOptions& options, int32_t issues_max,
                                   std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  absl::StatusOr<client::ClusterStatus> status = admin->DescribeCluster(issues_max);
  if (absl::IsUnimplemented(status.status()) || absl::IsFailedPrecondition(status.status())) {
    return absl::Status(status.status().code(),
                        absl::StrCat(status.status().message(),
                                     " (this broker predates `strata cluster status`; upgrade it, "
                                     "or use `strata topic describe` per topic)"));
  }
  STRATA_RETURN_IF_ERROR(status.status());
  return PrintClusterStatus(*status, out);
}

absl::Status TopicDelete(const BrokerOptions& options, const std::string& name,
                         std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  STRATA_RETURN_IF_ERROR(admin->DeleteTopic(name));
  out << "deleted topic " << name << " and its data\n";
  return absl::OkStatus();
}

absl::Status TopicAlter(const BrokerOptions& options, const std::string& name,
                        const std::vector<std::string>& configs, std::ostream& out) {
  STRATA_ASSIGN_OR_RETURN(client::ConfigList list, ParseConfigs(configs));
  if (list.empty()) {
    return absl::InvalidArgumentError(
        "nothing to change: pass one or more --config KEY=VALUE, e.g. --config "
        "retention_ms=86400000");
  }
  STRATA_ASSIGN_OR_RETURN(auto admin, ConnectAdmin(options));
  STRATA_RETURN_IF_ERROR(admin->AlterConfigs(name, list));
  out << "altered topic " << name << ":";
  for (const auto& [k, v] : list) out << " " << k << "=" << v;
  out << "\n";
  return absl::OkStatus();
}

// --- produce ---------------------------------------------------------------------------------

namespace {

// What the producer's callbacks report, for the summary.
class ProduceStats {
 public:
  void Record(const absl::StatusOr<client::RecordMetadata>& md) {
    absl::MutexLock lock(&mu_);
    if (!md.ok()) {
      ++failed_;
      if (first_error_.ok()) first_error_ = md.status();
      return;
    }
    Partition& p = partitions_[md->partition];
    ++p.records;
    if (md->offset >= 0) {
      p.first = p.first < 0 ? md->offset : std::min(p.first, md->offset);
      p.last = std::max(p.last, md->offset);
    }
  }

  int64_t failed() const {
    absl::MutexLock lock(&mu_);
    return failed_;
  }
  absl::Status first_error() const {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

  void Summary(std::ostream& out, const std::string& topic, int64_t bytes) const {
    absl::MutexLock lock(&mu_);
    int64_t ok = 0;
    for (const auto& [index, p] : partitions_) ok += p.records;
    out << "produced " << Plural(ok, "record") << " (" << Plural(bytes, "byte") << ") to topic "
        << topic;
    if (failed_ > 0) out << "; " << failed_ << " failed";
    out << "\n";
    for (const auto& [index, p] : partitions_) {
      out << "  partition " << index << ": " << Plural(p.records, "record");
      if (p.first >= 0) {
        out << ", offsets " << p.first << ".." << p.last;
      } else {
        out << " (offsets unknown with acks=0)";
      }
      out << "\n";
    }
  }

 private:
  struct Partition {
    int64_t records = 0;
    int64_t first = -1;
    int64_t last = -1;
  };
  mutable absl::Mutex mu_;
  std::map<int32_t, Partition> partitions_ ABSL_GUARDED_BY(mu_);
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::Status Produce(const BrokerOptions& options, const ProduceOptions& produce, std::istream& in,
                     std::ostream& out, std::ostream& err) {
  std::vector<client::Header> headers;
  for (const std::string& h : produce.headers) {
    STRATA_ASSIGN_OR_RETURN(auto kv, ParseKeyValue(h, "-H"));
    headers.push_back(client::Header{kv.first, kv.second});
  }
  if (produce.key_separator && produce.key_separator->empty()) {
    return absl::InvalidArgumentError("--key-separator must not be empty");
  }
  client::ProducerConfig config;
  config.bootstrap = options.bootstrap;
  config.client_name = "strata-cli";
  config.acks = produce.acks;
  config.compression = produce.compression;
  config.linger_ms = produce.linger_ms;
  // A broker that goes away mid-way makes the producer retry for up to delivery_timeout_ms: say
  // so (on the sender thread, at most every 5 s) rather than hang in silence.
  struct RetryReport {
    absl::Mutex mu;
    absl::Time last = absl::InfinitePast();
  };
  auto report = std::make_shared<RetryReport>();
  config.on_retry = [report, &err](const client::RetryNotice& notice) {
    absl::MutexLock lock(&report->mu);
    const absl::Time now = absl::Now();
    if (now - report->last < absl::Seconds(5)) return;
    report->last = now;
    const int64_t left_s = std::max<int64_t>(0, absl::ToInt64Seconds(notice.give_up_at - now));
    err << "strata produce: cannot deliver to " << notice.tp.topic << "-" << notice.tp.partition
        << " yet (" << notice.cause.message() << "); retrying for up to " << left_s
        << " s more\n"
        << std::flush;
  };
  STRATA_ASSIGN_OR_RETURN(auto producer, client::Producer::Create(config));
  // Check the topic (and partition) before reading any input.
  STRATA_ASSIGN_OR_RETURN(const int32_t partitions, producer->PartitionsFor(produce.topic));
  if (produce.partition && *produce.partition >= partitions) {
    return absl::NotFoundError(absl::StrCat("topic '", produce.topic, "' has partitions 0..",
                                            partitions - 1, "; there is no partition ",
                                            *produce.partition));
  }

  ProduceStats stats;
  Progress progress(err, options.progress, "produced");
  absl::Status send_error;
  int64_t lines = 0;
  int64_t bytes = 0;
  int64_t without_separator = 0;
  std::string line;
  while (std::getline(in, line)) {
    client::ProducerRecord record;
    record.topic = produce.topic;
    record.headers = headers;
    record.partition = produce.partition;
    if (produce.key_separator) {
      const size_t at = line.find(*produce.key_separator);
      if (at == std::string::npos) {
        ++without_separator;
        record.value = line;
      } else {
        record.key = line.substr(0, at);
        record.value = line.substr(at + produce.key_separator->size());
      }
    } else {
      record.value = line;
    }
    const int64_t size = int64_t(record.value->size() + (record.key ? record.key->size() : 0));
    send_error = producer->Send(std::move(record), [&stats](auto md) { stats.Record(md); });
    if (!send_error.ok()) break;
    ++lines;
    bytes += size;
    progress.Update(lines);
  }
  const bool read_failed = in.bad();
  producer->Close();  // waits for every callback
  progress.Done();
  stats.Summary(out, produce.topic, bytes);
  if (without_separator > 0) {
    out << "  " << Plural(without_separator, "line")
        << " had no key separator and went without a key\n";
  }
  if (!send_error.ok()) {
    return absl::Status(send_error.code(),
                        absl::StrCat("stopped after ", lines, " lines: ", send_error.message()));
  }
  if (stats.failed() > 0) {
    const absl::Status first = stats.first_error();
    return absl::Status(first.code(), absl::StrCat(stats.failed(), " of ", lines,
                                                   " records failed; the first error: ",
                                                   first.message()));
  }
  if (read_failed) return absl::DataLossError("reading the input failed part-way");
  return absl::OkStatus();
}

// --- consume ---------------------------------------------------------------------------------

absl::Status Consume(const BrokerOptions& options, const ConsumeOptions& consume,
                     std::ostream& out, std::ostream& err) {
  client::ConsumerConfig config;
  config.bootstrap = options.bootstrap;
  config.client_name = "strata-cli";
  STRATA_ASSIGN_OR_RETURN(auto consumer, client::Consumer::Create(config));
  std::vector<int32_t> partitions;
  if (consume.partition) partitions.push_back(*consume.partition);
  STRATA_RETURN_IF_ERROR(consumer->Assign(consume.topic, partitions));
  const client::SeekTarget from = consume.from.value_or(DefaultFrom(consume.follow));
  partitions.clear();
  for (const client::TopicPartition& tp : consumer->Assignment()) {
    STRATA_RETURN_IF_ERROR(consumer->Seek(tp.topic, tp.partition, from));
    partitions.push_back(tp.partition);
  }

  // Without --follow, stop at the ends seen now.
  std::map<int32_t, int64_t> ends;
  if (!consume.follow) {
    STRATA_ASSIGN_OR_RETURN(std::vector<client::PartitionOffset> offsets,
                            consumer->EndOffsets(consume.topic, partitions));
    for (const client::PartitionOffset& po : offsets) {
      STRATA_RETURN_IF_ERROR(po.status);
      ends[po.partition] = po.offset;
      if (from.kind != client::SeekTarget::Kind::kOffset || from.value < po.offset) continue;
      // Nothing to read there: say why instead of printing nothing.
      err << "strata consume: " << consume.topic << "-" << po.partition << " ends at offset "
          << po.offset << ", so there is nothing at or after offset " << from.value
          << "; use a lower --from, --from earliest, or --follow to wait for new records"
          << std::endl;
    }
  }
  auto finished = [&]() -> absl::StatusOr<bool> {
    for (const auto& [p, end] : ends) {
      STRATA_ASSIGN_OR_RETURN(int64_t position, consumer->Position(consume.topic, p));
      if (position < end) return false;
    }
    return true;
  };

  Progress progress(err, options.progress, "consumed");
  int64_t printed = 0;
  bool waiting_for_broker = false;
  for (;;) {
    if (consume.count >= 0 && printed >= consume.count) break;
    if (!consume.follow) {
      STRATA_ASSIGN_OR_RETURN(bool done, finished());
      if (done) break;
    }
    auto polled = consumer->Poll(consume.poll_timeout_ms);
    if (!polled.ok() && absl::IsUnavailable(polled.status()) && consume.follow) {
      // A broker restart is not the end of a --follow: say so once, then keep trying.
      if (!waiting_for_broker) {
        progress.Done();
        err << "strata consume: " << polled.status().message() << "; retrying until it is back"
            << std::endl;
        waiting_for_broker = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    STRATA_ASSIGN_OR_RETURN(std::vector<client::ConsumerRecord> records, std::move(polled));
    if (waiting_for_broker) {
      err << "strata consume: reconnected" << std::endl;
      waiting_for_broker = false;
    }
    progress.Done();  // records and the progress line share a terminal
    for (const client::ConsumerRecord& r : records) {
      if (!consume.follow && r.offset >= ends[r.partition]) continue;
      out << (consume.format == OutputFormat::kJson ? FormatRecordJson(r)
                                                    : FormatRecordText(r, consume.print_key))
          << "\n";
      ++printed;
      if (consume.count >= 0 && printed >= consume.count) break;
    }
    out.flush();
    progress.Update(printed);
  }
  return absl::OkStatus();
}

}  // namespace strata::cli
