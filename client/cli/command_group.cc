// `strata group list|describe|reset-offsets|delete`: consumer groups (group_commands.h).
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/command.h"
#include "client/cli/group_commands.h"
#include "client/cli/output.h"

namespace strata::cli {

namespace {

constexpr const char* kGroupHelp =
    "Inspect and manage consumer groups. A group is a set of consumers sharing a topic's\n"
    "partitions (strata consume TOPIC --group G, or the C++ GroupConsumer); the broker stores\n"
    "each group's committed offsets, so members resume where the group left off.";

constexpr const char* kGroupExamples =
    "Examples:\n"
    "  strata group list\n"
    "  strata group describe billing                       members, offsets, lag\n"
    "  strata group reset-offsets billing --topic orders --to earliest --dry-run\n"
    "  strata group reset-offsets billing --topic orders --to @1700000000000\n"
    "  strata group delete billing\n";

constexpr const char* kGroupResetHelp =
    "Move a group's committed offsets for one topic (all partitions, or --partition N) to the\n"
    "earliest or latest offset, an offset (kept inside the log), or the first record at or after\n"
    "a timestamp. Only for a group without live members: stop its consumers first. --dry-run\n"
    "shows the current and new offsets without changing anything.";

}  // namespace

void AddGroupCommand(Commands& commands) {
  CLI::App* group =
      commands.app().add_subcommand("group", "List, describe, reset and delete consumer groups");
  group->group(kBrokerGroup);
  commands.Describe(group, kGroupHelp);
  group->footer(kGroupExamples);
  group->require_subcommand(1);

  struct Args {
    std::string group;
    ResetOffsetsOptions reset;
    std::string reset_to;
    int32_t reset_partition = -1;
  };
  auto args = std::make_shared<Args>();
  const BrokerOptions& broker = commands.broker();

  CLI::App* list = group->add_subcommand("list", "Every consumer group and its state");
  list->footer("Examples:\n  strata group list\n");
  commands.OnRun(list,
                 [&broker] { return Finish("strata group list", GroupList(broker, std::cout)); });

  CLI::App* describe =
      group->add_subcommand("describe", "A group's members, committed offsets and lag");
  describe->footer("Examples:\n  strata group describe billing\n");
  describe->add_option("group", args->group, "The group id")->required()->type_name("GROUP");
  commands.OnRun(describe, [args, &broker] {
    return Finish("strata group describe", GroupDescribe(broker, args->group, std::cout));
  });

  CLI::App* reset =
      group->add_subcommand("reset-offsets", "Move an inactive group's committed offsets");
  commands.Describe(reset, kGroupResetHelp);
  reset->footer(kGroupExamples);
  reset->add_option("group", args->reset.group, "The group id")->required()->type_name("GROUP");
  reset->add_option("--topic,-t", args->reset.topic, "The topic")->required()->type_name("TOPIC");
  reset->add_option("--to", args->reset_to, "earliest, latest, an offset, or @TIMESTAMP_MS")
      ->required()
      ->type_name("WHERE")
      ->check(FromParser([](const std::string& t) { return ParseFrom(t); }));
  reset->add_option("--partition", args->reset_partition, "Only partition N (default: all)")
      ->type_name("N")
      ->check(NonNegative());
  reset->add_flag("--dry-run", args->reset.dry_run, "Show what would change; change nothing");
  commands.OnRun(reset, [args, &broker] {
    args->reset.to = *ParseFrom(args->reset_to);
    if (args->reset_partition >= 0) args->reset.partition = args->reset_partition;
    return Finish("strata group reset-offsets", GroupResetOffsets(broker, args->reset, std::cout));
  });

  CLI::App* del =
      group->add_subcommand("delete", "Delete an inactive group and its committed offsets");
  del->footer("Examples:\n  strata group delete billing\n");
  del->add_option("group", args->group, "The group id")->required()->type_name("GROUP");
  commands.OnRun(del, [args, &broker] {
    return Finish("strata group delete", GroupDelete(broker, args->group, std::cout));
  });
}

}  // namespace strata::cli
