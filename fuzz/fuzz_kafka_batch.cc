// libFuzzer target for the Kafka v2 record batch conversion (record/kafka_batch.h), which a
// Kafka-protocol listener runs on every batch a Kafka producer sends.
//
// Input: one flags byte, then one Kafka batch. Random bytes almost never carry a valid CRC-32C,
// so with flag bit 0 set the target writes the right CRC into the batch first; that lets the
// fuzzer reach the checks behind it (codec, attributes, LZ4 frame start, Strata's header rules).
//
// What must hold:
//   - KafkaBatchToStrata fails only with the codes kafka_batch.h lists;
//   - a batch it accepts is a Strata batch that VerifyBatch accepts, 4 bytes longer, whose records
//     are then read as a consumer would, and which StrataToKafkaHeader turns back into exactly the
//     input bytes;
//   - StrataToKafkaHeader, given the input as if it were a stored Strata batch, either refuses it
//     or produces a header whose CRC-32C is right for that header followed by the records.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "fuzz/walk.h"
#include "record/batch.h"
#include "record/crc32c.h"
#include "record/kafka_batch.h"

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "fuzz_kafka_batch: %s\n", what);
  std::abort();
}

uint32_t GetBe32(const std::byte* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  namespace kf = record::kafka_batch_format;
  if (size < 1) return 0;
  const bool fix_crc = (data[0] & 1) != 0;
  // A copy the exact size of the batch, so ASan sees any read past its end.
  std::vector<std::byte> kafka(reinterpret_cast<const std::byte*>(data) + 1,
                               reinterpret_cast<const std::byte*>(data) + size);
  if (fix_crc && kafka.size() >= kf::kCrcCoverPos) {
    const uint32_t crc =
        record::Crc32c(0, std::span<const std::byte>(kafka).subspan(kf::kCrcCoverPos));
    for (int i = 0; i < 4; ++i) kafka[kf::kCrcPos + size_t(i)] = std::byte(crc >> (8 * (3 - i)));
  }

  uint64_t h = 0;
  absl::StatusOr<std::vector<std::byte>> strata = record::KafkaBatchToStrata(kafka);
  if (!strata.ok()) {
    switch (strata.status().code()) {
      case absl::StatusCode::kInvalidArgument:
      case absl::StatusCode::kFailedPrecondition:
      case absl::StatusCode::kResourceExhausted:
      case absl::StatusCode::kDataLoss:
      case absl::StatusCode::kUnimplemented:
        break;
      default:
        Fail("KafkaBatchToStrata failed with a status code kafka_batch.h does not list");
    }
  } else {
    if (strata->size() != kafka.size() + kf::kHeaderBytesShorterThanStrata) {
      Fail("the Strata batch is not 4 bytes longer than the Kafka batch");
    }
    if (!record::VerifyBatch(*strata).ok()) Fail("an accepted batch fails VerifyBatch");
    h = fuzz::Mix(h, fuzz::WalkBatch(*strata));
    absl::StatusOr<record::KafkaBatchHeader> back = record::StrataToKafkaHeader(*strata);
    if (!back.ok()) Fail("StrataToKafkaHeader refuses a batch KafkaBatchToStrata made");
    const std::span<const std::byte> records = record::StrataRecordsSection(*strata);
    if (!std::equal(back->begin(), back->end(), kafka.begin()) ||
        !std::equal(records.begin(), records.end(), kafka.begin() + kf::kHeaderBytes,
                    kafka.end())) {
      Fail("Kafka -> Strata -> Kafka changed the bytes");
    }
  }

  // The input as a stored Strata batch (its XXH3-64 is not checked on this path).
  absl::StatusOr<record::KafkaBatchHeader> header = record::StrataToKafkaHeader(kafka);
  if (header.ok()) {
    const std::span<const std::byte> tail =
        std::span<const std::byte>(*header).subspan(kf::kCrcCoverPos);
    const uint32_t crc =
        record::Crc32c(record::Crc32c(0, tail), record::StrataRecordsSection(kafka));
    if (crc != GetBe32(header->data() + kf::kCrcPos)) Fail("the served header's CRC is wrong");
    h = fuzz::Mix(h, crc);
  }
  fuzz::Sink(h);
  return 0;
}
