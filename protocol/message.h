// Reading FlatBuffers bodies safely. Every body a server or client receives goes through
// VerifyBody before any field is read: FlatBuffers accessors trust their input, and a body that
// fails verification is InvalidArgument (the frame was well-formed, its content is not).
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <span>
#include <string>

#include "common/limits.h"
#include "common/status.h"

namespace strata::protocol {

// The root table of `body`, verified to lie wholly inside it, with nesting and table counts
// bounded by limits::fb_depth_max and limits::fb_tables_max.
template <typename Table>
absl::StatusOr<const Table*> VerifyBody(std::span<const std::byte> body, const char* what) {
  const auto* data = reinterpret_cast<const uint8_t*>(body.data());
  flatbuffers::Verifier verifier(data, body.size(), limits::fb_depth_max, limits::fb_tables_max);
  if (body.size() < sizeof(flatbuffers::uoffset_t) || !verifier.VerifyBuffer<Table>(nullptr)) {
    return absl::InvalidArgumentError(std::string(what) +
                                      " body failed FlatBuffers verification (" +
                                      std::to_string(body.size()) + " bytes)");
  }
  return flatbuffers::GetRoot<Table>(data);
}

// The finished buffer of `builder` as bytes (valid while the builder lives).
inline std::span<const std::byte> BuilderBytes(const flatbuffers::FlatBufferBuilder& builder) {
  return {reinterpret_cast<const std::byte*>(builder.GetBufferPointer()), builder.GetSize()};
}

}  // namespace strata::protocol
