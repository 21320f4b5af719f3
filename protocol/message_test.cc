// Schemas compile with flatc at build time; bodies round-trip through a frame; anything that is
// not a valid body is rejected before a field is read.
#include <catch2/catch.hpp>

#include <random>

#include "protocol/api.h"
#include "protocol/api_versions_generated.h"
#include "protocol/frame.h"
#include "protocol/message.h"

namespace strata::protocol {
namespace {

std::vector<std::byte> ApiVersionsResponseBody() {
  flatbuffers::FlatBufferBuilder b;
  std::vector<fb::ApiVersionRange> ranges;
  for (const auto& api : SupportedApis()) {
    ranges.emplace_back(uint16_t(api.key), api.min_version, api.max_version);
  }
  auto resp = fb::CreateApiVersionsResponse(b, fb::ErrorCode::NONE, b.CreateString(""),
                                            b.CreateVectorOfStructs(ranges));
  b.Finish(resp);
  auto bytes = BuilderBytes(b);
  return {bytes.begin(), bytes.end()};
}

TEST_CASE("an ApiVersions response round-trips through a frame", "[protocol][fb]") {
  auto body = ApiVersionsResponseBody();
  auto frame = EncodeFrame(42, uint16_t(ApiKey::kApiVersions), 0, body).value();
  auto parsed = ParseFrame(frame).value();
  REQUIRE(parsed.has_value());
  auto resp = VerifyBody<fb::ApiVersionsResponse>(parsed->body, "ApiVersionsResponse");
  REQUIRE(resp.ok());
  CHECK((*resp)->error_code() == fb::ErrorCode::NONE);
  REQUIRE((*resp)->api_versions() != nullptr);
  REQUIRE((*resp)->api_versions()->size() == SupportedApis().size());
  CHECK((*resp)->api_versions()->Get(0)->api_key() == uint16_t(ApiKey::kApiVersions));
}

TEST_CASE("bodies that are not valid FlatBuffers are refused", "[protocol][fb]") {
  CHECK(absl::IsInvalidArgument(
      VerifyBody<fb::ApiVersionsResponse>({}, "ApiVersionsResponse").status()));
  auto body = ApiVersionsResponseBody();
  // A truncated body either fails verification or (when only unreferenced trailing padding was
  // cut) still reads back the same fields; it never reads past its end.
  int refused = 0;
  for (size_t n = 0; n < body.size(); ++n) {
    auto r = VerifyBody<fb::ApiVersionsResponse>(std::span(body).first(n), "ApiVersionsResponse");
    if (!r.ok()) {
      ++refused;
      continue;
    }
    REQUIRE((*r)->api_versions() != nullptr);
    CHECK((*r)->api_versions()->size() == SupportedApis().size());
  }
  CHECK(refused >= int(body.size()) - 8);
  // Random bytes: never a crash (ASan would catch an out-of-bounds read); nearly always refused.
  std::mt19937_64 rng(5);
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) {
    std::vector<std::byte> junk(4 + rng() % 60);
    for (auto& b : junk) b = std::byte(rng());
    auto r = VerifyBody<fb::ApiVersionsResponse>(junk, "ApiVersionsResponse");
    if (r.ok()) {
      ++accepted;
      // Whatever was accepted must be readable within its bounds.
      if ((*r)->api_versions() != nullptr) (void)(*r)->api_versions()->size();
    }
  }
  CHECK(accepted < 500);
}

}  // namespace
}  // namespace strata::protocol
