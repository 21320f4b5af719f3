#include "client/cli/bench_schedule.h"

#include <cmath>
#include <cstddef>

#include "common/endian.h"

namespace strata::cli {

int64_t OpenLoopSchedule::IntendedNs(int64_t i) const {
  return start_ns_ + int64_t(std::llround(double(i) * 1e9 / rate_per_s_));
}

int64_t OpenLoopSchedule::CountBefore(int64_t t_ns) const {
  if (t_ns <= start_ns_) return 0;
  // Estimate, then correct for rounding so the answer agrees with IntendedNs exactly.
  auto n = int64_t(std::ceil(double(t_ns - start_ns_) * rate_per_s_ / 1e9));
  while (n > 0 && IntendedNs(n - 1) >= t_ns) --n;
  while (IntendedNs(n) < t_ns) ++n;
  return n;
}

void WriteStamp(std::string& value, int64_t intended_ns) {
  value.replace(0, kStampMagic.size(), kStampMagic);
  PutI64(reinterpret_cast<std::byte*>(value.data()) + kStampMagic.size(), intended_ns);
}

std::optional<int64_t> ReadStamp(std::string_view value) {
  if (value.size() < kStampBytes || value.substr(0, kStampMagic.size()) != kStampMagic) {
    return std::nullopt;
  }
  return GetI64(reinterpret_cast<const std::byte*>(value.data()) + kStampMagic.size());
}

}  // namespace strata::cli
