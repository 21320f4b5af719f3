// The Asio configuration every broker file uses: standalone Asio, C++20 coroutines, and errors as
// values (`as_tuple(use_awaitable)` returns the error_code instead of throwing).
#pragma once

#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>

namespace strata::broker {

using Executor = asio::any_io_executor;
using Strand = asio::strand<asio::io_context::executor_type>;
inline constexpr auto kUseAwaitableTuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace strata::broker
