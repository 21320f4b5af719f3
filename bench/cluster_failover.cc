// cluster_failover: the client side of bench/cluster_bench.sh's failover measurement, and the small
// questions the script asks the cluster between trials.
//
//   cluster_failover write  --bootstrap LIST --topic T --out FILE [--partition P]
//                           [--record-bytes N] [--request-timeout-ms MS]
//                           [--retry-backoff-ms MS] [--retry-backoff-max-ms MS]
//   cluster_failover leader --bootstrap LIST --topic T [--partition P]
//   cluster_failover wait   --bootstrap LIST --topic T [--timeout-s S] [--preferred]
//
// write: one idempotent acks=all producer writes one record at a time to one partition
// (Producer::SendSync in a loop, so at most one record is in flight) until SIGINT or SIGTERM, and
// appends a line per outcome to FILE, flushed at once so the driver can watch it:
//   A <send_us> <ack_us> <offset> <retries>   an acknowledgement (wall clock, microseconds since
//                                              the Unix epoch; retries = attempts that failed)
//   E <send_us> <fail_us> <message>           a record that failed for good (delivery timeout)
// The short request timeout and retry backoff (defaults below, smaller than the client's) make a
// request stuck on a dead or departing leader give way promptly, so the figure is the cluster's
// failover and not the client's patience; the script reports the values it used.
//
// leader: prints "LEADER EPOCH ISR_SIZE REPLICAS_SIZE PREFERRED" for the partition, as a broker
// of the bootstrap list sees it.
//
// wait: polls every 100 ms until every partition of the topic has a leader and a full ISR (and,
// with --preferred, is led by its preferred replica, the first of its replicas); exit 0, or 1
// after --timeout-s (default 120).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/admin.h"
#include "client/producer.h"

namespace {

using strata::client::Admin;
using strata::client::Producer;
using strata::client::ProducerConfig;

std::atomic<bool> stop_requested{false};

void OnStopSignal(int) { stop_requested.store(true); }

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s write|leader|wait --bootstrap LIST --topic T [options]\n"
               "  (see the comment at the top of bench/cluster_failover.cc)\n",
               argv0);
  return 2;
}

// "--key value" pairs and "--flag"s after the mode.
std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0) {
      flags["?"] = key;
      continue;
    }
    key = key.substr(2);
    if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      flags[key] = argv[++i];
    } else {
      flags.emplace(key, "1");
    }
  }
  return flags;
}

int64_t IntFlag(const std::map<std::string, std::string>& flags, const std::string& key,
                int64_t fallback) {
  auto it = flags.find(key);
  return it == flags.end() ? fallback : std::atoll(it->second.c_str());
}

int Write(const std::map<std::string, std::string>& flags) {
  ProducerConfig config;
  config.bootstrap = flags.at("bootstrap");
  config.client_name = "cluster-failover";
  config.acks = -1;
  config.idempotent = true;
  config.linger_ms = 0;
  config.request_timeout_ms = IntFlag(flags, "request-timeout-ms", 1000);
  config.connect_timeout_ms = config.request_timeout_ms;
  config.retry_backoff_ms = IntFlag(flags, "retry-backoff-ms", 10);
  config.retry_backoff_max_ms = IntFlag(flags, "retry-backoff-max-ms", 50);
  // Long enough that no record gives up during a failover (the lease TTL is 3 s).
  config.delivery_timeout_ms = 60000;
  auto retries = std::make_shared<std::atomic<int64_t>>(0);
  config.on_retry = [retries](const strata::client::RetryNotice&) { retries->fetch_add(1); };

  auto producer = Producer::Create(config);
  if (!producer.ok()) {
    std::fprintf(stderr, "cluster_failover: %s\n", producer.status().ToString().c_str());
    return 1;
  }
  FILE* out = std::fopen(flags.at("out").c_str(), "a");
  if (out == nullptr) {
    std::perror("cluster_failover: opening --out");
    return 1;
  }
  const std::string value(size_t(IntFlag(flags, "record-bytes", 100)), 'f');
  strata::client::ProducerRecordView record;
  record.topic = flags.at("topic");
  record.value = value;
  record.partition = int32_t(IntFlag(flags, "partition", 0));
  int64_t acked = 0;
  while (!stop_requested.load()) {
    const int64_t retries_before = retries->load();
    const int64_t send_us = NowMicros();
    auto md = (*producer)->SendSync(record);
    const int64_t done_us = NowMicros();
    if (md.ok()) {
      std::fprintf(out, "A %lld %lld %lld %lld\n", (long long)send_us, (long long)done_us,
                   (long long)md->offset, (long long)(retries->load() - retries_before));
      ++acked;
    } else {
      std::fprintf(out, "E %lld %lld %s\n", (long long)send_us, (long long)done_us,
                   md.status().ToString().c_str());
    }
    std::fflush(out);
  }
  std::fclose(out);
  (*producer)->Close();
  std::fprintf(stderr, "cluster_failover: %lld records acknowledged\n", (long long)acked);
  return 0;
}

