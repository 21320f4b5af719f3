#include "bench/peers/peer_common.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "common/cpu_usage.h"

namespace strata::peers {

namespace {

// How long e2e waits, once every message is answered, for the consumer to receive them all.
constexpr int64_t kDrainMs = 10'000;
// More errors than this in sync mode: a broken setup, not a slow server.
constexpr int64_t kSyncErrorsMax = 100;

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

void PeerStats::AddErrors(int64_t n, const std::string& what) {
  if (n <= 0) return;
  errors.fetch_add(n, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu);
  if (first_error.empty()) first_error = what;
}

void PrintReport(const PeerOptions& o, PeerStats& stats, double seconds, bool has_latency) {
  const int64_t records = stats.records.load();
  const int64_t bytes = stats.bytes.load();
  const std::string latency =
      has_latency ? bench::LatencyJson(bench::SummarizeMicros(stats.latency_us)) : "null";
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

void RunProduceMode(const PeerOptions& o, PeerStats& stats,
                    const std::function<int64_t(const ProducerSlot& slot)>& produce) {
  const ValuePool values(size_t(o.record_bytes));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<int64_t> first_ns(o.producers), last_ns(o.producers);
  std::vector<std::thread> threads;
  for (int k = 0; k < o.producers; ++k) {
    threads.emplace_back([&, k] {
      ProducerSlot slot;
      slot.k = k;
      slot.stream = o.producers == 1 ? o.stream : o.stream + "-" + std::to_string(k);
      slot.count = o.records / o.producers + (k < o.records % o.producers ? 1 : 0);
      slot.values = &values;
      slot.producers = o.producers;
      slot.start = [&, k] {
        ready.fetch_add(1);
        while (!go.load()) std::this_thread::yield();
        return first_ns[k] = NowNs();
      };
      last_ns[k] = produce(slot);
    });
  }
  while (ready.load() < o.producers) std::this_thread::yield();
  const std::optional<CpuSample> cpu_start = SampleMachineCpu();  // connected: the window opens
  go.store(true);
  for (std::thread& t : threads) t.join();
  stats.machine_cpu_busy_pct = BusyPercent(cpu_start, SampleMachineCpu());
  const int64_t start = *std::min_element(first_ns.begin(), first_ns.end());
  const int64_t end = *std::max_element(last_ns.begin(), last_ns.end());
  PrintReport(o, stats, double(end - start) / 1e9, true);
}

void RunSyncMode(const PeerOptions& o, PeerStats& stats,
                 const std::function<std::string(std::string_view value)>& send) {
  const ValuePool values(size_t(o.record_bytes));
  const int64_t measure_start_ns = NowNs() + int64_t(o.warmup_s * 1e9);
  int64_t first_ns = 0, last_ns = 0;
  for (int64_t i = 0; stats.records.load() < o.records && stats.errors.load() <= kSyncErrorsMax;
       ++i) {
    const std::string_view value = values.Value(i);
    const int64_t sent_ns = NowNs();
    const bool counted = sent_ns >= measure_start_ns;
    if (counted && first_ns == 0) first_ns = sent_ns;
    const std::string error = send(value);
    last_ns = NowNs();
    if (!error.empty()) {
      stats.Error(error);
    } else if (counted) {
      stats.Count(int64_t(value.size()), last_ns - sent_ns);
    }
  }
  PrintReport(o, stats, double(last_ns - first_ns) / 1e9, true);
}

void RunReplayMode(const PeerOptions& o, PeerStats& stats,
                   const std::function<std::string(int64_t remaining)>& read) {
  const int64_t start_ns = NowNs();
  int64_t last_ns = start_ns;
  while (stats.records.load() < o.records) {
    const std::string error = read(o.records - stats.records.load());
    if (!error.empty()) {
      stats.Error(error);
      break;
    }
    last_ns = NowNs();
  }
  PrintReport(o, stats, double(last_ns - start_ns) / 1e9, false);
}

E2eWindow::E2eWindow(const PeerOptions& options_in)
    : options(options_in),
      values(size_t(options_in.record_bytes)),
      start_ns(NowNs() + 50'000'000),
      measure_start_ns(start_ns + int64_t(options_in.warmup_s * 1e9)),
      end_ns(measure_start_ns + int64_t(options_in.duration_s * 1e9)) {}

void E2eWindow::CountReception(int64_t intended_ns, int64_t now_ns, int64_t value_bytes) {
  if (now_ns >= measure_start_ns && now_ns < end_ns) {
    stats.records.fetch_add(1, std::memory_order_relaxed);
    stats.bytes.fetch_add(value_bytes, std::memory_order_relaxed);
  }
  if (intended_ns < measure_start_ns) return;
  received_counted.fetch_add(1, std::memory_order_relaxed);
  stats.latency_us.Record((now_ns - intended_ns) / 1000);
}

void E2eWindow::SendOpenLoop(
    const std::function<bool(const std::string& value, int64_t due_ns)>& send) {
  const bench::OpenLoopSchedule schedule(start_ns, options.rate_per_s);
  std::string value;
  for (int64_t i = 0;; ++i) {
    const int64_t due_ns = schedule.IntendedNs(i);
    if (due_ns >= end_ns) return;
    bench::SleepUntilNs(due_ns);
    value.assign(values.Value(i));
    WriteStamp(value, due_ns);
    if (!send(value, due_ns)) return;
  }
}

void E2eWindow::AwaitReceptions(const std::atomic<int64_t>& acked_counted) {
  const int64_t drain_end_ns = NowNs() + kDrainMs * 1'000'000;
  while (received_counted.load() < acked_counted.load() && NowNs() < drain_end_ns) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void E2eWindow::Report(int64_t acked_counted, const std::string& what) {
  const int64_t missing = std::max<int64_t>(0, acked_counted - received_counted.load());
  stats.AddErrors(sends.errors.load(), sends.first_error);
  stats.AddErrors(missing, std::to_string(missing) + " acknowledged " + what + " never arrived");
  PrintReport(options, stats, options.duration_s, true);
}

}  // namespace strata::peers
