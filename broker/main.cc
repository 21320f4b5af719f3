// stratad: the Strata broker. Parses flags and the config file (broker/config.h), starts a Broker,
// and waits for SIGTERM or SIGINT to shut it down cleanly (exit 0). Exit 1 when start-up fails
// (the message says what to fix), 2 for a usage error.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "common/logging.h"
#include "common/process.h"

namespace {

constexpr const char* kHelp =
    "stratad: the Strata broker. It stores topics under --data-dir and serves the native protocol\n"
    "on --listen (clients: the `strata` CLI and the C++ client library) and Prometheus metrics on\n"
    "--metrics-listen. SIGTERM or SIGINT (Ctrl-C) drains connections, flushes every partition and\n"
    "exits 0; after a crash or kill -9 the next start recovers the logs (docs/recovery.md).";

}  // namespace

int main(int argc, char** argv) {
  strata::InitProcess();
  using strata::broker::BrokerConfig;
  const BrokerConfig defaults;
  CLI::App app(kHelp, "stratad");
  std::string config_file, data_dir, listen, metrics_listen, log_level, etcd, cluster_name,
      advertised_listen, kafka_listen, kafka_advertised_listen;
  int64_t replica_lag_max_ms = 0, broker_lease_ttl_s = 0;
  int32_t node_id = 0;
  int threads = 0;
  app.add_option("--config", config_file, "TOML file of settings (keys below); flags override it")
      ->check(CLI::ExistingFile);
  app.add_option("--data-dir", data_dir, "Where topics and metadata live")
      ->default_str(defaults.data_dir);
  app.add_option("--listen", listen, "Native protocol listener HOST:PORT (port 0: any free port)")
      ->default_str(defaults.listen.ToString());
  app.add_option("--metrics-listen", metrics_listen,
                 "Prometheus /metrics listener HOST:PORT, or `off`")
      ->default_str(defaults.metrics_listen.ToString());
  app.add_option("--kafka-listen", kafka_listen,
                 "Kafka-compatible listener HOST:PORT, e.g. 127.0.0.1:9092 (port 0: any free "
                 "port), or `off`; existing Kafka clients then work unchanged (docs/kafka.md)")
      ->default_str("off");
  app.add_option("--kafka-advertised-listen", kafka_advertised_listen,
                 "HOST:PORT Kafka clients are told to dial (default: the bound --kafka-listen)");
  app.add_option("--node-id", node_id, "This broker's node id")->default_str("0");
  app.add_option("--threads", threads, "io threads (0: one per core)")->default_str("0");
  app.add_option("--log-level", log_level, "debug, info, warn, error or off")
      ->default_str(defaults.log_level);
  app.add_option("--etcd", etcd,
                 "Join a cluster coordinated by etcd at HOST:PORT[,HOST:PORT] (default: run "
                 "alone, no etcd); each broker needs its own --node-id");
  app.add_option("--cluster-name", cluster_name, "Brokers with the same name form one cluster")
      ->default_str(defaults.cluster_name);
  app.add_option("--advertised-listen", advertised_listen,
                 "HOST:PORT that other brokers and clients dial (default: the bound --listen)");
  app.add_option("--replica-lag-max-ms", replica_lag_max_ms,
                 "A follower behind the leader this long leaves the ISR")
      ->default_str(std::to_string(defaults.replica_lag_max_ms));
  app.add_option("--broker-lease-ttl-s", broker_lease_ttl_s,
                 "Seconds of silence after which the cluster takes this broker as gone")
      ->default_str(std::to_string(defaults.broker_lease_ttl_s));
  app.footer(absl::StrCat("\n", strata::broker::BrokerConfigHelp(),
                          "\nExamples:\n"
                          "  stratad                                  defaults above\n"
                          "  stratad --data-dir /var/lib/strata --listen 0.0.0.0:9292\n"
                          "  stratad --config /etc/strata/stratad.toml --log-level warn\n"
                          "  stratad --etcd 127.0.0.1:2379 --node-id 1 --listen 127.0.0.1:9301\n"
                          "                                           one broker of a cluster "
                          "(scripts/cluster.sh starts a whole one)\n"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  BrokerConfig config;
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = strata::broker::ParseBrokerToml(text.str(), config);
    if (!parsed.ok()) {
      std::cerr << "stratad: " << config_file << ": " << parsed.status().message() << "\n";
      return 2;
    }
    config = *parsed;
  }
  const auto fail_usage = [](const absl::Status& st) {
    std::cerr << "stratad: " << st.message() << "\n";
    return 2;
  };
  if (app.count("--data-dir") > 0) config.data_dir = data_dir;
  if (app.count("--listen") > 0) {
    auto hp = strata::broker::ParseHostPort(listen);
    if (!hp.ok()) return fail_usage(hp.status());
    config.listen = *hp;
  }
  if (app.count("--metrics-listen") > 0) {
    if (metrics_listen == "off") {
      config.metrics_enabled = false;
    } else {
      auto hp = strata::broker::ParseHostPort(metrics_listen);
      if (!hp.ok()) return fail_usage(hp.status());
      config.metrics_listen = *hp;
      config.metrics_enabled = true;
    }
  }
  if (app.count("--kafka-listen") > 0) {
    if (kafka_listen == "off") {
      config.kafka_listen.reset();
    } else {
      auto hp = strata::broker::ParseHostPort(kafka_listen);
      if (!hp.ok()) return fail_usage(hp.status());
      config.kafka_listen = *hp;
    }
  }
  if (app.count("--kafka-advertised-listen") > 0) {
    config.kafka_advertised_listen = kafka_advertised_listen;
  }
  if (app.count("--node-id") > 0) config.node_id = node_id;
  if (app.count("--threads") > 0) config.threads = threads;
  if (app.count("--log-level") > 0) config.log_level = log_level;
  if (app.count("--etcd") > 0) config.etcd = etcd;
  if (app.count("--cluster-name") > 0) config.cluster_name = cluster_name;
  if (app.count("--advertised-listen") > 0) config.advertised_listen = advertised_listen;
  if (app.count("--replica-lag-max-ms") > 0) config.replica_lag_max_ms = replica_lag_max_ms;
  if (app.count("--broker-lease-ttl-s") > 0) config.broker_lease_ttl_s = broker_lease_ttl_s;
  if (absl::Status st = config.Validate(); !st.ok()) return fail_usage(st);
  strata::SetLogLevel(*strata::ParseLogLevel(config.log_level));

  // Every thread inherits this mask, so SIGTERM/SIGINT reach only the sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto broker = strata::broker::Broker::Start(config);
  if (!broker.ok()) {
    std::cerr << "stratad: " << broker.status().message() << "\n";
    return 1;
  }
  int signal = 0;
  sigwait(&signals, &signal);
  strata::LogEvent(strata::LogLevel::kInfo,
                   absl::StrCat("received ", signal == SIGTERM ? "SIGTERM" : "SIGINT"));
  absl::Status st = (*broker)->Shutdown();
  broker->reset();
  return st.ok() ? 0 : 1;
}
