// Building, checking and reading record batches (see batch_format.h and docs/format.md).
//
// A batch is a contiguous byte string. BatchBuilder makes one from records; ParseBatchHeader and
// VerifyBatch check one; BatchReader iterates its records, decompressing LZ4 when needed. The
// leader assigns offsets by stamping base_offset and leader_epoch, which lie outside the checksum,
// so stamping never re-encodes or re-hashes a batch.
//
// None of these types is thread-safe; a BatchReader's Records point into the batch bytes or into
// the reader's own decompression buffer and stay valid while both live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "record/batch_format.h"

namespace strata::record {

enum class Compression : uint8_t { kNone = 0, kLz4 = 3 };

// "none" / "lz4" for tools and errors.
std::string_view CompressionName(Compression c);

struct RecordHeader {
  std::string_view key;
  std::optional<std::string_view> value;  // Kafka allows a null header value
};

// One record as written by a producer.
struct RecordInput {
  int64_t timestamp_ms = 0;
  std::optional<std::string_view> key;    // nullopt = null key
  std::optional<std::string_view> value;  // nullopt = null value (a tombstone)
  std::vector<RecordHeader> headers;
};

// One record as read back from a batch. Views point into the batch or the reader's buffer.
struct Record {
  int64_t offset = 0;        // base_offset + offset_delta
  int64_t timestamp_ms = 0;  // first_timestamp + timestamp_delta
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<RecordHeader> headers;
};

// The decoded fixed header.
struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;
  int32_t leader_epoch = 0;
  uint8_t magic = 0;
  uint64_t checksum = 0;
  uint16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t first_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = batch_format::kNoProducerId;
  int16_t producer_epoch = batch_format::kNoProducerEpoch;
  int32_t base_sequence = batch_format::kNoSequence;
  int32_t record_count = 0;

  int64_t last_offset() const { return base_offset + last_offset_delta; }
  // Whole batch size in bytes, header included.
  size_t size_bytes() const { return batch_format::kLogOverheadBytes + size_t(batch_length); }
  Compression compression() const {
    return Compression(attributes & batch_format::kCompressionMask);
  }
};

struct BatchOptions {
  Compression compression = Compression::kNone;
  int64_t base_offset = 0;  // usually stamped later by the leader
  int32_t leader_epoch = 0;
  int64_t producer_id = batch_format::kNoProducerId;
  int16_t producer_epoch = batch_format::kNoProducerEpoch;
  int32_t base_sequence = batch_format::kNoSequence;
};

// Accumulates records and encodes them into one batch. Offsets deltas are 0..n-1 in Add order.
class BatchBuilder {
 public:
  explicit BatchBuilder(BatchOptions options = {});

  void Add(const RecordInput& record);
  int32_t record_count() const { return record_count_; }
  // Size of the encoded (uncompressed) batch so far; a producer uses it to decide when to send.
  size_t size_bytes() const { return batch_format::kHeaderBytes + records_.size(); }

  // Encodes the batch: header, records (compressed if asked), checksum.
  // InvalidArgument if empty; ResourceExhausted if larger than limits::batch_bytes_max.
  absl::StatusOr<std::vector<std::byte>> Build() const;

 private:
  BatchOptions options_;
  std::string records_;  // Kafka v2 encoded records, back to back
  int32_t record_count_ = 0;
  int64_t first_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
  // The first record with more than limits::record_headers_max headers (which readers refuse),
  // and how many it has; Build fails on it. -1: none.
  int32_t too_many_headers_record_ = -1;
  size_t too_many_headers_count_ = 0;
};

// Decodes and sanity-checks the fixed header at the front of `bytes` without verifying the
// checksum. It accepts compacted batches (fewer records than offsets, or none: docs/format.md);
// CheckDenseBatch is the stricter rule for batches from producers. Errors (DataLoss unless noted):
//   OutOfRange  fewer than kHeaderBytes bytes, or fewer than the whole batch (a torn tail).
//   DataLoss    wrong magic, batch_length too small or over limits::batch_bytes_max,
//               negative record_count, last_offset_delta < record_count - 1, an empty batch that
//               is more than a header, etc.
absl::StatusOr<BatchHeader> ParseBatchHeader(std::span<const std::byte> bytes);

// A batch as producers write it and leaders accept it: at least one record, one offset per
// record (last_offset_delta == record_count - 1). DataLoss otherwise. Followers, recovery and
// readers also accept compacted batches, which only compaction writes.
absl::Status CheckDenseBatch(const BatchHeader& header);

// Compaction: `original` (one whole, verified batch) with its records replaced by `kept_records`,
// the encodings (BatchReader::last_record_encoding) of `kept_count` of its records, in order.
// base_offset, leader_epoch, last_offset_delta, timestamps, producer fields and compression stay
// as they were; batch_length, record_count and the checksum are recomputed. kept_count 0 gives
// the empty batch (header only, uncompressed) that keeps the offsets and producer fields of a
// batch whose records all went. InvalidArgument if the kept records are not a readable
// subsequence; ResourceExhausted if recompression pushes the batch over limits::batch_bytes_max.
absl::StatusOr<std::vector<std::byte>> BuildCompactedBatch(std::span<const std::byte> original,
                                                           std::span<const std::byte> kept_records,
                                                           int32_t kept_count);

