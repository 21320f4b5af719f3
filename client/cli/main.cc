// strata: the command-line tool. It parses the command line (CLI11) and maps results to exit codes;
// the work itself lives in functions that tests call directly (log_tools.h, broker_commands.h,
// bench.h).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "client/cli/bench.h"
#include "client/cli/broker_commands.h"
#include "client/cli/group_commands.h"
#include "client/cli/log_tools.h"
#include "client/cli/output.h"
#include "common/process.h"

namespace {

using strata::cli::kExitOk;
using strata::cli::kExitUsage;
// A broker command failed (the message on stderr says what to do).
constexpr int kExitFailure = 1;

constexpr const char* kStrataHelp =
    "strata: the command-line tool of Strata, a Kafka-like partitioned record log.\n"
    "  topic, produce, consume, group, bench\n"
    "                           talk to a running broker (stratad) at --bootstrap HOST:PORT\n"
    "                           (or $STRATA_BOOTSTRAP; default 127.0.0.1:9292).\n"
    "  log                      works offline, straight on the files of one partition's log,\n"
    "                           without a broker. It only reads: it never repairs, truncates\n"
    "                           or rewrites anything.\n"
    "Exit codes: 0 ok, 1 the command failed (stderr says what to do), 2 bad command line.";

constexpr const char* kStrataExamples =
    "Examples:\n"
    "  strata topic create orders --partitions 8\n"
    "  printf 'k1:hello\\nk2:world\\n' | strata produce orders --key-separator :\n"
    "  strata consume orders --from earliest --count 2 --format json\n"
    "  strata consume orders --group billing --follow   consume as a member of group billing\n"
    "  strata group describe billing                    its members, offsets and lag\n"
    "  strata --bootstrap 10.0.0.5:9292 topic list\n"
    "  strata bench produce --acks all --duration 10   measure the broker's throughput\n"
    "  strata log verify /var/lib/strata/orders-0      check every batch and index\n"
    "  strata log dump /var/lib/strata/orders-0        list segments and batches\n"
    "  strata log dump --help                          all dump options\n";

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

constexpr const char* kProduceHelp =
    "Send one record per line of standard input (or --file) to a topic, then print a summary:\n"
    "records, bytes, and per partition the offsets written. Lines go without their newline.\n"
    "With --key-separator, each line is split at the first separator into key and value (a line\n"
    "without it goes with a null key); records with a key go to the key's partition, others are\n"
    "spread in batches. The producer is idempotent: retries after errors never duplicate.\n"
    "Exits 1 if any record could not be written.";

constexpr const char* kProduceExamples =
    "Examples:\n"
    "  printf 'k1:hello\\nk2:world\\n' | strata produce orders --key-separator :\n"
    "  strata produce orders --file events.txt --compression lz4 -H source=import\n"
    "  seq 1000000 | strata produce numbers --acks 1\n";

constexpr const char* kConsumeHelp =
    "Print a topic's records, one per line. Without --follow it reads up to the end offsets it\n"
    "sees when it starts and exits; with --follow it keeps waiting for new records (Ctrl-C stops).\n"
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

constexpr const char* kBenchHelp =
    "Measure a running broker through the client library. Each mode runs --warmup seconds\n"
    "unmeasured, then --duration seconds (or --records N), and prints one table (or, with --json,\n"
    "one JSON object): records, MiB of values, msgs/s, MiB/s, latency percentiles in ms (within\n"
    "6.25%) and errors. The topic (default strata-bench) is created with --partitions if missing.\n"
    "Without --rate the producers run closed loop, as fast as their buffers take records, so\n"
    "latency includes the time records wait in a full buffer. With --rate the load is open loop:\n"
    "record i is due at start + i/rate and its latency runs from then, so stalls count.";

constexpr const char* kBenchExamples =
    "Examples:\n"
    "  strata bench produce --record-bytes 1024 --acks all --duration 10\n"
    "  strata bench produce --producers 4 --rate 50000 --json\n"
    "  strata bench produce --sync --records 20000 --partitions 1\n"
    "  strata bench consume --records 1000000\n"
    "  strata bench e2e --rate 5000 --duration 30\n";

constexpr const char* kBenchProduceHelp =
    "Send records of --record-bytes random bytes from --producers threads (each with its own\n"
    "producer and connection), keys spread over the partitions (or --null-keys, or\n"
    "--partition-per-producer). Latency runs from the send (open loop: from the record's\n"
    "intended send time) to the broker's acknowledgement. msgs/s counts the acknowledgements\n"
    "that arrive in the measured window. With --sync each producer sends one record, waits for\n"
    "its acknowledgement, then sends the next (linger 0): the latency of a single round trip\n"
    "(with --acks all, or a topic created with --config flush_always=true, one that includes an\n"
    "fsync).";

constexpr const char* kBenchConsumeHelp =
    "Read the topic from the earliest offset of every partition until --records are read,\n"
    "--duration passes, or the ends seen at the start are reached; reports msgs/s and MiB/s.\n"
    "Fill the topic first with strata bench produce.";

constexpr const char* kBenchE2eHelp =
    "One producer at --rate msgs/s (default 1000) and one consumer tailing from the latest\n"
    "offsets, in this process. Each value carries its intended send time; the latency is the\n"
    "consumer's receive time minus that. Records acknowledged but not received within 10 s of\n"
    "the end count as errors.";

constexpr const char* kLogHelp =
    "Inspect and check one partition's log directory offline. A partition directory holds the\n"
    "partition's segments: for each, <base offset>.log (record batches back to back),\n"
    "<base offset>.index and <base offset>.timeindex (sparse indexes). Stop the broker first or\n"
    "work on a copy: a running broker may trim a file while it is being read.";

constexpr const char* kLogExamples =
    "Examples:\n"
    "  strata log verify /var/lib/strata/orders-0\n"
    "  strata log dump /var/lib/strata/orders-0 --records --from-offset 1200 --max-batches 5\n";

constexpr const char* kDumpHelp =
    "List a partition directory: one line per segment (file, base offset, next offset, file and\n"
    "data size, index entry counts), then one line per batch (position, offsets, leader epoch,\n"
    "record count, timestamps, size, compression, producer id/epoch/sequence, and whether its\n"
    "checksum is ok). With --records, one line per record: text is shown in quotes, anything\n"
    "else as hex, and long keys and values are cut short. A batch with a bad checksum is shown\n"
    "and the listing goes on; a batch header too damaged to find the next batch ends that\n"
    "segment's listing with a line naming the file and position. Exits 0 once the listing is\n"
    "printed, whatever it shows; use `strata log verify` for a verdict.";

constexpr const char* kDumpExamples =
    "Examples:\n"
    "  strata log dump /var/lib/strata/orders-0\n"
    "  strata log dump /var/lib/strata/orders-0 --records --max-batches 3\n"
    "  strata log dump /var/lib/strata/orders-0 --from-offset 5000 --records\n";

constexpr const char* kVerifyHelp =
    "Check a partition directory: every batch's structure and checksum, that offsets increase\n"
    "without gaps within and across segments, and that the .index/.timeindex files the broker\n"
    "would trust point at the right batches. Prints one line and exits:\n"
    "  0  \"ok: <segments>, <batches>, offsets [<first>, <end>), <size>\"\n"
    "  1  \"corrupt: <file> at position <byte>: <reason>\" for the first problem found\n"
    "  2  the directory cannot be read, or it is not a partition directory";

constexpr const char* kVerifyExamples =
    "Examples:\n"
    "  strata log verify /var/lib/strata/orders-0\n"
    "  for d in /var/lib/strata/*/; do strata log verify \"$d\" || echo \"check $d\"; done\n";

// Help text: CLI11 shows a command's description both in its parent's command list and at the top
// of its own --help. This formatter puts a one-line summary in the list and the full paragraph
// (registered with Describe) at the top of the command's own help.
class Formatter : public CLI::Formatter {
 public:
  void Describe(const CLI::App* app, std::string paragraph) { long_[app] = std::move(paragraph); }

