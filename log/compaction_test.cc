// Tests for compaction (log/compaction.h, Log::Compact): what is kept, how batches and segments
// come out, reads after a pass and reopening. Failures, aborted passes and concurrent readers are
// in compaction_io_test.cc, crashes at every step of the swap in log_crash_test.cc; the model test
// compacts too.
#include "log/compaction.h"

#include <catch2/catch.hpp>

#include <map>

#include "common/endian.h"
#include "log/compaction_test_util.h"
#include "log/log.h"
#include "log/test_util.h"

namespace strata::log {
namespace {

namespace bf = record::batch_format;
using testing::Append;
using testing::Fixture;
using testing::KeyValue;
using testing::MakeKeyedBatch;
using testing::MustCompact;
using testing::Padded;
using testing::ReadAllRecords;
using testing::StoredRecord;
using testing::WriteRounds;

// What compaction must leave of `before` when it cleans the offsets below `cleaned_end` with a
// key map over the offsets below `map_end`.
std::vector<StoredRecord> Expected(const std::vector<StoredRecord>& before, int64_t cleaned_end,
                                   int64_t map_end, int64_t now_ms, int64_t retention_ms) {
  std::map<std::string, int64_t> newest;
  for (const auto& r : before) {
    if (r.key && r.offset < map_end) newest[*r.key] = r.offset;
  }
  std::vector<StoredRecord> out;
  for (const auto& r : before) {
    bool keep = r.offset >= cleaned_end || !r.key;
    if (!keep) {
      keep = newest.at(*r.key) == r.offset && (r.value || r.timestamp_ms >= now_ms - retention_ms);
    }
    if (keep) out.push_back(r);
  }
  return out;
}

// The raw headers of every batch in the log.
std::vector<record::BatchHeader> Headers(const Log& log) {
  std::vector<record::BatchHeader> out;
  for (int64_t off = log.log_start_offset(); off < log.log_end_offset();) {
    auto r = log.Read(off, 1 << 20);
    REQUIRE(r.ok());
    for (size_t pos = 0; pos < r->bytes.size();) {
      auto h = record::VerifyBatch(r->bytes.subspan(pos));
      REQUIRE(h.ok());
      out.push_back(*h);
      pos += h->size_bytes();
    }
    off = r->next_offset;
  }
  return out;
}

void CheckContiguous(const Log& log) {
  auto segs = log.Segments();
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    INFO("segment " << i);
    CHECK(segs[i].next_offset == segs[i + 1].base_offset);
  }
}

TEST_CASE("KeyMap keeps the newest offset per key and stops taking new keys when full",
          "[compaction]") {
  KeyMap map(2);
  CHECK(map.Put("a", 1));
  CHECK(map.Put("b", 2));
  CHECK(map.Put("a", 5));   // an existing key still moves forward when full
  CHECK(!map.Put("c", 6));  // a new one does not fit
  CHECK(map.Newest("a") == 5);
  CHECK(map.Newest("b") == 2);
  CHECK(map.Newest("c") == -1);
  CHECK(map.Newest("") == -1);
  CHECK(map.size() == 2);
}

TEST_CASE("GroupSegmentsBySize keeps groups within the size and the u32 offset range",
          "[compaction]") {
  std::vector<SegmentSpan> s = {{0, 10, 300}, {10, 20, 300}, {20, 30, 500}, {30, 40, 900},
                                {40, 50, 100}};
  using G = std::vector<std::pair<size_t, size_t>>;
  CHECK(GroupSegmentsBySize(s, 1100) == G{{0, 3}, {3, 5}});
  CHECK(GroupSegmentsBySize(s, 1000) == G{{0, 2}, {2, 3}, {3, 5}});
  CHECK(GroupSegmentsBySize(s, 600) == G{{0, 2}, {2, 3}, {3, 4}, {4, 5}});
  CHECK(GroupSegmentsBySize(s, 100) == G{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}});
  // Offsets relative to the group's base must fit in a u32 index entry.
  std::vector<SegmentSpan> wide = {{0, 10, 1}, {10, int64_t(INT32_MAX) + 1, 1}, {int64_t(INT32_MAX) + 1, int64_t(INT32_MAX) + 2, 1}};
  CHECK(GroupSegmentsBySize(wide, 1000) == G{{0, 2}, {2, 3}});
  CHECK(GroupSegmentsBySize({}, 1000).empty());
}

