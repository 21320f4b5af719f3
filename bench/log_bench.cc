// In-process benchmarks of the partition log (issue: storage engine), with the machine's own
// limits measured in the same run so every Strata figure is printed as a ratio of its limit.
//
//   BM_Memcpy             limit: memcpy bandwidth over buffers far larger than the caches
//   BM_DiskWriteFsync     limit: sequential 1 MiB pwrite + fdatasync, the pattern of
//                         "fsync every 1 MiB"
//   BM_PageCacheWrite     ceiling: copying 16 KiB chunks into fresh pages of a preallocated,
//                         mapped file (prefaulted 4 MiB at a time): what getting new bytes into
//                         the page cache costs on this machine, with no log code at all
//   BM_FsyncAfterAppend/P fdatasync after 8 KiB of 1 KiB pwrites, past the end of the file (P=0)
//                         or inside space reserved by fallocate (P=1): what preallocation buys
//   BM_Append/R/B/F/P     appends of batches of B records of R bytes, through the mapping (P=0,
//                         AppendPath::kMapping, with the prefaulter) or by pwrite (P=1, kWrite,
//                         the broker's default; run for 1 KiB+ records, 16+ per batch), with
//                           F=0  no fsync;
//                           F=1  flush policy "1 MiB" served by a background Flusher, as stratad
//                                runs it: an fsync starts once 1 MiB is unflushed and covers
//                                everything appended by then (group commit), so under load one
//                                fsync covers more than 1 MiB (the KiB/fsync column says how much);
//                           F=2  strictly one fsync per 1 MiB, inline on the appending thread:
//                                the same I/O pattern as BM_DiskWriteFsync;
//                         with F>0 the clock stops only once every append is durable. Reports
//                         p50/p99 per append.
//   BM_AppendWhole/R/B/F/P  BM_Append with the segment's whole 1 GiB reserved at its first append,
//                         against LogConfig's doubling preallocation steps (64 KiB to 16 MiB)
//   BM_Replay             reads a multi-segment log from the start (page cache warm), verifying
//                         every batch's checksum as a consumer does
//
// Usage: log_bench [--dir=PATH] [--quick] [Google Benchmark flags]
//   --dir    where the logs and the disk probe write (default $TMPDIR or /tmp); use the disk you
//            want measured
//   --quick  less data per run, one repetition (for smoke tests)
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "record/batch.h"
#include "log/flusher.h"
#include "log/log.h"

