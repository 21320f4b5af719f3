#include "protocol/kafka/wire.h"

#include <bit>
#include <cstring>

namespace strata::protocol::kafka {

void Reader::Fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  pos_ = bytes_.size();
}

const std::byte* Reader::Take(size_t n) {
  if (!ok()) return nullptr;
  if (n > remaining()) {
    Fail("request ends early: " + std::to_string(n) + " more bytes expected at byte " +
         std::to_string(pos_) + " of " + std::to_string(bytes_.size()));
    return nullptr;
  }
  const std::byte* p = bytes_.data() + pos_;
  pos_ += n;
  return p;
}

namespace {
uint64_t GetBig(const std::byte* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | uint64_t(uint8_t(p[i]));
  return v;
}
}  // namespace

int8_t Reader::I8() {
  const std::byte* p = Take(1);
  return p ? int8_t(uint8_t(p[0])) : 0;
}
int16_t Reader::I16() {
  const std::byte* p = Take(2);
  return p ? int16_t(uint16_t(GetBig(p, 2))) : 0;
}
int32_t Reader::I32() {
  const std::byte* p = Take(4);
  return p ? int32_t(uint32_t(GetBig(p, 4))) : 0;
}
int64_t Reader::I64() {
  const std::byte* p = Take(8);
  return p ? int64_t(GetBig(p, 8)) : 0;
}
uint16_t Reader::U16() {
  const std::byte* p = Take(2);
  return p ? uint16_t(GetBig(p, 2)) : 0;
}
double Reader::F64() { return std::bit_cast<double>(uint64_t(I64())); }

Uuid Reader::UuidValue() {
  Uuid u{};
  const std::byte* p = Take(u.size());
  if (p) std::memcpy(u.data(), p, u.size());
  return u;
}

uint32_t Reader::UVarint() {
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    const std::byte* p = Take(1);
    if (!p) return 0;
    const uint8_t b = uint8_t(*p);
    if (shift == 28 && (b & 0xf0) != 0) {
      Fail("unsigned varint longer than 32 bits");
      return 0;
    }
    v |= uint32_t(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  Fail("unsigned varint longer than 5 bytes");
  return 0;
}

int32_t Reader::Varint() {
  const uint32_t u = UVarint();
  return int32_t((u >> 1) ^ -(u & 1));
}

int64_t Reader::Length(bool compact, bool wide) {
  int64_t n;
  if (compact) {
    n = int64_t(UVarint()) - 1;
  } else {
    n = wide ? I32() : I16();
  }
  if (!ok()) return -1;
  if (n < -1) {
    Fail("negative length " + std::to_string(n));
    return -1;
  }
  if (n > int64_t(remaining())) {
    Fail("length " + std::to_string(n) + " is longer than the " + std::to_string(remaining()) +
         " bytes left");
    return -1;
  }
  return n;
}

std::optional<std::string> Reader::NullableString(bool compact) {
  const int64_t n = Length(compact, /*wide=*/false);
  if (n < 0) return std::nullopt;
  const std::byte* p = Take(size_t(n));
  if (!p) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(p), size_t(n));
}

std::string Reader::String(bool compact) {
  auto s = NullableString(compact);
  if (!s) {
    if (ok()) Fail("null string where a string is required");
    return {};
  }
  return std::move(*s);
}

std::optional<std::vector<std::byte>> Reader::NullableBytes(bool compact) {
  const int64_t n = Length(compact, /*wide=*/true);
  if (n < 0) return std::nullopt;
  const std::byte* p = Take(size_t(n));
  if (!p) return std::nullopt;
  return std::vector<std::byte>(p, p + n);
}

std::vector<std::byte> Reader::Bytes(bool compact) {
  auto b = NullableBytes(compact);
  if (!b) {
    if (ok()) Fail("null bytes where bytes are required");
    return {};
  }
  return std::move(*b);
}

std::optional<Records> Reader::NullableRecords(bool compact) {
  const int64_t n = Length(compact, /*wide=*/true);
  if (n < 0) return std::nullopt;
  const std::byte* p = Take(size_t(n));
  if (!p) return std::nullopt;
  Records r;
  if (n > 0) r.pieces.emplace_back(p, size_t(n));
  return r;
}

