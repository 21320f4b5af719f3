// Tests for the Kafka v2 record batch conversion: round trips in both directions, the Kafka header
// byte for byte, the CRC-32C, and every refusal with its status code.
#include "record/kafka_batch.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/endian.h"
#include "common/limits.h"
#include "record/batch.h"

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
namespace kf = kafka_batch_format;
using Bytes = std::vector<std::byte>;

Bytes Hex(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(std::byte(x));
  return b;
}

// Big-endian reads and writes of the test's own, independent of the code under test.
uint64_t Be(const Bytes& b, size_t pos, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v = (v << 8) | uint64_t(b[pos + i]);
  return v;
}
void PutBe(Bytes& b, size_t pos, size_t width, uint64_t v) {
  for (size_t i = 0; i < width; ++i) b[pos + i] = std::byte(v >> (8 * (width - 1 - i)));
}

// CRC-32C by its definition, one bit at a time (not record/crc32c.h).
uint32_t ReferenceCrc32c(const Bytes& b, size_t from) {
  uint32_t c = 0xFFFFFFFF;
  for (size_t i = from; i < b.size(); ++i) {
    c ^= uint32_t(b[i]);
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1) != 0 ? 0x82F63B78u : 0u);
  }
  return ~c;
}

// Recomputes a Kafka batch's CRC after the test edited it.
void FixCrc(Bytes& kafka) {
  PutBe(kafka, kf::kCrcPos, 4, ReferenceCrc32c(kafka, kf::kCrcCoverPos));
}

RecordInput Rec(int64_t timestamp_ms, std::optional<std::string_view> key,
                std::optional<std::string_view> value, std::vector<RecordHeader> headers = {}) {
  return RecordInput{timestamp_ms, key, value, std::move(headers)};
}

// Whether a status message contains `what`.
bool Says(const absl::Status& status, std::string_view what) {
  return std::string_view(status.message().data(), status.message().size()).find(what) !=
         std::string_view::npos;
}

Bytes MustBuild(const BatchBuilder& builder) {
  absl::StatusOr<Bytes> b = builder.Build();
  INFO(b.status());
  REQUIRE(b.ok());
  return *std::move(b);
}

// What a Kafka listener sends for a stored batch: the new header, then the records unchanged.
Bytes ToKafka(const Bytes& strata) {
  absl::StatusOr<KafkaBatchHeader> header = StrataToKafkaHeader(strata);
  INFO(header.status());
  REQUIRE(header.ok());
  const std::span<const std::byte> records = StrataRecordsSection(strata);
  // resize + copy rather than insert: GCC 12 misreads insert's memmove (-Warray-bounds).
  Bytes out(header->size() + records.size());
  std::copy(header->begin(), header->end(), out.begin());
  std::copy(records.begin(), records.end(), out.begin() + std::ptrdiff_t(header->size()));
  return out;
}

Bytes MustToStrata(const Bytes& kafka) {
  absl::StatusOr<Bytes> strata = KafkaBatchToStrata(kafka);
  INFO(strata.status());
  REQUIRE(strata.ok());
  return *std::move(strata);
}

// The batches of the round-trip tests: keys, null keys and values, empty values, headers with null
// values, timestamps out of order, idempotent producer fields, stamped offsets, with and without
// LZ4.
std::vector<Bytes> SampleBatches() {
  std::vector<Bytes> out;
  for (Compression c : {Compression::kNone, Compression::kLz4}) {
    {
      BatchBuilder b({.compression = c});
      b.Add(Rec(1700000000000, "k", "v"));
      out.push_back(MustBuild(b));
    }
    {
      BatchBuilder b({.compression = c,
                      .base_offset = 1234567,
                      .leader_epoch = 9,
                      .producer_id = 4000000001,
                      .producer_epoch = 3,
                      .base_sequence = 77});
      b.Add(Rec(1700000000500, "user-1", "a value",
                {{"trace", "abc"}, {"null-header", std::nullopt}}));
      b.Add(Rec(1700000000100, std::nullopt, "no key"));
      b.Add(Rec(1700000000900, "tombstone", std::nullopt));
      b.Add(Rec(1700000000900, "", ""));
      out.push_back(MustBuild(b));
    }
    {
      BatchBuilder b({.compression = c, .base_offset = 5, .leader_epoch = 1});
      const std::string value(3000, 'x');
      for (int i = 0; i < 200; ++i) {
        b.Add(Rec(1700000000000 + i, "key", value));
      }
      out.push_back(MustBuild(b));
    }
  }
  return out;
}

