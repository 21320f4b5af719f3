// `strata produce TOPIC`: lines of input as records (broker_commands.h, Produce).
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/broker_commands.h"
#include "client/cli/command.h"
#include "client/cli/output.h"

namespace strata::cli {

namespace {

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

}  // namespace

void AddProduceCommand(Commands& commands) {
  struct Args {
    ProduceOptions options;
    std::string input_file;
    std::string key_separator;
    std::string acks = "all";
    std::string compression = "none";
    int32_t partition = -1;
  };
  auto args = std::make_shared<Args>();
  const BrokerOptions& broker = commands.broker();

  CLI::App* produce =
      commands.app().add_subcommand("produce", "Send lines of input to a topic as records");
  produce->group(kBrokerGroup);
  commands.Describe(produce, kProduceHelp);
  produce->footer(kProduceExamples);
  produce->add_option("topic", args->options.topic, "The topic")->required()->type_name("TOPIC");
  produce
      ->add_option("--file,-f", args->input_file, "Read lines from FILE instead of standard input")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  produce
      ->add_option("--key-separator,-k", args->key_separator,
                   "Split each line at the first S into key and value")
      ->type_name("S");
  produce->add_option("-H,--header", args->options.headers, "A header on every record; repeatable")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false)
      ->check(KeyValue());
  produce
      ->add_option("--acks", args->acks,
                   "0 (no answer), 1 (after the append), all (durable; default)")
      ->type_name("0|1|all")
      ->check(FromParser([](const std::string& t) { return ParseAcks(t); }));
  produce->add_option("--compression", args->compression, "none (default) or lz4")
      ->type_name("none|lz4")
      ->check(FromParser([](const std::string& t) { return ParseCompression(t); }));
  produce->add_option("--partition", args->partition, "Send every record to partition N")
      ->type_name("N")
      ->check(NonNegative());

  commands.OnRun(produce, [args, &broker] {
    ProduceOptions& options = args->options;
    if (!args->key_separator.empty()) options.key_separator = args->key_separator;
    options.acks = *ParseAcks(args->acks);
    options.compression = *ParseCompression(args->compression);
    if (args->partition >= 0) options.partition = args->partition;
    if (args->input_file.empty()) {
      return Finish("strata produce", Produce(broker, options, std::cin, std::cout, std::cerr));
    }
    std::ifstream file(args->input_file, std::ios::binary);
    if (!file) {
      std::cerr << "strata produce: cannot open " << args->input_file << "\n";
      return kExitFailure;
    }
    return Finish("strata produce", Produce(broker, options, file, std::cout, std::cerr));
  });
}

}  // namespace strata::cli
