// Little-endian field encoding. Every on-disk and wire integer goes through these functions, one
// field at a time; structs are never memcpy'd to or from bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace strata {

inline void PutU16(std::byte* p, uint16_t v) {
  p[0] = std::byte(v);
  p[1] = std::byte(v >> 8);
}
inline void PutU32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte(v >> (8 * i));
}
inline void PutU64(std::byte* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::byte(v >> (8 * i));
}
inline uint16_t GetU16(const std::byte* p) {
  return uint16_t(uint16_t(p[0]) | uint16_t(p[1]) << 8);
}
inline uint32_t GetU32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | uint32_t(p[i]);
  return v;
}
inline uint64_t GetU64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | uint64_t(p[i]);
  return v;
}
inline void PutI16(std::byte* p, int16_t v) { PutU16(p, uint16_t(v)); }
inline void PutI32(std::byte* p, int32_t v) { PutU32(p, uint32_t(v)); }
inline void PutI64(std::byte* p, int64_t v) { PutU64(p, uint64_t(v)); }
inline int16_t GetI16(const std::byte* p) { return int16_t(GetU16(p)); }
inline int32_t GetI32(const std::byte* p) { return int32_t(GetU32(p)); }
inline int64_t GetI64(const std::byte* p) { return int64_t(GetU64(p)); }

}  // namespace strata