namespace strata::bench {
namespace {

std::string g_dir = "/tmp";
bool g_quick = false;

uint64_t DataBytesPerRun() { return g_quick ? (32ull << 20) : (256ull << 20); }

std::string MakeTempDir() {
  std::string tmpl = g_dir + "/strata-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(2);
  }
  return tmpl;
}

std::vector<std::byte> MakeBatch(int records, size_t record_bytes) {
  record::BatchBuilder b;
  std::string value(record_bytes, 'v');
  std::string key = "key-00000";
  for (int i = 0; i < records; ++i) {
    // Vary bytes so the data is not trivially compressible by the device.
    for (size_t j = 0; j < value.size(); j += 64) value[j] = char('a' + (i + j) % 26);
    record::RecordInput r;
    r.timestamp_ms = 1'700'000'000'000 + i;
    r.key = key;
    r.value = value;
    b.Add(r);
  }
  auto built = b.Build();
  if (!built.ok()) {
    std::cerr << built.status() << "\n";
    std::exit(2);
  }
  return std::move(*built);
}

// --- Limits -----------------------------------------------------------------------------------

void BM_Memcpy(benchmark::State& state) {
  const size_t bytes = 256u << 20;
  std::vector<char> src(bytes, 1), dst(bytes, 2);  // touched: no page faults while timing
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}

void BM_DiskWriteFsync(benchmark::State& state) {
  const size_t chunk = 1u << 20;
  std::vector<char> buf(chunk, 'd');
  std::string dir = MakeTempDir();
  std::string path = dir + "/probe";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  uint64_t pos = 0;
  for (auto _ : state) {
    if (::pwrite(fd, buf.data(), chunk, off_t(pos)) != ssize_t(chunk)) state.SkipWithError("pwrite");
    if (::fdatasync(fd) != 0) state.SkipWithError("fdatasync");
    pos += chunk;
  }
  state.SetBytesProcessed(int64_t(pos));
  ::close(fd);
  std::filesystem::remove_all(dir);
}

// What preallocation buys: fdatasync after 8 KiB of 1 KiB pwrites, with the file growing by those
// writes (P=0) or written inside space fallocate reserved beforehand (P=1). Without the reserve
// each fdatasync must also make the new file size durable.
void BM_FsyncAfterAppend(benchmark::State& state) {
  const bool preallocated = state.range(0) == 1;
  const size_t record = 1024, per_sync = 8;
  std::vector<char> buf(record, 'f');
  std::string dir = MakeTempDir();
  std::string path = dir + "/probe";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR, 0644);
  const uint64_t reserve = uint64_t(state.max_iterations) * record * per_sync;
  if (preallocated && ::posix_fallocate(fd, 0, off_t(reserve)) != 0) {
    state.SkipWithError("fallocate");
  }
  std::vector<uint32_t> sync_ns;
  sync_ns.reserve(size_t(state.max_iterations));
  uint64_t pos = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < per_sync; ++i, pos += record) {
      if (::pwrite(fd, buf.data(), record, off_t(pos)) != ssize_t(record)) {
        state.SkipWithError("pwrite");
      }
    }
    auto t0 = std::chrono::steady_clock::now();
    if (::fdatasync(fd) != 0) state.SkipWithError("fdatasync");
    sync_ns.push_back(uint32_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - t0)
                                   .count()));
  }
  if (!sync_ns.empty()) {
    std::sort(sync_ns.begin(), sync_ns.end());
    state.counters["fsync_p50_us"] = sync_ns[sync_ns.size() / 2] / 1000.0;
    state.counters["fsync_p99_us"] = sync_ns[size_t(0.99 * double(sync_ns.size() - 1))] / 1000.0;
  }
  state.SetBytesProcessed(int64_t(pos));
  ::close(fd);
  std::filesystem::remove_all(dir);
}

void BM_PageCacheWrite(benchmark::State& state) {
  const size_t chunk = 16u << 10, window = 4u << 20;
  const size_t bytes = DataBytesPerRun();
  std::vector<char> src(chunk, 'p');
  for (auto _ : state) {
    state.PauseTiming();
    std::string dir = MakeTempDir();
    std::string path = dir + "/probe";
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0 || ::posix_fallocate(fd, 0, off_t(bytes)) != 0) state.SkipWithError("fallocate");
    void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) state.SkipWithError("mmap");
    char* p = static_cast<char*>(m);
    state.ResumeTiming();
    for (size_t off = 0; off < bytes; off += chunk) {
      if (off % window == 0) ::madvise(p + off, window, MADV_POPULATE_WRITE);
      std::memcpy(p + off, src.data(), chunk);
    }
    benchmark::ClobberMemory();
    state.PauseTiming();
    ::munmap(m, bytes);
    ::close(fd);
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}

// --- Appends ----------------------------------------------------------------------------------