// ParseBatchHeader plus the XXH3-64 checksum over [25, end). `bytes` may hold more than one
// batch; only the first is checked. DataLoss on a mismatch, naming both checksums.
absl::StatusOr<BatchHeader> VerifyBatch(std::span<const std::byte> bytes);

// What a batch must satisfy to be appended, beyond a sound structure and checksum.
struct AppendRules {
  // One offset per record and at least one record: a producer's batch (CheckDenseBatch). Off for
  // a follower copying its leader, whose log may hold compacted batches.
  bool dense = true;
  // Every record has a key (a topic with cleanup_policy=compact keeps records by key). Costs a
  // decode of every record, LZ4 included.
  bool keys_required = false;
};

// One whole batch whose bytes were checked, once, by VerifiedBatch::Verify: exactly one batch,
// sound header, matching checksum, and the AppendRules asked for. Only Verify makes one, so what
// takes a VerifiedBatch (log::Log::Append) does not check again: verification runs before any
// lock, and an append's critical section only assigns offsets and copies bytes.
// A view: the bytes belong to the caller and must outlive it. Stamp writes the leader's fields,
// which lie outside the checksum, so a stamped batch is still verified.
class VerifiedBatch {
 public:
  // Errors, nothing changed:
  //   DataLoss         damaged: malformed header or records, checksum mismatch, cut short, or a
  //                    producer batch that is not dense
  //   InvalidArgument  the bytes hold more than one batch, or a record has no key while
  //                    keys_required (the message names the record)
  static absl::StatusOr<VerifiedBatch> Verify(std::span<std::byte> bytes, AppendRules rules);

  std::span<std::byte> bytes() const { return bytes_; }
  const BatchHeader& header() const { return header_; }
  size_t size() const { return bytes_.size(); }

  // Writes base_offset and leader_epoch into the bytes and the header (StampBatch).
  void Stamp(int64_t base_offset, int32_t leader_epoch);

 private:
  VerifiedBatch(std::span<std::byte> bytes, const BatchHeader& header)
      : bytes_(bytes), header_(header) {}
  std::span<std::byte> bytes_;
  BatchHeader header_;
};

// Writes base_offset and leader_epoch into a batch's header in place (outside the checksum).
void StampBatch(std::span<std::byte> batch, int64_t base_offset, int32_t leader_epoch);

// XXH3-64 of bytes [25, end) of one whole batch.
uint64_t ComputeBatchChecksum(std::span<const std::byte> batch);

// Iterates the records of one batch. Open verifies the checksum and decompresses the records
// section if needed; Next decodes one record at a time.
class BatchReader {
 public:
  static absl::StatusOr<BatchReader> Open(std::span<const std::byte> batch);
  // A reader of `section`, the records section of a batch whose `header` the caller parsed and
  // whose integrity it checked some other way (a Kafka batch's CRC-32C: record/kafka_batch.h).
  // `section` must outlive the reader. DataLoss for an unreadable LZ4 frame or codec.
  static absl::StatusOr<BatchReader> OpenSection(const BatchHeader& header,
                                                 std::span<const std::byte> section);

  const BatchHeader& header() const { return header_; }
  // The next record, or nullopt after the last. DataLoss if a record is malformed or the
  // record count does not match the records section.
  absl::StatusOr<std::optional<Record>> Next();
  // Next without the copies: decodes the next record into `out` (reusing its headers' memory);
  // false after the last.
  absl::StatusOr<bool> NextInto(Record& out);
  // Decodes every remaining record.
  absl::StatusOr<std::vector<Record>> ReadAll();
  // The encoding (length prefix included, uncompressed) of the record the last successful Next
  // returned; empty before the first. Valid while the reader and the batch live.
  std::span<const std::byte> last_record_encoding() const;

 private:
  BatchReader() = default;
  BatchHeader header_;
  std::vector<std::byte> decompressed_;    // owned records section when compressed
  std::span<const std::byte> records_;     // the (decompressed) records section
  size_t pos_ = 0;
  size_t last_record_pos_ = 0;             // where the record Next returned last starts
  int32_t index_ = 0;
  int32_t prev_delta_ = -1;                // offset delta of that record
};

namespace testing {
// Test hook: decode every record through the Status path only (the fast path's reference).
extern bool force_slow_record_decoding;
}  // namespace testing

// Varints as used by the Kafka v2 record format (zigzag for signed values). Exposed for tests and
// for the protocol layer.
namespace varint {
// Appends the zigzag varint encoding of `v` to `out`.
void PutVarint(std::string& out, int32_t v);
void PutVarlong(std::string& out, int64_t v);
// Decodes a zigzag varint at `in[*pos]`, advancing *pos. DataLoss if truncated or overlong.
absl::StatusOr<int32_t> GetVarint(std::span<const std::byte> in, size_t* pos);
absl::StatusOr<int64_t> GetVarlong(std::span<const std::byte> in, size_t* pos);
}  // namespace varint

}  // namespace strata::record
