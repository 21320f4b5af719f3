// ForEachBatchHeader: reads the header of every batch of a log, in offset order, for state that
// is rebuilt from the log when a partition opens (the idempotent producers' table, the leader
// epochs). Reads whole batches through Log::Read a megabyte at a time and parses only headers.
#pragma once

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "common/status.h"
#include "log/log.h"
#include "record/batch.h"

namespace strata::log {

// Calls `visit` for every batch from the first one whose last offset is >= `from` to the log
// end. DataLoss if a batch read back is malformed or the log returns nothing below its end.
absl::Status ForEachBatchHeader(const Log& log, int64_t from,
                                absl::FunctionRef<void(const record::BatchHeader&)> visit);

}  // namespace strata::log
