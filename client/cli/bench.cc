#include "client/cli/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/bench_harness.h"
#include "common/cpu_usage.h"
#include "common/limits.h"

namespace strata::cli {

namespace {

// How long e2e waits, once every record is acknowledged, for the consumer to receive them all.
constexpr int64_t kE2eDrainMs = 10'000;
// Consumer polls are short so the stop conditions are checked often.
constexpr int64_t kPollTimeoutMs = 100;

using bench::NowNs;
using bench::OpenLoopSchedule;
using bench::ValuePool;

int64_t SecondsToNs(double s) { return int64_t(s * 1e9); }

std::string AcksName(int acks) { return acks == -1 ? "all" : absl::StrCat(acks); }

// Makes sure the topic exists (creating it with options.partitions) and returns its partition
// count.
absl::StatusOr<int32_t> EnsureTopic(const BrokerOptions& broker, const BenchOptions& options) {
  client::ConnectionOptions connection;
  connection.client_software_name = "strata-bench";
  STRATA_ASSIGN_OR_RETURN(auto admin, client::Admin::Connect(broker.bootstrap, connection));
  absl::StatusOr<client::TopicInfo> info = admin->DescribeTopic(options.topic);
  if (absl::IsNotFound(info.status())) {
    absl::Status created = admin->CreateTopic(options.topic, options.partitions);
    if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
    info = admin->DescribeTopic(options.topic);
  }
  STRATA_RETURN_IF_ERROR(info.status());
  return int32_t(info->partitions.size());
}

// A line on the error stream, redrawn once a second from `line()` while running, erased by Stop.
class ProgressLine {
 public:
  ProgressLine(std::ostream& err, bool enabled, std::function<std::string()> line)
      : err_(err), line_(std::move(line)) {
    if (enabled) thread_ = std::thread([this] { Run(); });
  }
  ~ProgressLine() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_.Notify();
    thread_.join();
    err_ << "\r\033[K" << std::flush;
  }

 private:
  void Run() {
    while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      err_ << "\r" << line_() << "\033[K" << std::flush;
    }
  }

  std::ostream& err_;
  const std::function<std::string()> line_;
  absl::Notification stop_;
  std::thread thread_;
};

// The measured window for throughput: it counts the events (acknowledgements, or receptions in
// e2e) that happen from the end of the warmup until `duration` later, or in records mode until
// the `records`-th such event. Counting events by when they happen, rather than the records sent
// in the window, keeps the warmup's backlog (a full buffer in a closed loop) and the final drain
// out of the rate. Thread-safe.
class MeasuredWindow {
 public:
  MeasuredWindow(int64_t start_ns, int64_t end_ns, int64_t records)
      : start_ns_(start_ns), end_ns_(records > 0 ? INT64_MAX : end_ns), records_(records) {}

  void Count(int64_t now_ns, int64_t bytes) {
    if (now_ns < start_ns_) return;
    if (records_ == 0) {
      if (now_ns >= end_ns_) return;
      events_.fetch_add(1, std::memory_order_relaxed);
      bytes_.fetch_add(bytes, std::memory_order_relaxed);
      return;
    }
    const int64_t n = events_.fetch_add(1, std::memory_order_relaxed);
    if (n >= records_) return;
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    if (n == records_ - 1) reached_ns_.store(now_ns, std::memory_order_relaxed);
  }

  int64_t events() const {
    const int64_t n = events_.load(std::memory_order_relaxed);
    return records_ > 0 ? std::min(n, records_) : n;
  }
  int64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  // The window's length so far (its whole length once it has closed).
  double seconds(int64_t now_ns) const {
    int64_t end_ns = std::min(end_ns_, now_ns);
    if (records_ > 0 && reached_ns_.load() > 0) end_ns = reached_ns_.load();
    return double(std::max<int64_t>(0, end_ns - start_ns_)) / 1e9;
  }

 private:
  const int64_t start_ns_;
  const int64_t end_ns_;
  const int64_t records_;
  std::atomic<int64_t> events_{0};
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> reached_ns_{0};
};

