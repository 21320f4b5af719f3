// The Fetch response body: a FlatBuffer followed by the record bytes it describes, so the broker
// can send batches straight from segment mappings (scatter-gather) instead of copying them into a
// FlatBuffers vector.
//
//  offset      size        field
//   0           4          fb_bytes   u32: length of the FlatBuffer
//   4           fb_bytes   FetchResponse FlatBuffer (schemas/fetch.fbs)
//   4+fb_bytes  .          records    every partition's records_bytes, in the order the
//                                     FlatBuffer lists topics and partitions
//
// docs/protocol.md is the prose spec. Plain functions, safe from any thread.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "common/status.h"
#include "protocol/fetch_generated.h"

namespace strata::protocol {

inline constexpr size_t kFetchFbBytesPos = 0;
inline constexpr size_t kFetchFbPos = kFetchFbBytesPos + 4;

// The head of a Fetch response body: fb_bytes and the FlatBuffer. The records follow it on the
// wire; the frame's size must count them (head.size() + total records_bytes).
std::vector<std::byte> EncodeFetchResponseHead(std::span<const std::byte> flatbuffer);

struct FetchResponseView {
  const fb::FetchResponse* response = nullptr;  // verified
  std::span<const std::byte> records;           // all partitions' records, back to back
};

// Verifies the FlatBuffer and that the partitions' records_bytes add up to exactly the trailing
// bytes. InvalidArgument otherwise. The view points into `body`.
absl::StatusOr<FetchResponseView> ParseFetchResponseBody(std::span<const std::byte> body);

}  // namespace strata::protocol
