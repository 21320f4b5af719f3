// Tests for the load generators' shared harness: the open-loop schedule, the value pool, the
// send-time stamp in values and the latency summary.
#include "common/bench_harness.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

namespace strata::bench {
namespace {

TEST_CASE("OpenLoopSchedule spaces records 1/rate apart from the start") {
  const OpenLoopSchedule s(1'000'000'000, 1000);  // one per ms
  CHECK(s.IntendedNs(0) == 1'000'000'000);
  CHECK(s.IntendedNs(1) == 1'001'000'000);
  CHECK(s.IntendedNs(1000) == 2'000'000'000);

  const OpenLoopSchedule thirds(0, 3);  // rounds to the nearest ns, never drifts
  CHECK(thirds.IntendedNs(1) == 333'333'333);
  CHECK(thirds.IntendedNs(2) == 666'666'667);
  CHECK(thirds.IntendedNs(3'000'000'000) == 1'000'000'000'000'000'000);
}

TEST_CASE("OpenLoopSchedule::CountBefore agrees with IntendedNs") {
  const OpenLoopSchedule s(500, 1000);
  CHECK(s.CountBefore(0) == 0);
  CHECK(s.CountBefore(500) == 0);  // record 0 is due at 500, not before it
  CHECK(s.CountBefore(501) == 1);
  CHECK(s.CountBefore(1'000'500) == 1);
  CHECK(s.CountBefore(1'000'501) == 2);
  // A warmup of 1 s then 10 s measured at 1000/s: 1000 warmup records, 11000 in all.
  CHECK(s.CountBefore(500 + 1'000'000'000) == 1000);
  CHECK(s.CountBefore(500 + 11'000'000'000) == 11000);

  for (double rate : {1.0, 3.0, 7.5, 999.9, 123456.0, 2.5e6}) {
    const OpenLoopSchedule r(12345, rate);
    for (int64_t i = 0; i < 2000; i += 7) {
      const int64_t t = r.IntendedNs(i);
      INFO("rate " << rate << " i " << i);
      CHECK(r.CountBefore(t) == i);
      CHECK(r.CountBefore(t + 1) == i + 1);
    }
  }
}

TEST_CASE("A value's stamp round-trips and other values are not read as stamped") {
  std::string value(64, 'x');
  WriteStamp(value, 1'234'567'890'123);
  CHECK(value.size() == 64);
  CHECK(value.substr(kStampBytes) == std::string(64 - kStampBytes, 'x'));
  CHECK(ReadStamp(value) == 1'234'567'890'123);

  std::string exact(kStampBytes, '\0');
  WriteStamp(exact, -5);
  CHECK(ReadStamp(exact) == -5);

  CHECK_FALSE(ReadStamp("").has_value());
  CHECK_FALSE(ReadStamp(std::string(64, 'x')).has_value());
  CHECK_FALSE(ReadStamp(value.substr(0, kStampBytes - 1)).has_value());  // too short
}

TEST_CASE("ValuePool values are windows of one pool that differ by index") {
  const ValuePool pool(1024);
  const ValuePool again(1024);
  std::set<std::string> seen;
  for (int64_t i = 0; i < 100; ++i) {
    CHECK(pool.Value(i).size() == 1024);
    CHECK(pool.Value(i) == again.Value(i));  // a fixed seed: runs send the same bytes
    seen.insert(std::string(pool.Value(i)));
  }
  CHECK(seen.size() == 100);
  // Values larger than the default pool still fit (the pool grows to twice the value).
  const ValuePool large(3 << 20);
  CHECK(large.Value(12345).size() == size_t(3 << 20));
  CHECK(ValuePool(0).Value(7).empty());
}

TEST_CASE("SummarizeMicros reports percentiles in ms") {
  Histogram h;
  for (int i = 1; i <= 1000; ++i) h.Record(i * 10);  // 10 us .. 10 ms
  const LatencySummary s = SummarizeMicros(h);
  // Within a bucket (6.25%) of the true value, rounded up.
  CHECK(s.p50_ms >= 5.0);
  CHECK(s.p50_ms <= 5.0 * 1.0625);
  CHECK(s.p99_ms >= 9.9);
  CHECK(s.p99_ms <= 10.0);  // capped by the max
  CHECK(s.max_ms == 10.0);

  const LatencySummary empty = SummarizeMicros(Histogram());
  CHECK(empty.p50_ms == 0);
  CHECK(empty.max_ms == 0);
}

TEST_CASE("LatencyJson prints milliseconds with three decimals") {
  LatencySummary s;
  s.p50_ms = 1.2;
  s.p99_ms = 3.4567;
  s.p999_ms = 5;
  s.max_ms = 7.8;
  CHECK(LatencyJson(s) == R"({"p50":1.200,"p99":3.457,"p999":5.000,"max":7.800})");
}

}  // namespace
}  // namespace strata::bench
