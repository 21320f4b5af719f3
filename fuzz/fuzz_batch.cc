// libFuzzer target for record batch decoding (record/batch.h): ParseBatchHeader, VerifyBatch and
// BatchReader over batches back to back, as the broker checks a produced batch and a reader walks
// a segment or a Fetch response.
//
// Input: one flags byte, then the batches. Random bytes almost never carry a valid XXH3 checksum,
// so with flag bit 0 set the target writes the right checksum into each batch before checking it;
// that lets the fuzzer reach the records decoder (varints, lengths, headers, LZ4) behind it.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/endian.h"
#include "fuzz/walk.h"
#include "record/batch_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace strata;
  if (size < 1) return 0;
  const bool fix_checksums = (data[0] & 1) != 0;
  // A copy the exact size of the batches, so ASan sees any read past their end.
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1,
                               reinterpret_cast<const std::byte*>(data) + size);
  std::span<std::byte> rest(bytes);
  uint64_t h = 0;
  while (!rest.empty()) {
    auto header = record::ParseBatchHeader(rest);
    if (!header.ok()) break;
    std::span<std::byte> batch = rest.first(header->size_bytes());
    if (fix_checksums) {
      PutU64(batch.data() + record::batch_format::kChecksumPos, record::ComputeBatchChecksum(batch));
    }
    h = fuzz::Mix(h, fuzz::WalkBatch(batch));
    rest = rest.subspan(batch.size());
  }
  fuzz::Sink(h);
  return 0;
}
