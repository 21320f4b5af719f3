// Integration tests of the client library against real stratad processes: many producers and
// keyed records, restarts (SIGTERM and kill -9) in the middle of a stream, and idempotent retries
// of lost responses. Each checks what a user relies on: nothing acknowledged is lost, nothing is
// duplicated, and per-key order holds.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "record/partitioner.h"
#include "tests/broker_process.h"

namespace strata::test {
namespace {

using namespace std::chrono_literals;

void CreateTopic(const BrokerProcess& broker, const std::string& name, int partitions) {
  auto admin = client::Admin::Connect(broker.bootstrap());
  REQUIRE(admin.ok());
  REQUIRE((*admin)->CreateTopic(name, partitions).ok());
}

// Reads every partition of `topic` from the start until `expected` records arrived or nothing new
// came for `idle`.
std::vector<client::ConsumerRecord> ReadAll(const BrokerProcess& broker, const std::string& topic,
                                            size_t expected, std::chrono::seconds idle = 5s) {
  client::ConsumerConfig config;
  config.bootstrap = broker.bootstrap();
  auto consumer = client::Consumer::Create(config);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->Assign(topic).ok());
  std::vector<client::ConsumerRecord> out;
  auto last_progress = std::chrono::steady_clock::now();
  while (out.size() < expected && std::chrono::steady_clock::now() - last_progress < idle) {
    auto records = (*consumer)->Poll(200);
    REQUIRE(records.ok());
    if (!records->empty()) last_progress = std::chrono::steady_clock::now();
    for (auto& r : *records) out.push_back(std::move(r));
  }
  return out;
}

// Runs `strata log verify` on every partition directory of `topic` (the broker must be stopped).
void VerifyLogs(const std::string& data_dir, const std::string& topic, int partitions) {
  for (int p = 0; p < partitions; ++p) {
    const std::string cmd = absl::StrCat(STRATA_CLI_PATH, " log verify ", data_dir, "/", topic,
                                         "-", p, " > /dev/null");
    INFO(cmd);
    CHECK(std::system(cmd.c_str()) == 0);
  }
}

TEST_CASE("4 producers, 200,000 keyed records, 8 partitions: all read back once, in key order",
          "[client][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  CreateTopic(broker, "keyed", 8);
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 50'000;
  constexpr int kKeysPerProducer = 250;

  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      client::ProducerConfig config;
      config.bootstrap = broker.bootstrap();
      auto producer = client::Producer::Create(config);
      if (!producer.ok()) {
        errors.fetch_add(kPerProducer);
        return;
      }
      for (int i = 0; i < kPerProducer; ++i) {
        client::ProducerRecord r;
        r.topic = "keyed";
        const int key = i % kKeysPerProducer;
        r.key = absl::StrCat("p", p, "-k", key);
        r.value = absl::StrCat(i / kKeysPerProducer);  // the record's sequence within its key
        absl::Status st = (*producer)->Send(std::move(r), [&](auto result) {
          if (!result.ok()) errors.fetch_add(1);
        });
        if (!st.ok()) errors.fetch_add(1);
      }
      (*producer)->Close();
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(errors.load() == 0);

  const auto records = ReadAll(broker, "keyed", kProducers * kPerProducer);
  CHECK(records.size() == size_t{kProducers} * kPerProducer);
  std::map<std::string, int> next_seq;  // per key: the sequence expected next
  std::map<std::pair<int32_t, int64_t>, int> offsets_seen;
  int out_of_order = 0, wrong_partition = 0;
  for (const auto& r : records) {
    REQUIRE(r.key.has_value());
    REQUIRE(r.value.has_value());
    if (record::PartitionForKey(*r.key, 8) != r.partition) ++wrong_partition;
    int& expected = next_seq[*r.key];
    if (std::stoi(*r.value) != expected) ++out_of_order;
    expected = std::stoi(*r.value) + 1;
    ++offsets_seen[{r.partition, r.offset}];
  }
  CHECK(next_seq.size() == size_t{kProducers} * kKeysPerProducer);
  for (const auto& [key, next] : next_seq) {
    INFO(key);
    CHECK(next == kPerProducer / kKeysPerProducer);  // every sequence seen, none twice
  }
  CHECK(out_of_order == 0);
  CHECK(wrong_partition == 0);
  CHECK(offsets_seen.size() == records.size());
  CHECK(broker.Terminate() == 0);
  VerifyLogs(broker.data_dir(), "keyed", 8);
}

// Streams acks=all records while the broker is stopped and started under it; returns the values
// whose sends were acknowledged.
std::set<std::string> StreamThroughRestart(BrokerProcess& broker, bool crash) {
  client::ProducerConfig config;
  config.bootstrap = broker.bootstrap();
  config.retry_backoff_ms = 50;
  config.linger_ms = 2;
  auto producer = client::Producer::Create(config);
  REQUIRE(producer.ok());
  absl::Mutex mu;
  std::set<std::string> acked;
  std::atomic<int> failed{0};
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    for (int i = 0; !stop.load(); ++i) {
      client::ProducerRecord r;
      r.topic = "stream";
      r.key = absl::StrCat("k", i % 16);
      r.value = absl::StrCat("v", i);
      std::string value = *r.value;
      absl::Status st = (*producer)->Send(std::move(r), [&, value](auto result) {
        if (result.ok()) {
          absl::MutexLock lock(&mu);
          acked.insert(value);
        } else {
          failed.fetch_add(1);
        }
      });
      if (!st.ok()) failed.fetch_add(1);
      if (i % 100 == 0) std::this_thread::sleep_for(1ms);
    }
  });
  // Stops the sender whatever happens below (a failed REQUIRE must not leave it running).
  struct StopSender {
    std::atomic<bool>& stop;
    std::thread& sender;
    ~StopSender() {
      stop.store(true);
      if (sender.joinable()) sender.join();
    }
  } stop_sender{stop, sender};
  const auto acked_count = [&] {
    absl::MutexLock lock(&mu);
    return acked.size();
  };
  while (acked_count() < 2000) std::this_thread::sleep_for(10ms);
  if (crash) {
    broker.Kill();
  } else {
    CHECK(broker.Terminate() == 0);
  }
  const size_t before = acked_count();
  std::this_thread::sleep_for(300ms);
  broker.Restart();
  // The producer reconnects and carries on.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (acked_count() < before + 2000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  stop.store(true);
  sender.join();
  (*producer)->Close();
  CHECK(acked_count() >= before + 2000);
  CHECK(failed.load() == 0);
  absl::MutexLock lock(&mu);
  return acked;
}

