#include "protocol/fetch_body.h"

#include <string>

#include "common/endian.h"
#include "protocol/message.h"

namespace strata::protocol {

std::vector<std::byte> EncodeFetchResponseHead(std::span<const std::byte> flatbuffer) {
  std::vector<std::byte> head(kFetchFbPos + flatbuffer.size());
  PutU32(head.data() + kFetchFbBytesPos, static_cast<uint32_t>(flatbuffer.size()));
  std::copy(flatbuffer.begin(), flatbuffer.end(), head.begin() + kFetchFbPos);
  return head;
}

absl::StatusOr<FetchResponseView> ParseFetchResponseBody(std::span<const std::byte> body) {
  if (body.size() < kFetchFbPos) {
    return absl::InvalidArgumentError("Fetch response body shorter than its 4-byte fb_bytes");
  }
  const uint64_t fb_bytes = GetU32(body.data() + kFetchFbBytesPos);
  if (fb_bytes > body.size() - kFetchFbPos) {
    return absl::InvalidArgumentError("Fetch response fb_bytes " + std::to_string(fb_bytes) +
                                      " runs past the body (" + std::to_string(body.size()) +
                                      " bytes)");
  }
  FetchResponseView view;
  STRATA_ASSIGN_OR_RETURN(view.response, VerifyBody<fb::FetchResponse>(
                                             body.subspan(kFetchFbPos, fb_bytes), "FetchResponse"));
  view.records = body.subspan(kFetchFbPos + fb_bytes);
  uint64_t total = 0;
  if (view.response->topics() != nullptr) {
    for (const auto* topic : *view.response->topics()) {
      if (topic->partitions() == nullptr) continue;
      for (const auto* p : *topic->partitions()) total += p->records_bytes();
    }
  }
  if (total != view.records.size()) {
    return absl::InvalidArgumentError("Fetch response partitions claim " + std::to_string(total) +
                                      " record bytes but " + std::to_string(view.records.size()) +
                                      " follow the FlatBuffer");
  }
  return view;
}

}  // namespace strata::protocol
