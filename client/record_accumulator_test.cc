// Tests for the producer's RecordAccumulator: records fill one batch per partition up to
// batch_bytes; a batch is ready when full, past linger, or during Flush/Close; Drain takes one
// batch per partition and skips muted ones; the buffer bound blocks Append and then fails it with
// ResourceExhausted, and space freed by Deallocate lets a blocked Append through.
#include "client/record_accumulator.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "record/batch_format.h"

namespace strata::client {
namespace {

const TopicPartition kP0{"orders", 0};
const TopicPartition kP1{"orders", 1};

record::RecordInput Record(const std::string& value, const std::string* key = nullptr) {
  record::RecordInput r;
  r.timestamp_ms = 1000;
  r.value = value;
  if (key != nullptr) r.key = *key;
  return r;
}

RecordAccumulator::Options Opts(size_t batch_bytes, int64_t linger_ms, size_t buffer_bytes) {
  RecordAccumulator::Options o;
  o.batch_bytes = batch_bytes;
  o.linger_ms = linger_ms;
  o.buffer_bytes = buffer_bytes;
  return o;
}

absl::Time Soon() { return absl::Now() + absl::Seconds(5); }

TEST_CASE("records of one partition share a batch until batch_bytes") {
  RecordAccumulator acc(Opts(1000, 1000000, 1 << 20));
  const std::string value(100, 'v');
  int full_reports = 0;
  for (int i = 0; i < 20; ++i) {
    auto r = acc.Append(kP0, Record(value), [](auto) {}, SendDeadline(Soon()));
    REQUIRE(r.ok());
    full_reports += r->batch_full;
  }
  // ~110 bytes a record and a 65-byte header: 8 records per 1000-byte batch.
  CHECK(acc.queued_batches() == 3);
  CHECK(full_reports >= 2);
  // Linger is long, but full batches are ready; Drain takes only the front one per partition.
  auto drained = acc.Drain(absl::Now(), {}, 1 << 30);
  REQUIRE(drained.size() == 1);
  CHECK(drained[0]->tp == kP0);
  CHECK(drained[0]->builder->size_bytes() <= 1000);
  const int32_t first_count = drained[0]->record_count();
  CHECK(first_count == 8);
  auto bytes = drained[0]->builder->Build();
  REQUIRE(bytes.ok());
  auto header = record::VerifyBatch(*bytes);
  REQUIRE(header.ok());
  CHECK(header->record_count == first_count);
  acc.Deallocate(*drained[0]);
  CHECK(acc.Drain(absl::Now(), {}, 1 << 30).size() == 1);  // the second, full batch
  // The third is not full and its linger has not passed.
  CHECK(acc.Drain(absl::Now(), {}, 1 << 30).empty());
}

TEST_CASE("a batch becomes ready when its linger passes") {
  RecordAccumulator acc(Opts(1 << 20, 50, 1 << 20));
  REQUIRE(acc.Append(kP0, Record("a"), [](auto) {}, SendDeadline(Soon())).ok());
  REQUIRE(acc.Append(kP1, Record("b"), [](auto) {}, SendDeadline(Soon())).ok());
  const absl::Time now = absl::Now();
  CHECK(acc.Drain(now, {}, 1 << 30).empty());
  auto drained = acc.Drain(now + absl::Milliseconds(60), {}, 1 << 30);
  CHECK(drained.size() == 2);
}

TEST_CASE("muted partitions are not drained") {
  RecordAccumulator acc(Opts(1 << 20, 0, 1 << 20));
  REQUIRE(acc.Append(kP0, Record("a"), [](auto) {}, SendDeadline(Soon())).ok());
  REQUIRE(acc.Append(kP1, Record("b"), [](auto) {}, SendDeadline(Soon())).ok());
  auto drained = acc.Drain(absl::Now() + absl::Milliseconds(1), {kP0}, 1 << 30);
  REQUIRE(drained.size() == 1);
  CHECK(drained[0]->tp == kP1);
  CHECK(acc.queued_batches() == 1);
}

TEST_CASE("Drain stops once max_bytes is reached, oldest batches first") {
  RecordAccumulator acc(Opts(1 << 20, 0, 1 << 20));
  for (int p = 0; p < 4; ++p) {
    REQUIRE(acc.Append({"t", p}, Record(std::string(500, 'x')), [](auto) {}, SendDeadline(Soon())).ok());
  }
  auto drained = acc.Drain(absl::Now() + absl::Milliseconds(1), {}, 1000);
  REQUIRE(drained.size() == 2);
  CHECK(drained[0]->tp.partition == 0);
  CHECK(drained[1]->tp.partition == 1);
}

TEST_CASE("a full buffer blocks Append, then fails it with ResourceExhausted") {
  const std::string value(1000, 'v');
  const size_t per_record = RecordAccumulator::EstimateBytes(Record(value));
  // Room for a batch header and exactly two records.
  RecordAccumulator acc(
      Opts(1 << 20, 1000000, record::batch_format::kHeaderBytes + 2 * per_record));
  REQUIRE(acc.Append(kP0, Record(value), [](auto) {}, SendDeadline(Soon())).ok());
  REQUIRE(acc.Append(kP0, Record(value), [](auto) {}, SendDeadline(Soon())).ok());
  CHECK(acc.buffered_bytes() == record::batch_format::kHeaderBytes + 2 * per_record);
  const absl::Time start = absl::Now();
  auto blocked = acc.Append(kP0, Record(value), [](auto) {}, SendDeadline(start + absl::Milliseconds(100)));
  CHECK(absl::IsResourceExhausted(blocked.status()));
  CHECK(absl::Now() - start >= absl::Milliseconds(100));
  CHECK(acc.buffered_bytes() == record::batch_format::kHeaderBytes + 2 * per_record);
}

TEST_CASE("space freed by Deallocate lets a blocked Append through") {
  const std::string value(1000, 'v');
  const size_t per_record = RecordAccumulator::EstimateBytes(Record(value));
  RecordAccumulator acc(Opts(1 << 20, 0, record::batch_format::kHeaderBytes + per_record));
  REQUIRE(acc.Append(kP0, Record(value), [](auto) {}, SendDeadline(Soon())).ok());
  std::atomic<bool> appended{false};
  std::thread sender([&] {
    auto r = acc.Append(kP1, Record(value), [](auto) {}, SendDeadline(Soon()));
    appended = r.ok();
  });
  absl::SleepFor(absl::Milliseconds(50));
  CHECK_FALSE(appended);
  auto drained = acc.Drain(absl::Now() + absl::Milliseconds(1), {}, 1 << 30);
  REQUIRE(drained.size() == 1);
  acc.Deallocate(*drained[0]);
  sender.join();
  CHECK(appended);
}

TEST_CASE("records larger than the buffer or a batch are refused at once") {
  RecordAccumulator small(Opts(1 << 20, 0, 4096));
  auto r = small.Append(kP0, Record(std::string(5000, 'x')), [](auto) {}, SendDeadline(Soon()));
  CHECK(absl::IsInvalidArgument(r.status()));
  CHECK(small.buffered_bytes() == 0);
}

TEST_CASE("Flush makes batches ready and waits for them to be deallocated") {
  RecordAccumulator acc(Opts(1 << 20, 1000000, 1 << 20));
  REQUIRE(acc.Append(kP0, Record("a"), [](auto) {}, SendDeadline(Soon())).ok());
  std::atomic<bool> flushed{false};
  std::thread flusher([&] {
    acc.Flush();
    flushed = true;
  });
  std::vector<std::unique_ptr<ProducerBatch>> drained;
  for (int i = 0; i < 100 && drained.empty(); ++i) {
    drained = acc.Drain(absl::Now(), {}, 1 << 30);  // ready despite the long linger
    if (drained.empty()) absl::SleepFor(absl::Milliseconds(5));
  }
  REQUIRE(drained.size() == 1);
  absl::SleepFor(absl::Milliseconds(20));
  CHECK_FALSE(flushed);  // drained is not complete
  acc.Deallocate(*drained[0]);
  flusher.join();
  CHECK(flushed);
}

TEST_CASE("after Close, Append fails and every batch is ready") {
  RecordAccumulator acc(Opts(1 << 20, 1000000, 1 << 20));
  REQUIRE(acc.Append(kP0, Record("a"), [](auto) {}, SendDeadline(Soon())).ok());
  acc.Close();
  CHECK(absl::IsFailedPrecondition(
      acc.Append(kP0, Record("b"), [](auto) {}, SendDeadline(Soon())).status()));
  CHECK_FALSE(acc.ClosedAndDrained());
  CHECK(acc.Drain(absl::Now(), {}, 1 << 30).size() == 1);
  CHECK(acc.ClosedAndDrained());
}

TEST_CASE("WaitForWork wakes when a batch is opened") {
  RecordAccumulator acc(Opts(1 << 20, 1000000, 1 << 20));
  std::thread appender([&] {
    absl::SleepFor(absl::Milliseconds(30));
    REQUIRE(acc.Append(kP0, Record("a"), [](auto) {}, SendDeadline(Soon())).ok());
  });
  const absl::Time start = absl::Now();
  acc.WaitForWork(start + absl::Seconds(10), {});
  CHECK(absl::Now() - start < absl::Seconds(5));
  appender.join();
}

}  // namespace
}  // namespace strata::client