TEST_CASE("the leader refuses compacted batches; a follower takes them", "[compaction]") {
  Fixture f;
  auto log = f.Open();
  auto original = MakeKeyedBatch({{"a", "1"}, {"b", "2"}, {"c", "3"}}, 100);
  // Keep only the middle record, as compaction would.
  auto reader = record::BatchReader::Open(original).value();
  REQUIRE(reader.Next().value().has_value());
  REQUIRE(reader.Next().value().has_value());
  auto kept = reader.last_record_encoding();
  auto sparse = record::BuildCompactedBatch(original, kept, 1).value();
  auto leader = log->Append(sparse, 0);
  CHECK(absl::IsDataLoss(leader.status()));
  CHECK_THAT(std::string(leader.status().message()), Catch::Contains("rejected batch"));
  CHECK(log->log_end_offset() == 0);
  REQUIRE(log->AppendWithOffsets(sparse).ok());
  CHECK(log->log_end_offset() == 3);
  auto empty = record::BuildCompactedBatch(original, {}, 0).value();
  record::StampBatch(empty, 3, 0);
  REQUIRE(log->AppendWithOffsets(empty).ok());
  CHECK(log->log_end_offset() == 6);
  REQUIRE(log->Close().ok());
  log.reset();
  f.fs.Crash(io::CrashMode::kDropUnsynced);
  log = f.Open();
  auto records = ReadAllRecords(*log);
  REQUIRE(records.size() == 1);
  CHECK(records[0].offset == 1);
  CHECK(records[0].value == "2");
  CHECK(log->log_end_offset() == 6);
}

TEST_CASE("compaction keeps the newest value of each key and never touches the active segment",
          "[compaction]") {
  for (record::Compression c : {record::Compression::kNone, record::Compression::kLz4}) {
    INFO(record::CompressionName(c));
    Fixture f;
    auto log = f.Open();
    WriteRounds(*log, c == record::Compression::kLz4 ? 120 : 40, 1000, c);
    REQUIRE(log->Roll().ok());
    Append(*log, {{"k0", "active"}, {"k1", "active"}}, 2000);  // k2..k7 are newest in sealed data
    REQUIRE(log->Flush().ok());
    auto segs = log->Segments();
    REQUIRE(segs.size() >= 4);
    const int64_t sealed_end = segs.back().base_offset;
    const auto before = ReadAllRecords(*log);
    const uint64_t active_bytes = segs.back().size_bytes;

    auto r = MustCompact(*log, f.now_ms);
    auto after = ReadAllRecords(*log);
    CHECK(after == Expected(before, sealed_end, log->log_end_offset(), f.now_ms, 1000));
    CHECK(after.size() < before.size());
    CHECK(r.records_removed == int64_t(before.size() - after.size()));
    CHECK(r.tombstones_removed == 0);
    CHECK(r.segments_cleaned == int(segs.size()) - 1);
    CHECK(r.bytes_after < r.bytes_before);
    CHECK(r.keys == 8);
    CHECK(log->Segments().back().size_bytes == active_bytes);
    CHECK(log->log_end_offset() == before.back().offset + 1);
    CheckContiguous(*log);
    // Every key still reads as its newest value.
    std::map<std::string, std::string> want, got;
    for (const auto& rec : before) want[*rec.key] = *rec.value;
    for (const auto& rec : after) got[*rec.key] = *rec.value;
    CHECK(got == want);

    // A second pass finds nothing left to remove in the sealed data.
    auto again = MustCompact(*log, f.now_ms);
    CHECK(again.records_removed == 0);
    CHECK(ReadAllRecords(*log) == after);
  }
}

