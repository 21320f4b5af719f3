// LZ4 frames for batch records sections (lz4_frame.h).
#include "record/lz4_frame.h"

#include <lz4frame.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_format.h"
#include "common/limits.h"

namespace strata::record {
namespace {

struct Lz4DctxDeleter {
  void operator()(LZ4F_dctx* ctx) const { LZ4F_freeDecompressionContext(ctx); }
};

}  // namespace

absl::Status CompressLz4(std::string_view src, std::vector<std::byte>& out) {
  LZ4F_preferences_t prefs = {};
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentSize = src.size();
  // The batch checksum already covers these bytes; a frame content checksum would be redundant.
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  size_t bound = LZ4F_compressFrameBound(src.size(), &prefs);
  size_t start = out.size();
  out.resize(start + bound);
  size_t n = LZ4F_compressFrame(out.data() + start, bound, src.data(), src.size(), &prefs);
  if (LZ4F_isError(n)) {
    return absl::InternalError(
        absl::StrFormat("LZ4F_compressFrame failed: %s", LZ4F_getErrorName(n)));
  }
  out.resize(start + n);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::byte>> DecompressLz4(std::span<const std::byte> src) {
  LZ4F_dctx* raw = nullptr;
  size_t rc = LZ4F_createDecompressionContext(&raw, LZ4F_VERSION);
  if (LZ4F_isError(rc)) {
    return absl::InternalError(
        absl::StrFormat("LZ4F_createDecompressionContext failed: %s", LZ4F_getErrorName(rc)));
  }
  std::unique_ptr<LZ4F_dctx, Lz4DctxDeleter> ctx(raw);

  // One byte beyond the limit: a frame that writes into it is over the limit, while a frame of
  // exactly the limit still has room to consume its end mark.
  constexpr size_t kCapacityMax = size_t(limits::batch_uncompressed_bytes_max) + 1;

  // Size the output from the frame's content size when it has one (ours always do); liblz4 checks
  // that size against what the frame really holds. Otherwise start small and grow.
  LZ4F_frameInfo_t info = {};
  size_t in_pos = src.size();
  size_t rc_info = LZ4F_getFrameInfo(ctx.get(), &info, src.data(), &in_pos);
  if (LZ4F_isError(rc_info)) {
    return absl::DataLossError(
        absl::StrFormat("LZ4 frame header is invalid: %s", LZ4F_getErrorName(rc_info)));
  }
  if (info.contentSize > limits::batch_uncompressed_bytes_max) {
    return absl::DataLossError(absl::StrFormat(
        "LZ4 frame declares %d bytes, over limits::batch_uncompressed_bytes_max (%d bytes)",
        info.contentSize, limits::batch_uncompressed_bytes_max));
  }
  size_t initial = info.contentSize != 0 ? size_t(info.contentSize) + 1
                                         : std::max<size_t>(64 << 10, src.size() * 2);
  std::vector<std::byte> out(std::min(kCapacityMax, initial));
  size_t out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) {
      if (out.size() == kCapacityMax) break;  // reported below
      out.resize(std::min(kCapacityMax, out.size() * 2));
    }
    size_t dst_size = out.size() - out_pos;
    size_t src_size = src.size() - in_pos;
    size_t hint = LZ4F_decompress(ctx.get(), out.data() + out_pos, &dst_size, src.data() + in_pos,
                                  &src_size, nullptr);
    if (LZ4F_isError(hint)) {
      return absl::DataLossError(absl::StrFormat("LZ4 frame is corrupt after %d of %d bytes: %s",
                                                 in_pos, src.size(), LZ4F_getErrorName(hint)));
    }
    in_pos += src_size;
    out_pos += dst_size;
    if (hint == 0) break;  // the frame is complete
    if (in_pos == src.size() && out_pos < out.size()) {
      return absl::DataLossError(
          absl::StrFormat("LZ4 frame is truncated: all %d compressed bytes consumed but the frame "
                          "is not complete",
                          src.size()));
    }
    if (src_size == 0 && dst_size == 0 && out_pos < out.size()) {
      return absl::DataLossError("LZ4 decompression made no progress");
    }
  }
  if (out_pos > limits::batch_uncompressed_bytes_max) {
    return absl::DataLossError(
        absl::StrFormat("LZ4 records section decompresses to more than "
                        "limits::batch_uncompressed_bytes_max (%d bytes)",
                        limits::batch_uncompressed_bytes_max));
  }
  if (in_pos != src.size()) {
    return absl::DataLossError(absl::StrFormat(
        "%d trailing bytes after the LZ4 frame in the records section", src.size() - in_pos));
  }
  out.resize(out_pos);
  return out;
}

}  // namespace strata::record
