// The __consumer_offsets record encoding (offset_record.h): exact bytes, round trips, and that
// every damaged or foreign record is refused rather than misread.
#include "consumer_offsets/offset_record.h"

#include <catch2/catch.hpp>

namespace strata::consumer_offsets {
namespace {

std::vector<std::byte> Bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(std::byte(v));
  return out;
}

TEST_CASE("offset keys and values have the documented byte layout") {
  CHECK(EncodeOffsetKey({"g", "t", 2}) ==
        Bytes({1, 0, /*group*/ 1, 0, 'g', /*topic*/ 1, 0, 't', /*partition*/ 2, 0, 0, 0}));
  CHECK(EncodeOffsetValue({0x0102, 7, "m"}) ==
        Bytes({1, 0, /*offset*/ 2, 1, 0, 0, 0, 0, 0, 0, /*ts*/ 7, 0, 0, 0, 0, 0, 0, 0,
               /*metadata*/ 1, 0, 'm'}));
  CHECK(EncodeOffsetKey({"", "", 0}).size() == offset_record::kKeyFixedBytes);
  CHECK(EncodeOffsetValue({}).size() == offset_record::kValueFixedBytes);
}

TEST_CASE("offset records round trip") {
  OffsetKey key{"payments-service", "orders", 1023};
  auto k = DecodeOffsetKey(EncodeOffsetKey(key));
  REQUIRE(k.ok());
  CHECK(*k == key);
  OffsetValue value{INT64_MAX, 1'700'000'000'000, std::string(4096, 'x')};
  auto v = DecodeOffsetValue(EncodeOffsetValue(value));
  REQUIRE(v.ok());
  CHECK(*v == value);
}

TEST_CASE("damaged offset records are refused") {
  const auto key = EncodeOffsetKey({"group", "topic", 3});
  for (size_t n = 0; n < key.size(); ++n) {
    INFO("truncated to " << n);
    CHECK(absl::IsDataLoss(DecodeOffsetKey({key.data(), n}).status()));
  }
  auto longer = key;
  longer.push_back(std::byte(0));
  CHECK(absl::IsDataLoss(DecodeOffsetKey(longer).status()));
  auto version = key;
  version[0] = std::byte(9);
  CHECK(DecodeOffsetKey(version).status().message().find("version 9") != std::string::npos);

  const auto value = EncodeOffsetValue({5, 6, "meta"});
  for (size_t n = 0; n < value.size(); ++n) {
    CHECK(absl::IsDataLoss(DecodeOffsetValue({value.data(), n}).status()));
  }
  auto bad_len = value;
  bad_len[18] = std::byte(200);  // metadata length past the end
  CHECK(absl::IsDataLoss(DecodeOffsetValue(bad_len).status()));
}

}  // namespace
}  // namespace strata::consumer_offsets
