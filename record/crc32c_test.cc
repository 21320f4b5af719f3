// Tests for CRC-32C: published vectors, chaining, and the SSE4.2 and table implementations
// against each other and against a bit-at-a-time reference.
//
// The randomized cases print their seed; STRATA_SEED=<n> replays one.
#include "record/crc32c.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <span>
#include <string_view>
#include <vector>

namespace strata::record {
namespace {

using Bytes = std::vector<std::byte>;
using internal::Crc32cHaveSse42;
using internal::Crc32cSoftware;
using internal::Crc32cSse42;

Bytes ToBytes(std::string_view s) {
  Bytes b(s.size());
  for (size_t i = 0; i < s.size(); ++i) b[i] = std::byte(uint8_t(s[i]));
  return b;
}

Bytes Filled(size_t n, uint8_t value) { return Bytes(n, std::byte(value)); }

// The definition, one bit at a time, sharing nothing with the code under test.
uint32_t ReferenceCrc32c(std::span<const std::byte> data) {
  uint32_t c = 0xFFFFFFFF;
  for (std::byte b : data) {
    c ^= uint32_t(b);
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1) != 0 ? 0x82F63B78u : 0u);
  }
  return ~c;
}

uint64_t Seed() {
  static const uint64_t seed = [] {
    const char* v = std::getenv("STRATA_SEED");
    const uint64_t s = v != nullptr ? std::strtoull(v, nullptr, 10) : std::random_device{}();
    std::cout << "crc32c test: STRATA_SEED=" << s << std::endl;
    return s;
  }();
  return seed;
}

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (std::byte& x : b) x = std::byte(uint8_t(rng()));
  return b;
}

// Every implementation the test can run on this machine, with a name for failure messages.
struct Impl {
  const char* name;
  uint32_t (*fn)(uint32_t, std::span<const std::byte>);
};
std::vector<Impl> Impls() {
  std::vector<Impl> impls{{"Crc32c", &Crc32c}, {"software", &Crc32cSoftware}};
  if (Crc32cHaveSse42()) impls.push_back({"sse4.2", &Crc32cSse42});
  return impls;
}

TEST_CASE("CRC-32C of the published test vectors") {
  // RFC 3720 (iSCSI) appendix B.4; "123456789" is the usual check value of the CRC catalogues.
  const Bytes pdu = {
      std::byte{0x01}, std::byte{0xc0}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x00}, std::byte{0x14}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x00}, std::byte{0x00}, std::byte{0x04}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x00}, std::byte{0x00}, std::byte{0x14}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x00}, std::byte{0x18}, std::byte{0x28}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x02}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
      std::byte{0x00}, std::byte{0x00}, std::byte{0x00}};
  REQUIRE(pdu.size() == 48);
  Bytes ascending(32), descending(32);
  for (size_t i = 0; i < 32; ++i) {
    ascending[i] = std::byte(uint8_t(i));
    descending[i] = std::byte(uint8_t(31 - i));
  }
  struct Vector {
    const char* what;
    Bytes data;
    uint32_t crc;
  };
  const std::vector<Vector> vectors = {
      {"empty", {}, 0x00000000},
      {"\"123456789\"", ToBytes("123456789"), 0xE3069283},
      {"32 zero bytes", Filled(32, 0x00), 0x8A9136AA},
      {"32 bytes of 0xff", Filled(32, 0xff), 0x62A8AB43},
      {"32 ascending bytes 00..1f", ascending, 0x46DD794E},
      {"32 descending bytes 1f..00", descending, 0x113FDB5C},
      {"iSCSI read command PDU", pdu, 0xD9963A56},
  };
  for (const Impl& impl : Impls()) {
    for (const Vector& v : vectors) {
      INFO(impl.name << ", " << v.what);
      CHECK(impl.fn(0, v.data) == v.crc);
      CHECK(ReferenceCrc32c(v.data) == v.crc);
    }
  }
}

