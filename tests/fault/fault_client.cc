// fault_client: the workload of the fault campaign (tests/fault/campaign.py). Each mode is one
// client process that writes what it did and saw as a history, one JSON object per line, in the
// format tests/fault/checker.py reads (docs/fault-testing.md#the-history):
//
//   fault_client produce --bootstrap L --topic T --partitions P --name producer-0 --out FILE
//                        --t0-ms MS [--rate R]
//   fault_client consume --bootstrap L --topic T --partitions P --name consumer-0 --out FILE
//                        --t0-ms MS
//   fault_client group   --bootstrap L --topic T --group G --name group-0 --out FILE --t0-ms MS
//   fault_client final   --bootstrap L --topic T --partitions P --out FILE --t0-ms MS
//                        [--timeout-s S]
//
// produce: an idempotent acks=all producer sends unique values ("<name>-<n>") to the partitions in
// turn, R per second (default 200), until SIGTERM, then flushes. Each send is logged as "invoke"
// before Send and as "ok" (with the acknowledged offset) or "info" (failed: the outcome is
// unknown) from the callback.
// consume: a plain consumer reads every partition from the earliest offset, until SIGTERM, and
// logs each record it reads; errors are logged as notes and the consumer goes on.
// group: a member of consumer group G subscribed to T reads and logs records, and commits its
// positions about once a second (logged after the commit succeeded). Each new assignment is
// logged as a "restart": reading may legitimately go back to the committed offsets then.
// final: reads every partition from the earliest offset up to its end (the high watermark asked
// when it starts), logs every record as process "final", and exits 0; 1 if it could not finish
// within --timeout-s (default 60).
//
// "time_ms" is milliseconds since --t0-ms (Unix milliseconds), so every process shares a clock.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/consumer.h"
#include "client/group_consumer.h"
#include "client/producer.h"

namespace {

using strata::client::Consumer;
using strata::client::ConsumerConfig;
using strata::client::GroupConsumer;
using strata::client::GroupConsumerConfig;
using strata::client::OffsetReset;
using strata::client::Producer;
using strata::client::ProducerConfig;
using strata::client::TopicPartition;

std::atomic<bool> stop_requested{false};
void OnStopSignal(int) { stop_requested.store(true); }

// JSON string literal for s (values and error messages; no control characters expected, but
// escaped anyway).
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// The history file: one line per event, flushed at once (a kill -9 of this process loses at most
// the line being written, which the checker reports as malformed rather than guessing).
class History {
 public:
  History(const std::string& path, std::string process, int64_t t0_ms)
      : file_(std::fopen(path.c_str(), "a")), process_(std::move(process)), t0_ms_(t0_ms) {}
  ~History() {
    if (file_ != nullptr) std::fclose(file_);
  }
  bool ok() const { return file_ != nullptr; }
  // `fields` is the rest of the object after "time_ms", "process" and "type": `,"k":v...`.
  void Log(std::string_view type, std::string_view fields) {
    const int64_t t = absl::ToUnixMillis(absl::Now()) - t0_ms_;
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(file_, "{\"time_ms\":%lld,\"process\":%s,\"type\":%s%.*s}\n", (long long)t,
                 Quote(process_).c_str(), Quote(type).c_str(), int(fields.size()),
                 fields.data());
    std::fflush(file_);
  }

 private:
  std::mutex mu_;
  FILE* file_;
  const std::string process_;
  const int64_t t0_ms_;
};

std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc) {
      flags["?"] = key;
      continue;
    }
    flags[key.substr(2)] = argv[++i];
  }
  return flags;
}

int64_t IntFlag(const std::map<std::string, std::string>& flags, const std::string& key,
                int64_t fallback) {
  auto it = flags.find(key);
  return it == flags.end() ? fallback : std::atoll(it->second.c_str());
}

std::string ReadFields(const strata::client::ConsumerRecord& r) {
  return absl::StrCat(",\"partition\":", r.partition, ",\"offset\":", r.offset,
                      ",\"value\":", Quote(r.value.value_or("")));
}

