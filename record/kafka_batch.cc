// Kafka v2 record batch <-> Strata batch (kafka_batch.h, docs/kafka-batch.md).
#include "record/kafka_batch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/endian.h"
#include "common/limits.h"
#include "record/batch.h"
#include "record/crc32c.h"

namespace strata::record {

namespace bf = batch_format;
namespace kf = kafka_batch_format;

namespace {

// Kafka's integers are big-endian; common/endian.h is Strata's little-endian. Field by field,
// like everything else on the wire.
inline uint16_t GetBe16(const std::byte* p) {
  return uint16_t(uint16_t(p[0]) << 8 | uint16_t(p[1]));
}
inline uint32_t GetBe32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | uint32_t(p[i]);
  return v;
}
inline uint64_t GetBe64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | uint64_t(p[i]);
  return v;
}
inline void PutBe16(std::byte* p, uint16_t v) {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v);
}
inline void PutBe32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte(v >> (8 * (3 - i)));
}
inline void PutBe64(std::byte* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::byte(v >> (8 * (7 - i)));
}

absl::string_view CodecName(uint16_t codec) {
  switch (codec) {
    case kf::kCodecNone:
      return "none";
    case kf::kCodecGzip:
      return "gzip";
    case kf::kCodecSnappy:
      return "snappy";
    case kf::kCodecLz4:
      return "lz4";
    case kf::kCodecZstd:
      return "zstd";
  }
  return "unknown";
}

// The start of an LZ4 frame (lz4_Frame_format.md): the magic number, little-endian, then the FLG
// byte, whose top two bits are the format version (01) and whose bit 5 says the blocks are
// independent. Kafka's Java reader refuses frames without that bit ("Dependent block stream is
// unsupported"), so a frame stored without it could not be served to Java consumers.
constexpr uint32_t kLz4FrameMagic = 0x184D2204;
constexpr size_t kLz4FlgPos = 4;
constexpr uint8_t kLz4FlgVersionMask = 0xC0;
constexpr uint8_t kLz4FlgVersion = 0x40;
constexpr uint8_t kLz4FlgBlockIndependent = 0x20;

