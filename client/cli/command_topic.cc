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
    "In a cluster, --replication-factor R keeps R copies of each partition on R brokers, and\n"
    "--min-insync-replicas M is how many of them must hold a record before acks=all succeeds:\n"
    "with R=3 and M=2 a partition keeps taking acks=all writes with one broker down and loses no\n"
    "acknowledged record. Left out, the cluster's defaults apply (min(3, brokers); M=2 when R is\n"
    "3 or more, else 1). A single broker accepts only 1.\n"
    "Names are 1 to 249 of a-z A-Z 0-9 . _ -";

constexpr const char* kTopicCreateExamples =
    "Examples:\n"
    "  strata topic create orders --partitions 8\n"
    "  strata topic create payments --partitions 6 --replication-factor 3 --min-insync-replicas 2\n"
    "  strata topic create audit --partitions 3 --config flush_always=true --config "
    "retention_ms=-1\n";

constexpr const char* kTopicDescribeHelp =
    "Show a topic's partitions (leader broker, leader epoch, log start offset, log end offset =\n"
    "high watermark, and the number of records between them) and every config value. In a\n"
    "cluster also the topic's replication factor and min in-sync replicas, and per partition its\n"
    "replicas (the preferred leader first) and the in-sync ones (ISR); a partition whose ISR is\n"
    "smaller than its replicas is marked under-replicated, one below min in-sync replicas refuses\n"
    "acks=all writes, and one with leader 'none' is offline (see `strata cluster status`).";

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
    int32_t replication_factor = 0;  // 0: the cluster's default
    int32_t min_insync_replicas = 0;
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
  create->add_option("--replication-factor,-r", args->replication_factor,
                     "Copies of each partition, on that many brokers (default: the cluster's)")
      ->type_name("R")
      ->check(Positive());
  create->add_option("--min-insync-replicas", args->min_insync_replicas,
                     "Copies that must have a record before acks=all succeeds (default: the "
                     "cluster's)")
      ->type_name("M")
      ->check(Positive());
  create->add_option("--config,-c", args->configs, "A topic setting; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(KeyValue());
  commands.OnRun(create, [args, &broker] {
    return Finish("strata topic create",
                  TopicCreate(broker, args->name, args->partitions, args->configs, std::cout,
                              args->replication_factor, args->min_insync_replicas));
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