absl::StatusOr<strata::client::TopicInfo> Describe(const std::map<std::string, std::string>& flags) {
  strata::client::ConnectionOptions options;
  options.connect_timeout_ms = 1000;
  options.request_timeout_ms = 2000;
  auto admin = Admin::Connect(flags.at("bootstrap"), options);
  if (!admin.ok()) return admin.status();
  return (*admin)->DescribeTopic(flags.at("topic"));
}

int Leader(const std::map<std::string, std::string>& flags) {
  auto topic = Describe(flags);
  if (!topic.ok()) {
    std::fprintf(stderr, "cluster_failover: %s\n", topic.status().ToString().c_str());
    return 1;
  }
  const int32_t partition = int32_t(IntFlag(flags, "partition", 0));
  for (const auto& p : topic->partitions) {
    if (p.index != partition) continue;
    std::printf("%d %d %zu %zu %d\n", p.leader, p.leader_epoch, p.isr.size(), p.replicas.size(),
                p.replicas.empty() ? -1 : p.replicas[0]);
    return 0;
  }
  std::fprintf(stderr, "cluster_failover: no partition %d\n", partition);
  return 1;
}

int Wait(const std::map<std::string, std::string>& flags) {
  const bool preferred = flags.contains("preferred");
  const absl::Time deadline = absl::Now() + absl::Seconds(IntFlag(flags, "timeout-s", 120));
  std::string last = "no answer yet";
  while (absl::Now() < deadline) {
    auto topic = Describe(flags);
    if (topic.ok()) {
      bool healthy = !topic->partitions.empty();
      for (const auto& p : topic->partitions) {
        healthy = healthy && p.leader >= 0 && !p.replicas.empty() &&
                  p.isr.size() == p.replicas.size() && (!preferred || p.leader == p.replicas[0]);
        if (!healthy) {
          last = "partition " + std::to_string(p.index) + " leader " +
                 std::to_string(p.leader) + ", ISR " + std::to_string(p.isr.size()) + " of " +
                 std::to_string(p.replicas.size());
          break;
        }
      }
      if (healthy) return 0;
    } else {
      last = topic.status().ToString();
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::fprintf(stderr, "cluster_failover wait: not healthy in time: %s\n", last.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(argv[0]);
  const std::string mode = argv[1];
  const auto flags = ParseFlags(argc, argv);
  if (flags.contains("?") || !flags.contains("bootstrap") || !flags.contains("topic")) {
    return Usage(argv[0]);
  }
  signal(SIGPIPE, SIG_IGN);
  if (mode == "write") {
    if (!flags.contains("out")) return Usage(argv[0]);
    signal(SIGINT, OnStopSignal);
    signal(SIGTERM, OnStopSignal);
    return Write(flags);
  }
  if (mode == "leader") return Leader(flags);
  if (mode == "wait") return Wait(flags);
  return Usage(argv[0]);
}
