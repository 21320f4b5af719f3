// Shared by compaction_test.cc and compaction_io_test.cc: a log over the fault file system with
// 4 KiB segments, and ways to fill it with keyed records.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "io/fault_file_system.h"
#include "log/log.h"
#include "log/test_util.h"

namespace strata::log::testing {

struct Fixture {
  io::FaultFileSystem fs{7};
  MapCache cache{8};
  FileCache files{2};  // small, so that segments keep opening their files again
  int64_t now_ms = 1'000'000;
  LogConfig config;

  Fixture() {
    config.segment_bytes = 4096;
    config.index_interval_bytes = 256;
    config.flush.bytes = 0;
    config.flush.interval_ms = 0;
  }
  LogOptions Options() {
    LogOptions o;
    o.fs = &fs;
    o.dir = "/c/p-0";
    o.config = config;
    o.clock = [this] { return now_ms; };
    o.map_cache = &cache;
    o.file_cache = &files;
    return o;
  }
  std::unique_ptr<Log> Open() {
    auto log = Log::Open(Options());
    INFO(log.status());
    REQUIRE(log.ok());
    return std::move(*log);
  }
};

inline void Append(Log& log, const std::vector<KeyValue>& records, int64_t ts_ms,
                   record::BatchOptions options = {}) {
  auto batch = MakeKeyedBatch(records, ts_ms, options);
  auto r = log.Append(batch, 1);
  INFO(r.status());
  REQUIRE(r.ok());
}

inline CompactionResult MustCompact(Log& log, int64_t now_ms,
                                    int64_t delete_retention_ms = 1000) {
  auto r = log.Compact({.delete_retention_ms = delete_retention_ms, .now_ms = now_ms});
  INFO(r.status());
  REQUIRE(r.ok());
  return *r;
}

inline std::string Padded(const std::string& s, size_t n = 60) {
  std::string out = s;
  out.resize(std::max(n, s.size()), '.');
  return out;
}

// Rounds of 5-record batches over 8 keys; `rounds` of them fill several 4 KiB segments.
inline void WriteRounds(Log& log, int rounds, int64_t ts_ms, record::Compression c = record::Compression::kNone) {
  for (int round = 0; round < rounds; ++round) {
    std::vector<KeyValue> records;
    for (int i = 0; i < 5; ++i) {
      records.push_back({"k" + std::to_string((round * 5 + i) % 8),
                         Padded("r" + std::to_string(round) + "-" + std::to_string(i))});
    }
    Append(log, records, ts_ms + round * 10, record::BatchOptions{.compression = c});
  }
}

}  // namespace strata::log::testing