// Counters of one producer, updated by its callbacks (on its sender thread) and read by the
// progress line and the report.
struct ProducerStats {
  Histogram latency_us;                   // records sent in the measured window
  std::atomic<int64_t> acked_total{0};    // every acknowledged record, warmup included
  std::atomic<int64_t> acked_counted{0};  // acknowledged records sent in the measured window
  std::atomic<int64_t> errors{0};
  absl::Mutex mu;
  absl::Status first_error ABSL_GUARDED_BY(mu);

  void Error(const absl::Status& st) {
    errors.fetch_add(1, std::memory_order_relaxed);
    absl::MutexLock lock(&mu);
    if (first_error.ok()) first_error = st;
  }
};

// What the producer threads share: the plan of the run.
struct ProduceRun {
  std::string topic;
  int32_t partitions = 0;
  const BenchOptions* options = nullptr;
  const ValuePool* values = nullptr;
  bool stamp = false;  // write the intended send time into each value (e2e)
  int64_t start_ns = 0;
  int64_t measure_start_ns = 0;              // end of the warmup
  int64_t measure_end_ns = 0;                // closed loop, duration mode: stop sending here
  std::optional<OpenLoopSchedule> schedule;  // open loop
  int64_t open_loop_total = 0;               // open loop: records 0 .. total-1
  std::atomic<int64_t> measured_claimed{0};  // closed loop, records mode
  std::atomic<bool> stop{false};
  std::unique_ptr<MeasuredWindow> acks;  // acknowledgements
};

// Sends records k, k + n, k + 2n, ... of the run (n = producers) on `producer`, then closes it
// (which waits for every callback).
void RunProducer(ProduceRun& run, int k, client::Producer& producer, ProducerStats& stats) {
  const BenchOptions& o = *run.options;
  const int64_t n = o.producers;
  std::string stamped;  // e2e: this record's value with its send time written in
  // Closed loop starts at start_ns too (open loop's schedule does): records sent before it would
  // be neither warmup nor measured, and with --warmup 0 the topic would hold more than --records.
  if (!run.schedule) {
    const int64_t ahead_ns = run.start_ns - NowNs();
    if (ahead_ns > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(ahead_ns));
  }
  for (int64_t i = k; !run.stop.load(std::memory_order_relaxed); i += n) {
    int64_t intended_ns;
    if (run.schedule) {
      if (i >= run.open_loop_total) break;
      intended_ns = run.schedule->IntendedNs(i);
      bench::SleepUntilNs(intended_ns);
    } else {
      intended_ns = NowNs();
      if (intended_ns >= run.measure_start_ns) {
        if (o.records > 0) {
          if (run.measured_claimed.fetch_add(1, std::memory_order_relaxed) >= o.records) break;
        } else if (intended_ns >= run.measure_end_ns) {
          break;
        }
      }
    }
    const bool counted = intended_ns >= run.measure_start_ns;

    // The record by reference (ProducerRecordView): no strings built per record, which would
    // cost this thread more than the producer's own work on it.
    client::ProducerRecordView record;
    record.topic = run.topic;
    char key[8];
    if (!o.null_keys) {
      uint32_t v = uint32_t(i);
      for (int d = 7; d >= 0; --d, v >>= 4) key[d] = "0123456789abcdef"[v & 15];
      record.key = std::string_view(key, sizeof(key));
    }
    if (o.partition_per_producer) record.partition = int32_t(k % run.partitions);
    record.value = run.values->Value(i);
    if (run.stamp) {
      stamped.assign(*record.value);
      bench::WriteStamp(stamped, intended_ns);
      record.value = stamped;
    }
    const int64_t value_bytes = o.record_bytes;
    MeasuredWindow* acks = run.acks.get();
    auto answered = [&stats, acks, intended_ns, counted,
                     value_bytes](const absl::StatusOr<client::RecordMetadata>& md) {
      const int64_t now_ns = NowNs();
      if (!md.ok()) {
        stats.Error(md.status());
        return;
      }
      stats.acked_total.fetch_add(1, std::memory_order_relaxed);
      acks->Count(now_ns, value_bytes);
      if (counted) {
        stats.acked_counted.fetch_add(1, std::memory_order_relaxed);
        stats.latency_us.Record((now_ns - intended_ns) / 1000);
      }
    };
    if (o.sync) {
      // One at a time, sent and answered on this thread (Producer::SendSync).
      absl::StatusOr<client::RecordMetadata> md = producer.SendSync(record);
      answered(md);
      if (!md.ok() && (absl::IsNotFound(md.status()) || absl::IsInvalidArgument(md.status()) ||
                       absl::IsFailedPrecondition(md.status()))) {
        // No such topic or partition, a bad record, a closed producer: a broken setup, not a
        // slow broker. Stop the run.
        run.stop.store(true);
        break;
      }
      continue;
    }
    absl::Status st = producer.Send(
        record, [answered](absl::StatusOr<client::RecordMetadata> md) mutable { answered(md); });
    if (!st.ok()) {
      // Not queued (the callback will not run): a broken setup, not a slow broker. Stop the run.
      stats.Error(st);
      run.stop.store(true);
      break;
    }
  }
  producer.Close();
}