  std::string make_description(const CLI::App* app) const override {
    auto it = long_.find(app);
    if (it == long_.end()) return CLI::Formatter::make_description(app);
    return it->second + "\n\n";
  }

 private:
  std::map<const CLI::App*, std::string> long_;
};

// "strata log dump" for the deepest command the parser had reached.
std::string CommandPath(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* p = app->get_parent(); p != nullptr; p = p->get_parent()) {
    path = p->get_name() + " " + path;
  }
  return path;
}

const CLI::App* DeepestParsed(const CLI::App& app) {
  const CLI::App* at = &app;
  for (;;) {
    std::vector<const CLI::App*> subs = at->get_subcommands([](const CLI::App*) { return true; });
    const CLI::App* next = nullptr;
    for (const CLI::App* s : subs) {
      if (s->parsed()) next = s;
    }
    if (next == nullptr) return at;
    at = next;
  }
}

// Reports a command-line mistake in terms of what to run instead; --help is not a mistake.
int ReportParseError(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(e);  // prints the help that was asked for
  }
  const CLI::App* at = DeepestParsed(app);
  const std::string path = CommandPath(at);
  std::vector<std::string> commands;
  for (const CLI::App* s : at->get_subcommands([](const CLI::App*) { return true; })) {
    commands.push_back(s->get_name());
  }
  std::string list;
  for (size_t i = 0; i < commands.size(); ++i) {
    if (i > 0) list += i + 1 == commands.size() ? " or " : ", ";
    list += "'" + path + " " + commands[i] + "'";
  }
  // Words the parser could not place; at a level that takes commands, the first is a bad command.
  const std::vector<std::string> unplaced = at->remaining();
  if (!commands.empty() && !unplaced.empty()) {
    const std::string& word = unplaced.front();
    std::cerr << path << ": "
              << (word.rfind("-", 0) == 0 ? "unknown option '" : "unknown command '") << word
              << "'. '" << path << "' takes a command: " << list << ".\n";
  } else if (!commands.empty()) {
    std::cerr << path << ": a command is needed: " << list << ".\n";
  } else {
    std::cerr << path << ": " << e.what() << "\n";
  }
  std::cerr << "Run '" << path << " --help' for what it does, its options and examples.\n";
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  strata::InitProcess();
  // Without a description, so the help shows "--max-batches N" rather than "N:NONNEGATIVE".
  const CLI::Validator kNonNegative(
      [](std::string& text) -> std::string {
        int64_t value = 0;
        if (absl::SimpleAtoi(text, &value) && value >= 0) return "";
        return "expects a whole number >= 0, not '" + text + "'";
      },
      "");
  auto formatter = std::make_shared<Formatter>();
  CLI::App app(kStrataHelp, "strata");
  app.formatter(formatter);  // before adding commands: they inherit it
  formatter->Describe(&app, kStrataHelp);
  app.footer(kStrataExamples);
  app.require_subcommand(1);
  app.fallthrough();  // global options (--bootstrap) may also follow the command

  strata::cli::BrokerOptions broker;
  app.add_option("--bootstrap", broker.bootstrap,
                 "The broker to talk to (default 127.0.0.1:9292, or $STRATA_BOOTSTRAP)")
      ->envname("STRATA_BOOTSTRAP")
      ->type_name("HOST:PORT");

  // Validators from the parsers in output.h, so a bad value is a usage error (exit 2).
  auto from_parser = [](auto parse) {
    return CLI::Validator(
        [parse](std::string& text) -> std::string {
          auto parsed = parse(text);
          return parsed.ok() ? "" : std::string(parsed.status().message());
        },
        "");
  };
  const CLI::Validator kKeyValue = from_parser(
      [](const std::string& t) { return strata::cli::ParseKeyValue(t, "value"); });
  const CLI::Validator kPositive(
      [](std::string& text) -> std::string {
        int64_t value = 0;
        if (absl::SimpleAtoi(text, &value) && value > 0) return "";
        return "expects a whole number > 0, not '" + text + "'";
      },
      "");

  CLI::App* log = app.add_subcommand("log", "Inspect and check a partition's log files offline");
  formatter->Describe(log, kLogHelp);
  log->footer(kLogExamples);
  log->require_subcommand(1);

  std::string dir;
  strata::cli::DumpOptions dump_options;
  CLI::App* dump = log->add_subcommand("dump", "List segments, batches and (optionally) records");
  formatter->Describe(dump, kDumpHelp);
  dump->footer(kDumpExamples);
  dump->add_option("partition-dir", dir, "The partition directory (holds <base offset>.log files)")
      ->required()
      ->type_name("DIR");
  dump->add_flag("--records", dump_options.records,
                 "Also print every record: offset, timestamp, key, value, headers");
  dump->add_option("--from-offset", dump_options.from_offset,
                   "Start at the batch holding offset N (default 0)")
      ->type_name("N")
      ->check(kNonNegative);
  dump->add_option("--max-batches", dump_options.max_batches,
                   "Stop after printing N batches (default: no limit)")
      ->type_name("N")
      ->check(kNonNegative);

  CLI::App* verify =
      log->add_subcommand("verify", "Check every batch and index; exit 0 ok, 1 corrupt");
  formatter->Describe(verify, kVerifyHelp);
  verify->footer(kVerifyExamples);
  verify
      ->add_option("partition-dir", dir, "The partition directory (holds <base offset>.log files)")
      ->required()
      ->type_name("DIR");

  // --- Broker commands, in their own help group ------------------------------------------------
  const std::string kBrokerGroup = "Broker commands (talk to stratad at --bootstrap)";
  CLI::App* topic = app.add_subcommand("topic", "Create, list, describe, alter and delete topics");
  topic->group(kBrokerGroup);
  formatter->Describe(topic, kTopicHelp);
  topic->footer(kTopicExamples);
  topic->require_subcommand(1);

  std::string topic_name;
  int32_t partitions = 1;
  std::vector<std::string> configs;
  CLI::App* topic_create = topic->add_subcommand("create", "Create a topic");
  formatter->Describe(topic_create, kTopicCreateHelp);
  topic_create->footer(kTopicCreateExamples);
  topic_create->add_option("name", topic_name, "The topic name")->required()->type_name("NAME");
  topic_create->add_option("--partitions,-p", partitions, "Number of partitions (default 1)")
      ->type_name("N")
      ->check(kPositive);
  topic_create->add_option("--config,-c", configs, "A topic setting; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(kKeyValue);

  CLI::App* topic_list = topic->add_subcommand("list", "List topic names, one per line");
  topic_list->footer("Examples:\n  strata topic list\n  strata topic list | wc -l\n");

  CLI::App* topic_describe =
      topic->add_subcommand("describe", "Show a topic's partitions, offsets and configs");
  formatter->Describe(topic_describe, kTopicDescribeHelp);
  topic_describe->footer("Examples:\n  strata topic describe orders\n");
  topic_describe->add_option("name", topic_name, "The topic name")->required()->type_name("NAME");

  CLI::App* topic_delete = topic->add_subcommand("delete", "Delete a topic and all its data");
  topic_delete->footer("Examples:\n  strata topic delete orders\n");
  topic_delete->add_option("name", topic_name, "The topic name")->required()->type_name("NAME");

  CLI::App* topic_alter = topic->add_subcommand("alter", "Change a topic's settings");
  formatter->Describe(topic_alter, kTopicAlterHelp);
  topic_alter->footer(
      "Examples:\n  strata topic alter orders --config retention_ms=86400000\n"
      "  strata topic alter orders --config partitions=16\n");
  topic_alter->add_option("name", topic_name, "The topic name")->required()->type_name("NAME");
  topic_alter->add_option("--config,-c", configs, "A setting to change; repeatable")
      ->type_name("KEY=VALUE")
      ->required()
      ->allow_extra_args(false)
      ->check(kKeyValue);

  strata::cli::ProduceOptions produce_options;
  std::string input_file;
  std::string key_separator;
  std::string acks = "all";
  std::string compression = "none";
  int32_t partition = -1;
  CLI::App* produce = app.add_subcommand("produce", "Send lines of input to a topic as records");
  produce->group(kBrokerGroup);
  formatter->Describe(produce, kProduceHelp);
  produce->footer(kProduceExamples);
  produce->add_option("topic", produce_options.topic, "The topic")->required()->type_name("TOPIC");
  produce->add_option("--file,-f", input_file, "Read lines from FILE instead of standard input")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  produce->add_option("--key-separator,-k", key_separator,
                      "Split each line at the first S into key and value")
      ->type_name("S");
  produce->add_option("-H,--header", produce_options.headers, "A header on every record; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(kKeyValue);
  produce->add_option("--acks", acks, "0 (no answer), 1 (after the append), all (durable; default)")
      ->type_name("0|1|all")
      ->check(from_parser([](const std::string& t) { return strata::cli::ParseAcks(t); }));
  produce->add_option("--compression", compression, "none (default) or lz4")
      ->type_name("none|lz4")
      ->check(from_parser([](const std::string& t) { return strata::cli::ParseCompression(t); }));
  produce->add_option("--partition", partition, "Send every record to partition N")
      ->type_name("N")
      ->check(kNonNegative);

  strata::cli::ConsumeOptions consume_options;
  std::string from;
  std::string format = "text";
  int64_t count = -1;
  CLI::App* consume = app.add_subcommand("consume", "Print a topic's records");
  consume->group(kBrokerGroup);
  formatter->Describe(consume, kConsumeHelp);
  consume->footer(kConsumeExamples);
  consume->add_option("topic", consume_options.topic, "The topic")->required()->type_name("TOPIC");
  consume
      ->add_option("--from", from,
                   "earliest, latest, an offset, or @TIMESTAMP_MS (default earliest; latest with "
                   "--follow)")
      ->type_name("WHERE")
      ->check(from_parser([](const std::string& t) { return strata::cli::ParseFrom(t); }));
  consume->add_option("--partition", partition, "Read only partition N (default: all)")
      ->type_name("N")
      ->check(kNonNegative);
  consume->add_option("--count,-n", count, "Stop after N records")->type_name("N")->check(kNonNegative);
  consume->add_flag("--follow,-F", consume_options.follow, "Keep waiting for new records");
  consume->add_option("--format", format, "text (default) or json (one object per line)")
      ->type_name("text|json")
      ->check(CLI::Validator(
          [](std::string& t) -> std::string {
            return t == "text" || t == "json" ? "" : "'" + t + "' is not one of: text, json";
          },
          ""));
  consume->add_flag("--print-key", consume_options.print_key, "Text format: print KEY<TAB>VALUE");
  std::string group_id, instance_id;
  consume->add_option("--group,-g", group_id, "Consume as a member of this consumer group")
      ->type_name("GROUP");
  consume->add_option("--instance-id", instance_id,
                      "With --group: a static member id (a restart keeps its partitions)")
      ->type_name("ID");
  consume
      ->add_option("--assignor", consume_options.assignor,
                   "With --group: cooperative-sticky (default), range or roundrobin")
      ->type_name("NAME")
      ->check(CLI::IsMember({"cooperative-sticky", "range", "roundrobin"}));
  consume
      ->add_option("--commit-interval-ms", consume_options.commit_interval_ms,
                   "With --group: commit every MS (default 5000)")
      ->type_name("MS")
      ->check(kPositive);
  consume
      ->add_option("--session-timeout-ms", consume_options.session_timeout_ms,
                   "With --group: the group drops this member after MS without heartbeats "
                   "(default 45000)")
      ->type_name("MS")
      ->check(kPositive);

  // --- group ------------------------------------------------------------------------------------
  CLI::App* group = app.add_subcommand("group", "List, describe, reset and delete consumer groups");
  group->group(kBrokerGroup);
  formatter->Describe(group, kGroupHelp);
  group->footer(kGroupExamples);
  group->require_subcommand(1);
  std::string group_name;
  CLI::App* group_list = group->add_subcommand("list", "Every consumer group and its state");
  group_list->footer("Examples:\n  strata group list\n");
  CLI::App* group_describe =
      group->add_subcommand("describe", "A group's members, committed offsets and lag");
  group_describe->footer("Examples:\n  strata group describe billing\n");
  group_describe->add_option("group", group_name, "The group id")->required()->type_name("GROUP");
  strata::cli::ResetOffsetsOptions reset_options;
  std::string reset_to;
  int32_t reset_partition = -1;
  CLI::App* group_reset =
      group->add_subcommand("reset-offsets", "Move an inactive group's committed offsets");
  formatter->Describe(group_reset, kGroupResetHelp);
  group_reset->footer(kGroupExamples);
  group_reset->add_option("group", reset_options.group, "The group id")->required()->type_name("GROUP");
  group_reset->add_option("--topic,-t", reset_options.topic, "The topic")->required()->type_name("TOPIC");
  group_reset
      ->add_option("--to", reset_to, "earliest, latest, an offset, or @TIMESTAMP_MS")
      ->required()
      ->type_name("WHERE")
      ->check(from_parser([](const std::string& t) { return strata::cli::ParseFrom(t); }));
  group_reset->add_option("--partition", reset_partition, "Only partition N (default: all)")
      ->type_name("N")
      ->check(kNonNegative);
  group_reset->add_flag("--dry-run", reset_options.dry_run, "Show what would change; change nothing");
  CLI::App* group_delete =
      group->add_subcommand("delete", "Delete an inactive group and its committed offsets");
  group_delete->footer("Examples:\n  strata group delete billing\n");
  group_delete->add_option("group", group_name, "The group id")->required()->type_name("GROUP");

  // --- bench ------------------------------------------------------------------------------------
  CLI::App* bench = app.add_subcommand("bench", "Measure the broker: produce, consume, end to end");
  bench->group(kBrokerGroup);
  formatter->Describe(bench, kBenchHelp);
  bench->footer(kBenchExamples);
  bench->require_subcommand(1);

  strata::cli::BenchOptions bench_options;
  std::string bench_acks = "1";
  std::string bench_compression = "none";
  const CLI::Validator kNonNegativeNumber(
      [](std::string& text) -> std::string {
        double value = 0;
        if (absl::SimpleAtod(text, &value) && value >= 0) return "";
        return "expects a number >= 0, not '" + text + "'";
      },
      "");
  auto add_bench_options = [&](CLI::App* command, bool producing) {
    command->add_option("--topic", bench_options.topic, "The topic (default strata-bench)")
        ->type_name("TOPIC");
    command
        ->add_option("--partitions", bench_options.partitions,
                     "Partitions when the topic is created (default 8)")
        ->type_name("N")
        ->check(kPositive);
    CLI::Option* duration =
        command
            ->add_option("--duration", bench_options.duration_s,
                         "Seconds measured after the warmup (default 10)")
            ->type_name("S")
            ->check(kNonNegativeNumber);
    command
        ->add_option("--records", bench_options.records, "Measure N records instead of a duration")
        ->type_name("N")
        ->check(kPositive)
        ->excludes(duration);
    command
        ->add_option("--warmup", bench_options.warmup_s,
                     "Seconds run first and not measured (default 1)")
        ->type_name("S")
        ->check(kNonNegativeNumber);
    command->add_flag("--json", bench_options.json,
                      "Print one JSON object on standard output instead of the table");
    if (!producing) return;
    command
        ->add_option("--record-bytes", bench_options.record_bytes,
                     "Bytes of each record's value (default 1024)")
        ->type_name("N")
        ->check(kNonNegative);
    command
        ->add_option("--producers", bench_options.producers,
                     "Producers, each with its own connection and thread (default 1)")
        ->type_name("N")
        ->check(kPositive);
    command->add_option("--acks", bench_acks, "0, 1 (default) or all")
        ->type_name("0|1|all")
        ->check(from_parser([](const std::string& t) { return strata::cli::ParseAcks(t); }));
    command->add_option("--compression", bench_compression, "none (default) or lz4")
        ->type_name("none|lz4")
        ->check(
            from_parser([](const std::string& t) { return strata::cli::ParseCompression(t); }));
    command
        ->add_option("--rate", bench_options.rate_per_s,
                     "Records per second in all, open loop (default: as fast as possible; e2e "
                     "1000)")
        ->type_name("R")
        ->check(kNonNegativeNumber);
    command
        ->add_option("--batch-bytes", bench_options.batch_bytes,
                     "The producer's batch size (default 131072)")
        ->type_name("N")
        ->check(kPositive);
    command
        ->add_option("--linger-ms", bench_options.linger_ms,
                     "How long a batch waits for more records (default 1)")
        ->type_name("MS")
        ->check(kNonNegative);
  };
  CLI::App* bench_produce = bench->add_subcommand("produce", "Producer throughput and latency");
  formatter->Describe(bench_produce, kBenchProduceHelp);
  bench_produce->footer(kBenchExamples);
  add_bench_options(bench_produce, true);
  bench_produce->add_flag("--null-keys", bench_options.null_keys,
                          "Send null keys (sticky partitioning) instead of spread keys");
  bench_produce->add_flag(
      "--partition-per-producer", bench_options.partition_per_producer,
      "Producer k writes only partition k mod the partition count (one stream per producer)");
  bench_produce->add_flag("--sync", bench_options.sync,
                          "One record at a time per producer, each waiting for its ack (linger 0)");
  CLI::App* bench_consume = bench->add_subcommand("consume", "Consumer throughput");
  formatter->Describe(bench_consume, kBenchConsumeHelp);
  bench_consume->footer(kBenchExamples);
  add_bench_options(bench_consume, false);
  CLI::App* bench_e2e = bench->add_subcommand("e2e", "End-to-end latency, producer to consumer");
  formatter->Describe(bench_e2e, kBenchE2eHelp);
  bench_e2e->footer(kBenchExamples);
  add_bench_options(bench_e2e, true);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ReportParseError(app, e);
  }

  if (dump->parsed()) {
    absl::Status st = strata::cli::DumpLog(dir, dump_options, std::cout);
    std::cout.flush();
    if (!st.ok()) {
      std::cerr << "strata log dump: " << st.message() << "\n";
      return kExitUsage;
    }
    return kExitOk;
  }
  if (verify->parsed()) {
    absl::StatusOr<strata::cli::VerifyReport> report = strata::cli::VerifyLog(dir);
    if (!report.ok()) {
      std::cerr << "strata log verify: " << report.status().message() << "\n";
      return kExitUsage;
    }
    std::cout << strata::cli::FormatVerifyReport(*report) << std::endl;
    return report->exit_code();
  }

  // Broker commands: a failure is exit 1 with the error (which says what to do) on stderr.
  broker.progress = ::isatty(STDERR_FILENO) == 1;
  auto finish = [](const std::string& command, const absl::Status& st) {
    std::cout.flush();
    if (st.ok()) return kExitOk;
    std::cerr << command << ": " << st.message() << "\n";
    return kExitFailure;
  };
  if (topic_create->parsed()) {
    return finish("strata topic create",
                  strata::cli::TopicCreate(broker, topic_name, partitions, configs, std::cout));
  }
  if (topic_list->parsed()) {
    return finish("strata topic list", strata::cli::TopicList(broker, std::cout));
  }
  if (topic_describe->parsed()) {
    return finish("strata topic describe",
                  strata::cli::TopicDescribe(broker, topic_name, std::cout));
  }
  if (topic_delete->parsed()) {
    return finish("strata topic delete", strata::cli::TopicDelete(broker, topic_name, std::cout));
  }
  if (topic_alter->parsed()) {
    return finish("strata topic alter",
                  strata::cli::TopicAlter(broker, topic_name, configs, std::cout));
  }
  if (produce->parsed()) {
    if (!key_separator.empty()) produce_options.key_separator = key_separator;
    produce_options.acks = *strata::cli::ParseAcks(acks);
    produce_options.compression = *strata::cli::ParseCompression(compression);
    if (partition >= 0) produce_options.partition = partition;
    if (input_file.empty()) {
      return finish("strata produce", strata::cli::Produce(broker, produce_options, std::cin,
                                                           std::cout, std::cerr));
    }
    std::ifstream file(input_file, std::ios::binary);
    if (!file) {
      std::cerr << "strata produce: cannot open " << input_file << "\n";
      return kExitFailure;
    }
    return finish("strata produce",
                  strata::cli::Produce(broker, produce_options, file, std::cout, std::cerr));
  }
  if (consume->parsed()) {
    if (!from.empty()) consume_options.from = *strata::cli::ParseFrom(from);
    if (partition >= 0) consume_options.partition = partition;
    consume_options.count = count;
    consume_options.format =
        format == "json" ? strata::cli::OutputFormat::kJson : strata::cli::OutputFormat::kText;
    if (group_id.empty()) {
      if (!instance_id.empty()) {
        std::cerr << "strata consume: --instance-id needs --group\n";
        return kExitUsage;
      }
      return finish("strata consume",
                    strata::cli::Consume(broker, consume_options, std::cout, std::cerr));
    }
    if (consume_options.partition.has_value()) {
      std::cerr << "strata consume: --partition and --group do not go together: the group decides "
                   "which partitions each member reads\n";
      return kExitUsage;
    }
    consume_options.group = group_id;
    if (!instance_id.empty()) consume_options.instance_id = instance_id;
    // Ctrl-C and SIGTERM stop the loop, so the consumer commits and leaves the group cleanly.
    static std::atomic<bool> stop{false};
    struct sigaction sa {};
    sa.sa_handler = [](int) { stop.store(true); };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    consume_options.stop_requested = &stop;
    return finish("strata consume",
                  strata::cli::ConsumeInGroup(broker, consume_options, std::cout, std::cerr));
  }
  if (group_list->parsed()) return finish("strata group list", strata::cli::GroupList(broker, std::cout));
  if (group_describe->parsed()) {
    return finish("strata group describe",
                  strata::cli::GroupDescribe(broker, group_name, std::cout));
  }
  if (group_reset->parsed()) {
    reset_options.to = *strata::cli::ParseFrom(reset_to);
    if (reset_partition >= 0) reset_options.partition = reset_partition;
    return finish("strata group reset-offsets",
                  strata::cli::GroupResetOffsets(broker, reset_options, std::cout));
  }
  if (group_delete->parsed()) {
    return finish("strata group delete", strata::cli::GroupDelete(broker, group_name, std::cout));
  }
  if (bench_produce->parsed() || bench_consume->parsed() || bench_e2e->parsed()) {
    bench_options.acks = *strata::cli::ParseAcks(bench_acks);
    bench_options.compression = *strata::cli::ParseCompression(bench_compression);
    absl::Status st = strata::cli::ValidateBenchOptions(bench_options);
    if (!st.ok()) {
      std::cerr << "strata bench: " << st.message() << "\n";
      return kExitUsage;
    }
    if (bench_produce->parsed()) {
      auto report = strata::cli::BenchProduce(broker, bench_options, std::cout, std::cerr);
      return finish("strata bench produce", report.status());
    }
    if (bench_consume->parsed()) {
      auto report = strata::cli::BenchConsume(broker, bench_options, std::cout, std::cerr);
      return finish("strata bench consume", report.status());
    }
    auto report = strata::cli::BenchE2e(broker, bench_options, std::cout, std::cerr);
    return finish("strata bench e2e", report.status());
  }
  return kExitUsage;  // unreachable: CLI11 requires a command
}
