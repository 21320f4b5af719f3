// Framing of Strata's native protocol: every request and response travels as one frame.
//
//  offset size field
//   0      4   size            u32: bytes after this field (8 + body), at most frame_bytes_max
//   4      4   correlation_id  u32: chosen by the client, echoed in the response
//   8      2   api_key         u16: which API (protocol/api.h, with the schemas)
//  10      2   api_version     u16: which version of that API's schema the body uses
//  12      .   body            a FlatBuffers message of that API and version
//
// All integers are little-endian, as FlatBuffers itself is. docs/protocol.md is the prose spec.
// ParseFrame is stateless: a connection keeps its received bytes and calls it until it returns
// nullopt (need more bytes); a frame whose declared size is invalid or over the limit is rejected
// from its first 4 bytes, before any body is read, so a hostile size costs no memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/limits.h"
#include "common/status.h"

namespace strata::protocol {

inline constexpr size_t kFrameSizePos = 0;
inline constexpr size_t kCorrelationIdPos = kFrameSizePos + 4;
inline constexpr size_t kApiKeyPos = kCorrelationIdPos + 4;
inline constexpr size_t kApiVersionPos = kApiKeyPos + 2;
inline constexpr size_t kFrameHeaderBytes = kApiVersionPos + 2;
// Bytes counted by `size`: everything after the size field.
inline constexpr size_t kFrameSizeOverheadBytes = kFrameHeaderBytes - kCorrelationIdPos;
static_assert(kFrameHeaderBytes == 12, "frame layout changed: update docs/protocol.md");

// One frame, viewing the buffer it was parsed from.
struct Frame {
  uint32_t correlation_id = 0;
  uint16_t api_key = 0;
  uint16_t api_version = 0;
  std::span<const std::byte> body;
  size_t frame_bytes = 0;  // header + body: how far to advance the buffer
};

// Parses the frame at the front of `buffer`.
//   nullopt            the buffer holds only part of a frame: read more
//   InvalidArgument    `size` is smaller than a header (garbage, or not a Strata client)
//   ResourceExhausted  `size` exceeds frame_bytes_max
// Either error means the stream cannot be resynchronised: answer if possible, then close.
absl::StatusOr<std::optional<Frame>> ParseFrame(std::span<const std::byte> buffer,
                                                size_t frame_bytes_max = limits::frame_bytes_max);

// Encodes a frame around `body`. InvalidArgument if it would exceed frame_bytes_max.
absl::StatusOr<std::vector<std::byte>> EncodeFrame(uint32_t correlation_id, uint16_t api_key,
                                                   uint16_t api_version,
                                                   std::span<const std::byte> body,
                                                   size_t frame_bytes_max = limits::frame_bytes_max);

// The 12-byte header of a frame whose body is `body_bytes` long, for a sender that writes the body
// from several buffers (scatter-gather). InvalidArgument if the frame would exceed frame_bytes_max.
absl::StatusOr<std::array<std::byte, kFrameHeaderBytes>> EncodeFrameHeader(
    uint32_t correlation_id, uint16_t api_key, uint16_t api_version, uint64_t body_bytes,
    size_t frame_bytes_max = limits::frame_bytes_max);

}  // namespace strata::protocol