TEST_CASE("CRC-32C chains: the CRC of a prefix continues over the rest") {
  std::mt19937_64 rng(Seed());
  for (const Impl& impl : Impls()) {
    for (int round = 0; round < 200; ++round) {
      const Bytes data = RandomBytes(rng, size_t(rng() % 700));
      const std::span<const std::byte> all(data);
      const uint32_t whole = impl.fn(0, all);
      INFO(impl.name << ", " << data.size() << " bytes");
      REQUIRE(whole == ReferenceCrc32c(all));
      // One split anywhere, including at either end.
      const size_t cut = data.empty() ? 0 : size_t(rng() % (data.size() + 1));
      CHECK(impl.fn(impl.fn(0, all.first(cut)), all.subspan(cut)) == whole);
      // Many small pieces.
      uint32_t crc = 0;
      for (size_t pos = 0; pos < data.size();) {
        const size_t n = std::min(data.size() - pos, size_t(rng() % 19));
        crc = impl.fn(crc, all.subspan(pos, n));
        pos += n;
      }
      CHECK(crc == whole);
    }
  }
  // Chaining through an empty piece changes nothing.
  const Bytes digits = ToBytes("123456789");
  CHECK(Crc32c(Crc32c(0, digits), {}) == 0xE3069283);
  CHECK(Crc32c(Crc32c(0, {}), digits) == 0xE3069283);
}

TEST_CASE("CRC-32C: the SSE4.2 and table implementations agree at every length and alignment") {
  if (!Crc32cHaveSse42()) {
    WARN("this CPU has no SSE4.2; only the table implementation is tested");
    return;
  }
  std::mt19937_64 rng(Seed() + 1);
  // A buffer with slack on both sides, so every start alignment modulo 8 (and 16) is reached.
  const Bytes buffer = RandomBytes(rng, 4096 + 64);
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t n = 0; n <= 300; ++n) {
      const std::span<const std::byte> s = std::span<const std::byte>(buffer).subspan(offset, n);
      const uint32_t seed_crc = uint32_t(rng());
      INFO("offset " << offset << ", " << n << " bytes, starting crc 0x" << std::hex << seed_crc);
      REQUIRE(Crc32cSse42(0, s) == Crc32cSoftware(0, s));
      REQUIRE(Crc32cSse42(seed_crc, s) == Crc32cSoftware(seed_crc, s));
    }
  }
  for (int round = 0; round < 50; ++round) {
    const size_t offset = size_t(rng() % 64);
    const size_t n = size_t(rng() % 4096);
    const std::span<const std::byte> s = std::span<const std::byte>(buffer).subspan(offset, n);
    INFO("offset " << offset << ", " << n << " bytes");
    REQUIRE(Crc32cSse42(0, s) == Crc32cSoftware(0, s));
    REQUIRE(Crc32cSoftware(0, s) == ReferenceCrc32c(s));
  }
  // Around the lengths where three interleaved streams take over (3 x 8 KiB per round), at every
  // alignment and with a starting crc: the streams' registers are joined correctly.
  const Bytes wide = RandomBytes(rng, 5 * 24576 + 64);
  for (size_t n : {24575, 24576, 24577, 24583, 49151, 49152, 49165, 5 * 24576 + 5}) {
    for (size_t offset = 0; offset < 9; ++offset) {
      const std::span<const std::byte> s = std::span<const std::byte>(wide).subspan(offset, n);
      const uint32_t seed_crc = uint32_t(rng());
      INFO("offset " << offset << ", " << n << " bytes, starting crc 0x" << std::hex << seed_crc);
      REQUIRE(Crc32cSse42(seed_crc, s) == Crc32cSoftware(seed_crc, s));
    }
  }
  // A batch-sized input.
  const Bytes big = RandomBytes(rng, (1 << 20) + 3);
  CHECK(Crc32cSse42(0, big) == Crc32cSoftware(0, big));
  CHECK(Crc32cSoftware(0, big) == ReferenceCrc32c(big));
}

}  // namespace
}  // namespace strata::record
