#include "bench/peers/peer_common.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

#include "common/endian.h"

namespace strata::peers {

namespace {

constexpr std::string_view kStampMagic = "STRBENCH";
constexpr size_t kValuePoolBytes = 1 << 20;
// Closer than this, a sleep would overshoot (timer slack): send at once.
constexpr int64_t kSleepMinNs = 50'000;

[[noreturn]] void Usage(const char* program, const char* extra_usage, const std::string& why) {
  std::fprintf(stderr,
               "%s: %s\n"
               "usage: %s --mode produce|sync|replay|e2e --port N [--host H] [--stream NAME]\n"
               "  [--records N] [--record-bytes N] [--producers N] [--window N] [--batch N]\n"
               "  [--rate R] [--duration S] [--warmup S]%s\n",
               program, why.c_str(), program, extra_usage);
  std::exit(2);
}

// Escapes `text` as a JSON string.
std::string Json(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

void ParseOptions(int argc, char** argv, PeerOptions& o, const char* extra_usage) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(argv[0], extra_usage, flag + " needs a value");
    const char* v = argv[i + 1];
    char* end = nullptr;
    auto integer = [&]() {
      const long long n = std::strtoll(v, &end, 10);
      if (*end != '\0' || n < 0) Usage(argv[0], extra_usage, flag + " expects an integer >= 0");
      return int64_t(n);
    };
    auto number = [&]() {
      const double d = std::strtod(v, &end);
      if (*end != '\0' || !(d >= 0)) Usage(argv[0], extra_usage, flag + " expects a number >= 0");
      return d;
    };
    if (flag == "--mode")
      o.mode = v;
    else if (flag == "--host")
      o.host = v;
    else if (flag == "--port")
      o.port = int(integer());
    else if (flag == "--stream")
      o.stream = v;
    else if (flag == "--records")
      o.records = integer();
    else if (flag == "--record-bytes")
      o.record_bytes = integer();
    else if (flag == "--producers")
      o.producers = int(integer());
    else if (flag == "--window")
      o.window = integer();
    else if (flag == "--batch")
      o.batch = integer();
    else if (flag == "--rate")
      o.rate_per_s = number();
    else if (flag == "--duration")
      o.duration_s = number();
    else if (flag == "--warmup")
      o.warmup_s = number();
    else if (flag == "--consumer")
      o.consumer = v;
    else
      Usage(argv[0], extra_usage, "unknown flag " + flag);
  }
  if (o.mode != "produce" && o.mode != "sync" && o.mode != "replay" && o.mode != "e2e") {
    Usage(argv[0], extra_usage, "--mode must be produce, sync, replay or e2e");
  }
  if (o.port <= 0) Usage(argv[0], extra_usage, "--port is required");
  if (o.producers < 1 || o.producers > 64) Usage(argv[0], extra_usage, "--producers: 1..64");
  if (o.window < 1 || o.batch < 1) Usage(argv[0], extra_usage, "--window and --batch: >= 1");
  if ((o.mode == "e2e" || o.mode == "produce") && o.record_bytes < int64_t(kStampBytes)) {
    Usage(argv[0], extra_usage, "--record-bytes must be >= 16 (values carry a send time)");
  }
  if (o.mode == "e2e" && !(o.rate_per_s > 0)) Usage(argv[0], extra_usage, "--rate must be > 0");
  if (o.mode != "e2e" && o.records < 1) Usage(argv[0], extra_usage, "--records must be >= 1");
}

void SleepUntilNs(int64_t t_ns) {
  const int64_t ahead_ns = t_ns - NowNs();
  if (ahead_ns >= kSleepMinNs) std::this_thread::sleep_for(std::chrono::nanoseconds(ahead_ns));
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

void StampedValue(std::string_view value, int64_t ns, std::string& out) {
  out.assign(value);
  out.replace(0, kStampMagic.size(), kStampMagic);
  PutI64(reinterpret_cast<std::byte*>(out.data()) + kStampMagic.size(), ns);
}

std::optional<int64_t> ReadStamp(std::string_view value) {
  if (value.size() < kStampBytes || value.substr(0, kStampMagic.size()) != kStampMagic) {
    return std::nullopt;
  }
  return GetI64(reinterpret_cast<const std::byte*>(value.data()) + kStampMagic.size());
}

void PeerStats::AddErrors(int64_t n, const std::string& what) {
  if (n <= 0) return;
  errors.fetch_add(n, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu);
  if (first_error.empty()) first_error = what;
}

void PrintReport(const PeerOptions& o, PeerStats& stats, double seconds, bool has_latency) {
  const int64_t records = stats.records.load();
  const int64_t bytes = stats.bytes.load();
  std::string latency = "null";
  if (has_latency) {
    char buf[160];
    const Histogram& h = stats.latency_us;
    std::snprintf(buf, sizeof buf, R"({"p50":%.3f,"p99":%.3f,"p999":%.3f,"max":%.3f})",
                  double(h.Percentile(0.50)) / 1000, double(h.Percentile(0.99)) / 1000,
                  double(h.Percentile(0.999)) / 1000, double(h.max()) / 1000);
    latency = buf;
  }
  std::string first_error;
  {
    std::lock_guard<std::mutex> lock(stats.mu);
    first_error = stats.first_error.empty() ? "null" : Json(stats.first_error);
  }
  char cpu[32] = "null";
  if (stats.machine_cpu_busy_pct >= 0) {
    std::snprintf(cpu, sizeof cpu, "%.1f", stats.machine_cpu_busy_pct);
  }
  std::printf(
      "{\"system\":%s,\"mode\":%s,\"stream\":%s,\"producers\":%d,\"record_bytes\":%lld,"
      "\"rate_per_s\":%g,\"records\":%lld,\"bytes\":%lld,\"seconds\":%.3f,\"msgs_per_s\":%.1f,"
      "\"mib_per_s\":%.3f,\"latency_ms\":%s,\"machine_cpu_busy_pct\":%s,\"errors\":%lld,"
      "\"first_error\":%s}\n",
      Json(o.system).c_str(), Json(o.mode).c_str(), Json(o.stream).c_str(), o.producers,
      static_cast<long long>(o.record_bytes), o.mode == "e2e" ? o.rate_per_s : 0.0,
      static_cast<long long>(records), static_cast<long long>(bytes), seconds,
      seconds > 0 ? double(records) / seconds : 0.0,
      seconds > 0 ? double(bytes) / double(1 << 20) / seconds : 0.0, latency.c_str(), cpu,
      static_cast<long long>(stats.errors.load()), first_error.c_str());
  std::fflush(stdout);
}

E2eWindow::E2eWindow(const PeerOptions& options, PeerStats& stats_out)
    : start_ns(NowNs() + 50'000'000),
      measure_start_ns(start_ns + int64_t(options.warmup_s * 1e9)),
      end_ns(measure_start_ns + int64_t(options.duration_s * 1e9)),
      stats(stats_out) {}

void E2eWindow::CountReception(int64_t intended_ns, int64_t now_ns, int64_t value_bytes) {
  if (now_ns >= measure_start_ns && now_ns < end_ns) {
    stats.records.fetch_add(1, std::memory_order_relaxed);
    stats.bytes.fetch_add(value_bytes, std::memory_order_relaxed);
  }
  if (intended_ns < measure_start_ns) return;
  received_counted.fetch_add(1, std::memory_order_relaxed);
  stats.latency_us.Record((now_ns - intended_ns) / 1000);
}

}  // namespace strata::peers
