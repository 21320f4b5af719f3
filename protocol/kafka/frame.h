// Framing of Kafka's protocol: every request and response is a 4-byte big-endian size, then a
// header, then the body (kafka_messages.h).
//
//   request   size i32 | api_key i16 | api_version i16 | correlation_id i32 | client_id string?
//             [| tagged fields, when the API's version is flexible (header v2)] | body
//   response  size i32 | correlation_id i32 [| tagged fields, flexible (header v1)] | body
//
// ApiVersions' response header is always v0 (no tagged fields), so that a client that guessed a
// version the broker does not serve can still read the answer. docs/kafka.md is the prose spec.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/status.h"
#include "protocol/kafka/wire.h"

namespace strata::protocol::kafka {

inline constexpr size_t kSizeFieldBytes = 4;
// api_key, api_version, correlation_id: the fixed part every request header starts with.
inline constexpr size_t kRequestHeaderFixedBytes = 2 + 2 + 4;

inline constexpr int16_t kApiVersionsKey = 18;

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
};

// The served range of an API key, from the message descriptions; nullopt for a key this build
// does not describe.
struct ApiRange {
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible_version;  // -1: none
  const char* name;
};
std::optional<ApiRange> FindApi(int16_t api_key);
// "Produce", "Fetch", ...; "Unknown" for a key this build does not describe.
const char* ApiName(int16_t api_key);

// Reads the header of the request in `frame` (the bytes after the size field); `r` is then at the
// body. A version outside the served range still parses (the handler answers it with error 35),
// with the header of the served flexibility.
RequestHeader ReadRequestHeader(Reader& r);

// Starts a response to `header`: a size placeholder, the correlation id and, when the request's
// version is flexible (and it is not ApiVersions), an empty tagged-field section. Finish it with
// FinishResponse once the body is written.
Writer StartResponse(const RequestHeader& header);
// Fills in the size field.
void FinishResponse(Writer& w);

}  // namespace strata::protocol::kafka