int Produce(const std::map<std::string, std::string>& flags, History& history) {
  const std::string name = flags.at("name");
  const int32_t partitions = int32_t(IntFlag(flags, "partitions", 1));
  const int64_t rate = std::max<int64_t>(1, IntFlag(flags, "rate", 200));
  ProducerConfig config;
  config.bootstrap = flags.at("bootstrap");
  config.client_name = name;
  config.acks = -1;
  config.idempotent = true;
  config.linger_ms = 5;
  config.request_timeout_ms = 2000;
  config.connect_timeout_ms = 1000;
  config.retry_backoff_ms = 50;
  config.retry_backoff_max_ms = 500;
  // Longer than any fault the campaign injects, so a record fails only when something is wrong.
  config.delivery_timeout_ms = 60000;
  std::unique_ptr<Producer> producer;
  while (!stop_requested.load()) {
    auto created = Producer::Create(config);
    if (created.ok()) {
      producer = std::move(*created);
      break;
    }
    history.Log("note", absl::StrCat(",\"error\":", Quote(created.status().ToString())));
    absl::SleepFor(absl::Milliseconds(500));
  }
  if (producer == nullptr) return 0;
  const std::string topic = flags.at("topic");
  const absl::Duration interval = absl::Seconds(1) / rate;
  absl::Time next = absl::Now();
  for (int64_t n = 0; !stop_requested.load(); ++n) {
    const int32_t partition = int32_t(n % partitions);
    const std::string value = absl::StrCat(name, "-", n);
    const std::string where = absl::StrCat(",\"f\":\"send\",\"value\":", Quote(value),
                                           ",\"partition\":", partition);
    history.Log("invoke", where);
    strata::client::ProducerRecordView record;
    record.topic = topic;
    record.value = value;
    record.partition = partition;
    absl::Status sent = producer->Send(
        record, [&history, where](absl::StatusOr<strata::client::RecordMetadata> md) {
          if (md.ok()) {
            history.Log("ok", absl::StrCat(where, ",\"offset\":", md->offset));
          } else {
            history.Log("info", absl::StrCat(where, ",\"error\":", Quote(md.status().ToString())));
          }
        });
    if (!sent.ok()) {
      history.Log("info", absl::StrCat(where, ",\"error\":", Quote(sent.ToString())));
    }
    next += interval;
    const absl::Time now = absl::Now();
    if (next > now) {
      absl::SleepFor(next - now);
    } else if (now - next > absl::Seconds(1)) {
      next = now;  // blocked (buffer full during a fault): do not burst to catch up
    }
  }
  // Flush what is queued; Close waits for every callback.
  (void)producer->Close();
  return 0;
}

