// Invariant checks: a broken invariant is a bug in Strata, never bad input (bad input is an error
// value, common/status.h). Both macros print the file, line, the condition and a message to stderr,
// then abort, so the process dies at the first wrong step instead of writing on from a bad state.
//
//   STRATA_CHECK(cond) << ...      always on, Release included. For cheap checks where a failure
//                                   would corrupt data: offsets and ends that must only grow when
//                                   they are published, offsets stamped into a batch.
//   STRATA_DCHECK(cond) << ...     only when NDEBUG is not defined (Debug builds); compiled out,
//                                   condition and message unevaluated, elsewhere. For checks too
//                                   costly for the hot path or that restate a caller's contract.
//
// The message after << is optional and built only when the check fails.
#pragma once

#include <sstream>

namespace strata::internal {

// Collects the message of a failed check; its destructor prints it and aborts.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  template <typename T>
  CheckFailure& operator<<(const T& value) {
    if (!has_message_) message_ << ": ";
    has_message_ = true;
    message_ << value;
    return *this;
  }

 private:
  std::ostringstream message_;
  bool has_message_ = false;
};

// Turns the CheckFailure expression into void so both branches of the ?: agree.
struct CheckVoidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace strata::internal

#define STRATA_CHECK(condition)                                        \
  (condition) ? (void)0                                                \
              : ::strata::internal::CheckVoidify() &                   \
                    ::strata::internal::CheckFailure(__FILE__, __LINE__, #condition)

#ifdef NDEBUG
// `while (false)` keeps the condition and the message compiled (so they cannot rot) but never run.
#define STRATA_DCHECK(condition) \
  while (false) STRATA_CHECK(condition)
#else
#define STRATA_DCHECK(condition) STRATA_CHECK(condition)
#endif
