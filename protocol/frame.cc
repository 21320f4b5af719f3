#include "protocol/frame.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/endian.h"

namespace strata::protocol {

absl::StatusOr<std::optional<Frame>> ParseFrame(std::span<const std::byte> buffer,
                                                size_t frame_bytes_max) {
  if (buffer.size() < kCorrelationIdPos) return std::nullopt;
  const uint64_t size = GetU32(buffer.data() + kFrameSizePos);
  if (size < kFrameSizeOverheadBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame size ", size, " is below the ", kFrameSizeOverheadBytes,
        "-byte minimum: not a Strata frame (is this a Kafka or HTTP client on the native port?)"));
  }
  const uint64_t frame_bytes = kCorrelationIdPos + size;
  if (frame_bytes > frame_bytes_max) {
    return absl::ResourceExhaustedError(absl::StrCat("frame of ", frame_bytes,
                                                     " bytes exceeds the maximum of ",
                                                     frame_bytes_max));
  }
  if (buffer.size() < frame_bytes) return std::nullopt;
  Frame f;
  f.correlation_id = GetU32(buffer.data() + kCorrelationIdPos);
  f.api_key = GetU16(buffer.data() + kApiKeyPos);
  f.api_version = GetU16(buffer.data() + kApiVersionPos);
  f.body = buffer.subspan(kFrameHeaderBytes, frame_bytes - kFrameHeaderBytes);
  f.frame_bytes = frame_bytes;
  return f;
}

absl::StatusOr<std::vector<std::byte>> EncodeFrame(uint32_t correlation_id, uint16_t api_key,
                                                   uint16_t api_version,
                                                   std::span<const std::byte> body,
                                                   size_t frame_bytes_max) {
  const uint64_t frame_bytes = kFrameHeaderBytes + uint64_t(body.size());
  if (frame_bytes > frame_bytes_max) {
    return absl::InvalidArgumentError(absl::StrCat("frame of ", frame_bytes,
                                                   " bytes would exceed the maximum of ",
                                                   frame_bytes_max));
  }
  std::vector<std::byte> out(frame_bytes);
  STRATA_ASSIGN_OR_RETURN(auto header, EncodeFrameHeader(correlation_id, api_key, api_version,
                                                         body.size(), frame_bytes_max));
  std::memcpy(out.data(), header.data(), header.size());
  if (!body.empty()) std::memcpy(out.data() + kFrameHeaderBytes, body.data(), body.size());
  return out;
}

absl::StatusOr<std::array<std::byte, kFrameHeaderBytes>> EncodeFrameHeader(
    uint32_t correlation_id, uint16_t api_key, uint16_t api_version, uint64_t body_bytes,
    size_t frame_bytes_max) {
  const uint64_t frame_bytes = kFrameHeaderBytes + body_bytes;
  if (frame_bytes > frame_bytes_max) {
    return absl::InvalidArgumentError(absl::StrCat("frame of ", frame_bytes,
                                                   " bytes would exceed the maximum of ",
                                                   frame_bytes_max));
  }
  std::array<std::byte, kFrameHeaderBytes> out;
  PutU32(out.data() + kFrameSizePos, uint32_t(frame_bytes - kCorrelationIdPos));
  PutU32(out.data() + kCorrelationIdPos, correlation_id);
  PutU16(out.data() + kApiKeyPos, api_key);
  PutU16(out.data() + kApiVersionPos, api_version);
  return out;
}

}  // namespace strata::protocol
