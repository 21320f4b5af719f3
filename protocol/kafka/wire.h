// The primitive types of Kafka's wire protocol, read and written: the pieces the generated codec
// (kafka_messages.h, from codegen.py) is made of.
//
// Kafka's integers are big-endian. Strings and byte strings have an i16 (strings) or i32 (bytes)
// length, -1 for null; in flexible versions they are "compact": an unsigned varint of length + 1,
// 0 for null. Arrays likewise (i32 count, or compact count + 1). docs/kafka.md lists them all.
//
// Reader never reads past its span: a short or malformed input fails the reader, which then
// returns zeros and empty values, and the caller checks ok() once at the end. Every length is
// checked against the bytes left before anything is allocated, so a hostile count costs nothing.
//
// Writer appends to its own buffer, except Records, which it keeps as references to the caller's
// bytes (Fetch serves batches straight from the segment mappings): pieces() lists the output in
// order as owned and borrowed spans.
//
// Neither is thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::protocol::kafka {

using Uuid = std::array<uint8_t, 16>;

// A records field: record batches as raw bytes, never decoded by the codec. Decoded, it is one
// piece viewing the request; to encode, the caller lists the pieces to send back to back (they
// must stay alive until the response is written).
struct Records {
  std::vector<std::span<const std::byte>> pieces;
  size_t size() const {
    size_t n = 0;
    for (const auto& p : pieces) n += p.size();
    return n;
  }
  bool operator==(const Records& other) const { return pieces.empty() && other.pieces.empty(); }
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // Fails the reader with `why` (the first failure is kept).
  void Fail(std::string why);
  size_t remaining() const { return bytes_.size() - pos_; }
  size_t position() const { return pos_; }

  int8_t I8();
  int16_t I16();
  int32_t I32();
  int64_t I64();
  uint16_t U16();
  double F64();
  bool Bool() { return I8() != 0; }
  Uuid UuidValue();
  uint32_t UVarint();
  // A zigzag varint, as in record bodies.
  int32_t Varint();

  std::string String(bool compact);
  std::optional<std::string> NullableString(bool compact);
  std::vector<std::byte> Bytes(bool compact);
  std::optional<std::vector<std::byte>> NullableBytes(bool compact);
  Records RecordsValue(bool compact);
  std::optional<Records> NullableRecords(bool compact);
  // An array's element count: -1 for null. Fails when the count cannot fit in the bytes left
  // (each element takes at least one byte).
  int32_t ArrayLength(bool compact);
  // The next `size` bytes as a reader of their own (a tagged field); this reader moves past them.
  Reader Sub(uint32_t size);

 private:
  // The next n bytes, or nullptr (and failed) when fewer are left.
  const std::byte* Take(size_t n);
  // A string or bytes length: -1 null, else checked against the bytes left.
  int64_t Length(bool compact, bool wide);

  std::span<const std::byte> bytes_;
  size_t pos_ = 0;
  std::string error_;
};

class Writer {
 public:
  void I8(int8_t v) { Put(uint64_t(uint8_t(v)), 1); }
  void I16(int16_t v) { Put(uint64_t(uint16_t(v)), 2); }
  void I32(int32_t v) { Put(uint64_t(uint32_t(v)), 4); }
  void I64(int64_t v) { Put(uint64_t(v), 8); }
  void U16(uint16_t v) { Put(v, 2); }
  void F64(double v);
  void Bool(bool v) { I8(v ? 1 : 0); }
  void UuidValue(const Uuid& v);
  void UVarint(uint32_t v);
  void Varint(int32_t v);

  void String(std::string_view s, bool compact);
  void NullableString(const std::optional<std::string>& s, bool compact);
  void Bytes(std::span<const std::byte> b, bool compact);
  void NullableBytes(const std::optional<std::vector<std::byte>>& b, bool compact);
  void RecordsValue(const Records& r, bool compact);
  void NullableRecords(const std::optional<Records>& r, bool compact);
  void ArrayLength(int32_t n, bool compact);
  void Raw(std::span<const std::byte> b) { owned_.insert(owned_.end(), b.begin(), b.end()); }
  // Appends another writer's output (it has no borrowed pieces: tagged fields).
  void Append(const Writer& other) { Raw(other.owned_); }

  // Bytes written so far, borrowed pieces included.
  size_t size() const { return owned_.size() + borrowed_bytes_; }
  // Overwrites 4 bytes at `pos` (a size field written before its content was known).
  void PatchI32(size_t pos, int32_t v);
  // The output in order: owned bytes interleaved with the borrowed Records pieces. The spans view
  // this writer's buffer, so they are valid until it is written to again or destroyed.
  std::vector<std::span<const std::byte>> pieces() const;
  // Everything in one buffer (tests and small responses).
  std::vector<std::byte> Flatten() const;

 private:
  void Put(uint64_t v, int bytes);

  std::vector<std::byte> owned_;
  // Borrowed pieces, each inserted at an offset into owned_.
  std::vector<std::pair<size_t, std::span<const std::byte>>> borrowed_;
  size_t borrowed_bytes_ = 0;
};

}  // namespace strata::protocol::kafka