TEST_CASE("a tombstone stays until delete_retention_ms has passed, then goes", "[compaction]") {
  Fixture f;
  auto log = f.Open();
  Append(*log, {{"a", "1"}, {"b", "1"}}, 1000);
  Append(*log, {{"a", std::nullopt}}, 2000);
  Append(*log, {{"b", "2"}, {std::nullopt, "no key"}}, 3000);
  REQUIRE(log->Roll().ok());
  REQUIRE(log->Flush().ok());

  // At the horizon exactly (2000 == 2500 - 500) the tombstone is not yet older than it.
  auto first = MustCompact(*log, 2500, 500);
  CHECK(first.records_removed == 2);
  CHECK(first.tombstones_removed == 0);
  auto records = ReadAllRecords(*log);
  REQUIRE(records.size() == 3);
  CHECK(records[0] == StoredRecord{2, 2000, "a", std::nullopt});
  CHECK(records[1] == StoredRecord{3, 3000, "b", "2"});
  CHECK(records[2] == StoredRecord{4, 3001, std::nullopt, "no key"});  // null keys stay

  auto second = MustCompact(*log, 2501, 500);
  CHECK(second.records_removed == 1);
  CHECK(second.tombstones_removed == 1);
  records = ReadAllRecords(*log);
  REQUIRE(records.size() == 2);
  CHECK(records[0].key == "b");
  // The tombstone's batch went with it (it was neither the last batch nor a producer's).
  auto headers = Headers(*log);
  REQUIRE(headers.size() == 1);
  CHECK(headers[0].base_offset == 3);
  // Reading from an offset compaction removed skips ahead to the next batch.
  auto r = log->Read(0, 1 << 20);
  REQUIRE(r.ok());
  CHECK(r->first_offset == 3);
  CHECK(absl::IsInvalidArgument(log->Compact({.delete_retention_ms = -1}).status()));
}

TEST_CASE("partly kept batches keep their offsets, timestamps and compression", "[compaction]") {
  for (record::Compression c : {record::Compression::kNone, record::Compression::kLz4}) {
    INFO(record::CompressionName(c));
    Fixture f;
    auto log = f.Open();
    Append(*log, {{"k0", "a"}, {"k1", "a"}, {"k2", "a"}, {"k3", "a"}, {"k4", "a"}}, 100,
           record::BatchOptions{.compression = c});
    Append(*log, {{"x", "1"}}, 200);
    Append(*log, {{"k1", "b"}, {"k3", "b"}}, 300);
    Append(*log, {{"x", "2"}}, 400);
    REQUIRE(log->Roll().ok());
    REQUIRE(log->Flush().ok());
    MustCompact(*log, f.now_ms);

    auto headers = Headers(*log);
    REQUIRE(headers.size() == 3);
    CHECK(headers[0].base_offset == 0);
    CHECK(headers[0].last_offset_delta == 4);
    CHECK(headers[0].record_count == 3);
    CHECK(headers[0].compression() == c);
    CHECK(headers[0].first_timestamp == 100);
    CHECK(headers[0].max_timestamp == 104);
    CHECK(headers[1].base_offset == 6);  // {x=1} went: superseded and not the last batch
    CHECK(headers[2].base_offset == 8);
    std::vector<int64_t> offsets;
    for (const auto& rec : ReadAllRecords(*log)) offsets.push_back(rec.offset);
    CHECK(offsets == std::vector<int64_t>{0, 2, 4, 6, 7, 8});
    // Read(offset) returns the first batch whose last offset is >= offset.
    CHECK(log->Read(1, 1)->first_offset == 0);
    CHECK(log->Read(5, 1)->first_offset == 6);
    CHECK(log->Read(8, 1)->first_offset == 8);
    // Timestamp lookups step over the gaps.
    CHECK(log->OffsetForTimestamp(101).value() == 2);
    CHECK(log->OffsetForTimestamp(105).value() == 6);
    CHECK(log->OffsetForTimestamp(301).value() == 7);
    CHECK(log->OffsetForTimestamp(401).value() == std::nullopt);
  }
}

