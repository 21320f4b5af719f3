// strata: the command-line tool. It parses the command line (CLI11) and maps results to exit codes;
// the work itself lives in functions that tests call directly (log_tools.h).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "client/cli/log_tools.h"

namespace {

using strata::cli::kExitOk;
using strata::cli::kExitUsage;

constexpr const char* kStrataHelp =
    "strata: the command-line tool of Strata, a Kafka-like partitioned record log. Its commands\n"
    "work offline, straight on the files of one partition's log, without a broker. They only\n"
    "read: they never repair, truncate or rewrite anything.";

constexpr const char* kStrataExamples =
    "Examples:\n"
    "  strata log verify /var/lib/strata/orders-0      check every batch and index\n"
    "  strata log dump /var/lib/strata/orders-0        list segments and batches\n"
    "  strata log dump --help                          all dump options\n";

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
  return kExitUsage;  // unreachable: CLI11 requires a command
}
