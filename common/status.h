// Errors are values: absl::Status / absl::StatusOr<T> at every module boundary.
//
// Codes are chosen by what the caller should do next (see docs/errors.md):
//   OutOfRange          the offset is below the log start or past the end; seek elsewhere.
//   DataLoss            a checksum or structure check failed; the bytes are not trustworthy.
//   InvalidArgument     the caller sent something malformed; do not retry unchanged.
//   FailedPrecondition  the object is in a state that refuses this (e.g. a log after a failed
//                       fsync); reopen or fix the state first.
//   ResourceExhausted   a bounded queue or size limit was hit; back off and retry.
//   Unavailable         transient; retry (possibly elsewhere).
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STRATA_CONCAT_INNER_(a, b) a##b
#define STRATA_CONCAT_(a, b) STRATA_CONCAT_INNER_(a, b)

// Returns early from the enclosing function when `expr` (an absl::Status) is not OK.
#define STRATA_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::absl::Status strata_status_ = (expr);       \
    if (!strata_status_.ok()) return strata_status_; \
  } while (0)

// `lhs = value of expr` when `expr` (an absl::StatusOr) is OK; otherwise returns its status.
#define STRATA_ASSIGN_OR_RETURN(lhs, expr) \
  STRATA_ASSIGN_OR_RETURN_IMPL_(STRATA_CONCAT_(strata_statusor_, __LINE__), lhs, expr)
#define STRATA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()
