// strata: the command-line tool. main builds the CLI11 app and its global options, has each
// command add itself (command.h: command_log.cc, command_topic.cc, ...), parses, and returns the
// parsed command's exit code; a bad command line is reported here. The work itself lives in
// functions that tests call directly (log_tools.h, broker_commands.h, group_commands.h, bench.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "client/cli/broker_commands.h"
#include "client/cli/command.h"
#include "common/process.h"

namespace {

using strata::cli::kExitUsage;

constexpr const char* kStrataHelp =
    "strata: the command-line tool of Strata, a Kafka-like partitioned record log.\n"
    "  topic, produce, consume, group, cluster, bench\n"
    "                           talk to a running broker (stratad) at --bootstrap HOST:PORT\n"
    "                           (or $STRATA_BOOTSTRAP; default 127.0.0.1:9292). For a cluster,\n"
    "                           list several, comma separated: the first that answers is used,\n"
    "                           and each partition is then read and written at its leader.\n"
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
    "  strata --bootstrap 10.0.0.5:9292,10.0.0.6:9292 cluster status   brokers and partition health\n"
    "  strata bench produce --acks all --duration 10   measure the broker's throughput\n"
    "  strata log verify /var/lib/strata/orders-0      check every batch and index\n"
    "  strata log dump /var/lib/strata/orders-0        list segments and batches\n"
    "  strata log dump --help                          all dump options\n";

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
  auto formatter = std::make_shared<strata::cli::HelpFormatter>();
  CLI::App app(kStrataHelp, "strata");
  app.formatter(formatter);  // before adding commands: they inherit it
  formatter->Describe(&app, kStrataHelp);
  app.footer(kStrataExamples);
  app.require_subcommand(1);
  app.fallthrough();  // global options (--bootstrap) may also follow the command

  strata::cli::BrokerOptions broker;
  app.add_option("--bootstrap", broker.bootstrap,
                 "The broker to talk to, or several brokers of a cluster comma separated (default "
                 "127.0.0.1:9292, or $STRATA_BOOTSTRAP)")
      ->envname("STRATA_BOOTSTRAP")
      ->type_name("HOST:PORT[,HOST:PORT...]");

  strata::cli::Commands commands(app, *formatter, broker);
  strata::cli::AddLogCommand(commands);
  strata::cli::AddTopicCommand(commands);
  strata::cli::AddProduceCommand(commands);
  strata::cli::AddConsumeCommand(commands);
  strata::cli::AddGroupCommand(commands);
  strata::cli::AddClusterCommand(commands);
  strata::cli::AddBenchCommand(commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ReportParseError(app, e);
  }
  // Broker commands show progress counters only on a terminal, so pipes and logs stay clean.
  broker.progress = ::isatty(STDERR_FILENO) == 1;
  return commands.RunParsed();
}
