// libFuzzer target for the frame decoder: the input is a connection's receive buffer. Frames are
// parsed from its front the way a connection does (advance by frame_bytes until ParseFrame wants
// more bytes or refuses the stream), and each parsed frame must encode back to its own bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "fuzz/walk.h"
#include "protocol/api.h"
#include "protocol/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  std::span<const std::byte> buffer(reinterpret_cast<const std::byte*>(data), size);
  uint64_t h = 0;
  for (;;) {
    auto frame = protocol::ParseFrame(buffer);
    if (!frame.ok() || !frame->has_value()) break;
    const protocol::Frame& f = **frame;
    // The frame views the buffer and lies wholly inside it.
    if (f.frame_bytes < protocol::kFrameHeaderBytes || f.frame_bytes > buffer.size() ||
        f.body.data() != buffer.data() + protocol::kFrameHeaderBytes ||
        f.body.size() != f.frame_bytes - protocol::kFrameHeaderBytes) {
      std::abort();
    }
    h = fuzz::Mix(h, fuzz::WalkBytes(f.body.data(), f.body.size()));
    h = fuzz::Mix(h, uint64_t(protocol::ApiName(f.api_key)[0]));
    auto encoded = protocol::EncodeFrame(f.correlation_id, f.api_key, f.api_version, f.body);
    if (!encoded.ok() || encoded->size() != f.frame_bytes ||
        std::memcmp(encoded->data(), buffer.data(), f.frame_bytes) != 0) {
      std::abort();  // a parsed frame must round-trip byte for byte
    }
    buffer = buffer.subspan(f.frame_bytes);
  }
  fuzz::Sink(h);
  return 0;
}
