// `strata consume TOPIC`: print a topic's records, alone or as a member of a consumer group
// (broker_commands.h, Consume; group_commands.h, ConsumeInGroup).
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/broker_commands.h"
#include "client/cli/command.h"
#include "client/cli/group_commands.h"
#include "client/cli/output.h"

namespace strata::cli {

namespace {

constexpr const char* kConsumeHelp =
    "Print a topic's records, one per line. Without --follow it reads up to the end offsets it\n"
    "sees when it starts and exits; with --follow it keeps waiting for new records (Ctrl-C "
    "stops).\n"
    "--from defaults to earliest, or to latest with --follow (like kafka-console-consumer, which\n"
    "shows only new records unless asked for the beginning).\n"
    "Text format prints each value (\"null\" for a null one; --print-key adds the key and a tab).\n"
    "JSON format prints one object per line with topic, partition, offset, timestamp, key,\n"
    "headers and value; bytes that are not UTF-8 appear as \\u00XX escapes.\n"
    "With --group G it consumes as a member of consumer group G: the group shares the topic's\n"
    "partitions among its members, and this command reads only the ones it is given, starting\n"
    "at the group's committed offsets, and commits as it goes (every --commit-interval-ms and on\n"
    "exit). --from then only says where partitions without a committed offset start (earliest\n"
    "or latest). Without --follow it stops once its partitions are caught up; with --follow,\n"
    "Ctrl-C (or SIGTERM) commits and leaves the group cleanly.";

constexpr const char* kConsumeExamples =
    "Examples:\n"
    "  strata consume orders --from earliest --count 2 --format json\n"
    "  strata consume orders --follow\n"
    "  strata consume orders --partition 3 --from 1200 --count 10\n"
    "  strata consume orders --from @1700000000000 --format json | jq .value\n"
    "  strata consume orders --group billing --follow\n"
    "  strata consume orders --group billing --instance-id billing-1 --follow   static member\n";

}  // namespace

void AddConsumeCommand(Commands& commands) {
  struct Args {
    ConsumeOptions options;
    std::string from;
    std::string format = "text";
    int64_t count = -1;
    int32_t partition = -1;
    std::string group_id;
    std::string instance_id;
  };
  auto args = std::make_shared<Args>();
  const BrokerOptions& broker = commands.broker();

  CLI::App* consume = commands.app().add_subcommand("consume", "Print a topic's records");
  consume->group(kBrokerGroup);
  commands.Describe(consume, kConsumeHelp);
  consume->footer(kConsumeExamples);
  consume->add_option("topic", args->options.topic, "The topic")->required()->type_name("TOPIC");
  consume
      ->add_option("--from", args->from,
                   "earliest, latest, an offset, or @TIMESTAMP_MS (default earliest; latest with "
                   "--follow)")
      ->type_name("WHERE")
      ->check(FromParser([](const std::string& t) { return ParseFrom(t); }));
  consume->add_option("--partition", args->partition, "Read only partition N (default: all)")
      ->type_name("N")
      ->check(NonNegative());
  consume->add_option("--count,-n", args->count, "Stop after N records")
      ->type_name("N")
      ->check(NonNegative());
  consume->add_flag("--follow,-F", args->options.follow, "Keep waiting for new records");
  consume->add_option("--format", args->format, "text (default) or json (one object per line)")
      ->type_name("text|json")
      ->check(CLI::Validator(
          [](std::string& t) -> std::string {
            return t == "text" || t == "json" ? "" : "'" + t + "' is not one of: text, json";
          },
          ""));
  consume->add_flag("--print-key", args->options.print_key, "Text format: print KEY<TAB>VALUE");
  consume->add_option("--group,-g", args->group_id, "Consume as a member of this consumer group")
      ->type_name("GROUP");
  consume
      ->add_option("--instance-id", args->instance_id,
                   "With --group: a static member id (a restart keeps its partitions)")
      ->type_name("ID");
  consume
      ->add_option("--assignor", args->options.assignor,
                   "With --group: cooperative-sticky (default), range or roundrobin")
      ->type_name("NAME")
      ->check(CLI::IsMember({"cooperative-sticky", "range", "roundrobin"}));
  consume
      ->add_option("--commit-interval-ms", args->options.commit_interval_ms,
                   "With --group: commit every MS (default 5000)")
      ->type_name("MS")
      ->check(Positive());
  consume
      ->add_option("--session-timeout-ms", args->options.session_timeout_ms,
                   "With --group: the group drops this member after MS without heartbeats "
                   "(default 45000)")
      ->type_name("MS")
      ->check(Positive());

  commands.OnRun(consume, [args, &broker] {
    ConsumeOptions& options = args->options;
    if (!args->from.empty()) options.from = *ParseFrom(args->from);
    if (args->partition >= 0) options.partition = args->partition;
    options.count = args->count;
    options.format = args->format == "json" ? OutputFormat::kJson : OutputFormat::kText;
    if (args->group_id.empty()) {
      if (!args->instance_id.empty()) {
        std::cerr << "strata consume: --instance-id needs --group\n";
        return kExitUsage;
      }
      return Finish("strata consume", Consume(broker, options, std::cout, std::cerr));
    }
    if (options.partition.has_value()) {
      std::cerr << "strata consume: --partition and --group do not go together: the group decides "
                   "which partitions each member reads\n";
      return kExitUsage;
    }
    options.group = args->group_id;
    if (!args->instance_id.empty()) options.instance_id = args->instance_id;
    // Ctrl-C and SIGTERM stop the loop, so the consumer commits and leaves the group cleanly.
    static std::atomic<bool> stop{false};
    struct sigaction sa {};
    sa.sa_handler = [](int) { stop.store(true); };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    options.stop_requested = &stop;
    return Finish("strata consume", ConsumeInGroup(broker, options, std::cout, std::cerr));
  });
}

}  // namespace strata::cli
