#include "log/batch_scan.h"

#include "absl/strings/str_cat.h"

namespace strata::log {
namespace {

// Bytes asked of each Read: large enough that a scan costs few calls, small against a segment.
constexpr size_t kScanReadBytes = 1 << 20;

}  // namespace

absl::Status ForEachBatchHeader(const Log& log, int64_t from,
                                absl::FunctionRef<void(const record::BatchHeader&)> visit) {
  int64_t offset = std::max(from, log.log_start_offset());
  const int64_t end = log.log_end_offset();
  while (offset < end) {
    STRATA_ASSIGN_OR_RETURN(ReadResult r, log.Read(offset, kScanReadBytes));
    if (r.batch_count == 0 || r.next_offset <= offset) {
      return absl::DataLossError(absl::StrCat("reading the batches of ", log.dir(),
                                              ": no batch at offset ", offset, " below the end ",
                                              end));
    }
    size_t pos = 0;
    while (pos < r.bytes.size()) {
      auto header = record::ParseBatchHeader(r.bytes.subspan(pos));
      if (!header.ok()) {
        return absl::DataLossError(absl::StrCat("reading the batches of ", log.dir(),
                                                " at offset ", offset, ": ",
                                                header.status().message()));
      }
      visit(*header);
      pos += header->size_bytes();
    }
    offset = r.next_offset;
  }
  return absl::OkStatus();
}

}  // namespace strata::log
