#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "common/endian.h"
#include "protocol/frame.h"

namespace strata::protocol {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST_CASE("a frame round-trips, field by field and little-endian", "[protocol][frame]") {
  auto frame = EncodeFrame(0x01020304, 7, 2, Bytes("body!")).value();
  REQUIRE(frame.size() == 12 + 5);
  CHECK(frame[0] == std::byte{13});  // size = 8 + 5, little-endian
  CHECK(frame[4] == std::byte{0x04});
  CHECK(frame[7] == std::byte{0x01});
  auto parsed = ParseFrame(frame).value();
  REQUIRE(parsed.has_value());
  CHECK(parsed->correlation_id == 0x01020304);
  CHECK(parsed->api_key == 7);
  CHECK(parsed->api_version == 2);
  CHECK(std::string(reinterpret_cast<const char*>(parsed->body.data()), parsed->body.size()) ==
        "body!");
  CHECK(parsed->frame_bytes == frame.size());
}

TEST_CASE("every strict prefix of a frame asks for more bytes", "[protocol][frame]") {
  auto frame = EncodeFrame(1, 2, 3, Bytes(std::string(100, 'x'))).value();
  for (size_t n = 0; n < frame.size(); ++n) {
    auto r = ParseFrame(std::span(frame).first(n));
    REQUIRE(r.ok());
    CHECK(!r->has_value());
  }
}

TEST_CASE("back-to-back frames parse one at a time", "[protocol][frame]") {
  std::vector<std::byte> stream;
  for (int i = 0; i < 5; ++i) {
    auto f = EncodeFrame(uint32_t(i), 1, 0, Bytes(std::string(size_t(i) * 10, 'a'))).value();
    stream.insert(stream.end(), f.begin(), f.end());
  }
  std::span<const std::byte> rest(stream);
  for (uint32_t i = 0; i < 5; ++i) {
    auto f = ParseFrame(rest).value();
    REQUIRE(f.has_value());
    CHECK(f->correlation_id == i);
    CHECK(f->body.size() == i * 10);
    rest = rest.subspan(f->frame_bytes);
  }
  CHECK(rest.empty());
}

TEST_CASE("invalid sizes are rejected from the first four bytes", "[protocol][frame]") {
  std::vector<std::byte> small(4);
  PutU32(small.data(), 7);
  CHECK(absl::IsInvalidArgument(ParseFrame(small).status()));
  std::vector<std::byte> huge(4);
  PutU32(huge.data(), 0xffffffff);
  CHECK(absl::IsResourceExhausted(ParseFrame(huge).status()));
  // The limit is checked against the whole frame, and it is a parameter.
  auto frame = EncodeFrame(1, 1, 1, Bytes(std::string(100, 'b'))).value();
  CHECK(absl::IsResourceExhausted(ParseFrame(frame, frame.size() - 1).status()));
  CHECK(ParseFrame(frame, frame.size()).value().has_value());
  CHECK(absl::IsInvalidArgument(EncodeFrame(1, 1, 1, Bytes(std::string(100, 'b')), 50).status()));
  // "GET / HTTP/1.1" read as a size is far over the limit.
  CHECK(!ParseFrame(Bytes("GET / HTTP/1.1\r\n")).ok());
}

TEST_CASE("random bytes never crash the parser and never claim more than they hold",
          "[protocol][frame]") {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::byte> buf(rng() % 64);
    for (auto& b : buf) b = std::byte(rng());
    auto r = ParseFrame(buf, 1 << 10);
    if (r.ok() && r->has_value()) {
      CHECK((*r)->frame_bytes <= buf.size());
      CHECK((*r)->body.size() + kFrameHeaderBytes == (*r)->frame_bytes);
    }
  }
}

}  // namespace
}  // namespace strata::protocol
