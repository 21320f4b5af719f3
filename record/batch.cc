// Encoding, validation and decoding of record batches. docs/format.md is the spec this follows.
#include "record/batch.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/endian.h"
#include "common/xxh3.h"
#include "common/limits.h"
#include "record/lz4_frame.h"

namespace strata::record {

namespace bf = batch_format;

namespace {

// Smallest legal batch_length: a header with an empty records section. Real batches are larger
// (record_count >= 1), but this is the bound that says "these bytes cannot even be framed".
constexpr int32_t kBatchLengthMin = int32_t(bf::kHeaderBytes - bf::kLogOverheadBytes);

// Varint sizes for sizing a record body before writing it.
size_t VarintSize(int32_t v) {
  uint32_t u = (uint32_t(v) << 1) ^ uint32_t(v >> 31);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}
size_t VarlongSize(int64_t v) {
  uint64_t u = (uint64_t(v) << 1) ^ uint64_t(v >> 63);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

// A key, value or header value: varint length (-1 = null) then the bytes. Sizes past INT32_MAX
// cannot occur in a buildable batch (Build rejects anything over limits::batch_bytes_max), so the
// narrowing here can only produce bytes that are never emitted.
size_t NullableBytesSize(const std::optional<std::string_view>& s) {
  if (!s.has_value()) return VarintSize(-1);
  return VarintSize(int32_t(s->size())) + s->size();
}
void PutNullableBytes(std::string& out, const std::optional<std::string_view>& s) {
  if (!s.has_value()) {
    varint::PutVarint(out, -1);
    return;
  }
  varint::PutVarint(out, int32_t(s->size()));
  out.append(*s);
}

std::string_view AsStringView(std::span<const std::byte> bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Reads a varint length that must be -1 (null) or fit in what remains of `in`.
absl::StatusOr<std::optional<std::string_view>> GetNullableBytes(std::span<const std::byte> in,
                                                                 size_t* pos,
                                                                 std::string_view what) {
  STRATA_ASSIGN_OR_RETURN(int32_t len, varint::GetVarint(in, pos));
  if (len == -1) return std::optional<std::string_view>();
  if (len < -1) {
    return absl::DataLossError(absl::StrFormat("%s length %d is negative", what, len));
  }
  if (size_t(len) > in.size() - *pos) {
    return absl::DataLossError(absl::StrFormat("%s length %d overruns the record (%d bytes left)",
                                               what, len, in.size() - *pos));
  }
  std::string_view s = AsStringView(in.subspan(*pos, size_t(len)));
  *pos += size_t(len);
  return std::optional<std::string_view>(s);
}

// The body of one record (everything after its length prefix), which must be consumed exactly.
// `prev_delta` is the previous record's offset delta (-1 for the first record).
absl::StatusOr<Record> DecodeRecordBody(std::span<const std::byte> body, const BatchHeader& header,
                                        int32_t prev_delta) {
  size_t pos = 0;
  if (body.empty()) return absl::DataLossError("record body is empty");
  // Record attributes are unused in Kafka's v2 format; like Kafka, read and ignore them.
  ++pos;
  STRATA_ASSIGN_OR_RETURN(int64_t timestamp_delta, varint::GetVarlong(body, &pos));
  STRATA_ASSIGN_OR_RETURN(int32_t offset_delta, varint::GetVarint(body, &pos));
  // A producer's batch is dense (record i has delta i); compaction may drop records but never
  // moves one, so in general deltas strictly increase and stay within last_offset_delta. With
  // record_count == last_offset_delta + 1 that is exactly "delta i for record i".
  if (offset_delta <= prev_delta) {
    return absl::DataLossError(absl::StrFormat(
        "offset_delta %d is not above the previous record's %d", offset_delta, prev_delta));
  }
  if (offset_delta > header.last_offset_delta) {
    return absl::DataLossError(absl::StrFormat("offset_delta %d is past last_offset_delta %d",
                                               offset_delta, header.last_offset_delta));
  }

  Record record;
  record.offset = header.base_offset + offset_delta;
  // Wrapping arithmetic mirrors the builder, so every int64 timestamp round-trips.
  record.timestamp_ms = int64_t(uint64_t(header.first_timestamp) + uint64_t(timestamp_delta));
  STRATA_ASSIGN_OR_RETURN(record.key, GetNullableBytes(body, &pos, "key"));
  STRATA_ASSIGN_OR_RETURN(record.value, GetNullableBytes(body, &pos, "value"));

  STRATA_ASSIGN_OR_RETURN(int32_t header_count, varint::GetVarint(body, &pos));
  if (header_count < 0) {
    return absl::DataLossError(absl::StrFormat("header count %d is negative", header_count));
  }
  if (header_count > limits::record_headers_max) {
    return absl::DataLossError(
        absl::StrFormat("header count %d exceeds limits::record_headers_max %d", header_count,
                        limits::record_headers_max));
  }
  record.headers.reserve(size_t(header_count));
  for (int32_t i = 0; i < header_count; ++i) {
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string_view> key,
                            GetNullableBytes(body, &pos, "header key"));
    if (!key.has_value()) {
      return absl::DataLossError(absl::StrFormat("header %d has a null key", i));
    }
    STRATA_ASSIGN_OR_RETURN(std::optional<std::string_view> value,
                            GetNullableBytes(body, &pos, "header value"));
    record.headers.push_back(RecordHeader{*key, value});
  }
  if (pos != body.size()) {
    return absl::DataLossError(absl::StrFormat(
        "record length says %d bytes but its fields end after %d", body.size(), pos));
  }
  return record;
}

// --- The fast path of record decoding ---------------------------------------------------------
// The same checks as DecodeRecordBody and the varint readers, on raw pointers, building no Status:
// false means the record is malformed, and the caller then runs the Status path, which says how.
// A consumer decodes every record it returns, and StatusOr at every field (and a Record moved
// out through two StatusOr layers) cost a fifth of its thread (W4 of bench/compare.sh).

// Unsigned LEB128 of at most kMax bytes that fits in U, refusing what GetUnsigned refuses.
template <typename U, int kMax>
inline bool ReadUnsigned(const uint8_t*& p, const uint8_t* end, U& out) {
  constexpr int kBits = std::numeric_limits<U>::digits;
  U u = 0;
  for (int i = 0; i < kMax; ++i) {
    if (p == end) return false;
    const uint8_t b = *p++;
    const int shift = 7 * i;
    if (i == kMax - 1 && ((b & 0x80) != 0 || (b >> (kBits - shift)) != 0)) return false;
    u |= U(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      out = u;
      return true;
    }
  }
  return false;
}

inline bool ReadVarint(const uint8_t*& p, const uint8_t* end, int32_t& out) {
  uint32_t u;
  if (!ReadUnsigned<uint32_t, 5>(p, end, u)) return false;
  out = int32_t((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

inline bool ReadVarlong(const uint8_t*& p, const uint8_t* end, int64_t& out) {
  uint64_t u;
  if (!ReadUnsigned<uint64_t, 10>(p, end, u)) return false;
  out = int64_t((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

inline bool ReadNullableBytes(const uint8_t*& p, const uint8_t* end,
                              std::optional<std::string_view>& out) {
  int32_t len;
  if (!ReadVarint(p, end, len)) return false;
  if (len == -1) {
    out.reset();
    return true;
  }
  if (len < -1 || size_t(len) > size_t(end - p)) return false;
  out.emplace(reinterpret_cast<const char*>(p), size_t(len));
  p += len;
  return true;
}

// DecodeRecordBody's fast path: decodes into `record` (reusing its headers' capacity).
bool FastDecodeRecordBody(const uint8_t* p, const uint8_t* end, const BatchHeader& header,
                          int32_t prev_delta, Record& record) {
  if (p == end) return false;
  ++p;  // attributes, unused in v2
  int64_t timestamp_delta;
  int32_t offset_delta;
  if (!ReadVarlong(p, end, timestamp_delta) || !ReadVarint(p, end, offset_delta)) return false;
  if (offset_delta <= prev_delta || offset_delta > header.last_offset_delta) return false;
  record.offset = header.base_offset + offset_delta;
  record.timestamp_ms = int64_t(uint64_t(header.first_timestamp) + uint64_t(timestamp_delta));
  if (!ReadNullableBytes(p, end, record.key) || !ReadNullableBytes(p, end, record.value)) {
    return false;
  }
  int32_t header_count;
  if (!ReadVarint(p, end, header_count)) return false;
  if (header_count < 0 || header_count > limits::record_headers_max) return false;
  record.headers.clear();
  record.headers.reserve(size_t(header_count));
  for (int32_t i = 0; i < header_count; ++i) {
    std::optional<std::string_view> key, value;
    if (!ReadNullableBytes(p, end, key) || !key.has_value()) return false;
    if (!ReadNullableBytes(p, end, value)) return false;
    record.headers.push_back(RecordHeader{*key, value});
  }
  return p == end;
}

// Walks an encoded records section the way BatchReader does, so that a rewritten batch
// (compaction's kept records) is one its readers accept.
absl::Status CheckRecordsSection(std::span<const std::byte> section, int32_t record_count,
                                 int32_t last_offset_delta) {
  BatchHeader header;
  header.record_count = record_count;
  header.last_offset_delta = last_offset_delta;
  size_t pos = 0;
  int32_t prev_delta = -1;
  for (int32_t i = 0; i < record_count; ++i) {
    absl::StatusOr<int32_t> length = varint::GetVarint(section, &pos);
    if (!length.ok()) return length.status();
    if (*length < 0 || size_t(*length) > section.size() - pos) {
      return absl::InternalError(absl::StrFormat("record %d has bad length %d", i, *length));
    }
    absl::StatusOr<Record> record =
        DecodeRecordBody(section.subspan(pos, size_t(*length)), header, prev_delta);
    if (!record.ok()) {
      return absl::Status(record.status().code(),
                          absl::StrFormat("record %d: %s", i, record.status().message()));
    }
    prev_delta = int32_t(record->offset);  // header.base_offset is 0 here
    pos += size_t(*length);
  }
  if (pos != section.size()) {
    return absl::InternalError(
        absl::StrFormat("%d bytes left after the last record", section.size() - pos));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kLz4:
      return "lz4";
  }
  return "unknown";
}

// --- Varints ---------------------------------------------------------------------------------

namespace varint {

void PutVarint(std::string& out, int32_t v) {
  // Zigzag, as Kafka's ByteUtils.writeVarint: small magnitudes of either sign stay short.
  uint32_t u = (uint32_t(v) << 1) ^ uint32_t(v >> 31);
  while (u >= 0x80) {
    out.push_back(char(uint8_t(u) | 0x80));
    u >>= 7;
  }
  out.push_back(char(uint8_t(u)));
}

void PutVarlong(std::string& out, int64_t v) {
  uint64_t u = (uint64_t(v) << 1) ^ uint64_t(v >> 63);
  while (u >= 0x80) {
    out.push_back(char(uint8_t(u) | 0x80));
    u >>= 7;
  }
  out.push_back(char(uint8_t(u)));
}

namespace {
// Unsigned LEB128 of at most `max_bytes` bytes whose value fits in U. Kafka's reader
// silently drops the excess bits of the last byte; we refuse them, since no writer produces them.
template <typename U>
absl::StatusOr<U> GetUnsigned(std::span<const std::byte> in, size_t* pos, int max_bytes,
                              std::string_view what) {
  constexpr int kBits = std::numeric_limits<U>::digits;
  U u = 0;
  size_t p = *pos;
  for (int i = 0; i < max_bytes; ++i) {
    if (p >= in.size()) {
      return absl::DataLossError(
          absl::StrFormat("%s truncated at byte %d (position %d)", what, i, p));
    }
    uint8_t b = uint8_t(in[p++]);
    int shift = 7 * i;
    if (i == max_bytes - 1) {
      if ((b & 0x80) != 0) break;  // overlong, reported below
      if ((b >> (kBits - shift)) != 0) {
        return absl::DataLossError(
            absl::StrFormat("%s overflows %d bits (last byte 0x%02x)", what, kBits, b));
      }
    }
    u |= U(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *pos = p;
      return u;
    }
  }
  return absl::DataLossError(
      absl::StrFormat("%s is longer than %d bytes (position %d)", what, max_bytes, *pos));
}
}  // namespace

absl::StatusOr<int32_t> GetVarint(std::span<const std::byte> in, size_t* pos) {
  STRATA_ASSIGN_OR_RETURN(uint32_t u, GetUnsigned<uint32_t>(in, pos, 5, "varint"));
  return int32_t((u >> 1) ^ (~(u & 1) + 1));
}

absl::StatusOr<int64_t> GetVarlong(std::span<const std::byte> in, size_t* pos) {
  STRATA_ASSIGN_OR_RETURN(uint64_t u, GetUnsigned<uint64_t>(in, pos, 10, "varlong"));
  return int64_t((u >> 1) ^ (~(u & 1) + 1));
}

}  // namespace varint

// --- Building --------------------------------------------------------------------------------

BatchBuilder::BatchBuilder(BatchOptions options) : options_(options) {}

void BatchBuilder::Add(const RecordInput& record) {
  if (record_count_ == 0) {
    first_timestamp_ = record.timestamp_ms;
    max_timestamp_ = record.timestamp_ms;
  } else {
    max_timestamp_ = std::max(max_timestamp_, record.timestamp_ms);
  }
  // Wrapping subtraction: defined for any pair of timestamps, and undone exactly by the reader.
  int64_t timestamp_delta = int64_t(uint64_t(record.timestamp_ms) - uint64_t(first_timestamp_));
  int32_t offset_delta = record_count_;
  if (record.headers.size() > size_t(limits::record_headers_max) && too_many_headers_record_ < 0) {
    too_many_headers_record_ = record_count_;
    too_many_headers_count_ = record.headers.size();
  }

  size_t body_bytes = 1 + VarlongSize(timestamp_delta) + VarintSize(offset_delta) +
                      NullableBytesSize(record.key) + NullableBytesSize(record.value) +
                      VarintSize(int32_t(record.headers.size()));
  for (const RecordHeader& h : record.headers) {
    body_bytes += NullableBytesSize(h.key) + NullableBytesSize(h.value);
  }

  varint::PutVarint(records_, int32_t(body_bytes));
  size_t body_start = records_.size();
  records_.push_back(0);  // record attributes: unused in v2
  varint::PutVarlong(records_, timestamp_delta);
  varint::PutVarint(records_, offset_delta);
  PutNullableBytes(records_, record.key);
  PutNullableBytes(records_, record.value);
  varint::PutVarint(records_, int32_t(record.headers.size()));
  for (const RecordHeader& h : record.headers) {
    PutNullableBytes(records_, h.key);
    PutNullableBytes(records_, h.value);
  }
  STRATA_DCHECK(records_.size() - body_start == body_bytes)
      << "record body of " << records_.size() - body_start << " bytes, sized " << body_bytes;
  (void)body_start;
  ++record_count_;
}

absl::StatusOr<std::vector<std::byte>> BatchBuilder::Build() const {
  if (record_count_ == 0) {
    return absl::InvalidArgumentError("cannot build a batch with no records");
  }
  if (record_count_ > limits::batch_records_max) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("batch has %d records; limits::batch_records_max is %d", record_count_,
                        limits::batch_records_max));
  }
  // A reader refuses to decompress past this, so never write a batch it would refuse.
  if (records_.size() > limits::batch_uncompressed_bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("records section is %d bytes; limits::batch_uncompressed_bytes_max is %d",
                        records_.size(), limits::batch_uncompressed_bytes_max));
  }

  // Add encodes every field a reader checks the way the reader wants it; the one rule a caller
  // can break is the per-record header limit.
  if (too_many_headers_record_ >= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "batch cannot be built: record %d has %d headers; limits::record_headers_max is %d",
        too_many_headers_record_, too_many_headers_count_, limits::record_headers_max));
  }
  const auto* records = reinterpret_cast<const std::byte*>(records_.data());

  std::vector<std::byte> out(bf::kHeaderBytes);
  switch (options_.compression) {
    case Compression::kNone:
      // resize + copy rather than insert: GCC 12 misreads insert's memmove (-Warray-bounds).
      out.resize(bf::kHeaderBytes + records_.size());
      std::copy_n(records, records_.size(), out.data() + bf::kHeaderBytes);
      break;
    case Compression::kLz4:
      STRATA_RETURN_IF_ERROR(CompressLz4(records_, out));
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("unsupported compression code %d", int(options_.compression)));
  }
  if (out.size() > limits::batch_bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("encoded batch is %d bytes; limits::batch_bytes_max is %d", out.size(),
                        limits::batch_bytes_max));
  }

  std::byte* h = out.data();
  PutI64(h + bf::kBaseOffsetPos, options_.base_offset);
  PutI32(h + bf::kBatchLengthPos, int32_t(out.size() - bf::kLogOverheadBytes));
  PutI32(h + bf::kLeaderEpochPos, options_.leader_epoch);
  h[bf::kMagicPos] = std::byte(bf::kMagic);
  PutU16(h + bf::kAttributesPos, uint16_t(options_.compression) & bf::kCompressionMask);
  PutI32(h + bf::kLastOffsetDeltaPos, record_count_ - 1);
  PutI64(h + bf::kFirstTimestampPos, first_timestamp_);
  PutI64(h + bf::kMaxTimestampPos, max_timestamp_);
  PutI64(h + bf::kProducerIdPos, options_.producer_id);
  PutI16(h + bf::kProducerEpochPos, options_.producer_epoch);
  PutI32(h + bf::kBaseSequencePos, options_.base_sequence);
  PutI32(h + bf::kRecordCountPos, record_count_);
  // Last: the checksum covers every byte written above from kChecksumCoverPos on.
  PutU64(h + bf::kChecksumPos, ComputeBatchChecksum(out));

  // Check the batch before anyone writes it: the header must pass the same checks a reader runs.
  if (absl::StatusOr<BatchHeader> parsed = ParseBatchHeader(out); !parsed.ok()) {
    return absl::InternalError(absl::StrFormat("built a batch that fails its own header check: %s",
                                               parsed.status().message()));
  }
  return out;
}

// --- Checking --------------------------------------------------------------------------------

absl::StatusOr<BatchHeader> ParseBatchHeader(std::span<const std::byte> bytes) {
  if (bytes.size() < bf::kHeaderBytes) {
    return absl::OutOfRangeError(absl::StrFormat("batch header needs %d bytes but only %d remain",
                                                 bf::kHeaderBytes, bytes.size()));
  }
  const std::byte* p = bytes.data();
  BatchHeader h;
  h.base_offset = GetI64(p + bf::kBaseOffsetPos);
  h.batch_length = GetI32(p + bf::kBatchLengthPos);
  h.leader_epoch = GetI32(p + bf::kLeaderEpochPos);
  h.magic = uint8_t(p[bf::kMagicPos]);
  h.checksum = GetU64(p + bf::kChecksumPos);
  h.attributes = GetU16(p + bf::kAttributesPos);
  h.last_offset_delta = GetI32(p + bf::kLastOffsetDeltaPos);
  h.first_timestamp = GetI64(p + bf::kFirstTimestampPos);
  h.max_timestamp = GetI64(p + bf::kMaxTimestampPos);
  h.producer_id = GetI64(p + bf::kProducerIdPos);
  h.producer_epoch = GetI16(p + bf::kProducerEpochPos);
  h.base_sequence = GetI32(p + bf::kBaseSequencePos);
  h.record_count = GetI32(p + bf::kRecordCountPos);

  // Every check on the header's own numbers comes before the "is the whole batch here" check, so
  // garbage (including an all-zero header) is DataLoss and only a plausible batch cut short is
  // OutOfRange, the torn-tail signal.
  if (h.batch_length < kBatchLengthMin) {
    return absl::DataLossError(absl::StrFormat("batch_length %d is below the minimum %d",
                                               h.batch_length, kBatchLengthMin));
  }
  if (h.size_bytes() > limits::batch_bytes_max) {
    return absl::DataLossError(
        absl::StrFormat("batch_length %d makes a %d-byte batch, over limits::batch_bytes_max %d",
                        h.batch_length, h.size_bytes(), limits::batch_bytes_max));
  }
  if (h.magic != bf::kMagic) {
    return absl::DataLossError(
        absl::StrFormat("magic %d is not the batch format's %d", h.magic, bf::kMagic));
  }
  if (h.record_count < 0) {
    return absl::DataLossError(absl::StrFormat("record_count %d is negative", h.record_count));
  }
  if (h.record_count > limits::batch_records_max) {
    return absl::DataLossError(
        absl::StrFormat("record_count %d exceeds limits::batch_records_max %d", h.record_count,
                        limits::batch_records_max));
  }
  // Compaction drops records but keeps the batch's offset range, so a batch may hold fewer
  // records than offsets (docs/format.md). It never spans more offsets than a producer's batch
  // can have records.
  if (h.last_offset_delta < h.record_count - 1) {
    return absl::DataLossError(
        absl::StrFormat("last_offset_delta %d is below record_count - 1 (%d)", h.last_offset_delta,
                        h.record_count - 1));
  }
  if (h.last_offset_delta < 0) {
    return absl::DataLossError(
        absl::StrFormat("last_offset_delta %d is negative", h.last_offset_delta));
  }
  if (h.last_offset_delta >= limits::batch_records_max) {
    return absl::DataLossError(
        absl::StrFormat("last_offset_delta %d spans more offsets than limits::batch_records_max %d",
                        h.last_offset_delta, limits::batch_records_max));
  }
  if (h.record_count == 0) {
    // The empty batch compaction keeps in place of a batch whose records all went.
    if (h.batch_length != kBatchLengthMin) {
      return absl::DataLossError(absl::StrFormat(
          "record_count 0 with batch_length %d: an empty batch is a header only (%d)",
          h.batch_length, kBatchLengthMin));
    }
    if (h.compression() != Compression::kNone) {
      return absl::DataLossError(absl::StrFormat(
          "record_count 0 with compression code %d: an empty batch is uncompressed",
          int(h.compression())));
    }
  }
  // Every offset in the batch is base_offset + offset_delta, and readers go on at last_offset + 1;
  // a base_offset that would carry either past INT64_MAX is garbage, not a batch.
  if (h.base_offset > std::numeric_limits<int64_t>::max() - 1 - h.last_offset_delta) {
    return absl::DataLossError(
        absl::StrFormat("base_offset %d with last_offset_delta %d runs past the largest offset",
                        h.base_offset, h.last_offset_delta));
  }
  if (h.max_timestamp < h.first_timestamp) {
    return absl::DataLossError(absl::StrFormat("max_timestamp %d is before first_timestamp %d",
                                               h.max_timestamp, h.first_timestamp));
  }
  if (bytes.size() < h.size_bytes()) {
    return absl::OutOfRangeError(
        absl::StrFormat("batch at offset %d needs %d bytes but only %d remain", h.base_offset,
                        h.size_bytes(), bytes.size()));
  }
  return h;
}

namespace {

// The checksum of the whole batch `h` heads, at the front of `bytes`, against the stored one.
absl::Status CheckChecksum(std::span<const std::byte> bytes, const BatchHeader& h) {
  uint64_t computed = ComputeBatchChecksum(bytes.first(h.size_bytes()));
  if (computed != h.checksum) {
    return absl::DataLossError(absl::StrFormat(
        "batch at offset %d: checksum mismatch, stored 0x%016x but computed 0x%016x", h.base_offset,
        h.checksum, computed));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchHeader> VerifyBatch(std::span<const std::byte> bytes) {
  STRATA_ASSIGN_OR_RETURN(BatchHeader h, ParseBatchHeader(bytes));
  STRATA_RETURN_IF_ERROR(CheckChecksum(bytes, h));
  return h;
}

absl::StatusOr<VerifiedBatch> VerifiedBatch::Verify(std::span<std::byte> bytes,
                                                    AppendRules rules) {
  // A batch cut short is reported by ParseBatchHeader as OutOfRange (the log's torn-tail signal);
  // arriving at an append it is simply damaged.
  const auto rejected = [](const absl::Status& st) {
    return absl::DataLossError(absl::StrCat("rejected batch: ", st.message()));
  };
  absl::StatusOr<BatchHeader> header = ParseBatchHeader(bytes);
  if (!header.ok()) return rejected(header.status());
  if (rules.dense) {
    if (absl::Status dense = CheckDenseBatch(*header); !dense.ok()) return rejected(dense);
  }
  if (bytes.size() != header->size_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("append takes exactly one batch: got ",
                                                   bytes.size(), " bytes for a batch of ",
                                                   header->size_bytes()));
  }
  if (!rules.keys_required) {
    if (absl::Status st = CheckChecksum(bytes, *header); !st.ok()) return rejected(st);
    return VerifiedBatch(bytes, *header);
  }
  // Decoding every record verifies the checksum too (BatchReader::Open), so it is hashed once.
  absl::StatusOr<BatchReader> reader = BatchReader::Open(bytes);
  if (!reader.ok()) return rejected(reader.status());
  Record record;
  for (int32_t index = 0;; ++index) {
    absl::StatusOr<bool> more = reader->NextInto(record);
    if (!more.ok()) return rejected(more.status());
    if (!*more) break;
    if (!record.key.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a compacted topic needs a key on every record: record ", index, " (offset delta ",
          record.offset - header->base_offset, ") of the batch has a null key"));
    }
  }
  return VerifiedBatch(bytes, *header);
}

void VerifiedBatch::Stamp(int64_t base_offset, int32_t leader_epoch) {
  StampBatch(bytes_, base_offset, leader_epoch);
  header_.base_offset = base_offset;
  header_.leader_epoch = leader_epoch;
}

absl::Status CheckDenseBatch(const BatchHeader& h) {
  if (h.record_count < 1 || h.last_offset_delta != h.record_count - 1) {
    return absl::DataLossError(absl::StrFormat(
        "record_count %d with last_offset_delta %d: a producer's batch holds at least one record "
        "and one offset per record (last_offset_delta = record_count - 1); only compaction "
        "writes other batches",
        h.record_count, h.last_offset_delta));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::byte>> BuildCompactedBatch(std::span<const std::byte> original,
                                                           std::span<const std::byte> kept_records,
                                                           int32_t kept_count) {
  STRATA_ASSIGN_OR_RETURN(BatchHeader h, ParseBatchHeader(original));
  if (kept_count < 0 || kept_count > h.record_count) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot keep %d of a batch's %d records", kept_count, h.record_count));
  }
  if (absl::Status st = CheckRecordsSection(kept_records, kept_count, h.last_offset_delta);
      !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("kept records of the batch at offset %d do not read back: %s",
                        h.base_offset, st.message()));
  }
  uint16_t attributes = h.attributes;
  // An empty batch is a header only, so there is nothing to compress (ParseBatchHeader insists).
  if (kept_count == 0) attributes &= uint16_t(~bf::kCompressionMask);

  std::vector<std::byte> out(original.begin(), original.begin() + bf::kHeaderBytes);
  if (kept_count > 0) {
    switch (h.compression()) {
      case Compression::kNone:
        out.resize(bf::kHeaderBytes + kept_records.size());  // not insert: see Build
        std::copy_n(kept_records.data(), kept_records.size(), out.data() + bf::kHeaderBytes);
        break;
      case Compression::kLz4:
        STRATA_RETURN_IF_ERROR(CompressLz4(AsStringView(kept_records), out));
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrFormat("unsupported compression code %d", int(h.compression())));
    }
  }
  if (out.size() > limits::batch_bytes_max) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "compacted batch at offset %d is %d bytes; limits::batch_bytes_max is %d", h.base_offset,
        out.size(), limits::batch_bytes_max));
  }
  std::byte* p = out.data();
  PutI32(p + bf::kBatchLengthPos, int32_t(out.size() - bf::kLogOverheadBytes));
  PutU16(p + bf::kAttributesPos, attributes);
  PutI32(p + bf::kRecordCountPos, kept_count);
  PutU64(p + bf::kChecksumPos, ComputeBatchChecksum(out));
  if (absl::StatusOr<BatchHeader> parsed = ParseBatchHeader(out); !parsed.ok()) {
    return absl::InternalError(absl::StrFormat(
        "compacted a batch into one that fails its own header check: %s",
        parsed.status().message()));
  }
  return out;
}

