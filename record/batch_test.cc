// Tests for the record batch format: varints, building, header checks, checksums, LZ4, reading.
#include "record/batch.h"

#include <lz4frame.h>
#include <xxhash.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/endian.h"
#include "common/limits.h"

namespace Catch {
template <>
struct StringMaker<absl::Status> {
  static std::string convert(const absl::Status& s) { return s.ToString(); }
};
template <>
struct StringMaker<absl::StatusCode> {
  static std::string convert(absl::StatusCode c) { return absl::StatusCodeToString(c); }
};
}  // namespace Catch

namespace strata::record {
namespace {

namespace bf = batch_format;
using Bytes = std::vector<std::byte>;

Bytes ToBytes(std::string_view s) {
  Bytes b(s.size());
  for (size_t i = 0; i < s.size(); ++i) b[i] = std::byte(uint8_t(s[i]));
  return b;
}
Bytes Hex(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(std::byte(x));
  return b;
}

template <typename T>
absl::StatusCode CodeOf(const absl::StatusOr<T>& s) {
  return s.status().code();
}

RecordInput Rec(int64_t timestamp_ms, std::optional<std::string_view> key,
                std::optional<std::string_view> value, std::vector<RecordHeader> headers = {}) {
  return RecordInput{timestamp_ms, key, value, std::move(headers)};
}

Bytes MustBuild(const BatchBuilder& builder) {
  absl::StatusOr<Bytes> b = builder.Build();
  INFO(b.status());
  REQUIRE(b.ok());
  return *std::move(b);
}

// A record copied out of its reader. Record's views die with the reader's decompression buffer,
// so helpers that let the reader go return these.
struct OwnedHeader {
  std::string key;
  std::optional<std::string> value;
};
struct OwnedRecord {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<OwnedHeader> headers;
};

std::vector<OwnedRecord> MustReadAll(std::span<const std::byte> batch) {
  absl::StatusOr<BatchReader> reader = BatchReader::Open(batch);
  INFO(reader.status());
  REQUIRE(reader.ok());
  absl::StatusOr<std::vector<Record>> records = reader->ReadAll();
  INFO(records.status());
  REQUIRE(records.ok());
  std::vector<OwnedRecord> out;
  for (const Record& r : *records) {
    OwnedRecord o{r.offset, r.timestamp_ms, {}, {}, {}};
    if (r.key) o.key = std::string(*r.key);
    if (r.value) o.value = std::string(*r.value);
    for (const RecordHeader& h : r.headers) {
      o.headers.push_back(
          {std::string(h.key), h.value ? std::optional<std::string>(*h.value) : std::nullopt});
    }
    out.push_back(std::move(o));
  }
  return out;
}

// A batch around a hand-made records section, with a correct checksum, for malformed-record tests.
Bytes RawBatch(std::string_view records, int32_t record_count, uint16_t attributes = 0) {
  Bytes b(bf::kHeaderBytes);
  Bytes r = ToBytes(records);
  b.insert(b.end(), r.begin(), r.end());
  PutI64(b.data() + bf::kBaseOffsetPos, 100);
  PutI32(b.data() + bf::kBatchLengthPos, int32_t(b.size() - bf::kLogOverheadBytes));
  PutI32(b.data() + bf::kLeaderEpochPos, 1);
  b[bf::kMagicPos] = std::byte(bf::kMagic);
  PutU16(b.data() + bf::kAttributesPos, attributes);
  PutI32(b.data() + bf::kLastOffsetDeltaPos, record_count - 1);
  PutI64(b.data() + bf::kFirstTimestampPos, 1000);
  PutI64(b.data() + bf::kMaxTimestampPos, 1000);
  PutI64(b.data() + bf::kProducerIdPos, -1);
  PutI16(b.data() + bf::kProducerEpochPos, -1);
  PutI32(b.data() + bf::kBaseSequencePos, -1);
  PutI32(b.data() + bf::kRecordCountPos, record_count);
  PutU64(b.data() + bf::kChecksumPos, ComputeBatchChecksum(b));
  return b;
}

// Kafka v2 encoding of one record with a key and value and no headers, offset/timestamp delta 0.
std::string EncodeSimpleRecord(int32_t offset_delta, std::string_view key, std::string_view value) {
  std::string body;
  body.push_back(0);
  varint::PutVarlong(body, 0);
  varint::PutVarint(body, offset_delta);
  varint::PutVarint(body, int32_t(key.size()));
  body += key;
  varint::PutVarint(body, int32_t(value.size()));
  body += value;
  varint::PutVarint(body, 0);
  std::string out;
  varint::PutVarint(out, int32_t(body.size()));
  return out + body;
}

Bytes SmallBatch() {
  BatchBuilder builder;
  builder.Add(Rec(1000, "k1", "v1"));
  builder.Add(Rec(1005, std::nullopt, "v2", {{"h", "x"}}));
  return MustBuild(builder);
}

// --- Varints ---------------------------------------------------------------------------------

TEST_CASE("varint encodings match Kafka's zigzag bytes", "[batch][varint]") {
  struct Case {
    int32_t v;
    Bytes want;
  };
  const Case cases[] = {
      {0, Hex({0x00})},
      {-1, Hex({0x01})},
      {1, Hex({0x02})},
      {63, Hex({0x7e})},
      {-64, Hex({0x7f})},
      {64, Hex({0x80, 0x01})},
      {-65, Hex({0x81, 0x01})},
      {8191, Hex({0xfe, 0x7f})},
      {8192, Hex({0x80, 0x80, 0x01})},
      {INT32_MAX, Hex({0xfe, 0xff, 0xff, 0xff, 0x0f})},
      {INT32_MIN, Hex({0xff, 0xff, 0xff, 0xff, 0x0f})},
  };
  for (const Case& c : cases) {
    INFO("v = " << c.v);
    std::string enc;
    varint::PutVarint(enc, c.v);
    CHECK(ToBytes(enc) == c.want);
    size_t pos = 0;
    absl::StatusOr<int32_t> got = varint::GetVarint(c.want, &pos);
    REQUIRE(got.ok());
    CHECK(*got == c.v);
    CHECK(pos == c.want.size());
  }
}

TEST_CASE("varlong encodings match Kafka's zigzag bytes", "[batch][varint]") {
  struct Case {
    int64_t v;
    Bytes want;
  };
  const Case cases[] = {
      {0, Hex({0x00})},
      {-1, Hex({0x01})},
      {1, Hex({0x02})},
      {63, Hex({0x7e})},
      {-64, Hex({0x7f})},
      {64, Hex({0x80, 0x01})},
      {-65, Hex({0x81, 0x01})},
      {8191, Hex({0xfe, 0x7f})},
      {8192, Hex({0x80, 0x80, 0x01})},
      {INT32_MAX, Hex({0xfe, 0xff, 0xff, 0xff, 0x0f})},
      {INT32_MIN, Hex({0xff, 0xff, 0xff, 0xff, 0x0f})},
      {int64_t(INT32_MAX) + 1, Hex({0x80, 0x80, 0x80, 0x80, 0x10})},
      {INT64_MAX, Hex({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
      {INT64_MIN, Hex({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})},
  };
  for (const Case& c : cases) {
    INFO("v = " << c.v);
    std::string enc;
    varint::PutVarlong(enc, c.v);
    CHECK(ToBytes(enc) == c.want);
    size_t pos = 0;
    absl::StatusOr<int64_t> got = varint::GetVarlong(c.want, &pos);
    REQUIRE(got.ok());
    CHECK(*got == c.v);
    CHECK(pos == c.want.size());
  }
}

TEST_CASE("varints decode back to back and round-trip a sweep", "[batch][varint]") {
  std::string enc;
  std::vector<int64_t> values;
  for (int shift = 0; shift < 63; ++shift) {
    int64_t p = int64_t(1) << shift;
    for (int64_t v : {p - 1, p, p + 1, -p - 1, -p, -p + 1}) values.push_back(v);
  }
  for (int64_t v : values) varint::PutVarlong(enc, v);
  Bytes b = ToBytes(enc);
  size_t pos = 0;
  for (int64_t v : values) {
    absl::StatusOr<int64_t> got = varint::GetVarlong(b, &pos);
    REQUIRE(got.ok());
    CHECK(*got == v);
  }
  CHECK(pos == b.size());
}

TEST_CASE("overlong, overflowing and truncated varints are DataLoss", "[batch][varint]") {
  SECTION("varint of 6 bytes") {
    Bytes b = Hex({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
    size_t pos = 0;
    absl::StatusOr<int32_t> got = varint::GetVarint(b, &pos);
    CHECK(CodeOf(got) == absl::StatusCode::kDataLoss);
    CHECK(pos == 0);  // nothing consumed on error
  }
  SECTION("varint whose 5th byte overflows 32 bits") {
    Bytes b = Hex({0xff, 0xff, 0xff, 0xff, 0x1f});
    size_t pos = 0;
    CHECK(CodeOf(varint::GetVarint(b, &pos)) == absl::StatusCode::kDataLoss);
  }
  SECTION("varlong of 11 bytes") {
    Bytes b = Hex({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
    size_t pos = 0;
    CHECK(CodeOf(varint::GetVarlong(b, &pos)) == absl::StatusCode::kDataLoss);
    CHECK(pos == 0);
  }
  SECTION("varlong whose 10th byte overflows 64 bits") {
    Bytes b = Hex({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02});
    size_t pos = 0;
    CHECK(CodeOf(varint::GetVarlong(b, &pos)) == absl::StatusCode::kDataLoss);
  }
  SECTION("truncated") {
    size_t pos = 0;
    CHECK(CodeOf(varint::GetVarint(Bytes{}, &pos)) == absl::StatusCode::kDataLoss);
    CHECK(CodeOf(varint::GetVarint(Hex({0x80}), &pos)) == absl::StatusCode::kDataLoss);
    CHECK(CodeOf(varint::GetVarint(Hex({0xff, 0xff, 0xff, 0xff}), &pos)) ==
          absl::StatusCode::kDataLoss);
    CHECK(CodeOf(varint::GetVarlong(Hex({0x80, 0x80}), &pos)) == absl::StatusCode::kDataLoss);
    CHECK(pos == 0);
  }
  SECTION("a varint that ends exactly at the buffer end is fine") {
    Bytes b = Hex({0x02, 0x80, 0x01});
    size_t pos = 1;
    absl::StatusOr<int32_t> got = varint::GetVarint(b, &pos);
    REQUIRE(got.ok());
    CHECK(*got == 64);
    CHECK(pos == 3);
  }
}

// --- Building and reading --------------------------------------------------------------------

TEST_CASE("a one-record batch has the documented bytes", "[batch][golden]") {
  BatchBuilder builder({.producer_id = 7, .producer_epoch = 2, .base_sequence = 5});
  builder.Add(Rec(1700000000000, "k", "v", {{"h", "x"}}));
  Bytes b = MustBuild(builder);
  StampBatch(b, 42, 3);

  Bytes want = Hex({
      0x2a, 0,    0,    0,    0,    0,    0, 0,  // base_offset 42
      0x42, 0,    0,    0,                       // batch_length 66 = 78 - 12
      0x03, 0,    0,    0,                       // leader_epoch 3
      0x01,                                      // magic
      0,    0,    0,    0,    0,    0,    0, 0,  // checksum (filled below)
      0,    0,                                   // attributes
      0,    0,    0,    0,                       // last_offset_delta
      0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0, 0,  // first_timestamp 1700000000000
      0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0, 0,  // max_timestamp
      0x07, 0,    0,    0,    0,    0,    0, 0,  // producer_id 7
      0x02, 0,                                   // producer_epoch 2
      0x05, 0,    0,    0,                       // base_sequence 5
      0x01, 0,    0,    0,                       // record_count 1
      0x18,                                      // record length 12
      0x00,                                      // record attributes
      0x00,                                      // timestamp_delta 0
      0x00,                                      // offset_delta 0
      0x02, 'k',                                 // key
      0x02, 'v',                                 // value
      0x02,                                      // 1 header
      0x02, 'h',  0x02, 'x',                     // header key, value
  });
  REQUIRE(want.size() == 78);
  // The checksum is XXH3-64 of bytes [25, end), computed here straight from xxhash.h.
  PutU64(want.data() + bf::kChecksumPos, XXH3_64bits(want.data() + 25, want.size() - 25));
  CHECK(b == want);
  // docs/format.md quotes this value.
  CHECK(GetU64(b.data() + bf::kChecksumPos) == 0x72dac670908df6b0u);

  absl::StatusOr<BatchHeader> h = VerifyBatch(b);
  REQUIRE(h.ok());
  CHECK(h->base_offset == 42);
  CHECK(h->leader_epoch == 3);
  CHECK(h->size_bytes() == 78);
  CHECK(h->producer_id == 7);
  CHECK(h->producer_epoch == 2);
  CHECK(h->base_sequence == 5);
  CHECK(h->last_offset() == 42);
  CHECK(h->compression() == Compression::kNone);
}

TEST_CASE("records round-trip: null vs empty keys and values, headers", "[batch]") {
  BatchBuilder builder({.base_offset = 500});
  builder.Add(Rec(10, std::nullopt, std::nullopt));
  builder.Add(Rec(11, "", ""));
  builder.Add(Rec(12, "key", std::nullopt));
  builder.Add(Rec(13, std::nullopt, "value"));
  builder.Add(
      Rec(14, "k", "v", {{"a", "1"}, {"b", std::nullopt}, {"", ""}, {"c", std::string(300, 'z')}}));
  CHECK(builder.record_count() == 5);
  Bytes b = MustBuild(builder);
  std::vector<OwnedRecord> r = MustReadAll(b);
  REQUIRE(r.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(r[i].offset == 500 + i);
    CHECK(r[i].timestamp_ms == 10 + i);
  }
  CHECK_FALSE(r[0].key.has_value());
  CHECK_FALSE(r[0].value.has_value());
  REQUIRE(r[1].key.has_value());
  REQUIRE(r[1].value.has_value());
  CHECK(r[1].key->empty());
  CHECK(r[1].value->empty());
  CHECK(r[2].key == "key");
  CHECK_FALSE(r[2].value.has_value());
  CHECK_FALSE(r[3].key.has_value());
  CHECK(r[3].value == "value");
  CHECK(r[0].headers.empty());
  REQUIRE(r[4].headers.size() == 4);
  CHECK(r[4].headers[0].key == "a");
  CHECK(r[4].headers[0].value == "1");
  CHECK(r[4].headers[1].key == "b");
  CHECK_FALSE(r[4].headers[1].value.has_value());
  CHECK(r[4].headers[2].key.empty());
  REQUIRE(r[4].headers[2].value.has_value());
  CHECK(r[4].headers[2].value->empty());
  CHECK(r[4].headers[3].value == std::string(300, 'z'));

  absl::StatusOr<BatchHeader> h = ParseBatchHeader(b);
  REQUIRE(h.ok());
  CHECK(h->record_count == 5);
  CHECK(h->last_offset_delta == 4);
  CHECK(h->last_offset() == 504);
  CHECK(h->first_timestamp == 10);
  CHECK(h->max_timestamp == 14);
  CHECK(h->producer_id == bf::kNoProducerId);
}

TEST_CASE("size_bytes tracks the uncompressed encoding", "[batch]") {
  BatchBuilder builder;
  CHECK(builder.size_bytes() == bf::kHeaderBytes);
  builder.Add(Rec(0, "k", "v"));
  // length(1) attributes(1) ts(1) offset(1) key(1+1) value(1+1) headers(1) = 9
  CHECK(builder.size_bytes() == bf::kHeaderBytes + 9);
  Bytes b = MustBuild(builder);
  CHECK(b.size() == builder.size_bytes());
}

TEST_CASE("timestamps out of order use negative deltas and round-trip", "[batch]") {
  const std::vector<int64_t> ts = {1000, 500, 2000, 999, -5};
  BatchBuilder builder;
  for (int64_t t : ts) builder.Add(Rec(t, std::nullopt, "x"));
  Bytes b = MustBuild(builder);
  absl::StatusOr<BatchHeader> h = ParseBatchHeader(b);
  REQUIRE(h.ok());
  CHECK(h->first_timestamp == 1000);
  CHECK(h->max_timestamp == 2000);
  std::vector<OwnedRecord> r = MustReadAll(b);
  REQUIRE(r.size() == ts.size());
  for (size_t i = 0; i < ts.size(); ++i) CHECK(r[i].timestamp_ms == ts[i]);

  // The second record's timestamp delta is -500, zigzag 999 = 0xe7 0x07. It follows the first
  // record (8 bytes: length, attributes, ts, offset, null key, value length, 'x', header count)
  // and its own length and attributes.
  size_t second = bf::kHeaderBytes + 8 + 2;
  CHECK(b[second] == std::byte(0xe7));
  CHECK(b[second + 1] == std::byte(0x07));
}

TEST_CASE("extreme timestamps round-trip", "[batch]") {
  BatchBuilder builder;
  builder.Add(Rec(INT64_MIN, std::nullopt, std::nullopt));
  builder.Add(Rec(INT64_MAX, std::nullopt, std::nullopt));
  builder.Add(Rec(0, std::nullopt, std::nullopt));
  Bytes b = MustBuild(builder);
  std::vector<OwnedRecord> r = MustReadAll(b);
  REQUIRE(r.size() == 3);
  CHECK(r[0].timestamp_ms == INT64_MIN);
  CHECK(r[1].timestamp_ms == INT64_MAX);
  CHECK(r[2].timestamp_ms == 0);
}

TEST_CASE("Build refuses empty and oversized batches", "[batch]") {
  SECTION("empty") {
    BatchBuilder builder;
    CHECK(CodeOf(builder.Build()) == absl::StatusCode::kInvalidArgument);
  }
  SECTION("over batch_bytes_max") {
    BatchBuilder builder;
    std::string big(limits::batch_bytes_max, 'x');
    builder.Add(Rec(0, std::nullopt, big));
    CHECK(CodeOf(builder.Build()) == absl::StatusCode::kResourceExhausted);
  }
  SECTION("just under batch_bytes_max") {
    BatchBuilder builder;
    // header 65 + length(4) attrs ts offset key(1) value-len(4) headers = 65 + 4 + 1+1+1+1 + 4 + 1
    std::string big(limits::batch_bytes_max - 78, 'x');
    builder.Add(Rec(0, std::nullopt, big));
    absl::StatusOr<Bytes> b = builder.Build();
    REQUIRE(b.ok());
    CHECK(b->size() == limits::batch_bytes_max);
    CHECK(VerifyBatch(*b).ok());
  }
  SECTION("too many headers on one record") {
    BatchBuilder builder;
    RecordInput rec;
    for (int i = 0; i <= limits::record_headers_max; ++i) rec.headers.push_back({"h", "v"});
    builder.Add(rec);
    absl::StatusOr<Bytes> b = builder.Build();
    CHECK(CodeOf(b) == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(b.status().message()), Catch::Contains("record_headers_max"));
  }
  SECTION("exactly record_headers_max headers is fine") {
    BatchBuilder builder;
    RecordInput rec;
    for (int i = 0; i < limits::record_headers_max; ++i) rec.headers.push_back({"h", "v"});
    builder.Add(rec);
    std::vector<OwnedRecord> r = MustReadAll(MustBuild(builder));
    REQUIRE(r.size() == 1);
    CHECK(r[0].headers.size() == size_t(limits::record_headers_max));
  }
}

// --- LZ4 -------------------------------------------------------------------------------------

TEST_CASE("LZ4 batches round-trip and compress", "[batch][lz4]") {
  SECTION("compressible, several frame blocks") {
    BatchBuilder plain;
    BatchBuilder lz4({.compression = Compression::kLz4});
    std::vector<std::string> values;
    for (int i = 0; i < 5000; ++i) {
      values.push_back("the quick brown fox jumps over the lazy dog #" + std::to_string(i % 17));
    }
    for (const std::string& v : values) {
      plain.Add(Rec(7, "key", v));
      lz4.Add(Rec(7, "key", v));
    }
    Bytes p = MustBuild(plain);
    Bytes c = MustBuild(lz4);
    // More than one 64 KiB LZ4 block, and at least 4x smaller.
    CHECK(p.size() > 3 * 65536);
    CHECK(c.size() * 4 < p.size());

    absl::StatusOr<BatchHeader> h = VerifyBatch(c);
    REQUIRE(h.ok());
    CHECK(h->compression() == Compression::kLz4);
    CHECK((h->attributes & bf::kCompressionMask) == 3);
    // LZ4 frame magic 0x184D2204, then FLG with the block-independence bit (0x20) set.
    CHECK(GetU32(c.data() + bf::kRecordsPos) == 0x184D2204u);
    CHECK((uint8_t(c[bf::kRecordsPos + 4]) & 0x20) == 0x20);

    std::vector<OwnedRecord> r = MustReadAll(c);
    REQUIRE(r.size() == values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      CHECK(r[i].offset == int64_t(i));
      CHECK(r[i].key == "key");
      CHECK(r[i].value == values[i]);
    }
  }
  SECTION("incompressible") {
    std::mt19937_64 rng(12345);
    std::string noise(200000, '\0');
    for (char& ch : noise) ch = char(rng());
    BatchBuilder lz4({.compression = Compression::kLz4});
    lz4.Add(Rec(1, std::nullopt, noise));
    lz4.Add(Rec(2, "tail", std::nullopt));
    Bytes c = MustBuild(lz4);
    std::vector<OwnedRecord> r = MustReadAll(c);
    REQUIRE(r.size() == 2);
    CHECK(r[0].value == noise);
    CHECK_FALSE(r[0].key.has_value());
    CHECK(r[1].key == "tail");
    CHECK_FALSE(r[1].value.has_value());
  }
}

TEST_CASE("a copied reader of an LZ4 batch reads from its own buffer", "[batch][lz4]") {
  BatchBuilder lz4({.compression = Compression::kLz4});
  lz4.Add(Rec(1, std::nullopt, std::string(1000, 'a')));
  lz4.Add(Rec(2, std::nullopt, std::string(1000, 'b')));
  Bytes c = MustBuild(lz4);
  std::optional<BatchReader> copy;
  {
    absl::StatusOr<BatchReader> original = BatchReader::Open(c);
    REQUIRE(original.ok());
    copy = *original;  // a copy, not a move; the original dies at the end of this scope
  }
  absl::StatusOr<std::vector<Record>> r = copy->ReadAll();
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[1].value == std::string(1000, 'b'));
}

TEST_CASE("a flipped bit in a compressed batch is detected", "[batch][lz4]") {
  BatchBuilder lz4({.compression = Compression::kLz4});
  for (int i = 0; i < 50; ++i) lz4.Add(Rec(i, std::nullopt, "value value value"));
  Bytes c = MustBuild(lz4);
  for (size_t pos : {bf::kRecordsPos + 7, (bf::kRecordsPos + c.size()) / 2, c.size() - 1}) {
    Bytes bad = c;
    bad[pos] ^= std::byte(0x10);
    INFO("pos = " << pos);
    CHECK(CodeOf(VerifyBatch(bad)) == absl::StatusCode::kDataLoss);
    CHECK(CodeOf(BatchReader::Open(bad)) == absl::StatusCode::kDataLoss);
  }
}

TEST_CASE("malformed LZ4 sections are DataLoss even with a valid checksum", "[batch][lz4]") {
  const uint16_t kLz4 = uint16_t(Compression::kLz4);
  std::string records = EncodeSimpleRecord(0, "k", "v");
  LZ4F_preferences_t prefs = {};
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  auto compress = [&](std::string_view src) {
    std::string out(LZ4F_compressFrameBound(src.size(), &prefs), '\0');
    size_t n = LZ4F_compressFrame(out.data(), out.size(), src.data(), src.size(), &prefs);
    REQUIRE_FALSE(LZ4F_isError(n));
    out.resize(n);
    return out;
  };
  std::string frame = compress(records);
  REQUIRE(MustReadAll(RawBatch(frame, 1, kLz4)).size() == 1);

  SECTION("truncated frame") {
    absl::StatusOr<BatchReader> r =
        BatchReader::Open(RawBatch(frame.substr(0, frame.size() - 3), 1, kLz4));
    CHECK(CodeOf(r) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(r.status().message()), Catch::Contains("truncated"));
  }
  SECTION("trailing bytes after the frame") {
    absl::StatusOr<BatchReader> r = BatchReader::Open(RawBatch(frame + "xx", 1, kLz4));
    CHECK(CodeOf(r) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(r.status().message()), Catch::Contains("trailing"));
  }
  SECTION("not a frame at all") {
    CHECK(CodeOf(BatchReader::Open(RawBatch(records, 1, kLz4))) == absl::StatusCode::kDataLoss);
  }
  SECTION("unsupported compression code") {
    absl::StatusOr<BatchReader> r = BatchReader::Open(RawBatch(records, 1, /*gzip*/ 1));
    CHECK(CodeOf(r) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(r.status().message()),
               Catch::Contains("unsupported compression code 1"));
  }
  SECTION("decompresses past batch_uncompressed_bytes_max") {
    std::string bomb(size_t(limits::batch_uncompressed_bytes_max) + 1, '\0');
    absl::StatusOr<BatchReader> r = BatchReader::Open(RawBatch(compress(bomb), 1, kLz4));
    CHECK(CodeOf(r) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(r.status().message()), Catch::Contains("batch_uncompressed_bytes_max"));
  }
  SECTION("declares a content size past batch_uncompressed_bytes_max") {
    std::string bomb(size_t(limits::batch_uncompressed_bytes_max) + 1, '\0');
    prefs.frameInfo.contentSize = bomb.size();
    absl::StatusOr<BatchReader> r = BatchReader::Open(RawBatch(compress(bomb), 1, kLz4));
    CHECK(CodeOf(r) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(r.status().message()), Catch::Contains("declares 67108865 bytes"));
  }
  SECTION("decompresses to exactly batch_uncompressed_bytes_max") {
    // The limit itself is allowed: Open succeeds and the (zero) bytes then fail as records.
    std::string zeros(size_t(limits::batch_uncompressed_bytes_max), '\0');
    absl::StatusOr<BatchReader> r = BatchReader::Open(RawBatch(compress(zeros), 1, kLz4));
    REQUIRE(r.ok());
    CHECK(CodeOf(r->Next()) == absl::StatusCode::kDataLoss);
  }
}

// --- Checksums and stamping ------------------------------------------------------------------

TEST_CASE("StampBatch rewrites offset and epoch without breaking the checksum", "[batch]") {
  Bytes b = SmallBatch();
  uint64_t checksum_before = GetU64(b.data() + bf::kChecksumPos);
  StampBatch(b, 1'000'000'000'000, 17);
  CHECK(GetU64(b.data() + bf::kChecksumPos) == checksum_before);
  absl::StatusOr<BatchHeader> h = VerifyBatch(b);
  REQUIRE(h.ok());
  CHECK(h->base_offset == 1'000'000'000'000);
  CHECK(h->leader_epoch == 17);
  CHECK(h->last_offset() == 1'000'000'000'001);
  std::vector<OwnedRecord> r = MustReadAll(b);
  REQUIRE(r.size() == 2);
  CHECK(r[0].offset == 1'000'000'000'000);
  CHECK(r[1].offset == 1'000'000'000'001);
}

TEST_CASE("a base_offset whose range runs past the largest offset is DataLoss", "[batch][header]") {
  // A fuzzed fetch response carried such a batch; reading it summed past INT64_MAX.
  Bytes b = SmallBatch();  // two records: last_offset_delta 1
  // The next offset after the batch (last + 1) must fit too.
  StampBatch(b, std::numeric_limits<int64_t>::max() - 2, 0);
  REQUIRE(VerifyBatch(b).ok());
  CHECK(MustReadAll(b).back().offset == std::numeric_limits<int64_t>::max() - 1);
  StampBatch(b, std::numeric_limits<int64_t>::max() - 1, 0);
  absl::StatusOr<BatchHeader> h = VerifyBatch(b);
  CHECK(CodeOf(h) == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(h.status().message()), Catch::Contains("runs past the largest offset"));
  CHECK(CodeOf(BatchReader::Open(b)) == absl::StatusCode::kDataLoss);
}

TEST_CASE("every flipped byte in [25, end) fails VerifyBatch", "[batch][checksum]") {
  const Bytes b = SmallBatch();
  REQUIRE(VerifyBatch(b).ok());
  for (size_t pos = bf::kChecksumCoverPos; pos < b.size(); ++pos) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = b;
      bad[pos] ^= std::byte(mask);
      absl::StatusOr<BatchHeader> h = VerifyBatch(bad);
      INFO("pos = " << pos << " mask = " << int(mask) << " status = " << h.status());
      CHECK(CodeOf(h) == absl::StatusCode::kDataLoss);
    }
  }
  // The checksum field itself is covered too, trivially: any change makes it disagree.
  for (size_t pos = bf::kChecksumPos; pos < bf::kChecksumCoverPos; ++pos) {
    Bytes bad = b;
    bad[pos] ^= std::byte(0x01);
    CHECK(CodeOf(VerifyBatch(bad)) == absl::StatusCode::kDataLoss);
  }
  // base_offset and leader_epoch lie outside the checksum.
  for (size_t pos : {0, 3, 7, 12, 15}) {
    Bytes other = b;
    other[pos] ^= std::byte(0x5a);
    CHECK(VerifyBatch(other).ok());
  }
}

TEST_CASE("VerifyBatch names both checksums", "[batch][checksum]") {
  Bytes b = SmallBatch();
  b.back() ^= std::byte(1);
  absl::StatusOr<BatchHeader> h = VerifyBatch(b);
  CHECK(CodeOf(h) == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(h.status().message()),
             Catch::Contains("stored 0x") && Catch::Contains("computed 0x"));
  CHECK(CodeOf(BatchReader::Open(b)) == absl::StatusCode::kDataLoss);
}

TEST_CASE("back-to-back batches: only the first is checked", "[batch]") {
  Bytes a = SmallBatch();
  Bytes two = a;
  two.insert(two.end(), a.begin(), a.end());
  two.back() ^= std::byte(1);  // corrupt the second batch only
  absl::StatusOr<BatchHeader> h = VerifyBatch(two);
  REQUIRE(h.ok());
  CHECK(h->size_bytes() == a.size());
  CHECK(CodeOf(VerifyBatch(std::span(two).subspan(a.size()))) == absl::StatusCode::kDataLoss);
  CHECK(MustReadAll(two).size() == 2);
}

// --- Header validation -----------------------------------------------------------------------

TEST_CASE("a truncated batch is OutOfRange at every length", "[batch][header]") {
  const Bytes b = SmallBatch();
  for (size_t n = 0; n < b.size(); ++n) {
    INFO("n = " << n);
    CHECK(CodeOf(ParseBatchHeader(std::span(b).first(n))) == absl::StatusCode::kOutOfRange);
    CHECK(CodeOf(VerifyBatch(std::span(b).first(n))) == absl::StatusCode::kOutOfRange);
    CHECK(CodeOf(BatchReader::Open(std::span(b).first(n))) == absl::StatusCode::kOutOfRange);
  }
  CHECK(ParseBatchHeader(b).ok());
}

TEST_CASE("bad header fields are DataLoss with the numbers in the message", "[batch][header]") {
  Bytes b = SmallBatch();
  auto expect = [](const Bytes& bad, std::string_view text) {
    absl::StatusOr<BatchHeader> h = ParseBatchHeader(bad);
    INFO(h.status());
    CHECK(CodeOf(h) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(h.status().message()), Catch::Contains(std::string(text)));
  };
  SECTION("all-zero header") {
    expect(Bytes(bf::kHeaderBytes), "batch_length 0 is below the minimum 53");
    // Zeros in a longer (preallocated) region too.
    expect(Bytes(4096), "batch_length 0 is below the minimum 53");
  }
  SECTION("wrong magic") {
    b[bf::kMagicPos] = std::byte(2);
    expect(b, "magic 2");
  }
  SECTION("batch_length too small") {
    PutI32(b.data() + bf::kBatchLengthPos, 12);
    expect(b, "batch_length 12 is below the minimum 53");
  }
  SECTION("negative batch_length") {
    PutI32(b.data() + bf::kBatchLengthPos, -1);
    expect(b, "batch_length -1 is below the minimum 53");
  }
  SECTION("batch_length over the limit is DataLoss, not a torn tail") {
    PutI32(b.data() + bf::kBatchLengthPos, int32_t(limits::batch_bytes_max));
    expect(b, "batch_bytes_max");
  }
  SECTION("batch_length at the limit with too few bytes is a torn tail") {
    PutI32(b.data() + bf::kBatchLengthPos, int32_t(limits::batch_bytes_max - 12));
    CHECK(CodeOf(ParseBatchHeader(b)) == absl::StatusCode::kOutOfRange);
  }
  SECTION("record_count zero with records after the header") {
    PutI32(b.data() + bf::kRecordCountPos, 0);
    expect(b, "record_count 0 with batch_length");
  }
  SECTION("record_count negative") {
    PutI32(b.data() + bf::kRecordCountPos, -3);
    expect(b, "record_count -3 is negative");
  }
  SECTION("record_count over the limit") {
    PutI32(b.data() + bf::kRecordCountPos, limits::batch_records_max + 1);
    PutI32(b.data() + bf::kLastOffsetDeltaPos, limits::batch_records_max);
    expect(b, "batch_records_max");
  }
  SECTION("last_offset_delta below record_count - 1") {
    PutI32(b.data() + bf::kLastOffsetDeltaPos, 0);
    expect(b, "last_offset_delta 0 is below record_count - 1 (1)");
  }
  SECTION("negative last_offset_delta") {
    PutI32(b.data() + bf::kRecordCountPos, 0);
    PutI32(b.data() + bf::kLastOffsetDeltaPos, -1);
    expect(b, "last_offset_delta -1 is negative");
  }
  SECTION("last_offset_delta spanning more offsets than a batch can have records") {
    PutI32(b.data() + bf::kLastOffsetDeltaPos, limits::batch_records_max);
    expect(b, "spans more offsets than limits::batch_records_max");
  }
  SECTION("max_timestamp before first_timestamp") {
    PutI64(b.data() + bf::kMaxTimestampPos, 999);
    expect(b, "max_timestamp 999 is before first_timestamp 1000");
  }
}

// --- Compacted batches -------------------------------------------------------------------------

// A batch with `last_offset_delta` and the given records, as compaction leaves it.
Bytes SparseBatch(std::string_view records, int32_t record_count, int32_t last_offset_delta) {
  Bytes b = RawBatch(records, record_count);
  PutI32(b.data() + bf::kLastOffsetDeltaPos, last_offset_delta);
  PutU64(b.data() + bf::kChecksumPos, ComputeBatchChecksum(b));
  return b;
}

TEST_CASE("compacted batches: fewer records than offsets, or none, read back", "[batch][compact]") {
  SECTION("offset deltas with gaps, within last_offset_delta") {
    Bytes b = SparseBatch(EncodeSimpleRecord(0, "a", "1") + EncodeSimpleRecord(3, "b", "2") +
                              EncodeSimpleRecord(7, "c", "3"),
                          3, 7);
    absl::StatusOr<BatchHeader> h = VerifyBatch(b);
    REQUIRE(h.ok());
    CHECK(h->last_offset() == 107);
    std::vector<OwnedRecord> records = MustReadAll(b);
    REQUIRE(records.size() == 3);
    CHECK(records[0].offset == 100);
    CHECK(records[1].offset == 103);
    CHECK(records[2].offset == 107);
    // The last record need not sit at last_offset_delta.
    CHECK(MustReadAll(SparseBatch(EncodeSimpleRecord(2, "a", "1"), 1, 9)).at(0).offset == 102);
  }
  SECTION("an empty batch is a header only") {
    Bytes b = SparseBatch("", 0, 4);
    absl::StatusOr<BatchHeader> h = VerifyBatch(b);
    REQUIRE(h.ok());
    CHECK(h->record_count == 0);
    CHECK(h->size_bytes() == bf::kHeaderBytes);
    CHECK(h->last_offset() == 104);
    CHECK(MustReadAll(b).empty());
  }
  SECTION("an empty batch that claims LZ4 is refused") {
    Bytes b = SparseBatch("", 0, 4);
    PutU16(b.data() + bf::kAttributesPos, uint16_t(Compression::kLz4));
    PutU64(b.data() + bf::kChecksumPos, ComputeBatchChecksum(b));
    absl::StatusOr<BatchHeader> h = ParseBatchHeader(b);
    CHECK(CodeOf(h) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(h.status().message()), Catch::Contains("an empty batch is uncompressed"));
  }
}

TEST_CASE("record offset deltas must increase and stay within last_offset_delta",
          "[batch][compact]") {
  auto fails = [](const Bytes& batch, std::string_view text) {
    absl::StatusOr<BatchReader> reader = BatchReader::Open(batch);
    REQUIRE(reader.ok());
    absl::StatusOr<std::vector<Record>> all = reader->ReadAll();
    INFO(all.status());
    CHECK(CodeOf(all) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(all.status().message()), Catch::Contains(std::string(text)));
  };
  fails(SparseBatch(EncodeSimpleRecord(2, "a", "1") + EncodeSimpleRecord(2, "b", "2"), 2, 5),
        "offset_delta 2 is not above the previous record's 2");
  fails(SparseBatch(EncodeSimpleRecord(3, "a", "1") + EncodeSimpleRecord(1, "b", "2"), 2, 5),
        "offset_delta 1 is not above the previous record's 3");
  fails(SparseBatch(EncodeSimpleRecord(0, "a", "1") + EncodeSimpleRecord(6, "b", "2"), 2, 5),
        "offset_delta 6 is past last_offset_delta 5");
  fails(SparseBatch(EncodeSimpleRecord(-1, "a", "1"), 1, 5),
        "offset_delta -1 is not above the previous record's -1");
}

TEST_CASE("CheckDenseBatch accepts producers' batches only", "[batch][compact]") {
  auto header = [](const Bytes& b) {
    absl::StatusOr<BatchHeader> h = ParseBatchHeader(b);
    REQUIRE(h.ok());
    return *h;
  };
  CHECK(CheckDenseBatch(header(SmallBatch())).ok());
  absl::Status sparse = CheckDenseBatch(header(SparseBatch(EncodeSimpleRecord(0, "a", "1"), 1, 3)));
  CHECK(absl::IsDataLoss(sparse));
  CHECK_THAT(std::string(sparse.message()),
             Catch::Contains("record_count 1 with last_offset_delta 3"));
  CHECK(absl::IsDataLoss(CheckDenseBatch(header(SparseBatch("", 0, 0)))));
}

// Keeps the records of `batch` whose index is in `keep`, as compaction does.
Bytes Compact(const Bytes& batch, const std::vector<int>& keep) {
  absl::StatusOr<BatchReader> reader = BatchReader::Open(batch);
  REQUIRE(reader.ok());
  std::string kept;
  int32_t count = 0;
  for (int i = 0;; ++i) {
    absl::StatusOr<std::optional<Record>> r = reader->Next();
    REQUIRE(r.ok());
    if (!r->has_value()) break;
    if (std::find(keep.begin(), keep.end(), i) == keep.end()) continue;
    auto enc = reader->last_record_encoding();
    kept.append(reinterpret_cast<const char*>(enc.data()), enc.size());
    ++count;
  }
  absl::StatusOr<Bytes> out = BuildCompactedBatch(
      batch, std::span(reinterpret_cast<const std::byte*>(kept.data()), kept.size()), count);
  INFO(out.status());
  REQUIRE(out.ok());
  return *std::move(out);
}

TEST_CASE("BuildCompactedBatch keeps offsets, timestamps, producer fields and compression",
          "[batch][compact]") {
  for (Compression c : {Compression::kNone, Compression::kLz4}) {
    INFO(CompressionName(c));
    BatchBuilder builder(BatchOptions{.compression = c, .producer_id = 9, .producer_epoch = 3,
                                      .base_sequence = 40});
    for (int i = 0; i < 6; ++i) {
      std::string key = "k" + std::to_string(i);
      std::string value(200, char('a' + i));
      builder.Add(Rec(5000 + 10 * i, key, i == 4 ? std::optional<std::string_view>() : value,
                      {{"h", "x"}}));
    }
    Bytes original = MustBuild(builder);
    StampBatch(original, 1000, 7);
    const BatchHeader before = *VerifyBatch(original);

    Bytes cleaned = Compact(original, {1, 4});
    absl::StatusOr<BatchHeader> after = VerifyBatch(cleaned);  // checksum recomputed
    REQUIRE(after.ok());
    CHECK(after->base_offset == 1000);
    CHECK(after->leader_epoch == 7);
    CHECK(after->last_offset_delta == 5);
    CHECK(after->record_count == 2);
    CHECK(after->first_timestamp == before.first_timestamp);
    CHECK(after->max_timestamp == before.max_timestamp);
    CHECK(after->producer_id == 9);
    CHECK(after->producer_epoch == 3);
    CHECK(after->base_sequence == 40);
    CHECK(after->compression() == c);
    CHECK(cleaned.size() < original.size());
    std::vector<OwnedRecord> records = MustReadAll(cleaned);
    REQUIRE(records.size() == 2);
    CHECK(records[0].offset == 1001);
    CHECK(records[0].key == "k1");
    CHECK(records[0].value == std::string(200, 'b'));
    CHECK(records[0].timestamp_ms == 5010);
    CHECK(records[0].headers.size() == 1);
    CHECK(records[1].offset == 1004);
    CHECK(records[1].value == std::nullopt);  // a tombstone stays a tombstone
    CHECK(records[1].timestamp_ms == 5040);

    // Nothing kept: the empty batch, a header only and uncompressed, same offsets and producer.
    Bytes empty = Compact(original, {});
    REQUIRE(empty.size() == bf::kHeaderBytes);
    absl::StatusOr<BatchHeader> e = VerifyBatch(empty);
    REQUIRE(e.ok());
    CHECK(e->record_count == 0);
    CHECK(e->base_offset == 1000);
    CHECK(e->last_offset() == 1005);
    CHECK(e->compression() == Compression::kNone);
    CHECK(e->producer_id == 9);
    CHECK(e->base_sequence == 40);
    CHECK(e->max_timestamp == before.max_timestamp);
    // And compacting a compacted batch again works the same way.
    Bytes again = Compact(cleaned, {1});
    REQUIRE(MustReadAll(again).size() == 1);
    CHECK(MustReadAll(again)[0].offset == 1004);
  }
}

TEST_CASE("BuildCompactedBatch refuses records that are not a subsequence", "[batch][compact]") {
  Bytes original = SmallBatch();
  std::string bogus = EncodeSimpleRecord(5, "a", "b");  // past last_offset_delta 1
  absl::StatusOr<Bytes> out = BuildCompactedBatch(
      original, std::span(reinterpret_cast<const std::byte*>(bogus.data()), bogus.size()), 1);
  CHECK(CodeOf(out) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(BuildCompactedBatch(original, {}, 3)) == absl::StatusCode::kInvalidArgument);
}

// --- Malformed records (valid checksums, bad contents) ---------------------------------------

TEST_CASE("malformed records section is DataLoss naming the record", "[batch][records]") {
  std::string r0 = EncodeSimpleRecord(0, "a", "b");
  std::string r1 = EncodeSimpleRecord(1, "c", "d");
  REQUIRE(MustReadAll(RawBatch(r0 + r1, 2)).size() == 2);

  auto open_and_fail = [](const Bytes& batch, int ok_records, std::string_view text) {
    absl::StatusOr<BatchReader> reader = BatchReader::Open(batch);
    REQUIRE(reader.ok());
    for (int i = 0; i < ok_records; ++i) {
      absl::StatusOr<std::optional<Record>> rec = reader->Next();
      INFO(rec.status());
      REQUIRE(rec.ok());
      REQUIRE(rec->has_value());
    }
    absl::StatusOr<std::optional<Record>> bad = reader->Next();
    INFO(bad.status());
    CHECK(CodeOf(bad) == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(bad.status().message()), Catch::Contains(std::string(text)));
    // The error sticks: calling again reports it again.
    CHECK(CodeOf(reader->Next()) == absl::StatusCode::kDataLoss);
    CHECK(CodeOf(reader->ReadAll()) == absl::StatusCode::kDataLoss);
  };

  SECTION("records run out early") {
    open_and_fail(RawBatch(r0, 2), 1, "record 1 of 2: the records section ended early");
  }
  SECTION("bytes left over after the last record") {
    open_and_fail(RawBatch(r0 + r1, 1), 1, "left in the records section");
  }
  SECTION("record length overruns the section") {
    std::string cut = r0 + r1.substr(0, r1.size() - 1);
    open_and_fail(RawBatch(cut, 2), 1, "record 1 of 2: record length");
  }
  SECTION("offset_delta out of sequence") {
    open_and_fail(RawBatch(r0 + EncodeSimpleRecord(5, "c", "d"), 2), 1,
                  "offset_delta 5 is past last_offset_delta 1");
    open_and_fail(RawBatch(r0 + EncodeSimpleRecord(0, "c", "d"), 2), 1,
                  "offset_delta 0 is not above the previous record's 0");
  }
  SECTION("negative key length below -1") {
    std::string body;
    body.push_back(0);
    varint::PutVarlong(body, 0);
    varint::PutVarint(body, 0);
    varint::PutVarint(body, -2);  // key
    std::string rec;
    varint::PutVarint(rec, int32_t(body.size()));
    open_and_fail(RawBatch(rec + body, 1), 0, "key length -2");
  }
  SECTION("record with fields shorter than its length") {
    std::string body = r0.substr(1) + "zz";
    std::string rec;
    varint::PutVarint(rec, int32_t(body.size()));
    open_and_fail(RawBatch(rec + body, 1), 0, "record 0 of 1");
  }
  SECTION("null header key") {
    std::string body;
    body.push_back(0);
    varint::PutVarlong(body, 0);
    varint::PutVarint(body, 0);
    varint::PutVarint(body, -1);
    varint::PutVarint(body, -1);
    varint::PutVarint(body, 1);   // one header
    varint::PutVarint(body, -1);  // null key
    varint::PutVarint(body, -1);
    std::string rec;
    varint::PutVarint(rec, int32_t(body.size()));
    open_and_fail(RawBatch(rec + body, 1), 0, "null key");
  }
  SECTION("too many headers") {
    std::string body;
    body.push_back(0);
    varint::PutVarlong(body, 0);
    varint::PutVarint(body, 0);
    varint::PutVarint(body, -1);
    varint::PutVarint(body, -1);
    varint::PutVarint(body, limits::record_headers_max + 1);
    for (int i = 0; i <= limits::record_headers_max; ++i) {
      varint::PutVarint(body, 0);
      varint::PutVarint(body, -1);
    }
    std::string rec;
    varint::PutVarint(rec, int32_t(body.size()));
    open_and_fail(RawBatch(rec + body, 1), 0, "record_headers_max");
  }
  SECTION("overlong varint inside a record") {
    std::string body;
    body.push_back(0);
    body += std::string(10, char(0x80));  // timestamp delta that never ends
    body.push_back(0);
    std::string rec;
    varint::PutVarint(rec, int32_t(body.size()));
    open_and_fail(RawBatch(rec + body, 1), 0, "varlong is longer than 10 bytes");
  }
}

TEST_CASE("Next returns nullopt after the last record, repeatedly", "[batch][records]") {
  const Bytes batch = SmallBatch();  // the reader points into it, so it must outlive the reader
  absl::StatusOr<BatchReader> reader = BatchReader::Open(batch);
  REQUIRE(reader.ok());
  CHECK(reader->header().record_count == 2);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::optional<Record>> r = reader->Next();
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->offset == i);
  }
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::optional<Record>> r = reader->Next();
    REQUIRE(r.ok());
    CHECK_FALSE(r->has_value());
  }
  absl::StatusOr<std::vector<Record>> rest = reader->ReadAll();
  REQUIRE(rest.ok());
  CHECK(rest->empty());
}

TEST_CASE("CompressionName", "[batch]") {
  CHECK(CompressionName(Compression::kNone) == "none");
  CHECK(CompressionName(Compression::kLz4) == "lz4");
  CHECK(CompressionName(Compression(5)) == "unknown");
}

// Every record of a batch as NextInto decodes it, or the error it stops at.
struct Decoding {
  std::vector<std::tuple<int64_t, int64_t, std::optional<std::string>, std::optional<std::string>,
                         std::vector<std::pair<std::string, std::optional<std::string>>>>>
      records;
  std::string error;  // empty if every record decoded
  bool operator==(const Decoding&) const = default;
};

Decoding DecodeAll(const Bytes& batch) {
  Decoding d;
  auto reader = BatchReader::Open(batch);
  if (!reader.ok()) {
    d.error = std::string(reader.status().message());
    return d;
  }
  auto text = [](const std::optional<std::string_view>& v) {
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
  };
  Record r;
  for (;;) {
    absl::StatusOr<bool> got = reader->NextInto(r);
    if (!got.ok()) {
      d.error = std::string(got.status().message());
      return d;
    }
    if (!*got) return d;
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
    for (const RecordHeader& h : r.headers) headers.emplace_back(std::string(h.key), text(h.value));
    d.records.emplace_back(r.offset, r.timestamp_ms, text(r.key), text(r.value), headers);
  }
}

TEST_CASE("the fast record decoder agrees with the Status path on valid and damaged batches",
          "[batch]") {
  std::mt19937_64 rng(Catch::rngSeed());
  auto pick = [&](uint64_t n) { return rng() % n; };
  int damaged_refused = 0, damaged_accepted = 0;
  for (int round = 0; round < 400; ++round) {
    BatchBuilder builder;
    const int count = 1 + int(pick(20));
    std::vector<std::string> strings(size_t(count) * 4);
    for (auto& str : strings) str.assign(pick(300) == 0 ? 200 + pick(400) : pick(40), char('a' + pick(26)));
    for (int i = 0; i < count; ++i) {
      RecordInput in;
      in.timestamp_ms = int64_t(pick(3)) * int64_t(1'700'000'000'000) + int64_t(pick(100000)) - 50000;
      if (pick(4) != 0) in.key = strings[size_t(i) * 4];
      if (pick(6) != 0) in.value = strings[size_t(i) * 4 + 1];
      for (uint64_t h = pick(3); h > 0; --h) {
        RecordHeader rh;
        rh.key = strings[size_t(i) * 4 + 2];
        if (pick(2) != 0) rh.value = strings[size_t(i) * 4 + 3];
        in.headers.push_back(rh);
      }
      builder.Add(in);
    }
    auto built = builder.Build();
    REQUIRE(built.ok());
    Bytes batch = *built;
    // Half the rounds damage the records section: flip, zero or set bytes, then make the checksum
    // right again so that the damage reaches the record decoder.
    const bool damage = round % 2 == 1;
    if (damage) {
      for (uint64_t k = 1 + pick(4); k > 0; --k) {
        const size_t at = bf::kHeaderBytes + size_t(pick(batch.size() - bf::kHeaderBytes));
        switch (pick(3)) {
          case 0: batch[at] ^= std::byte(1u << pick(8)); break;
          case 1: batch[at] = std::byte{0}; break;
          default: batch[at] = std::byte(0x80 | pick(128)); break;
        }
      }
      PutU64(batch.data() + bf::kChecksumPos, ComputeBatchChecksum(batch));
    }
    testing::force_slow_record_decoding = false;
    const Decoding fast = DecodeAll(batch);
    testing::force_slow_record_decoding = true;
    const Decoding slow = DecodeAll(batch);
    testing::force_slow_record_decoding = false;
    INFO("round " << round << ", seed " << Catch::rngSeed());
    CHECK(fast == slow);
    if (!damage) CHECK(fast.error.empty());
    if (damage) (fast.error.empty() ? damaged_accepted : damaged_refused)++;
  }
  // The damage exercised both outcomes: some batches still decode, most do not.
  CHECK(damaged_refused > 50);
  CHECK(damaged_accepted > 0);
}

TEST_CASE("VerifiedBatch::Verify checks once what an append needs, and Stamp keeps it valid") {
  for (Compression c : {Compression::kNone, Compression::kLz4}) {
    INFO(CompressionName(c));
    BatchBuilder builder({.compression = c});
    builder.Add(Rec(1000, "k1", "v1"));
    builder.Add(Rec(1001, std::nullopt, "no key"));
    Bytes batch = MustBuild(builder);

    auto verified = VerifiedBatch::Verify(batch, AppendRules{});
    REQUIRE(verified.ok());
    CHECK(verified->size() == batch.size());
    CHECK(verified->header().record_count == 2);
    verified->Stamp(40, 3);
    CHECK(verified->header().base_offset == 40);
    CHECK(ParseBatchHeader(batch)->leader_epoch == 3);
    CHECK(VerifyBatch(batch).ok());  // the stamped fields lie outside the checksum

    // A rule of the topic: every record needs a key. Named by record.
    auto keyless = VerifiedBatch::Verify(batch, {.keys_required = true});
    CHECK(CodeOf(keyless) == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(keyless.status().message()), Catch::Contains("record 1"));

    // Damaged bytes are DataLoss, with or without the key rule.
    Bytes damaged = batch;
    damaged.back() ^= std::byte{1};
    CHECK(CodeOf(VerifiedBatch::Verify(damaged, {})) == absl::StatusCode::kDataLoss);
    CHECK(CodeOf(VerifiedBatch::Verify(damaged, {.keys_required = true})) ==
          absl::StatusCode::kDataLoss);
    // Cut short: DataLoss too (an append never sees a torn tail as OutOfRange).
    Bytes cut(batch.begin(), batch.end() - 1);
    CHECK(CodeOf(VerifiedBatch::Verify(cut, {})) == absl::StatusCode::kDataLoss);
    // Two batches where one is expected.
    Bytes two = batch;
    two.insert(two.end(), batch.begin(), batch.end());
    CHECK(CodeOf(VerifiedBatch::Verify(two, {})) == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("VerifiedBatch::Verify takes a compacted batch only when density is not required") {
  BatchBuilder builder;
  builder.Add(Rec(1000, "a", "1"));
  builder.Add(Rec(1000, "b", "2"));
  Bytes original = MustBuild(builder);
  auto reader = BatchReader::Open(original);
  REQUIRE(reader.ok());
  REQUIRE(reader->Next().ok());
  auto kept = reader->last_record_encoding();
  Bytes kept_bytes(kept.begin(), kept.end());
  auto compacted = BuildCompactedBatch(original, kept_bytes, 1);
  REQUIRE(compacted.ok());
  CHECK(CodeOf(VerifiedBatch::Verify(*compacted, {})) == absl::StatusCode::kDataLoss);
  CHECK(VerifiedBatch::Verify(*compacted, {.dense = false}).ok());
}

}  // namespace
}  // namespace strata::record