TEST_CASE("empty batches keep each cleaned segment ending where the next begins",
          "[compaction]") {
  Fixture f;
  auto log = f.Open();
  // Two sealed segments whose every record a later one supersedes.
  for (int seg = 0; seg < 2; ++seg) {
    for (int i = 0; i < 6; ++i) Append(*log, {{"k" + std::to_string(i), Padded("old", 400)}}, 10);
    REQUIRE(log->Roll().ok());
  }
  for (int i = 0; i < 6; ++i) Append(*log, {{"k" + std::to_string(i), "new"}}, 20);
  REQUIRE(log->Flush().ok());
  auto before = log->Segments();
  REQUIRE(before.size() == 3);

  auto r = MustCompact(*log, f.now_ms);
  CHECK(r.segments_cleaned == 2);  // 2 x ~2.6 KiB do not fit one 4 KiB group
  CHECK(r.segments_written == 2);
  auto segs = log->Segments();
  REQUIRE(segs.size() == 3);
  for (int i = 0; i < 2; ++i) {
    CHECK(segs[i].base_offset == before[i].base_offset);
    CHECK(segs[i].next_offset == before[i].next_offset);
    CHECK(segs[i].size_bytes == bf::kHeaderBytes);  // one empty batch
  }
  CheckContiguous(*log);
  auto headers = Headers(*log);
  REQUIRE(headers.size() == 8);
  CHECK(headers[0].record_count == 0);
  CHECK(headers[0].last_offset() == 5);
  CHECK(headers[1].last_offset() == 11);
  const auto compacted = ReadAllRecords(*log);
  CHECK(compacted.size() == 6);

  // The next pass can put both small segments in one group: one empty batch is enough then.
  r = MustCompact(*log, f.now_ms);
  CHECK(r.segments_cleaned == 2);
  CHECK(r.segments_written == 1);
  segs = log->Segments();
  REQUIRE(segs.size() == 2);
  CHECK(segs[0].next_offset == 12);
  CheckContiguous(*log);

  // Reopening, cleanly and not, gives the same log.
  // (Unclean first: a log reopened cleanly and left unchanged would reopen as clean again.)
  for (bool clean : {false, true}) {
    INFO("clean " << clean);
    if (clean) {
      REQUIRE(log->Close().ok());
    } else {
      log->TEST_Abandon();
    }
    log.reset();
    log = f.Open();
    CHECK(log->recovery().clean_shutdown == clean);
    CHECK(ReadAllRecords(*log) == compacted);
    CHECK(log->Segments().size() == 2);
    CHECK(log->Segments()[0].next_offset == 12);
  }
}

TEST_CASE("each producer's last batch in a group stays, empty if need be", "[compaction]") {
  Fixture f;
  auto log = f.Open();
  record::BatchOptions p7{.producer_id = 7, .producer_epoch = 2, .base_sequence = 0};
  Append(*log, {{"a", "1"}, {"b", "1"}}, 10, p7);
  p7.base_sequence = 2;
  Append(*log, {{"a", "2"}, {"b", "2"}}, 20, p7);
  Append(*log, {{"c", "1"}}, 30);
  Append(*log, {{"c", "2"}}, 40);
  REQUIRE(log->Roll().ok());
  Append(*log, {{"a", "3"}, {"b", "3"}}, 50);
  REQUIRE(log->Flush().ok());
  MustCompact(*log, f.now_ms);

  auto headers = Headers(*log);
  REQUIRE(headers.size() == 3);
  // Producer 7's first batch went; its last stayed as an empty batch with its sequence fields.
  CHECK(headers[0].base_offset == 2);
  CHECK(headers[0].record_count == 0);
  CHECK(headers[0].producer_id == 7);
  CHECK(headers[0].producer_epoch == 2);
  CHECK(headers[0].base_sequence == 2);
  CHECK(headers[0].last_offset_delta == 1);
  CHECK(headers[1].base_offset == 5);  // {c=1} went; {c=2} is the newest c
  CHECK(headers[2].base_offset == 6);
}

