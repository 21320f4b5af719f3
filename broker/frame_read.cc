#include "broker/frame_read.h"

#include <algorithm>
#include <chrono>

#include "common/limits.h"

namespace strata::broker {

asio::awaitable<bool> ReadFrameBody(asio::ip::tcp::socket& socket, RequestMemory& memory,
                                    BrokerMetrics& metrics, const bool& open, size_t total,
                                    std::vector<std::byte>& frame, size_t& reserved) {
  asio::steady_timer pause(socket.get_executor());
  while (frame.size() < total) {
    if (!open) co_return false;
    const size_t old = frame.size();
    const size_t chunk = std::min(limits::frame_read_chunk_bytes, total - old);
    while (open && !memory.TryReserve(chunk, total)) {
      // Every request byte the broker may hold is held: wait for handlers to finish.
      metrics.request_memory_waits.fetch_add(1, std::memory_order_relaxed);
      pause.expires_after(std::chrono::milliseconds(5));
      co_await pause.async_wait(kUseAwaitableTuple);
    }
    if (!open) co_return false;
    frame.resize(old + chunk);
    auto [ec, got] =
        co_await socket.async_read_some(asio::buffer(frame.data() + old, chunk), kUseAwaitableTuple);
    memory.Release(chunk - got);
    reserved += got;
    frame.resize(old + got);
    if (ec) co_return false;
  }
  co_return true;
}

}  // namespace strata::broker