// The producers of one run, each on its own thread.
class ProducerGroup {
 public:
  static absl::StatusOr<std::unique_ptr<ProducerGroup>> Create(const BrokerOptions& broker,
                                                               const BenchOptions& options) {
    auto group = std::unique_ptr<ProducerGroup>(new ProducerGroup());
    client::ProducerConfig config;
    config.bootstrap = broker.bootstrap;
    config.client_name = "strata-bench";
    config.acks = options.acks;
    config.compression = options.compression;
    config.batch_bytes = options.batch_bytes;
    // Sync mode sends each record alone, at once: a linger would only add to its latency.
    config.linger_ms = options.sync ? 0 : options.linger_ms;
    for (int k = 0; k < options.producers; ++k) {
      STRATA_ASSIGN_OR_RETURN(auto producer, client::Producer::Create(config));
      group->producers_.push_back(std::move(producer));
      group->stats_.push_back(std::make_unique<ProducerStats>());
    }
    return group;
  }
  ~ProducerGroup() { Join(); }

  void Start(ProduceRun& run) {
    for (size_t k = 0; k < producers_.size(); ++k) {
      threads_.emplace_back(
          [&run, k, this] { RunProducer(run, int(k), *producers_[k], *stats_[k]); });
    }
  }
  void Join() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  int64_t Sum(std::atomic<int64_t> ProducerStats::*field) const {
    int64_t sum = 0;
    for (const auto& s : stats_) sum += (s.get()->*field).load(std::memory_order_relaxed);
    return sum;
  }
  void MergeLatency(Histogram& into) const {
    for (const auto& s : stats_) into.Merge(s->latency_us);
  }
  absl::Status FirstError() const {
    for (const auto& s : stats_) {
      absl::MutexLock lock(&s->mu);
      if (!s->first_error.ok()) return s->first_error;
    }
    return absl::OkStatus();
  }

 private:
  ProducerGroup() = default;
  std::vector<std::unique_ptr<client::Producer>> producers_;
  std::vector<std::unique_ptr<ProducerStats>> stats_;
  std::vector<std::thread> threads_;
};

// Plans a produce run starting a little from now (so every thread starts on time).
void PlanRun(const BenchOptions& options, double rate_per_s, ProduceRun& run) {
  run.options = &options;
  run.topic = options.topic;
  run.start_ns = NowNs() + 10'000'000;
  run.measure_start_ns = run.start_ns + SecondsToNs(options.warmup_s);
  run.measure_end_ns = run.measure_start_ns + SecondsToNs(options.duration_s);
  run.acks =
      std::make_unique<MeasuredWindow>(run.measure_start_ns, run.measure_end_ns, options.records);
  if (rate_per_s > 0) {
    run.schedule.emplace(run.start_ns, rate_per_s);
    const int64_t warmup_records = run.schedule->CountBefore(run.measure_start_ns);
    run.open_loop_total = options.records > 0 ? warmup_records + options.records
                                              : run.schedule->CountBefore(run.measure_end_ns);
  }
}

