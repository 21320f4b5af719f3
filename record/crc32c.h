// CRC-32C (Castagnoli), the checksum of Kafka's v2 record batch (record/kafka_batch.h).
//
// Strata's own batches use XXH3-64 (docs/format.md); CRC-32C is needed only to accept and serve
// Kafka's format. The function picks the SSE4.2 crc32 instruction when the CPU has it (checked
// once, at first use) and a slicing-by-8 table otherwise; both give the same value. Stateless and
// safe from any thread.
//
// The value is the standard one (reflected polynomial 0x82F63B78, initial value and final xor
// 0xFFFFFFFF): Crc32c(0, "123456789") == 0xE3069283. It chains: passing the CRC of a prefix as
// `crc` continues it, so Crc32c(Crc32c(0, a), b) == Crc32c(0, a followed by b). That is how a Kafka
// header rewritten in memory is checksummed together with records that stay where they are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace strata::record {

// CRC-32C of `data`, continuing `crc` (0 to start).
uint32_t Crc32c(uint32_t crc, std::span<const std::byte> data);

namespace internal {
// The two implementations behind Crc32c, exposed so tests can compare them.
uint32_t Crc32cSoftware(uint32_t crc, std::span<const std::byte> data);
// True when this CPU has SSE4.2 (x86-64 only); Crc32cSse42 may be called only then.
bool Crc32cHaveSse42();
uint32_t Crc32cSse42(uint32_t crc, std::span<const std::byte> data);
}  // namespace internal

}  // namespace strata::record