// BM_Append, or with `whole_segment` BM_AppendWhole: the active segment's whole 1 GiB reserved at
// its first append instead of in LogConfig's doubling steps (the old behaviour, for comparison).
void AppendBench(benchmark::State& state, bool whole_segment) {
  const size_t record_bytes = size_t(state.range(0));
  const int per_batch = int(state.range(1));
  const int fsync_mode = int(state.range(2));
  const bool fsync_every_mib = fsync_mode != 0;
  // 0: AppendPath::kMapping (the storage engine's own path, with the prefaulter); 1: kWrite
  // (pwrite, the broker's default).
  const bool via_write = state.range(3) == 1;
  std::vector<std::byte> batch = MakeBatch(per_batch, record_bytes);

  std::string dir = MakeTempDir();
  log::LogOptions options;
  options.dir = dir + "/bench-0";
  options.config.segment_bytes = 1ull << 30;
  if (whole_segment) options.config.preallocation = {1ull << 30, 1ull << 30};
  options.config.flush.bytes = fsync_every_mib ? (1u << 20) : 0;
  options.config.flush.interval_ms = 0;
  options.append_path = via_write ? log::AppendPath::kWrite : log::AppendPath::kMapping;
  log::Flusher flusher;
  if (fsync_mode == 1) options.flusher = &flusher;
  auto opened = log::Log::Open(options);
  if (!opened.ok()) {
    state.SkipWithError(std::string(opened.status().message()).c_str());
    return;
  }
  auto& log = *opened;
  std::vector<uint32_t> latency_ns;
  latency_ns.reserve(size_t(state.max_iterations));
  int64_t done = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = log->Append(batch, 0);
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
    latency_ns.push_back(
        uint32_t(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    if (fsync_every_mib && ++done == int64_t(state.max_iterations)) {
      // Still on the clock: the run counts only once everything it appended is durable.
      absl::Status durable =
          fsync_mode == 1 ? log->WaitDurable(r->last_offset).get() : log->Flush();
      if (!durable.ok()) state.SkipWithError(std::string(durable.message()).c_str());
    }
  }
  if (fsync_every_mib) {
    double fsyncs = double(std::max<uint64_t>(1, log->fsync_count()));
    state.counters["KiB_per_fsync"] =
        double(state.iterations()) * double(batch.size()) / fsyncs / 1024.0;
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(batch.size()));
  state.SetItemsProcessed(int64_t(state.iterations()) * per_batch);
  if (!latency_ns.empty()) {
    std::sort(latency_ns.begin(), latency_ns.end());
    auto pct = [&](double p) { return latency_ns[size_t(p * double(latency_ns.size() - 1))]; };
    state.counters["p50_us"] = pct(0.50) / 1000.0;
    state.counters["p99_us"] = pct(0.99) / 1000.0;
    state.counters["max_us"] = latency_ns.back() / 1000.0;
  }
  log.reset();
  std::filesystem::remove_all(dir);
}

void BM_Append(benchmark::State& state) { AppendBench(state, /*whole_segment=*/false); }
void BM_AppendWhole(benchmark::State& state) { AppendBench(state, /*whole_segment=*/true); }

// --- Replay -----------------------------------------------------------------------------------

void BM_Replay(benchmark::State& state) {
  std::string dir = MakeTempDir();
  log::LogOptions options;
  options.dir = dir + "/replay-0";
  options.config.segment_bytes = 32u << 20;  // several segments
  options.config.flush.bytes = 0;
  auto log = log::Log::Open(options).value();
  std::vector<std::byte> batch = MakeBatch(16, 1024);
  for (uint64_t written = 0; written < DataBytesPerRun(); written += batch.size()) {
    if (!log->Append(batch, 0).ok()) std::exit(2);
  }
  uint64_t bytes = 0;
  for (auto _ : state) {
    for (int64_t off = log->log_start_offset(); off < log->log_end_offset();) {
      auto r = log->Read(off, 1u << 20);
      if (!r.ok()) {
        state.SkipWithError(std::string(r.status().message()).c_str());
        break;
      }
      for (size_t pos = 0; pos < r->bytes.size();) {
        auto h = record::VerifyBatch(r->bytes.subspan(pos));
        if (!h.ok()) {
          state.SkipWithError("checksum");
          break;
        }
        pos += h->size_bytes();
      }
      bytes += r->bytes.size();
      off = r->next_offset;
    }
  }
  state.SetBytesProcessed(int64_t(bytes));
  state.counters["segments"] = double(log->Segments().size());
  log.reset();
  std::filesystem::remove_all(dir);
}

// --- Decode ---------------------------------------------------------------------------------

// What a consumer does with each fetched batch: verify it (BatchReader::Open) and decode every
// record. Reports records/s; the checksum alone is BM_Replay's cost.
void BM_DecodeBatch(benchmark::State& state) {
  const std::vector<std::byte> batch = MakeBatch(int(state.range(1)), size_t(state.range(0)));
  int64_t records = 0;
  for (auto _ : state) {
    auto reader = record::BatchReader::Open(batch);
    if (!reader.ok()) {
      state.SkipWithError("open");
      break;
    }
    for (;;) {
      auto r = reader->Next();
      if (!r.ok()) {
        state.SkipWithError("next");
        return;
      }
      if (!r->has_value()) break;
      benchmark::DoNotOptimize((*r)->value);
      ++records;
    }
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(batch.size()));
}

// --- Ratios -----------------------------------------------------------------------------------

// Displays like the console reporter and keeps each benchmark's median bytes/second.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      if (!median && !single) continue;
      std::string name = run.run_name.function_name;
      if (!run.run_name.args.empty()) name += "/" + run.run_name.args;
      auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) bytes_per_second_[name] = it->second.value;
      for (const char* c : {"p50_us", "p99_us", "KiB_per_fsync"}) {
        auto ct = run.counters.find(c);
        if (ct != run.counters.end()) extra_[name][c] = ct->second.value;
      }
    }
  }
  void PrintRatios() const {
    auto get = [&](const std::string& n) {
      auto it = bytes_per_second_.find(n);
      return it == bytes_per_second_.end() ? 0.0 : it->second;
    };
    auto mbs = [](double bps) { return bps / (1 << 20); };
    auto ratio = [](double a, double b) {
      return (a > 0 && b > 0) ? absl::StrFormat("%.2f", a / b) : std::string("n/a");
    };
    const double memcpy_bps = get("BM_Memcpy");
    const double disk_bps = get("BM_DiskWriteFsync");
    const double page_bps = get("BM_PageCacheWrite");
    std::printf("\nLimits measured in this run (medians): memcpy %.0f MiB/s; sequential 1 MiB "
                "write+fdatasync %.0f MiB/s; fresh page-cache write %.0f MiB/s\n\n",
                mbs(memcpy_bps), mbs(disk_bps), mbs(page_bps));
    std::printf("| workload | MiB/s | p50 us | p99 us | KiB/fsync | limit | of limit | of page cache |\n");
    std::printf("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |\n");
    for (const auto& [name, bps] : bytes_per_second_) {
      if (name.rfind("BM_Append", 0) != 0 && name != "BM_Replay") continue;
      // BM_Append/R/B/F/P: F, the fsync mode, is the third argument.
      const std::vector<std::string> parts = absl::StrSplit(name, '/');
      const bool fsync = parts.size() == 5 && parts[3] != "0";
      const bool replay = name == "BM_Replay";
      double p50 = 0, p99 = 0, per_fsync = 0;
      if (auto e = extra_.find(name); e != extra_.end()) {
        if (e->second.count("p50_us")) p50 = e->second.at("p50_us");
        if (e->second.count("p99_us")) p99 = e->second.at("p99_us");
        if (e->second.count("KiB_per_fsync")) per_fsync = e->second.at("KiB_per_fsync");
      }
      std::printf("| %s | %.0f | %.1f | %.1f | %s | %s | %s | %s |\n", name.c_str(), mbs(bps),
                  p50, p99, per_fsync > 0 ? absl::StrFormat("%.0f", per_fsync).c_str() : "",
                  fsync ? "disk write+fsync" : "memcpy",
                  ratio(bps, fsync ? disk_bps : memcpy_bps).c_str(),
                  (fsync || replay) ? "" : ratio(bps, page_bps).c_str());
    }
    auto verdict = [&](double a, double limit, double target) {
      if (a <= 0 || limit <= 0) return std::string("n/a (not run)");
      return absl::StrFormat("%.2f %s", a / limit, a / limit >= target ? "MET" : "MISSED");
    };
    std::printf("\nTargets: 1 KiB x16 no fsync >= 0.25 of memcpy: %s; "
                "fsync per 1 MiB >= 0.80 of disk: group commit %s, strict %s; "
                "replay >= 0.50 of memcpy: %s\n",
                verdict(get("BM_Append/1024/16/0/0"), memcpy_bps, 0.25).c_str(),
                verdict(get("BM_Append/1024/16/1/0"), disk_bps, 0.80).c_str(),
                verdict(get("BM_Append/1024/16/2/0"), disk_bps, 0.80).c_str(),
                verdict(get("BM_Replay"), memcpy_bps, 0.50).c_str());
  }

 private:
  std::map<std::string, double> bytes_per_second_;
  std::map<std::string, std::map<std::string, double>> extra_;
};

