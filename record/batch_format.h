// The record batch format: the unit Strata stores on disk and carries on the wire, unchanged.
// docs/format.md is the prose spec with the byte layout; this header holds its constants.
//
//  offset size field
//   0      8   base_offset        assigned by the leader; outside the checksum
//   8      4   batch_length       bytes after this field
//  12      4   leader_epoch       stamped by the leader; outside the checksum
//  16      1   magic              format version of Strata batches (kMagic)
//  17      8   checksum           XXH3-64 of bytes [25, end)
//  25      2   attributes         bits 0-2 compression, bit 3 timestamp type,
//                                 bit 4 transactional, bit 5 control
//  27      4   last_offset_delta
//  31      8   first_timestamp    ms since epoch
//  39      8   max_timestamp
//  47      8   producer_id        -1 when not idempotent
//  55      2   producer_epoch
//  57      4   base_sequence
//  61      4   record_count
//  65      .   records            Kafka v2 record encoding; LZ4 frame when compressed
//
// All integers are little-endian.
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata::record::batch_format {

inline constexpr size_t kBaseOffsetPos = 0;
inline constexpr size_t kBatchLengthPos = kBaseOffsetPos + 8;
inline constexpr size_t kLeaderEpochPos = kBatchLengthPos + 4;
inline constexpr size_t kMagicPos = kLeaderEpochPos + 4;
inline constexpr size_t kChecksumPos = kMagicPos + 1;
inline constexpr size_t kAttributesPos = kChecksumPos + 8;
inline constexpr size_t kLastOffsetDeltaPos = kAttributesPos + 2;
inline constexpr size_t kFirstTimestampPos = kLastOffsetDeltaPos + 4;
inline constexpr size_t kMaxTimestampPos = kFirstTimestampPos + 8;
inline constexpr size_t kProducerIdPos = kMaxTimestampPos + 8;
inline constexpr size_t kProducerEpochPos = kProducerIdPos + 8;
inline constexpr size_t kBaseSequencePos = kProducerEpochPos + 2;
inline constexpr size_t kRecordCountPos = kBaseSequencePos + 4;
inline constexpr size_t kRecordsPos = kRecordCountPos + 4;

// The fixed header, everything before the records.
inline constexpr size_t kHeaderBytes = kRecordsPos;
// Bytes before (and not counted by) batch_length.
inline constexpr size_t kLogOverheadBytes = kLeaderEpochPos;
// The checksum covers [kChecksumCoverPos, end): attributes onward.
inline constexpr size_t kChecksumCoverPos = kAttributesPos;

static_assert(kHeaderBytes == 65, "header layout changed: update docs/format.md");
static_assert(kLogOverheadBytes == 12);
static_assert(kChecksumCoverPos == 25);

inline constexpr uint8_t kMagic = 1;

// attributes
inline constexpr uint16_t kCompressionMask = 0x07;
inline constexpr uint16_t kTimestampTypeBit = 0x08;  // 0 create time, 1 log-append time
inline constexpr uint16_t kTransactionalBit = 0x10;
inline constexpr uint16_t kControlBit = 0x20;

inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;

}  // namespace strata::record::batch_format
