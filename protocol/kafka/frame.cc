#include "protocol/kafka/frame.h"

#include "protocol/kafka/kafka_messages.h"

namespace strata::protocol::kafka {

std::optional<ApiRange> FindApi(int16_t api_key) {
  for (const auto& api : kDescribedApis) {
    if (api.key == api_key) {
      return ApiRange{api.min_version, api.max_version, api.first_flexible_version, api.name};
    }
  }
  return std::nullopt;
}

const char* ApiName(int16_t api_key) {
  auto api = FindApi(api_key);
  return api ? api->name : "Unknown";
}

namespace {
bool IsFlexible(int16_t api_key, int16_t version) {
  auto api = FindApi(api_key);
  return api && api->first_flexible_version >= 0 && version >= api->first_flexible_version;
}
}  // namespace

RequestHeader ReadRequestHeader(Reader& r) {
  RequestHeader h;
  h.api_key = r.I16();
  h.api_version = r.I16();
  h.correlation_id = r.I32();
  h.client_id = r.NullableString(/*compact=*/false);  // never compact, even in header v2
  if (r.ok() && IsFlexible(h.api_key, h.api_version)) {
    const uint32_t tags = r.UVarint();
    for (uint32_t i = 0; i < tags && r.ok(); ++i) {
      r.UVarint();  // tag
      r.Sub(r.UVarint());
    }
  }
  return h;
}

Writer StartResponse(const RequestHeader& header) {
  Writer w;
  w.I32(0);  // size, filled in by FinishResponse
  w.I32(header.correlation_id);
  if (header.api_key != kApiVersionsKey && IsFlexible(header.api_key, header.api_version)) {
    w.UVarint(0);  // header v1: no tagged fields
  }
  return w;
}

void FinishResponse(Writer& w) { w.PatchI32(0, int32_t(w.size() - kSizeFieldBytes)); }

}  // namespace strata::protocol::kafka
