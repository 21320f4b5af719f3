// libFuzzer target for the client's decoder of Fetch response bodies (protocol/fetch_body.h):
// fb_bytes, the FetchResponse FlatBuffer and the records trailer. A body that parses has every
// field read, and each partition's share of the records is read as the client does: batch by
// batch, verified, every record decoded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "fuzz/walk.h"
#include "protocol/fetch_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  std::span<const std::byte> body(reinterpret_cast<const std::byte*>(data), size);
  auto view = protocol::ParseFetchResponseBody(body);
  if (!view.ok()) return 0;
  uint64_t h = fuzz::Walk(view->response);
  std::span<const std::byte> records = view->records;
  if (view->response->topics() != nullptr) {
    for (const auto* topic : *view->response->topics()) {
      if (topic->partitions() == nullptr) continue;
      for (const auto* p : *topic->partitions()) {
        // ParseFetchResponseBody promised that the shares add up to exactly the trailer.
        if (p->records_bytes() > records.size()) std::abort();
        h = fuzz::Mix(h, fuzz::WalkBatches(records.first(p->records_bytes())));
        records = records.subspan(p->records_bytes());
      }
    }
  }
  if (!records.empty()) std::abort();
  fuzz::Sink(h);
  return 0;
}
