// Compaction (cleanup_policy=compact) in a real stratad: the broker's cleaner keeps the newest
// value per key and removes tombstones once delete_retention_ms has passed, while a reader that
// keeps reading the whole partition always sees a consistent log.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "tests/broker_process.h"

namespace strata::test {
namespace {

using namespace std::chrono_literals;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One whole read of the partition: key -> the values in log order (nullopt for a tombstone).
using Snapshot = std::map<std::string, std::vector<std::optional<std::string>>>;

// Reads partition 0 from its start to the log end seen at the start. Checks, as it goes, that
// offsets only increase; `problem` gets the first inconsistency.
Snapshot ReadOnce(const BrokerProcess& broker, std::string* problem) {
  client::ConsumerConfig config;
  config.bootstrap = broker.bootstrap();
  auto consumer = client::Consumer::Create(config);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->Assign("profiles", {0}).ok());
  REQUIRE((*consumer)->Seek("profiles", 0, client::SeekTarget::Earliest()).ok());
  auto ends = (*consumer)->EndOffsets("profiles", {0});
  REQUIRE(ends.ok());
  const int64_t end = ends->at(0).offset;
  Snapshot out;
  int64_t last = -1;
  while (true) {
    auto position = (*consumer)->Position("profiles", 0);
    REQUIRE(position.ok());
    if (*position >= end) break;
    auto records = (*consumer)->Poll(200);
    if (!records.ok()) {
      if (problem->empty()) *problem = std::string(records.status().message());
      break;
    }
    for (const auto& r : *records) {
      if (r.offset <= last && problem->empty()) {
        *problem = absl::StrCat("offset ", r.offset, " after ", last);
      }
      last = r.offset;
      out[r.key.value_or("<null>")].push_back(r.value);
    }
  }
  return out;
}

// The version in a value "v<N>".
int Version(const std::optional<std::string>& v) {
  int n = -1;
  if (v.has_value() && v->size() > 1) (void)absl::SimpleAtoi(v->substr(1), &n);
  return n;
}

TEST_CASE("compaction keeps the newest value per key and removes tombstones on schedule, while "
          "readers see a consistent log",
          "[compaction][integration]") {
  TempDir dir;
  const std::string config_path = dir.path() + "/stratad.toml";
  {
    std::ofstream out(config_path);
    out << "log_cleaner_interval_ms = 200\n";
  }
  BrokerProcess broker(dir.path() + "/data", {"--config", config_path});
  constexpr int64_t kDeleteRetentionMs = 3000;
  {
    auto admin = client::Admin::Connect(broker.bootstrap());
    REQUIRE(admin.ok());
    REQUIRE((*admin)
                ->CreateTopic("profiles", 1,
                              {{"cleanup_policy", "compact"},
                               {"segment_bytes", "4096"},
                               {"delete_retention_ms", std::to_string(kDeleteRetentionMs)}})
                .ok());
  }
  client::ProducerConfig pc;
  pc.bootstrap = broker.bootstrap();
  pc.batch_bytes = 1024;  // many small batches over many 4 KiB segments
  pc.linger_ms = 0;
  auto producer = client::Producer::Create(pc);
  REQUIRE(producer.ok());
  std::atomic<int> errors{0};
  auto send = [&](const std::string& key, std::optional<std::string> value) {
    client::ProducerRecord r;
    r.topic = "profiles";
    r.key = key;
    r.value = std::move(value);
    REQUIRE((*producer)->Send(std::move(r), [&](auto result) {
      if (!result.ok()) errors.fetch_add(1);
    }).ok());
  };
  constexpr int kKeys = 40, kVersions = 10, kTombstoned = 10;
  for (int v = 0; v < kVersions; ++v) {
    for (int k = 0; k < kKeys; ++k) send(absl::StrCat("user-", k), absl::StrCat("v", v));
  }
  (*producer)->Flush();
  const int64_t tombstones_written_ms = NowMs();
  for (int k = 0; k < kTombstoned; ++k) send(absl::StrCat("user-", k), std::nullopt);
  // Later records, so that the tombstones end up in sealed (compactable) segments.
  for (int i = 0; i < 500; ++i) send(absl::StrCat("filler-", i), "v0");
  (*producer)->Flush();
  REQUIRE(errors.load() == 0);

  // A reader reads the whole partition again and again while the cleaner works.
  std::atomic<bool> stop{false};
  std::atomic<int> passes{0};
  absl::Mutex mu;
  std::string reader_problem;
  std::thread reader([&] {
    while (!stop.load()) {
      std::string problem;
      Snapshot s = ReadOnce(broker, &problem);
      for (const auto& [key, values] : s) {
        int last = -1;
        for (size_t i = 0; i < values.size(); ++i) {
          if (!values[i].has_value()) {
            if (i + 1 != values.size() && problem.empty()) {
              problem = absl::StrCat(key, ": a value after its tombstone");
            }
            continue;
          }
          if (Version(values[i]) <= last && problem.empty()) {
            problem = absl::StrCat(key, ": version ", Version(values[i]), " after ", last);
          }
          last = Version(values[i]);
        }
      }
      // The newest value of every key is always there.
      for (int k = kTombstoned; k < kKeys; ++k) {
        const auto& values = s[absl::StrCat("user-", k)];
        if ((values.empty() || Version(values.back()) != kVersions - 1) && problem.empty()) {
          problem = absl::StrCat("user-", k, " lost its newest value");
        }
      }
      if (!problem.empty()) {
        absl::MutexLock lock(&mu);
        if (reader_problem.empty()) reader_problem = problem;
      }
      passes.fetch_add(1);
    }
  });

  // First the superseded versions go; the tombstones stay until delete_retention_ms has passed.
  std::string problem;
  bool compacted = false, tombstones_gone = false;
  int64_t compacted_ms = 0, gone_ms = 0;
  bool tombstones_present_when_compacted = false;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline && !tombstones_gone) {
    Snapshot s = ReadOnce(broker, &problem);
    REQUIRE(problem.empty());
    bool one_each = true;
    for (int k = kTombstoned; k < kKeys; ++k) {
      one_each = one_each && s[absl::StrCat("user-", k)].size() == 1;
    }
    bool tombstones_only = true, none = true;
    for (int k = 0; k < kTombstoned; ++k) {
      const auto& values = s[absl::StrCat("user-", k)];
      tombstones_only = tombstones_only && values.size() == 1 && !values[0].has_value();
      none = none && values.empty();
    }
    if (!compacted && one_each && (tombstones_only || none)) {
      compacted = true;
      compacted_ms = NowMs();
      tombstones_present_when_compacted = tombstones_only;
    }
    if (compacted && one_each && none) {
      tombstones_gone = true;
      gone_ms = NowMs();
    }
    std::this_thread::sleep_for(100ms);
  }
  stop.store(true);
  reader.join();
  REQUIRE(compacted);
  REQUIRE(tombstones_gone);
  {
    absl::MutexLock lock(&mu);
    INFO("reader: " << reader_problem);
    CHECK(reader_problem.empty());
  }
  CHECK(passes.load() > 0);
  // A tombstone is removed only once it is delete_retention_ms old (its record timestamp).
  CHECK(gone_ms - tombstones_written_ms >= kDeleteRetentionMs);
  if (compacted_ms - tombstones_written_ms < kDeleteRetentionMs - 500) {
    CHECK(tombstones_present_when_compacted);
  }
  INFO("superseded values gone " << compacted_ms - tombstones_written_ms
       << " ms after the tombstones were written, tombstones gone after "
       << gone_ms - tombstones_written_ms << " ms; reader passes " << passes.load());
  CHECK(true);