BenchReport ReportSetup(const std::string& mode, const BenchOptions& options, int32_t partitions,
                        double rate_per_s) {
  BenchReport r;
  r.mode = mode;
  r.topic = options.topic;
  r.partitions = partitions;
  r.producers = mode == "consume" ? 0 : options.producers;
  r.record_bytes = options.record_bytes;
  r.acks = AcksName(options.acks);
  r.compression = std::string(record::CompressionName(options.compression));
  r.rate_per_s = rate_per_s;
  r.sync = mode == "produce" && options.sync;
  r.warmup_s = options.warmup_s;
  return r;
}

std::string ProgressPrefix(const char* mode, int64_t start_ns, int64_t measure_start_ns) {
  const int64_t now_ns = NowNs();
  return absl::StrFormat("%s %.0f s%s:", mode,
                         double(std::max<int64_t>(0, now_ns - start_ns)) / 1e9,
                         now_ns < measure_start_ns ? " (warmup)" : "");
}

// Prints the report and turns recorded failures into the returned error.
absl::StatusOr<BenchReport> Finish(const BenchOptions& options, BenchReport report,
                                   const absl::Status& first_error, std::ostream& out) {
  if (!first_error.ok()) report.first_error = std::string(first_error.message());
  out << (options.json ? FormatBenchJson(report) + "\n" : FormatBenchTable(report)) << std::flush;
  if (report.errors > 0) {
    return absl::Status(
        first_error.ok() ? absl::StatusCode::kUnavailable : first_error.code(),
        absl::StrCat(report.errors, " records failed; the first error: ", report.first_error));
  }
  return report;
}

}  // namespace

