// Result<T, E>: a value or a typed error, for operations whose callers act differently on each
// kind of failure (partition/partition.h AppendError). Where any failure is handled the same
// way, absl::StatusOr stays the tool.
#pragma once

#include <utility>
#include <variant>

#include "common/check.h"

namespace strata {

template <typename T, typename E>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  // The value; checked: asking a failed result for its value is a bug.
  T& value() & {
    STRATA_CHECK(ok()) << "value() of a failed Result";
    return std::get<0>(v_);
  }
  const T& value() const& {
    STRATA_CHECK(ok()) << "value() of a failed Result";
    return std::get<0>(v_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const& {
    STRATA_CHECK(!ok()) << "error() of a successful Result";
    return std::get<1>(v_);
  }

 private:
  std::variant<T, E> v_;
};

}  // namespace strata
