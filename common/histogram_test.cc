#include "common/histogram.h"

#include <catch2/catch.hpp>
#include <random>
#include <vector>
#include <algorithm>

namespace strata {
namespace {

TEST_CASE("histogram buckets are contiguous and ordered", "[histogram]") {
  for (int b = 0; b + 1 < Histogram::kBuckets; ++b) {
    INFO("bucket " << b);
    const int64_t edge = Histogram::BucketUpperEdge(b);
    REQUIRE(Histogram::BucketOf(edge) == b);
    if (edge < INT64_MAX) REQUIRE(Histogram::BucketOf(edge + 1) == b + 1);
  }
  CHECK(Histogram::BucketOf(-5) == 0);
  CHECK(Histogram::BucketOf(INT64_MAX) == Histogram::kBuckets - 1);
}

TEST_CASE("histogram percentiles are within 1/16 of the exact value", "[histogram]") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(8.0, 1.5);
  std::vector<int64_t> values;
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    auto v = static_cast<int64_t>(dist(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    INFO("q " << q);
    const int64_t exact = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
    const int64_t got = h.Percentile(q);
    CHECK(got >= exact);
    CHECK(double(got) <= double(exact) * (1.0 + 1.0 / 16) + 1);
  }
  CHECK(h.Percentile(1.0) == values.back());
  CHECK(h.max() == values.back());
  CHECK(h.count() == values.size());
  CHECK(h.CountAtOrBelow(values.back()) == values.size());
}

TEST_CASE("histogram merge and reset", "[histogram]") {
  Histogram a, b;
  a.Record(10);
  b.Record(1000);
  b.Record(3);
  a.Merge(b);
  CHECK(a.count() == 3);
  CHECK(a.sum() == 1013);
  CHECK(a.max() == 1000);
  CHECK(a.CountAtOrBelow(10) == 2);
  CHECK(a.Percentile(0.0) == 3);
  a.Reset();
  CHECK(a.count() == 0);
  CHECK(a.Percentile(0.5) == 0);
}

}  // namespace
}  // namespace strata