absl::Status ValidateBenchOptions(const BenchOptions& o) {
  auto bad = [](auto... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (o.topic.empty()) return bad("--topic must not be empty");
  if (o.partitions < 1 || o.partitions > limits::topic_partitions_max) {
    return bad("--partitions must be in [1, ", limits::topic_partitions_max, "], not ",
               o.partitions);
  }
  if (o.record_bytes < 0 || o.record_bytes > int64_t(limits::batch_bytes_max) / 2) {
    return bad("--record-bytes must be in [0, ", limits::batch_bytes_max / 2, "], not ",
               o.record_bytes);
  }
  if (o.producers < 1 || o.producers > kBenchProducersMax) {
    return bad("--producers must be in [1, ", kBenchProducersMax, "], not ", o.producers);
  }
  if (o.acks != 0 && o.acks != 1 && o.acks != -1) return bad("--acks must be 0, 1 or all");
  if (o.records < 0) return bad("--records must be >= 0");
  if (o.records == 0 && !(o.duration_s > 0)) return bad("--duration must be > 0 seconds");
  if (!(o.warmup_s >= 0)) return bad("--warmup must be >= 0 seconds");
  if (!(o.rate_per_s >= 0)) return bad("--rate must be >= 0 (0: as fast as possible)");
  if (o.batch_bytes < 1 || o.batch_bytes > limits::batch_bytes_max) {
    return bad("--batch-bytes must be in [1, ", limits::batch_bytes_max, "], not ", o.batch_bytes);
  }
  if (o.linger_ms < 0) return bad("--linger-ms must be >= 0");
  if (o.sync && o.rate_per_s > 0) {
    return bad("--sync sends as soon as the previous record is acknowledged: drop --rate");
  }
  if (o.sync && o.acks == 0) return bad("--sync waits for each ack: use --acks 1 or all");
  if (o.partition_per_producer && o.null_keys) {
    return bad("--partition-per-producer picks each record's partition: drop --null-keys");
  }
  return absl::OkStatus();
}

// --- produce -----------------------------------------------------------------------------------

absl::StatusOr<BenchReport> BenchProduce(const BrokerOptions& broker, const BenchOptions& options,
                                         std::ostream& out, std::ostream& err) {
  STRATA_RETURN_IF_ERROR(ValidateBenchOptions(options));
  STRATA_ASSIGN_OR_RETURN(const int32_t partitions, EnsureTopic(broker, options));
  STRATA_ASSIGN_OR_RETURN(auto group, ProducerGroup::Create(broker, options));
  const ValuePool values(size_t(options.record_bytes));

  ProduceRun run;
  run.values = &values;
  run.partitions = partitions;
  PlanRun(options, options.rate_per_s, run);
  double cpu_busy_pct = -1;
  {
    int64_t last_acked = 0;
    ProgressLine progress(err, broker.progress, [&]() {
      const int64_t acked = group->Sum(&ProducerStats::acked_total);
      const int64_t per_s = acked - last_acked;
      last_acked = acked;
      return absl::StrFormat("%s %d acked, %d msgs/s, %.1f MiB/s, %d errors",
                             ProgressPrefix("produce", run.start_ns, run.measure_start_ns), acked,
                             per_s, double(per_s * options.record_bytes) / double(1 << 20),
                             group->Sum(&ProducerStats::errors));
    });
    group->Start(run);
    // The machine's CPU from the end of the warmup to the last acknowledgement (Join).
    std::this_thread::sleep_until(
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(run.measure_start_ns)));
    const std::optional<CpuSample> cpu_start = SampleMachineCpu();
    group->Join();
    cpu_busy_pct = BusyPercent(cpu_start, SampleMachineCpu());
  }

  BenchReport report = ReportSetup("produce", options, partitions, options.rate_per_s);
  report.machine_cpu_busy_pct = cpu_busy_pct;
  report.records = run.acks->events();
  report.bytes = run.acks->bytes();
  report.seconds = run.acks->seconds(NowNs());
  Histogram latency_us;
  group->MergeLatency(latency_us);
  report.has_latency = true;
  report.latency = bench::SummarizeMicros(latency_us);
  report.errors = group->Sum(&ProducerStats::errors);
  return Finish(options, std::move(report), group->FirstError(), out);
}

// --- consume -----------------------------------------------------------------------------------

