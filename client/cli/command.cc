#include "client/cli/command.h"

#include <cstdint>
#include <iostream>

#include "absl/strings/numbers.h"
#include "client/cli/output.h"

namespace strata::cli {

int Commands::RunParsed() const {
  for (const auto& [command, run] : runs_) {
    if (command->parsed()) return run();
  }
  return kExitUsage;  // unreachable: CLI11 requires a command
}

int Finish(const std::string& command, const absl::Status& status) {
  std::cout.flush();
  if (status.ok()) return kExitOk;
  std::cerr << command << ": " << status.message() << "\n";
  return kExitFailure;
}

namespace {

// Accepts the values `ok` accepts; refuses others with "expects <what>, not '<value>'".
template <typename Ok>
CLI::Validator Expects(Ok ok, std::string what) {
  return CLI::Validator(
      [ok, what](std::string& text) -> std::string {
        return ok(text) ? "" : "expects " + what + ", not '" + text + "'";
      },
      "");
}

}  // namespace

CLI::Validator NonNegative() {
  return Expects(
      [](const std::string& text) {
        int64_t value = 0;
        return absl::SimpleAtoi(text, &value) && value >= 0;
      },
      "a whole number >= 0");
}

CLI::Validator Positive() {
  return Expects(
      [](const std::string& text) {
        int64_t value = 0;
        return absl::SimpleAtoi(text, &value) && value > 0;
      },
      "a whole number > 0");
}

CLI::Validator NonNegativeNumber() {
  return Expects(
      [](const std::string& text) {
        double value = 0;
        return absl::SimpleAtod(text, &value) && value >= 0;
      },
      "a number >= 0");
}

CLI::Validator KeyValue() {
  return FromParser([](const std::string& t) { return ParseKeyValue(t, "value"); });
}

}  // namespace strata::cli