  // The compacted log verifies offline, and a restart serves the same content.
  REQUIRE(broker.Terminate() == 0);
  const std::string verify =
      absl::StrCat(STRATA_CLI_PATH, " log verify ", broker.data_dir(), "/profiles-0");
  INFO(verify);
  CHECK(std::system(verify.c_str()) == 0);
  broker.Restart();
  Snapshot after = ReadOnce(broker, &problem);
  CHECK(problem.empty());
  for (int k = 0; k < kKeys; ++k) {
    INFO("user-" << k);
    const auto& values = after[absl::StrCat("user-", k)];
    if (k < kTombstoned) {
      CHECK(values.empty());
    } else {
      REQUIRE(values.size() == 1);
      CHECK(Version(values[0]) == kVersions - 1);
    }
  }
  for (int i = 0; i < 500; ++i) CHECK(after[absl::StrCat("filler-", i)].size() == 1);
}

TEST_CASE("a compacted topic refuses records without a key", "[compaction][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data");
  auto admin = client::Admin::Connect(broker.bootstrap());
  REQUIRE(admin.ok());
  REQUIRE((*admin)->CreateTopic("c", 1, {{"cleanup_policy", "compact"}}).ok());
  client::ProducerConfig pc;
  pc.bootstrap = broker.bootstrap();
  auto producer = client::Producer::Create(pc);
  REQUIRE(producer.ok());
  std::optional<absl::Status> outcome;
  absl::Mutex mu;
  client::ProducerRecord r;
  r.topic = "c";
  r.value = "no key";
  REQUIRE((*producer)->Send(std::move(r), [&](auto result) {
    absl::MutexLock lock(&mu);
    outcome = result.status();
  }).ok());
  (*producer)->Flush();
  absl::MutexLock lock(&mu);
  REQUIRE(outcome.has_value());
  CHECK(absl::IsInvalidArgument(*outcome));
  CHECK(outcome->message().find("key") != std::string::npos);
}

}  // namespace
}  // namespace strata::test