void StampBatch(std::span<std::byte> batch, int64_t base_offset, int32_t leader_epoch) {
  STRATA_CHECK(batch.size() >= bf::kHeaderBytes) << "stamping " << batch.size() << " bytes";
  STRATA_DCHECK(base_offset >= 0 && leader_epoch >= 0)
      << "stamping base_offset " << base_offset << " leader_epoch " << leader_epoch;
  PutI64(batch.data() + bf::kBaseOffsetPos, base_offset);
  PutI32(batch.data() + bf::kLeaderEpochPos, leader_epoch);
}

uint64_t ComputeBatchChecksum(std::span<const std::byte> batch) {
  STRATA_DCHECK(batch.size() >= bf::kChecksumCoverPos) << "checksum of " << batch.size() << " bytes";
  if (batch.size() < bf::kChecksumCoverPos) return Xxh3_64(nullptr, 0);
  return Xxh3_64(batch.data() + bf::kChecksumCoverPos, batch.size() - bf::kChecksumCoverPos);
}

// --- Reading ---------------------------------------------------------------------------------

absl::StatusOr<BatchReader> BatchReader::Open(std::span<const std::byte> batch) {
  STRATA_ASSIGN_OR_RETURN(const BatchHeader header, VerifyBatch(batch));
  return OpenSection(header,
                     batch.subspan(bf::kHeaderBytes, header.size_bytes() - bf::kHeaderBytes));
}