TEST_CASE("Strata -> Kafka -> Strata gives back the same bytes") {
  for (const Bytes& strata : SampleBatches()) {
    const Bytes kafka = ToKafka(strata);
    CHECK(kafka.size() == KafkaBatchSize(strata.size()));
    CHECK(kafka.size() == strata.size() - 4);
    const Bytes back = MustToStrata(kafka);
    CHECK(back == strata);
    // And the other way round: the Kafka batch made again from the result is the same too.
    CHECK(ToKafka(back) == kafka);
  }
}

TEST_CASE("the Kafka header holds every field big-endian at Kafka's offsets") {
  for (const Bytes& strata : SampleBatches()) {
    absl::StatusOr<BatchHeader> h = VerifyBatch(strata);
    REQUIRE(h.ok());
    const Bytes kafka = ToKafka(strata);
    INFO("batch at offset " << h->base_offset << ", " << h->record_count << " records");
    CHECK(int64_t(Be(kafka, 0, 8)) == h->base_offset);
    CHECK(int32_t(Be(kafka, 8, 4)) == int32_t(kafka.size() - 12));
    CHECK(int32_t(Be(kafka, 12, 4)) == h->leader_epoch);
    CHECK(Be(kafka, 16, 1) == 2);
    CHECK(uint16_t(Be(kafka, 21, 2)) == h->attributes);
    CHECK(int32_t(Be(kafka, 23, 4)) == h->last_offset_delta);
    CHECK(int64_t(Be(kafka, 27, 8)) == h->first_timestamp);
    CHECK(int64_t(Be(kafka, 35, 8)) == h->max_timestamp);
    CHECK(int64_t(Be(kafka, 43, 8)) == h->producer_id);
    CHECK(int16_t(Be(kafka, 51, 2)) == h->producer_epoch);
    CHECK(int32_t(Be(kafka, 53, 4)) == h->base_sequence);
    CHECK(int32_t(Be(kafka, 57, 4)) == h->record_count);
    // The CRC, recomputed independently over [21, end).
    CHECK(uint32_t(Be(kafka, 17, 4)) == ReferenceCrc32c(kafka, 21));
    // The records section is the Strata batch's, byte for byte.
    CHECK(Bytes(kafka.begin() + 61, kafka.end()) == Bytes(strata.begin() + 65, strata.end()));
  }
}

TEST_CASE("the documented batch in Kafka's format, byte for byte") {
  // docs/format.md's worked example, shown as Kafka's batch in docs/kafka-batch.md.
  BatchBuilder b({.producer_id = 7, .producer_epoch = 2, .base_sequence = 5});
  b.Add(Rec(1700000000000, "k", "v", {{"h", "x"}}));
  Bytes strata = MustBuild(b);
  StampBatch(strata, 42, 3);
  const Bytes expected = Hex({
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x3e, 0x00, 0x00, 0x00,
      0x03, 0x02, 0xe0, 0x90, 0xc6, 0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
      0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
      0x01, 0x18, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x02, 0x76, 0x02, 0x02, 0x68, 0x02, 0x78,
  });
  REQUIRE(expected.size() == 74);
  CHECK(ToKafka(strata) == expected);
  CHECK(MustToStrata(expected) == strata);
}

