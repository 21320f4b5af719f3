// Conversion between Kafka's v2 record batch (magic 2) and Strata's batch, for a listener that
// speaks the Kafka protocol. docs/kafka-batch.md is the prose spec; this header holds Kafka's
// header constants and the two conversions.
//
//  offset size field
//   0      8   baseOffset
//   8      4   batchLength          bytes after this field (batch size - 12)
//  12      4   partitionLeaderEpoch
//  16      1   magic                2
//  17      4   crc                  CRC-32C of bytes [21, end)
//  21      2   attributes           same bits as Strata's
//  23      4   lastOffsetDelta
//  27      8   baseTimestamp
//  35      8   maxTimestamp
//  43      8   producerId
//  51      2   producerEpoch
//  53      4   baseSequence
//  57      4   recordCount
//  61      .   records              byte for byte the same as in a Strata batch
//
// All integers are big-endian. The two formats hold the same fields in the same order and the
// same records section (Kafka's v2 record encoding, or one LZ4 frame), so a conversion rewrites
// the header and copies or points at the records; it never decodes or re-encodes them. Strata's
// header is 4 bytes longer (an 8-byte XXH3-64 where Kafka has a 4-byte CRC-32C).
//
// Stateless functions, safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"
#include "record/batch.h"
#include "record/batch_format.h"