void Register() {
  const int reps = g_quick ? 1 : 3;
  auto configure = [&](benchmark::internal::Benchmark* b) {
    b->Unit(benchmark::kMicrosecond)->UseRealTime()->Repetitions(reps);
    if (reps > 1) b->ReportAggregatesOnly(true);
  };
  configure(benchmark::RegisterBenchmark("BM_Memcpy", BM_Memcpy)->Iterations(g_quick ? 4 : 16));
  configure(benchmark::RegisterBenchmark("BM_DiskWriteFsync", BM_DiskWriteFsync)
                ->Iterations(int64_t(DataBytesPerRun() >> 20)));
  configure(benchmark::RegisterBenchmark("BM_PageCacheWrite", BM_PageCacheWrite)->Iterations(2));
  for (int64_t preallocated : {0, 1}) {
    configure(benchmark::RegisterBenchmark("BM_FsyncAfterAppend", BM_FsyncAfterAppend)
                  ->Arg(preallocated)
                  ->Iterations(g_quick ? 200 : 2000));
  }
  for (int fsync : {0, 1, 2}) {
    for (int64_t record : {100, 1024, 16384}) {
      for (int64_t per_batch : {1, 16, 256}) {
        int64_t batch_bytes = int64_t(MakeBatch(int(per_batch), size_t(record)).size());
        int64_t iterations = std::max<int64_t>(64, int64_t(DataBytesPerRun()) / batch_bytes);
        // Tiny batches are bounded by per-append cost, not bytes: cap their run time.
        iterations = std::min<int64_t>(iterations, g_quick ? 50'000 : 400'000);
        configure(benchmark::RegisterBenchmark("BM_Append", BM_Append)
                      ->Args({record, per_batch, fsync, 0})
                      ->Iterations(iterations));
        // The pwrite path, for the shapes the broker sees most (producers' batches).
        if (record >= 1024 && per_batch >= 16 && fsync < 2) {
          configure(benchmark::RegisterBenchmark("BM_Append", BM_Append)
                        ->Args({record, per_batch, fsync, 1})
                        ->Iterations(iterations));
        }
        // Preallocation in steps against the whole segment up front (docs/performance.md).
        if (record == 1024 && per_batch == 16) {
          configure(benchmark::RegisterBenchmark("BM_AppendWhole", BM_AppendWhole)
                        ->Args({record, per_batch, fsync, 1})
                        ->Iterations(iterations));
          if (fsync == 2) {
            configure(benchmark::RegisterBenchmark("BM_Append", BM_Append)
                          ->Args({record, per_batch, fsync, 1})
                          ->Iterations(iterations));
          }
        }
      }
    }
  }
  configure(benchmark::RegisterBenchmark("BM_Replay", BM_Replay)->Iterations(2));
  for (int64_t record : {100, 1024}) {
    configure(benchmark::RegisterBenchmark("BM_DecodeBatch", BM_DecodeBatch)
                  ->Args({record, 16})
                  ->Iterations(g_quick ? 20'000 : 200'000));
  }
}

}  // namespace
}  // namespace strata::bench

int main(int argc, char** argv) {
  if (const char* t = std::getenv("TMPDIR")) strata::bench::g_dir = t;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--dir=", 0) == 0) {
      strata::bench::g_dir = a.substr(6);
    } else if (a == "--quick") {
      strata::bench::g_quick = true;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int n = int(rest.size());
  benchmark::Initialize(&n, rest.data());
  strata::bench::Register();
  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}