TEST_CASE("a Kafka producer's batch, encoded by hand, converts and reads back") {
  // As a Java or librdkafka producer sends it: baseOffset 0, partitionLeaderEpoch -1, no
  // idempotence, two records ("a" = "1" at t, null key = "2" at t + 3).
  const Bytes records = Hex({
      0x10, 0x00, 0x00, 0x00, 0x02, 0x61, 0x02, 0x31, 0x00,  // len 8, ts +0, delta 0, "a", "1", 0
      0x0e, 0x00, 0x06, 0x02, 0x01, 0x02, 0x32, 0x00,        // len 7, ts +3, delta 1, null, "2", 0
  });
  Bytes kafka(61);
  PutBe(kafka, 0, 8, 0);
  PutBe(kafka, 8, 4, uint64_t(61 - 12 + records.size()));
  PutBe(kafka, 12, 4, uint32_t(-1));
  PutBe(kafka, 16, 1, 2);
  PutBe(kafka, 21, 2, 0);
  PutBe(kafka, 23, 4, 1);
  PutBe(kafka, 27, 8, 1700000000000);
  PutBe(kafka, 35, 8, 1700000000003);
  PutBe(kafka, 43, 8, uint64_t(-1));
  PutBe(kafka, 51, 2, uint16_t(-1));
  PutBe(kafka, 53, 4, uint32_t(-1));
  PutBe(kafka, 57, 4, 2);
  kafka.insert(kafka.end(), records.begin(), records.end());
  FixCrc(kafka);

  const Bytes strata = MustToStrata(kafka);
  absl::StatusOr<BatchReader> reader = BatchReader::Open(strata);
  REQUIRE(reader.ok());
  CHECK(reader->header().leader_epoch == -1);
  CHECK(reader->header().producer_id == -1);
  absl::StatusOr<std::vector<Record>> all = reader->ReadAll();
  INFO(all.status());
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].offset == 0);
  CHECK((*all)[0].timestamp_ms == 1700000000000);
  CHECK((*all)[0].key == "a");
  CHECK((*all)[0].value == "1");
  CHECK((*all)[1].offset == 1);
  CHECK((*all)[1].timestamp_ms == 1700000000003);
  CHECK(!(*all)[1].key.has_value());
  CHECK((*all)[1].value == "2");
  // What the leader stamps survives the way back to Kafka; the CRC does not depend on it.
  Bytes stamped = strata;
  StampBatch(stamped, 100, 4);
  const Bytes served = ToKafka(stamped);
  CHECK(Be(served, 0, 8) == 100);
  CHECK(Be(served, 12, 4) == 4);
  CHECK(Bytes(served.begin() + 16, served.end()) == Bytes(kafka.begin() + 16, kafka.end()));
}

// A valid Kafka batch for the refusal tests.
Bytes SampleKafka(Compression c = Compression::kNone) {
  BatchBuilder b({.compression = c});
  b.Add(Rec(1700000000000, "k", "v", {{"h", "x"}}));
  b.Add(Rec(1700000000001, "k2", "v2"));
  return ToKafka(MustBuild(b));
}

TEST_CASE("a changed byte under the CRC is DataLoss") {
  for (Compression c : {Compression::kNone, Compression::kLz4}) {
    const Bytes good = SampleKafka(c);
    for (size_t pos : {size_t(17), size_t(21), size_t(30), size_t(60), size_t(61), good.size() / 2,
                       good.size() - 1}) {
      Bytes bad = good;
      bad[pos] ^= std::byte{0x01};
      absl::StatusOr<Bytes> r = KafkaBatchToStrata(bad);
      INFO("byte " << pos << ": " << r.status());
      CHECK(r.status().code() == absl::StatusCode::kDataLoss);
      CHECK(Says(r.status(), "CRC-32C mismatch"));
    }
  }
  // baseOffset and partitionLeaderEpoch lie outside it, as in Kafka: the leader overwrites them.
  Bytes restamped = SampleKafka();
  restamped[7] = std::byte{9};
  restamped[15] = std::byte{4};
  const Bytes strata = MustToStrata(restamped);
  CHECK(GetI64(strata.data() + bf::kBaseOffsetPos) == 9);
  CHECK(GetI32(strata.data() + bf::kLeaderEpochPos) == 4);
}

