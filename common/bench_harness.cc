#include "common/bench_harness.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/endian.h"

namespace strata::bench {

namespace {

// Closer than this, a sleep would overshoot (timer slack): send at once.
constexpr int64_t kSleepMinNs = 50'000;
// Random bytes that values are cut from (at varying offsets, so values differ).
constexpr size_t kValuePoolBytes = 1 << 20;

double Ms(int64_t us) { return double(us) / 1000.0; }

}  // namespace

void SleepUntilNs(int64_t t_ns) {
  const int64_t ahead_ns = t_ns - NowNs();
  if (ahead_ns >= kSleepMinNs) std::this_thread::sleep_for(std::chrono::nanoseconds(ahead_ns));
}

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

ValuePool::ValuePool(size_t value_bytes) : value_bytes_(value_bytes) {
  std::mt19937_64 random(0x5eed);
  pool_.resize(std::max(kValuePoolBytes, 2 * value_bytes_));
  for (char& c : pool_) c = char(random());
}

std::string_view ValuePool::Value(int64_t i) const {
  const size_t offsets = pool_.size() - value_bytes_ + 1;
  return std::string_view(pool_).substr(size_t(uint64_t(i) * 4099 % offsets), value_bytes_);
}

void WriteStamp(std::string& value, int64_t ns) {
  value.replace(0, kStampMagic.size(), kStampMagic);
  PutI64(reinterpret_cast<std::byte*>(value.data()) + kStampMagic.size(), ns);
}

std::optional<int64_t> ReadStamp(std::string_view value) {
  if (value.size() < kStampBytes || value.substr(0, kStampMagic.size()) != kStampMagic) {
    return std::nullopt;
  }
  return GetI64(reinterpret_cast<const std::byte*>(value.data()) + kStampMagic.size());
}

LatencySummary SummarizeMicros(const Histogram& latency_us) {
  LatencySummary s;
  s.p50_ms = Ms(latency_us.Percentile(0.50));
  s.p99_ms = Ms(latency_us.Percentile(0.99));
  s.p999_ms = Ms(latency_us.Percentile(0.999));
  s.max_ms = Ms(latency_us.max());
  return s;
}

std::string LatencyJson(const LatencySummary& l) {
  return absl::StrFormat(R"({"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f})", l.p50_ms, l.p99_ms,
                         l.p999_ms, l.max_ms);
}

}  // namespace strata::bench
