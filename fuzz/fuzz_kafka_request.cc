// libFuzzer target for one Kafka request decoder of the generated codec
// (protocol/kafka/kafka_messages.h), chosen at build time by STRATA_KAFKA_FUZZ_TABLE; the Kafka
// listener runs it on every request body a client sends. fuzz/CMakeLists.txt builds one binary
// per request.
//
// Input: two bytes choosing the version (taken modulo the served range), then the body.
// What must hold:
//   - decoding never reads outside the input (ASan) and fails only through the reader;
//   - a body that decodes re-encodes to bytes that decode again, and whose second encoding is
//     byte for byte the first (the codec's encode and decode agree at every version).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "protocol/kafka/frame.h"
#include "protocol/kafka/kafka_messages.h"

namespace {

using Table = strata::protocol::kafka::STRATA_KAFKA_FUZZ_TABLE;
namespace kafka = strata::protocol::kafka;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "fuzz_kafka_request: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int range = Table::kMaxVersion - Table::kMinVersion + 1;
  const auto version =
      static_cast<int16_t>(Table::kMinVersion + ((data[0] << 8 | data[1]) % range));
  const std::span<const std::byte> body(reinterpret_cast<const std::byte*>(data) + 2, size - 2);

  kafka::Reader r(body);
  Table decoded;
  decoded.Decode(r, version);
  // The header parser sees the same bytes as if they were a whole request.
  kafka::Reader header_reader(body);
  kafka::ReadRequestHeader(header_reader);
  if (!r.ok()) return 0;

  kafka::Writer first;
  decoded.Encode(first, version);
  const auto first_bytes = first.Flatten();
  kafka::Reader again(first_bytes);
  Table redecoded;
  redecoded.Decode(again, version);
  if (!again.ok()) Fail("a decoded request does not decode after re-encoding");
  if (again.remaining() != 0) Fail("re-encoded request has bytes left over");
  kafka::Writer second;
  redecoded.Encode(second, version);
  if (second.Flatten() != first_bytes) Fail("encode(decode(encode(x))) differs from encode(x)");
  return 0;
}