TEST_CASE("message format v0 and v1 are FailedPrecondition") {
  for (int magic : {0, 1}) {
    INFO("magic " << magic);
    // A whole batch with the magic changed.
    Bytes kafka = SampleKafka();
    kafka[kf::kMagicPos] = std::byte(magic);
    absl::StatusOr<Bytes> r = KafkaBatchToStrata(kafka);
    CHECK(r.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(Says(r.status(),
               "message format v0/v1 is not supported; use a client that sends v2 "
               "record batches (Kafka 0.11+)"));
    // A real message is far shorter than a v2 header: offset, size, crc, magic, attributes,
    // (v1 only: timestamp), null key, null value.
    Bytes message = Hex(
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, magic == 0 ? 14 : 22, 0x12, 0x34, 0x56, 0x78, magic, 0});
    if (magic == 1) message.resize(message.size() + 8, std::byte{0x01});
    message.resize(message.size() + 8, std::byte{0xff});
    REQUIRE(message.size() == (magic == 0 ? 26u : 34u));
    CHECK(KafkaBatchToStrata(message).status().code() == absl::StatusCode::kFailedPrecondition);
    // And a message set of two such messages: the first one decides.
    Bytes set = message;
    set.insert(set.end(), message.begin(), message.end());
    CHECK(KafkaBatchToStrata(set).status().code() == absl::StatusCode::kFailedPrecondition);
  }
  for (int magic : {3, 0x7f, 0xff}) {
    Bytes kafka = SampleKafka();
    kafka[kf::kMagicPos] = std::byte(magic);
    absl::StatusOr<Bytes> r = KafkaBatchToStrata(kafka);
    INFO("magic " << magic << ": " << r.status());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("gzip, snappy and zstd are Unimplemented; codecs that do not exist InvalidArgument") {
  const std::vector<std::pair<int, std::string>> refused = {
      {1, "gzip"}, {2, "snappy"}, {4, "zstd"}};
  for (const auto& [codec, name] : refused) {
    Bytes kafka = SampleKafka();
    PutBe(kafka, kf::kAttributesPos, 2, uint64_t(codec));
    FixCrc(kafka);
    absl::StatusOr<Bytes> r = KafkaBatchToStrata(kafka);
    INFO(r.status());
    CHECK(r.status().code() == absl::StatusCode::kUnimplemented);
    CHECK(r.status().message() ==
          "compression codec " + name +
              " is not supported by Strata; configure the producer with compression.type=lz4 "
              "or none");
  }
  for (int codec : {5, 6, 7}) {
    Bytes kafka = SampleKafka();
    PutBe(kafka, kf::kAttributesPos, 2, uint64_t(codec));
    FixCrc(kafka);
    CHECK(KafkaBatchToStrata(kafka).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("transactional, control and other attribute bits are InvalidArgument") {
  for (uint16_t bits : {uint16_t(0x10), uint16_t(0x20), uint16_t(0x30)}) {
    Bytes kafka = SampleKafka();
    PutBe(kafka, kf::kAttributesPos, 2, bits);
    FixCrc(kafka);
    absl::StatusOr<Bytes> r = KafkaBatchToStrata(kafka);
    INFO(r.status());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Says(r.status(), "transactional and control batches are not supported"));
  }
  for (uint16_t bits : {uint16_t(0x40), uint16_t(0x8000)}) {
    Bytes kafka = SampleKafka();
    PutBe(kafka, kf::kAttributesPos, 2, bits);
    FixCrc(kafka);
    CHECK(KafkaBatchToStrata(kafka).status().code() == absl::StatusCode::kInvalidArgument);
  }
  // The timestamp type bit (log-append time) passes through.
  Bytes kafka = SampleKafka();
  PutBe(kafka, kf::kAttributesPos, 2, kf::kTimestampTypeBit);
  FixCrc(kafka);
  const Bytes strata = MustToStrata(kafka);
  CHECK(GetU16(strata.data() + bf::kAttributesPos) == bf::kTimestampTypeBit);
}

TEST_CASE("an LZ4 records section must be a frame with independent blocks") {
  {
    // Flip the frame's block-independence flag (FLG bit 5).
    Bytes kafka = SampleKafka(Compression::kLz4);
    REQUIRE((uint8_t(kafka[61 + 4]) & 0x20) != 0);
    kafka[61 + 4] &= std::byte{0xdf};
    FixCrc(kafka);
    absl::StatusOr<Bytes> r = KafkaBatchToStrata(kafka);
    INFO(r.status());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Says(r.status(), "linked blocks"));
  }
  {
    // Uncompressed records labelled LZ4.
    Bytes kafka = SampleKafka();
    PutBe(kafka, kf::kAttributesPos, 2, kf::kCodecLz4);
    FixCrc(kafka);
    absl::StatusOr<Bytes> r = KafkaBatchToStrata(kafka);
    INFO(r.status());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Says(r.status(), "LZ4 frame magic"));
  }
}

TEST_CASE("truncated, padded or doubled input is an error, never a crash") {
  for (Compression c : {Compression::kNone, Compression::kLz4}) {
    const Bytes good = SampleKafka(c);
    // Every prefix, with batchLength as sent (it then claims more than is there) and adjusted to
    // the prefix (a consistent frame that is too short or whose CRC no longer matches).
    for (size_t n = 0; n < good.size(); ++n) {
      Bytes cut(good.begin(), good.begin() + n);
      absl::StatusOr<Bytes> r = KafkaBatchToStrata(cut);
      INFO(n << " bytes: " << r.status());
      CHECK(!r.ok());
      if (n >= 12) {
        PutBe(cut, kf::kBatchLengthPos, 4, uint64_t(n - 12));
        CHECK(!KafkaBatchToStrata(cut).ok());
      }
    }
    Bytes padded = good;
    padded.push_back(std::byte{0});
    CHECK(KafkaBatchToStrata(padded).status().code() == absl::StatusCode::kInvalidArgument);
    Bytes doubled = good;
    doubled.insert(doubled.end(), good.begin(), good.end());
    CHECK(KafkaBatchToStrata(doubled).status().code() == absl::StatusCode::kInvalidArgument);
    Bytes negative = good;
    PutBe(negative, kf::kBatchLengthPos, 4, uint32_t(-1));
    CHECK(KafkaBatchToStrata(negative).status().code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(KafkaBatchToStrata({}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Strata's batch rules apply to a converted batch") {
  struct Case {
    const char* what;
    size_t pos;
    size_t width;
    uint64_t value;
    std::string_view message;
  };
  const std::vector<Case> cases = {
      {"negative record count", kf::kRecordCountPos, 4, uint32_t(-1), "record_count -1"},
      {"more offsets than records", kf::kLastOffsetDeltaPos, 4, 5, "a producer's batch"},
      {"fewer offsets than records", kf::kLastOffsetDeltaPos, 4, 0, "last_offset_delta 0"},
      {"no records", kf::kRecordCountPos, 4, 0, "record_count 0"},
      {"max timestamp before the first", kf::kMaxTimestampPos, 8, 1, "max_timestamp 1"},
      {"offsets past INT64_MAX", kf::kBaseOffsetPos, 8, uint64_t(INT64_MAX), "largest offset"},
  };
  for (const Case& c : cases) {
    Bytes kafka = SampleKafka();
    PutBe(kafka, c.pos, c.width, c.value);
    FixCrc(kafka);
    absl::StatusOr<Bytes> r = KafkaBatchToStrata(kafka);
    INFO(c.what << ": " << r.status());
    CHECK(r.status().code() == absl::StatusCode::kDataLoss);
    CHECK(Says(r.status(), "Strata's batch rules"));
    CHECK(Says(r.status(), c.message));
  }
}

TEST_CASE("a batch over limits::batch_bytes_max once converted is ResourceExhausted") {
  // The size is checked before the CRC, so the header alone decides.
  Bytes kafka(limits::batch_bytes_max - 3);
  PutBe(kafka, kf::kBatchLengthPos, 4, kafka.size() - 12);
  PutBe(kafka, kf::kMagicPos, 1, 2);
  CHECK(KafkaBatchToStrata(kafka).status().code() == absl::StatusCode::kResourceExhausted);
  // One byte less fits, and goes on to the CRC check.
  kafka.pop_back();
  PutBe(kafka, kf::kBatchLengthPos, 4, kafka.size() - 12);
  CHECK(KafkaBatchToStrata(kafka).status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("StrataToKafkaHeader bounds-checks what it is given") {
  Bytes strata = MustBuild([] {
    BatchBuilder b;
    b.Add(Rec(1, "k", "v"));
    return b;
  }());
  CHECK(StrataToKafkaHeader(Bytes(strata.begin(), strata.begin() + 64)).status().code() ==
        absl::StatusCode::kOutOfRange);
  CHECK(StrataToKafkaHeader(Bytes(strata.begin(), strata.end() - 1)).status().code() ==
        absl::StatusCode::kOutOfRange);
  Bytes longer = strata;
  longer.push_back(std::byte{0});
  CHECK(StrataToKafkaHeader(longer).status().code() == absl::StatusCode::kInvalidArgument);
  Bytes wrong_magic = strata;
  wrong_magic[bf::kMagicPos] = std::byte{2};
  CHECK(StrataToKafkaHeader(wrong_magic).status().code() == absl::StatusCode::kDataLoss);
  CHECK(StrataToKafkaHeader({}).status().code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("compacted batches are served, and only dense ones are taken back") {
  BatchBuilder b({.base_offset = 10});
  for (int i = 0; i < 4; ++i) b.Add(Rec(1000 + i, "k", "v"));
  const Bytes original = MustBuild(b);
  absl::StatusOr<BatchReader> reader = BatchReader::Open(original);
  REQUIRE(reader.ok());
  Bytes kept;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(reader->Next().ok());
    if (i == 2) {
      const std::span<const std::byte> enc = reader->last_record_encoding();
      kept.assign(enc.begin(), enc.end());
    }
  }
  for (int32_t kept_count : {1, 0}) {
    INFO(kept_count << " records kept");
    absl::StatusOr<Bytes> compacted =
        BuildCompactedBatch(original, kept_count == 0 ? Bytes{} : kept, kept_count);
    REQUIRE(compacted.ok());
    const Bytes kafka = ToKafka(*compacted);
    CHECK(Be(kafka, kf::kLastOffsetDeltaPos, 4) == 3);
    CHECK(Be(kafka, kf::kRecordCountPos, 4) == uint64_t(kept_count));
    CHECK(uint32_t(Be(kafka, kf::kCrcPos, 4)) == ReferenceCrc32c(kafka, kf::kCrcCoverPos));
    // Not a producer's batch: refused on the way in.
    CHECK(KafkaBatchToStrata(kafka).status().code() == absl::StatusCode::kDataLoss);
  }
}

}  // namespace
}  // namespace strata::record

namespace strata::record {
namespace {

TEST_CASE("OpenKafkaBatch reads a Kafka batch's records in place, after the same checks") {
  for (const Bytes& strata : SampleBatches()) {
    const Bytes kafka = ToKafka(strata);
    auto expected = BatchReader::Open(strata);
    REQUIRE(expected.ok());
    auto in_place = OpenKafkaBatch(kafka);
    REQUIRE(in_place.ok());
    CHECK(in_place->header().base_offset == expected->header().base_offset);
    CHECK(in_place->header().record_count == expected->header().record_count);
    auto want = expected->ReadAll();
    auto got = in_place->ReadAll();
    REQUIRE(want.ok());
    REQUIRE(got.ok());
    REQUIRE(got->size() == want->size());
    for (size_t i = 0; i < got->size(); ++i) {
      CHECK((*got)[i].offset == (*want)[i].offset);
      CHECK((*got)[i].timestamp_ms == (*want)[i].timestamp_ms);
      CHECK((*got)[i].key == (*want)[i].key);
      CHECK((*got)[i].value == (*want)[i].value);
    }
    Bytes damaged = kafka;
    damaged.back() ^= std::byte{1};
    CHECK(absl::IsDataLoss(OpenKafkaBatch(damaged).status()));
  }
}

}  // namespace
}  // namespace strata::record