absl::StatusOr<BenchReport> BenchConsume(const BrokerOptions& broker, const BenchOptions& options,
                                         std::ostream& out, std::ostream& err) {
  STRATA_RETURN_IF_ERROR(ValidateBenchOptions(options));
  client::ConsumerConfig config;
  config.bootstrap = broker.bootstrap;
  config.client_name = "strata-bench";
  STRATA_ASSIGN_OR_RETURN(auto consumer, client::Consumer::Create(config));
  absl::Status assigned = consumer->Assign(options.topic);
  if (absl::IsNotFound(assigned)) {
    return absl::NotFoundError(absl::StrCat(
        assigned.message(), ". Fill it first: strata bench produce --topic ", options.topic));
  }
  STRATA_RETURN_IF_ERROR(assigned);
  std::vector<int32_t> partitions;
  std::map<int32_t, int64_t> ends;
  int64_t available = 0;
  for (const client::TopicPartition& tp : consumer->Assignment()) {
    STRATA_RETURN_IF_ERROR(consumer->Seek(tp.topic, tp.partition, client::SeekTarget::Earliest()));
    partitions.push_back(tp.partition);
  }
  STRATA_ASSIGN_OR_RETURN(std::vector<client::PartitionOffset> offsets,
                          consumer->EndOffsets(options.topic, partitions));
  for (const client::PartitionOffset& po : offsets) {
    STRATA_RETURN_IF_ERROR(po.status);
    STRATA_ASSIGN_OR_RETURN(const int64_t start, consumer->Position(options.topic, po.partition));
    ends[po.partition] = po.offset;
    available += std::max<int64_t>(0, po.offset - start);
  }
  if (available == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "topic '", options.topic,
        "' has no records to read. Fill it first: strata bench produce --topic ", options.topic));
  }

  const int64_t start_ns = NowNs();
  const int64_t measure_start_ns = start_ns + SecondsToNs(options.warmup_s);
  const int64_t measure_end_ns = measure_start_ns + SecondsToNs(options.duration_s);
  std::atomic<int64_t> received_total{0};
  int64_t records = 0, bytes = 0, last_ns = 0;
  bool caught_up = false;
  {
    int64_t last_received = 0;
    ProgressLine progress(err, broker.progress, [&]() {
      const int64_t received = received_total.load();
      const int64_t per_s = received - last_received;
      last_received = received;
      return absl::StrFormat("%s %d received, %d msgs/s",
                             ProgressPrefix("consume", start_ns, measure_start_ns), received,
                             per_s);
    });
    for (;;) {
      const int64_t now_ns = NowNs();
      if (options.records > 0 ? records >= options.records : now_ns >= measure_end_ns) break;
      caught_up = true;
      for (const auto& [p, end] : ends) {
        STRATA_ASSIGN_OR_RETURN(const int64_t position, consumer->Position(options.topic, p));
        if (position < end) caught_up = false;
      }
      if (caught_up) break;
      // The records as views (PollEach), the zero-copy way an application that only reads
      // them would consume.
      int64_t polled_bytes = 0;
      int64_t polled = 0;
      STRATA_ASSIGN_OR_RETURN(const size_t visited,
                              consumer->PollEach(kPollTimeoutMs, [&](const client::RecordView& r) {
                                if (options.records > 0 && records + polled >= options.records)
                                  return;
                                ++polled;
                                polled_bytes += r.value ? int64_t(r.value->size()) : 0;
                              }));
      const int64_t received_ns = NowNs();
      received_total.fetch_add(int64_t(visited), std::memory_order_relaxed);
      if (received_ns < measure_start_ns || polled == 0) continue;
      records += polled;
      bytes += polled_bytes;
      last_ns = received_ns;
    }
  }
  if (records == 0 && caught_up) {
    return absl::FailedPreconditionError(
        absl::StrCat("the topic's ", available, " records were all read during the ",
                     options.warmup_s, " s warmup: produce more first, or pass --warmup 0"));
  }
  if (caught_up && options.records > 0 && records < options.records) {
    // The figures stand, but for fewer records than asked: say so rather than stop silently.
    err << "strata bench consume: the topic ran out after " << records << " of --records "
        << options.records << " (it held " << available
        << "); the figures below are for those. Produce more for a longer run." << std::endl;
  }

  BenchReport report = ReportSetup("consume", options, int32_t(partitions.size()), 0);
  report.record_bytes = records > 0 ? bytes / records : 0;
  report.records = records;
  report.bytes = bytes;
  report.seconds =
      double(std::max<int64_t>(0, (records > 0 ? last_ns : NowNs()) - measure_start_ns)) / 1e9;
  return Finish(options, std::move(report), absl::OkStatus(), out);
}

// --- e2e ---------------------------------------------------------------------------------------

