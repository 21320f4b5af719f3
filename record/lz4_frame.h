// The records section of an LZ4-compressed batch: one LZ4 frame (docs/format.md "Compression").
// Stateless functions, safe from any thread.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata::record {

// Compresses `src` into one LZ4 frame with independent blocks (as Kafka's reader requires),
// appended to `out`. Internal on a liblz4 failure.
absl::Status CompressLz4(std::string_view src, std::vector<std::byte>& out);

// Decompresses exactly one LZ4 frame that must fill `src`, refusing to produce more than
// limits::batch_uncompressed_bytes_max bytes. DataLoss for anything else.
absl::StatusOr<std::vector<std::byte>> DecompressLz4(std::span<const std::byte> src);

}  // namespace strata::record
