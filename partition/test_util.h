// Helpers for partition/ tests: idempotent batches and headers with known producer fields.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "record/batch.h"

namespace strata::partition::testing {

// A batch of `count` records with values "<tag>-<i>", stamped with the producer fields
// (producer_id -1 makes a non-idempotent batch). Keys are null, or "<key_prefix>-<i>" when
// key_prefix is given. Aborts the test binary if building fails.
inline std::vector<std::byte> MakeProducerBatch(
    int64_t producer_id, int16_t epoch, int32_t base_sequence, int count,
    const std::string& tag = "v", int64_t ts_ms = 1000,
    const std::optional<std::string>& key_prefix = std::nullopt,
    record::Compression compression = record::Compression::kNone) {
  record::BatchBuilder b(record::BatchOptions{.compression = compression,
                                        .producer_id = producer_id,
                                        .producer_epoch = epoch,
                                        .base_sequence = base_sequence});
  std::vector<std::string> values, keys;
  values.reserve(count);
  keys.reserve(count);
  for (int i = 0; i < count; ++i) {
    values.push_back(absl::StrCat(tag, "-", i));
    if (key_prefix) keys.push_back(absl::StrCat(*key_prefix, "-", i));
  }
  for (int i = 0; i < count; ++i) {
    record::RecordInput r;
    r.timestamp_ms = ts_ms + i;
    r.value = values[i];
    if (key_prefix) r.key = keys[i];
    b.Add(r);
  }
  auto built = b.Build();
  if (!built.ok()) std::abort();
  return std::move(*built);
}

// Just the header fields ProducerState looks at.
inline record::BatchHeader ProducerHeader(int64_t producer_id, int16_t epoch, int32_t base_sequence,
                                       int32_t count) {
  record::BatchHeader h;
  h.producer_id = producer_id;
  h.producer_epoch = epoch;
  h.base_sequence = base_sequence;
  h.record_count = count;
  h.last_offset_delta = count - 1;
  return h;
}

}  // namespace strata::partition::testing
