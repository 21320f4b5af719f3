// `strata cluster status` (broker_commands.h, ShowClusterStatus).
#include <cstdint>
#include <iostream>
#include <memory>

#include "client/cli/broker_commands.h"
#include "client/cli/command.h"

namespace strata::cli {

namespace {

// The exit code of an unhealthy cluster. Not 2, which every command uses for a bad command line:
// a script must be able to tell "the cluster needs attention" from "the check was mistyped".
constexpr int kExitUnhealthy = 3;

constexpr const char* kClusterHelp = "Look at the cluster of brokers as a whole.";

constexpr const char* kClusterStatusHelp =
    "Show the cluster as the broker at --bootstrap sees it: every broker (id, address, alive or\n"
    "DOWN, shutting down), the controller (the broker that decides leaders) and its epoch, how\n"
    "many partitions there are and how many are in trouble, and the troubled ones:\n"
    "  under-replicated  fewer replicas in sync (ISR) than the replication factor. Reads and\n"
    "                    writes go on; a broker is down or catching up. Bring it back, or wait.\n"
    "  below-min-isr     fewer in sync than the topic's min in-sync replicas: acks=all writes\n"
    "                    are refused (NOT_ENOUGH_REPLICAS; producers retry), reads go on. Start\n"
    "                    the missing replicas' brokers; acks=1 producers still write.\n"
    "  offline           no leader: no reads or writes. Every in-sync replica is down; start\n"
    "                    one of the ISR's brokers (the partition is never led by a replica that\n"
    "                    may miss acknowledged records).\n"
    "Exit codes: 0 healthy (under-replicated partitions included: they still serve), 3 some\n"
    "partition is offline or below min in-sync replicas, 1 the broker could not be asked, 2 a\n"
    "bad command line. On a single broker every partition is led by it and nothing is replicated.";

constexpr const char* kClusterStatusExamples =
    "Examples:\n"
    "  strata cluster status\n"
    "  strata --bootstrap 10.0.0.1:9292,10.0.0.2:9292 cluster status\n"
    "  strata cluster status --issues-max 1000\n"
    "  strata cluster status >/dev/null || echo 'partitions need attention'\n";

}  // namespace

void AddClusterCommand(Commands& commands) {
  CLI::App* cluster = commands.app().add_subcommand("cluster", "Show the cluster's health");
  cluster->group(kBrokerGroup);
  commands.Describe(cluster, kClusterHelp);
  cluster->footer(kClusterStatusExamples);
  cluster->require_subcommand(1);

  auto issues_max = std::make_shared<int32_t>(100);
  const BrokerOptions& broker = commands.broker();
  CLI::App* status = cluster->add_subcommand(
      "status", "Brokers, controller, and partitions under-replicated, below min ISR or offline");
  commands.Describe(status, kClusterStatusHelp);
  status->footer(kClusterStatusExamples);
  status->add_option("--issues-max", *issues_max,
                     "List at most this many troubled partitions (all are counted; default 100)")
      ->type_name("N")
      ->check(NonNegative());
  commands.OnRun(status, [issues_max, &broker] {
    absl::StatusOr<bool> healthy = ShowClusterStatus(broker, *issues_max, std::cout);
    if (!healthy.ok()) return Finish("strata cluster status", healthy.status());
    const int code = Finish("strata cluster status", absl::OkStatus());
    return *healthy ? code : kExitUnhealthy;
  });
}

}  // namespace strata::cli