absl::StatusOr<BenchReport> BenchE2e(const BrokerOptions& broker, const BenchOptions& options,
                                     std::ostream& out, std::ostream& err) {
  STRATA_RETURN_IF_ERROR(ValidateBenchOptions(options));
  if (options.record_bytes < int64_t(bench::kStampBytes)) {
    return absl::InvalidArgumentError(absl::StrCat("e2e needs --record-bytes of at least ",
                                                   bench::kStampBytes,
                                                   " (each value carries its send time)"));
  }
  const double rate_per_s = options.rate_per_s > 0 ? options.rate_per_s : 1000;
  STRATA_ASSIGN_OR_RETURN(const int32_t partitions, EnsureTopic(broker, options));

  // The consumer takes its positions (the log ends) before anything is produced.
  client::ConsumerConfig consumer_config;
  consumer_config.bootstrap = broker.bootstrap;
  consumer_config.client_name = "strata-bench";
  STRATA_ASSIGN_OR_RETURN(auto consumer, client::Consumer::Create(consumer_config));
  STRATA_RETURN_IF_ERROR(consumer->Assign(options.topic));
  for (const client::TopicPartition& tp : consumer->Assignment()) {
    STRATA_RETURN_IF_ERROR(consumer->Seek(tp.topic, tp.partition, client::SeekTarget::Latest()));
  }
  STRATA_ASSIGN_OR_RETURN(auto group, ProducerGroup::Create(broker, options));
  const ValuePool values(size_t(options.record_bytes));

  ProduceRun run;
  run.values = &values;
  run.partitions = partitions;
  run.stamp = true;
  PlanRun(options, rate_per_s, run);

  Histogram e2e_us;
  MeasuredWindow receptions(run.measure_start_ns, run.measure_end_ns, options.records);
  std::atomic<int64_t> received_total{0};
  std::atomic<int64_t> received{0};  // records sent in the measured window
  absl::Status consumer_error;       // written by the consumer thread, read after it is joined
  std::atomic<bool> consumer_failed{false};
  absl::Notification stop_consumer;
  std::thread consumer_thread([&] {
    while (!stop_consumer.HasBeenNotified()) {
      absl::StatusOr<std::vector<client::ConsumerRecord>> batch = consumer->Poll(kPollTimeoutMs);
      const int64_t now_ns = NowNs();
      if (!batch.ok()) {
        consumer_error = batch.status();
        consumer_failed.store(true);
        return;
      }
      for (const client::ConsumerRecord& r : *batch) {
        const std::optional<int64_t> intended_ns =
            r.value ? bench::ReadStamp(*r.value) : std::nullopt;
        if (!intended_ns) continue;  // not ours
        received_total.fetch_add(1, std::memory_order_relaxed);
        receptions.Count(now_ns, int64_t(r.value->size()));
        if (*intended_ns < run.measure_start_ns) continue;
        e2e_us.Record((now_ns - *intended_ns) / 1000);
        received.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });

  {
    int64_t last_count = 0;
    ProgressLine progress(err, broker.progress, [&]() {
      const int64_t count = received_total.load();
      const int64_t per_s = count - last_count;
      last_count = count;
      return absl::StrFormat("%s %d received, %d msgs/s, e2e p99 %.3f ms, %d errors",
                             ProgressPrefix("e2e", run.start_ns, run.measure_start_ns), count,
                             per_s, double(e2e_us.Percentile(0.99)) / 1000.0,
                             group->Sum(&ProducerStats::errors));
    });
    group->Start(run);
    group->Join();
    // Every record is acknowledged (or failed); wait for the consumer to see them.
    const int64_t expected = group->Sum(&ProducerStats::acked_counted);
    const int64_t drain_end_ns = NowNs() + kE2eDrainMs * 1'000'000;
    while (received.load() < expected && NowNs() < drain_end_ns && !consumer_failed.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop_consumer.Notify();
    consumer_thread.join();
  }
  STRATA_RETURN_IF_ERROR(consumer_error);

  BenchReport report = ReportSetup("e2e", options, partitions, rate_per_s);
  report.records = receptions.events();
  report.bytes = receptions.bytes();
  report.seconds = receptions.seconds(NowNs());
  report.has_latency = true;
  report.latency = bench::SummarizeMicros(e2e_us);
  absl::Status first_error = group->FirstError();
  const int64_t missing =
      std::max<int64_t>(0, group->Sum(&ProducerStats::acked_counted) - received.load());
  if (missing > 0 && first_error.ok()) {
    first_error = absl::DataLossError(absl::StrCat(
        missing, " acknowledged records were not received within ", kE2eDrainMs, " ms"));
  }
  report.errors = group->Sum(&ProducerStats::errors) + missing;
  return Finish(options, std::move(report), first_error, out);
}

}  // namespace strata::cli
