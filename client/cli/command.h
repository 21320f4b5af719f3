// What the `strata` commands share on the command line. Each command lives in its own file
// (command_log.cc, command_topic.cc, command_produce.cc, command_consume.cc, command_group.cc,
// command_bench.cc): an Add*Command function that adds its CLI11 subcommand to the app with its
// help text, examples and options, and registers what runs when one of its leaves is parsed. The
// work itself stays in the libraries the tests call (log_tools.h, broker_commands.h,
// group_commands.h, bench.h); main.cc only builds the app, calls the Add functions, parses and
// returns the exit code.
//
// Not thread-safe: main builds, parses and runs the commands on one thread.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/cli/broker_commands.h"
#include "client/cli/log_tools.h"  // kExitOk, kExitUsage (log verify's own codes)

namespace strata::cli {

// Exit codes of every command: kExitOk (0), kExitFailure (1: the command failed, stderr says
// what to do) and kExitUsage (2: a bad command line). `strata log verify` uses 1 for corruption.
inline constexpr int kExitFailure = 1;

// The help group of the commands that talk to a broker.
inline constexpr const char* kBrokerGroup = "Broker commands (talk to stratad at --bootstrap)";

// Help text: CLI11 shows a command's description both in its parent's command list and at the top
// of its own --help. This formatter puts a one-line summary in the list and the full paragraph
// (registered with Describe) at the top of the command's own help.
class HelpFormatter : public CLI::Formatter {
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

// What a command's Add function gets: the app to add its subcommand to, the help formatter, the
// global options, and a place to register what each parsed leaf runs. The global options are read
// only when a command runs (after parsing), so commands hold them by reference.
class Commands {
 public:
  Commands(CLI::App& app, HelpFormatter& formatter, const BrokerOptions& broker)
      : app_(app), formatter_(formatter), broker_(broker) {}

  CLI::App& app() { return app_; }
  const BrokerOptions& broker() const { return broker_; }
  // The paragraph at the top of `command`'s own --help (HelpFormatter).
  void Describe(const CLI::App* command, std::string paragraph) {
    formatter_.Describe(command, std::move(paragraph));
  }
  // `run` is what `command` does when it is the command parsed; it returns the exit code. It
  // owns (through its captures) the variables that `command`'s options were bound to.
  void OnRun(const CLI::App* command, std::function<int()> run) {
    runs_.emplace_back(command, std::move(run));
  }
  // After parsing: runs the parsed command. kExitUsage if none was (CLI11 requires one).
  int RunParsed() const;

 private:
  CLI::App& app_;
  HelpFormatter& formatter_;
  const BrokerOptions& broker_;
  std::vector<std::pair<const CLI::App*, std::function<int()>>> runs_;
};

// One per command, in the order main adds them (the order of `strata --help`).
void AddLogCommand(Commands& commands);
void AddTopicCommand(Commands& commands);
void AddProduceCommand(Commands& commands);
void AddConsumeCommand(Commands& commands);
void AddGroupCommand(Commands& commands);
void AddClusterCommand(Commands& commands);
void AddBenchCommand(Commands& commands);

// Ends a broker command: flushes standard output and, on an error, prints "`command`: message" on
// stderr. kExitOk or kExitFailure.
int Finish(const std::string& command, const absl::Status& status);

// Option validators. Built without a description, so the help shows "--max-batches N" rather
// than "N:NONNEGATIVE"; a value they refuse is a usage error (exit 2).
CLI::Validator NonNegative();        // a whole number >= 0
CLI::Validator Positive();           // a whole number > 0
CLI::Validator NonNegativeNumber();  // a number >= 0
CLI::Validator KeyValue();           // KEY=VALUE (output.h, ParseKeyValue)
// A validator from a parser of output.h (ParseAcks, ParseFrom, ...): accepts what it parses.
template <typename Parse>
CLI::Validator FromParser(Parse parse) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        auto parsed = parse(text);
        return parsed.ok() ? "" : std::string(parsed.status().message());
      },
      "");
}

}  // namespace strata::cli