namespace strata::record {

namespace kafka_batch_format {

inline constexpr size_t kBaseOffsetPos = 0;
inline constexpr size_t kBatchLengthPos = kBaseOffsetPos + 8;
inline constexpr size_t kPartitionLeaderEpochPos = kBatchLengthPos + 4;
inline constexpr size_t kMagicPos = kPartitionLeaderEpochPos + 4;
inline constexpr size_t kCrcPos = kMagicPos + 1;
inline constexpr size_t kAttributesPos = kCrcPos + 4;
inline constexpr size_t kLastOffsetDeltaPos = kAttributesPos + 2;
inline constexpr size_t kBaseTimestampPos = kLastOffsetDeltaPos + 4;
inline constexpr size_t kMaxTimestampPos = kBaseTimestampPos + 8;
inline constexpr size_t kProducerIdPos = kMaxTimestampPos + 8;
inline constexpr size_t kProducerEpochPos = kProducerIdPos + 8;
inline constexpr size_t kBaseSequencePos = kProducerEpochPos + 2;
inline constexpr size_t kRecordCountPos = kBaseSequencePos + 4;
inline constexpr size_t kRecordsPos = kRecordCountPos + 4;

// The fixed header, everything before the records.
inline constexpr size_t kHeaderBytes = kRecordsPos;
// Bytes before (and not counted by) batchLength.
inline constexpr size_t kLogOverheadBytes = kPartitionLeaderEpochPos;
// The CRC covers [kCrcCoverPos, end): attributes onward.
inline constexpr size_t kCrcCoverPos = kAttributesPos;

// The offsets of Kafka's DefaultRecordBatch.java, checked field by field.
static_assert(kBatchLengthPos == 8);
static_assert(kPartitionLeaderEpochPos == 12);
static_assert(kMagicPos == 16);
static_assert(kCrcPos == 17);
static_assert(kAttributesPos == 21);
static_assert(kLastOffsetDeltaPos == 23);
static_assert(kBaseTimestampPos == 27);
static_assert(kMaxTimestampPos == 35);
static_assert(kProducerIdPos == 43);
static_assert(kProducerEpochPos == 51);
static_assert(kBaseSequencePos == 53);
static_assert(kRecordCountPos == 57);
static_assert(kHeaderBytes == 61, "Kafka's v2 header is 61 bytes: update docs/kafka-batch.md");
static_assert(kLogOverheadBytes == batch_format::kLogOverheadBytes,
              "both formats frame a batch with the same 12 bytes");
// The one difference in size: a 4-byte CRC-32C where Strata has an 8-byte XXH3-64.
inline constexpr size_t kHeaderBytesShorterThanStrata = batch_format::kHeaderBytes - kHeaderBytes;
static_assert(kHeaderBytesShorterThanStrata == 4);

// The v2 record batch. Magic 0 and 1 are the older message sets (one message per entry, a
// different layout), which also carry their magic byte at offset 16.
inline constexpr int8_t kMagic = 2;

// Attributes: bits 0-3 mean what Strata's do (batch_format.h). Bit 6 is Kafka's delete horizon,
// set only by Kafka's log cleaner.
inline constexpr uint16_t kCompressionMask = batch_format::kCompressionMask;
inline constexpr uint16_t kTimestampTypeBit = batch_format::kTimestampTypeBit;
inline constexpr uint16_t kTransactionalBit = batch_format::kTransactionalBit;
inline constexpr uint16_t kControlBit = batch_format::kControlBit;
// Kafka's compression codecs (CompressionType.java).
inline constexpr uint16_t kCodecNone = 0;
inline constexpr uint16_t kCodecGzip = 1;
inline constexpr uint16_t kCodecSnappy = 2;
inline constexpr uint16_t kCodecLz4 = 3;
inline constexpr uint16_t kCodecZstd = 4;

}  // namespace kafka_batch_format

// Converts one Kafka v2 record batch, exactly its bytes, into a Strata batch with the same fields
// and the same records section (4 bytes longer: the header grows from 61 to 65 bytes). The result
// passes ParseBatchHeader and CheckDenseBatch and carries a correct XXH3-64; it is what a producer
// would send, ready for VerifiedBatch::Verify and the append path. Checks, in this order:
//
//   InvalidArgument     fewer than 17 bytes, or batchLength does not frame the first entry
//                       within `kafka` (an entry must reach its magic byte at offset 16)
//   FailedPrecondition  magic 0 or 1: "message format v0/v1 is not supported; use a client that
//                       sends v2 record batches (Kafka 0.11+)". Only this check uses this code.
//   InvalidArgument     `kafka` holds more than that one entry; any magic other than 0, 1 or 2;
//                       fewer bytes than the 61-byte header
//   ResourceExhausted   the Strata batch would exceed limits::batch_bytes_max
//   DataLoss            "CRC-32C mismatch ...": the stored CRC is not that of bytes [21, end)
//   Unimplemented       codec gzip, snappy or zstd: "compression codec gzip is not supported by
//                       Strata; configure the producer with compression.type=lz4 or none". Only
//                       this check uses this code.
//   InvalidArgument     codec 5-7 (no such codec); transactional or control bit set
//                       ("transactional and control batches are not supported"); any attribute
//                       bit above 5; an LZ4 records section that is not an LZ4 frame with
//                       independent blocks (Kafka's consumers cannot read linked blocks)
//   DataLoss            any rule of Strata's header (ParseBatchHeader: counts, offsets,
//                       timestamps) or of a producer's batch (CheckDenseBatch), with that check's
//                       message
//
// The records themselves are not decoded, as on Strata's own produce path; readers decode and
// check them (BatchReader).
absl::StatusOr<std::vector<std::byte>> KafkaBatchToStrata(std::span<const std::byte> kafka);

// A reader of the records of one Kafka batch, in place: the checks of KafkaBatchToStrata up to
// its codec (framing, magic, CRC-32C, codec, attributes), then the records section decoded where
// it lies, without building a Strata batch. For a consumer of Kafka batches
// (bench/kafka_bench.cc's replay); the same status codes as KafkaBatchToStrata.
absl::StatusOr<BatchReader> OpenKafkaBatch(std::span<const std::byte> kafka);

// The 61-byte Kafka header that stands in for a Strata batch's 65-byte one.
using KafkaBatchHeader = std::array<std::byte, kafka_batch_format::kHeaderBytes>;

// The Kafka header for `strata_batch`, exactly one stored Strata batch: every field converted,
// magic 2, batchLength 4 less, and a CRC-32C valid for that header followed by the batch's
// records section (StrataRecordsSection), which is what the caller sends after it, unchanged and
// uncopied. Costs one CRC-32C pass over the batch. The batch's XXH3-64 is not checked: it was
// verified when stored. Errors: ParseBatchHeader's (OutOfRange, DataLoss), and InvalidArgument
// when `strata_batch` is longer than the batch its header frames.
absl::StatusOr<KafkaBatchHeader> StrataToKafkaHeader(std::span<const std::byte> strata_batch);

// The records section of one whole Strata batch: its bytes after the 65-byte header, sent after a
// KafkaBatchHeader. Requires at least a header's worth of bytes.
inline std::span<const std::byte> StrataRecordsSection(std::span<const std::byte> strata_batch) {
  return strata_batch.subspan(batch_format::kHeaderBytes);
}

// Size of the Kafka batch served for a Strata batch of `strata_batch_bytes` (at least 65).
inline constexpr size_t KafkaBatchSize(size_t strata_batch_bytes) {
  return strata_batch_bytes - kafka_batch_format::kHeaderBytesShorterThanStrata;
}

}  // namespace strata::record
