// `strata bench produce|consume|e2e`: measure a running broker (bench.h).
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/bench.h"
#include "client/cli/command.h"
#include "client/cli/output.h"

namespace strata::cli {

namespace {

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

struct BenchArgs {
  BenchOptions options;
  std::string acks = "1";
  std::string compression = "none";
};

// The options every mode takes, then (`producing`) those of the modes that produce.
void AddBenchOptions(CLI::App* command, BenchArgs& args, bool producing) {
  BenchOptions& options = args.options;
  command->add_option("--topic", options.topic, "The topic (default strata-bench)")
      ->type_name("TOPIC");
  command
      ->add_option("--partitions", options.partitions,
                   "Partitions when the topic is created (default 8)")
      ->type_name("N")
      ->check(Positive());
  CLI::Option* duration = command
                              ->add_option("--duration", options.duration_s,
                                           "Seconds measured after the warmup (default 10)")
                              ->type_name("S")
                              ->check(NonNegativeNumber());
  command->add_option("--records", options.records, "Measure N records instead of a duration")
      ->type_name("N")
      ->check(Positive())
      ->excludes(duration);
  command
      ->add_option("--warmup", options.warmup_s, "Seconds run first and not measured (default 1)")
      ->type_name("S")
      ->check(NonNegativeNumber());
  command->add_flag("--json", options.json,
                    "Print one JSON object on standard output instead of the table");
  if (!producing) return;
  command
      ->add_option("--record-bytes", options.record_bytes,
                   "Bytes of each record's value (default 1024)")
      ->type_name("N")
      ->check(NonNegative());
  command
      ->add_option("--producers", options.producers,
                   "Producers, each with its own connection and thread (default 1)")
      ->type_name("N")
      ->check(Positive());
  command->add_option("--acks", args.acks, "0, 1 (default) or all")
      ->type_name("0|1|all")
      ->check(FromParser([](const std::string& t) { return ParseAcks(t); }));
  command->add_option("--compression", args.compression, "none (default) or lz4")
      ->type_name("none|lz4")
      ->check(FromParser([](const std::string& t) { return ParseCompression(t); }));
  command
      ->add_option("--rate", options.rate_per_s,
                   "Records per second in all, open loop (default: as fast as possible; e2e "
                   "1000)")
      ->type_name("R")
      ->check(NonNegativeNumber());
  command
      ->add_option("--batch-bytes", options.batch_bytes,
                   "The producer's batch size (default 131072)")
      ->type_name("N")
      ->check(Positive());
  command
      ->add_option("--linger-ms", options.linger_ms,
                   "How long a batch waits for more records (default 1)")
      ->type_name("MS")
      ->check(NonNegative());
}

using BenchRun = std::function<absl::StatusOr<BenchReport>(
    const BrokerOptions&, const BenchOptions&, std::ostream&, std::ostream&)>;

// What `strata bench <mode>` runs: the options checked together (a usage error), then the mode.
std::function<int()> RunBench(std::shared_ptr<BenchArgs> args, const BrokerOptions& broker,
                              std::string command, BenchRun run) {
  return [args, &broker, command = std::move(command), run = std::move(run)] {
    BenchOptions& options = args->options;
    options.acks = *ParseAcks(args->acks);
    options.compression = *ParseCompression(args->compression);
    absl::Status st = ValidateBenchOptions(options);
    if (!st.ok()) {
      std::cerr << "strata bench: " << st.message() << "\n";
      return kExitUsage;
    }
    return Finish(command, run(broker, options, std::cout, std::cerr).status());
  };
}

}  // namespace

void AddBenchCommand(Commands& commands) {
  CLI::App* bench =
      commands.app().add_subcommand("bench", "Measure the broker: produce, consume, end to end");
  bench->group(kBrokerGroup);
  commands.Describe(bench, kBenchHelp);
  bench->footer(kBenchExamples);
  bench->require_subcommand(1);

  auto args = std::make_shared<BenchArgs>();
  const BrokerOptions& broker = commands.broker();

  CLI::App* produce = bench->add_subcommand("produce", "Producer throughput and latency");
  commands.Describe(produce, kBenchProduceHelp);
  produce->footer(kBenchExamples);
  AddBenchOptions(produce, *args, true);
  produce->add_flag("--null-keys", args->options.null_keys,
                    "Send null keys (sticky partitioning) instead of spread keys");
  produce->add_flag(
      "--partition-per-producer", args->options.partition_per_producer,
      "Producer k writes only partition k mod the partition count (one stream per producer)");
  produce->add_flag("--sync", args->options.sync,
                    "One record at a time per producer, each waiting for its ack (linger 0)");
  commands.OnRun(produce, RunBench(args, broker, "strata bench produce", BenchProduce));

  CLI::App* consume = bench->add_subcommand("consume", "Consumer throughput");
  commands.Describe(consume, kBenchConsumeHelp);
  consume->footer(kBenchExamples);
  AddBenchOptions(consume, *args, false);
  commands.OnRun(consume, RunBench(args, broker, "strata bench consume", BenchConsume));

  CLI::App* e2e = bench->add_subcommand("e2e", "End-to-end latency, producer to consumer");
  commands.Describe(e2e, kBenchE2eHelp);
  e2e->footer(kBenchExamples);
  AddBenchOptions(e2e, *args, true);
  commands.OnRun(e2e, RunBench(args, broker, "strata bench e2e", BenchE2e));
}

}  // namespace strata::cli