TEST_CASE("truncating into a gap compaction left ends the log at the last batch kept",
          "[compaction]") {
  Fixture f;
  auto log = f.Open();
  Append(*log, {{"a", "1"}}, 10);
  Append(*log, {{"x", "1"}}, 20);
  Append(*log, {{"b", "1"}}, 30);
  Append(*log, {{"x", "2"}}, 40);
  Append(*log, {{"c", "1"}}, 50);
  REQUIRE(log->Roll().ok());
  REQUIRE(log->Flush().ok());
  MustCompact(*log, f.now_ms);
  REQUIRE(Headers(*log).size() == 4);  // offset 1 is a gap now
  REQUIRE(log->TruncateTo(1).ok());
  CHECK(log->log_end_offset() == 1);
  REQUIRE(ReadAllRecords(*log).size() == 1);
  Append(*log, {{"d", "1"}}, 60);
  CHECK(log->log_end_offset() == 2);
  const auto records = ReadAllRecords(*log);
  // What recovery finds on disk agrees, cleanly and after a crash.
  for (bool clean : {false, true}) {
    if (clean) {
      REQUIRE(log->Close().ok());
    } else {
      log->TEST_Abandon();
    }
    log.reset();
    log = f.Open();
    CHECK(log->log_end_offset() == 2);
    CHECK(ReadAllRecords(*log) == records);
  }
}

TEST_CASE("only durable records count as newer copies", "[compaction]") {
  Fixture f;
  auto log = f.Open();
  Append(*log, {{"a", "old"}}, 10);
  Append(*log, {{"z", "z"}}, 10);
  REQUIRE(log->Flush().ok());
  REQUIRE(log->Roll().ok());
  Append(*log, {{"a", "new"}}, 20);  // not fsynced yet
  REQUIRE(log->durable_offset() == 2);
  auto r = MustCompact(*log, f.now_ms);
  CHECK(r.map_end_offset == 2);
  CHECK(r.records_removed == 0);  // a crash could still take "new" away
  REQUIRE(log->Flush().ok());
  r = MustCompact(*log, f.now_ms);
  CHECK(r.records_removed == 1);
  CHECK(ReadAllRecords(*log).front().key == "z");
  // A caller bound (the high watermark) limits the map the same way.
  Append(*log, {{"z", "z2"}}, 30);
  REQUIRE(log->Roll().ok());
  REQUIRE(log->Flush().ok());
  auto bounded = log->Compact({.now_ms = f.now_ms, .newer_offset_limit = 3});
  REQUIRE(bounded.ok());
  CHECK(bounded->records_removed == 0);
}

TEST_CASE("a full key map cleans only the segments below where it stopped", "[compaction]") {
  Fixture f;
  auto log = f.Open();
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4; ++i) Append(*log, {{"a" + std::to_string(i), "x"}}, 10);
  }
  REQUIRE(log->Roll().ok());
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 4; ++i) Append(*log, {{"b" + std::to_string(i), "y"}}, 10);
  }
  REQUIRE(log->Roll().ok());
  REQUIRE(log->Flush().ok());
  const auto before = ReadAllRecords(*log);

  auto r = log->Compact({.now_ms = f.now_ms, .keys_max = 6});
  REQUIRE(r.ok());
  CHECK(r->map_end_offset == 10);  // b2 did not fit
  CHECK(r->segments_cleaned == 1);
  CHECK(ReadAllRecords(*log) == Expected(before, 8, 8, f.now_ms, 1000));

  auto too_small = log->Compact({.now_ms = f.now_ms, .keys_max = 3});
  CHECK(absl::IsResourceExhausted(too_small.status()));
  CHECK_THAT(std::string(too_small.status().message()), Catch::Contains("compaction_keys_max"));
}

TEST_CASE("transactional and control batches are left alone", "[compaction]") {
  Fixture f;
  auto log = f.Open();
  auto txn = MakeKeyedBatch({{"a", "in a transaction"}}, 10);
  PutU16(txn.data() + bf::kAttributesPos, bf::kTransactionalBit);
  PutU64(txn.data() + bf::kChecksumPos, record::ComputeBatchChecksum(txn));
  REQUIRE(log->Append(txn, 0).ok());
  Append(*log, {{"a", "plain"}}, 20);
  Append(*log, {{"a", "newer"}}, 30);
  REQUIRE(log->Roll().ok());
  REQUIRE(log->Flush().ok());
  MustCompact(*log, f.now_ms);
  auto records = ReadAllRecords(*log);
  REQUIRE(records.size() == 2);
  CHECK(records[0].value == "in a transaction");
  CHECK(records[1].value == "newer");
}

}  // namespace
}  // namespace strata::log
