#include "protocol/binary_schema.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace strata::protocol {

namespace internal {
// protocol_bfbs.cc, written at build time by embed_bytes.cmake from protocol.bfbs.
extern const uint8_t kProtocolBfbs[];
extern const size_t kProtocolBfbsSize;
}  // namespace internal

const reflection::Schema& BinarySchema() {
  static const reflection::Schema* const schema = [] {
    flatbuffers::Verifier verifier(internal::kProtocolBfbs, internal::kProtocolBfbsSize);
    if (!reflection::VerifySchemaBuffer(verifier)) {
      std::fprintf(stderr, "strata: the embedded protocol schema (protocol.bfbs) is corrupt\n");
      std::abort();
    }
    return reflection::GetSchema(internal::kProtocolBfbs);
  }();
  return *schema;
}

int SchemaObjectIndex(const char* fully_qualified_name) {
  const auto& objects = *BinarySchema().objects();
  for (flatbuffers::uoffset_t i = 0; i < objects.size(); ++i) {
    if (std::strcmp(objects.Get(i)->name()->c_str(), fully_qualified_name) == 0) return int(i);
  }
  std::fprintf(stderr, "strata: %s is not in the embedded protocol schema\n", fully_qualified_name);
  std::abort();
}

}  // namespace strata::protocol
