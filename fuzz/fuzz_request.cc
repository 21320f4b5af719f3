// libFuzzer target for one request decoder: the input is a request body of the table named by
// STRATA_FUZZ_TABLE (fuzz/CMakeLists.txt builds one binary per request table). It goes through
// VerifyBody as the broker's handlers do, and a body that verifies is counted by the schema-driven
// walk of request_size.h and has every field read (walk.h), produced batches included, so
// AddressSanitizer catches any read the verifier let past the input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz/walk.h"
#include "protocol/message.h"
#include "protocol/request_size.h"

#ifndef STRATA_FUZZ_TABLE
#error "define STRATA_FUZZ_TABLE to a request table of protocol/schemas, e.g. ProduceRequest"
#endif
#define STRATA_FUZZ_STR2(x) #x
#define STRATA_FUZZ_STR(x) STRATA_FUZZ_STR2(x)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Table = strata::protocol::fb::STRATA_FUZZ_TABLE;
  std::span<const std::byte> body(reinterpret_cast<const std::byte*>(data), size);
  auto table = strata::protocol::VerifyBody<Table>(body, STRATA_FUZZ_STR(STRATA_FUZZ_TABLE));
  if (!table.ok()) return 0;
  strata::fuzz::Sink(strata::protocol::ReadBytes(*table));
  strata::fuzz::Sink(strata::fuzz::Walk(*table));
  return 0;
}
