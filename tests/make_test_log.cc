// make_test_log <dir> <records>: appends records to a partition log for the CLI tests
// (tests/cli_log_test.sh), creating the log if needed.
//
// The record at offset i has key "key-<i % 10>", value "value-<i>" padded with '.' to 100 bytes,
// one header "h" = "x", and a timestamp one millisecond after record i - 1. Batches hold 10
// records and segments roll at 64 KiB, so 2000 records make several segments with index entries.
// The log is closed cleanly, so every segment has its .index and .timeindex files.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "io/file_system.h"
#include "record/batch.h"
#include "log/log.h"

namespace {

constexpr int kRecordsPerBatch = 10;
constexpr size_t kValueBytes = 100;

int Fail(const std::string& what) {
  std::cerr << "make_test_log: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace strata;
  int records = 0;
  if (argc != 3 || !absl::SimpleAtoi(argv[2], &records) || records <= 0) {
    return Fail("usage: make_test_log <dir> <records>   (records > 0)");
  }
  log::LogOptions options;
  options.fs = &io::RealFileSystem();
  options.dir = argv[1];
  options.config.segment_bytes = 64 * 1024;
  options.config.index_interval_bytes = 4096;
  auto opened = log::Log::Open(options);
  if (!opened.ok()) return Fail(std::string(opened.status().message()));
  std::unique_ptr<log::Log> lg = std::move(*opened);

  const int64_t start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const int64_t start_offset = lg->log_end_offset();
  for (int64_t first = start_offset; first < start_offset + records; first += kRecordsPerBatch) {
    const int n = int(std::min<int64_t>(kRecordsPerBatch, start_offset + records - first));
    std::vector<std::string> keys, values;  // the RecordInputs view these
    for (int64_t i = first; i < first + n; ++i) {
      keys.push_back("key-" + std::to_string(i % 10));
      std::string v = "value-" + std::to_string(i);
      v.resize(kValueBytes, '.');
      values.push_back(std::move(v));
    }
    record::BatchBuilder builder;
    for (int j = 0; j < n; ++j) {
      record::RecordInput r;
      r.timestamp_ms = start_ms + (first - start_offset) + j;
      r.key = keys[j];
      r.value = values[j];
      r.headers.push_back({"h", "x"});
      builder.Add(r);
    }
    auto batch = builder.Build();
    if (!batch.ok()) return Fail(std::string(batch.status().message()));
    auto appended = lg->Append(*batch, /*leader_epoch=*/1);
    if (!appended.ok()) return Fail(std::string(appended.status().message()));
  }
  absl::Status closed = lg->Close();
  if (!closed.ok()) return Fail(std::string(closed.message()));
  return 0;
}
