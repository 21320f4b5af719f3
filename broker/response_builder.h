// ResponseBuilder: the FlatBufferBuilder every response body is built in. Its buffer may not grow
// past limits::frame_bytes_max: entries of a request that share one table or string cost the
// request 4 bytes each but the response a copy each (a LeaveGroup echoing one long member id many
// times, a Metadata naming one topic many times), so a 1 MiB request could otherwise make the
// broker build gigabytes before FinishResponse refuses to frame them.
//
// The allocator reports "too large" by throwing ResponseTooLarge, the one exception in the
// broker: FlatBuffers' builder has no other way to fail an allocation. RequestHandler::Handle
// catches it around every handler and answers INVALID_REQUEST; it never leaves broker/.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstddef>
#include <cstdint>

#include "common/limits.h"

namespace strata::broker {

struct ResponseTooLarge {};

class BoundedAllocator final : public flatbuffers::Allocator {
 public:
  uint8_t* allocate(size_t size) override {
    if (size > limits::frame_bytes_max) throw ResponseTooLarge{};
    return new uint8_t[size];
  }
  void deallocate(uint8_t* p, size_t) override { delete[] p; }
};

// Stateless, so one instance serves every builder on every thread.
inline BoundedAllocator& ResponseAllocator() {
  static BoundedAllocator allocator;
  return allocator;
}

class ResponseBuilder : public flatbuffers::FlatBufferBuilder {
 public:
  ResponseBuilder() : flatbuffers::FlatBufferBuilder(1024, &ResponseAllocator()) {}
};

}  // namespace strata::broker
