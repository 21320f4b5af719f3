// ReadFrameBody: how both listeners' connections (connection.h, kafka_connection.h) read the rest
// of a frame whose size they know, under the broker-wide request memory budget
// (request_memory.h): each chunk of limits::frame_read_chunk_bytes is reserved before it is read,
// what a read does not fill is given back at once (a sender trickling bytes holds only what
// arrived), and while the budget is spent the reader waits and tries again, which pushes the
// sender back through TCP.
//
// Runs on the connection's strand; `open` is the connection's flag, which CloseNow clears on the
// same strand.
#pragma once

#include <vector>

#include "broker/asio.h"
#include "broker/metrics.h"
#include "broker/request_memory.h"

namespace strata::broker {

// Reads until `frame` holds `total` bytes. `reserved` grows by every byte read (the caller
// releases it when the frame is done with, whatever happens). False when the socket failed or the
// connection closed meanwhile.
asio::awaitable<bool> ReadFrameBody(asio::ip::tcp::socket& socket, RequestMemory& memory,
                                    BrokerMetrics& metrics, const bool& open, size_t total,
                                    std::vector<std::byte>& frame, size_t& reserved);

}  // namespace strata::broker
