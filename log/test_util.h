// Helpers for log/ tests: building batches with known contents.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "record/batch.h"

namespace strata::log::testing {

// A batch of `count` records whose values are "<tag>-<i>" padded to `value_bytes` (at least the
// tag), with timestamps ts_ms, ts_ms+1, ... Aborts the test binary if building fails.
inline std::vector<std::byte> MakeBatch(int count, int64_t ts_ms, const std::string& tag = "v",
                                        size_t value_bytes = 0,
                                        record::Compression compression = record::Compression::kNone) {
  record::BatchBuilder b(record::BatchOptions{.compression = compression});
  std::vector<std::string> values, keys;
  values.reserve(count);
  keys.reserve(count);
  for (int i = 0; i < count; ++i) {
    keys.push_back("k" + std::to_string(i % 7));
    std::string v = tag + "-" + std::to_string(i);
    if (v.size() < value_bytes) v.resize(value_bytes, 'x');
    values.push_back(std::move(v));
  }
  for (int i = 0; i < count; ++i) {
    record::RecordInput r;
    r.timestamp_ms = ts_ms + i;
    r.key = keys[i];
    r.value = values[i];
    b.Add(r);
  }
  auto built = b.Build();
  if (!built.ok()) std::abort();
  return std::move(*built);
}

// The values of every record in `bytes` (back-to-back batches), in order.
inline std::vector<std::string> Values(std::span<const std::byte> bytes) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto header = record::ParseBatchHeader(bytes.subspan(pos));
    if (!header.ok()) std::abort();
    auto reader = record::BatchReader::Open(bytes.subspan(pos, header->size_bytes()));
    if (!reader.ok()) std::abort();
    while (true) {
      auto rec = reader->Next();
      if (!rec.ok()) std::abort();
      if (!*rec) break;
      out.emplace_back((*rec)->value ? std::string((*rec)->value->data(), (*rec)->value->size())
                                     : std::string("<null>"));
    }
    pos += reader->header().size_bytes();
  }
  return out;
}

// Every record value of `source` (a Log, or anything with the same Read / log_start_offset /
// log_end_offset) from `from` (default: the log start) to the log end, reading `max_bytes` at a
// time. Fails the current test if a read fails or makes no progress.
template <typename Source>
std::vector<std::string> ReadAllValues(const Source& source, int64_t from = -1,
                                       size_t max_bytes = 4096) {
  std::vector<std::string> out;
  int64_t offset = from < 0 ? source.log_start_offset() : from;
  while (offset < source.log_end_offset()) {
    auto r = source.Read(offset, max_bytes);
    REQUIRE(r.ok());
    REQUIRE(r->batch_count > 0);
    auto v = Values(r->bytes);
    out.insert(out.end(), v.begin(), v.end());
    offset = r->next_offset;
  }
  return out;
}

// One record for MakeKeyedBatch; a nullopt key or value is null (a null value is a tombstone).
struct KeyValue {
  std::optional<std::string> key;
  std::optional<std::string> value;
};

// A batch of the given records with timestamps ts_ms, ts_ms+1, ... and the given options.
inline std::vector<std::byte> MakeKeyedBatch(const std::vector<KeyValue>& records, int64_t ts_ms,
                                             record::BatchOptions options = {}) {
  record::BatchBuilder b(options);
  for (size_t i = 0; i < records.size(); ++i) {
    record::RecordInput r;
    r.timestamp_ms = ts_ms + int64_t(i);
    if (records[i].key) r.key = *records[i].key;
    if (records[i].value) r.value = *records[i].value;
    b.Add(r);
  }
  auto built = b.Build();
  if (!built.ok()) std::abort();
  return std::move(*built);
}

// A record read back, owning its bytes.
struct StoredRecord {
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  friend bool operator==(const StoredRecord&, const StoredRecord&) = default;
};

inline std::ostream& operator<<(std::ostream& os, const StoredRecord& r) {
  return os << r.offset << ":" << r.key.value_or("<null>") << "=" << r.value.value_or("<null>");
}

// Every record of `bytes` (back-to-back batches), in order.
inline std::vector<StoredRecord> Records(std::span<const std::byte> bytes) {
  std::vector<StoredRecord> out;
  for (size_t pos = 0; pos < bytes.size();) {
    auto header = record::ParseBatchHeader(bytes.subspan(pos));
    if (!header.ok()) std::abort();
    auto reader = record::BatchReader::Open(bytes.subspan(pos, header->size_bytes()));
    if (!reader.ok()) std::abort();
    for (;;) {
      auto rec = reader->Next();
      if (!rec.ok()) std::abort();
      if (!*rec) break;
      StoredRecord s{(*rec)->offset, (*rec)->timestamp_ms, std::nullopt, std::nullopt};
      if ((*rec)->key) s.key = std::string(*(*rec)->key);
      if ((*rec)->value) s.value = std::string(*(*rec)->value);
      out.push_back(std::move(s));
    }
    pos += header->size_bytes();
  }
  return out;
}

// Every record of `source` (a Log or anything with its Read and offsets) from the log start to
// the end, checking that each read makes progress and every batch verifies.
template <typename Source>
std::vector<StoredRecord> ReadAllRecords(const Source& source, size_t max_bytes = 4096) {
  std::vector<StoredRecord> out;
  for (int64_t offset = source.log_start_offset(); offset < source.log_end_offset();) {
    auto r = source.Read(offset, max_bytes);
    REQUIRE(r.ok());
    REQUIRE(r->batch_count > 0);
    REQUIRE(r->next_offset > offset);
    for (size_t pos = 0; pos < r->bytes.size();) {
      auto h = record::VerifyBatch(r->bytes.subspan(pos));
      REQUIRE(h.ok());
      pos += h->size_bytes();
    }
    auto v = Records(r->bytes);
    out.insert(out.end(), v.begin(), v.end());
    offset = r->next_offset;
  }
  return out;
}

}  // namespace strata::log::testing
