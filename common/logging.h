// One line per event on stderr: "2026-11-22T10:00:00.123Z WARN message". Nothing here is meant
// for per-request logging; the default level (INFO) prints only lifecycle events and problems.
// Thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace strata {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// "debug", "info", "warn", "error" or "off"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view name);

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void LogEvent(LogLevel level, std::string_view message);

}  // namespace strata