absl::Status CheckLz4FrameStart(std::span<const std::byte> records) {
  if (records.size() <= kLz4FlgPos) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "codec lz4 but the %d-byte records section is too short for an LZ4 frame header",
        records.size()));
  }
  const uint32_t magic = GetU32(records.data());
  if (magic != kLz4FrameMagic) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "codec lz4 but the records section does not start with the LZ4 frame magic 0x%08x "
        "(found 0x%08x)",
        kLz4FrameMagic, magic));
  }
  const uint8_t flg = uint8_t(records[kLz4FlgPos]);
  if ((flg & kLz4FlgVersionMask) != kLz4FlgVersion) {
    return absl::InvalidArgumentError(
        absl::StrFormat("LZ4 frame has FLG byte 0x%02x: not frame format version 01", flg));
  }
  if ((flg & kLz4FlgBlockIndependent) == 0) {
    return absl::InvalidArgumentError(
        "LZ4 frame uses linked blocks, which Kafka consumers cannot read; compress with "
        "independent blocks (as Kafka's own clients do)");
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// Every check of KafkaBatchToStrata that reads only the Kafka batch, in order; the header's
// fields on success (no checksum: the batch has none of Strata's yet).
absl::StatusOr<BatchHeader> CheckKafkaBatch(std::span<const std::byte> kafka) {
  const std::byte* k = kafka.data();

  // Framing, as far as it takes to read the magic byte: an entry of an old message set can be far
  // shorter than a v2 header, and a client sending one must hear that its format is the problem.
  if (kafka.size() < kf::kMagicPos + 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Kafka record batch of %d bytes is cut short: its magic byte is at offset %d", kafka.size(),
        kf::kMagicPos));
  }
  const int32_t batch_length = int32_t(GetBe32(k + kf::kBatchLengthPos));
  const int64_t framed_bytes = int64_t(kf::kLogOverheadBytes) + batch_length;
  if (framed_bytes < int64_t(kf::kMagicPos + 1) || framed_bytes > int64_t(kafka.size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Kafka record batch: batchLength %d frames %d bytes but %d bytes were given", batch_length,
        framed_bytes, kafka.size()));
  }
  const int8_t magic = int8_t(k[kf::kMagicPos]);
  if (magic == 0 || magic == 1) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "message format v0/v1 is not supported; use a client that sends v2 record batches "
        "(Kafka 0.11+) (got magic %d)",
        magic));
  }
  if (framed_bytes != int64_t(kafka.size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Kafka record batch: batchLength %d frames %d bytes but %d bytes were given; pass "
        "exactly one batch",
        batch_length, framed_bytes, kafka.size()));
  }
  if (magic != kf::kMagic) {
    return absl::InvalidArgumentError(
        absl::StrFormat("Kafka record batch has magic %d, which is no Kafka message format "
                        "(a v2 record batch has magic %d)",
                        magic, kf::kMagic));
  }
  if (kafka.size() < kf::kHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("Kafka record batch of %d bytes is shorter than the %d-byte v2 header",
                        kafka.size(), kf::kHeaderBytes));
  }
  const size_t strata_bytes = kafka.size() + kf::kHeaderBytesShorterThanStrata;
  if (strata_bytes > limits::batch_bytes_max) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "Kafka record batch of %d bytes makes a %d-byte Strata batch; limits::batch_bytes_max is "
        "%d",
        kafka.size(), strata_bytes, limits::batch_bytes_max));
  }

  const uint32_t stored_crc = GetBe32(k + kf::kCrcPos);
  const uint32_t computed_crc = Crc32c(0, kafka.subspan(kf::kCrcCoverPos));
  if (stored_crc != computed_crc) {
    return absl::DataLossError(absl::StrFormat(
        "CRC-32C mismatch in Kafka record batch: stored 0x%08x but bytes [%d, %d) give 0x%08x",
        stored_crc, kf::kCrcCoverPos, kafka.size(), computed_crc));
  }

  const uint16_t attributes = GetBe16(k + kf::kAttributesPos);
  const uint16_t codec = attributes & kf::kCompressionMask;
  if (codec == kf::kCodecGzip || codec == kf::kCodecSnappy || codec == kf::kCodecZstd) {
    return absl::UnimplementedError(
        absl::StrCat("compression codec ", CodecName(codec),
                     " is not supported by Strata; configure the producer with "
                     "compression.type=lz4 or none"));
  }
  if (codec != kf::kCodecNone && codec != kf::kCodecLz4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Kafka record batch has compression codec %d, which does not exist", codec));
  }
  if ((attributes & (kf::kTransactionalBit | kf::kControlBit)) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "transactional and control batches are not supported (attributes 0x%04x)", attributes));
  }
  constexpr uint16_t kKnownBits =
      kf::kCompressionMask | kf::kTimestampTypeBit | kf::kTransactionalBit | kf::kControlBit;
  if ((attributes & ~kKnownBits) != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "Kafka record batch has attributes 0x%04x: bits above 5 (bit 6 is the delete horizon "
        "Kafka's log cleaner sets) do not belong in a produced batch",
        attributes));
  }
  const std::span<const std::byte> records = kafka.subspan(kf::kRecordsPos);
  if (codec == kf::kCodecLz4) STRATA_RETURN_IF_ERROR(CheckLz4FrameStart(records));

  BatchHeader h;
  h.base_offset = int64_t(GetBe64(k + kf::kBaseOffsetPos));
  h.batch_length = int32_t(strata_bytes - bf::kLogOverheadBytes);
  h.leader_epoch = int32_t(GetBe32(k + kf::kPartitionLeaderEpochPos));
  h.magic = bf::kMagic;
  h.attributes = attributes;
  h.last_offset_delta = int32_t(GetBe32(k + kf::kLastOffsetDeltaPos));
  h.first_timestamp = int64_t(GetBe64(k + kf::kBaseTimestampPos));
  h.max_timestamp = int64_t(GetBe64(k + kf::kMaxTimestampPos));
  h.producer_id = int64_t(GetBe64(k + kf::kProducerIdPos));
  h.producer_epoch = int16_t(GetBe16(k + kf::kProducerEpochPos));
  h.base_sequence = int32_t(GetBe32(k + kf::kBaseSequencePos));
  h.record_count = int32_t(GetBe32(k + kf::kRecordCountPos));
  return h;
}

}  // namespace