TEST_CASE("a restart or a crash mid-stream loses no acknowledged record and duplicates none",
          "[client][integration]") {
  const bool crash = GENERATE(false, true);
  INFO((crash ? "kill -9" : "SIGTERM"));
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  CreateTopic(broker, "stream", 4);
  const std::set<std::string> acked = StreamThroughRestart(broker, crash);

  const auto records = ReadAll(broker, "stream", acked.size(), 3s);
  std::map<std::string, int> copies;
  for (const auto& r : records) ++copies[*r.value];
  int missing = 0, duplicated = 0;
  for (const auto& v : acked) {
    if (copies.count(v) == 0) ++missing;
  }
  for (const auto& [v, n] : copies) {
    if (n > 1) ++duplicated;
  }
  INFO("acked " << acked.size() << ", read " << records.size());
  CHECK(missing == 0);
  CHECK(duplicated == 0);
  CHECK(broker.Terminate() == 0);
  VerifyLogs(broker.data_dir(), "stream", 4);
}

TEST_CASE("lost responses are retried and the retries are not duplicated",
          "[client][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  CreateTopic(broker, "retry", 1);
  client::ProducerConfig config;
  config.bootstrap = broker.bootstrap();
  config.TEST_drop_responses = 3;
  config.retry_backoff_ms = 10;
  config.linger_ms = 0;
  auto producer = client::Producer::Create(config);
  REQUIRE(producer.ok());
  std::vector<std::future<absl::StatusOr<client::RecordMetadata>>> acks;
  for (int i = 0; i < 10; ++i) {
    client::ProducerRecord r;
    r.topic = "retry";
    r.value = absl::StrCat("r", i);
    acks.push_back((*producer)->Send(std::move(r)));
    (*producer)->Flush();  // one batch per record, so each drop hits a distinct request
  }
  std::vector<int64_t> offsets;
  for (auto& f : acks) {
    auto md = f.get();
    REQUIRE(md.ok());
    offsets.push_back(md->offset);
  }
  (*producer)->Close();
  CHECK(offsets == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const std::string metrics = FetchMetrics(broker.metrics_port());
  // The broker saw the 3 retries (13 Produce requests) but appended each batch once.
  CHECK(MetricValue(metrics, "strata_requests_total{api=\"Produce\"}") == 13);
  CHECK(MetricValue(metrics, "strata_partition_log_end_offset{topic=\"retry\",partition=\"0\"}") ==
        10);
  const auto records = ReadAll(broker, "retry", 10, 2s);
  REQUIRE(records.size() == 10);
  for (int i = 0; i < 10; ++i) CHECK(*records[i].value == absl::StrCat("r", i));
}

}  // namespace
}  // namespace strata::test