int Consume(const std::map<std::string, std::string>& flags, History& history) {
  const std::string topic = flags.at("topic");
  const int32_t partitions = int32_t(IntFlag(flags, "partitions", 1));
  ConsumerConfig config;
  config.bootstrap = flags.at("bootstrap");
  config.client_name = flags.at("name");
  // A position the leader refuses is an error to see, not a reason to jump elsewhere.
  config.auto_offset_reset = OffsetReset::kNone;
  config.connect_timeout_ms = 1000;
  config.request_timeout_ms = 2000;
  std::unique_ptr<Consumer> consumer;
  while (!stop_requested.load() && consumer == nullptr) {
    auto created = Consumer::Create(config);
    absl::Status st = created.status();
    if (created.ok()) {
      std::vector<int32_t> all;
      for (int32_t p = 0; p < partitions; ++p) all.push_back(p);
      st = (*created)->Assign(topic, all);
      for (int32_t p = 0; st.ok() && p < partitions; ++p) {
        st = (*created)->Seek(topic, p, strata::client::SeekTarget::Offset(0));
      }
      if (st.ok()) consumer = std::move(*created);
    }
    if (!st.ok()) {
      history.Log("note", absl::StrCat(",\"error\":", Quote(st.ToString())));
      absl::SleepFor(absl::Milliseconds(500));
    }
  }
  while (!stop_requested.load()) {
    auto records = consumer->Poll(200);
    if (!records.ok()) {
      // Positions come only from records read, so a refused one is an anomaly, not a note.
      history.Log(absl::IsOutOfRange(records.status()) ? "out_of_range" : "note",
                  absl::StrCat(",\"error\":", Quote(records.status().ToString())));
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    for (const auto& r : *records) history.Log("read", ReadFields(r));
  }
  return 0;
}

class AssignmentLog : public strata::client::RebalanceListener {
 public:
  explicit AssignmentLog(History& history) : history_(history) {}
  void OnPartitionsAssigned(const std::vector<TopicPartition>& partitions) override {
    std::string list;
    for (const auto& tp : partitions) absl::StrAppend(&list, list.empty() ? "" : ",", tp.partition);
    history_.Log("restart", absl::StrCat(",\"reason\":\"assigned\",\"partitions\":[", list, "]"));
  }

 private:
  History& history_;
};

int Group(const std::map<std::string, std::string>& flags, History& history) {
  const std::string group = flags.at("group");
  GroupConsumerConfig config;
  config.bootstrap = flags.at("bootstrap");
  config.group_id = group;
  config.client_id = flags.at("name");
  config.auto_offset_reset = OffsetReset::kEarliest;
  config.enable_auto_commit = false;
  config.session_timeout_ms = 6000;
  config.heartbeat_interval_ms = 1000;
  config.connect_timeout_ms = 1000;
  config.request_timeout_ms = 3000;
  AssignmentLog listener(history);
  std::unique_ptr<GroupConsumer> consumer;
  while (!stop_requested.load() && consumer == nullptr) {
    auto created = GroupConsumer::Create(config, &listener);
    absl::Status st = created.status();
    if (created.ok()) {
      st = (*created)->Subscribe({flags.at("topic")});
      if (st.ok()) consumer = std::move(*created);
    }
    if (!st.ok()) {
      history.Log("note", absl::StrCat(",\"error\":", Quote(st.ToString())));
      absl::SleepFor(absl::Milliseconds(500));
    }
  }
  const std::string g = absl::StrCat(",\"group\":", Quote(group));
  absl::Time next_commit = absl::Now() + absl::Seconds(1);
  while (!stop_requested.load()) {
    auto records = consumer->Poll(200);
    if (!records.ok()) {
      history.Log("note", absl::StrCat(g, ",\"error\":", Quote(records.status().ToString())));
      absl::SleepFor(absl::Milliseconds(100));
      continue;
    }
    for (const auto& r : *records) history.Log("read", absl::StrCat(ReadFields(r), g));
    if (absl::Now() < next_commit) continue;
    next_commit = absl::Now() + absl::Seconds(1);
    std::map<TopicPartition, int64_t> positions;
    for (const TopicPartition& tp : consumer->Assignment()) {
      auto position = consumer->Position(tp);
      if (position.ok()) positions[tp] = *position;
    }
    if (positions.empty()) continue;
    absl::Status st = consumer->CommitSync(positions);
    if (!st.ok()) {
      history.Log("note", absl::StrCat(g, ",\"error\":", Quote(st.ToString())));
      continue;
    }
    for (const auto& [tp, offset] : positions) {
      history.Log("commit", absl::StrCat(g, ",\"partition\":", tp.partition, ",\"offset\":", offset));
    }
  }
  (void)consumer->Close();
  return 0;
}

int Final(const std::map<std::string, std::string>& flags, History& history) {
  const std::string topic = flags.at("topic");
  const int32_t partitions = int32_t(IntFlag(flags, "partitions", 1));
  const absl::Time deadline = absl::Now() + absl::Seconds(IntFlag(flags, "timeout-s", 60));
  ConsumerConfig config;
  config.bootstrap = flags.at("bootstrap");
  config.client_name = "final-read";
  config.auto_offset_reset = OffsetReset::kNone;
  std::string last_error = "none";
  while (absl::Now() < deadline) {
    auto consumer = Consumer::Create(config);
    if (!consumer.ok()) {
      last_error = consumer.status().ToString();
      absl::SleepFor(absl::Milliseconds(500));
      continue;
    }
    std::vector<int32_t> all;
    for (int32_t p = 0; p < partitions; ++p) all.push_back(p);
    auto ends = (*consumer)->EndOffsets(topic, all);
    absl::Status st = ends.ok() ? (*consumer)->Assign(topic, all) : ends.status();
    for (int32_t p = 0; st.ok() && p < partitions; ++p) {
      st = (*consumer)->Seek(topic, p, strata::client::SeekTarget::Offset(0));
    }
    if (!st.ok()) {
      last_error = st.ToString();
      absl::SleepFor(absl::Milliseconds(500));
      continue;
    }
    std::map<int32_t, int64_t> end;
    for (const auto& po : *ends) end[po.partition] = po.offset;
    std::map<int32_t, int64_t> next;  // per partition, the next offset to log
    std::vector<std::string> lines;
    bool done = false;
    while (!done && absl::Now() < deadline) {
      auto records = (*consumer)->Poll(500);
      if (!records.ok()) {
        last_error = records.status().ToString();
        absl::SleepFor(absl::Milliseconds(200));
        continue;
      }
      for (const auto& r : *records) {
        if (r.offset < end[r.partition]) lines.push_back(ReadFields(r));
        next[r.partition] = r.offset + 1;
      }
      done = true;
      for (const auto& [p, e] : end) done = done && next[p] >= e;
    }
    if (!done) break;
    for (const std::string& line : lines) history.Log("read", line);
    std::string summary;
    for (const auto& [p, e] : end) absl::StrAppend(&summary, summary.empty() ? "" : ",", e);
    history.Log("note", absl::StrCat(",\"ends\":[", summary, "]"));
    return 0;
  }
  std::fprintf(stderr, "fault_client final: could not read everything in time: %s\n",
               last_error.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s produce|consume|group|final --bootstrap LIST --topic T --out FILE "
                 "--t0-ms MS [options]\n  (see the comment at the top of tests/fault/fault_client.cc)\n",
                 argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  auto flags = ParseFlags(argc, argv);
  for (const char* required : {"bootstrap", "topic", "out", "t0-ms"}) {
    if (!flags.contains(required) || flags.contains("?")) {
      std::fprintf(stderr, "fault_client: --%s is required (and every flag takes a value)\n",
                   required);
      return 2;
    }
  }
  if (!flags.contains("name")) flags["name"] = mode == "final" ? "final" : mode;
  if (mode == "group" && !flags.contains("group")) {
    std::fprintf(stderr, "fault_client group: --group is required\n");
    return 2;
  }
  signal(SIGTERM, OnStopSignal);
  signal(SIGINT, OnStopSignal);
  History history(flags.at("out"), flags.at("name"), IntFlag(flags, "t0-ms", 0));
  if (!history.ok()) {
    std::perror("fault_client: opening --out");
    return 1;
  }
  if (mode == "produce") return Produce(flags, history);
  if (mode == "consume") return Consume(flags, history);
  if (mode == "group") return Group(flags, history);
  if (mode == "final") return Final(flags, history);
  std::fprintf(stderr, "fault_client: unknown mode %s\n", mode.c_str());
  return 2;
}
