// `strata topic create|list|describe|delete|alter` (broker_commands.h).
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "client/cli/broker_commands.h"
#include "client/cli/command.h"

namespace strata::cli {

namespace {

constexpr const char* kTopicHelp =
    "Create, list, describe, change and delete topics on the broker. A topic is split into\n"
    "partitions; a record's key picks its partition (XXH3 of the key mod the partition count), so\n"
    "records with one key stay in order. Partitions can be added later but never removed.";

constexpr const char* kTopicExamples =
    "Examples:\n"
    "  strata topic create orders --partitions 8 --config retention_ms=86400000\n"
    "  strata topic list\n"
    "  strata topic describe orders\n"
    "  strata topic alter orders --config retention_bytes=1073741824\n"
    "  strata topic delete orders\n";

constexpr const char* kTopicCreateHelp =
    "Create a topic with N partitions (default 1). --config sets any topic setting other than\n"
    "partitions, repeatable: segment_bytes, segment_ms, retention_ms, retention_bytes,\n"
    "flush_always, flush_bytes, flush_ms, cleanup_policy, delete_retention_ms (docs/partition.md\n"
    "lists their ranges).\n"
    "Names are 1 to 249 of a-z A-Z 0-9 . _ -";

constexpr const char* kTopicCreateExamples =
    "Examples:\n"
    "  strata topic create orders --partitions 8\n"
    "  strata topic create audit --partitions 3 --config flush_always=true --config "
    "retention_ms=-1\n";

constexpr const char* kTopicDescribeHelp =
    "Show a topic's partitions (leader, log start offset, log end offset = high watermark, and\n"
    "the number of records between them) and every config value.";

constexpr const char* kTopicAlterHelp =
    "Change topic settings. Raising partitions adds partitions at once (keys then map\n"
    "differently); segment, retention and flush settings apply when the broker next opens the\n"
    "partition (after a restart).";

}  // namespace

void AddTopicCommand(Commands& commands) {
  CLI::App* topic =
      commands.app().add_subcommand("topic", "Create, list, describe, alter and delete topics");
  topic->group(kBrokerGroup);
  commands.Describe(topic, kTopicHelp);
  topic->footer(kTopicExamples);
  topic->require_subcommand(1);

  struct Args {
    std::string name;
    int32_t partitions = 1;
    std::vector<std::string> configs;
  };
  auto args = std::make_shared<Args>();
  const BrokerOptions& broker = commands.broker();

  CLI::App* create = topic->add_subcommand("create", "Create a topic");
  commands.Describe(create, kTopicCreateHelp);
  create->footer(kTopicCreateExamples);
  create->add_option("name", args->name, "The topic name")->required()->type_name("NAME");
  create->add_option("--partitions,-p", args->partitions, "Number of partitions (default 1)")
      ->type_name("N")
      ->check(Positive());
  create->add_option("--config,-c", args->configs, "A topic setting; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(KeyValue());
  commands.OnRun(create, [args, &broker] {
    return Finish("strata topic create",
                  TopicCreate(broker, args->name, args->partitions, args->configs, std::cout));
  });

  CLI::App* list = topic->add_subcommand("list", "List topic names, one per line");
  list->footer("Examples:\n  strata topic list\n  strata topic list | wc -l\n");
  commands.OnRun(list,
                 [&broker] { return Finish("strata topic list", TopicList(broker, std::cout)); });

  CLI::App* describe =
      topic->add_subcommand("describe", "Show a topic's partitions, offsets and configs");
  commands.Describe(describe, kTopicDescribeHelp);
  describe->footer("Examples:\n  strata topic describe orders\n");
  describe->add_option("name", args->name, "The topic name")->required()->type_name("NAME");
  commands.OnRun(describe, [args, &broker] {
    return Finish("strata topic describe", TopicDescribe(broker, args->name, std::cout));
  });

  CLI::App* del = topic->add_subcommand("delete", "Delete a topic and all its data");
  del->footer("Examples:\n  strata topic delete orders\n");
  del->add_option("name", args->name, "The topic name")->required()->type_name("NAME");
  commands.OnRun(del, [args, &broker] {
    return Finish("strata topic delete", TopicDelete(broker, args->name, std::cout));
  });

  CLI::App* alter = topic->add_subcommand("alter", "Change a topic's settings");
  commands.Describe(alter, kTopicAlterHelp);
  alter->footer(
      "Examples:\n  strata topic alter orders --config retention_ms=86400000\n"
      "  strata topic alter orders --config partitions=16\n");
  alter->add_option("name", args->name, "The topic name")->required()->type_name("NAME");
  alter->add_option("--config,-c", args->configs, "A setting to change; repeatable")
      ->type_name("KEY=VALUE")
      ->required()
      ->allow_extra_args(false)
      ->check(KeyValue());
  commands.OnRun(alter, [args, &broker] {
    return Finish("strata topic alter", TopicAlter(broker, args->name, args->configs, std::cout));
  });
}

}  // namespace strata::cli