absl::StatusOr<std::vector<std::byte>> KafkaBatchToStrata(std::span<const std::byte> kafka) {
  STRATA_ASSIGN_OR_RETURN(const BatchHeader h, CheckKafkaBatch(kafka));
  const std::span<const std::byte> records = kafka.subspan(kf::kRecordsPos);
  const size_t strata_bytes = h.size_bytes();

  std::vector<std::byte> out(strata_bytes);
  std::byte* s = out.data();
  PutI64(s + bf::kBaseOffsetPos, h.base_offset);
  PutI32(s + bf::kBatchLengthPos, h.batch_length);
  PutI32(s + bf::kLeaderEpochPos, h.leader_epoch);
  s[bf::kMagicPos] = std::byte(bf::kMagic);
  PutU16(s + bf::kAttributesPos, h.attributes);
  PutI32(s + bf::kLastOffsetDeltaPos, h.last_offset_delta);
  PutI64(s + bf::kFirstTimestampPos, h.first_timestamp);
  PutI64(s + bf::kMaxTimestampPos, h.max_timestamp);
  PutI64(s + bf::kProducerIdPos, h.producer_id);
  PutI16(s + bf::kProducerEpochPos, h.producer_epoch);
  PutI32(s + bf::kBaseSequencePos, h.base_sequence);
  PutI32(s + bf::kRecordCountPos, h.record_count);
  std::copy(records.begin(), records.end(), s + bf::kRecordsPos);
  // Last: the checksum covers every header field written above from attributes on.
  PutU64(s + bf::kChecksumPos, ComputeBatchChecksum(out));

  // Strata's own rules for a producer's batch, so a batch that came in through Kafka is held to
  // exactly what one from a Strata client is.
  absl::StatusOr<BatchHeader> header = ParseBatchHeader(out);
  absl::Status st = header.ok() ? CheckDenseBatch(*header) : header.status();
  if (!st.ok()) {
    return absl::Status(
        st.code(), absl::StrCat("Kafka record batch breaks Strata's batch rules: ", st.message()));
  }
  return out;
}

absl::StatusOr<BatchReader> OpenKafkaBatch(std::span<const std::byte> kafka) {
  STRATA_ASSIGN_OR_RETURN(const BatchHeader h, CheckKafkaBatch(kafka));
  return BatchReader::OpenSection(h, kafka.subspan(kf::kRecordsPos));
}

absl::StatusOr<KafkaBatchHeader> StrataToKafkaHeader(std::span<const std::byte> strata_batch) {
  STRATA_ASSIGN_OR_RETURN(const BatchHeader h, ParseBatchHeader(strata_batch));
  if (strata_batch.size() != h.size_bytes()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("StrataToKafkaHeader takes exactly one batch: got %d bytes for the "
                        "%d-byte batch at offset %d",
                        strata_batch.size(), h.size_bytes(), h.base_offset));
  }
  KafkaBatchHeader out{};
  std::byte* k = out.data();
  PutBe64(k + kf::kBaseOffsetPos, uint64_t(h.base_offset));
  PutBe32(k + kf::kBatchLengthPos,
          uint32_t(h.batch_length - int32_t(kf::kHeaderBytesShorterThanStrata)));
  PutBe32(k + kf::kPartitionLeaderEpochPos, uint32_t(h.leader_epoch));
  k[kf::kMagicPos] = std::byte(kf::kMagic);
  PutBe16(k + kf::kAttributesPos, h.attributes);
  PutBe32(k + kf::kLastOffsetDeltaPos, uint32_t(h.last_offset_delta));
  PutBe64(k + kf::kBaseTimestampPos, uint64_t(h.first_timestamp));
  PutBe64(k + kf::kMaxTimestampPos, uint64_t(h.max_timestamp));
  PutBe64(k + kf::kProducerIdPos, uint64_t(h.producer_id));
  PutBe16(k + kf::kProducerEpochPos, uint16_t(h.producer_epoch));
  PutBe32(k + kf::kBaseSequencePos, uint32_t(h.base_sequence));
  PutBe32(k + kf::kRecordCountPos, uint32_t(h.record_count));
  // Kafka's CRC covers [21, end): this header's tail, then the records the caller sends after it.
  uint32_t crc = Crc32c(0, std::span<const std::byte>(out).subspan(kf::kCrcCoverPos));
  crc = Crc32c(crc, StrataRecordsSection(strata_batch));
  PutBe32(k + kf::kCrcPos, crc);
  return out;
}

}  // namespace strata::record