absl::StatusOr<BatchReader> BatchReader::OpenSection(const BatchHeader& header,
                                                     std::span<const std::byte> section) {
  BatchReader reader;
  reader.header_ = header;
  switch (reader.header_.compression()) {
    case Compression::kNone:
      reader.records_ = section;
      break;
    case Compression::kLz4: {
      absl::StatusOr<std::vector<std::byte>> out = DecompressLz4(section);
      if (!out.ok()) {
        return absl::DataLossError(absl::StrFormat(
            "batch at offset %d: %s", reader.header_.base_offset, out.status().message()));
      }
      reader.decompressed_ = *std::move(out);
      reader.records_ = reader.decompressed_;
      break;
    }
    default:
      return absl::DataLossError(
          absl::StrFormat("batch at offset %d: unsupported compression code %d",
                          reader.header_.base_offset, int(reader.header_.compression())));
  }
  return reader;
}

absl::StatusOr<std::optional<Record>> BatchReader::Next() {
  Record record;
  STRATA_ASSIGN_OR_RETURN(const bool got, NextInto(record));
  if (!got) return std::optional<Record>();
  return std::optional<Record>(std::move(record));
}

namespace testing {
bool force_slow_record_decoding = false;
}  // namespace testing

absl::StatusOr<bool> BatchReader::NextInto(Record& out) {
  // For a compressed batch, take the section from decompressed_ itself rather than records_: a
  // copied reader's records_ would still point into the original reader's buffer.
  std::span<const std::byte> section = header_.compression() == Compression::kNone
                                           ? records_
                                           : std::span<const std::byte>(decompressed_);
  auto error = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrFormat("batch at offset %d, record %d of %d: %s",
                                               header_.base_offset, index_, header_.record_count,
                                               what));
  };
  if (index_ >= header_.record_count) {
    if (pos_ != section.size()) {
      return error(absl::StrFormat("%d bytes left in the records section after the last record",
                                   section.size() - pos_));
    }
    return false;
  }
  if (pos_ >= section.size()) return error("the records section ended early");

  if (!testing::force_slow_record_decoding) {
    const uint8_t* base = reinterpret_cast<const uint8_t*>(section.data());
    const uint8_t* p = base + pos_;
    const uint8_t* end = base + section.size();
    int32_t length;
    if (ReadVarint(p, end, length) && length >= 0 && size_t(length) <= size_t(end - p) &&
        FastDecodeRecordBody(p, p + length, header_, prev_delta_, out)) {
      last_record_pos_ = pos_;
      pos_ = size_t(p - base) + size_t(length);
      ++index_;
      prev_delta_ = int32_t(out.offset - header_.base_offset);
      return true;
    }
  }

  // The Status path: says what is wrong (or decodes a record the fast path refused, which would
  // be a bug there; the outcome is then still this path's).
  // Errors leave pos_ and index_ alone, so calling Next again reports the same error.
  size_t pos = pos_;
  absl::StatusOr<int32_t> length = varint::GetVarint(section, &pos);
  if (!length.ok()) return error(length.status().message());
  if (*length < 0) return error(absl::StrFormat("record length %d is negative", *length));
  if (size_t(*length) > section.size() - pos) {
    return error(absl::StrFormat("record length %d overruns the records section (%d bytes left)",
                                 *length, section.size() - pos));
  }
  absl::StatusOr<Record> record =
      DecodeRecordBody(section.subspan(pos, size_t(*length)), header_, prev_delta_);
  if (!record.ok()) return error(record.status().message());
  last_record_pos_ = pos_;
  pos_ = pos + size_t(*length);
  ++index_;
  prev_delta_ = int32_t(record->offset - header_.base_offset);
  out = *std::move(record);
  return true;
}

std::span<const std::byte> BatchReader::last_record_encoding() const {
  std::span<const std::byte> section = header_.compression() == Compression::kNone
                                           ? records_
                                           : std::span<const std::byte>(decompressed_);
  if (index_ == 0) return {};
  return section.subspan(last_record_pos_, pos_ - last_record_pos_);
}

absl::StatusOr<std::vector<Record>> BatchReader::ReadAll() {
  std::vector<Record> records;
  if (index_ < header_.record_count) records.reserve(size_t(header_.record_count - index_));
  for (;;) {
    STRATA_ASSIGN_OR_RETURN(std::optional<Record> record, Next());
    if (!record.has_value()) return records;
    records.push_back(*std::move(record));
  }
}

}  // namespace strata::record
