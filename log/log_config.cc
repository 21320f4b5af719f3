#include "log/log_config.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/limits.h"

namespace strata::log {

absl::Status LogConfig::Validate() const {
  if (segment_bytes < limits::segment_bytes_min || segment_bytes > limits::segment_bytes_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment_bytes ", segment_bytes, " is outside [", limits::segment_bytes_min,
                     ", ", limits::segment_bytes_max, "]"));
  }
  if (segment_ms <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("segment_ms ", segment_ms, " must be > 0"));
  }
  if (preallocation.first_bytes < 4096 || preallocation.max_bytes < preallocation.first_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "preallocation steps must be at least 4096 bytes and grow: first_bytes ",
        preallocation.first_bytes, ", max_bytes ", preallocation.max_bytes));
  }
  if (index_interval_bytes == 0) {
    return absl::InvalidArgumentError("index_interval_bytes must be > 0");
  }
  if (retention_ms < -1 || retention_bytes < -1) {
    return absl::InvalidArgumentError("retention_ms and retention_bytes must be >= 0, or -1");
  }
  if (flush.interval_ms < 0) {
    return absl::InvalidArgumentError("flush interval_ms must be >= 0 (0 disables it)");
  }
  return absl::OkStatus();
}

Clock SystemClock() {
  return [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

}  // namespace strata::log