Records Reader::RecordsValue(bool compact) {
  auto r = NullableRecords(compact);
  if (!r) {
    if (ok()) Fail("null records where records are required");
    return {};
  }
  return std::move(*r);
}

int32_t Reader::ArrayLength(bool compact) {
  int64_t n = compact ? int64_t(UVarint()) - 1 : I32();
  if (!ok()) return 0;
  if (n < -1) {
    Fail("negative array length " + std::to_string(n));
    return 0;
  }
  if (n > int64_t(remaining())) {
    Fail("array of " + std::to_string(n) + " elements cannot fit in the " +
         std::to_string(remaining()) + " bytes left");
    return 0;
  }
  return int32_t(n);
}

Reader Reader::Sub(uint32_t size) {
  const std::byte* p = Take(size);
  if (!p) return Reader({});
  return Reader(std::span<const std::byte>(p, size));
}

// --- Writer -------------------------------------------------------------------------------------

void Writer::Put(uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) owned_.push_back(std::byte(uint8_t(v >> (8 * i))));
}

void Writer::F64(double v) { I64(int64_t(std::bit_cast<uint64_t>(v))); }

void Writer::UuidValue(const Uuid& v) {
  for (uint8_t b : v) owned_.push_back(std::byte(b));
}

void Writer::UVarint(uint32_t v) {
  while (v >= 0x80) {
    owned_.push_back(std::byte(uint8_t(v | 0x80)));
    v >>= 7;
  }
  owned_.push_back(std::byte(uint8_t(v)));
}

void Writer::Varint(int32_t v) { UVarint((uint32_t(v) << 1) ^ uint32_t(v >> 31)); }

void Writer::String(std::string_view s, bool compact) {
  if (compact) {
    UVarint(uint32_t(s.size()) + 1);
  } else {
    I16(int16_t(s.size()));
  }
  Raw(std::as_bytes(std::span<const char>(s.data(), s.size())));
}

void Writer::NullableString(const std::optional<std::string>& s, bool compact) {
  if (!s) {
    compact ? UVarint(0) : I16(-1);
    return;
  }
  String(*s, compact);
}

void Writer::Bytes(std::span<const std::byte> b, bool compact) {
  if (compact) {
    UVarint(uint32_t(b.size()) + 1);
  } else {
    I32(int32_t(b.size()));
  }
  Raw(b);
}

void Writer::NullableBytes(const std::optional<std::vector<std::byte>>& b, bool compact) {
  if (!b) {
    compact ? UVarint(0) : I32(-1);
    return;
  }
  Bytes(*b, compact);
}

void Writer::RecordsValue(const Records& r, bool compact) {
  const size_t n = r.size();
  if (compact) {
    UVarint(uint32_t(n) + 1);
  } else {
    I32(int32_t(n));
  }
  for (const auto& piece : r.pieces) {
    if (piece.empty()) continue;
    borrowed_.emplace_back(owned_.size(), piece);
    borrowed_bytes_ += piece.size();
  }
}

void Writer::NullableRecords(const std::optional<Records>& r, bool compact) {
  if (!r) {
    compact ? UVarint(0) : I32(-1);
    return;
  }
  RecordsValue(*r, compact);
}

void Writer::ArrayLength(int32_t n, bool compact) {
  if (compact) {
    UVarint(uint32_t(n + 1));
  } else {
    I32(n);
  }
}

void Writer::PatchI32(size_t pos, int32_t v) {
  for (int i = 0; i < 4; ++i) owned_[pos + i] = std::byte(uint8_t(uint32_t(v) >> (8 * (3 - i))));
}

std::vector<std::span<const std::byte>> Writer::pieces() const {
  std::vector<std::span<const std::byte>> out;
  size_t at = 0;
  for (const auto& [pos, piece] : borrowed_) {
    if (pos > at) out.emplace_back(owned_.data() + at, pos - at);
    out.push_back(piece);
    at = pos;
  }
  if (owned_.size() > at) out.emplace_back(owned_.data() + at, owned_.size() - at);
  return out;
}

std::vector<std::byte> Writer::Flatten() const {
  std::vector<std::byte> out;
  out.reserve(size());
  for (const auto& p : pieces()) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace strata::protocol::kafka
