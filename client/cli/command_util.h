// Small helpers shared by the `strata` broker commands (broker_commands.cc, group_commands.cc):
// connecting an Admin, plurals, and the progress line. Not thread-safe (one command at a time).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/admin.h"
#include "client/cli/broker_commands.h"

namespace strata::cli {

// A one-line counter on the error stream, redrawn at most every 200 ms, erased by Done. Shown
// only when enabled (main enables it when stderr is a terminal), so pipes and logs stay clean.
class Progress {
 public:
  Progress(std::ostream& err, bool enabled, std::string verb)
      : err_(err), enabled_(enabled), verb_(std::move(verb)) {}
  ~Progress() { Done(); }

  void Update(int64_t records) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    shown_ = true;
    err_ << "\r" << verb_ << " " << records << " records..." << std::flush;
  }
  void Done() {
    if (shown_) err_ << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  std::ostream& err_;
  const bool enabled_;
  const std::string verb_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_;
};

inline absl::StatusOr<std::unique_ptr<client::Admin>> ConnectAdmin(const BrokerOptions& options) {
  client::ConnectionOptions connection;
  connection.client_software_name = "strata-cli";
  return client::Admin::Connect(options.bootstrap, connection);
}

inline std::string Plural(int64_t n, const char* word) {
  return absl::StrCat(n, " ", word, n == 1 ? "" : "s");
}

}  // namespace strata::cli
